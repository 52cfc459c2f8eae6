"""A deployed inventory host's engine over one SSH connection, for the compose runtime.

`chrono-bench run --runtime compose --host NAME`: one OpenSSH connection (a ControlMaster
whose socket is in the run's directory), opened by `ssh_engine()`, which checks the host
first: its engine answers, compose runs, the offline images are there (else: deploy it
first), and the deployed stack is not running (it would share the host's cpus and memory
with the measured one). Through the connection: `docker compose` runs on the host (the
bundle's bind-mounted configs must be there), on the bundle uploaded with tar to
`chrono_dir/runs/<project>/bundle` (0750, its secrets 0600) before every `up`; the stack
publishes ports free on the host's loopback, each forwarded from a free port of this
machine's loopback; the host's Docker socket is forwarded to a unix socket here, for the
Docker SDK. `down` removes the project and its directory on the host; closing the
connection removes the forwards.

ssh children run in sessions of their own: a Ctrl-C at the terminal must not cut the
connection the stack is taken down through. An interrupted remote compose is stopped by
its process id on the host (`kill -TERM`), as Ctrl-C stops a local one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shlex
import subprocess
import tarfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from harness.budget.host_settings import DeploySettings
from harness.budget.inventory import Inventory, get_host
from harness.errors import UserError
from harness.render.bundle import NOFILE_LIMIT
from harness.runtime.compose.dockerd import describe_engine
from harness.runtime.compose.engine import CLIENT_TIMEOUT_S, EngineLocation
from harness.runtime.compose.images import OFFLINE_SPECS
from harness.runtime.compose.project import DOWN_ARGS, PROJECT_LABEL, compose_down
from harness.runtime.ports import LOOPBACK, below_ephemeral, free_port, pick_port
from harness.runtime.ssh import SshLogin, ssh_options

LOG = logging.getLogger(__name__)
REMOTE_DOCKER_SOCKET = "/var/run/docker.sock"
RUNS_DIR = "runs"
RUN_DIR_MODE = 0o750
SECRETS_FILE = ".env"
SECRETS_MODE = 0o600
PID_FILE = "compose.pid"
CONTROL_SOCKET = "ssh.ctl"
DOCKER_SOCKET = "docker.sock"
SSH_LOG = "ssh.log"
SSH_READY_TIMEOUT_S = 20.0
SSH_COMMAND_TIMEOUT_S = 60
POLL_INTERVAL_S = 0.1
# exit statuses of the remote engine check
NO_ENGINE, NO_COMPOSE = 3, 4
TCP_LISTEN = "0A"
# what the host must hold for a run: its engine and the offline image set
DEPLOY_HINT = "deploy it first: chrono-bench deploy --limit {name}"


@dataclass(frozen=True)
class RemoteHost:
    """An inventory host whose engine a run uses, and how to log in to it."""

    name: str
    login: SshLogin
    settings: DeploySettings
    sudo: bool = False
    docker_socket: str = REMOTE_DOCKER_SOCKET

    def run_dir(self, project: str) -> str:
        return f"{self.settings.chrono_dir}/{RUNS_DIR}/{project}"


def remote_host(inventory: Inventory, name: str) -> RemoteHost:
    """The inventory host `name`, reached over SSH with its pyinfra host data."""
    spec = get_host(inventory, name)
    if name.startswith("@"):
        raise UserError(
            f"--host: '{name}' is not reached over SSH: leave --host out to run on this "
            "machine's engine"
        )
    address = spec.data.get("ssh_hostname")
    if not isinstance(address, str) or not address:
        raise UserError(
            f"--host: host '{name}' in '{inventory.path}' has no ssh_hostname: the run "
            "reaches its engine over SSH at that address"
        )
    return RemoteHost(
        name=name,
        login=SshLogin.from_data(address, spec.data),
        settings=DeploySettings.from_data(spec.data),
        sudo=bool(spec.data.get("_sudo")),
        docker_socket=str(spec.data.get("docker_socket") or REMOTE_DOCKER_SOCKET),
    )


def listening_ports(proc_net_tcp: str) -> set[int]:
    """The TCP ports something listens on, from /proc/net/tcp (or tcp6) lines."""
    ports = set()
    for line in proc_net_tcp.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3] == TCP_LISTEN and ":" in fields[1]:
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def tar_bundle(bundle: Path) -> bytes:
    """The bundle as a tar archive: directories 0750, secrets 0600, every file read-only
    for others at most as rendered (containers' users read the configs)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(bundle.rglob("*")):
            info = archive.gettarinfo(str(path), arcname=str(path.relative_to(bundle)))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isdir():
                info.mode = RUN_DIR_MODE
                archive.addfile(info)
            elif path.name == SECRETS_FILE:
                info.mode = SECRETS_MODE
                with path.open("rb") as file:
                    archive.addfile(info, file)
            else:
                info.mode &= 0o755
                with path.open("rb") as file:
                    archive.addfile(info, file)
    return buffer.getvalue()


class SshEngine(EngineLocation):
    """A deployed host's engine through one SSH connection; see the module's docstring."""

    own_session = True

    def __init__(self, host: RemoteHost, local_dir: Path) -> None:
        self.host = host
        self.control = local_dir / CONTROL_SOCKET
        self.docker_socket = local_dir / DOCKER_SOCKET
        self.log = local_dir / SSH_LOG
        self.forwards: dict[int, int] = {}  # host port -> this machine's port
        self._master: subprocess.Popen[bytes] | None = None
        self._synced: set[str] = set()
        self._compose = shlex.split(host.settings.compose_command)
        self._compose_version = ""

    # the connection

    def ssh(self, *options: str) -> list[str]:
        """`ssh` through the connection (the host's command goes last)."""
        return ["ssh", "-S", str(self.control), "-o", "ControlMaster=no",
                *ssh_options(self.host.login), *options, self.host.login.target]  # fmt: skip

    def remote(self, script: str, *, privileged: bool = True) -> list[str]:
        """`script` run by the host's shell (through `sudo -n` where the inventory says
        `_sudo`, unless it needs no privilege)."""
        if privileged and self.host.sudo:
            script = f"sudo -n sh -c {shlex.quote(script)}"
        return [*self.ssh(), script]

    def execute(self, script: str, *, stdin: bytes = b"", privileged: bool = True) -> str:
        """Run `script` on the host; a failure is a UserError naming the host."""
        done = subprocess.run(
            self.remote(script, privileged=privileged), input=stdin, capture_output=True,
            timeout=SSH_COMMAND_TIMEOUT_S, check=False, start_new_session=True,
        )  # fmt: skip
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            raise UserError(
                f"host '{self.host.name}': `{script[:60]}` failed (exit {done.returncode})"
                f"{': ' + tail[0] if tail else ''}"
            )
        return done.stdout.decode(errors="replace")

    def connect(self) -> None:
        """Open the connection, or one line naming the unreachable host."""
        with self.log.open("wb") as log:
            self._master = subprocess.Popen(
                ["ssh", "-M", "-S", str(self.control), "-N", "-o", "ControlPersist=no",
                 "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=15",
                 *ssh_options(self.host.login), self.host.login.target],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + SSH_READY_TIMEOUT_S
        while True:
            check = subprocess.run([*self.ssh("-O", "check")], capture_output=True, check=False)
            if check.returncode == 0:
                return
            if self._master.poll() is not None or time.monotonic() > deadline:
                lines = self.log.read_text(errors="replace").strip().splitlines()
                why = lines[-1] if lines else f"no connection within {SSH_READY_TIMEOUT_S:g} s"
                address = f"{self.host.login.address}:{self.host.login.port}"
                self.close()
                raise UserError(
                    f"--host: host '{self.host.name}' ({address}) is unreachable over SSH: {why}"
                )
            time.sleep(POLL_INTERVAL_S)

    def forward(self, local: str, remote: str) -> None:
        """A local forward through the connection: `local` here to `remote` on the host."""
        spec = f"{local}:{remote}"
        done = subprocess.run([*self.ssh("-O", "forward", "-L", spec)], capture_output=True,
                              text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            raise UserError(
                f"host '{self.host.name}': cannot forward {spec} over SSH: "
                f"{done.stderr.strip() or done.returncode}"
            )

    def close(self) -> None:
        """End the connection (and so every forward); safe twice."""
        if self._master is None:
            return
        subprocess.run([*self.ssh("-O", "exit")], capture_output=True, check=False)
        try:
            self._master.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._master.kill()
            self._master.wait()
        self._master = None
        self.docker_socket.unlink(missing_ok=True)

    def check(self) -> None:
        """The host can run a stack: its engine answers this login, compose runs, the
        offline images are there, and the deployed stack is not running."""
        name = self.host.name
        hint = DEPLOY_HINT.format(name=name)
        compose = shlex.join(self._compose)
        socket = shlex.quote(self.host.docker_socket)
        done = subprocess.run(
            self.remote(f"test -S {socket} || exit {NO_ENGINE}; "
                        f"{compose} version --short || exit {NO_COMPOSE}"),
            capture_output=True, text=True, timeout=SSH_COMMAND_TIMEOUT_S, check=False,
            start_new_session=True,
        )  # fmt: skip
        if done.returncode == NO_ENGINE:
            raise UserError(
                f"host '{name}' has no Docker engine ({self.host.docker_socket} is missing): {hint}"
            )
        if done.returncode != 0:
            raise UserError(f"host '{name}' cannot run `{compose}`: {hint}")
        self._compose_version = done.stdout.strip()
        self.forward(str(self.docker_socket), self.host.docker_socket)
        self.client = docker.DockerClient(
            base_url=f"unix://{self.docker_socket}", timeout=CLIENT_TIMEOUT_S
        )
        try:
            self.client.ping()
        except docker.errors.DockerException as error:
            raise UserError(
                f"host '{name}': its Docker engine does not answer user "
                f"'{self.host.login.user or 'default'}' over SSH ({error}): log in as root "
                "or as a member of the docker group"
            ) from None
        missing = []
        for spec in OFFLINE_SPECS:
            try:
                self.client.images.get(spec.tag)
            except docker.errors.ImageNotFound:
                missing.append(spec.tag)
        if missing:
            raise UserError(
                f"host '{name}' lacks the offline images ({', '.join(missing)}): "
                f"{hint} with images 'offline' in its host data"
            )
        deployed = self.host.settings.project
        running = self.client.containers.list(
            filters={"label": f"{PROJECT_LABEL}={deployed}", "status": "running"}
        )
        if running:
            raise UserError(
                f"host '{name}' runs the deployed stack (compose project '{deployed}'), which "
                "would share the budget's cpus and memory with the measured one: stop it "
                f"first (on the host: {compose} --project-name {deployed} stop); "
                f"`chrono-bench deploy --limit {name}` starts it again"
            )

    def free_host_ports(self, count: int) -> list[int]:
        """`count` ports nothing listens on on the host, below its ephemeral range."""
        output = self.execute(
            "cat /proc/sys/net/ipv4/ip_local_port_range /proc/net/tcp /proc/net/tcp6 "
            "2>/dev/null; true",
            privileged=False,
        )
        first, _, tables = output.partition("\n")
        taken = listening_ports(tables)
        ports = []
        for _ in range(count):
            port = pick_port(below_ephemeral(first), lambda port: port not in taken)
            if port is None:
                raise UserError(f"host '{self.host.name}': no free port on its loopback")
            ports.append(port)
        return ports

    # the location

    def publish_ports(self, names: Sequence[str]) -> dict[str, int]:
        ports = dict(zip(names, self.free_host_ports(len(names)), strict=True))
        for port in ports.values():
            local = free_port()
            self.forward(f"{LOOPBACK}:{local}", f"{LOOPBACK}:{port}")
            self.forwards[port] = local
        return ports

    def reach(self, port: int) -> int:
        return self.forwards[port]

    def command(self, project: str, bundle: Path, *args: str) -> list[str]:
        run_dir = self.host.run_dir(project)
        files: list[str] = []
        if project in self._synced:
            files = ["--project-directory", f"{run_dir}/bundle", "-f",
                     f"{run_dir}/bundle/compose.yml"]  # fmt: skip
        compose = shlex.join([*self._compose, "--project-name", project, *files, *args])
        # its pid on the host, for cancel(); exec: the pid stays compose's
        pid = f"echo $$ > {shlex.quote(f'{run_dir}/{PID_FILE}')} && " if files else ""
        return self.remote(f"{pid}exec {compose}")

    def sync(self, project: str, bundle: Path) -> None:
        run_dir = shlex.quote(self.host.run_dir(project))
        self.execute(
            f"umask 077 && mkdir -p {run_dir}/bundle && "
            f"chmod {RUN_DIR_MODE:o} {run_dir} {run_dir}/bundle && "
            f"tar -xpf - --no-same-owner -C {run_dir}/bundle",
            stdin=tar_bundle(bundle),
        )
        self._synced.add(project)

    def cancel(self, process: subprocess.Popen[str], project: str) -> None:
        """SIGTERM to the project's compose on the host (it cancels as on Ctrl-C); the
        ssh client here ends with it."""
        pid_file = shlex.quote(f"{self.host.run_dir(project)}/{PID_FILE}")
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                self.remote(f"kill -TERM $(cat {pid_file}) 2>/dev/null"),
                capture_output=True, timeout=SSH_COMMAND_TIMEOUT_S, check=False,
                start_new_session=True,
            )  # fmt: skip

    def down(self, project: str, bundle: Path) -> None:
        """`down -v` on the host, the sweep through the forwarded socket, then the run's
        directory on the host removed."""
        compose_down(self.command(project, bundle, *DOWN_ARGS), project, self.client)
        run_dir = shlex.quote(self.host.run_dir(project))
        try:
            self.execute(f"rm -rf {run_dir}")
        except (UserError, subprocess.TimeoutExpired) as error:
            LOG.error("host %s: removing %s failed: %s", self.host.name, run_dir, error)
        self._synced.discard(project)

    def nofile_limit(self) -> int:
        return min(NOFILE_LIMIT, self.host.settings.nofile_limit)

    def describe(self) -> dict[str, object]:
        login = self.host.login
        return {
            **describe_engine(self.client, self._compose_version),
            "location": "ssh",
            "host": self.host.name,
            "ssh": f"{login.target}:{login.port}",
            "started_here": False,
            "forwards": {
                str(port): f"{LOOPBACK}:{local}" for port, local in sorted(self.forwards.items())
            },
        }


@contextmanager
def ssh_engine(host: RemoteHost, local_dir: Path) -> Iterator[SshEngine]:
    """The host's engine over one SSH connection, checked; the connection closed on exit."""
    engine = SshEngine(host, local_dir)
    engine.connect()
    try:
        engine.check()
        yield engine
    finally:
        engine.close()
