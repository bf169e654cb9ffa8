"""Whistle-summons (吹哨报到) and support requests (一针穿千线), M10: directions and invariants."""

from __future__ import annotations

import numpy as np

import reformsim
from reformsim.caselog import CLOSED, ORPHANED
from reformsim.model import ReformModel

from .conftest import small

SEEDS = (1, 2, 3)
#: siloed with many ambiguous matters: referral chains often end in orphans (三不管)
AMBIGUOUS = {"catalog": {"ambiguous_share": 0.4}}


def _runs(sc):
    return [reformsim.run(sc, seed=s) for s in SEEDS]


def _models(sc) -> list[ReformModel]:
    return [ReformModel(sc, seed=s).run() for s in SEEDS]


def _mean(runs, key: str) -> float:
    return float(np.mean([r.summary[key] for r in runs]))


def _summons(show: float, arrival: float = 0.5):
    return small("n_street_siloed.toml", AMBIGUOUS | {"levers": {
        "whistle_summons": True, "summons_show_probability": show,
        "summons_arrival_hours": arrival}})


def test_summons_show_up_lowers_orphan_share() -> None:
    """Issue 6: summons show-up probability up -> orphan share down (paired seeds)."""
    off = _runs(small("n_street_siloed.toml", AMBIGUOUS))
    low, high = _runs(_summons(0.2)), _runs(_summons(0.95))
    assert _mean(off, "summons_issued") == 0
    assert _mean(high, "summons_issued") > 0
    for a, b, c in zip(off, low, high, strict=True):
        assert c.summary["orphan_share"] <= b.summary["orphan_share"] <= a.summary["orphan_share"]
    assert _mean(high, "orphan_share") < 0.5 * _mean(off, "orphan_share")
    assert _mean(high, "transfers_per_case") < _mean(off, "transfers_per_case")


def test_no_show_share_matches_the_show_probability() -> None:
    """With one summoned department per case (no ambiguous matters) the no-show share estimates
    1 - p_show; binomial 4-sigma band over the pooled summons of three seeds."""
    p = 0.6
    sc = small("n_street_siloed.toml", {"catalog": {"ambiguous_share": 0.0}, "levers": {
        "whistle_summons": True, "summons_show_probability": p}})
    runs = _runs(sc)
    n = sum(r.summary["summons_issued"] for r in runs)
    no_show = sum(r.summary["summons_no_show_share"] * r.summary["summons_issued"] for r in runs)
    assert n > 100
    assert abs(no_show / n - (1 - p)) < 4 * np.sqrt(p * (1 - p) / n)


def test_arrival_delay_has_the_lever_mean_and_slows_response() -> None:
    """Arrival delays are exponential with mean ``summons_arrival_hours`` (4-sigma band), and a
    slower arrival lengthens the response to summoned cases."""
    fast, slow = _models(_summons(1.0, 0.5)), _models(_summons(1.0, 8.0))
    for models, mean in ((fast, 0.5), (slow, 8.0)):
        delays = np.concatenate([m.coordination.arrival_hours for m in models])
        assert delays.size > 100
        assert abs(delays.mean() - mean) < 4 * mean / np.sqrt(delays.size)

    def summoned_response(m: ReformModel) -> float:
        c = m.cases
        sel = c["summoned"] & (c["status"] == CLOSED)
        return float((c["on_scene_at"] - c["detected_at"])[sel].mean())

    assert np.mean([summoned_response(r) for r in slow]) > np.mean(
        [summoned_response(r) for r in fast])


def test_summoned_cases_are_never_orphaned_when_departments_always_report() -> None:
    for m in _models(_summons(1.0)):
        c = m.cases
        summoned = c["summoned"]
        assert summoned.any()
        assert not (summoned & (c["status"] == ORPHANED)).any()
        assert (c["transfers"][summoned] == 0).all()


def test_summons_cost_squad_time() -> None:
    """Arranging summons costs squad officer-hours (Scharpf): a higher base cost raises the
    officers' busy hours, all else paired."""
    cheap = small("n_street_siloed.toml", AMBIGUOUS | {
        "levers": {"whistle_summons": True}, "coordination": {"summons_base_hours": 0.0,
                                                              "summons_hours_per_pair": 0.0}})
    dear = small("n_street_siloed.toml", AMBIGUOUS | {
        "levers": {"whistle_summons": True}, "coordination": {"summons_base_hours": 2.0}})
    assert _mean(_runs(dear), "officer_utilization") > _mean(_runs(cheap), "officer_utilization")


def test_support_requests_load_the_integrated_team_not_siloed_specialists() -> None:
    """SF-11 (一针穿千线): generalists ask departments for technical support; specialists do not."""
    siloed = _runs(small("n_street_siloed.toml"))
    integrated = _runs(small("n_street_integrated.toml"))
    assert _mean(siloed, "support_requests_per_case") < 0.01
    assert _mean(integrated, "support_requests_per_case") > 0.02
    for r in integrated:
        assert r.cases["support_requests"].max() <= 1  # a case asks at most once


def test_no_technical_matters_means_no_support_requests() -> None:
    sc = small("n_street_integrated.toml", {"coordination": {"technical_share": 0.0}})
    assert _mean(_runs(sc), "support_requests_per_case") == 0.0


def test_slower_support_slows_the_integrated_response() -> None:
    quick = small("n_street_integrated.toml", {"coordination": {"support_response_days": 0.0}})
    slow = small("n_street_integrated.toml", {"coordination": {"support_response_days": 5.0}})
    assert _mean(_runs(slow), "cycle_time_mean_days") > _mean(_runs(quick), "cycle_time_mean_days")
