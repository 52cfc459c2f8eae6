"""`chrono-bench deploy`: pyinfra's own command line on deploy/main.py, its progress shown.

The deploy code renders each host's bundle on this machine (deploy/bundle.py), so the
command runs from the repository root, where `deploy` is importable, and passes the
inventory file on as host data for it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.errors import UserError
from harness.inventory import load_inventory

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOY_FILE = REPO_ROOT / "deploy" / "main.py"
LOCAL_HOST = "@local"


def pyinfra_command(inventory: Path, *, dry: bool, limit: Sequence[str] = ()) -> list[str]:
    """The pyinfra command line for a deploy of `inventory` (all hosts, or `limit`)."""
    pyinfra = Path(sys.executable).parent / "pyinfra"
    command = [str(pyinfra), str(inventory.resolve()), str(DEPLOY_FILE.relative_to(REPO_ROOT))]
    command += ["--yes", "--data", f"chrono_inventory={inventory.resolve()}"]
    for host in limit:
        command += ["--limit", host]
    if dry:
        command.append("--dry")
    return command


def run_deploy(
    inventory: Path, *, dry: bool = False, limit: Sequence[str] = (), capture: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the deploy; pyinfra's output goes to the terminal unless `capture`."""
    names = load_inventory(inventory).names  # the inventory's own errors, as sentences
    unknown = [host for host in limit if host not in names]
    if unknown:
        raise UserError(f"deploy: no host '{unknown[0]}' in '{inventory}' ({', '.join(names)})")
    if LOCAL_HOST in (limit or names):
        from harness.dockerd import compose_command

        compose_command()  # `docker compose` for the @local deploy
    done = subprocess.run(
        pyinfra_command(inventory, dry=dry, limit=limit),
        cwd=REPO_ROOT,
        text=True,
        capture_output=capture,
        check=False,
    )
    if done.returncode != 0:
        where = "its output above"
        if capture:
            where = " / ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        raise UserError(f"deploy: pyinfra failed (exit {done.returncode}): {where}")
    return done
