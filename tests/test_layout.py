"""The package layout's rules: the import contract fails on an upward import, and no
module takes part in an import cycle (which the layers alone do not forbid within one)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

PACKAGES = ("harness", "scenarios", "app")
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles() -> None:
    assert import_cycles(grimp.build_graph(*PACKAGES)) == []


def test_a_cycle_is_found() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert import_cycles(graph) == [["pkg.a", "pkg.b"]]


def _contract_text() -> str:
    """The [tool.importlinter] sections of the project's pyproject.toml, as text."""
    kept: list[str] = []
    keep = False
    for line in PYPROJECT.read_text().splitlines():
        if line.startswith("["):
            keep = line.strip("[]").startswith("tool.importlinter")
        if keep:
            kept.append(line)
    return "\n".join(kept) + "\n"


def _layer_modules() -> set[str]:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    modules = set(config["root_packages"])
    for contract in config["contracts"]:
        for layer in contract.get("layers", []):
            modules.update(name.strip() for name in layer.split("|"))
    return modules


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=project, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(project)},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("importer", "imported", "broken"),
    [
        ("harness.run", "harness.report", "The flow"),  # a step reaching a later one
        ("harness.budget", "harness.runtime", "The flow"),
        ("app", "harness.results", "The reference service stands alone"),
        ("harness.report", "harness.run", None),  # downward: allowed
    ],
)
def test_the_import_contract_fails_on_an_upward_import(
    tmp_path: Path, importer: str, imported: str, broken: str | None
) -> None:
    """The project's own contract, on a skeleton of its packages with one import added."""
    (tmp_path / "pyproject.toml").write_text(_contract_text())
    for module in _layer_modules():
        package = tmp_path.joinpath(*module.split("."))
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
    init = tmp_path.joinpath(*importer.split(".")) / "__init__.py"
    init.write_text(f"import {imported}\n")
    result = _lint_imports(tmp_path)
    if broken is None:
        assert result.returncode == 0, result.stdout
    else:
        assert result.returncode == 1, result.stdout
        assert f"{broken}" in result.stdout and "BROKEN" in result.stdout
        assert f"{importer} -> {imported}" in result.stdout
