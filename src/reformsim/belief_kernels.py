"""Compiled daily loops of steps 6-8: visit booking, clean checks, beliefs (issue 4).

Each function here is a :class:`~reformsim.jit.Kernel`: the mechanism that uses it
(:mod:`~reformsim.mechanisms.beliefs`, :mod:`~reformsim.mechanisms.burden`,
:mod:`~reformsim.mechanisms.sanctions`) keeps its numpy/Python path as the fallback, and the
kernel makes the same floating-point operations, in the same order, on every element, so both
paths give bit-identical states. Random draws and powers stay in numpy, outside the kernels.
"""

from __future__ import annotations

import math

import numpy as np

from reformsim.jit import kernel
from reformsim.population import BLACK, GREEN, YELLOW

#: slots of the constants vector of :func:`beliefs_day`
RISK_KEEP, RISK_PRIOR, NEIGHBOUR_WEIGHT, DAY_KEEP, SATISFACTION_PRIOR = range(5)


@kernel
def beliefs_day(p_hat: np.ndarray, grid_bounds: np.ndarray, pair_order: np.ndarray,
                firm_grid: np.ndarray, touched: np.ndarray, mask: np.ndarray,
                denominator: np.ndarray, hit: np.ndarray, visits_12m: np.ndarray,
                satisfaction: np.ndarray, consts: np.ndarray) -> int:
    """Apply one day of ``Beliefs.step`` (domain.md M2, M6).

    Per firm: ``visits_12m <- visits_12m d`` and ``S <- S d + S0 (1 - d)`` (one-year time
    constant). Per exposure pair: relaxation ``p <- p (1 - lambda) + lambda p0``, then general
    deterrence ``p <- p + b f_g (1 - p)`` with ``f_g`` the share of the grid's firms touched
    today, when any firm was touched and ``b > 0`` (pairs of grids with ``f_g = 0`` are left as
    they are: ``p + 0 = p``).

    Parameters
    ----------
    p_hat
        Perceived risk per pair (updated in place).
    grid_bounds
        Pairs of grid ``g`` are ``pair_order[grid_bounds[g]:grid_bounds[g + 1]]``.
    pair_order
        Pair indices sorted by grid; empty when the pairs are already sorted by grid (the
        identity).
    firm_grid
        Each firm's grid.
    touched
        Today's touched firms, distinct, in ``touched[1:1 + touched[0]]`` (see
        :func:`touch_firms`); ``touched[0]`` is reset to 0.
    mask
        Marks the touched firms (cleared).
    denominator
        Firms per grid (1 in grids without firms).
    hit
        Work array over the grids (overwritten: touched firms per grid).
    visits_12m, satisfaction
        Per-firm burden state (updated in place).
    consts
        ``[1 - lambda, lambda p0, b, d, S0 (1 - d)]`` (slots ``RISK_KEEP`` ...).

    Returns
    -------
    int
        Number of firms touched today.
    """
    keep, prior, weight = consts[0], consts[1], consts[2]
    day_keep, sat_prior = consts[3], consts[4]
    for i in range(visits_12m.size):  # separate loops: each one vectorises
        visits_12m[i] = visits_12m[i] * day_keep
    for i in range(satisfaction.size):
        satisfaction[i] = satisfaction[i] * day_keep + sat_prior
    n_touched = touched[0]
    touched[0] = 0
    hit[:] = 0
    for j in range(n_touched):
        e = touched[1 + j]
        mask[e] = False
        hit[firm_grid[e]] += 1
    if pair_order.size == 0:  # pairs sorted by grid: relax all, then raise touched grids
        for i in range(p_hat.size):
            p_hat[i] = p_hat[i] * keep + prior
        if n_touched > 0 and weight > 0:
            for g in range(grid_bounds.size - 1):
                if hit[g]:
                    b = weight * (hit[g] / denominator[g])
                    span = p_hat[grid_bounds[g]:grid_bounds[g + 1]]
                    for i in range(span.size):
                        p = span[i]
                        span[i] = p + b * (1.0 - p)
        return n_touched
    deter = n_touched > 0 and weight > 0
    for g in range(grid_bounds.size - 1):
        b = weight * (hit[g] / denominator[g]) if deter else 0.0
        for j in range(grid_bounds[g], grid_bounds[g + 1]):
            i = pair_order[j]
            p = p_hat[i] * keep + prior
            if b != 0.0:
                p = p + b * (1.0 - p)
            p_hat[i] = p
    return n_touched


@kernel
def touch_firms(touched: np.ndarray, mask: np.ndarray, firms: np.ndarray) -> None:
    """Add ``firms`` to today's touched firms (see :func:`beliefs_day`), each once a day.

    ``mask`` marks the firms listed so far (:func:`beliefs_day` clears it).
    """
    n = touched[0]
    for e in firms:
        if not mask[e]:
            mask[e] = True
            n += 1
            touched[n] = e
    touched[0] = n


#: slots of the constants vector of :func:`book_visits_day`
TOLERANCE, BURDEN_PENALTY, BURDEN_KEEP, RISK_OWN_KEEP, N_DEPARTMENTS, DUPLICATE_WINDOW = range(6)


