"""Fast paths of the daily bookkeeping (visit booking, resident services) equal the general code."""

from __future__ import annotations

import numpy as np
import pytest

from reformsim.model import ReformModel
from reformsim.runs import distinct, runs
from reformsim.scenario import Scenario

ENTERPRISE_COLUMNS = ("satisfaction", "trust", "visits_12m", "last_visit_day", "last_visit_body",
                      "p_hat")


def _queue_distinct_visits(m: ReformModel, seed: int) -> None:
    """Buffer a day of visits to distinct firms, with duplicates, conflicts and busy firms."""
    rng = np.random.default_rng(seed)
    ent = m.enterprises
    n_depts = len(m.departments)
    firms = rng.choice(ent.n, 40, replace=False)
    recent = firms[:20]  # visited 5 days ago by a department: duplicates and conflicts
    ent.last_visit_day[recent] = m.day - 5.0
    ent.last_visit_body[recent] = rng.integers(0, n_depts, recent.size)
    ent.visits_12m[firms[10:30]] += 50.0  # beyond tolerance
    units = rng.integers(0, len(m.units), firms.size)
    at = m.day + rng.choice([0.4, 0.5, 0.6], firms.size)  # ties in time keep insertion order
    pairs = [ent.pairs_of(e) for e in firms.tolist()]
    m.visits.stage(firms, units, at, np.array([p.size for p in pairs], dtype=np.int16),
                   units >= n_depts, np.concatenate(pairs))


def test_booking_distinct_firms_equals_the_grouped_booking(small_siloed: Scenario,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The numpy path's single-visit booking equals its grouped booking (the compiled kernel is
    compared with the numpy path in tests/test_jit_beliefs.py)."""
    monkeypatch.setenv("REFORMSIM_JIT", "0")  # _book_single is the fallback's fast path
    sc = small_siloed.with_updates({"trust.conflict_probability": 0.5})
    fast, general = ReformModel(sc, seed=4), ReformModel(sc, seed=4)
    burden = general.casework.burden
    burden._book_single = burden._book_grouped  # type: ignore[method-assign]
    for m in (fast, general):
        m.run_for(40)
        _queue_distinct_visits(m, seed=8)
        m.casework.burden.book()
    for name in ENTERPRISE_COLUMNS:
        np.testing.assert_array_equal(getattr(fast.enterprises, name),
                                      getattr(general.enterprises, name), err_msg=name)
    assert fast.trust.inconsistent_rulings == general.trust.inconsistent_rulings
    assert fast.visits["duplicate"].any()
    for name in ("enterprise", "unit", "at", "duplicate"):
        np.testing.assert_array_equal(fast.visits[name], general.visits[name], err_msg=name)
    np.testing.assert_array_equal(np.concatenate(fast.beliefs.touched),
                                  np.concatenate(general.beliefs.touched))


def test_take_pending_sorts_by_time_and_keeps_ties_in_order(small_siloed: Scenario) -> None:
    m = ReformModel(small_siloed, seed=1)
    firms = np.array([5, 3, 9, 1])
    m.visits.stage(firms, np.zeros(4, dtype=np.int64), np.array([2.5, 2.25, 2.5, 2.25]),
                   np.ones(4, dtype=np.int16), np.zeros(4, dtype=bool), firms.copy())
    rows, pairs = m.visits.take_pending()
    assert rows["enterprise"].tolist() == [3, 1, 5, 9]
    assert sorted(pairs.tolist()) == [1, 3, 5, 9]
    rows, pairs = m.visits.take_pending()
    assert rows["enterprise"].size == 0 and rows["at"].dtype == np.float64 and pairs.size == 0


def test_resident_services_match_the_request_by_request_rule(small_integrated: Scenario) -> None:
    """Ample and scarce grid-worker time (fast path and general path) against a plain loop."""
    for share in (1.0, 0.02):
        sc = small_integrated.with_updates({"levers.grid_assist_share_max": share})
        m = ReformModel(sc, seed=3)
        m.run_for(7)
        while not m.calendar.is_working(m.day):
            m.step()
        sat = m.residents.satisfaction.copy()
        state = m.streams["services"].bit_generator.state
        m.services.step(m.day)
        rng = m.streams["services"]
        rng.bit_generator.state = state
        expected, hours = _resident_services_by_loop(m, rng, sat)
        np.testing.assert_array_equal(m.residents.satisfaction, expected)
        np.testing.assert_array_equal(m.patrol_hours, hours)


def _resident_services_by_loop(m: ReformModel, rng: np.random.Generator,
                               sat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Serve the day's requests one at a time (:mod:`reformsim.mechanisms.residents`)."""
    sv, lv = m.config.services, m.config.levers
    n_res = m.residents.n
    k = int(rng.poisson(n_res * sv.demand_per_resident_per_year / (365.0 * m.calendar.week / 7.0)))
    who = rng.integers(0, n_res, k)
    self_ok = rng.random(k) < m.residents.literacy[who]
    capacity = np.floor(m.grid_worker_hours * lv.grid_assist_share_max / sv.assist_hours)
    served = np.zeros(m.territory.n_grids, dtype=np.int64)
    ok, bad = who[self_ok].tolist(), []
    for r in who[~self_ok].tolist():
        g = m.residents.grid[r]
        if served[g] < capacity[g]:
            served[g] += 1
            ok.append(r)
        else:
            bad.append(r)
    assert bad if lv.grid_assist_share_max < 0.1 else not bad
    w = 0.1 * m.config.satisfaction.learning_weight
    sat[ok] += w * (1.0 - sat[ok])
    sat[bad] += w * (0.0 - sat[bad])
    return sat, np.maximum(m.grid_worker_hours - served * sv.assist_hours, 0.0)


