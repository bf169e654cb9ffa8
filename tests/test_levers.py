"""Each lever of the core model moves its KPI in the documented direction (reduced N Street)."""

from __future__ import annotations

import numpy as np

import reformsim

from .conftest import small

SEEDS = (1, 2, 3)


def _mean(sc, key: str) -> float:
    return float(np.mean([reformsim.run(sc, seed=s).summary[key] for s in SEEDS]))


def test_longer_transfer_delay_slows_siloed_response() -> None:
    fast = small("n_street_siloed.toml", {"levers": {"transfer_delay_days": 1.0}})
    slow = small("n_street_siloed.toml", {"levers": {"transfer_delay_days": 5.0}})
    assert _mean(slow, "response_time_mean_days") > _mean(fast, "response_time_mean_days") + 2.0


def test_ambiguous_acceptance_reduces_orphans() -> None:
    extra = {"catalog": {"ambiguous_share": 0.3}}
    low = small("n_street_siloed.toml", extra | {"routing": {"accept_ambiguous": 0.1}})
    high = small("n_street_siloed.toml", extra | {"routing": {"accept_ambiguous": 0.9}})
    assert _mean(low, "orphan_share") > _mean(high, "orphan_share")


def test_team_default_for_ambiguous_matters_removes_orphans() -> None:
    extra = {"catalog": {"ambiguous_share": 0.5, "negative_list_share": 0.0}}
    levers = {"delegated_matters": 150}
    off = small("n_street_integrated.toml",
                extra | {"levers": levers | {"ambiguous_default_to_team": False}})
    on = small("n_street_integrated.toml",
               extra | {"levers": levers | {"ambiguous_default_to_team": True}})
    assert _mean(on, "orphan_share") == 0.0
    assert _mean(off, "orphan_share") > 0.0


def test_joint_inspection_cuts_visits_per_firm() -> None:
    off = small("n_street_siloed.toml")
    on = small("n_street_siloed.toml", {"levers": {"joint_inspection": True}})
    assert _mean(on, "enterprise_visits_per_firm") < 0.8 * _mean(off, "enterprise_visits_per_firm")
    assert _mean(on, "joint_inspection_share") > 0.3


def test_leniency_issues_waivers_and_fewer_penalties() -> None:
    off = small("n_street_integrated.toml", {"levers": {"first_violation_leniency": False}})
    on = small("n_street_integrated.toml", {"levers": {"first_violation_leniency": True}})
    assert _mean(off, "waivers_issued") == 0
    assert _mean(on, "waivers_issued") > 0
    assert _mean(on, "penalties_issued") <= _mean(off, "penalties_issued")


def test_unified_dispatch_speeds_team_response() -> None:
    off = small("n_street_integrated.toml", {"levers": {"unified_dispatch": False}})
    on = small("n_street_integrated.toml", {"levers": {"unified_dispatch": True}})
    assert _mean(on, "response_time_mean_days") < _mean(off, "response_time_mean_days")


def test_three_colour_targets_black_firms() -> None:
    """With colour targeting, black firms are visited more often than green ones."""
    from reformsim.model import ReformModel

    m = ReformModel(small("n_street_integrated.toml"), seed=1)
    rate = m.inspection_planning.yearly_rate()
    colour = m.enterprises.colour
    assert rate[colour == 2].mean() > rate[colour == 1].mean() > rate[colour == 0].mean()
    flat = ReformModel(small("n_street_integrated.toml", {"levers": {"three_colour": False}}), seed=1)
    assert np.ptp(flat.inspection_planning.yearly_rate()) == 0.0
