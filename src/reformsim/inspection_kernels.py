"""Compiled day kernels of step 5, inspection planning (domain.md M5, M14).

They fuse the small numpy operations of one day of
:class:`~reformsim.mechanisms.inspection.InspectionPlanning` into loops over plain arrays (see
:mod:`reformsim.jit`): the candidates of the thinning (positions of a Bernoulli process from
geometric gaps, :func:`~reformsim.mechanisms.inspection.bernoulli_positions`) and their
acceptance, with the count of planned visits per firm and the grouping of the chosen visits by
the body that makes them. Only integer arithmetic and comparisons of doubles: the results equal
the numpy fallback's exactly. The random numbers (geometric gaps, uniforms) are drawn by the
caller from the same stream, in the same order and sizes, as the fallback.
"""

from __future__ import annotations

import numpy as np

from reformsim.jit import kernel


@kernel
def gap_positions(gaps, size, last):
    """Turn geometric ``gaps`` (in place) into the positions of successes after ``last``.

    The same as ``np.add.accumulate(np.minimum(gaps, size + 1)) + last``: a gap past the end
    of the ``size`` trials ends the range (no overflow).

    Returns
    -------
    tuple of int
        The last position (the next chunk starts after it) and how many positions are below
        ``size`` (they are increasing: a prefix).
    """
    n = 0
    for i in range(gaps.size):
        g = gaps[i]
        if g > size + 1:
            g = size + 1
        last += g
        gaps[i] = last
        if last < size:
            n += 1
    return last, n


@kernel
def choose_visits(cand, u, accept, colour, firm_of, body_of, planned, n_bodies):
    """Thinning acceptance of today's candidates and grouping of the chosen visits by body.

    Candidate ``cand[i]`` (an exposure pair or a firm) is chosen when ``u[i]`` is below the
    acceptance probability of its firm's colour, ``accept[colour[firm_of[cand[i]]]]`` (a NaN
    chooses nobody). Each chosen visit adds one to its firm's ``planned`` count (in place; no
    yearly cap).

    Returns
    -------
    chosen : ndarray of int64
        The chosen indices, in increasing order (the order of the visits' ``seq``).
    order : ndarray of int64
        Positions in ``chosen`` grouped by body (``body_of``, in ``[0, n_bodies)``), in
        increasing order within each body (a stable counting sort).
    bounds : ndarray of int64
        ``order[bounds[b]:bounds[b + 1]]`` are the visits of body ``b``.
    """
    n = cand.size
    chosen = np.empty(n, np.int64)
    bounds = np.zeros(n_bodies + 1, np.int64)
    m = 0
    for i in range(n):
        c = cand[i]
        f = firm_of[c]
        if u[i] < accept[colour[f]]:
            chosen[m] = c
            m += 1
            planned[f] += 1
            bounds[body_of[c] + 1] += 1
    for b in range(n_bodies):
        bounds[b + 1] += bounds[b]
    fill = bounds[:n_bodies].copy()
    order = np.empty(m, np.int64)
    for i in range(m):
        b = body_of[chosen[i]]
        order[fill[b]] = i
        fill[b] += 1
    return chosen[:m], order, bounds
