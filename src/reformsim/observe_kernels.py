"""Compiled kernels of steps 2 and 9: residents' services and the daily KPIs (issue 4).

Each kernel fuses a day's small numpy calls of
:class:`~reformsim.mechanisms.residents.ResidentServices` (domain.md M13, M16),
:class:`~reformsim.metrics.Recorder` or
:meth:`~reformsim.mechanisms.training.Training.speed_ratio` (M12) into one loop over plain arrays
(see :mod:`reformsim.jit`). They make the same floating-point operations in the same order as the
numpy fallback of those classes, so both paths give equal outputs bit for bit.

The daily means (enterprises' satisfaction and trust) are numpy's sums (the residents' mean is
kept up to date from the residents who changed: :mod:`reformsim.pairwise`),
reproduced exactly: numpy adds a contiguous float64 array *pairwise* (``pairwise_sum`` in numpy's
``loops_utils.h``): blocks of at most 128 elements are leaves, summed with eight accumulators
(fewer than eight elements one by one), longer ranges are split in two at a multiple of 8 below
the middle, and the reduction adds the total to the identity ``0.0``. :func:`pairwise_plan` writes
that recursion down once per array size; :func:`observe_day` evaluates it.
"""

from __future__ import annotations

import numpy as np

from reformsim.jit import kernel
from reformsim.population import BLACK, GREEN, YELLOW

#: numpy's ``PW_BLOCKSIZE``: the longest leaf of the pairwise summation
PW_BLOCKSIZE = 128

#: word constants of :func:`observe_day`'s colour count (colour codes 0, 1, 2 in bytes)
if (GREEN, YELLOW, BLACK) != (0, 1, 2):  # the word arithmetic below relies on these codes
    raise RuntimeError(f"colour codes: expected (0, 1, 2), got {(GREEN, YELLOW, BLACK)}")
_W0, _W1, _W56 = np.uint64(0), np.uint64(1), np.uint64(56)
_BYTE_ONES = np.uint64(0x0101010101010101)
_NOT_COLOUR = np.uint64(0xFCFCFCFCFCFCFCFC)

_U1, _U2, _U3, _U4, _U5, _U6, _U7, _U8 = (np.uint64(k) for k in range(1, 9))

#: rows of the recorder's table that :func:`observe_day` writes (``Recorder.cols`` order)
(T_VIOLATIONS_OPEN, T_COMPLIANCE, T_GREEN, T_YELLOW, T_BLACK, T_BACKLOG, T_ASSISTED,
 T_RES_SAT, T_ENT_SAT, T_REQUESTS, T_PATROL, T_SPEED, T_TRUST, T_BUSY, T_DELEGATED) = range(15)


def pairwise_plan(n: int) -> np.ndarray:
    """Write numpy's pairwise summation of ``n`` contiguous float64 as a post-order program.

    Returns
    -------
    ndarray of int64, shape (m, 2)
        A row ``(start, length)`` adds up the leaf ``x[start:start + length]``; a row
        ``(-1, 0)`` replaces the two last results by their sum (left + right).
    """
    rows: list[tuple[int, int]] = []

    def split(lo: int, k: int) -> None:
        if k <= PW_BLOCKSIZE:
            rows.append((lo, k))
            return
        k2 = k // 2
        k2 -= k2 % 8
        split(lo, k2)
        split(lo + k2, k - k2)
        rows.append((-1, 0))

    split(0, n)
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