def test_follow_ups_of_one_violation_due_the_same_day_count_attempts(
        small_integrated: Scenario) -> None:
    """Two unrectified cases of one violation due the same day: two follow-ups, attempts n, n+1,
    opened in deadline-list order."""
    m = ReformModel(small_integrated, seed=2)
    m.run_for(30)
    v = m.violations
    open_ids = np.flatnonzero(np.isinf(v["ended_at"]))[:2]
    twice, once = int(open_ids[0]), int(open_ids[1])
    vids = np.array([twice, once, twice])
    cids = m.open_cases(vids, np.zeros(3, np.int8), np.full(3, 30.0), np.full(3, -1))
    cases = m.cases.cols
    cases["rectified"][cids] = 0
    cases["deadline_at"][cids] = [31.5, 31.25, 31.75]
    cases["owner_unit"][cids] = [m.squads[0].index, m.departments[0].index, m.squads[0].index]
    m.sanctions.deadlines[31] = cids.tolist()
    n_before, attempts = len(m.cases), v["n_cases"][vids].copy()
    m.sanctions.step(31)
    new = np.arange(n_before, len(m.cases))
    assert cases["violation_id"][new].tolist() == vids.tolist()
    assert cases["attempt"][new].tolist() == [attempts[0], attempts[1], attempts[0] + 1]
    assert cases["detected_at"][new].tolist() == [31.5, 31.25, 31.75]
    assert cases["owner_unit"][new].tolist() == cases["owner_unit"][cids].tolist()


def test_runs_and_distinct_equal_np_unique() -> None:
    rng = np.random.default_rng(3)
    for size in (0, 1, 2, 7, 50):
        values = rng.integers(0, 12, size)
        uniq, first, counts = np.unique(values, return_index=True, return_counts=True)
        np.testing.assert_array_equal(distinct(values), uniq)
        starts, sizes = runs(np.sort(values, kind="stable"))
        np.testing.assert_array_equal(starts, np.cumsum(counts) - counts)
        np.testing.assert_array_equal(sizes, counts)
