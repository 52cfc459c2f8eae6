"""What an allocation holds: each service's share and settings, and PostgreSQL's
connection budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceAllocation:
    """One service's limits, reservations and derived settings."""

    name: str
    cpus: float
    reservation_cpus: float
    memory_mb: int
    reservation_mb: int
    settings: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpus": self.cpus,
            "reservation_cpus": self.reservation_cpus,
            "memory_mb": self.memory_mb,
            "reservation_mb": self.reservation_mb,
            "settings": dict(self.settings),
        }


@dataclass(frozen=True)
class Connections:
    """PostgreSQL's connection budget: every client's pool maximum, summed."""

    clients: dict[str, int]
    reserved: int
    max_connections: int
    ceiling: int

    @property
    def demand(self) -> int:
        return sum(self.clients.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_connections": self.max_connections,
            "demand": self.demand,
            "reserved": self.reserved,
            "ceiling": self.ceiling,
            "clients": dict(self.clients),
        }
