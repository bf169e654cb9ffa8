"""Named random streams spawned from one run seed (DESIGN.md §2.5), and keyed random numbers.

Each stochastic process draws only from its own :class:`numpy.random.Generator`, so two runs with
the same seed differ only where their levers differ (common random numbers). Streams are keyed by
name, not by creation order: adding a stream never shifts another one.

Sequential streams lose alignment between two scenarios as soon as one process makes a different
number of draws. Quantities that belong to one event — when a violation began, its matter, when
it would be detected, how long its handling takes, whether it is rectified — are therefore drawn
from *keyed* uniforms: a counter-based generator (the SplitMix64 finaliser, Steele, Lea & Flood
2014) applied to ``(stream key, entity, slot)``. The same violation gets the same numbers in every
arm of a comparison whatever else happened, as in Starsim's CRN design.
"""

from __future__ import annotations

import hashlib

import numpy as np

from reformsim.jit import kernel

#: Sequential streams (one Generator each) and keyed streams (counter-based uniforms).
STREAM_NAMES: tuple[str, ...] = (
    "setup",  # territory, populations, catalogue
    "violations",  # daily onset candidates (thinning), independent of levers and state
    "services",  # residents' service requests
    "inspection_planning",  # which firms are visited today
    "on_site",  # what an inspector finds
    "trust",  # whether a duplicate visit by another department gives conflicting orders
    "mesa",  # seeds Mesa's model.random / model.rng (not used by reformsim's rules)
    "keyed_violations",  # per violation: onset time, matter, detection, self-correction, complainant
    "keyed_cases",  # per case: service time, rectification, referral decisions
)

#: Keyed-uniform slots. Per violation (stream "keyed_violations", slot = onset_day * 64 + k):
SLOTS_PER_DAY = 64
SLOT_ONSET_TIME, SLOT_MATTER, SLOT_DETECT, SLOT_CHANNEL, SLOT_SELF_END, SLOT_COMPLAINANT = range(6)
SLOT_ACCEPT_ONSET = 6
#: Per case (stream "keyed_cases", slot = ((onset_day * 64 + attempt) * 64 + k):
SLOT_SERVICE, SLOT_RECTIFY, SLOT_RECTIFY_TIME, SLOT_MISROUTE, SLOT_MISROUTE_TO = range(5)
SLOT_SUMMONS_SHOW = 5  # + summoned department (0-1)
SLOT_SUMMONS_DELAY = 7  # + summoned department (0-1)
SLOT_ERROR = 9  # handling error
SLOT_ACCEPT = 10  # + referral hop (hops are capped at 50)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


_MASK = (1 << 64) - 1
_GOLDEN_I, _M1_I, _M2_I = int(_GOLDEN), int(_M1), int(_M2)


def _mix64_int(x: int) -> int:
    """SplitMix64 finaliser on a Python int (same bits as :func:`_mix64`)."""
    x ^= x >> 30
    x = (x * _M1_I) & _MASK
    x ^= x >> 27
    x = (x * _M2_I) & _MASK
    return x ^ (x >> 31)


def keyed_uniform_from_hash(hashed: int, slot: int) -> float:
    """Return the keyed uniform of ``slot`` from an entity's hash, in pure Python.

    ``hashed`` comes from :meth:`Streams.keyed_hash_scalar`; this is the per-slot half of
    :meth:`Streams.keyed_uniform` for one key (same value). Hot paths keep
    :func:`premix_hash` of the entity's hash and call :func:`keyed_uniform_premixed`.
    """
    return keyed_uniform_premixed(premix_hash(hashed), slot)


def premix_hash(hashed: int) -> int:
    """``hashed ^ (hashed >> 30)``: the entity's half of the finaliser's first step.

    The first step of the SplitMix64 finaliser, ``x ^= x >> 30``, distributes over the xor of
    an entity's hash and a slot's constant, ``x = hashed ^ c``:
    ``x ^ (x >> 30) == (hashed ^ (hashed >> 30)) ^ (c ^ (c >> 30))``. So each half can be
    computed once (per case, per slot) and :func:`keyed_uniform_premixed` starts after it.
    """
    return hashed ^ (hashed >> 30)


