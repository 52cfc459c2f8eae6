"""Settings: switches from the environment, unsafe combinations rejected."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import LIBRARY_DEFAULT_POOL_SIZE, SWITCHES, Settings

SECRET = "s" * 40

REJECTED = [
    ({"jwt_secret": "short"}, "jwt_secret"),
    ({"db_pool_min": 10, "db_pool_max": 5}, "db_pool_min"),
    ({"search_backend": "meilisearch"}, "meili_url"),
    ({"redis_cache_url": "redis://h/0", "redis_broker_url": "redis://h/0"}, "different"),
    ({"search_backend": "elastic"}, "search_backend"),
]


@pytest.mark.parametrize(("values", "mentions"), REJECTED)
def test_unsafe_settings_are_rejected(values, mentions):
    with pytest.raises(ValidationError, match=mentions):
        Settings(**{"jwt_secret": SECRET, **values})


def test_missing_jwt_secret_is_rejected(monkeypatch):
    monkeypatch.delenv("CHRONO_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="jwt_secret"):
        Settings()


def test_switches_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CHRONO_JWT_SECRET", SECRET)
    monkeypatch.setenv("CHRONO_STATS_AGGREGATE", "true")
    monkeypatch.setenv("CHRONO_DB_POOL", "1")
    monkeypatch.setenv("CHRONO_DB_POOL_MAX", "17")
    settings = Settings()
    assert settings.switches() == {
        name: name in {"stats_aggregate", "db_pool"} for name in SWITCHES
    }
    assert settings.pool_bounds == (settings.db_pool_min, 17)


def test_pool_off_is_the_library_default():
    settings = Settings(jwt_secret=SECRET, db_pool_min=3, db_pool_max=30)
    assert settings.pool_bounds == (LIBRARY_DEFAULT_POOL_SIZE, LIBRARY_DEFAULT_POOL_SIZE)
