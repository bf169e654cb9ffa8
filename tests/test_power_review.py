"""The periodic power-list review (权责清单定期评估, M15): direction (SF-12) and invariants."""

from __future__ import annotations

import numpy as np

import reformsim
from reformsim.caselog import CLOSED
from reformsim.model import ReformModel

from .conftest import assert_same_summary, small

PERIOD = 90
#: reduced integrated N Street with a yearly-style review after 90 of its 150 days
REVIEW = {"levers": {"power_review_period_days": PERIOD}}
#: many ambiguous matters that departments rarely accept: orphans (三不管) to assign
ORPHANS = {"catalog": {"ambiguous_share": 0.4}, "routing": {"accept_ambiguous": 0.1},
           "power_review": {"orphan_threshold": 1}}


def _run_tracking(sc, seed: int = 1) -> tuple[ReformModel, list[tuple[np.ndarray, np.ndarray]]]:
    """Run day by day; return the model and (taken back, assigned) masks of each review."""
    m = ReformModel(sc, seed=seed)
    moves = []
    while m.running and m.day < sc.run.days:
        before = m.team_authority.copy()
        m.step()
        if m.power_review.due(m.day - 1):
            moves.append((before & ~m.team_authority, ~before & m.team_authority))
    return m, moves


def test_first_review_takes_back_unused_matters() -> None:
    """Over-delegation gives unused matters, then partial recentralisation (SF-12)."""
    sc = small("n_street_integrated.toml", REVIEW)
    m, moves = _run_tracking(sc)
    ts = m.recorder.timeseries()
    start = int(ts["matters_delegated"].iloc[0])
    first = PERIOD - 1
    assert (ts["matters_delegated"].iloc[:first] == start).all()
    assert ts["matters_delegated"].iloc[first] < 0.5 * start
    day, returned, assigned = m.power_review.history[0]
    assert day == first and returned > 0
    back = moves[0][0]
    assert back.sum() == returned
    assert m.catalog.negative[back].all() and not m.catalog.delegated[back].any()
    # taken-back matters had fewer team-handled cases in the period than min_uses (1)
    c = m.cases
    team = (c["status"] == CLOSED) & (c["owner_unit"] >= len(m.departments)) & (
        c["closed_at"] < PERIOD)
    used = np.bincount(c["matter"][team], minlength=m.catalog.n_matters)
    assert (used[back] == 0).all()
    # and only matters whose department has officers went back
    staffed = np.array([bool(d.officers) for d in m.departments])
    assert staffed[m.owner_dept[m.catalog.domain[back]]].all()
    s = m.recorder.summary()
    assert s["matters_delegated_end"] == int(m.team_authority.sum()) < start
    assert s["power_review_moves"] == sum(r + a for _, r, a in m.power_review.history)


def test_taken_back_matters_are_never_assigned_again() -> None:
    """Siloed start: reviews assign orphaned matters, later take unused ones back, for good."""
    sc = small("n_street_siloed.toml", ORPHANS | {"levers": {"power_review_period_days": 30}})
    m, moves = _run_tracking(sc)
    assert len(moves) == 5
    assert sum(int(a.sum()) for _, a in moves) > 0, "expected some orphaned matters assigned"
    assert sum(int(b.sum()) for b, _ in moves) > 0, "expected some matters taken back"
    taken_back = np.zeros(m.catalog.n_matters, dtype=bool)
    for back, assigned in moves:
        assert not (assigned & taken_back).any()
        assert not (back & assigned).any()
        taken_back |= back
    assert not (m.team_authority & taken_back).any()
    assert m.catalog.negative[taken_back].all()


def test_rules_that_cannot_fire_move_nothing() -> None:
    quiet = {"levers": {"power_review_period_days": 30},
             "power_review": {"min_uses": 0, "max_error_rate": 1.0, "orphan_threshold": 10**9}}
    on = reformsim.run(small("n_street_integrated.toml", quiet), seed=2).summary
    off = reformsim.run(small("n_street_integrated.toml"), seed=2).summary
    assert on["power_review_moves"] == 0
    assert_same_summary(on, off)


