"""Fast paths of inspection planning (step 5, M5, M14) equal the plain per-firm formulas."""

from __future__ import annotations

import numpy as np
import pytest

from reformsim.mechanisms.inspection import bernoulli_positions, dyadic
from reformsim.model import ReformModel
from reformsim.scenario import Scenario

from .conftest import assert_same_summary


def _plain_rate(m: ReformModel) -> np.ndarray:
    """Today's visit probability per firm, computed firm by firm as the model text states it."""
    spec = m.config.inspection
    colour = m.enterprises.colour
    if m.config.levers.three_colour:
        targeted = np.array([spec.rate_per_year[k] for k in ("green", "yellow", "black")])[colour]
    else:
        targeted = np.full(colour.size, spec.uniform_rate_per_year)
    rate = (1.0 - spec.random_share) * targeted + spec.random_share * targeted.mean()
    return rate / (365.0 * m.calendar.week / 7.0)


def _recolour(m: ReformModel, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ent = m.enterprises
    ent.colour[:] = rng.choice(3, ent.n, p=[0.7, 0.2, 0.1]).astype(ent.colour.dtype)


RATES = [
    {"green": 0.5, "yellow": 1.5, "black": 6.0},  # dyadic: the mean is counted by colour
    {"green": 0.3, "yellow": 1.7, "black": 5.1},  # not dyadic: the pairwise sum over firms
    {"green": 0.0, "yellow": 0.0, "black": 0.0},  # a zero sum: the pairwise sum
]


@pytest.mark.parametrize("rates", RATES)
def test_daily_rate_equals_the_firm_by_firm_rate(small_integrated: Scenario, rates) -> None:
    m = ReformModel(small_integrated.with_updates({"inspection.rate_per_year": rates}), seed=2)
    ip = m.inspection_planning
    for seed in (1, 2, 2, 3):  # a repeated colouring reuses the cached table
        _recolour(m, seed)
        np.testing.assert_array_equal(ip.daily_rate(), _plain_rate(m))
        np.testing.assert_array_equal(ip.yearly_rate() / (365.0 * m.calendar.week / 7.0),
                                      ip.daily_rate())
    m.enterprises.colour[:] = 0  # every firm green
    np.testing.assert_array_equal(ip.daily_rate(), _plain_rate(m))


@pytest.mark.parametrize("three_colour", [True, False])
def test_draw_by_colour_table_equals_the_per_firm_thinning(small_integrated: Scenario,
                                                           three_colour: bool) -> None:
    """The colour-table lookup of the candidates equals comparing with each firm's own rate."""
    rates = {"green": 0.5, "yellow": 1.5, "black": 60.0}  # more firms below the top rate
    sc = small_integrated.with_updates({"levers.three_colour": three_colour,
                                        "inspection.rate_per_year": rates})
    m = ReformModel(sc, seed=3)
    ip, ent = m.inspection_planning, m.enterprises
    for seed in range(4):
        _recolour(m, seed)
        for firm_of in (None, ent.pair_ent):
            fast = ip.draw_chosen(np.random.default_rng(seed), firm_of)
            rng = np.random.default_rng(seed)
            rate = _plain_rate(m) if firm_of is None else _plain_rate(m)[firm_of]
            cand = bernoulli_positions(rng, rate.size, ip.bound)
            u = rng.random(cand.size)
            np.testing.assert_array_equal(fast, cand[u < rate[cand] / ip.bound])
            assert fast.size > 0


def test_dyadic_rates_and_their_exactness_bound() -> None:
    assert dyadic([0.5, 1.5, 6.0], 8000) == ([1, 3, 12], 2)
    assert dyadic([0.5, 1.5, 6.0], 2**53 // 12 + 1) is None  # a partial sum could round
    assert dyadic([0.1, 1.0, 2.0], 8000) is None  # 0.1 needs 2**55 as denominator
    assert dyadic([float("nan"), 1.0, 2.0], 10) is None


def _record_plans(m: ReformModel) -> list[tuple]:
    """Record every planned visit as the numpy paths queue it: unit, time and the task's fields."""
    planned: list[tuple] = []
    for unit in m.units:
        def record(at, t, push=unit.push_inspection, index=unit.index):
            planned.append((index, at, t.enterprise, t.grid, t.pairs.tolist(), t.planned_at,
                            t.n_depts, t.domain))
            push(at, t)
        unit.push_inspection = record  # type: ignore[method-assign]
    return planned


@pytest.mark.parametrize("cap", [0, 1])
def test_one_pair_visits_equal_the_grouped_department_plans(small_siloed: Scenario, cap: int,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """Departments owning one domain each: every hit pair is its own visit (no grouping)."""
    # the numpy paths (their visits pass push_inspection one by one): the compiled path is
    # compared with them in tests/test_jit_inspection.py
    monkeypatch.setenv("REFORMSIM_JIT", "0")
    sc = small_siloed.with_updates({"levers.inspection_cap_per_year": cap})
    fast, general = ReformModel(sc, seed=5), ReformModel(sc, seed=5)
    assert fast.inspection_planning._pair_rows is not None
    general.inspection_planning._pair_rows = None  # type: ignore[misc]
    plans = [_record_plans(m) for m in (fast, general)]
    for m in (fast, general):
        m.run_for(60)
    assert plans[0] == plans[1]
    assert len(plans[0]) > 100
    np.testing.assert_array_equal(fast.enterprises.planned_this_year,
                                  general.enterprises.planned_this_year)
    assert fast.inspection_planning.capped == general.inspection_planning.capped
    assert_same_summary(fast.recorder.summary(), general.recorder.summary())


@pytest.mark.parametrize("flag", ["1", "0"])
def test_joint_visits_check_each_firms_pairs(small_integrated: Scenario, flag: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from reformsim.work_queues import DOM, ENT, GRID, NDEPTS, P0, P1

    monkeypatch.setenv("REFORMSIM_JIT", flag)
    m = ReformModel(small_integrated, seed=5)
    for day in range(5):  # planning only: the visits stay queued
        m.inspection_planning.step(day)
    ent = m.enterprises
    rows = np.concatenate([m.queues.queued_visits(u.index) for u in m.units]).astype(np.int64)
    assert len(rows) > 10
    for e, grid, domain, n_depts, p0, p1 in rows[:, [ENT, GRID, DOM, NDEPTS, P0, P1]].tolist():
        pairs = m.queues.pairs[p0:p1].tolist()
        assert pairs == list(range(ent.pair_start[e], ent.pair_start[e + 1]))
        assert grid == ent.grid[e] and domain == ent.pair_dom[pairs[0]]
        assert n_depts == m.depts_of_firm[e]
