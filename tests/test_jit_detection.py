"""The compiled kernels of detection (step 3, M13) and routing (step 4, M9) equal the fallback."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reformsim import detection_kernels as dk
from reformsim import jit
from reformsim.model import ReformModel
from reformsim.scenario import Scenario

from .conftest import assert_same_summary, small

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba not installed or JIT disabled")

#: referral-heavy variants: misrouting, ambiguous matters bouncing, orphans, whistle-summons
ROUTING_HEAVY = {"routing": {"accept_owner": 0.6, "accept_ambiguous": 0.3,
                             "misroute_probability": 0.5, "max_referrals": 2}}


def _run(sc: Scenario, jit_on: bool, monkeypatch: pytest.MonkeyPatch, days: int = 120
         ) -> ReformModel:
    monkeypatch.setenv("REFORMSIM_JIT", "1" if jit_on else "0")
    m = ReformModel(sc, seed=11)
    assert (m.detection._detect_kernel is not None) == jit_on
    assert (m.routing._kernel is not None) == jit_on
    m.run_for(days)
    return m


@pytest.mark.parametrize("name, extra", [
    ("n_street_siloed.toml", None),
    ("n_street_integrated.toml", None),
    ("n_street_siloed.toml", ROUTING_HEAVY),
    ("n_street_integrated.toml", {**ROUTING_HEAVY, "levers": {"unified_dispatch": False,
                                                         "ambiguous_default_to_team": False}}),
])
def test_runs_with_kernels_equal_the_fallback(name: str, extra: dict | None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    sc = small(name, extra)
    fast, slow = _run(sc, True, monkeypatch), _run(sc, False, monkeypatch)
    for log in ("cases", "violations"):
        a, b = getattr(fast, log), getattr(slow, log)
        assert a.n == b.n
        for name in a.cols:
            assert a[name].dtype == b[name].dtype
            np.testing.assert_array_equal(a[name], b[name], f"{log}.{name}")
    np.testing.assert_array_equal(fast.residents.satisfaction, slow.residents.satisfaction)
    np.testing.assert_array_equal(fast.detection.patrol_intensity,
                                  slow.detection.patrol_intensity)
    assert fast.detection.watch == slow.detection.watch
    assert fast.cases.n > 50
    for unit in fast.units:
        assert fast.queues.queued_cases(unit.index) == slow.queues.queued_cases(unit.index)
    assert_same_summary(fast.recorder.summary(), slow.recorder.summary())


@pytest.mark.parametrize("misroute", [False, True])
def test_route_kernel_equals_refer(misroute: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """route_cases in refer mode gives Routing.refer's department, time, hops and orphans."""
    sc = small("n_street_siloed.toml", ROUTING_HEAVY)
    monkeypatch.setenv("REFORMSIM_JIT", "1")
    fast = ReformModel(sc, seed=4)
    fast.run_for(80)
    r = fast.routing
    cids = np.arange(fast.cases.n, dtype=np.int64)
    t0 = fast.cases["detected_at"] + 0.25
    _, kinds, units, transfers, firsts, t0s, readys = r._run_kernel(
        cids, t0, r._refer_params[misroute])
    assert t0s == t0.tolist()
    monkeypatch.setenv("REFORMSIM_JIT", "0")
    slow = ReformModel(sc, seed=4)
    slow.run_for(80)
    got: list[tuple] = []
    slow.enqueue_case = lambda cid, unit, ready, hops, first_unit: got.append(  # type: ignore
        (1, unit.index, hops, first_unit.index, ready))
    slow.residents_feedback = lambda cid, on_scene: None  # type: ignore[method-assign]
    cols = slow.cases.cols
    for cid, t in zip(cids.tolist(), t0.tolist(), strict=True):
        slow.routing.refer(cid, t, misroute)
        if len(got) <= cid:  # orphaned
            got.append((2, -1, int(cols["transfers"][cid]), int(cols["first_unit"][cid]),
                        float(cols["orphaned_at"][cid])))
    assert {k for k, *_ in got} == {1, 2}
    for k, (kind, unit, hops, first, ready) in enumerate(got):
        assert (kinds[k], hops, firsts[k], readys[k]) == (kind, hops, first, ready)
        assert transfers[k] == hops
        if kind == 1:
            assert units[k] == unit


