"""Inspection planning by thinning (step 5, M5, M14): the daily draw keeps its law.

Each working day every firm (joint design) or exposure pair (per-department design) is chosen
independently with its daily visit probability. The draw now goes through candidates of a
Bernoulli process with a bound ``b`` (geometric gaps) accepted with probability ``rate / b``;
these tests check the selection frequencies against the rates (fixed seeds, so deterministic),
the edge cases (rates above the bound, zero and NaN rates) and determinism.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from reformsim.mechanisms.inspection import BOUND_MARGIN, bernoulli_positions
from reformsim.model import ReformModel
from reformsim.scenario import Scenario

#: a p-value below this fails a frequency test (fixed seeds: the outcome is deterministic)
ALPHA = 1e-4


def _counts(draws: list[np.ndarray], size: int) -> np.ndarray:
    return np.bincount(np.concatenate(draws), minlength=size) if draws else np.zeros(size, int)


def _assert_frequencies(counts: np.ndarray, rate: np.ndarray, days: int) -> None:
    """Per index, ``counts`` over ``days`` draws are Binomial(days, rate): a chi-square test.

    Indices of rate 0 must never be chosen, of rate 1 always.
    """
    assert not counts[rate == 0].any()
    assert (counts[rate >= 1] == days).all()
    live = (rate > 0) & (rate < 1)
    if not live.any():
        return
    expected = days * rate[live]
    assert expected.min() >= 5  # the chi-square approximation holds
    stat = np.sum((counts[live] - expected) ** 2 / (expected * (1.0 - rate[live])))
    assert stats.chi2.sf(stat, live.sum()) > ALPHA, stat
    # and the total: a binomial-sum z-test (sensitive to a common bias the chi-square dilutes)
    z = (counts[live].sum() - expected.sum()) / math.sqrt(np.sum(expected * (1 - rate[live])))
    assert abs(z) < 4.0, z


@pytest.mark.parametrize(("size", "p"), [(7, 0.3), (12, 0.02), (5, 1.0), (40, 0.5)])
def test_bernoulli_positions_have_the_bernoulli_law(size: int, p: float) -> None:
    rng = np.random.default_rng(11)
    draws = [bernoulli_positions(rng, size, p) for _ in range(4000)]
    for pos in draws:
        assert pos.dtype == np.int64
        assert np.all(np.diff(pos) > 0) and (pos.size == 0 or 0 <= pos[0] <= pos[-1] < size)
    _assert_frequencies(_counts(draws, size), np.full(size, p), len(draws))
    # independence of neighbours: both of positions 0 and 1 chosen with probability p**2
    both = sum(pos.size >= 2 and pos[0] == 0 and pos[1] == 1 for pos in draws)
    assert stats.binomtest(both, len(draws), p * p).pvalue > ALPHA


def test_bernoulli_positions_do_not_depend_on_the_chunk_size() -> None:
    for seed in range(20):
        default = bernoulli_positions(np.random.default_rng(seed), 300, 0.05)
        for chunk in (1, 2, 7, 1000):
            small = bernoulli_positions(np.random.default_rng(seed), 300, 0.05, chunk=chunk)
            np.testing.assert_array_equal(small, default)


def test_bernoulli_positions_edge_cases() -> None:
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    for size, p in ((10, 0.0), (10, math.nan), (0, 0.5), (-1, 0.5)):
        assert bernoulli_positions(rng, size, p).size == 0
    assert rng.bit_generator.state == state  # nothing drawn
    np.testing.assert_array_equal(bernoulli_positions(rng, 6, 1.0), np.arange(6))
    for _ in range(100):  # a tiny probability: huge gaps, no integer overflow
        assert bernoulli_positions(rng, 10**6, 1e-300).size == 0


def _model(sc: Scenario, rates: dict[str, float], three_colour: bool = True,
           seed: int = 3) -> ReformModel:
    sc = sc.with_updates({"levers.three_colour": three_colour,
                          "inspection.rate_per_year": rates})
    m = ReformModel(sc, seed=seed)
    rng = np.random.default_rng(seed)
    ent = m.enterprises
    ent.colour[:] = rng.choice(3, ent.n, p=[0.6, 0.25, 0.15]).astype(ent.colour.dtype)
    return m


#: high rates, so that a few thousand draws give every firm enough visits for the test
RATES = {"green": 8.0, "yellow": 20.0, "black": 60.0}


@pytest.mark.parametrize("three_colour", [True, False])
@pytest.mark.parametrize("per_pair", [False, True])
def test_each_firm_or_pair_is_chosen_with_its_rate(small_integrated: Scenario,
                                                   three_colour: bool, per_pair: bool) -> None:
    m = _model(small_integrated, RATES, three_colour)
    ip, ent = m.inspection_planning, m.enterprises
    firm_of = ent.pair_ent if per_pair else None
    rate = ip.pair_rate() if per_pair else ip.daily_rate()
    assert rate.max() <= ip.bound
    _assert_daily_law(ip, firm_of, rate, seed=7)


def _assert_daily_law(ip, firm_of: np.ndarray | None, rate: np.ndarray, seed: int,
                      days: int = 2000) -> None:
    """Over ``days`` draws the chosen indices are increasing and chosen at their rates."""
    rng = np.random.default_rng(seed)
    draws = [ip.draw_chosen(rng, firm_of) for _ in range(days)]
    for chosen in draws:
        assert np.all(np.diff(chosen) > 0)
    _assert_frequencies(_counts(draws, rate.size), rate, days)


def test_the_bound_is_the_scenarios_highest_rate_whatever_the_levers(
        small_siloed: Scenario, small_integrated: Scenario) -> None:
    bounds = {_model(sc, RATES, tc).inspection_planning.bound
              for sc in (small_siloed, small_integrated) for tc in (True, False)}
    week = small_siloed.run.working_days_per_week
    assert bounds == {60.0 * (1 + BOUND_MARGIN) / (365 * week / 7)}


def test_designs_share_their_draws(small_integrated: Scenario) -> None:
    """Common random numbers: a firm chosen at the uniform rate is chosen at any higher rate."""
    rates = {"green": 1.5, "yellow": 3.0, "black": 6.0}  # all above the uniform rate 1.0
    low = _model(small_integrated, rates, three_colour=False).inspection_planning
    high = _model(small_integrated, rates, three_colour=True).inspection_planning
    assert low.bound == high.bound
    assert (high.daily_rate() >= low.daily_rate()).all()
    for seed in range(20):
        a = low.draw_chosen(np.random.default_rng(seed))
        b = high.draw_chosen(np.random.default_rng(seed))
        assert np.isin(a, b).all()


@pytest.mark.parametrize("per_pair", [False, True])
def test_rates_above_the_bound_keep_their_law(small_integrated: Scenario,
                                              per_pair: bool) -> None:
    """A bound below some rates (not the case with validated parameters) is completed."""
    m = _model(small_integrated, RATES)
    ip, ent = m.inspection_planning, m.enterprises
    firm_of = ent.pair_ent if per_pair else None
    rate = ip.pair_rate() if per_pair else ip.daily_rate()
    ip.bound = float(np.median(rate))  # yellow; black above it
    ip._table = None  # recompute the acceptance table for the new bound
    assert (rate > ip.bound).any()
    _assert_daily_law(ip, firm_of, rate, seed=5)


def test_a_rate_of_one_or_more_always_chooses(small_integrated: Scenario) -> None:
    m = _model(small_integrated, {"green": 1.0, "yellow": 2.0, "black": 1.0e4})
    ip, ent = m.inspection_planning, m.enterprises
    assert ip.bound == 1.0
    black = np.flatnonzero(ent.colour == 2)
    rng = np.random.default_rng(1)
    for _ in range(50):
        assert np.isin(black, ip.draw_chosen(rng)).all()
    ip.bound = 0.01  # a bound below 1 and below the rates: the completion chooses them too
    ip._table = None
    for _ in range(50):
        assert np.isin(black, ip.draw_chosen(rng)).all()


def test_zero_rates_choose_nobody_and_draw_nothing(small_integrated: Scenario) -> None:
    zero = {"green": 0.0, "yellow": 0.0, "black": 0.0}
    sc = small_integrated.with_updates({"inspection.rate_per_year": zero,
                                        "inspection.uniform_rate_per_year": 0.0})
    m = ReformModel(sc, seed=4)
    ip = m.inspection_planning
    assert ip.bound == 0.0
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    for firm_of in (None, m.enterprises.pair_ent):
        assert ip.draw_chosen(rng, firm_of).size == 0
    assert rng.bit_generator.state == state
    m.run_for(30)
    assert len(m.visits) == 0


def test_nan_rates_choose_nobody(small_integrated: Scenario) -> None:
    m = _model(small_integrated, RATES)
    ip, ent = m.inspection_planning, m.enterprises
    ip._rates = lambda divisor, counts=None: [math.nan, 0.05, math.nan]  # type: ignore[method-assign]
    ip._table = None
    rng = np.random.default_rng(2)
    chosen = np.concatenate([ip.draw_chosen(rng) for _ in range(200)])
    assert chosen.size > 0 and (ent.colour[chosen] == 1).all()
    ip._rates = lambda divisor, counts=None: [math.nan] * 3  # type: ignore[method-assign]
    ip._table = None
    assert all(ip.draw_chosen(rng).size == 0 for _ in range(50))


def test_draws_are_deterministic(small_integrated: Scenario, small_siloed: Scenario) -> None:
    for sc in (small_integrated, small_siloed):
        a, b = (_model(sc, RATES) for _ in range(2))
        for firm_of in (None, a.enterprises.pair_ent):
            for seed in range(5):
                np.testing.assert_array_equal(
                    a.inspection_planning.draw_chosen(np.random.default_rng(seed), firm_of),
                    b.inspection_planning.draw_chosen(np.random.default_rng(seed), firm_of))
        runs = [ReformModel(sc, seed=9) for _ in range(2)]
        for run in runs:
            run.run_for(40)
        assert len(runs[0].visits) > 0
        for col in ("enterprise", "unit", "at"):
            np.testing.assert_array_equal(runs[0].visits[col], runs[1].visits[col])
