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
def colour_counts(colour):
    """Count the non-green and the black firms (``count_nonzero`` of ``colour``, ``colour == 2``).

    Colours are green 0, yellow 1, black 2 (:mod:`reformsim.population`; domain.md M5). With
    ``Y`` yellow and ``B`` black firms, the sum of the colours is ``Y + 2B`` and the sum of
    their squares ``Y + 4B``: two sums the compiler vectorises, unlike two counts.
    """
    s1 = 0
    s2 = 0
    for i in range(colour.size):
        c = np.int64(colour[i])  # no int8 overflow in the plain function either
        s1 += c
        s2 += c * c
    black = (s2 - s1) // 2
    return s1 - black, black


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
def choose_visits(cand, u, accept, colour, firm_of, body_of, planned, rows, seq0, bounds):
    """Thinning acceptance of today's candidates, grouped by the body making the visit.

    Candidate ``cand[i]`` (an exposure pair or a firm) is chosen when ``u[i]`` is below the
    acceptance probability of its firm's colour, ``accept[colour[firm_of[cand[i]]]]`` (a NaN
    chooses nobody). Each chosen visit adds one to its firm's ``planned`` count (in place; no
    yearly cap) and takes the next ``seq`` after ``seq0``, in increasing order of the chosen
    indices (as ``model.next_seq`` one by one).

    Returns
    -------
    ndarray of int64, shape (k, 2 + rows.shape[1])
        One row per chosen visit: its index, its ``seq``, then ``rows`` of the index. Grouped by
        body (``body_of`` of the index, in ``[0, n_bodies)``), in increasing order within each
        body (a stable counting sort); the visits of body ``b`` are rows
        ``bounds[b]:bounds[b + 1]`` (``bounds``, of size ``n_bodies + 1``, is filled in place).
    """
    n = cand.size
    n_bodies = bounds.size - 1
    chosen = np.empty(n, np.int64)
    bounds[:] = 0
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
    n_cols = rows.shape[1]
    table = np.empty((m, 2 + n_cols), np.int64)
    for i in range(m):
        c = chosen[i]
        b = body_of[c]
        j = fill[b]
        fill[b] += 1
        table[j, 0] = c
        table[j, 1] = seq0 + 1 + i
        for col in range(n_cols):
            table[j, 2 + col] = rows[c, col]
    return table
