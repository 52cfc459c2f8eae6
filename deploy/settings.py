"""The host data keys the deploy reads (kept in harness/budget/host_settings.py: runs against a
deployed host read the same keys, and harness cannot import this package)."""

from harness.budget.host_settings import DeploySettings, ImageSet

__all__ = ["DeploySettings", "ImageSet"]
