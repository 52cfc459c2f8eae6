"""pyinfra v3 deploy of the Chrono Scraper stack: `pyinfra inventory.py deploy/main.py`.

One @deploy per concern, run in this order by main.py: the Docker engine and compose
(docker_engine.py), the rendered bundle (bundle.py), the images (images.py), and the
compose project (compose.py). Host values come from inventory.py's host data (keys in
deploy/settings.py); `chrono-bench deploy` wraps the pyinfra command.
"""
