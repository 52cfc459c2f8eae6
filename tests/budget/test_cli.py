"""`chrono-bench budget` and `render` as a user runs them."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[2]
CHRONO_BENCH = str(Path(sys.executable).parent / "chrono-bench")


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHRONO_BENCH, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=True
    )


def test_budget_json_for_the_report_host() -> None:
    budget = json.loads(_run("budget", "--format", "json").stdout)

    assert budget["host"] == {"name": "chrono-8c16g", "cpus": 8, "memory_mb": 16384}
    assert set(budget["services"]) >= {
        "postgres",
        "redis_cache",
        "redis_broker",
        "api",
        "worker",
        "meilisearch",
        "prometheus",
    }
    postgres = budget["services"]["postgres"]
    assert (postgres["cpus"], postgres["memory_mb"]) == (2.0, 3072)
    assert postgres["settings"]["shared_buffers"] == "768MB"
    assert postgres["settings"]["effective_cache_size"] == "2304MB"
    assert budget["services"]["redis_broker"]["settings"]["maxmemory-policy"] == "noeviction"
    assert budget["services"]["redis_cache"]["settings"]["maxmemory-policy"] == "allkeys-lru"
    for service in budget["services"].values():
        assert {"cpus", "memory_mb", "reservation_mb", "settings"} <= set(service)
        assert all(isinstance(value, str) for value in service["settings"].values())
    connections = budget["connections"]
    assert connections["demand"] < connections["max_connections"]


def test_budget_table_names_every_service() -> None:
    table = _run("budget", "--host", "@local").stdout
    for service in ("api", "worker", "postgres", "redis_cache", "redis_broker", "meilisearch"):
        assert service in table
    assert "max_connections" in table


def test_render_writes_a_bundle_with_a_private_env(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    _run("render", "--out", str(out), "--inventory", str(REPO / "inventory.py"), cwd=tmp_path)

    names = {path.name for path in out.iterdir()}
    assert {
        "compose.yml",
        "postgresql.conf",
        "redis-cache.conf",
        "redis-broker.conf",
        "prometheus.yml",
        "app.env",
        "worker.env",
        ".env",
    } <= names
    assert stat.S_IMODE((out / ".env").stat().st_mode) == 0o600


def _fails(*args: str, cwd: Path = REPO) -> str:
    """A user error: exit 2 and one line on stderr, no traceback."""
    done = subprocess.run(
        [CHRONO_BENCH, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_the_sized_host_is_named_when_none_was(tmp_path: Path) -> None:
    done = _run("budget", "--format", "json")
    json.loads(done.stdout)  # stdout stays JSON
    assert "host 'chrono-8c16g': the first of inventory.py" in done.stderr
    assert "the first of" not in _run("budget", "--host", "@local").stderr
    rendered = _run("render", "--out", str(tmp_path / "b"), cwd=REPO)
    assert "host 'chrono-8c16g' (the first of inventory.py" in rendered.stdout


def test_render_to_a_path_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    message = _fails("render", "--out", str(blocker / "bundle"))
    assert message.startswith("chrono-bench: render: cannot write")


def test_choices_are_shown_in_help() -> None:
    help_text = _run("run", "--help").stdout
    for choices in ("isolate", "optimized", "local", "compose", "quick", "ci", "full"):
        assert choices in help_text
    refused = subprocess.run(
        [CHRONO_BENCH, "run", "--mode", "sideways"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "is not one of" in refused.stderr