def test_often_orphaned_matters_go_to_a_staffed_team() -> None:
    """Siloed: no team powers at first; street staff in every squad; 三不管 matters are assigned."""
    sc = small("n_street_siloed.toml", ORPHANS | {"levers": {"power_review_period_days": 60}})
    m, moves = _run_tracking(sc)
    assigned = moves[0][1]
    assert assigned.sum() > 0
    assert m.power_review.history[0][2] == int(assigned.sum())
    # assigned matters are delegated, unless a later review took them back (负面清单)
    kept = assigned & m.team_authority
    assert m.catalog.delegated[kept].all() and not m.catalog.negative[kept].any()
    assert m.catalog.negative[assigned & ~m.team_authority].all()
    # cases of assigned matters routed after the review reach a squad
    c = m.cases
    later = np.isin(c["matter"], np.flatnonzero(assigned)) & (c["detected_at"] >= 60) & (
        c["owner_unit"] >= 0)
    assert later.any()
    assert (c["owner_unit"][later] >= len(m.departments)).mean() > 0.5
    # with the threshold out of reach nothing is assigned
    high = small("n_street_siloed.toml", ORPHANS | {
        "levers": {"power_review_period_days": 60}, "power_review": {"orphan_threshold": 10**9}})
    assert reformsim.run(high, seed=1).summary["matters_delegated_end"] == 0


def test_error_rule_takes_back_error_prone_matters() -> None:
    """The error rule counts the case log's ``error`` column: no errors, nothing goes back by it;
    every team case an error, every used matter goes back."""
    sc = small("n_street_integrated.toml", {
        "levers": {"power_review_period_days": 150},
        "power_review": {"min_uses": 0, "min_cases_for_error": 1, "max_error_rate": 0.5}})
    m = ReformModel(sc, seed=1)
    for _ in range(sc.run.days - 1):
        m.step()
    review = m.power_review
    error = m.cases.cols["error"]
    error[:] = False
    uses, errors, _ = review.counts(0, sc.run.days)
    assert uses.sum() > 0 and errors.sum() == 0
    assert not review.to_return(uses, errors).any()
    error[:] = True
    uses, errors, _ = review.counts(0, sc.run.days)
    assert (errors == uses).all()
    back = review.to_return(uses, errors)
    assert back.any()
    assert (back == (m.team_authority & (uses >= 1) & review.owner_staffed)).all()


def test_review_is_deterministic() -> None:
    sc = small("n_street_integrated.toml", REVIEW)
    a, b = ReformModel(sc, seed=4).run(), ReformModel(sc, seed=4).run()
    assert a.power_review.history == b.power_review.history
    assert (a.team_authority == b.team_authority).all()
    assert_same_summary(a.recorder.summary(), b.recorder.summary())


def test_joint_visits_follow_the_team_once_it_gets_powers() -> None:
    """Siloed with joint inspection: the lead department visits while the street team has no
    power; once a review assigns it matters, the area squads make the joint visits."""
    sc = small("n_street_siloed.toml", {
        "catalog": {"ambiguous_share": 0.4, "negative_list_share": 0.0},
        "levers": {"joint_inspection": True, "power_review_period_days": 40},
        "power_review": {"orphan_threshold": 1}})
    m = ReformModel(sc, seed=1)
    for _ in range(40):
        m.step()
    assert not m.team_authority.any()
    lead = m.joint_inspector(0)
    assert lead in m.departments
    for _ in range(sc.run.days - m.day):
        if m.team_authority.any():
            break
        m.step()
    assert m.team_authority.any(), "no review assigned a matter"
    assert m.joint_inspector(0) in m.squads
    day = m.day
    for _ in range(10):
        m.step()
    v = m.visits
    later = v["unit"][v["at"] >= day + 1]
    joint_later = later[v["joint"][v["at"] >= day + 1]]
    assert joint_later.size and (joint_later >= len(m.departments)).all()
