from tests.scraper.support import make_settings, migrated_dsn, standin

__all__ = ["make_settings", "migrated_dsn", "standin"]
