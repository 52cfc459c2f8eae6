"""The compose runtime: the stack as containers of one `docker compose` project, on this
machine's engine or on a deployed host's over SSH (its engine location,
harness/runtime/compose/engine.py, says where compose runs and sees the bundle, where the
published ports are reached, and which Docker client reads the containers).

The bundle is rendered with the images given (the offline set by default, hence search on
PostgreSQL), the Wayback stand-in, and the ports the harness needs published on
loopback; `start()` is `docker compose up -d --wait`, then migrations and seeding from
the host. A variant is applied by rendering again and running `up -d --wait` for the
services whose definition changed (their environment, or the hash label of a config
file they mount), so nothing else restarts. Container memory and OOM kills come from
the engine through the Docker SDK: the API's and the workers' processes are handed out
as metered groups, so the scenarios' memory readings are their containers' memory.
`stop()` is `docker compose down -v` and a sweep of what it left
(harness/runtime/compose/project.py): no container, network or volume of the project is
left. With `host_cgroup`, every container is created under a parent cgroup holding the
budget's host memory and cpus (harness/runtime/compose/cgroup.py), made by `start()` and
removed by `stop()`.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors
import yaml
from docker.models.containers import Container

from harness.budget.allocation import Budget
from harness.errors import UserError
from harness.render.bundle import (
    DB_NAME,
    DB_USER,
    Images,
    RenderOptions,
    SearchBackend,
    render_bundle,
)
from harness.runtime.chrono import HARNESS_APP_ENV, pacing_env, read_env_file, switch_env
from harness.runtime.compose.cgroup import HostCgroup, check_supported
from harness.runtime.compose.engine import EngineLocation, LocalEngine
from harness.runtime.compose.images import OFFLINE_IMAGES, OFFLINE_SEARCH_BACKEND
from harness.runtime.compose.owner import ProjectOwner, sweep_abandoned
from harness.runtime.compose.project import PROJECT_LABEL
from harness.runtime.groups import MeteredGroup
from harness.runtime.placement import Placement
from harness.runtime.ports import LOOPBACK
from harness.runtime.sequence import apply_data, prepare_database, server_versions
from harness.runtime.signals import signals_deferred
from harness.runtime.target import StackBase
from harness.runtime.variants import BASELINE, Changes, Variant, changes
from harness.units import MIB
from harness.upstream.corpus import CorpusConfig
from harness.upstream.profiles import FAST, UpstreamProfile
from harness.upstream.server import stand_in_options

LOG = logging.getLogger(__name__)
BUNDLE_DIR = "bundle"
UPSTREAM_ENV_PREFIX = "CHRONO_UPSTREAM_"  # python -m harness.upstream reads its options so
PROJECT_PREFIX = "chrono-bench"
# What the harness reaches from the host, published on the engine host's loopback only.
PUBLISHED = ("postgres", "redis_cache", "redis_broker", "prometheus")
UP_TIMEOUT_S = 600
SERVICE_LABEL = "com.docker.compose.service"
NS_PER_S = 1e9
HTTP_TIMEOUT_S = 5.0


class ComposeStack(StackBase):
    """The stack of one compose project; `with ComposeStack(...) as stack:` downs it on exit."""

    runtime = "compose"
    database = DB_NAME
    role = DB_USER

    def __init__(
        self,
        run_dir: Path,
        budget: Budget,
        *,
        placement: Placement | None = None,
        variant: Variant = BASELINE,
        corpus: CorpusConfig | None = None,
        seed: Callable[[str], object] | None = None,
        images: Images = OFFLINE_IMAGES,
        search_backend: SearchBackend = OFFLINE_SEARCH_BACKEND,
        resource_limits: bool | None = None,
        project: str | None = None,
        host_cgroup: bool = False,
        engine: EngineLocation | None = None,
        upstream: UpstreamProfile = FAST,
    ) -> None:
        # Containers are not pinned to cores (placement): the engine's cgroups place them.
        super().__init__(
            run_dir, budget, placement=placement, variant=variant, seed=seed, upstream=upstream
        )
        self.images = images
        self.search_backend = search_backend
        # None: follow the variant's resource_limits switch
        self._resource_limits = resource_limits
        self.corpus = corpus or CorpusConfig()
        self.project = project or f"{PROJECT_PREFIX}-{secrets.token_hex(4)}"
        # held while the project lives: a later start takes it down if we die first
        self._owner = ProjectOwner(self.project)
        # where compose runs and sees the bundle, and where the harness reaches the ports
        # the stack publishes (on the engine host's loopback): this machine, or a host
        self.engine = engine or LocalEngine()
        self.ports = self.engine.publish_ports(("api", *PUBLISHED))
        self.bundle = run_dir / BUNDLE_DIR
        self._client = self.engine.client
        self._started = False
        if host_cgroup and not isinstance(self.engine, LocalEngine):
            raise UserError("compose: the host cgroup exists on this machine's engine only")
        # every container under a parent cgroup holding the budget's host (stress runs)
        self.host_cgroup = (
            HostCgroup(self.project, budget.host.memory_mb, budget.host.cpus)
            if host_cgroup
            else None
        )
        if search_backend == "postgres" and images == OFFLINE_IMAGES:
            LOG.warning("offline image set: no Meilisearch image, search runs on PostgreSQL")

    def address(self, service: str) -> str:
        """`host:port` where this machine reaches a service the stack publishes."""
        return f"{LOOPBACK}:{self.engine.reach(self.ports[service])}"

    @property
    def api_url(self) -> str:
        return f"http://{self.address('api')}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.address('prometheus')}"

    @property
    def upstream_url(self) -> str:
        # The stand-in lives in the worker's network namespace, on its loopback: only the
        # worker reaches it (tests/deploy check its health through the container).
        return "http://127.0.0.1:8080"

    @property
    def database_url(self) -> str:
        password = self._secrets()["POSTGRES_PASSWORD"]
        return f"postgresql://{DB_USER}:{password}@{self.address('postgres')}/{DB_NAME}"

    def superuser_dsn(self) -> str:
        # POSTGRES_USER is the cluster's superuser, as in the official image
        return self.database_url

    def jwt_secret(self) -> str:
        """The key the API signs tokens with (scenarios mint tokens for many users)."""
        return self._secrets()["CHRONO_JWT_SECRET"]

    def cache_url(self) -> str:
        password = self._secrets()["REDIS_CACHE_PASSWORD"]
        return f"redis://:{password}@{self.address('redis_cache')}/0"

    def broker_url(self) -> str:
        password = self._secrets()["REDIS_BROKER_PASSWORD"]
        return f"redis://:{password}@{self.address('redis_broker')}/0"

    def api_pids(self) -> list[int]:
        return self._group("api")

    def worker_pids(self) -> list[int]:
        return self._group("worker")

    def pids_here(self) -> bool:
        return isinstance(self.engine, LocalEngine)

    def options(self, variant: Variant) -> RenderOptions:
        """The bundle's render options for `variant`."""
        limits = self._resource_limits
        return RenderOptions(
            images=self.images,
            resource_limits=("resource_limits" in variant) if limits is None else limits,
            pg_tuning="pg_tuning" in variant,
            search_backend=self.search_backend,
            api_port=self.ports["api"],
            project_name=self.project,
            build_context="",  # the images exist (chrono-bench images build)
            upstream=True,
            upstream_environment={
                f"{UPSTREAM_ENV_PREFIX}{name.upper()}": value
                for name, value in stand_in_options(
                    self.corpus, profile=self.upstream_profile
                ).items()
            },
            migrate=True,
            app_environment={
                **HARNESS_APP_ENV,
                **pacing_env(self.upstream_profile),
                **switch_env(variant),
            },
            published_ports={name: self.ports[name] for name in PUBLISHED},
            nofile_limit=self.engine.nofile_limit(),
            cgroup_parent=self.host_cgroup.parent if self.host_cgroup else "",
        )

    def start(self) -> None:
        """`up -d --wait`, then the schema, the statement statistics the verification
        reads, the variant's indexes and the seed data."""
        try:
            render_bundle(self.budget, self.bundle, options=self.options(self.variant))
            self._started = True
            self._owner.acquire()
            if self.host_cgroup is not None:
                check_supported(str(self._client.info().get("CgroupDriver", "unknown")))
                self.host_cgroup.create()
            self.up()
            prepare_database(self.database_url, self.superuser_dsn(), self.variant, self._seed)
        except BaseException:
            self.stop()
            raise

    def apply(self, variant: Variant) -> Changes:
        """Render `variant` and bring up only the services whose definition changed."""
        todo = changes(self.variant, variant)
        limits_changed = self._resource_limits is None and (
            ("resource_limits" in self.variant) != ("resource_limits" in variant)
        )
        if not todo.any and not limits_changed:
            return todo
        before = self.services()
        render_bundle(self.budget, self.bundle, options=self.options(variant))
        changed = changed_services(before, self.services())
        LOG.info("variant %s -> %s: up %s", sorted(self.variant), sorted(variant), changed)
        self.variant = variant
        if changed:
            self.up(*changed)
        apply_data(todo, variant, self.database_url, self.cache_url())
        return todo

    def up(self, *services: str) -> None:
        """`up -d --wait` (of `services`, or all), then check that every container started:
        compose can exit 0 when one never did (an engine refusing its ulimits, say)."""
        self.engine.sync(self.project, self.bundle)
        self.compose("up", "-d", "--wait", *services, timeout_s=UP_TIMEOUT_S)
        for name, service in self.services().items():
            if service.get("restart") == "no" or (services and name not in services):
                continue
            container = self.container(name)
            if container.status != "running":
                error = container.attrs["State"].get("Error") or container.status
                raise UserError(f"compose: service '{name}' did not start: {error}")

    def services(self) -> dict[str, Any]:
        """The rendered compose file's services."""
        compose = yaml.safe_load((self.bundle / "compose.yml").read_text())
        services: dict[str, Any] = compose["services"]
        return services

    def container(self, service: str) -> Container:
        found = self._client.containers.list(
            all=True,
            filters={"label": [f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={service}"]},
        )
        if not found:
            raise UserError(f"compose: project {self.project} has no container for '{service}'")
        return found[0]

    def memory_mb(self, service: str) -> float:
        """The container's memory use now, as `docker stats` counts it (without the
        inactive page cache; its field is named differently under cgroup v1 and v2)."""
        memory = self._stats(service).get("memory_stats", {})
        usage = float(memory.get("usage", 0))
        counters = memory.get("stats", {})
        cache = float(counters.get("total_inactive_file", counters.get("inactive_file", 0)))
        return (usage - cache) / MIB

    def cpu_seconds(self, service: str) -> float:
        """CPU time the service's container has used since it started."""
        stats = self._stats(service)
        return float(stats["cpu_stats"]["cpu_usage"]["total_usage"]) / NS_PER_S

    def memory_limit_mb(self, service: str) -> float | None:
        """The container's memory limit, or None when it has none."""
        limit = self.container(service).attrs["HostConfig"].get("Memory") or 0
        return limit / MIB if limit else None

    def oom_killed(self, service: str) -> bool:
        """Whether the kernel killed the container's main process for memory."""
        container = self.container(service)
        container.reload()
        return bool(container.attrs["State"].get("OOMKilled"))

    def oom_events(self, since: float, until: float) -> dict[str, int]:
        """OOM kills inside each service's containers between two times (any process)."""
        counts: dict[str, int] = {}
        events = self._client.events(
            since=int(since),
            until=int(until) + 1,
            decode=True,
            filters={"event": "oom", "label": f"{PROJECT_LABEL}={self.project}"},
        )
        for event in events:
            service = event.get("Actor", {}).get("Attributes", {}).get(SERVICE_LABEL, "?")
            counts[service] = counts.get(service, 0) + 1
        return counts

    def oom_kills(self) -> dict[str, int]:
        """Processes the kernel OOM-killed so far in each service's container, by their
        cgroups under the host cgroup (empty without one). Unlike `oom_events`, which the
        engine sends for every container of a cgroup tree under OOM, a kill counts only
        in the victim's container."""
        if self.host_cgroup is None:
            return {}
        return {
            name: self.host_cgroup.oom_kills(self.container(name).id)
            for name in self.services()
            if name != "migrate"
        }

    def versions(self) -> dict[str, str]:
        """Versions of the servers in the containers (for results.json's environment)."""
        return server_versions(self.database_url, self.cache_url(), self.prometheus_url)

    def compose(self, *args: str, timeout_s: float = UP_TIMEOUT_S) -> str:
        """Run `docker compose` for this project where its engine is; a failure is a
        UserError."""
        return self.engine.run(self.project, self.bundle, *args, timeout_s=timeout_s)

    def stop(self) -> None:
        """`down -v`: remove the project's containers, network and volumes; safe twice.
        A Ctrl-C or SIGTERM meanwhile waits until it is done."""
        if not self._started:
            return
        with signals_deferred():
            try:
                self.engine.down(self.project, self.bundle)
            finally:  # an engine gone meanwhile fails the down, not the cgroup's removal
                if self.host_cgroup is not None:
                    self.host_cgroup.remove()
                self._owner.release()
        self._started = False

    def _stats(self, service: str) -> dict[str, Any]:
        """One reading of the container's counters, without waiting for a second one
        (which `docker stats` takes for its CPU percentage)."""
        stats: dict[str, Any] = self.container(service).stats(stream=False, one_shot=True)
        return stats

    def _group(self, service: str) -> list[int]:
        """Host PIDs of every process in the service's container (`docker top`), metered
        by the container's memory; none while there is no such container."""
        try:
            top = self.container(service).top()
        except (UserError, docker.errors.APIError):
            return []
        column = top["Titles"].index("PID")
        pids = [int(process[column]) for process in top["Processes"]]
        return MeteredGroup(pids, lambda: self._memory_now(service))

    def _memory_now(self, service: str) -> float:
        """The container's memory, or NaN (no reading) when it went away meanwhile."""
        try:
            return self.memory_mb(service)
        except (UserError, docker.errors.APIError):
            return math.nan

    def _secrets(self) -> Mapping[str, str]:
        return read_env_file(self.bundle / ".env")


def changed_services(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Services added or defined differently in `after`, and those living in a changed
    one's network namespace (`up` of the worker alone leaves the stand-in in the old
    container's namespace), sorted."""
    changed = {name for name, service in after.items() if before.get(name) != service}
    changed |= {
        name
        for name, service in after.items()
        if service.get("network_mode", "").removeprefix("service:") in changed
    }
    return sorted(changed)


def sweep_abandoned_projects(engine: EngineLocation) -> list[str]:
    """Take down this harness's projects on `engine` whose harness died before its down
    (harness/runtime/compose/owner.py), with their host cgroups; say which."""
    containers = engine.client.containers.list(all=True, filters={"label": PROJECT_LABEL})
    projects = {container.labels.get(PROJECT_LABEL, "") for container in containers}

    def down(project: str) -> None:
        engine.down(project, Path(project))  # by its name: the bundle went with its run
        if isinstance(engine, LocalEngine):
            HostCgroup(project, 0, 0).remove()

    ours = [project for project in projects if project.startswith(f"{PROJECT_PREFIX}-")]
    return sweep_abandoned(ours, down)
