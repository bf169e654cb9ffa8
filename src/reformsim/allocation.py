"""Area and staff allocation rules: who patrols and works where (issue 6; domain.md §0, M11).

N Street split its four areas (片区) "by resident population and case frequency" (seed case).
Two decisions follow from a rule:

1. **Areas** — how grids are cut into areas: contiguous angular sectors of equal total grid
   weight (:func:`reformsim.territory.allocate_areas`); the weight comes from
   :func:`grid_weight`.
2. **Squad officers** — how the street staff and the pooled seconded officers are spread over the
   area squads (中队): :func:`squad_counts` gives officers per squad and kind,
   :func:`fill_order` turns counts into an assignment that keeps each department's officers
   spread evenly.

Rules (``"equal"``, ``"by_population"``, ``"by_case_frequency"``, ``"optimised"``):

* ``equal`` — equal grid counts per area; equal officers per squad (each kind split evenly, the
  first squads get the remainder: exactly a round-robin).
* ``by_population`` — areas of equal residents; officers of each kind in proportion to the
  squad's residents.
* ``by_case_frequency`` — areas of equal forecast cases; officers of each kind in proportion to
  the squad's forecast cases per day.
* ``optimised`` — areas of equal forecast case hours; officers allocated to minimise the
  demand-weighted mean Erlang-C wait of the squads given the forecast (greedy marginal
  allocation, :func:`optimise_servers`).

Proportional splits use Hamilton's largest-remainder method, so totals are exact and the result
is deterministic (ties go to the lower index). Under every rule except ``equal`` a squad keeps at
least one officer when there are at least as many officers as squads.

The demand forecast (:func:`forecast_demand`) is a planner's prior from data a street office has
at set-up: each firm's exposures (sector → domains), the domains' violation weights and
complexity, the population's risk-type *mix* (not each firm's type) and the detection set-up. It
is not the model's realised case load.

References
----------
Erlang, A. K. (1917). Solution of some problems in the theory of probabilities of significance
in automatic telephone exchanges. *Elektroteknikeren* 13. (Erlang C; domain.md M11.)
Green, L. V., Kolesar, P. J., & Whitt, W. (2007). Coping with time-varying demand when setting
staffing requirements for a service system. *Production and Operations Management* 16(1), 13-39.
doi:10.1111/j.1937-5956.2007.tb00164.x
Green, L. V., & Kolesar, P. J. (1991). The pointwise stationary approximation for queues with
nonstationary arrivals. *Management Science* 37(1), 84-97. doi:10.1287/mnsc.37.1.84
Dyer, M. E., & Proll, L. G. (1977). On the validity of marginal analysis for allocating servers
in M/M/c queues. *Management Science* 23(9), 1019-1022. doi:10.1287/mnsc.23.9.1019 (W_q is convex
in c, so greedy marginal allocation is optimal.)
Fox, B. (1966). Discrete optimization via marginal analysis. *Management Science* 13(3), 210-216.
doi:10.1287/mnsc.13.3.210
Balinski, M. L., & Young, H. P. (2001). *Fair Representation*, 2nd ed. Brookings. (Hamilton /
largest-remainder apportionment.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from reformsim.population import Enterprises
    from reformsim.scenario import Scenario

Rule = Literal["equal", "by_population", "by_case_frequency", "optimised"]
RULES: tuple[str, ...] = ("equal", "by_population", "by_case_frequency", "optimised")

#: Mean visibility of a visible matter (catalogue: visibility ~ U(0.5, 1)).
MEAN_VISIBILITY = 0.75


# ---------------------------------------------------------------- apportionment


def largest_remainder(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split ``total`` items over ``len(weights)`` bins in proportion to ``weights`` (Hamilton).

    Parameters
    ----------
    total : int
        Items to split (>= 0).
    weights : array_like of float
        Non-negative weights; all-zero weights are treated as equal.
    minimum : int, optional
        Items every bin gets first, when ``total >= minimum * len(weights)`` (else ignored).

    Returns
    -------
    ndarray of int
        Counts that sum exactly to ``total``. Each bin gets the floor of its quota, and the
        leftover items go to the largest fractional remainders; ties go to the lower index.

    Examples
    --------
    >>> largest_remainder(10, np.ones(4)).tolist()
    [3, 3, 2, 2]
    >>> largest_remainder(7, np.array([5.0, 3.0, 2.0])).tolist()
    [4, 2, 1]
    """
    w = np.asarray(weights, dtype=float)
    n = w.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if total < 0:
        raise ValueError(f"total: expected >= 0, got {total}")
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("weights: expected finite non-negative numbers")
    base = np.full(n, minimum if total >= minimum * n else 0, dtype=np.int64)
    rest = int(total - base.sum())
    share = w / w.sum() if w.sum() > 0 else np.full(n, 1.0 / n)
    quota = share * rest
    counts = np.floor(quota).astype(np.int64)
    left = rest - int(counts.sum())
    if left < 0:  # floating-point excess: take from the smallest remainders
        order = np.argsort(quota - counts, kind="stable")
        for i in order[counts[order] > 0][: -left]:
            counts[i] -= 1
    elif left > 0:
        order = np.argsort(-(quota - counts), kind="stable")
        counts[order[:left]] += 1
    return base + counts


