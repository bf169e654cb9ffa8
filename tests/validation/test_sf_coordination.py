"""Coordination and power-list facts SF-11, SF-12 (domain.md §3; mechanisms M10, M15; ODD 7.9,
7.10)."""

from __future__ import annotations

import numpy as np

from reformsim.model import ReformModel

from .helpers import assert_above, assert_increase, paired, tiny

SILOED = "n_street_siloed.toml"
INTEGRATED = "n_street_integrated.toml"
REVIEW = "integrated_power_review.toml"


def test_sf11_integration_brings_one_to_many_support_requests() -> None:
    """SF-11: integration shifts coordination load; the street team, a single front end, must ask
    many department back ends for technical support (一针穿千线; 陈念平 2024, grade A): support
    requests per case > 0 integrated.

    Siloed vs integrated, 4,000 firms (the tiny world's 100 cases per run are too few to resolve
    a rate of about 0.1), 4 replicates. Asserted: support requests per case rise (paired
    interval); the siloed rate is below 0.01 (only ambiguous cases accepted by the alternative
    department's officers ask); the integrated rate is above 0.03. Model figures: 0.0006
    siloed, 0.15 integrated, paired difference 0.15 [0.04, 0.26] (technical matters are the
    30 % most complex of the catalogue; pooled specialists handle most of them and need no
    support, so the rate varies with how often street staff take one).
    """
    more = {"population": {"n_enterprises": 4000}}
    cmp = paired([tiny(SILOED, {"name": "siloed"} | more),
                  tiny(INTEGRATED, {"name": "integrated"} | more)])
    r = assert_above(cmp, "support_requests_per_case")
    assert r["base_mean"] < 0.01
    assert r["arm_mean"] > 0.03


def test_sf12_over_delegation_then_partial_recentralisation() -> None:
    """SF-12: over-delegation leaves matters unused and brings partial recentralisation
    (Beijing took back 20 matters; Hebei cut 87 -> 47, i.e. -46 %; O10, grade B).

    ``integrated_power_review.toml`` (yearly review of the power list, 权责清单定期评估) with N
    Street's 8,000 firms (10,000 residents to keep it quick), 366 days so the first review
    closes on day 364, seeds 1-3. Asserted: the matters in the team's power fall at the review
    (paired interval over seeds: day 363 vs day 364, and constant before); the review moves
    matters (``power_review_moves`` > 0); the cut is partial: between 15 % and 60 % of the
    team's matters go back in each seed. Model figures: 360-366 -> 219-245 matters (-33 to
    -40 %), no matter assigned. The size depends on case volume per matter: in the 1,000-firm
    test world a 150-day period takes back about 83 %, so the tiny world is not used here. The
    Zipf-tailed catalogue (an assumption) sets how many delegated matters see no case a year.
    """
    sc = tiny(REVIEW, {"run": {"days": 366},
                       "population": {"n_enterprises": 8000, "n_residents": 10000}})
    before, after = [], []
    for seed in (1, 2, 3):
        m = ReformModel(sc, seed=seed).run()
        series = m.recorder.timeseries()["matters_delegated"].to_numpy()
        assert (series[:364] == series[0]).all()
        before.append(series[363])
        after.append(series[364])
        assert 0.4 * series[363] < series[364] < 0.85 * series[363]
        assert m.recorder.summary()["power_review_moves"] > 0
    assert_increase(after, before, "matters in the team's power: after -> before the review")
    assert np.mean(after) > 0

