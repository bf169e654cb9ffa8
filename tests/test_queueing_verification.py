"""Verification: a degenerate street is an M/M/c queue; mean wait must match Erlang C.

One department, one domain, one matter; violations arrive as a (thinned) Poisson process and are
detected at once (platform hazard huge); service is exponential with no travel and no skill
penalty; c officers work a 24-hour, 7-day calendar; no inspections, no follow-ups. The model's
mean waiting time (queue arrival -> start of service) must match the Erlang C formula for the
measured arrival rate within 5 %.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import reformsim

from .conftest import queueing_street


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean waiting time in queue W_q of an M/M/c queue (Erlang C)."""
    a = lam / mu
    rho = a / c
    if rho >= 1:
        raise ValueError("unstable queue")
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def mmc_scenario(c: int, lam_per_day: float, service_hours: float, days: int) -> reformsim.Scenario:
    """One department with ``c`` officers and one domain: an M/M/c queue."""
    return queueing_street(20000, lam_per_day, days, {
        "name": f"M/M/{c} verification",
        "domains": [{"id": "only", "violation_weight": 1.0, "complexity_hours": service_hours}],
        "catalog": {"n_matters": 1},
        "staffing": {"retained_officers": {"only": c}},
        "casework": {"kappa_complex": 0.0},
    })


def test_mean_wait_matches_erlang_c() -> None:
    """c = 4 officers, 2-hour mean service, rho = 0.5; two replicates of 3,000 days (~140k cases).

    Waits are rare, heavy-tailed and autocorrelated: a 400-day replicate's mean wait has a
    relative SD of about 7 %, so the pooled mean here has about 1.7 % and the 5 % tolerance is
    about three standard errors. P(wait > 0) is checked too (it is estimated far more precisely).
    """
    c, lam, hours, days = 4, 24.0, 2.0, 3000
    sc = mmc_scenario(c, lam, hours, days=days)
    waits, arrivals, window = [], 0, 0.0
    for seed in range(2):
        res = reformsim.run(sc, seed=seed)
        cases = res.cases
        # arrivals in the window that are not censored by the end of the run
        cases = cases[cases["in_window"] & (cases["ready_at"] < sc.run.days - 10)]
        assert (cases["status"] == "closed").all()
        assert (cases["transfers"] <= 1).all() and (cases["travel_hours"].fillna(0) == 0).all()
        waits.append((cases["started_at"] - cases["ready_at"]).to_numpy())
        arrivals += len(cases)
        window += res.summary["window_days"] - 10
    lam_hat = arrivals / window
    mu = 24.0 / hours
    w = np.concatenate(waits)
    expected = erlang_c_wait(lam_hat, mu, c)
    assert float(w.mean()) == pytest.approx(expected, rel=0.05), (w.mean(), expected, lam_hat)
    p_wait = expected * (c * mu - lam_hat)
    assert float((w > 1e-12).mean()) == pytest.approx(p_wait, rel=0.03)


def test_service_times_are_exponential_with_the_right_mean() -> None:
    res = reformsim.run(mmc_scenario(3, 18.0, 3.0, days=120), seed=9)
    s = res.cases["service_hours"].dropna().to_numpy()
    assert s.mean() == pytest.approx(3.0, rel=0.05)
    assert s.std() / s.mean() == pytest.approx(1.0, rel=0.08)  # CV of an exponential is 1


def test_erlang_c_reference_values() -> None:
    """The helper reproduces domain.md M11's table (7 x lambda=2, c=3, mu=1: W_q = 0.44)."""
    assert erlang_c_wait(2.0, 1.0, 3) == pytest.approx(0.444, abs=0.002)
    assert erlang_c_wait(14.0, 1.0, 21) == pytest.approx(0.01, abs=0.005)