def fill_order(counts: np.ndarray) -> np.ndarray:
    """Squad of each of ``counts.sum()`` officers, handed out in cycles over the squads.

    Officers (in their listed order, e.g. by department) go to squads 0, 1, ..., n-1, 0, 1, ...
    skipping squads that are full. With equal counts this is the plain round-robin
    ``k % n``; in general each department's officers stay spread as evenly as the counts allow.

    Examples
    --------
    >>> fill_order(np.array([2, 1, 3])).tolist()
    [0, 1, 2, 0, 2, 2]
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        return np.zeros(0, dtype=np.int64)
    # officer j of squad s is handed out in cycle j: order by (cycle, squad)
    squad = np.repeat(np.arange(counts.size), counts)
    cycle = np.arange(squad.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return squad[np.lexsort((squad, cycle))]


# ---------------------------------------------------------------- queueing


def erlang_c(c: np.ndarray | int, a: np.ndarray | float) -> np.ndarray:
    """Probability of waiting in an M/M/c queue (Erlang C).

    Parameters
    ----------
    c : int or array of int
        Servers (>= 1).
    a : float or array of float
        Offered load ``lambda / mu`` (Erlangs).

    Returns
    -------
    ndarray
        ``P_wait``; 1 where ``a >= c`` (unstable). Computed with the Erlang B recursion
        ``B_k = a B_{k-1} / (k + a B_{k-1})`` and ``C = c B / (c - a (1 - B))``, which is stable
        for large ``c`` (domain.md M11).

    Examples
    --------
    >>> round(float(erlang_c(3, 2.0)), 4)
    0.4444
    """
    c_arr, a_arr = np.broadcast_arrays(np.asarray(c, dtype=np.int64), np.asarray(a, dtype=float))
    out = np.ones(c_arr.shape)
    flat_c, flat_a, flat_o = c_arr.ravel(), a_arr.ravel(), out.ravel()
    for i in range(flat_c.size):
        ci, ai = int(flat_c[i]), float(flat_a[i])
        if ci < 1:
            raise ValueError(f"c: expected >= 1 server, got {ci}")
        if ai <= 0.0:
            flat_o[i] = 0.0
        elif ai < ci:
            b = 1.0
            for k in range(1, ci + 1):
                b = ai * b / (k + ai * b)
            flat_o[i] = ci * b / (ci - ai * (1.0 - b))
    return flat_o.reshape(c_arr.shape)


def mean_wait(lam: np.ndarray | float, mu: np.ndarray | float, c: np.ndarray | int) -> np.ndarray:
    """Mean wait in queue ``W_q = C(c, a) / (c mu - lambda)`` of an M/M/c queue.

    Parameters
    ----------
    lam : float or array
        Arrival rate (cases per unit time).
    mu : float or array
        Service rate per server (cases per unit time), > 0.
    c : int or array of int
        Servers (>= 1).

    Returns
    -------
    ndarray
        ``W_q`` in the time unit of the rates; ``inf`` where ``lambda >= c mu``; 0 without
        arrivals.

    Examples
    --------
    >>> round(float(mean_wait(2.0, 1.0, 3)), 4)   # domain.md M11 table: siloed, W_q = 0.44
    0.4444
    """
    lam_a, mu_a, c_a = np.broadcast_arrays(np.asarray(lam, dtype=float),
                                           np.asarray(mu, dtype=float),
                                           np.asarray(c, dtype=np.int64))
    a = np.divide(lam_a, mu_a)
    pw = erlang_c(c_a, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        wq = np.where(lam_a >= c_a * mu_a, np.inf, pw / (c_a * mu_a - lam_a))
    return np.where(lam_a <= 0.0, 0.0, wq)


def total_wait(lam: np.ndarray, mu: np.ndarray, c: np.ndarray) -> float:
    """Sum ``lambda_s W_q,s`` over squads (mean cases waiting in queue, by Little's law)."""
    lam = np.asarray(lam, dtype=float)
    return float(np.sum(np.where(lam > 0, lam * mean_wait(lam, mu, c), 0.0)))


def optimise_servers(lam: np.ndarray, mu: np.ndarray, total: int, minimum: int = 1) -> np.ndarray:
    """Servers per queue minimising the demand-weighted mean wait ``sum(lam W_q) / sum(lam)``.

    Every queue first gets ``minimum`` servers. While some queue is unstable (``a >= c``), the
    next server goes to the unstable queue with the highest utilisation ``a / c``. Then each
    further server goes where it removes the most waiting, ``lam_s (W_q,s(c_s) - W_q,s(c_s + 1))``
    (ties: lower index). Because ``W_q`` of an M/M/c queue is convex and decreasing in ``c``
    (Dyer & Proll 1977), and every finite allocation needs at least the servers that make each
    queue stable, this marginal (greedy) allocation is optimal (Fox 1966). Gains within a
    relative 1e-9 of the best count as ties and go to the queue with the highest ``a / c``, so
    a very lightly loaded street (gains that underflow to 0) is still staffed in proportion to
    load rather than piled on the first queue.

    Parameters
    ----------
    lam : ndarray
        Arrival rate per queue (cases per day), >= 0.
    mu : ndarray
        Service rate per server per queue (cases per day), > 0.
    total : int
        Servers to allocate; if fewer than ``minimum * len(lam)``, servers are dealt one per
        queue in order of ``lam`` (largest first) and the rest get none.
    minimum : int, optional
        Servers each queue keeps (default 1).

    Returns
    -------
    ndarray of int
        Servers per queue, summing to ``total``.

    Examples
    --------
    >>> optimise_servers(np.array([4.0, 1.0]), np.array([1.0, 1.0]), 8).tolist()
    [6, 2]
    """
    lam = np.asarray(lam, dtype=float)
    mu = np.broadcast_to(np.asarray(mu, dtype=float), lam.shape)
    n = lam.size
    if total < minimum * n:
        c = np.zeros(n, dtype=np.int64)
        c[np.argsort(-lam, kind="stable")[:total]] = 1
        return c
    c = np.full(n, minimum, dtype=np.int64)
    a = np.where(mu > 0, lam / mu, np.inf)
    for _ in range(total - int(c.sum())):
        unstable = a >= c
        if unstable.any():
            util = np.where(unstable, a / np.maximum(c, 1), -np.inf)
            c[int(np.argmax(util))] += 1
            continue
        gain = lam * (mean_wait(lam, mu, c) - mean_wait(lam, mu, c + 1))
        # near-ties (including gains that underflow to 0 at very light load) go to the
        # busiest queue per server, then the lower index
        tied = gain >= gain.max() * (1.0 - 1e-9)
        c[int(np.argmax(np.where(tied, a / c, -np.inf)))] += 1
    return c


# ---------------------------------------------------------------- demand forecast


@dataclass(frozen=True)
class Demand:
    """A forecast of enforcement work per grid, per working day.

    Attributes
    ----------
    cases : ndarray, shape (n_grids,)
        Expected new cases per working day.
    hours : ndarray, shape (n_grids,)
        Expected officer hours of those cases per working day (service, no travel).
    """

    cases: np.ndarray
    hours: np.ndarray


def prior_onset_rate(sc: Scenario) -> float:
    """Return the prior onsets per exposure pair per year, before domain weights.

    Mixes the risk types by ``population.risk_types``: honest 0, the incompetent rate, and for
    rational and imitator firms ``max_onset_rate * sigmoid(U / tau)`` with the mean gain and the
    initial perceived risk, ``U = gain_mean - w(p0) S`` (compliance.py, M1).
    """
    from reformsim.mechanisms.compliance import probability_weight

    cs = sc.compliance
    s = cs.sanction_size + (cs.colour_leverage if sc.levers.three_colour else 0.0)
    w = float(probability_weight(np.array([cs.initial_perceived_risk]),
                                 cs.probability_weighting_gamma)[0])
    u = cs.gain_mean - w * s
    deciding = cs.max_onset_rate_per_year / (1.0 + math.exp(-u / cs.choice_noise))
    mix = sc.population.risk_types
    return (mix.get("rational", 0.0) + mix.get("imitator", 0.0)) * deciding + \
        mix.get("incompetent", 0.0) * cs.incompetent_rate_per_year


def forecast_demand(sc: Scenario, ent: Enterprises, complaint_mass: np.ndarray,
                    patrol_hours: np.ndarray) -> Demand:
    """Forecast cases and case hours per grid per working day from set-up data.

    Per exposure pair in domain ``d``: onsets per year ``r0 * w_d`` (:func:`prior_onset_rate`,
    ``domains[].violation_weight``); a share becomes a street-side case: visible matters
    (``catalog.visible_share``, mean visibility 0.75) detected before they end by themselves,
    ``h / (h + s)`` with ``h`` the complaint + patrol + platform hazard of the grid (detection.py,
    with the street team's full reporting) and ``s`` the self-correction rate. Hours per case:
    ``complexity_hours_d + casework.handling_hours``.

    Parameters
    ----------
    sc : Scenario
    ent : Enterprises
        Firms' grids and exposure pairs.
    complaint_mass : ndarray
        Complaint-propensity mass of each grid's residents.
    patrol_hours : ndarray
        Expected grid-worker patrol hours per grid per working day.

    Returns
    -------
    Demand
    """
    n_grids = complaint_mass.size
    w_d = np.array([d.violation_weight for d in sc.domains])
    hours_d = np.array([d.complexity_hours for d in sc.domains]) + sc.casework.handling_hours
    working_per_year = 365.0 * sc.run.working_days_per_week / 7.0
    pair_grid = ent.grid[ent.pair_ent]
    onsets = prior_onset_rate(sc) * w_d[ent.pair_dom] / working_per_year
    det = sc.detection
    vis = MEAN_VISIBILITY
    h = vis * (det.complaint_rate * complaint_mass / 1000.0
               + det.patrol_rate * patrol_hours * sc.run.working_days_per_week / 7.0 / 8.0
               + det.platform_rate)
    s = sc.compliance.self_correction_rate_per_year / 365.0
    caught = sc.catalog.visible_share * np.divide(h, h + s, out=np.ones_like(h), where=h + s > 0)
    per_pair = onsets * caught[pair_grid]
    cases = np.bincount(pair_grid, weights=per_pair, minlength=n_grids)
    hours = np.bincount(pair_grid, weights=per_pair * hours_d[ent.pair_dom], minlength=n_grids)
    return Demand(cases=cases, hours=hours)


def expected_patrol_hours(sc: Scenario, residents_per_grid: np.ndarray,
                          mean_literacy: np.ndarray) -> np.ndarray:
    """Grid-worker hours left for patrol per grid per working day, after expected assistance.

    Grid workers are spread over the grids in turn (as in the model); expected assisted requests
    ``R_g * demand * (1 - literacy_g)`` per working day are capped at ``grid_assist_share_max``.
    """
    n_grids = residents_per_grid.size
    st = sc.staffing
    workers = np.bincount(np.arange(st.grid_workers) % n_grids, minlength=n_grids)
    hours = workers * st.hours_per_day
    sv = sc.services
    per_day = sv.demand_per_resident_per_year / (365.0 * sc.run.working_days_per_week / 7.0)
    assist = residents_per_grid * per_day * (1.0 - mean_literacy) * sv.assist_hours
    return hours - np.minimum(assist, hours * sc.levers.grid_assist_share_max)


# ---------------------------------------------------------------- the rules


def grid_weight(rule: str, residents_per_grid: np.ndarray, demand: Demand) -> np.ndarray:
    """Per-grid weight for cutting areas of equal total weight under ``rule``.

    ``equal``: 1 per grid; ``by_population``: residents; ``by_case_frequency``: forecast cases;
    ``optimised``: forecast case hours (equal expected workload per area). A tiny constant keeps
    empty grids orderable.
    """
    if rule == "equal":
        return np.ones(residents_per_grid.size)
    if rule == "by_population":
        return residents_per_grid.astype(float) + 1e-9
    if rule == "by_case_frequency":
        return demand.cases + 1e-9
    if rule == "optimised":
        return demand.hours + 1e-9
    raise ValueError(f"rule: expected one of {', '.join(RULES)}, got {rule!r}")


def squad_counts(rule: str, kinds: list[int], residents: np.ndarray, cases: np.ndarray,
                 hours: np.ndarray, hours_per_day: float) -> np.ndarray:
    """Officers per squad for each kind of officer, under ``rule``.

    The rule sets each squad's *total*: ``equal`` splits all officers evenly (the first squads
    get the remainder), ``by_population`` and ``by_case_frequency`` split them by Hamilton in
    proportion to residents or forecast cases (at least one per squad when there are enough
    officers), ``optimised`` uses :func:`optimise_servers` with arrival rate ``cases`` and
    service rate per officer ``hours_per_day * cases / hours`` (cases per officer-day). Each
    squad's total is then split between the kinds in proportion to the totals (Hamilton, kinds
    in the order given), so every squad gets as even a mix of kinds as the counts allow. With
    equal totals and kind counts divisible by the squads this is exactly the round-robin of each
    kind.

    Parameters
    ----------
    rule : str
        One of :data:`RULES`.
    kinds : list of int
        Officers of each kind to place (e.g. ``[pooled seconded, street staff]``).
    residents, cases, hours : ndarray, shape (n_squads,)
        Residents, forecast cases per working day and forecast case hours per working day
        (including travel) of each squad's area.
    hours_per_day : float
        Officer hours per working day.

    Returns
    -------
    ndarray of int, shape (len(kinds), n_squads)
        Row ``k`` sums to ``kinds[k]``.

    Examples
    --------
    >>> squad_counts("equal", [2, 6], np.ones(4), np.ones(4), np.ones(4), 8.0).tolist()
    [[1, 1, 0, 0], [1, 1, 2, 2]]
    """
    n = residents.size
    total = int(sum(kinds))
    if rule == "equal":
        totals = largest_remainder(total, np.ones(n))
    elif rule == "by_population":
        totals = largest_remainder(total, residents, minimum=1)
    elif rule == "by_case_frequency":
        totals = largest_remainder(total, cases, minimum=1)
    elif rule == "optimised":
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = np.where((hours > 0) & (cases > 0), hours_per_day * cases / hours, 1.0)
        totals = optimise_servers(cases, mu, total)
    else:
        raise ValueError(f"rule: expected one of {', '.join(RULES)}, got {rule!r}")
    return split_kinds(totals, kinds)


def split_kinds(totals: np.ndarray, kinds: list[int]) -> np.ndarray:
    """Split squad totals between kinds of officer (Hamilton in proportion to what is left).

    Parameters
    ----------
    totals : ndarray of int
        Officers per squad; sums to ``sum(kinds)``.
    kinds : list of int
        Officers of each kind.

    Returns
    -------
    ndarray of int, shape (len(kinds), len(totals))
        Rows sum to ``kinds``, columns to ``totals``.
    """
    out = np.zeros((len(kinds), totals.size), dtype=np.int64)
    left = np.asarray(totals, dtype=np.int64).copy()
    for i, k in enumerate(kinds):
        if i == len(kinds) - 1:
            out[i] = left
            break
        row = np.minimum(largest_remainder(k, left), left)
        while row.sum() < k:  # rounding against the cap: top up where room is left
            row[int(np.argmax(left - row))] += 1
        out[i] = row
        left = left - row
    return out
