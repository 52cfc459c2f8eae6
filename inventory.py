"""The hosts chrono-bench sizes and deploys: a pyinfra inventory (harness/budget/inventory.py).

Each module-level list is a pyinfra group; each host is `(name, data)`. chrono-bench reads
`cpus`, `memory_mb`, optional `shares` (a share plan) and optional per-service `services`
overrides from the data; pyinfra reads its connection settings (`ssh_hostname`, `ssh_user`, ...).
`chrono-bench budget` sizes the first host unless given `--host NAME`.
"""

import os
import resource
from pathlib import Path


def _this_machine() -> dict[str, object]:
    """cpus this process may use and MemTotal, read now: `@local` is whatever runs this."""
    cpus = len(os.sched_getaffinity(0))
    meminfo = Path("/proc/meminfo").read_text()
    memory_kib = next(
        int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")
    )
    return {"cpus": cpus, "memory_mb": memory_kib // 1024}


# The performance report's machine: 8 cores, 16 GB, reached over SSH. The address is a
# documentation placeholder (TEST-NET-3): set your own before deploying. `example`: a
# plain `chrono-bench deploy` leaves it out; it is deployed only when named (--limit).
report_host = [
    (
        "chrono-8c16g",
        {
            "cpus": 8,
            "memory_mb": 16384,
            "example": True,
            "ssh_hostname": "203.0.113.10",
            "ssh_user": "deploy",
            "_sudo": True,  # pyinfra: the deploy's operations run as root through sudo
        },
    ),
]

# This machine, as the local runtime and `make demo` run the whole stack on it as
# processes: the "local" shares (harness/budget/shares.py). `chrono-bench deploy --limit
# @local` deploys it with compose: the engine is this machine's own
# (harness/runtime/compose/dockerd.py), and it cannot pull, hence the offline image set
# (`chrono-bench images build`).
# The deploy's keys and defaults: deploy/settings.py.
local = [
    (
        "@local",
        {
            **_this_machine(),
            "shares": "local",
            "manage_docker": False,
            "images": "offline",
            # the engine started here inherits this process's open-files hard limit
            "nofile_limit": min(65535, resource.getrlimit(resource.RLIMIT_NOFILE)[1]),
        },
    )
]