#: :func:`premix_slot` of the slots asked so far (a pure function of the slot: any seed, any run)
_SLOT_PREMIX: dict[int, int] = {}


def premix_slot(slot: int) -> int:
    """Return the slot's half of the finaliser's first step (see :func:`premix_hash`), memoised."""
    c = _SLOT_PREMIX.get(slot)
    if c is None:
        if len(_SLOT_PREMIX) >= 1 << 16:
            _SLOT_PREMIX.clear()
        c = (slot * _M2_I + _GOLDEN_I) & _MASK
        c = _SLOT_PREMIX[slot] = c ^ (c >> 30)
    return c


def keyed_uniform_premixed(hashed_premix: int, slot: int) -> float:
    """:func:`keyed_uniform_from_hash` from :func:`premix_hash` of the entity's hash (same value).

    The rest of the SplitMix64 finaliser after its first step, on the xor of the two halves
    (5 big-int operations fewer per draw than :func:`keyed_uniform_from_hash`).
    """
    c = _SLOT_PREMIX.get(slot)  # premix_slot(slot), inlined (~10^4 calls a run)
    x = hashed_premix ^ (premix_slot(slot) if c is None else c)
    x = (x * _M1_I) & _MASK
    x ^= x >> 27
    x = (x * _M2_I) & _MASK
    x ^= x >> 31
    return (x >> 11) * _TO_UNIT


def to_int64_bits(x: int) -> int:
    """The uint64 ``x`` (a Python int in ``[0, 2**64)``) as the int64 of the same bits.

    The compiled keyed uniforms (:func:`premixed_pair_hash`, :func:`uniform_of_premixed`) take
    and return hashes this way: a Python int always converts to an int64 argument.
    """
    return x - (1 << 64) if x >> 63 else x


@kernel
def premixed_pair_hash(entity, stream_key):
    """:func:`premix_hash` of ``keyed_hash_scalar(name, entity)``, compiled (int64 bits).

    ``stream_key`` is the stream's key as int64 bits (:func:`to_int64_bits`). The same
    wrapping uint64 operations as :meth:`Streams.keyed_hash` and :func:`premix_hash`.
    """
    x = np.uint64(entity) * _GOLDEN + np.uint64(np.int64(stream_key))
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return np.int64(x ^ (x >> _S30))


@kernel
def case_first_slot(onset_at, attempt):
    """Return a case's first keyed slot in stream ``keyed_cases`` (its slot ``k`` adds ``k``).

    ``(onset_day * 64 + min(attempt, 63)) * 64``, from its violation's onset and its attempt.
    """
    return (np.int64(onset_at) * 64 + min(np.int64(attempt), 63)) * SLOTS_PER_DAY


