"""A real PostgreSQL server as a process on loopback, for the local runtime and the tests.

PostgreSQL refuses to run as root, so when we are root the cluster belongs to the
`postgres` system user (created by the Debian package) and every server binary runs
through setpriv as that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import psycopg
from psycopg import sql

from harness.errors import UserError
from harness.runtime.ports import LOOPBACK, free_port
from harness.runtime.process import (
    CheckedTCPExecutor,
    as_user,
    ensure_traversable,
    service_user,
)
from harness.supervision import LoggedService

SUPERUSER = "postgres"
APP_ROLE = "chrono"
APP_DATABASE = "chrono"
# Settings the harness itself needs in every variant, stock or tuned: where to listen,
# and pg_stat_statements for the statements-per-request cross-check.
HARNESS_SETTINGS = {
    "listen_addresses": f"'{LOOPBACK}'",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "top",
}
INCLUDE_FILE = "chrono.conf"
HBA_FILE = "chrono_hba.conf"


def postgres_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    if found is None:
        raise UserError("PostgreSQL server not found: install the Debian package 'postgresql'")
    return Path(found).resolve().parent


class PostgresServer(LoggedService):
    """One cluster in `base_dir`: initialised on first start, reconfigurable, restartable."""

    def __init__(
        self,
        base_dir: Path,
        *,
        password: str,
        port: int | None = None,
        settings: Mapping[str, str] | None = None,
        listen: Sequence[str] = (LOOPBACK,),
        hba_networks: Sequence[str] = (),
    ) -> None:
        """`listen` and `hba_networks` (CIDRs allowed to log in with a password) open the
        server to other hosts: a database host of a multi-host inventory."""
        self.base_dir = base_dir
        self.listen = tuple(listen)
        self.hba_networks = tuple(hba_networks)
        self.data_dir = base_dir / "data"
        self.socket_dir = base_dir / "socket"
        self.password = password
        self.port = port or free_port()
        self.settings: dict[str, str] = dict(settings or {})
        self.user = service_user(SUPERUSER)
        self._bindir = postgres_bindir()

    def dsn(self, *, database: str = APP_DATABASE, superuser: bool = False) -> str:
        role = SUPERUSER if superuser else APP_ROLE
        return (
            f"postgresql://{role}:{self.password}@{LOOPBACK}:{self.port}/{database}"
            "?application_name=chrono-bench"
        )

    @property
    def version(self) -> str:
        return (self.data_dir / "PG_VERSION").read_text().strip()

    def start(self) -> None:
        if self._executor is not None:
            return
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            # The postgres user must reach its own files; the directory stays unlistable.
            os.chmod(self.base_dir, 0o711)
            ensure_traversable(self.base_dir, self.user)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._write_settings()
        self._log = open(self.base_dir / "postgres.log", "a")  # noqa: SIM115 - closed in stop()
        command = as_user(
            self.user,
            [
                str(self._bindir / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-k",
                str(self.socket_dir),
            ],
        )
        # SIGINT is PostgreSQL's "fast" shutdown: SIGTERM would wait for clients to leave.
        self._launch(
            CheckedTCPExecutor(
                command, port=self.port, ready=self._accepts, log=self._log,
                stop_signal=signal.SIGINT,
            ),
            f"PostgreSQL did not start on port {self.port}: see {self.base_dir / 'postgres.log'}",
        )  # fmt: skip
        self._ensure_app_database()

    def restart(self, settings: Mapping[str, str] | None = None) -> None:
        """Restart, with new settings when given (settings like shared_buffers need it)."""
        if settings is not None:
            self.settings = dict(settings)
        self.stop()
        self.start()

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            shutil.chown(path, self.user, self.user)

    def _initdb(self) -> None:
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self._chown(self.data_dir)
        self._chown(self.socket_dir)
        with tempfile.NamedTemporaryFile("w", dir=self.base_dir, delete=False) as pwfile:
            pwfile.write(self.password)
        pwpath = Path(pwfile.name)
        self._chown(pwpath)
        try:
            subprocess.run(
                as_user(
                    self.user,
                    [
                        str(self._bindir / "initdb"),
                        "-D",
                        str(self.data_dir),
                        "-U",
                        SUPERUSER,
                        f"--pwfile={pwpath}",
                        "--auth-local=peer",
                        "--auth-host=scram-sha-256",
                        "--encoding=UTF8",
                        "--locale=C",
                    ],
                ),
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as error:
            raise UserError(f"initdb failed in {self.data_dir}: {error.stderr.strip()}") from error
        finally:
            pwpath.unlink()
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\ninclude_if_exists = '{INCLUDE_FILE}'\n")

    def _write_settings(self) -> None:
        merged = {**self.settings, **HARNESS_SETTINGS}
        merged["listen_addresses"] = "'" + ",".join(self.listen) + "'"
        if self.hba_networks:
            merged["hba_file"] = f"'{self._write_hba()}'"
        lines = [f"{name} = {value}" for name, value in sorted(merged.items())]
        include = self.data_dir / INCLUDE_FILE
        include.write_text("# written by chrono-bench at each start\n" + "\n".join(lines) + "\n")
        self._chown(include)

    def _write_hba(self) -> Path:
        """initdb's rules (peer locally, passwords on loopback) and the given networks."""
        lines = ["local all all peer", "host all all 127.0.0.1/32 scram-sha-256"]
        lines += [f"host all all {network} scram-sha-256" for network in self.hba_networks]
        path = self.data_dir / HBA_FILE
        path.write_text("# written by chrono-bench at each start\n" + "\n".join(lines) + "\n")
        self._chown(path)
        return path

    def _accepts(self) -> bool:
        try:
            with psycopg.connect(self.dsn(database="postgres", superuser=True), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _ensure_app_database(self) -> None:
        with psycopg.connect(
            self.dsn(database="postgres", superuser=True), autocommit=True
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
            if exists.fetchone() is None:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(APP_ROLE), sql.Literal(self.password)
                    )
                )
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (APP_DATABASE,))
            if exists.fetchone() is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(APP_DATABASE), sql.Identifier(APP_ROLE)
                    )
                )
        with psycopg.connect(self.dsn(superuser=True), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def create_database(self, name: str) -> str:
        """A new empty database owned by the app role (for isolated tests); its DSN."""
        with psycopg.connect(
            self.dsn(database="postgres", superuser=True), autocommit=True
        ) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(APP_ROLE)
                )
            )
        with psycopg.connect(self.dsn(database=name, superuser=True), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return self.dsn(database=name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(
            self.dsn(database="postgres", superuser=True), autocommit=True
        ) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
