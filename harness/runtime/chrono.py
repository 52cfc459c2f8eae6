"""The reference service's own processes: the API (uvicorn) and the Celery workers.

Both read one environment: the bundle's app.env (and worker.env for workers), its
secrets, the local endpoints, and one CHRONO_<ID> switch per optimization of the variant.
The API's Prometheus multiprocess directory is wiped before each start, as
prometheus_client requires; the workers write theirs to a directory of their own, served
by `harness.runtime.local.metrics_exporter`.
"""

from __future__ import annotations

import shutil
import signal
import sys
from collections.abc import Callable, Mapping, Set
from pathlib import Path

from dotenv import dotenv_values

from app.core.config import Settings
from app.metrics import PID_IN_FILE_NAME
from app.worker.command import worker_argv
from app.worker.queues import SCRAPING_QUEUE, SINGLE_QUEUE
from harness.catalog import APP_SWITCHES
from harness.runtime.placement import Placement
from harness.runtime.service import Service, http_ok
from harness.upstream.profiles import FAST, UpstreamProfile

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
WORKER_READY_BANNER = "ready."
# Celery takes a few seconds to import and fork its pool; ten prefork children longer.
WORKER_START_TIMEOUT_S = 90.0
# Statement counts in a response header: the api scenario and verification read them.
HARNESS_APP_ENV = {
    "CHRONO_SEARCH_BACKEND": "postgres",
    "CHRONO_EXPOSE_STATEMENT_COUNT": "true",
}
SETTING_DEFAULTS = Settings.model_fields


def pacing_env(upstream: UpstreamProfile) -> dict[str, str]:
    """The scraper's pauses (the original's 2 s between batches, its retry backoff) under
    the upstream profile's time factor, the same one its latencies and limits run at."""
    factor = upstream.time_factor
    pause_s = SETTING_DEFAULTS["scrape_batch_pause_s"].default / factor
    retry_s = SETTING_DEFAULTS["scrape_retry_base_s"].default / factor
    return {
        "CHRONO_SCRAPE_BATCH_PAUSE_S": repr(pause_s),
        "CHRONO_SCRAPE_RETRY_BASE_S": repr(retry_s),
    }


def canary_env(delay_ms: float) -> dict[str, str]:
    """The app's canary (a test switch of the gate's self-test): a delay on the project list."""
    return {"CHRONO_CANARY_DELAY_MS": f"{delay_ms:g}"} if delay_ms else {}


def switch_env(variant: Set[str]) -> dict[str, str]:
    """CHRONO_<ID>=true|false for every app switch of the catalog (app.frontend_serve reads
    frontend_split's; pg_tuning and resource_limits are the harness's alone).

    The API must enqueue scrapes where the variant's workers listen: the one queue of
    the report's current Celery setup, or the routed scraping queue.
    """
    env = {f"CHRONO_{name.upper()}": str(name in variant).lower() for name in APP_SWITCHES}
    env["CHRONO_SCRAPE_QUEUE"] = SCRAPING_QUEUE if "celery_tuning" in variant else SINGLE_QUEUE
    return env


def read_env_file(path: Path) -> dict[str, str]:
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def app_environment(
    bundle: Path,
    endpoints: Mapping[str, str],
    variant: Set[str],
    *,
    worker: bool = False,
    upstream: UpstreamProfile = FAST,
) -> dict[str, str]:
    """The whole CHRONO_ environment of an API (or, with `worker`, a Celery) process."""
    env = read_env_file(bundle / "app.env")
    if worker:
        env.update(read_env_file(bundle / "worker.env"))
    secrets = read_env_file(bundle / ".env")
    env["CHRONO_JWT_SECRET"] = secrets["CHRONO_JWT_SECRET"]
    env.update(HARNESS_APP_ENV)
    env.update(pacing_env(upstream))
    env.update(endpoints)
    env.update(switch_env(variant))
    return env


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """The Settings object these processes will build from `env`."""
    fields = {key.removeprefix("CHRONO_").lower(): value for key, value in env.items()}
    return Settings.model_validate({k: v for k, v in fields.items() if k in Settings.model_fields})


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def api_service(base: Path, port: int, env: Mapping[str, str], placement: Placement) -> Service:
    """uvicorn with the budget's worker processes on the placement's listen address;
    ready when /health answers 200 and every worker process has opened its pools."""
    workers = settings_from_env(env).api_workers
    metrics_dir = fresh_dir(base / "metrics")
    host = placement.listen
    command = [
        sys.executable, "-m", "uvicorn", "app.main:app",
        "--host", host, "--port", str(port),
        "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return Service(
        "api",
        placement.wrap(command, "sut"),
        log_path=base / "api.log",
        port=port,
        host=host,
        ready=all_of(
            http_ok(f"http://{host}:{port}/health"), processes_started(metrics_dir, workers)
        ),
        env={**env, MULTIPROC_ENV: str(metrics_dir)},
    )


def processes_started(metrics_dir: Path, count: int) -> Callable[[], bool]:
    """A readiness check: `count` processes wrote to the multiprocess metrics directory.

    /health answers as soon as one of uvicorn's workers is up; each writes its own
    gauge file once its startup opened the pools (app/db/pool.py), and a probe or a
    window started before the last one would see fewer processes than configured.
    """

    def check() -> bool:
        pids = {match.group(1) for file in metrics_dir.glob("gauge_*.db")
                if (match := PID_IN_FILE_NAME.search(file.name))}  # fmt: skip
        return len(pids) >= count

    return check


def all_of(*checks: Callable[[], bool]) -> Callable[[], bool]:
    """A readiness check that holds when every one of `checks` does (in order)."""
    return lambda: all(check() for check in checks)


def worker_services(base: Path, env: Mapping[str, str], placement: Placement) -> list[Service]:
    """One service per Celery worker group of the variant; ready when Celery says so."""
    metrics_dir = fresh_dir(base / "metrics")
    services = []
    for index, argv in enumerate(worker_argv(settings_from_env(env), log_level="INFO")):
        services.append(
            Service(
                f"worker-{index}",
                placement.wrap(argv, "sut"),
                log_path=base / f"worker-{index}.log",
                banner=WORKER_READY_BANNER,
                # Killed outright, children included (the process group): a warm
                # shutdown would wait for a scrape backlog, a cold one takes seconds, and
                # the broker is emptied after every stop, so nothing they held survives.
                stop_signal=signal.SIGKILL,
                env={**env, MULTIPROC_ENV: str(metrics_dir)},
                timeout_s=WORKER_START_TIMEOUT_S,
            )
        )
    return services
