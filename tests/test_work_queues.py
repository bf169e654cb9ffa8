"""Work queues as arrays and the compiled casework loop (issue 4, round 4).

The queues of :mod:`reformsim.work_queues` must serve entries in ``(ready, seq)`` order like the
heap and deque they replaced; the kernel's calendar and keyed draws must equal the Python ones;
and a run must give the same outputs whether casework is compiled or not.
"""

from __future__ import annotations

import heapq
import math
import random

import numpy as np
import pandas as pd
import pytest

from reformsim import jit
from reformsim.calendar import WorkCalendar
from reformsim.casework_kernels import C_SERVICE, add_work_hours
from reformsim.mechanisms.casework import Casework
from reformsim.model import ReformModel
from reformsim.streams import SLOT_SERVICE
from reformsim.table import Table
from reformsim.work_queues import READY, SEQ, WorkQueues, heap_pop

from .conftest import small

needs_numba = pytest.mark.skipif(not jit.enabled(), reason="numba not installed or disabled")


def test_case_heap_pops_in_ready_then_seq_order() -> None:
    rng = random.Random(5)
    q = WorkQueues(n_units=3, n_pairs=10)
    reference: list[list[tuple[float, int, int]]] = [[], [], []]
    seq = 0
    popped, expected = [], []
    for _ in range(600):
        u = rng.randrange(3)
        if reference[u] and rng.random() < 0.45:
            q.flush()
            popped.append(tuple(heap_pop.py(q.heap, q.heap_n, u)))
            r, s, t = heapq.heappop(reference[u])
            expected.append((r, float(s), float(t)))
            continue
        seq += 1
        ready = float(rng.choice([0.0, 1.5, 2.0, rng.random() * 5]))  # many ties
        task = rng.randrange(-5, 50)
        q.push_case(u, ready, seq, task)
        heapq.heappush(reference[u], (ready, seq, task))
    assert popped == expected
    for u in range(3):
        assert q.queued_cases(u) == sorted(reference[u])
        assert q.backlog(u) == len(reference[u])


def test_planned_visits_keep_ready_then_seq_order_when_pushed_out_of_order() -> None:
    q = WorkQueues(n_units=2, n_pairs=20)
    entries = [(3.0, 1), (3.0, 2), (1.0, 3), (5.0, 4), (3.0, 5), (0.5, 6)] + [
        (float(k % 7), 7 + k) for k in range(100)]  # more rows than the first allocation
    for ready, seq in entries:
        q.push_visit(1, ready, seq, enterprise=seq, grid=0, domain=0, n_depts=1,
                     pairs=np.array([seq % 20]))
    rows = q.queued_visits(1)
    assert [(r, int(s)) for r, s in rows[:, [READY, SEQ]].tolist()] == sorted(entries)
    assert q.backlog(0) == 0 and q.total_backlog() == len(entries)


def test_visit_pairs_that_are_not_a_run_are_kept_in_the_pool() -> None:
    q = WorkQueues(n_units=1, n_pairs=10)
    assert q.pair_range(np.array([3, 4, 5])) == (3, 6)
    p0, p1 = q.pair_range(np.array([2, 7]))
    assert p0 >= 10 and q.pairs[p0:p1].tolist() == [2, 7]


def test_extend_visits_refuses_a_day_behind_later_visits() -> None:
    q = WorkQueues(n_units=2, n_pairs=5)
    q.push_visit(0, 10.0, 1, 0, 0, 0, 1, np.array([0]))
    plans = np.array([[2, 1, 0, 0, 1, 1, 2]], dtype=np.int64)  # seq, firm, grid, ... , P0, P1
    assert not q.extend_visits(plans, np.array([0, 1]), 9.0)  # unit 0 has a visit at 10.0
    assert q.total_backlog() == 1
    assert q.extend_visits(plans, np.array([0, 0, 1]), 9.0)  # to unit 1: nothing later there
    assert q.queued_visits(1)[:, [READY, SEQ]].tolist() == [[9.0, 2.0]]


