"""Invariants that must hold on every run: no lost cases, shares in [0, 1], no negative times."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from reformsim.caselog import CLOSED, OPEN, ORPHANED
from reformsim.model import ReformModel
from reformsim.population import ALLOWED_COLOUR_EDGES

from .conftest import small

VARIANTS = {
    "siloed": ("n_street_siloed.toml", {}),
    "integrated": ("n_street_integrated.toml", {}),
    "integrated_no_dispatch": ("n_street_integrated.toml", {"levers": {"unified_dispatch": False}}),
    "siloed_heavy_load": ("n_street_siloed.toml", {"inspection": {"uniform_rate_per_year": 4.0}}),
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def finished(request) -> ReformModel:
    name, extra = VARIANTS[request.param]
    m = ReformModel(small(name, extra), seed=5)
    return m.run()


def test_every_case_closed_open_or_orphaned(finished: ReformModel) -> None:
    c = finished.cases
    status = c["status"]
    assert set(np.unique(status)) <= {OPEN, CLOSED, ORPHANED}
    assert (status == OPEN).sum() + (status == CLOSED).sum() + (status == ORPHANED).sum() == len(c)
    # every detected violation points at a case that points back at it
    v = finished.violations
    has_case = v["case"] >= 0
    assert (c["violation_id"][v["case"][has_case]] == np.flatnonzero(has_case)).all()
    # closed cases have an officer and a closure time; orphans have neither
    closed, orphan = status == CLOSED, status == ORPHANED
    assert (c["officer"][closed] >= 0).all() and np.isfinite(c["closed_at"][closed]).all()
    assert (c["officer"][orphan] < 0).all() and np.isnan(c["closed_at"][orphan]).all()
    assert np.isfinite(c["orphaned_at"][orphan]).all()
    # open cases are routed or waiting; none is routed to nowhere
    routed = c["owner_unit"] >= 0
    assert (routed | orphan).all()


def test_case_times_are_ordered(finished: ReformModel) -> None:
    c = finished.cases
    closed = c["status"] == CLOSED
    assert (c["detected_at"] >= c["onset_at"]).all()
    assert (c["ready_at"][closed] >= c["detected_at"][closed] - 1e-9).all()
    assert (c["started_at"][closed] >= c["ready_at"][closed] - 1e-9).all()
    assert (c["on_scene_at"][closed] >= c["started_at"][closed]).all()
    assert (c["closed_at"][closed] >= c["on_scene_at"][closed]).all()
    assert (c["travel_hours"][closed] >= 0).all() and (c["service_hours"][closed] > 0).all()
    assert (c["transfers"] >= 0).all()


def test_no_negative_queues_or_hours(finished: ReformModel) -> None:
    ts = finished.recorder.timeseries()
    assert (ts["backlog"] >= 0).all()
    assert (ts["officer_busy_hours"] >= -1e-9).all()
    assert (ts["violations_open"] >= 0).all()
    for o in finished.case_officers:
        assert o.busy_hours >= 0 and (o.experience >= 0).all()
        assert ((o.skills >= 0) & (o.skills <= 1)).all()


def test_shares_in_unit_interval(finished: ReformModel) -> None:
    s = finished.recorder.summary()
    for key, value in s.items():
        if key.endswith(("_share", "_rate", "satisfaction", "utilization")) or key.startswith("colour_share"):
            assert value != value or 0.0 <= value <= 1.0, (key, value)  # NaN allowed if undefined
    assert abs(s["colour_share_green"] + s["colour_share_yellow"] + s["colour_share_black"] - 1) < 1e-9


def test_colour_transitions_follow_allowed_edges(finished: ReformModel) -> None:
    changes = finished.enterprises.colour_changes
    assert changes, "expected some colour changes in a run with inspections and sanctions"
    assert set(changes) <= ALLOWED_COLOUR_EDGES
    assert (2, 0) not in set(changes)  # black never jumps straight to green


def test_violation_state_consistent(finished: ReformModel) -> None:
    ent, v = finished.enterprises, finished.violations
    open_pairs = np.flatnonzero(ent.violation >= 0)
    ids = ent.violation[open_pairs]
    assert (v["pair"][ids] == open_pairs).all()
    ended = np.isfinite(v["ended_at"])
    assert (v["ended_at"][ended] >= v["onset_at"][ended]).all()


def test_summary_has_every_contract_kpi(small_integrated) -> None:
    res = reformsim.run(small_integrated, seed=2)
    assert set(reformsim.CONTRACT_KPIS) <= set(res.summary)
    assert len(reformsim.CONTRACT_KPIS) == 26


RETAINED = {"retained_officers": {d: 1 for d in (
    "urban_management", "market_supervision", "planning_natural_resources", "emergency_management",
    "culture_tourism", "transport", "health", "agriculture_rural", "ecology_environment")}}


@pytest.mark.parametrize("overrides", [
    {"population": {"n_enterprises": 0, "n_residents": 0}},
    {"territory": {"n_grids": 1, "n_areas": 1}, "population": {"n_enterprises": 30, "n_residents": 50},
     "staffing": {"street_staff": 3, "grid_workers": 1},
     "levers": {"delegated_matters": 100, "joint_inspection": True, "three_colour": True}},
])
def test_degenerate_sizes_run(overrides) -> None:
    from reformsim.scenario_files import deep_merge, scenario_from_dict

    data = deep_merge({"run": {"days": 30, "warmup_days": 2}, "staffing": RETAINED}, overrides)
    res = reformsim.run(scenario_from_dict(data), seed=1)
    assert res.summary["violations_true"] >= res.summary["cases_recorded"] >= 0
    assert len(res.timeseries) == 30
