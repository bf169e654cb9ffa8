"""Area and staff allocation rules (allocation.py; issue 6 item 6; domain.md M11).

Analytic checks (apportionment, Erlang C against domain.md's table, greedy = brute force,
monotonicity) and a model-level paired direction test: with very unequal areas, staffing squads
by forecast demand gives a lower mean response time than equal squads.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import reformsim
from reformsim.allocation import (
    erlang_c,
    fill_order,
    largest_remainder,
    mean_wait,
    optimise_servers,
    squad_counts,
    total_wait,
)
from reformsim.model import ReformModel

from .conftest import SCENARIOS, small

RULES = ("equal", "by_population", "by_case_frequency", "optimised")


# ---------------------------------------------------------------- apportionment


def test_largest_remainder_sums_exactly_and_is_within_one_of_the_quota() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 9))
        w = rng.lognormal(0.0, 1.5, n) * (rng.random(n) > 0.2)
        total = int(rng.integers(0, 200))
        c = largest_remainder(total, w)
        assert c.sum() == total and (c >= 0).all()
        quota = total * (w / w.sum() if w.sum() > 0 else np.full(n, 1.0 / n))
        assert (np.abs(c - quota) < 1.0 + 1e-9).all()
        m = largest_remainder(total, w, minimum=1)
        assert m.sum() == total
        if total >= n:
            assert (m >= 1).all()


def test_largest_remainder_is_deterministic_with_ties_to_the_lower_index() -> None:
    assert largest_remainder(10, np.ones(4)).tolist() == [3, 3, 2, 2]
    assert largest_remainder(0, np.ones(3)).tolist() == [0, 0, 0]
    assert largest_remainder(5, np.zeros(2)).tolist() == [3, 2]


def test_fill_order_with_equal_counts_is_round_robin() -> None:
    for total, n in ((52, 4), (60, 4), (7, 3), (3, 5)):
        counts = largest_remainder(total, np.ones(n))
        assert fill_order(counts).tolist() == [k % n for k in range(total)]
    seq = fill_order(np.array([3, 1, 2]))
    assert np.bincount(seq, minlength=3).tolist() == [3, 1, 2]


# ---------------------------------------------------------------- Erlang C


def test_erlang_c_matches_domain_md_table() -> None:
    # domain.md M11: siloed lambda = 2, c = 3, mu = 1 -> P_wait 0.44, W_q 0.44
    assert float(erlang_c(3, 2.0)) == pytest.approx(4 / 9, abs=1e-12)
    assert float(mean_wait(2.0, 1.0, 3)) == pytest.approx(4 / 9, abs=1e-12)
    # pooled lambda = 14, c = 21: mu = 1 -> P_wait 0.06, W_q 0.01; mu = 0.8 -> 0.33, 0.12
    assert float(erlang_c(21, 14.0)) == pytest.approx(0.06, abs=0.01)
    assert float(mean_wait(14.0, 1.0, 21)) == pytest.approx(0.01, abs=0.005)
    assert float(erlang_c(21, 14 / 0.8)) == pytest.approx(0.33, abs=0.01)
    assert float(mean_wait(14.0, 0.8, 21)) == pytest.approx(0.12, abs=0.01)
    assert math.isinf(float(mean_wait(3.0, 1.0, 3)))
    assert float(mean_wait(0.0, 1.0, 2)) == 0.0


def _brute_force(lam: np.ndarray, mu: np.ndarray, total: int) -> float:
    n = lam.size
    best = math.inf
    for cut in itertools.combinations(range(total - 1), n - 1):  # compositions with parts >= 1
        parts = np.diff([-1, *cut, total - 1])
        best = min(best, total_wait(lam, mu, parts))
    return best


def test_greedy_equals_brute_force_optimum() -> None:
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(60):
        n = int(rng.integers(2, 5))
        mu = rng.uniform(0.5, 2.0, n)
        lam = rng.uniform(0.1, 3.0, n) * mu
        total = int(rng.integers(n, 13))
        c = optimise_servers(lam, mu, total)
        assert c.sum() == total and (c >= 1).all()
        best = _brute_force(lam, mu, total)
        got = total_wait(lam, mu, c)
        if math.isinf(best):
            assert math.isinf(got)
        else:
            assert got == pytest.approx(best, rel=1e-9, abs=1e-12)
            checked += 1
    assert checked > 20


def test_unstable_squads_get_officers_first() -> None:
    c = optimise_servers(np.array([5.5, 0.2, 0.2]), np.ones(3), 8)
    assert c[0] >= 6 and (c >= 1).all()


def test_optimised_beats_equal_when_demand_is_unequal() -> None:
    lam, mu = np.array([6.0, 2.0, 1.0, 0.5]), np.ones(4)
    opt = optimise_servers(lam, mu, 16)
    equal = largest_remainder(16, np.ones(4))
    assert total_wait(lam, mu, opt) < total_wait(lam, mu, equal)


def test_more_demand_never_gets_fewer_officers() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(2, 6))
        lam = rng.uniform(0.05, 4.0, n)
        mu = np.full(n, float(rng.uniform(0.5, 2.0)))
        total = int(rng.integers(n, 30))
        c = optimise_servers(lam, mu, total)
        s = int(rng.integers(n))
        more = lam.copy()
        more[s] *= float(rng.uniform(1.0, 3.0))
        assert optimise_servers(more, mu, total)[s] >= c[s]
        order = np.argsort(lam)
        assert (np.diff(c[order]) >= 0).all()  # same mu: busier squads never get fewer


def test_very_light_load_is_not_piled_on_one_squad() -> None:
    c = optimise_servers(np.array([1e-3, 2e-3, 1e-3, 2e-3]), np.ones(4), 200)
    assert c.min() >= 30


@pytest.mark.parametrize("rule", RULES)
def test_squad_counts_rows_and_columns(rule: str) -> None:
    res = np.array([1000.0, 5000.0, 2000.0, 10.0])
    cases = np.array([0.5, 3.0, 1.0, 0.01])
    hours = 3.0 * cases
    out = squad_counts(rule, [13, 17], res, cases, hours, 8.0)
    assert out.shape == (2, 4)
    assert out.sum(axis=1).tolist() == [13, 17]
    assert (out >= 0).all() and (out.sum(axis=0) >= 1).all()
    if rule != "equal":
        assert out.sum(axis=0)[1] > out.sum(axis=0)[0]


# ---------------------------------------------------------------- in the model


def _legacy_round_robin(model: ReformModel) -> tuple[list[int], list[int]]:
    """Squad of each squad officer as the pre-allocation code placed them (k % n per kind)."""
    n = len(model.squads)
    sec = [o for o in model.case_officers if o.kind == "seconded" and o.unit in model.squads]
    staff = [o for o in model.case_officers if o.kind == "street_staff"]
    sec.sort(key=lambda o: o.unique_id)
    staff.sort(key=lambda o: o.unique_id)
    return [k % n for k in range(len(sec))] + [k % n for k in range(len(staff))], [
        o.unit.area for o in [*sec, *staff]]


def test_default_staffing_is_the_old_round_robin() -> None:
    for name in ("n_street_integrated.toml", "n_street_siloed.toml"):
        sc = reformsim.load_scenario(SCENARIOS / name)
        assert sc.staffing.squad_allocation == "equal"
        want, got = _legacy_round_robin(ReformModel(sc, seed=1))
        assert got == want


def test_shipped_allocation_files_differ_only_in_the_rule() -> None:
    base = reformsim.load_scenario(SCENARIOS / "n_street_integrated.toml").to_dict()
    for rule in RULES:
        sc = reformsim.load_scenario(SCENARIOS / f"allocation_{rule}.toml").to_dict()
        assert sc["territory"]["area_allocation"] == rule
        assert sc["staffing"]["squad_allocation"] == rule
        for key in ("name", "description"):
            sc.pop(key), base.pop(key, None)
        sc["territory"]["area_allocation"] = base["territory"]["area_allocation"]
        sc["staffing"]["squad_allocation"] = base["staffing"]["squad_allocation"]
        assert sc == base


#: very unequal areas (equal grid counts, heavy-tailed grid sizes), few officers, busy squads
UNEQUAL = {
    "run": {"days": 120, "warmup_days": 20},
    "territory": {"grid_size_sigma": 2.0, "area_allocation": "equal"},
    "population": {"n_enterprises": 2000},
    "compliance": {"max_onset_rate_per_year": 3.0, "incompetent_rate_per_year": 1.8},
    "staffing": {"street_staff": 6, "seconded_officers": {
        "urban_management_bureau": 2, "market_supervision_bureau": 0, "culture_tourism_bureau": 0,
        "transport_bureau": 0, "health_commission": 0, "agriculture_bureau": 0,
        "ecology_environment_bureau": 0}},
}
DIRECTION_SEEDS = (1, 2, 3, 4, 5)


def test_demand_based_staffing_lowers_response_time_with_unequal_areas() -> None:
    """Paired (same seeds, same areas): optimised and by-case-frequency vs equal squads."""
    resp: dict[str, np.ndarray] = {}
    for rule in ("equal", "by_case_frequency", "optimised"):
        sc = small("n_street_integrated.toml", UNEQUAL | {
            "staffing": UNEQUAL["staffing"] | {"squad_allocation": rule}})
        resp[rule] = np.array([reformsim.run(sc, seed=s).summary["response_time_mean_days"]
                               for s in DIRECTION_SEEDS])
    for rule in ("by_case_frequency", "optimised"):
        diff = resp[rule] - resp["equal"]
        assert diff.mean() < -0.1, (rule, diff)
        assert diff.max() < 0.05, (rule, diff)
