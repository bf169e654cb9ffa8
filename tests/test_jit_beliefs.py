"""The compiled kernels of steps 6-8 (visit booking, clean checks, sanctions, beliefs) equal the
numpy/Python fallback bit for bit (reformsim.belief_kernels; issue 4)."""

from __future__ import annotations

import numpy as np
import pytest

from reformsim import belief_kernels as bk
from reformsim import jit
from reformsim.model import ReformModel
from reformsim.runs import distinct
from tests.conftest import small

pytestmark = pytest.mark.skipif(not jit._numba_installed(), reason="numba not installed")

#: columns of the firms and pairs compared after a run
ENTERPRISE_COLUMNS = ("p_hat", "visits_12m", "satisfaction", "trust", "last_visit_day",
                      "last_visit_body", "clean_checks", "escalation", "colour", "offences",
                      "advised", "violation")


def _run(scenario, jit_on: bool, monkeypatch, seed: int = 3) -> ReformModel:
    monkeypatch.setenv("REFORMSIM_JIT", "1" if jit_on else "0")
    model = ReformModel(scenario, seed=seed)
    assert (model.beliefs._kernel is not None) is jit_on
    return model.run()


def _assert_same_state(a: ReformModel, b: ReformModel) -> None:
    for name in ENTERPRISE_COLUMNS:
        x, y = getattr(a.enterprises, name), getattr(b.enterprises, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    assert a.enterprises.colour_changes == b.enterprises.colour_changes
    assert a.trust.inconsistent_rulings == b.trust.inconsistent_rulings
    assert len(a.cases) == len(b.cases)
    for name, col in a.cases.cols.items():
        other = b.cases.cols[name]
        assert np.array_equal(col[: len(a.cases)], other[: len(b.cases)],
                              equal_nan=col.dtype.kind == "f"), name
    for name in ("enterprise", "unit", "at", "duplicate"):
        assert np.array_equal(a.visits[name], b.visits[name]), name
    sa, sb = a.recorder.summary(), b.recorder.summary()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k] == sb[k] or (np.isnan(sa[k]) and np.isnan(sb[k])), k


@pytest.mark.parametrize("name, extra", [
    ("n_street_siloed.toml", None),
    ("n_street_integrated.toml", None),
    ("integrated_power_review.toml", None),
    # heavy visiting: firms visited twice a day, visits beyond tolerance, conflicting orders
    ("n_street_siloed.toml", {"population": {"n_enterprises": 300},
                              "satisfaction": {"visit_tolerance_per_year": 1.0},
                              "trust": {"conflict_probability": 0.9}}),
    # no first-violation leniency, no neighbour deterrence
    ("n_street_integrated.toml", {"levers": {"first_violation_leniency": False},
                                  "compliance": {"risk_neighbour_weight": 0.0}}),
])
def test_kernels_equal_fallback_on_runs(name, extra, monkeypatch):
    sc = small(name, extra)
    _assert_same_state(_run(sc, True, monkeypatch), _run(sc, False, monkeypatch))


def _beliefs_inputs(sorted_pairs: bool, rng: np.random.Generator):
    n_grids, n_firms = 7, 40
    firm_grid = rng.integers(0, n_grids - 1, n_firms)  # the last grid has no firms
    pairs_per_firm = rng.integers(1, 4, n_firms)
    pair_grid = np.repeat(firm_grid, pairs_per_firm)
    if sorted_pairs:
        pair_grid = np.sort(pair_grid)
    per_grid = np.bincount(pair_grid, minlength=n_grids)
    bounds = np.concatenate([[0], np.cumsum(per_grid)]).astype(np.int64)
    order = (np.empty(0, np.int64) if sorted_pairs
             else np.argsort(pair_grid, kind="stable").astype(np.int64))
    firms_per_grid = np.bincount(firm_grid, minlength=n_grids).astype(float)
    den = np.where(firms_per_grid > 0, firms_per_grid, 1.0)
    return pair_grid, bounds, order, firm_grid, den


