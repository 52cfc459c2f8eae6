"""Deterministic randomness: every draw derives from the seed and a name, never from order.

Python's `hash()` is salted per process, so identities go through BLAKE2b instead: the
same (seed, name) gives the same numbers in every process and on every run.
"""

from __future__ import annotations

import hashlib
import random

_UNIT_SCALE = float(1 << 64)


def _digest(parts: tuple[object, ...]) -> int:
    text = "\x1f".join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def derive_rng(*parts: object) -> random.Random:
    """A generator seeded by the parts' identity (e.g. seed, "page", urlkey)."""
    return random.Random(_digest(parts))


def unit_interval(*parts: object) -> float:
    """A number in [0, 1) fixed by the parts' identity, for one-off decisions."""
    return _digest(parts) / _UNIT_SCALE