@kernel
def observe_day(xs, plans, layout, colour, violating, authority, table, day, backlog, assisted,
                requests, speed, busy, n_pairs, n_firms, res_mean):
    """Step 9 (:meth:`Recorder.observe`): write today's KPIs into column ``day`` of ``table``.

    ``xs`` holds enterprises' satisfaction, enterprises' trust and the grids' patrol hours;
    their numpy sums give the two means and the patrol total (the residents' mean satisfaction
    ``res_mean`` is given: :meth:`~reformsim.population.Residents.mean_satisfaction`).
    Array ``j`` has ``layout[1, j + 1] - layout[1, j]`` elements, summed by the rows
    ``layout[0, j]:layout[0, j + 1]`` of ``plans`` (see :func:`pairwise_plan`). Colour shares
    are counts over the firms (``n_firms``, at least 1);
    the other columns are given (``backlog`` ... ``busy``, ``res_mean``) or counted (open violation pairs,
    matters delegated to the team).

    Returns
    -------
    bool
        False (and nothing written) when an array's size is not the planned one.
    """
    for j in range(len(xs)):
        if xs[j].size != layout[1, j + 1] - layout[1, j]:
            return False
    sums = np.empty(len(xs))
    stack = np.empty(64)  # pending sums: at most one per level of the recursion
    for j in range(len(xs)):
        v = xs[j]
        sp = 0
        for r in range(layout[0, j], layout[0, j + 1]):
            if plans[r, 0] < 0:  # left + right
                sp -= 1
                stack[sp - 1] = stack[sp - 1] + stack[sp]
                continue
            # a leaf, as numpy adds it; unsigned indices: no checks for negative ones
            lo, n = np.uint64(plans[r, 0]), np.uint64(plans[r, 1])
            if n < _U8:
                res = 0.0
                for i in range(lo, lo + n):
                    res += v[i]
            else:
                r0, r1, r2, r3 = v[lo], v[lo + _U1], v[lo + _U2], v[lo + _U3]
                r4, r5, r6, r7 = v[lo + _U4], v[lo + _U5], v[lo + _U6], v[lo + _U7]
                end = lo + n - n % _U8
                for i in range(lo + _U8, end, 8):
                    r0 += v[i]
                    r1 += v[i + _U1]
                    r2 += v[i + _U2]
                    r3 += v[i + _U3]
                    r4 += v[i + _U4]
                    r5 += v[i + _U5]
                    r6 += v[i + _U6]
                    r7 += v[i + _U7]
                res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
                for i in range(end, lo + n):
                    res += v[i]
            stack[sp] = res
            sp += 1
        sums[j] = 0.0 + stack[0]
    n_ent = xs[0].size
    open_pairs = np.int64(0)
    for g in range(violating.size):
        open_pairs += violating[g]
    table[T_VIOLATIONS_OPEN, day] = open_pairs
    table[T_COMPLIANCE, day] = 1.0 - open_pairs / n_pairs if n_pairs else 1.0
    # colours 8 firms at a time (bytes of a word): yellow (1) sets bit 0, black (2) bit 1;
    # a byte-wise sum of the bits (a product with 0x0101...01, read in the top byte) counts them
    n_words = colour.size // 8 if colour.itemsize == 1 else 0
    words = colour[:n_words * 8].view(np.uint64)
    n_yellow = n_black = _W0
    for k in range(n_words):
        w = words[k]
        if w & _NOT_COLOUR or w & (w >> _W1) & _BYTE_ONES:  # a byte not 0, 1 or 2
            n_words = k
            break
        n_yellow += ((w & _BYTE_ONES) * _BYTE_ONES) >> _W56
        n_black += (((w >> _W1) & _BYTE_ONES) * _BYTE_ONES) >> _W56
    n_green = n_words * 8 - int(n_yellow) - int(n_black)
    n_yellow, n_black = int(n_yellow), int(n_black)
    for i in range(n_words * 8, colour.size):
        c = colour[i]
        n_green += c == GREEN
        n_yellow += c == YELLOW
        n_black += c == BLACK
    table[T_GREEN, day] = n_green / n_firms
    table[T_YELLOW, day] = n_yellow / n_firms
    table[T_BLACK, day] = n_black / n_firms
    table[T_BACKLOG, day] = backlog
    table[T_ASSISTED, day] = assisted
    table[T_REQUESTS, day] = requests
    table[T_PATROL, day] = sums[2]
    table[T_RES_SAT, day] = res_mean
    table[T_ENT_SAT, day] = sums[0] / n_ent if n_ent else np.nan
    table[T_SPEED, day] = speed
    table[T_TRUST, day] = sums[1] / n_ent if n_ent else np.nan
    table[T_BUSY, day] = busy
    delegated = 0
    for i in range(authority.size):
        delegated += authority[i] != 0
    table[T_DELEGATED, day] = delegated
    return True



