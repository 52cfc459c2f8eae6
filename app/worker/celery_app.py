"""The Celery application the workers run (`celery -A app.worker.celery_app worker`).

Configured from the process's settings (CHRONO_* environment) when imported; the
configuration itself lives in app.worker.config.
"""

from __future__ import annotations

from app.core.config import get_settings
from app.worker.config import create_celery_app

celery_app = create_celery_app(get_settings())
