"""Every work unit's queue as numpy arrays: planned visits and cases (domain.md M11, M14).

A work unit (department or area squad) has two queues of entries ``(ready_at, seq, task)``,
ordered by ``(ready_at, seq)`` (``seq`` from :meth:`ReformModel.next_seq
<reformsim.model.ReformModel.next_seq>` is unique, so the order is total):

* **planned visits** (:data:`VISITS`), first in first out: a day's plans are ready at the day's
  start and their ``seq`` grows, so an entry normally joins the end; one ready earlier than the
  last is inserted at its place. A row holds the visit: firm, grid, first checked pair's domain,
  number of departments and the checked pairs as the range ``[P0, P1)`` of :attr:`WorkQueues.pairs`
  (the pair ids ``0 .. n_pairs - 1`` followed by pair lists that are not ranges).
* **cases and coordination tasks** (a binary heap per unit): a task ``>= 0`` is a case id, a task
  ``-1 - j`` is coordination work ``j`` (:attr:`WorkQueues.coordination`: hours and domain).

Casework (:mod:`reformsim.mechanisms.casework`) serves both queues in compiled code
(:mod:`reformsim.casework_kernels`) after :meth:`WorkQueues.flush`; Python pushes entries with
:meth:`WorkQueues.push_case`, :meth:`WorkQueues.push_visit` and :meth:`WorkQueues.extend_visits`.
"""

from __future__ import annotations

import numpy as np

from reformsim import jit
from reformsim.jit import kernel

#: columns of a planned-visit row (float64; integers are exact below 2**53)
READY, SEQ, ENT, GRID, DOM, NDEPTS, P0, P1 = range(8)
VISIT_COLS = 8
#: columns of a heap entry (float64): ready time, seq, task
H_READY, H_SEQ, H_TASK = range(3)


@kernel
def heap_less(heap, u, i, j):
    """Whether entry ``i`` of unit ``u``'s heap orders before entry ``j``: ``(ready, seq)``."""
    a, b = heap[u, i, H_READY], heap[u, j, H_READY]
    return a < b or (a == b and heap[u, i, H_SEQ] < heap[u, j, H_SEQ])


@kernel
def heap_push(heap, heap_n, u, ready, seq, task):
    """Push ``(ready, seq, task)`` onto unit ``u``'s heap (the caller made room for it)."""
    i = heap_n[u]
    heap_n[u] = i + 1
    heap[u, i, H_READY] = ready
    heap[u, i, H_SEQ] = seq
    heap[u, i, H_TASK] = task
    while i > 0:  # sift up
        parent = (i - 1) // 2
        if not heap_less(heap, u, i, parent):
            break
        for c in range(3):
            heap[u, i, c], heap[u, parent, c] = heap[u, parent, c], heap[u, i, c]
        i = parent


@kernel
def heap_pop(heap, heap_n, u):
    """Remove unit ``u``'s smallest entry; returns its ``(ready, seq, task)``."""
    ready, seq, task = heap[u, 0, H_READY], heap[u, 0, H_SEQ], heap[u, 0, H_TASK]
    n = heap_n[u] - 1
    heap_n[u] = n
    for c in range(3):
        heap[u, 0, c] = heap[u, n, c]
    i = 0
    while True:  # sift down
        left = 2 * i + 1
        if left >= n:
            break
        child = left
        if left + 1 < n and heap_less(heap, u, left + 1, left):
            child = left + 1
        if not heap_less(heap, u, child, i):
            break
        for c in range(3):
            heap[u, i, c], heap[u, child, c] = heap[u, child, c], heap[u, i, c]
        i = child
    return ready, seq, task


@kernel
def insert_visit(visits, ends, u, row):
    """Put ``row`` into unit ``u``'s planned visits at its place by ``(ready, seq)``.

    The caller made room at the end. Rows ready at the same time as ``row`` or earlier stay
    ahead of it (its ``seq`` is the largest).
    """
    head, tail = ends[u, 0], ends[u, 1]
    i = tail
    while i > head and (visits[u, i - 1, READY] > row[READY]
                        or (visits[u, i - 1, READY] == row[READY]
                            and visits[u, i - 1, SEQ] > row[SEQ])):
        for c in range(VISIT_COLS):
            visits[u, i, c] = visits[u, i - 1, c]
        i -= 1
    for c in range(VISIT_COLS):
        visits[u, i, c] = row[c]
    ends[u, 1] = tail + 1


