"""numpy's pairwise sum of a float64 column, kept up to date as a few elements change (issue 4).

The daily KPI ``resident_satisfaction`` is the mean of every resident's satisfaction
(``np.add.reduce(x) / x.size``), yet only the few residents who asked for a service or whose
complaint was answered change on a day. numpy adds a contiguous float64 array *pairwise*
(``pairwise_sum`` in numpy's ``numpy/_core/src/umath/loops_utils.h.src``):

* a range of at most 128 elements (``PW_BLOCKSIZE``) is a *leaf*: fewer than 8 elements are
  added one by one from ``0.0``; otherwise eight accumulators ``r0 .. r7`` start at the first
  eight elements, accumulator ``j`` adds every eighth element after its first (up to the last
  multiple of 8), the eight are combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``
  and the remaining ``n % 8`` elements are added one by one;
* a longer range of ``n`` elements is split after ``n2 = n // 2 - (n // 2) % 8`` elements, and
  the sum is ``left + right``;
* the reduction adds the total to the identity ``0.0``.

:func:`pairwise_tree` writes that recursion down as a tree whose nodes keep their partial sums
(for a leaf also its eight accumulators). Leaves start at multiples of 8 (every split point is
one), so element ``i`` is in accumulator ``i % 8`` of the leaf of its group of eight
``i // 8``. :func:`pairwise_total` recomputes, for the elements that changed, their accumulators,
their leaves and the inner nodes (one addition each, ``n / 64`` at most), with the same
additions in the same order as numpy: the total is numpy's bit for bit. A day with a few hundred
changes (450 of 120,000 residents) costs ~70k instructions instead of numpy's ~270k.
"""

from __future__ import annotations

import functools

import numpy as np

from reformsim.jit import kernel

#: numpy's ``PW_BLOCKSIZE``: the longest leaf of the pairwise summation
PW_BLOCKSIZE = 128

#: columns of the node table: for a leaf the first element and the length of its range and a
#: flag (1 while its value is to be recomputed); for an inner node its two children
LO, LEN, DIRTY = range(3)
LEFT, RIGHT = range(2)
#: column of a node's sum in the partial-sum table (columns 0-7: a leaf's accumulators)
VALUE = 8