@pytest.mark.parametrize("sorted_pairs", [True, False])
@pytest.mark.parametrize("weight", [0.0, 0.3])
@pytest.mark.parametrize("n_touched", [0, 1, 12])
def test_beliefs_day_kernel(sorted_pairs, weight, n_touched):
    """The kernel equals the documented numpy updates, compiled and plain."""
    rng = np.random.default_rng(5)
    pair_grid, bounds, order, firm_grid, den = _beliefs_inputs(sorted_pairs, rng)
    p0 = rng.random(pair_grid.size)
    v0, s0 = rng.random(firm_grid.size) * 5, rng.random(firm_grid.size)
    firms = rng.choice(firm_grid.size, n_touched)  # repeats allowed
    lam, prior, d, sat0 = 0.002, 0.1, np.exp(-1.0 / 365.0), 0.6
    consts = np.array([1.0 - lam, lam * prior, weight, d, sat0 * (1.0 - d)])
    # the fallback's operations
    p = p0 * (1.0 - lam)
    p += lam * prior
    if n_touched and weight > 0:
        hit = np.bincount(firm_grid[np.unique(firms)], minlength=den.size)
        bf = weight * (hit / den)
        p += bf[pair_grid] * (1.0 - p)
    v = v0 * d
    s = s0 * d
    s += sat0 * (1.0 - d)
    for fn in (bk.beliefs_day.py, bk.beliefs_day.compiled()):
        pk, vk, sk = p0.copy(), v0.copy(), s0.copy()
        touched, mask = np.zeros(1 + firm_grid.size, np.int64), np.zeros(firm_grid.size, bool)
        touch = bk.touch_firms.py if fn is bk.beliefs_day.py else bk.touch_firms.compiled()
        touch(touched, mask, firms[: n_touched // 2])
        touch(touched, mask, firms[n_touched // 2:])
        assert touched[0] == np.unique(firms).size and mask.sum() == touched[0]
        work = np.full(den.size, 99, np.int64)
        n = fn(pk, bounds, order, firm_grid, touched, mask, den, work, vk, sk, consts)
        assert n == np.unique(firms).size
        assert not mask.any() and touched[0] == 0
        assert np.array_equal(pk, p) and np.array_equal(vk, v) and np.array_equal(sk, s)


def _queue_busy_visits(m: ReformModel, seed: int) -> None:
    """Buffer a day of visits with firms visited up to four times: duplicates, conflicts,
    visits beyond tolerance, pairs checked several times (the grouped booking)."""
    rng = np.random.default_rng(seed)
    ent = m.enterprises
    n_depts = len(m.departments)
    firms = rng.choice(ent.n, 30, replace=False)
    ent.last_visit_day[firms[:15]] = m.day - 5.0
    ent.last_visit_body[firms[:15]] = rng.integers(0, n_depts, 15)
    ent.visits_12m[firms[10:25]] += 50.0
    visited = rng.choice(firms, 60)
    units = rng.integers(0, len(m.units), visited.size)
    at = m.day + rng.choice([0.4, 0.5, 0.6], visited.size)
    pairs = [ent.pair_start[e: e + 1] if rng.random() < 0.5 else ent.pairs_of(e)
             for e in visited.tolist()]
    m.visits.stage(visited, units, at, np.array([p.size for p in pairs], dtype=np.int16),
                   units >= n_depts, np.concatenate(pairs).astype(np.int64))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("busy", [True, False])
def test_book_kernel_equals_fallback(small_siloed, seed, busy, monkeypatch):
    """VisitBurden.book: the kernel equals the grouped and single fallbacks."""
    from tests.test_daily_fast_paths import _queue_distinct_visits

    sc = small_siloed.with_updates({"trust.conflict_probability": 0.5})
    models = []
    for jit_on in (True, False):
        monkeypatch.setenv("REFORMSIM_JIT", "1" if jit_on else "0")
        m = ReformModel(sc, seed=4)
        m.run_for(40)
        (_queue_busy_visits if busy else _queue_distinct_visits)(m, seed)
        m.casework.burden.book()
        models.append(m)
    fast, ref = models
    for name in ENTERPRISE_COLUMNS:
        assert np.array_equal(getattr(fast.enterprises, name), getattr(ref.enterprises, name)), name
    assert fast.trust.inconsistent_rulings == ref.trust.inconsistent_rulings
    assert fast.visits["duplicate"].any()
    for name in ("enterprise", "unit", "at", "duplicate"):
        assert np.array_equal(fast.visits[name], ref.visits[name]), name
    assert np.array_equal(np.sort(fast.beliefs.touched[0]),
                          distinct(np.concatenate(ref.beliefs.touched)))
    assert not fast.casework.burden._pair_count.any()


def test_pow_in_kernels_is_numpy_power():
    """``math.pow`` in a kernel (integer exponents >= 2) is the C library's ``pow``, as numpy's."""
    import math

    @jit.kernel
    def powers(x, k, out):
        for i in range(x.size):
            out[i] = math.pow(x[i], k[i] + 0.0)

    rng = np.random.default_rng(0)
    x = 1.0 - rng.random(20000) * 0.3
    k = rng.integers(2, 12, x.size)
    out = np.empty_like(x)
    powers.compiled()(x, k, out)
    assert np.array_equal(out, x ** k)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_scalar_binomial_draws_equal_the_array_draw(p):
    """Trust.book_rulings draws per firm with conflicts: the array draw's numbers and state."""
    counts = np.random.default_rng(1).integers(0, 4, 500) * (np.arange(500) % 3 == 0)
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    whole = a.binomial(counts, p)
    each = np.zeros_like(whole)
    for i in np.flatnonzero(counts).tolist():
        each[i] = b.binomial(int(counts[i]), p)
    assert np.array_equal(whole, each)
    assert a.random() == b.random()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("need", [1, 2, 3])
def test_clean_checks_kernel_equals_fallback(small_siloed, seed, need, monkeypatch):
    """Sanctions.clean_checks: the kernel's states and colour moves (in order) equal the loop's."""
    sc = small_siloed.with_updates({"sanctions.clean_checks_to_upgrade": need})
    models = []
    for jit_on in (True, False):
        monkeypatch.setenv("REFORMSIM_JIT", "1" if jit_on else "0")
        models.append(ReformModel(sc, seed=1))
    rng = np.random.default_rng(seed)
    n = models[0].enterprises.n
    state = {"clean_checks": rng.integers(0, 3, n), "escalation": rng.integers(0, 3, n),
             "colour": rng.integers(0, 3, n)}
    for m in models:
        for name, values in state.items():
            getattr(m.enterprises, name)[:] = values
    fast, ref = models
    for size in (80, 0, 1, 300):  # firms checked several times a day; the buffer grows
        firms = rng.integers(0, min(n, 60), size)
        for m in models:
            m.sanctions.clean_checks(firms.tolist())
        for name in state:
            assert np.array_equal(getattr(fast.enterprises, name),
                                  getattr(ref.enterprises, name)), name
    assert fast.enterprises.colour_changes == ref.enterprises.colour_changes
    assert fast.enterprises.colour_changes
    assert all(type(o) is int and type(c) is int for o, c in fast.enterprises.colour_changes)
