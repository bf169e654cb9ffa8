"""Cross-training, task switching and handling errors (M12): directions, formula, invariants."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from reformsim.model import ReformModel

from .conftest import small

SEEDS = (1, 2, 3)


def _runs(sc):
    return [reformsim.run(sc, seed=s) for s in SEEDS]


def _mean(runs, key: str) -> float:
    return float(np.mean([r.summary[key] for r in runs]))


def _training(hours: float, sessions: float = 0.0):
    return small("n_street_integrated.toml", {"levers": {
        "training_hours_per_month": hours, "exchange_sessions_per_year": sessions}})


def test_more_training_raises_the_generalist_speed_ratio() -> None:
    """Issue 6: more training -> generalist speed ratio rises (every paired seed)."""
    none, some, lots = _runs(_training(0.0)), _runs(_training(4.0, 12.0)), _runs(_training(16.0, 24.0))
    for a, b, c in zip(none, some, lots, strict=True):
        assert a.summary["generalist_speed_ratio"] < b.summary["generalist_speed_ratio"]
        assert b.summary["generalist_speed_ratio"] < c.summary["generalist_speed_ratio"]


def test_speed_ratio_rises_over_time_by_learning_by_doing() -> None:
    """SF-6: without training, generalists' speed relative to specialists rises with experience."""
    for r in _runs(_training(0.0)):
        series = r.timeseries["generalist_speed_ratio"].to_numpy()
        assert series[-1] > series[0]
        assert np.all(series < 1.0)


def test_speed_ratio_formula() -> None:
    """At uniform skill s the ratio is (c + h) / (c (1 + kappa (1 - s)) + h), domain by domain;
    all squad skills 1 give exactly 1."""
    m = ReformModel(small("n_street_integrated.toml"), seed=1)
    tr = m.training
    for o in tr.trainees:
        o.skills[:] = 1.0
    assert tr.speed_ratio() == pytest.approx(1.0)
    s = 0.4
    for o in tr.trainees:
        o.skills[:] = s
    cw = m.config.casework
    c = tr.domain_complexity
    r = (c + cw.handling_hours) / (c * (1 + cw.kappa_complex * (1 - s)) + cw.handling_hours)
    lo, hi = r.min(), r.max()
    assert lo - 1e-12 <= tr.speed_ratio() <= hi + 1e-12


def test_training_hours_come_out_of_squad_casework_time() -> None:
    """Squad officers start no task before their daily training is over."""
    sc = _training(40.0)
    m = ReformModel(sc, seed=2).run()
    lo = m.calendar.start + m.training.daily_hours / 24.0
    squads = {s.index for s in m.squads}
    c = m.cases
    done = np.isfinite(c["started_at"]) & np.isin(c["owner_unit"], list(squads))
    starts = c["started_at"][done]
    assert starts.size > 0
    assert (starts - np.floor(starts) >= lo - 1e-9).all()
    dept_starts = c["started_at"][np.isfinite(c["started_at"]) & (c["owner_unit"] < len(m.departments))]
    assert dept_starts.size == 0 or (dept_starts - np.floor(dept_starts) < lo).any()


def test_task_switching_costs_officer_time() -> None:
    """A larger switch cost lengthens the mean officer hours per case of the mixed squads."""
    low = _runs(small("n_street_integrated.toml", {"casework": {"switch_cost": 0.0}}))
    high = _runs(small("n_street_integrated.toml", {"casework": {"switch_cost": 0.5}}))
    for a, b in zip(low, high, strict=True):
        assert b.summary["officer_hours_per_case"] > a.summary["officer_hours_per_case"]


def test_handling_errors_come_from_low_skill() -> None:
    """Errors fall with skill: none at rate 0; more in the integrated team (generalists) than with
    siloed specialists."""
    off = _runs(small("n_street_integrated.toml", {"casework": {"error_rate_at_zero_skill": 0.0}}))
    assert _mean(off, "handling_error_rate") == 0.0
    assert _mean(_runs(small("n_street_integrated.toml")), "handling_error_rate") > \
        _mean(_runs(small("n_street_siloed.toml")), "handling_error_rate")
