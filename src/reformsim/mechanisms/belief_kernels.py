"""Compiled daily loops of steps 6-8: visit booking, clean checks, beliefs (issue 4).

Each function here is a :class:`~reformsim.jit.Kernel`: the mechanism that uses it
(:mod:`~reformsim.mechanisms.beliefs`, :mod:`~reformsim.mechanisms.burden`,
:mod:`~reformsim.mechanisms.sanctions`) keeps its numpy/Python path as the fallback, and the
kernel makes the same floating-point operations, in the same order, on every element, so both
paths give bit-identical states. Random draws and powers stay in numpy, outside the kernels.
"""

from __future__ import annotations

import numpy as np

from reformsim.jit import kernel

#: slots of the constants vector of :func:`beliefs_day`
RISK_KEEP, RISK_PRIOR, NEIGHBOUR_WEIGHT, DAY_KEEP, SATISFACTION_PRIOR = range(5)


@kernel
def beliefs_day(p_hat: np.ndarray, grid_bounds: np.ndarray, pair_order: np.ndarray,
                firm_grid: np.ndarray, touched: np.ndarray, mask: np.ndarray,
                denominator: np.ndarray, hit: np.ndarray, visits_12m: np.ndarray, satisfaction: np.ndarray,
                consts: np.ndarray) -> int:
    """One day of :meth:`Beliefs.step <reformsim.mechanisms.beliefs.Beliefs.step>` (domain.md M2, M6).

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
    deter = n_touched > 0 and weight > 0
    sorted_pairs = pair_order.size == 0
    for g in range(grid_bounds.size - 1):
        lo, hi = grid_bounds[g], grid_bounds[g + 1]
        b = weight * (hit[g] / denominator[g]) if deter else 0.0
        if sorted_pairs:
            span = p_hat[lo:hi]
            if b != 0.0:
                for i in range(span.size):
                    p = span[i] * keep + prior
                    span[i] = p + b * (1.0 - p)
            else:
                for i in range(span.size):
                    span[i] = span[i] * keep + prior
        else:
            for j in range(lo, hi):
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