def test_detect_day_edge_cases() -> None:
    """Skips found and ended violations; self-correction on a tie; a stable sort; complainants."""
    inf = math.inf
    #                 0: found  1: ended  2: self-ends 3: tie a  4: tie b  5: earliest  6: 2 empty
    v_case = np.array([7, -1, -1, -1, -1, -1, -1], dtype=np.int64)
    v_ended = np.array([inf, 3.0, inf, inf, inf, inf, inf])
    v_self_end = np.array([inf, inf, 5.5, inf, inf, inf, inf])
    v_detect = np.array([5.2, 5.2, 5.5, 5.7, 5.7, 5.1, 5.9])
    v_channel = np.array([0, 0, 0, 0, 1, 0, 0], dtype=np.int8)
    v_pair = np.array([0, 1, 2, 3, 4, 5, 6], dtype=np.int64)
    pair_grid = np.array([0, 0, 0, 1, 1, 0, 2], dtype=np.int64)
    resident_start = np.array([0, 10, 30, 30], dtype=np.int64)  # grid 2 has nobody
    complainant_u = np.array([0.5, 0.5, 0.5, 0.99, 0.5, 0.05, 0.5])
    n_v = v_case.size
    v_n_cases = np.zeros(n_v, dtype=np.int16)
    v_n_cases[4] = 2
    v_enterprise = np.array([0, 0, 1, 1, 2, 2, 3], dtype=np.int64)
    v_domain = np.array([0, 1, 0, 1, 0, 1, 0], dtype=np.int64)
    v_matter = np.array([0, 1, 0, 1, 2, 1, 0], dtype=np.int64)
    v_onset = np.linspace(1.0, 2.0, n_v)
    ent_grid = np.array([0, 1, 1, 2], dtype=np.int64)
    area_of_grid = np.array([0, 0, 1], dtype=np.int64)
    delegated = np.array([True, False, True])
    ambiguous = np.array([False, True, False])
    negative = np.array([False, False, True])
    w = np.array([4, 0, 1, 2, 3, 5, 6], dtype=np.int64)
    for fn in (dk.detect_day.py, dk.detect_day.compiled()):
        cases = {name: np.full(10, -1, dtype=np.int64) for name in (
            "violation_id", "enterprise", "grid", "area", "domain", "matter", "complainant")}
        cases |= {"source": np.full(10, -1, np.int8), "attempt": np.zeros(10, np.int16),
                  **{f: np.zeros(10, bool) for f in ("delegated", "ambiguous", "negative")},
                  "onset_at": np.full(10, np.nan), "detected_at": np.full(10, np.nan)}
        case = v_case.copy()
        n_cases = v_n_cases.copy()
        patrol = np.array([8.0, 0.0, 4.0])
        factor = np.zeros((3, 3))
        out_i, out_t = np.zeros((2, 8), np.int64), np.zeros((2, 8))
        with np.errstate(over="ignore"):
            code = fn(w, np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, 0.0]), 3, out_i, out_t,
                      patrol, factor[:, 1], case, v_ended, v_self_end, v_detect, v_channel,
                      v_pair, pair_grid, resident_start, complainant_u, n_cases, v_enterprise,
                      v_domain, v_matter, v_onset, ent_grid, area_of_grid, delegated, ambiguous,
                      negative, cases["violation_id"], cases["enterprise"], cases["grid"],
                      cases["area"], cases["domain"], cases["matter"], cases["source"],
                      cases["delegated"], cases["ambiguous"], cases["negative"],
                      cases["onset_at"], cases["detected_at"], cases["complainant"],
                      cases["attempt"])
        n_end, n_det = divmod(code, w.size + 1)
        expect_patrol = np.array([8.0, 0.0, 4.0])
        expect_patrol += (np.array([1.0, 2.0, 3.0]) + np.array([0.5, 0.0, 0.0])
                          - expect_patrol) / 14.0
        np.testing.assert_array_equal(patrol, expect_patrol)
        np.testing.assert_array_equal(factor[:, 1], expect_patrol / 8.0)
        assert (n_end, out_i[0, 0], out_t[0, 0]) == (1, 2, 5.5)
        assert n_det == 4
        assert out_i[1, :4].tolist() == [5, 4, 3, 6]  # 4 before 3: stable in watch order
        assert out_t[1, :4].tolist() == [5.1, 5.7, 5.7, 5.9]
        rows = slice(3, 7)
        assert cases["violation_id"][rows].tolist() == [5, 4, 3, 6]
        assert case[[5, 4, 3, 6]].tolist() == [3, 4, 5, 6]
        assert cases["source"][rows].tolist() == [0, 1, 0, 0]
        # a complaint: lo + floor(u * residents); none for patrol or in an empty grid
        assert cases["complainant"][rows].tolist() == [0 + math.floor(0.05 * 10), -1,
                                                       10 + math.floor(0.99 * 20), -1]
        assert cases["attempt"][rows].tolist() == [0, 2, 0, 0]
        assert n_cases[[5, 4, 3, 6]].tolist() == [1, 3, 1, 1]
        assert cases["grid"][rows].tolist() == [1, 1, 1, 2]
        assert cases["area"][rows].tolist() == [0, 0, 0, 1]
        assert cases["delegated"][rows].tolist() == [False, True, False, True]
        assert cases["negative"][rows].tolist() == [False, True, False, False]
        assert cases["onset_at"][rows].tolist() == v_onset[[5, 4, 3, 6]].tolist()
        assert cases["detected_at"][rows].tolist() == [5.1, 5.7, 5.7, 5.9]
        assert cases["violation_id"][:3].tolist() == [-1, -1, -1]  # rows before the start


def test_detect_day_with_nothing_watched() -> None:
    """An empty watch list still updates the patrol intensity and opens nothing."""
    fn = dk.detect_day.compiled()
    patrol, factor = np.array([1.0]), np.zeros(1)
    e_i, e_f = np.zeros(0, np.int64), np.zeros(0)
    code = fn(np.zeros(0, np.int64), np.array([15.0]), np.array([0.0]), 0,
              np.zeros((2, 1), np.int64), np.zeros((2, 1)), patrol, factor, e_i,
              e_f, e_f, e_f, np.zeros(0, np.int8), *([e_i] * 3), e_f, np.zeros(0, np.int16),
              *([e_i] * 3), e_f, e_i, e_i, *([np.zeros(0, bool)] * 3), *([e_i] * 6),
              np.zeros(0, np.int8), *([np.zeros(0, bool)] * 3), e_f, e_f, e_i,
              np.zeros(0, np.int16))
    assert code == 0
    assert patrol[0] == 1.0 + (15.0 - 1.0) / 14.0 and factor[0] == patrol[0] / 8.0