@kernel
def book_visits_day(firm_rows: np.ndarray, unit_rows: np.ndarray, at_rows: np.ndarray,
                    pairs: np.ndarray, last_body: np.ndarray, last_day: np.ndarray,
                    visits_12m: np.ndarray, satisfaction: np.ndarray, trust: np.ndarray,
                    p_hat: np.ndarray, pair_count: np.ndarray, touched: np.ndarray,
                    mask: np.ndarray, consts: np.ndarray, duplicate: np.ndarray,
                    firms: np.ndarray, conflicts: np.ndarray, first_at: np.ndarray) -> tuple:
    """Book a day's visits but the random inconsistent rulings (domain.md M2, M6, M14).

    The kernel of :meth:`VisitBurden.book <reformsim.mechanisms.burden.VisitBurden.book>`.

    Visits are taken by firm, then in time order. A visit is a duplicate when another body
    visited the firm within 30 days; its ``k``-th visit today (``k`` from 0) makes
    ``V = (visits_12m + k) + 1``, beyond tolerance when ``V > V_tol``. The firm's satisfaction
    is multiplied by the product, in visit order, of ``1 - penalty`` (beyond tolerance or
    duplicate) or ``1``; its trust by ``(1 - eta_burden) ** n_beyond``; ``visits_12m`` grows by
    the visits, and the last visit's time and body are kept. A duplicate by a department after
    another department counts as a possible conflict. Every checked pair, ``k`` times:
    ``p <- 1 - (1 - p)(1 - a) ** k``. The firms are added to today's touched firms
    (:func:`touch_firms`). Powers with exponent 2 or more are ``math.pow`` (the C library's
    ``pow``, as numpy's ``power``); exponents 0 and 1 are exact without it.

    Parameters
    ----------
    firm_rows, unit_rows, at_rows
        Today's visits in time order.
    pairs
        The pairs checked by today's visits.
    last_body, last_day, visits_12m, satisfaction, trust, p_hat
        Firm and pair columns (updated in place).
    pair_count
        Work array over the pairs, all 0 (left so).
    touched, mask
        Today's touched firms (see :func:`touch_firms`).
    consts
        ``[V_tol, penalty, 1 - eta_burden, 1 - a, number of departments, 30 days]``.
    duplicate
        Out: per visit (in the rows' order), whether it is a duplicate.
    firms, conflicts, first_at
        Out, per visited firm in firm order: the firm, its possibly conflicting visits, the
        time of its first visit today.

    Returns
    -------
    tuple of int
        Visited firms, and firms with possible conflicts.
    """
    tolerance, penalty, burden_keep = consts[0], consts[1], consts[2]
    risk_keep, n_depts, window = consts[3], consts[4], consts[5]
    n = firm_rows.size
    order = np.argsort(firm_rows, kind="mergesort")  # stable: by firm, then time
    n_firms = 0
    n_conflicting = 0
    j = 0
    while j < n:
        e = firm_rows[order[j]]
        prev_at, prev_unit = last_day[e], last_body[e]
        before = visits_12m[e]
        factor = 1.0
        beyond = 0
        conflict = 0
        first_at[n_firms] = at_rows[order[j]]
        rank = 0
        while j < n and firm_rows[order[j]] == e:
            i = order[j]
            u, t = unit_rows[i], at_rows[i]
            dup = t - prev_at <= window and prev_unit != u
            duplicate[i] = dup
            over = (before + rank) + 1.0 > tolerance
            if over:
                beyond += 1
            factor = factor * (1.0 - penalty if over or dup else 1.0)
            if dup and u < n_depts and prev_unit >= 0 and prev_unit < n_depts:
                conflict += 1
            prev_at, prev_unit = t, u
            rank += 1
            j += 1
        satisfaction[e] = satisfaction[e] * factor
        if beyond == 1:
            trust[e] = trust[e] * burden_keep
        elif beyond > 1:
            trust[e] = trust[e] * math.pow(burden_keep, beyond + 0.0)
        visits_12m[e] = before + rank
        last_day[e], last_body[e] = prev_at, prev_unit
        firms[n_firms] = e
        conflicts[n_firms] = conflict
        n_firms += 1
        if conflict:
            n_conflicting += 1
        if not mask[e]:
            mask[e] = True
            touched[0] += 1
            touched[touched[0]] = e
    for q in pairs:
        pair_count[q] += 1
    for q in pairs:
        k = pair_count[q]
        if k:
            pair_count[q] = 0
            keep = risk_keep if k == 1 else math.pow(risk_keep, k + 0.0)
            p_hat[q] = 1.0 - (1.0 - p_hat[q]) * keep
    return n_firms, n_conflicting


@kernel
def clean_checks_day(firms: np.ndarray, checks: np.ndarray, escalation: np.ndarray,
                     colour: np.ndarray, need: int, changes: np.ndarray) -> int:
    """Record the day's clean inspections, in order (domain.md M5).

    The kernel of :meth:`Sanctions.clean_checks
    <reformsim.mechanisms.sanctions.Sanctions.clean_checks>`.

    A firm's ``need``-th clean check in a row lowers its escalation by one (not below 0) and
    moves yellow to green or black to yellow (the count starts again); a green firm keeps
    counting. Each colour move is written to ``changes[0, k], changes[1, k]`` (old, new), in
    order.

    Returns
    -------
    int
        Number of colour moves.
    """
    k = 0
    for e in firms:
        n = checks[e] + 1
        checks[e] = n
        if n < need:
            continue
        escalation[e] = max(escalation[e] - 1, 0)
        c = colour[e]
        if c == YELLOW or c == BLACK:
            new = GREEN if c == YELLOW else YELLOW
            colour[e] = new
            checks[e] = 0
            changes[0, k] = c
            changes[1, k] = new
            k += 1
    return k