@kernel
def heap_push_many(heap, heap_n, rows):
    """:func:`heap_push` of each entry ``rows[i]`` (unit, ready, seq, task) in turn.

    Returns -1, or the first entry whose unit's heap is full (it and the later ones are left).
    """
    for i in range(rows.shape[0]):
        u = int(rows[i, 0])
        if heap_n[u] == heap.shape[1]:
            return i
        heap_push(heap, heap_n, u, rows[i, 1], rows[i, 2], rows[i, 3])
    return -1


@kernel
def count_waiting(ends, heap_n):
    """Tasks waiting at every unit: planned visits ``ends[:, 1] - ends[:, 0]`` and cases."""
    total = 0
    for u in range(heap_n.size):
        total += ends[u, 1] - ends[u, 0] + heap_n[u]
    return total


@kernel
def append_plans(visits, ends, plans, bounds, ready):
    """Append a day's planned visits: rows ``bounds[b]:bounds[b + 1]`` of ``plans`` to unit ``b``.

    ``plans`` has the columns ``SEQ, ENT, GRID, DOM, NDEPTS, P0, P1`` (int64). Returns -1 when
    done; nothing is appended when a unit's queue holds a visit ready after ``ready`` (returns
    -2: they must be inserted at their place) or lacks room (returns that unit).
    """
    n_units = bounds.size - 1
    for u in range(n_units):
        count = bounds[u + 1] - bounds[u]
        if count == 0:
            continue
        head, tail = ends[u, 0], ends[u, 1]
        if tail > head and visits[u, tail - 1, READY] > ready:
            return -2
        if tail + count > visits.shape[1]:
            return u
    for u in range(n_units):
        tail = ends[u, 1]
        for i in range(bounds[u], bounds[u + 1]):
            visits[u, tail, READY] = ready
            for c in range(VISIT_COLS - 1):
                visits[u, tail, SEQ + c] = plans[i, c]
            tail += 1
        ends[u, 1] = tail
    return -1


