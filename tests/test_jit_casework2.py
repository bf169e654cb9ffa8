"""Compiled keyed case uniforms and the visit buffer of casework (issue 4, round 3).

``ReformModel.case_uniform`` uses the numba scalar functions of :mod:`reformsim.streams` when the
kernels are on; they must give the same doubles as the pure-Python SplitMix64 path. The visit
log's fused conversions must give the same columns on plain and mixed days.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

import reformsim
from reformsim import jit
from reformsim.model import ReformModel
from reformsim.streams import (
    Streams,
    keyed_uniform_premixed,
    premix_hash,
    premixed_pair_hash,
    to_int64_bits,
    uniform_of_premixed,
)
from reformsim.visits import VisitLog

from .conftest import assert_same_summary, small

needs_numba = pytest.mark.skipif(not jit.enabled(), reason="numba not installed or disabled")


def _edge_values() -> list[int]:
    rng = random.Random(7)
    return [0, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1,
            *(rng.getrandbits(64) for _ in range(2000))]


def test_to_int64_bits_round_trips() -> None:
    for x in _edge_values():
        y = to_int64_bits(x)
        assert -(2**63) <= y < 2**63
        assert y & (2**64 - 1) == x


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_numba)])
def test_uniform_of_premixed_equals_the_python_draw(compiled: bool) -> None:
    fn = uniform_of_premixed.compiled() if compiled else uniform_of_premixed.py
    rng = random.Random(3)
    slots = [0, 1, 63, 64 * 64 * 400 + 10, 2**40 + 5, *(rng.randrange(2**31) for _ in range(200))]
    with np.errstate(over="ignore"):
        for h in _edge_values()[:300]:
            for s in slots[:8] if not compiled else slots:
                got = fn(to_int64_bits(h), s)
                assert got == keyed_uniform_premixed(h, s)
                assert type(got) in (float, np.float64)


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_numba)])
def test_premixed_pair_hash_equals_the_python_hash(compiled: bool) -> None:
    fn = premixed_pair_hash.compiled() if compiled else premixed_pair_hash.py
    streams = Streams(11)
    key = to_int64_bits(streams.keyed_int_key("keyed_cases"))
    with np.errstate(over="ignore"):
        for pair in [0, 1, 7, 12345, 2**31 - 1, 2**40]:
            want = premix_hash(streams.keyed_hash_scalar("keyed_cases", pair))
            assert int(fn(pair, key)) & (2**64 - 1) == want
            assert int(fn(pair, key)) == to_int64_bits(want)


@needs_numba
def test_case_uniform_compiled_equals_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = small("n_street_siloed.toml")
    models = {}
    for flag in ("1", "0"):
        monkeypatch.setenv("REFORMSIM_JIT", flag)
        m = ReformModel(sc, seed=5)
        m.run_for(60)
        models[flag] = m
    on, off = models["1"], models["0"]
    assert on._uniform_of_premixed is not None and off._uniform_of_premixed is None
    n = len(on.cases)
    assert n == len(off.cases) and n > 0
    for cid in range(n):
        for slot in (0, 1, 5, 9, 10, 60):
            assert on.case_uniform(cid, slot) == off.case_uniform(cid, slot)


@needs_numba
@pytest.mark.parametrize("name", ["n_street_siloed.toml", "n_street_integrated.toml"])
def test_runs_identical_with_and_without_kernels(monkeypatch: pytest.MonkeyPatch,
                                                 name: str) -> None:
    sc = small(name)
    out = {}
    for flag in ("1", "0"):
        with monkeypatch.context() as mp:
            mp.setenv("REFORMSIM_JIT", flag)
            out[flag] = reformsim.run(sc, seed=2)
    a, b = out["1"], out["0"]
    assert_same_summary(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.cases, b.cases, check_exact=True)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)


def _fill(log: VisitLog, visits: list[tuple]) -> None:
    """Stage the visits (firm, unit, time, pairs, joint) as casework does at the end of a day."""
    pairs = [np.atleast_1d(np.asarray(v[3], dtype=np.int64)) for v in visits]
    log.stage(np.array([v[0] for v in visits], dtype=np.int64),
              np.array([v[1] for v in visits], dtype=np.int64),
              np.array([v[2] for v in visits], dtype=np.float64),
              np.array([p.size for p in pairs], dtype=np.int16),
              np.array([v[4] for v in visits], dtype=bool),
              np.concatenate([np.zeros(0, dtype=np.int64), *pairs]))


def _expected(visits: list[tuple]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    at = np.array([v[2] for v in visits], dtype=np.float64)
    order = at.argsort(kind="stable")
    cols = {
        "enterprise": np.array([v[0] for v in visits], dtype=np.int64)[order],
        "unit": np.array([v[1] for v in visits], dtype=np.int64)[order],
        "at": at[order],
        "domains": np.array([1 if isinstance(v[3], int) else len(v[3]) for v in visits],
                            dtype=np.int16)[order],
        "joint": np.array([v[4] for v in visits], dtype=bool)[order],
    }
    pairs = [np.atleast_1d(np.asarray(v[3], dtype=np.int64)) for v in visits]
    return cols, np.concatenate([np.zeros(0, dtype=np.int64), *pairs])


@pytest.mark.parametrize("kind", ["empty", "plain", "joint-late", "multi-late", "mixed"])
def test_take_pending_columns(kind: str) -> None:
    rng = random.Random(kind)
    visits: list[tuple] = []
    n = 0 if kind == "empty" else 40
    for i in range(n):
        t = float(rng.randrange(5)) + 0.25  # ties on purpose
        pairs: int | list[int] = rng.randrange(1000)
        joint = False
        if kind == "joint-late" and i == 30 or kind == "mixed" and rng.random() < 0.3:
            joint = True
        if kind == "multi-late" and i == 35 or kind == "mixed" and rng.random() < 0.3:
            pairs = [rng.randrange(1000), 1000 + rng.randrange(1000)]
        visits.append((rng.randrange(100), rng.randrange(5), t, pairs, joint))
    log = VisitLog()
    for _day in range(3):  # the buffer resets between days, also after a mixed day
        _fill(log, visits)
        cols, pairs = log.take_pending()
        want_cols, want_pairs = _expected(visits)
        for name, col in want_cols.items():
            assert cols[name].dtype == col.dtype, name
            np.testing.assert_array_equal(cols[name], col, err_msg=name)
        assert pairs.dtype == np.int64
        np.testing.assert_array_equal(pairs, want_pairs)
        log.commit({**cols, "duplicate": np.zeros(len(visits), dtype=bool)})
    frame = log.to_frame()
    assert len(frame) == 3 * len(visits)
