"""chrono-bench: derive, deploy and measure the Chrono Scraper stack from one budget."""
