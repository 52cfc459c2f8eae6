"""Where the repository's own files are: the bundle templates, the deploy, the scenarios."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
