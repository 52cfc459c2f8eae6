"""Load `inventory.py`: the hosts, their capacity (cpus, memory_mb) and pyinfra groups.

The file is a pyinfra inventory, read with pyinfra's own rules so that `pyinfra
inventory.py ...` and chrono-bench see the same hosts: every module-level name not
starting with `_` bound to a list of hosts (or to a `(hosts, group_data)` tuple) is a
group; a host is a name or a `(name, data)` tuple; host data wins over group data.

chrono-bench reads these keys of a host's data:
    cpus        number of cpus, > 0 (fractions allowed)
    memory_mb   memory in MB, > 0
    shares     optional, a share plan of harness.budget.shares (default "default")
    services    optional, {service: {cpus|reservation_cpus|memory_mb|reservation_mb: n}}
                to pin one service's allocation instead of scaling it
"""

from __future__ import annotations

import math
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError

DEFAULT_INVENTORY_PATH = Path("inventory.py")
DEFAULT_SHARES = "default"
OVERRIDE_KEYS = ("cpus", "reservation_cpus", "memory_mb", "reservation_mb")


@dataclass(frozen=True)
class HostSpec:
    """One host's capacity and how chrono-bench should size it."""

    name: str
    cpus: float
    memory_mb: int
    shares: str = DEFAULT_SHARES
    groups: tuple[str, ...] = ()
    overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # all of the host's data, group data merged in (addresses, SSH settings, ...)
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Inventory:
    """The hosts of one inventory file, in the order the file lists them."""

    path: Path
    hosts: tuple[HostSpec, ...]

    @property
    def names(self) -> list[str]:
        return [host.name for host in self.hosts]


def load_inventory(path: Path | str = DEFAULT_INVENTORY_PATH) -> Inventory:
    """Read and validate an inventory file; every problem is a UserError naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"inventory: file '{path}' not found")
    try:
        namespace = runpy.run_path(str(path))
    except SyntaxError as error:
        raise UserError(
            f"inventory: '{path}' is not valid Python (line {error.lineno}: {error.msg})"
        ) from error
    except Exception as error:  # the file is user code: any failure is a user error
        raise UserError(
            f"inventory: '{path}' failed to load ({type(error).__name__}: {error})"
        ) from error

    host_data: dict[str, dict[str, Any]] = {}
    host_groups: dict[str, list[str]] = {}
    group_data: dict[str, dict[str, Any]] = {}
    for group, value in namespace.items():
        hosts = _group_hosts(value, group)
        if hosts is None:
            continue
        if isinstance(value, tuple):
            group_data[group] = dict(value[1])
        for entry in hosts:
            name, data = (entry[0], entry[1]) if isinstance(entry, tuple) else (entry, {})
            if not isinstance(data, Mapping):
                raise UserError(f"inventory: host '{name}' in '{path}' has data that is not a dict")
            host_data.setdefault(name, {}).update(data)
            host_groups.setdefault(name, []).append(group)

    if not host_data:
        raise UserError(f"inventory: '{path}' defines no hosts")
    specs = tuple(
        _host_spec(name, _merged_data(host_data[name], host_groups[name], group_data), groups)
        for name, groups in host_groups.items()
    )
    return Inventory(path=path, hosts=specs)


def get_host(inventory: Inventory, name: str | None = None) -> HostSpec:
    """The host called `name`, or the first host of the inventory when no name is given."""
    if name is None:
        return inventory.hosts[0]
    for host in inventory.hosts:
        if host.name == name:
            return host
    raise UserError(
        f"inventory: no host '{name}' in '{inventory.path}' (hosts: {', '.join(inventory.names)})"
    )


def _group_hosts(value: Any, group: str) -> list[Any] | None:
    """The hosts of a pyinfra group, or None when the name is not a group."""
    if group.startswith("_"):
        return None
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Mapping):
        value = value[0]
    if not isinstance(value, list | tuple):
        return None
    if not all(isinstance(item, str | tuple) for item in value):
        return None
    return list(value)


def _merged_data(
    data: dict[str, Any], groups: list[str], group_data: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for group in groups:
        merged.update(group_data.get(group, {}))
    merged.update(data)
    return merged


def _host_spec(name: str, data: Mapping[str, Any], groups: list[str]) -> HostSpec:
    if "profile" in data:
        raise UserError(
            f"inventory: host '{name}' names its share plan with 'profile': call it 'shares' "
            "('profile' now means only a measurement profile)"
        )
    shares = data.get("shares", DEFAULT_SHARES)
    if not isinstance(shares, str):
        raise UserError(
            f"inventory: host '{name}' has shares that are not a plan's name: {shares!r}"
        )
    return HostSpec(
        name=name,
        cpus=_positive_number(data, "cpus", f"host '{name}'"),
        memory_mb=int(_positive_number(data, "memory_mb", f"host '{name}'")),
        shares=shares,
        groups=tuple(groups),
        overrides=_overrides(name, data.get("services", {})),
        data=dict(data),
    )


def _overrides(host: str, services: Any) -> dict[str, dict[str, float]]:
    if not isinstance(services, Mapping):
        raise UserError(f"inventory: host '{host}' has 'services' that is not a dict")
    overrides: dict[str, dict[str, float]] = {}
    for service, values in services.items():
        if not isinstance(values, Mapping):
            raise UserError(f"inventory: host '{host}' sets service '{service}' to a non-dict")
        unknown = sorted(set(values) - set(OVERRIDE_KEYS))
        if unknown:
            raise UserError(
                f"inventory: host '{host}' sets unknown key '{unknown[0]}' for service "
                f"'{service}' (keys: {', '.join(OVERRIDE_KEYS)})"
            )
        where = f"service '{service}' on host '{host}'"
        overrides[str(service)] = {key: _positive_number(values, key, where) for key in values}
    return overrides


def _positive_number(data: Mapping[str, Any], key: str, where: str) -> float:
    if key not in data:
        raise UserError(f"inventory: {where} has no '{key}'")
    value = data[key]
    # bool is an int in Python, but `cpus: True` is a typo, not a capacity
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"inventory: {where} has {key} {value!r}, which is not a number")
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"inventory: {where} has {key} {value}, which is not a positive number")
    return float(value) if isinstance(value, float) else value