@kernel
def speed_ratio_terms(skills, complexity, numerator, weight, kappa, handling, out):
    """Write the terms of the generalist speed ratio (domain.md M12) into ``out`` (flattened).

    For squad officer ``o`` (the rows of the squads' skill matrices ``skills``, in order) and
    domain ``d``: ``(c_d + h) / (c_d (1 + kappa (1 - skill_od)) + h) * weight_od``, the same
    operations in the same order as :meth:`Training.speed_ratio`'s numpy path.

    Returns
    -------
    bool
        False when the shapes do not fit ``weight`` (nothing written) or a denominator is 0.
    """
    n_dom = weight.shape[1]
    rows = 0
    for s in skills:
        if s.shape[1] != n_dom:
            return False
        rows += s.shape[0]
    if rows != weight.shape[0] or complexity.size != n_dom or numerator.size != n_dom:
        return False
    k = 0
    for s in skills:
        for o in range(s.shape[0]):
            w = weight[k]
            t = out[k * n_dom:(k + 1) * n_dom]
            for d in range(n_dom):
                r = 1.0 - s[o, d]
                r *= kappa
                r += 1.0
                r *= complexity[d]
                r += handling
                if r == 0.0:  # numpy's x / 0 (inf or nan): left to the numpy path
                    return False
                r = numerator[d] / r
                t[d] = r * w[d]
            k += 1
    return True


@kernel
def serve_requests(who, u, literacy, grid, capacity, hours, assist_hours, w, satisfaction,
                   patrol):
    """One working day of :meth:`ResidentServices.step` after the draws (domain.md M16, M13).

    Request ``i`` of resident ``who[i]`` succeeds by self-service unless
    ``u[i] >= literacy[who[i]]``; a failed one asks its grid's workers, who serve requests in
    arrival order up to the grid's ``capacity``. ``patrol`` receives each grid's hours left,
    ``max(hours - served * assist_hours, 0)``. Satisfaction moves by ``w`` towards 1 for
    every request but the unserved ones, then towards 0 for those; each step reads all its
    residents' values before it writes (a resident asking twice moves once per step), as the
    numpy path's gathers and scatters do.

    Returns
    -------
    tuple of int
        ``(failed, unserved)``: requests whose self-service failed, and those not served.
    """
    k = who.size
    n_grids = capacity.size
    served = np.zeros(n_grids, np.int64)
    unserved = np.zeros(k, np.bool_)
    n_failed = 0
    n_unserved = 0
    for i in range(k):
        if u[i] >= literacy[who[i]]:  # self-service fails: ask the grid worker
            n_failed += 1
            g = grid[who[i]]
            if served[g] < capacity[g]:
                served[g] += 1
            else:
                unserved[i] = True
                n_unserved += 1
    for g in range(n_grids):
        p = hours[g] - served[g] * assist_hours
        patrol[g] = p if p >= 0.0 or p != p else 0.0  # np.maximum(p, 0.0), NaN kept
    new = np.empty(k)
    for i in range(k):
        if not unserved[i]:
            s = satisfaction[who[i]]
            new[i] = s + w * (1.0 - s)
    for i in range(k):
        if not unserved[i]:
            satisfaction[who[i]] = new[i]
    if n_unserved:
        for i in range(k):
            if unserved[i]:
                s = satisfaction[who[i]]
                new[i] = s + w * (0.0 - s)
        for i in range(k):
            if unserved[i]:
                satisfaction[who[i]] = new[i]
    return n_failed, n_unserved
