"""The app image installs every third-party package its processes import."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement

from harness.runtime.compose.images import APP_CONTEXT, REQUIREMENT_NAME, pinned_requirements

REPO_ROOT = Path(__file__).resolve().parents[2]
# What runs in the app image: the service and the Wayback stand-in.
IMAGE_SOURCES = [REPO_ROOT / "app", REPO_ROOT / "harness" / "upstream"]
FIRST_PARTY = {"app", "harness"}


def imported_modules() -> set[str]:
    modules = set()
    for root in IMAGE_SOURCES:
        for path in root.rglob("*.py"):
            if "frontend" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules - FIRST_PARTY - set(sys.stdlib_module_names)


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def installed_with_requirements() -> set[str]:
    """The listed distributions and what they pull in (with their extras), recursively."""
    todo = [Requirement(line) for line in pinned_requirements().decode().splitlines()]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        if _normal(requirement.name) in seen:
            continue
        seen.add(_normal(requirement.name))
        for text in importlib.metadata.requires(requirement.name) or []:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(
                marker.evaluate({"extra": extra}) for extra in requirement.extras or {""}
            ):
                todo.append(dependency)
    return seen


def test_every_import_has_a_requirement() -> None:
    distributions = importlib.metadata.packages_distributions()
    required = installed_with_requirements()
    missing = {
        module
        for module in imported_modules()
        if not any(_normal(d) in required for d in distributions.get(module, []))
    }
    assert not missing, f"images/app/requirements.txt lacks the packages of {sorted(missing)}"


def test_requirements_are_pinned_to_this_environment() -> None:
    for line in pinned_requirements().decode().splitlines():
        name, _, version = line.partition("==")
        assert version == importlib.metadata.version(REQUIREMENT_NAME.match(name).group(1))  # type: ignore[union-attr]


def first_party_imports(paths: list[Path]) -> set[str]:
    """The `harness.*` modules the files at `paths` import (absolute imports)."""
    modules = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(a.name for a in node.names if a.name.startswith("harness."))
            elif (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                  and node.module.startswith("harness.")):  # fmt: skip
                modules.add(node.module)
    return modules


def missing_from_context(context: tuple[str, ...]) -> list[str]:
    """harness modules that a Python file of the app image's context imports but the
    context leaves out (the image would fail with ModuleNotFoundError)."""
    files = [p for entry in context for p in
             ([REPO_ROOT / entry] if entry.endswith(".py") else (REPO_ROOT / entry).rglob("*.py"))
             if p.is_file() and "frontend" not in p.parts]  # fmt: skip
    missing = []
    for module in sorted(first_party_imports(files)):
        path = module.replace(".", "/")
        candidates = (f"{path}.py", f"{path}/__init__.py")
        if not any(c == entry or c.startswith(entry.rstrip("/") + "/")
                   for c in candidates for entry in context):  # fmt: skip
            missing.append(module)
    return missing


def test_the_app_image_holds_every_harness_module_its_processes_import() -> None:
    assert missing_from_context(APP_CONTEXT) == []
    # the check fails for the context before harness/supervision.py was added to it
    without = tuple(entry for entry in APP_CONTEXT if entry != "harness/supervision.py")
    assert missing_from_context(without) == ["harness.supervision"]


def dockerfile_copies() -> tuple[str, ...]:
    """The repository paths app/Dockerfile copies into the image."""
    sources: list[str] = []
    for line in (REPO_ROOT / "app" / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--") for w in words):
            sources += words[1:-1]
    return tuple(sources)


def test_the_dockerfile_copies_every_harness_module_the_image_imports() -> None:
    copied = dockerfile_copies()
    assert missing_from_context(copied) == []
    # what the Dockerfile copied before harness/supervision.py was added to its COPY
    assert missing_from_context(tuple(c for c in copied if c != "harness/supervision.py")) == [
        "harness.supervision"
    ]