@kernel
def uniform_of_premixed(hashed_premix, slot):
    """:func:`keyed_uniform_premixed`, compiled: ``hashed_premix`` as int64 bits (same value).

    The slot's half of the first step (:func:`premix_slot`) is computed here, not memoised.
    """
    c = np.uint64(slot) * _M2 + _GOLDEN
    x = np.uint64(np.int64(hashed_premix)) ^ (c ^ (c >> _S30))
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return np.float64(x >> _S11) * _TO_UNIT


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic), in place.

    ``x`` must be a writable uint64 array with at least one dimension; it is overwritten and
    returned. One temporary of ``x``'s size is allocated.
    """
    t = np.right_shift(x, _S30)
    np.bitwise_xor(x, t, out=x)
    np.multiply(x, _M1, out=x)
    np.right_shift(x, _S27, out=t)
    np.bitwise_xor(x, t, out=x)
    np.multiply(x, _M2, out=x)
    np.right_shift(x, _S31, out=t)
    np.bitwise_xor(x, t, out=x)
    return x


def _uint64_copy(x: np.ndarray | int) -> np.ndarray:
    """``x`` as a new uint64 array (wrapping) with at least one dimension."""
    out = np.asarray(x).astype(np.uint64)
    return out.reshape(1) if out.ndim == 0 else out


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
        self._keys: dict[str, np.uint64] = {}
        self._int_keys: dict[str, int] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The child seed sequence of stream ``name``."""
        if name not in STREAM_NAMES:
            raise KeyError(f"unknown random stream {name!r}; known: {STREAM_NAMES}")
        return np.random.SeedSequence(
            self.root.entropy, spawn_key=(*self.root.spawn_key, _name_key(name))
        )

    def keyed_uniform(self, name: str, entity: np.ndarray, slot: np.ndarray | int) -> np.ndarray:
        """Uniforms in [0, 1) that depend only on (seed, stream ``name``, ``entity``, ``slot``).

        Parameters
        ----------
        entity, slot
            Non-negative integer arrays (broadcast together), e.g. an exposure pair and
            ``onset_day * 64 + k``. Equal keys give equal numbers in every run with this seed.
        """
        u = self.uniform_from_hash(self.keyed_hash(name, entity), slot)
        return u[0] if np.ndim(entity) == 0 and np.ndim(slot) == 0 else u

    def keyed_hash(self, name: str, entity: np.ndarray) -> np.ndarray:
        """Hash ``entity`` with the stream key: the slot-independent half of :meth:`keyed_uniform`.

        Pass it to :meth:`uniform_from_hash` to draw several slots of the same entities without
        hashing them again: ``uniform_from_hash(keyed_hash(name, e), s)`` equals
        ``keyed_uniform(name, e, s)`` bit for bit.

        Returns
        -------
        ndarray of uint64
            A new array of ``entity``'s shape (at least one dimension).
        """
        key = self._keys.get(name)
        if key is None:
            key = self.seed_sequence(name).generate_state(1, np.uint64)[0]
            self._keys[name] = key
        h = _uint64_copy(entity)
        np.multiply(h, _GOLDEN, out=h)
        np.add(h, key, out=h)
        return _mix64(h)

    @staticmethod
    def uniform_from_hash(hashed: np.ndarray, slot: np.ndarray | int) -> np.ndarray:
        """Uniforms in [0, 1) from :meth:`keyed_hash` values and ``slot`` (broadcast together)."""
        if isinstance(slot, int | np.integer):
            s = np.uint64((int(slot) * _M2_I + _GOLDEN_I) & _MASK)
        else:
            s = _uint64_copy(slot)
            np.multiply(s, _M2, out=s)
            np.add(s, _GOLDEN, out=s)
        x = _mix64(np.bitwise_xor(hashed, s))
        np.right_shift(x, _S11, out=x)
        u = x.astype(np.float64)
        u *= _TO_UNIT
        return u

    def keyed_hash_scalar(self, name: str, entity: int) -> int:
        """:meth:`keyed_hash` of one entity, as a Python int (the slot-independent half).

        ``keyed_uniform_from_hash(keyed_hash_scalar(name, e), s)`` equals
        ``keyed_uniform(name, e, s)`` bit for bit.
        """
        key = self._int_keys.get(name)
        if key is None:
            self.keyed_hash(name, np.zeros(1, np.int64))
            key = self._int_keys[name] = int(self._keys[name])
        return _mix64_int((int(entity) * _GOLDEN_I + key) & _MASK)

    def keyed_int_key(self, name: str) -> int:
        """The key of stream ``name`` as a Python int (see :meth:`keyed_hash_scalar`)."""
        key = self._int_keys.get(name)
        if key is None:
            self.keyed_hash(name, np.zeros(1, np.int64))
            key = self._int_keys[name] = int(self._keys[name])
        return key

    def keyed_uniform_scalar(self, name: str, entity: int, slot: int) -> float:
        """:meth:`keyed_uniform` for one key, in pure Python (same value, ~10x faster)."""
        return keyed_uniform_from_hash(self.keyed_hash_scalar(name, entity), int(slot))

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            gen = np.random.default_rng(self.seed_sequence(name))
            self._gens[name] = gen
        return gen
