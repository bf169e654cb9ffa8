"""Kernels of steps 2 and 9 (reformsim.observe_kernels) against the numpy fallback, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from reformsim import jit
from reformsim.model import ReformModel
from reformsim.observe_kernels import (
    observe_day,
    pairwise_plan,
    serve_requests,
    speed_ratio_terms,
)
from tests.conftest import assert_same_summary, small

pytestmark = pytest.mark.skipif(not jit._numba_installed(), reason="numba not installed")


def _run(scenario, seed, monkeypatch, jit_on: bool) -> ReformModel:
    monkeypatch.setenv("REFORMSIM_JIT", "1" if jit_on else "0")
    return ReformModel(scenario, seed=seed).run()


@pytest.mark.parametrize(("name", "extra"), [
    ("n_street_siloed.toml", None),
    ("n_street_integrated.toml", None),
    # grid workers short of time: requests beyond a grid's capacity go unserved
    ("n_street_siloed.toml", {"levers": {"grid_assist_share_max": 0.02},
                              "services": {"demand_per_resident_per_year": 6.0}}),
])
def test_kernels_match_fallback(name, extra, monkeypatch):
    sc = small(name, extra)
    a = _run(sc, 3, monkeypatch, True)
    b = _run(sc, 3, monkeypatch, False)
    assert a.recorder._kernel is not None and b.recorder._kernel is None
    assert a.services._kernel is not None and b.services._kernel is None
    ta, tb = a.recorder.timeseries(), b.recorder.timeseries()
    assert list(ta.columns) == list(tb.columns)
    for col in ta.columns:
        assert ta[col].to_numpy().tobytes() == tb[col].to_numpy().tobytes(), col
    assert_same_summary(a.recorder.summary(), b.recorder.summary())
    assert a.residents.satisfaction.tobytes() == b.residents.satisfaction.tobytes()
    assert a.patrol_hours.tobytes() == b.patrol_hours.tobytes()
    if extra:
        assert a.services.unserved_total > 0


def _plans(sizes):
    plans = [pairwise_plan(n) for n in sizes]
    layout = np.zeros((2, len(sizes) + 1), dtype=np.int64)
    layout[0, 1:] = np.cumsum([len(p) for p in plans])
    layout[1, 1:] = np.cumsum(sizes)
    return np.concatenate(plans), layout


@pytest.mark.parametrize("n_ent", [0, 1, 7, 8, 9, 127, 128, 129, 136, 255, 1000, 120_000])
def test_observe_day_sums_as_numpy(n_ent):
    rng = np.random.default_rng(n_ent)
    xs = tuple(rng.random(n) * 10.0 ** rng.integers(-6, 7, n) for n in (n_ent, n_ent, 189))
    colour = rng.integers(0, 4, 300).astype(np.int8)  # 3 is no colour: counted nowhere
    violating = rng.integers(0, 5, 189)
    authority = rng.random(50) < 0.3
    table = np.full((15, 4), np.nan)
    assert observe_day.compiled()(xs, *_plans([x.size for x in xs]), colour, violating,
                                  authority, table, 2, 7, 1, 2, 0.5, 3.25, 1000, 300, 0.125)
    day = table[:, 2]
    for row, x in ((8, xs[0]), (12, xs[1])):
        mean = np.add.reduce(x) / x.size if x.size else np.nan
        assert day[row] == mean or (np.isnan(mean) and np.isnan(day[row]))
    assert day[7] == 0.125
    assert day[10] == float(xs[2].sum())
    assert day[0] == violating.sum() and day[1] == 1.0 - int(violating.sum()) / 1000
    assert list(day[2:5]) == [np.count_nonzero(colour == c) / 300 for c in range(3)]
    assert list(day[[5, 6, 9, 11, 13, 14]]) == [7, 1, 2, 0.5, 3.25, np.count_nonzero(authority)]
    assert np.isnan(table[:, [0, 1, 3]]).all()


@pytest.mark.parametrize("n_firms", [1, 7, 8, 9, 64, 8001])
def test_observe_day_colour_counts(n_firms):
    rng = np.random.default_rng(n_firms)
    colour = rng.integers(0, 3, n_firms).astype(np.int8)
    xs = (np.ones(n_firms), np.ones(n_firms), np.ones(2))
    table = np.full((15, 1), np.nan)
    assert observe_day.compiled()(xs, *_plans([x.size for x in xs]), colour,
                                  np.zeros(2, np.int64), np.zeros(2, bool), table, 0, 0, 0, 0,
                                  0.0, 0.0, 0, n_firms, 1.0)
    assert list(table[2:5, 0]) == [np.count_nonzero(colour == c) / n_firms for c in range(3)]


def test_observe_day_refuses_other_sizes():
    xs = (np.ones(5), np.ones(5), np.ones(3))
    plans, layout = _plans([6, 5, 3])
    table = np.full((15, 1), np.nan)
    assert not observe_day.compiled()(xs, plans, layout, np.zeros(5, np.int8),
                                      np.zeros(3, np.int64), np.zeros(2, bool), table, 0,
                                      0, 0, 0, 0.0, 0.0, 0, 5, 1.0)
    assert np.isnan(table).all()


def test_pairwise_plan_shape():
    assert pairwise_plan(0).tolist() == [[0, 0]]
    assert pairwise_plan(128).tolist() == [[0, 128]]
    # 300 splits at 144 (150 less 150 % 8), 144 at 72 and 156 at 72 (78 less 78 % 8)
    assert pairwise_plan(300).tolist() == [[0, 72], [72, 72], [-1, 0], [144, 72], [216, 84],
                                           [-1, 0], [-1, 0]]


def test_speed_ratio_terms_as_numpy():
    rng = np.random.default_rng(1)
    skills = (rng.random((3, 4)), rng.random((2, 4)))
    dc, w = rng.random(4), rng.random((5, 4))
    num = dc + 1.5
    out = np.empty(20)
    assert speed_ratio_terms.compiled()(skills, dc, num, w, 0.7, 1.5, out)
    ratio = np.subtract(1.0, np.concatenate(skills))
    ratio *= 0.7
    ratio += 1.0
    ratio *= dc
    ratio += 1.5
    np.divide(num, ratio, out=ratio)
    ratio *= w
    assert out.tobytes() == ratio.ravel().tobytes()
    assert np.add.reduce(out) == ratio.sum()
    # a zero denominator (numpy: inf or nan) and shapes that do not fit are left to numpy
    assert not speed_ratio_terms.compiled()(skills, np.zeros(4), np.zeros(4), w, 0.7, 0.0, out)
    assert not speed_ratio_terms.compiled()(skills, dc, num, w[:4], 0.7, 1.5, out)


def test_serve_requests_edge_cases():
    """Capacity 1 in grid 0: of resident 0's two failed requests, the second is unserved; the
    served one moves resident 0 up, then the unserved one down from there."""
    who = np.array([0, 1, 0, 2, 2], dtype=np.int64)
    u = np.array([0.9, 0.1, 0.95, 0.99, 0.99])
    literacy = np.array([0.5, 0.5, 0.5])
    grid = np.array([0, 1, 1], dtype=np.int64)
    capacity = np.array([1.0, 5.0])
    hours = np.array([8.0, 0.5])
    sat = np.array([0.5, 0.5, 0.5])
    patrol = np.empty(2)
    n_failed, n_unserved = serve_requests.py(who, u, literacy, grid, capacity, hours, 0.5, 0.1,
                                             sat, patrol)
    assert (n_failed, n_unserved) == (4, 1)
    assert patrol.tolist() == [7.5, 0.0]  # grid 1: 0.5 - 2 * 0.5 < 0
    up = 0.5 + 0.1 * (1.0 - 0.5)
    assert sat.tolist() == [up + 0.1 * (0.0 - up), up, up]  # resident 2 asked twice: moved once
    sat2, patrol2 = np.array([0.5, 0.5, 0.5]), np.empty(2)
    assert serve_requests.compiled()(who, u, literacy, grid, capacity, hours, 0.5, 0.1, sat2,
                                     patrol2) == (4, 1)
    assert sat2.tobytes() == sat.tobytes() and patrol2.tobytes() == patrol.tobytes()