class WorkQueues:
    """The planned-visit queues and case heaps of ``n_units`` work units.

    Parameters
    ----------
    n_units
        Number of work units.
    n_pairs
        Number of exposure pairs (the first entries of :attr:`pairs` are ``0 .. n_pairs - 1``).
    """

    def __init__(self, n_units: int, n_pairs: int) -> None:
        self.n_units = n_units
        #: planned visits (unit x row x column) and each unit's head and end row
        self.visits = np.zeros((n_units, 64, VISIT_COLS))
        self.visit_ends = np.zeros((n_units, 2), dtype=np.int64)
        #: case heaps (unit x entry x ``(ready, seq, task)``) and their sizes
        self.heap = np.zeros((n_units, 16, 3))
        self.heap_n = np.zeros(n_units, dtype=np.int64)
        #: coordination work: hours and domain of task ``-1 - j`` (rows ``< n_coordination``)
        self.coordination = np.zeros((16, 2))
        self.n_coordination = 0
        #: checked pairs of planned visits: ranges ``[P0, P1)`` index this array
        self.pairs = np.arange(n_pairs, dtype=np.int64)
        self._n_pairs = n_pairs
        #: case entries not yet on the heaps (:meth:`flush`): unit, ready, seq, task, ...
        self._pending: list[float] = []
        kernels = (heap_push_many, insert_visit, append_plans, count_waiting)
        self._push_many, self._insert, self._append, self._count = (
            tuple(k.compiled() for k in kernels) if jit.enabled() else kernels)

    # ------------------------------------------------------------------ cases
    def push_case(self, unit: int, ready: float, seq: int, task: int) -> None:
        """Queue case ``task`` (an id) at ``unit``, ready at ``ready``, numbered ``seq``.

        Entries wait in a list until the heaps are next read (:meth:`flush`): a heap's order
        depends on its entries, not on the order they came in.
        """
        self._pending.extend((unit, ready, seq, task))

    def flush(self) -> None:
        """Push the waiting entries onto their units' heaps (one kernel call)."""
        if not self._pending:
            return
        rows = np.array(self._pending, dtype=np.float64).reshape(-1, 4)
        self._pending = []
        while True:
            i = self._push_many(self.heap, self.heap_n, rows)
            if i < 0:
                return
            self.heap = _grown(self.heap, 1)
            rows = rows[i:]

    def push_coordination(self, unit: int, ready: float, seq: int, hours: float,
                          domain: int) -> None:
        """Queue ``hours`` of coordination work in ``domain`` at ``unit`` (served like a case)."""
        j = self.n_coordination
        if j == self.coordination.shape[0]:
            self.coordination = _grown(self.coordination, 0)
        self.coordination[j] = hours, domain
        self.n_coordination = j + 1
        self.push_case(unit, ready, seq, -1 - j)

    def coordination_task(self, task: int) -> tuple[float, int]:
        """Hours and domain of coordination task ``task`` (``< 0``)."""
        hours, domain = self.coordination[-1 - task]
        return float(hours), int(domain)

    # ------------------------------------------------------------------ planned visits
    def pair_range(self, pairs: np.ndarray) -> tuple[int, int]:
        """``[P0, P1)`` of a visit's checked pairs (distinct, increasing)."""
        p0 = int(pairs[0])
        if pairs.size == pairs[-1] - p0 + 1 and p0 < self._n_pairs:  # a run of pair ids
            return p0, p0 + pairs.size
        start = self.pairs.size
        self.pairs = np.concatenate([self.pairs, pairs.astype(np.int64)])
        return start, self.pairs.size

    def push_visit(self, unit: int, ready: float, seq: int, enterprise: int, grid: int,
                   domain: int, n_depts: int, pairs: np.ndarray) -> None:
        """Queue one planned visit at ``unit`` (at its place by ``(ready, seq)``)."""
        self._room(unit, 1)
        p0, p1 = self.pair_range(pairs)
        row = np.array([ready, seq, enterprise, grid, domain, n_depts, p0, p1], dtype=float)
        self._insert(self.visits, self.visit_ends, unit, row)

    def extend_visits(self, plans: np.ndarray, bounds: np.ndarray, ready: float) -> bool:
        """Append a day's planned visits grouped by unit (:func:`append_plans`).

        ``bounds`` has one entry per unit ``0, 1, ...`` (some first units) and one more.
        Returns False (nothing queued) when such a unit holds a visit ready after ``ready``:
        the caller then pushes them one by one (:meth:`push_visit`).
        """
        while True:
            status = self._append(self.visits, self.visit_ends, plans, bounds, ready)
            if status < 0:
                return status == -1
            self._room(status, int(bounds[status + 1] - bounds[status]))

    def _room(self, unit: int, k: int) -> None:
        """Make room for ``k`` more rows at the end of ``unit``'s planned visits."""
        head, tail = self.visit_ends[unit]
        if tail + k <= self.visits.shape[1]:
            return
        if head > 0:  # move the unit's rows to the front
            self.visits[unit, : tail - head] = self.visits[unit, head:tail]
            self.visit_ends[unit] = 0, tail - head
            tail -= head
        while tail + k > self.visits.shape[1]:
            self.visits = _grown(self.visits, 1)

    # ------------------------------------------------------------------ reading
    def backlog(self, unit: int) -> int:
        """Tasks waiting at ``unit``: planned visits and cases."""
        self.flush()
        head, tail = self.visit_ends[unit].tolist()
        return tail - head + int(self.heap_n[unit])

    def total_backlog(self) -> int:
        """Tasks waiting at every unit."""
        self.flush()
        return int(self._count(self.visit_ends, self.heap_n))

    def queued_visits(self, unit: int) -> np.ndarray:
        """``unit``'s planned visits in queue order (a copy; columns ``READY .. P1``)."""
        head, tail = self.visit_ends[unit].tolist()
        return self.visits[unit, head:tail].copy()

    def queued_cases(self, unit: int) -> list[tuple[float, int, int]]:
        """``unit``'s case entries ``(ready, seq, task)`` in the order they will be served."""
        self.flush()
        n = int(self.heap_n[unit])
        entries = self.heap[unit, :n]
        return [(r, int(s), int(t)) for r, s, t in sorted(entries.tolist())]


def _grown(a: np.ndarray, axis: int) -> np.ndarray:
    """Return ``a`` with its ``axis`` twice as long (the new part zero)."""
    pad = [(0, 0)] * a.ndim
    pad[axis] = (0, a.shape[axis])
    return np.pad(a, pad)