@pytest.mark.parametrize("week,hours", [(5, 8.0), (7, 24.0), (6, 10.5), (1, 1.0)])
def test_kernel_calendar_equals_work_calendar(week: int, hours: float) -> None:
    cal = WorkCalendar(week, hours)
    rng = random.Random(week)
    for _ in range(3000):
        t = rng.choice([float(rng.randrange(30)), rng.random() * 30,
                        rng.randrange(30) + cal.start + rng.random() * cal.length])
        work = rng.choice([0.0, 1e-9, rng.random() * 3, rng.random() * 40, hours])
        expected = cal.add_work_hours(t, work)
        assert add_work_hours.py(t, work, cal.start, cal.length, week) == expected


def test_case_rows_hold_the_keyed_service_uniforms(monkeypatch: pytest.MonkeyPatch) -> None:
    for flag in ("1", "0") if jit.enabled() else ("0",):
        monkeypatch.setenv("REFORMSIM_JIT", flag)
        m = ReformModel(small("n_street_siloed.toml"), seed=4)
        m.run_for(60)
        cw: Casework = m.casework
        cw._sync_cases()
        n = len(m.cases)
        assert n > 20
        rows = cw.case_rows[:n]
        normal = m.config.casework.service_time_distribution == "lognormal"
        for cid in range(0, n, max(n // 25, 1)):
            u = m.case_uniform(cid, SLOT_SERVICE)
            service = rows[cid, C_SERVICE]
            if normal:
                from scipy.special import ndtri
                assert service == float(ndtri(u))
            else:
                assert service == u


def _frames(flag: str, monkeypatch: pytest.MonkeyPatch, name: str,
            extra: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    monkeypatch.setenv("REFORMSIM_JIT", flag)
    m = ReformModel(small(name, extra), seed=11).run()
    officers = pd.DataFrame({"free": [o.free_at for o in m.case_officers],
                             "busy": [o.busy_hours for o in m.case_officers],
                             "last": [o.last_domain for o in m.case_officers]})
    return Table.to_frame(m.cases), m.visits.to_frame(), officers


@needs_numba
@pytest.mark.parametrize("name,extra", [
    ("n_street_siloed.toml", None),
    ("n_street_integrated.toml", None),
    ("n_street_integrated.toml", {"casework": {"service_time_distribution": "exponential"}}),
    ("n_street_integrated.toml", {"levers": {"whistle_summons": True},
                             "coordination": {"technical_share": 0.5,
                                              "support_skill_threshold": 0.99}}),
])
def test_compiled_casework_equals_its_python_function(monkeypatch: pytest.MonkeyPatch, name: str,
                                                      extra: dict | None) -> None:
    compiled = _frames("1", monkeypatch, name, extra)
    plain = _frames("0", monkeypatch, name, extra)
    for a, b in zip(compiled, plain, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert len(compiled[0]) > 0 and len(compiled[1]) > 0
    assert math.isfinite(compiled[2]["busy"].sum()) and compiled[2]["busy"].sum() > 0
    if extra and "coordination" in extra:  # the hand-backs to Python were exercised
        assert compiled[0]["support_requests"].sum() > 0
        assert compiled[0]["summoned"].sum() > 0


def _served_by_rule(m: ReformModel, unit, entries: list[tuple], lo: float, hi: float
                    ) -> tuple[list[tuple[int, float]], int]:
    """The queue rule written out (domain.md M11): (firm, start) of the visits served, tasks served.

    ``entries`` are ``(ready, seq, kind, x)``: kind "case" is coordination work of ``x`` hours
    (domain 0), kind "visit" a visit to clean firm ``x`` checking its first pair.
    """
    cw, cal, ent = m.casework, m.calendar, m.enterprises
    first, end = unit.officer_range
    free = [max(f, 0.0) for f in m.officer_state[first:end, 0].tolist()]
    skills = m.officer_learning[0, first:end]
    cases = sorted(e for e in entries if e[2] == "case")
    visits = sorted(e for e in entries if e[2] == "visit")
    served: list[tuple[int, float]] = []
    while True:
        t = max(min(free), lo)
        if t >= hi or not (cases or visits):
            return served, len(entries) - len(cases) - len(visits)
        if cases and (not visits or cases[0][0] <= t or cases[0][:2] < visits[0][:2]):
            ready, _, kind, x = cases.pop(0)
        else:
            ready, _, kind, x = visits.pop(0)
        start = max(ready, t)
        if start >= hi:  # back to its queue: not served
            return served, len(entries) - len(cases) - len(visits) - 1
        domain = 0 if kind == "case" else int(ent.pair_dom[ent.pair_start[x]])
        k = max((k for k in range(len(free)) if free[k] <= start),
                key=lambda k: (skills[k, domain], -k))
        if kind == "case":
            hours = x
        else:
            hours = (float(cw.travel[unit.index, ent.grid[x]]) + m.config.inspection.host_hours
                     + m.config.inspection.check_hours_per_domain)
            served.append((x, start))
        free[k] = cal.add_work_hours(start, hours)


@pytest.mark.parametrize("flag", ["1", "0"])
def test_a_unit_serves_its_queues_by_the_queue_rule(flag: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Cases before visits when ready or queued earlier; each task to the best free officer."""
    from reformsim.mechanisms.coordination import CoordinationTask

    monkeypatch.setenv("REFORMSIM_JIT", flag)
    m = ReformModel(small("n_street_siloed.toml"), seed=3)
    unit = max(m.departments, key=lambda u: len(u.officers))
    ent = m.enterprises
    ent.violation[:] = -1  # clean firms: no findings, no random draws
    rng = random.Random(flag)
    day = 7  # a Monday
    lo, hi = m.calendar.window(day)
    entries = []
    for _ in range(60):
        ready = rng.choice([lo - 1.0, lo, lo + 0.05, lo + 0.1, lo + rng.random() * (hi - lo)])
        seq = m.last_seq + 1
        if rng.random() < 0.3:
            hours = rng.choice([0.5, 1.0, 2.5])
            unit.push_case(ready, CoordinationTask(hours, 0, "support"))
            entries.append((ready, seq, "case", hours))
        else:
            firm = rng.randrange(ent.n)
            m.queues.push_visit(unit.index, ready, m.next_seq(), firm, int(ent.grid[firm]),
                                int(ent.pair_dom[ent.pair_start[firm]]), 1,
                                ent.pair_start[firm: firm + 1])
            entries.append((ready, seq, "visit", firm))
    expected, n_served = _served_by_rule(m, unit, entries, lo, hi)
    m.casework.step(day)
    frame = m.visits.to_frame()
    got = list(zip(frame["enterprise"].tolist(), frame["at"].tolist(), strict=True))
    assert sorted(got, key=lambda x: x[1]) == sorted(expected, key=lambda x: x[1])
    assert len(expected) >= 2 and n_served < 60  # some served, some left for another day
    assert m.queues.backlog(unit.index) == 60 - n_served


def test_idle_patrol_spreads_a_share_of_idle_squad_hours_over_the_area() -> None:
    from reformsim.casework_kernels import idle_patrol

    ufs = np.array([[0.0, 5.0], [0.0, 30.0], [0.0, 2.0]])  # unit 0 a department
    squad_rows = np.array([1, 2])
    hours = np.array([16.0, 24.0])  # officer-hours a day: squad 1 is over-busy
    areas, grids = np.array([0, 1]), np.array([2.0, 3.0])
    area_of_grid = np.array([0, 1, 1, 0, 1])
    for fn in (idle_patrol.py, idle_patrol.compiled()) if jit.enabled() else (idle_patrol.py,):
        out = fn(ufs, squad_rows, hours, areas, grids, 0.5, 2, area_of_grid)
        # squad 1: max(16 - 30, 0) = 0; squad 2: 0.5 * (24 - 2) / 3 per grid of area 1
        np.testing.assert_array_equal(out, [0.0, 0.5 * 22.0 / 3.0, 0.5 * 22.0 / 3.0, 0.0,
                                            0.5 * 22.0 / 3.0])
