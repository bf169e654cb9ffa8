"""The compiled day kernels of inspection planning (step 5, M5, M14) equal the fallback."""

from __future__ import annotations

import numpy as np
import pytest

from reformsim import inspection_kernels as ik
from reformsim import jit
from reformsim.model import ReformModel
from reformsim.scenario import Scenario

from .conftest import assert_same_summary, small

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba not installed or JIT disabled")


def _run(sc: Scenario, jit_on: bool, monkeypatch: pytest.MonkeyPatch, days: int = 120
         ) -> ReformModel:
    monkeypatch.setenv("REFORMSIM_JIT", "1" if jit_on else "0")
    m = ReformModel(sc, seed=5)
    assert (m.inspection_planning._kernels is not None) == jit_on
    m.run_for(days)
    return m


def _queue(unit) -> list[list[float]]:
    return unit.model.queues.queued_visits(unit.index).tolist()


@pytest.mark.parametrize("name, extra", [
    ("n_street_siloed.toml", None),
    ("n_street_integrated.toml", None),
    ("n_street_siloed.toml", {"levers": {"inspection_cap_per_year": 2}}),
    ("n_street_integrated.toml", {"levers": {"three_colour": False}}),
    ("n_street_siloed.toml", {"levers": {"joint_inspection": True}}),
])
def test_runs_with_kernels_equal_the_fallback(name: str, extra: dict | None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    sc = small(name, extra)
    fast, slow = _run(sc, True, monkeypatch), _run(sc, False, monkeypatch)
    np.testing.assert_array_equal(fast.enterprises.planned_this_year,
                                  slow.enterprises.planned_this_year)
    assert fast.last_seq == slow.last_seq
    for a, b in zip(fast.units, slow.units, strict=True):
        assert _queue(a) == _queue(b)
    for name in fast.cases.cols:
        np.testing.assert_array_equal(fast.cases[name], slow.cases[name], name)
    assert fast.inspection_planning.capped == slow.inspection_planning.capped
    assert_same_summary(fast.recorder.summary(), slow.recorder.summary())


@pytest.mark.parametrize("size, p, chunk", [(1000, 0.01, 5), (1000, 0.3, 400), (50, 1.0, 60),
                                            (7, 0.5, 1)])
def test_gap_positions_equal_numpy(size: int, p: float, chunk: int) -> None:
    from reformsim.mechanisms.inspection import bernoulli_positions

    want = bernoulli_positions(np.random.default_rng(3), size, p, chunk)
    rng = np.random.default_rng(3)
    parts, last = [], -1
    while last < size:
        gaps = rng.geometric(p, chunk)
        last, n = ik.gap_positions.py(gaps, size, last)
        parts.append(gaps[:n])
    got = np.concatenate(parts)
    np.testing.assert_array_equal(got, want)
    assert last >= size


def test_choose_visits_groups_by_body_in_order() -> None:
    cand = np.array([0, 2, 3, 5, 6], dtype=np.int64)
    u = np.array([0.1, 0.9, 0.2, 0.3, 0.05])
    accept = np.array([0.5, np.nan, 1.0])
    colour = np.array([0, 1, 2, 0], dtype=np.int8)
    firm_of = np.array([0, 0, 1, 2, 2, 3, 3], dtype=np.int64)
    body_of = np.array([1, 0, 1, 1, 0, 1, 0], dtype=np.int64)
    planned = np.zeros(4, dtype=np.int32)
    rows = np.arange(14, dtype=np.int64).reshape(7, 2) * 10
    for fn in (ik.choose_visits.py, ik.choose_visits.compiled()):
        p, bounds = planned.copy(), np.full(3, 99, dtype=np.int64)
        table = fn(cand, u, accept, colour, firm_of, body_of, p, rows, 40, bounds)
        # pair 2 (firm 1, NaN) never; pair 3 (firm 2, u 0.2 < 1); 5, 6 (firm 3, < 0.5)
        assert p.tolist() == [1, 0, 1, 2]
        assert bounds.tolist() == [0, 1, 4]
        # body 0: pair 6 (the 4th chosen, seq 44); body 1: pairs 0, 3, 5
        assert table.tolist() == [[6, 44, 120, 130], [0, 41, 0, 10], [3, 42, 60, 70],
                                  [5, 43, 100, 110]]
    empty = np.zeros(0, dtype=np.int64)
    bounds = np.ones(3, dtype=np.int64)
    table = ik.choose_visits.compiled()(empty, np.zeros(0), accept, colour, firm_of, body_of,
                                        planned, rows, 0, bounds)
    assert table.shape == (0, 4) and bounds.tolist() == [0, 0, 0]


def test_colour_counts_equal_numpy() -> None:
    colour = np.random.default_rng(1).integers(0, 3, 1001).astype(np.int8)
    want = (np.count_nonzero(colour), np.count_nonzero(colour == 2))
    assert ik.colour_counts.py(colour) == want
    assert ik.colour_counts.compiled()(colour) == want
    assert ik.colour_counts.compiled()(colour[:0]) == (0, 0)
