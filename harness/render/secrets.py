"""The bundle's `.env`: secrets generated once per bundle, mode 0600, reused thereafter.

Compose reads `.env` beside compose.yml for variable interpolation, so templates only
ever say `${POSTGRES_PASSWORD}`: no secret is written into a template or the repository.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dotenv import dotenv_values

ENV_FILE_NAME = ".env"
ENV_FILE_MODE = 0o600
# token_urlsafe bytes of entropy: the alphabet (A-Z a-z 0-9 - _) needs no quoting in a
# URL, a shell or compose interpolation. Meilisearch wants a master key of >= 16 bytes,
# the app a JWT secret of >= 32 characters.
SECRET_BYTES = 32
SECRET_NAMES = (
    "POSTGRES_PASSWORD",
    "REDIS_CACHE_PASSWORD",
    "REDIS_BROKER_PASSWORD",
    "MEILI_MASTER_KEY",
    "CHRONO_JWT_SECRET",
    "GRAFANA_ADMIN_PASSWORD",  # only read when the bundle runs Grafana
)
HEADER = "# Secrets of this bundle, generated once by chrono-bench. Keep private (mode 0600).\n"


def ensure_env_file(bundle_dir: Path) -> dict[str, str]:
    """The bundle's secrets: those already in its .env, plus new ones for any missing."""
    path = bundle_dir / ENV_FILE_NAME
    existing = (
        {key: value for key, value in dotenv_values(path).items() if value} if path.exists() else {}
    )
    values = {
        name: existing.get(name) or secrets.token_urlsafe(SECRET_BYTES) for name in SECRET_NAMES
    }
    # keep whatever else the user added to the file
    values.update({key: value for key, value in existing.items() if key not in values})
    text = HEADER + "".join(f"{key}={value}\n" for key, value in values.items())
    if not path.exists() or path.read_text() != text:
        write_private(path, text)
    os.chmod(path, ENV_FILE_MODE)
    return values


def write_private(path: Path, text: str) -> None:
    """Write `text` so that the file is never readable by others, not even briefly."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, ENV_FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, ENV_FILE_MODE)  # O_CREAT's mode is filtered by the umask; this is not
    os.replace(tmp, path)
