"""Named random streams spawned from one run seed (DESIGN.md §2.5).

Each stochastic process draws only from its own :class:`numpy.random.Generator`, so two runs with
the same seed differ only where their levers differ (common random numbers). Streams are keyed by
name, not by creation order: adding a stream never shifts another one.
"""

from __future__ import annotations

import hashlib

import numpy as np

STREAM_NAMES: tuple[str, ...] = (
    "setup",
    "violations",
    "detection",
    "complaints",
    "services",
    "patrol",
    "routing",
    "inspection_planning",
    "service_times",
    "on_site",
    "sanctions",
    "rectification",
    "mesa",
)


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


class Streams:
    """A registry of independent generators derived from ``SeedSequence(seed)``.

    Parameters
    ----------
    seed
        The run seed: an int or a :class:`numpy.random.SeedSequence` (e.g. a spawned replicate).

    Notes
    -----
    Stream ``name`` is ``Generator(PCG64(SeedSequence(entropy, spawn_key=(*root.spawn_key, k))))``
    with ``k`` a hash of the name, so the mapping is stable across versions and insertion order.
    """

    def __init__(self, seed: int | np.random.SeedSequence) -> None:
        self.root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._gens: dict[str, np.random.Generator] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The child seed sequence of stream ``name``."""
        if name not in STREAM_NAMES:
            raise KeyError(f"unknown random stream {name!r}; known: {STREAM_NAMES}")
        return np.random.SeedSequence(
            self.root.entropy, spawn_key=(*self.root.spawn_key, _name_key(name))
        )

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            gen = np.random.default_rng(self.seed_sequence(name))
            self._gens[name] = gen
        return gen