def pairwise_tree(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tree of numpy's pairwise summation of ``n`` contiguous float64.

    Returns
    -------
    nodes : ndarray of int64, shape (m, 3)
        The leaves from left to right (columns :data:`LO`, :data:`LEN`, :data:`DIRTY`), then
        the inner nodes in post-order (columns :data:`LEFT`, :data:`RIGHT`: children come
        before their parent); the root is the last row.
    group_leaf : ndarray of int64, shape (ceil(n / 8),)
        The leaf (row of ``nodes``) holding elements ``8 g .. 8 g + 7``.
    partial : ndarray of float64, shape (m, 9)
        Room for the accumulators and sums (filled by :func:`pairwise_total` with
        ``n_changed < 0``).
    """
    nodes, group_leaf = _tree_shape(n)
    return nodes.copy(), group_leaf.copy(), np.zeros((len(nodes), 9))


@functools.lru_cache(maxsize=8)
def _tree_shape(n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pairwise_tree`'s node table and groups' leaves (made once per size: ~3 ms)."""
    leaves: list[tuple[int, int]] = []
    inner: list[tuple[int, int]] = []  # children: leaf i as i, inner node j as -1 - j

    def split(lo: int, k: int) -> int:
        if k <= PW_BLOCKSIZE:
            leaves.append((lo, k))
            return len(leaves) - 1
        k2 = k // 2
        k2 -= k2 % 8
        inner.append((split(lo, k2), split(lo + k2, k - k2)))
        return -len(inner)

    split(0, n)
    n_leaves = len(leaves)
    nodes = np.zeros((n_leaves + len(inner), 3), dtype=np.int64)
    nodes[:n_leaves, :2] = leaves
    if inner:
        children = np.array(inner, dtype=np.int64)
        nodes[n_leaves:, :2] = np.where(children >= 0, children, n_leaves - 1 - children)
    # leaves are contiguous and start at multiples of 8: leaf k has ceil(length / 8) groups
    group_leaf = np.repeat(np.arange(n_leaves, dtype=np.int64), (nodes[:n_leaves, LEN] + 7) // 8)
    return nodes, group_leaf


_U0, _U1, _U2, _U3, _U4, _U5, _U6, _U7, _U8 = (np.uint64(k) for k in range(9))
_UVALUE = np.uint64(VALUE)


# The loops index with unsigned integers: numba then adds no check for negative indices (and
# vectorises the accumulators' loop). Mixing uint64 and int64 would give float64: the constants
# above are uint64.

@kernel
def pairwise_total(x, nodes, group_leaf, partial, changed, n_changed):
    """numpy's ``np.add.reduce(x)`` after ``x[changed[:n_changed]]`` changed.

    The other elements must be those of the last call (with the same tree); ``n_changed < 0``
    recomputes everything (the first call, or after writes that were not noted). An index
    repeated in ``changed`` is recomputed once. Returns NaN when ``x`` does not have the tree's
    size (nothing changed then).
    """
    n = x.size
    m = nodes.shape[0]
    n_leaves = group_leaf[-1] + 1 if group_leaf.size else 1
    if n_leaves > m or nodes[n_leaves - 1, LO] + nodes[n_leaves - 1, LEN] != n:
        return np.nan
    for t in range(max(n_changed, 0)):
        if not 0 <= changed[t] < n:
            n_changed = -1
            break
    if n_changed < 0:  # every leaf: its eight accumulators as numpy adds them, then its value
        dirty = np.empty(n_leaves, np.uint64)
        for k in range(n_leaves):
            uk = np.uint64(k)
            lo, length = np.uint64(nodes[k, LO]), np.uint64(nodes[k, LEN])
            if length >= _U8:
                r0, r1, r2, r3 = x[lo], x[lo + _U1], x[lo + _U2], x[lo + _U3]
                r4, r5, r6, r7 = x[lo + _U4], x[lo + _U5], x[lo + _U6], x[lo + _U7]
                for i in range(lo + _U8, lo + length - length % _U8, 8):
                    r0 += x[i]
                    r1 += x[i + _U1]
                    r2 += x[i + _U2]
                    r3 += x[i + _U3]
                    r4 += x[i + _U4]
                    r5 += x[i + _U5]
                    r6 += x[i + _U6]
                    r7 += x[i + _U7]
                partial[uk, _U0], partial[uk, _U1], partial[uk, _U2], partial[uk, _U3] = (
                    r0, r1, r2, r3)
                partial[uk, _U4], partial[uk, _U5], partial[uk, _U6], partial[uk, _U7] = (
                    r4, r5, r6, r7)
            nodes[k, DIRTY] = 1
            dirty[k] = uk
        n_dirty = n_leaves
    else:
        dirty = np.empty(n_changed, np.uint64)  # leaves with a change, each once
        n_dirty = 0
        for t in range(n_changed):
            i = np.uint64(changed[t])
            k = np.uint64(group_leaf[i >> _U3])
            if nodes[k, DIRTY] == 0:
                nodes[k, DIRTY] = 1
                dirty[n_dirty] = k
                n_dirty += 1
            lo, length = np.uint64(nodes[k, LO]), np.uint64(nodes[k, LEN])
            end = lo + length - length % _U8
            if i < end:  # accumulator i % 8 (lo is a multiple of 8): x[lo + j] + x[lo + j + 8] ...
                # (loops written out in this kernel: a call passing arrays costs reference
                # counting; an accumulator changed twice is recomputed twice, the same)
                j = i & _U7
                a = lo + j
                r = x[a]
                a += _U8
                while a < end:
                    r += x[a]
                    a += _U8
                partial[k, j] = r
            # else a short leaf's or the tail's element: only the leaf's value changes
        if n_dirty == 0:
            return 0.0 + partial[m - 1, VALUE]
    for d in range(n_dirty):  # the leaves' values from their accumulators, as numpy
        k = dirty[d]
        lo, length = np.uint64(nodes[k, LO]), np.uint64(nodes[k, LEN])
        end = lo + length - length % _U8
        if length < _U8:
            res = 0.0
            for i in range(lo, lo + length):
                res += x[i]
        else:
            res = (((partial[k, _U0] + partial[k, _U1]) + (partial[k, _U2] + partial[k, _U3]))
                   + ((partial[k, _U4] + partial[k, _U5]) + (partial[k, _U6] + partial[k, _U7])))
            for i in range(end, lo + length):
                res += x[i]
        partial[k, _UVALUE] = res
        nodes[k, DIRTY] = 0
    for k in range(n_leaves, m):  # inner nodes, children first
        uk = np.uint64(k)
        left, right = np.uint64(nodes[uk, LEFT]), np.uint64(nodes[uk, RIGHT])
        partial[uk, _UVALUE] = partial[left, _UVALUE] + partial[right, _UVALUE]
    return 0.0 + partial[m - 1, VALUE]
