"""Facts the deploy reads from a host: the compose project's services and image labels."""

from __future__ import annotations

import json
import shlex
from typing import Any

from pyinfra.api import FactBase


class ComposeServices(FactBase[dict[str, str]]):
    """Each service of a compose project -> its state, "healthy" when its check passes
    (e.g. {"api": "healthy", "worker": "starting"}); empty when nothing runs."""

    @staticmethod
    def default() -> dict[str, str]:
        return {}

    def command(self, compose: str, bundle_dir: str, project: str) -> str:
        return (
            f"{compose} --project-name {shlex.quote(project)} --project-directory "
            f"{shlex.quote(bundle_dir)} ps --all --format json 2>/dev/null || true"
        )

    def process(self, output: list[str]) -> dict[str, str]:
        states: dict[str, str] = {}
        for line in output:
            line = line.strip()
            if not line:
                continue
            # compose v2 prints one JSON object per line (older releases: one array)
            parsed = json.loads(line)
            for entry in parsed if isinstance(parsed, list) else [parsed]:
                health = entry.get("Health") or ""
                states[entry["Service"]] = health or entry.get("State", "")
        return states


class ImageLabel(FactBase[str]):
    """One label of a local image on the host, "" when the image or label is missing."""

    @staticmethod
    def default() -> str:
        return ""

    def command(self, image: str, label: str) -> str:
        template = "{{index .Config.Labels " + json.dumps(label) + "}}"
        return (
            f"docker image inspect --format {shlex.quote(template)} {shlex.quote(image)} "
            "2>/dev/null || true"
        )

    def process(self, output: list[str]) -> str:
        value: Any = "".join(output).strip()
        return "" if value == "<no value>" else str(value)
