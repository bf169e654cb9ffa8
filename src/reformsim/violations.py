"""The violation log: true violations, separate from recorded cases (domain.md SF-5, §7.1).

One row per violation: its exposure pair, matter, onset, scheduled detection (time and channel),
scheduled self-correction, end, and the case opened for it (if any).
"""

from __future__ import annotations

import numpy as np

from reformsim import jit
from reformsim.jit import kernel
from reformsim.table import Table

INF = np.inf

VIOLATION_SCHEMA: dict[str, tuple[object, object]] = {
    "pair": (np.int64, -1),
    "enterprise": (np.int64, -1),
    "domain": (np.int64, -1),
    "matter": (np.int64, -1),
    "onset_at": (np.float64, np.nan),
    "detect_at": (np.float64, INF),
    "channel": (np.int8, -1),
    "self_end_at": (np.float64, INF),
    "ended_at": (np.float64, INF),
    "case": (np.int64, -1),
    "n_cases": (np.int16, 0),
}


class ViolationLog(Table):
    """Growable table of violations (see :data:`VIOLATION_SCHEMA`).

    With numba, :attr:`open_kernel` and :attr:`end_kernel` are the compiled :func:`open_rows`
    and :func:`end_rows` (:meth:`ReformModel.open_violations` and
    :meth:`ReformModel.end_violations` in one loop each); None selects the numpy path.
    """

    def __init__(self) -> None:
        super().__init__(VIOLATION_SCHEMA, capacity=8192)
        self._choose_kernels()

    def _choose_kernels(self) -> None:
        use = jit.enabled()
        self.open_kernel = open_rows.compiled() if use else None
        self.end_kernel = end_rows.compiled() if use else None

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the compiled kernels (chosen again on unpickling)."""
        state = self.__dict__.copy()
        del state["open_kernel"], state["end_kernel"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._choose_kernels()

    def add_rows(self, k: int) -> int:
        """Append ``k`` rows of fill values for :func:`open_rows`; returns the first id."""
        start = self.n
        if start + k > self.capacity:
            self._reserve(k)
        self.n = start + k
        return start

    def reserve(self, k: int) -> None:
        """Make room for ``k`` more rows (without adding them)."""
        if self.n + k > self.capacity:
            self._reserve(k)

    def is_open(self, ids: np.ndarray) -> np.ndarray:
        """Whether each violation is still going on."""
        return np.isinf(self.cols["ended_at"][ids])


@kernel
def open_rows(start, pairs, matter, onset_at, pair_ent, pair_dom, pair_grid, col_pair,
              col_enterprise, col_domain, col_matter, col_onset, violation, violating_in_grid,
              grids):  # pragma: no cover
    """Write new violations to rows ``start:start + n`` and mark their pairs violating.

    The loop of :meth:`ReformModel.open_violations` (which reserved the rows): each row gets
    its pair, enterprise, domain, matter and onset; the pair's ``violation`` becomes the row id
    and its grid's count of violating pairs (:meth:`ReformModel.grid_violation_share`) grows by
    one. ``pairs`` are distinct.

    Parameters
    ----------
    start
        Id of the first new violation.
    pairs, matter, onset_at
        Per new violation.
    pair_ent, pair_dom, pair_grid
        Per exposure pair: enterprise, domain, grid.
    col_pair, col_enterprise, col_domain, col_matter, col_onset
        The log's columns.
    violation, violating_in_grid
        Per pair the open violation (-1: none); per grid the violating pairs (both updated).
    grids
        Receives each new violation's grid.
    """
    for i in range(pairs.size):
        pair = pairs[i]
        row = start + i
        col_pair[row] = pair
        col_enterprise[row] = pair_ent[pair]
        col_domain[row] = pair_dom[pair]
        col_matter[row] = matter[i]
        col_onset[row] = onset_at[i]
        violation[pair] = row
        grid = pair_grid[pair]
        grids[i] = grid
        violating_in_grid[grid] += 1


@kernel
def end_rows(ids, at, col_ended, col_pair, violation, pair_grid,
             violating_in_grid):  # pragma: no cover
    """End violations ``ids`` at times ``at`` and free their pairs.

    The loop of :meth:`ReformModel.end_violations`: ``ended_at[ids] = at`` (a repeated id
    keeps its last time, as numpy's assignment); a pair whose open violation is one of ``ids``
    is freed once (a repeated id finds it freed already), and its grid's count of violating
    pairs drops by one.
    """
    for i in range(ids.size):
        col_ended[ids[i]] = at[i]
    for i in range(ids.size):
        vid = ids[i]
        pair = col_pair[vid]
        if violation[pair] == vid:
            violation[pair] = -1
            violating_in_grid[pair_grid[pair]] -= 1
