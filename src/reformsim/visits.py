"""The visit log: one row per on-site inspection visit (who, whom, when, how many domains).

Visits happen one at a time on the casework path; they are buffered in Python lists, one per
column, during the working day and committed as one batch of rows at the end of it (after their
effects on the visited firms are booked, see :mod:`reformsim.mechanisms.burden`). Committed
batches are appended to the table together when the log is read (nothing reads it during a
day's work).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reformsim.table import Table

COLUMNS = ("enterprise", "unit", "at", "domains", "joint", "duplicate")
VISIT_SCHEMA: dict[str, tuple[object, object]] = {
    "enterprise": (np.int64, -1),
    "unit": (np.int64, -1),
    "at": (np.float64, np.nan),
    "domains": (np.int16, 0),
    "joint": (bool, False),
    "duplicate": (bool, False),
}


class VisitLog:
    """Append-only log of inspection visits with a buffer for the current day."""

    def __init__(self) -> None:
        self._table = Table(VISIT_SCHEMA, capacity=4096)
        # today's buffered visits, one Python list per column (one conversion per column a day)
        self._pending: tuple[list[int], list[int], list[float], list[int], list[bool]] = (
            [], [], [], [], [])
        #: pairs checked by today's one-pair visits (Python ints) and by the others (arrays)
        self._pending_pairs: list[int] = []
        self._pending_pair_arrays: list[np.ndarray] = []
        #: whether every visit buffered today checked one pair and was not joint (the usual day
        #: of departments: those two columns need no conversion)
        self._plain = True
        #: committed batches not yet in the table (appended in one go when the log is read)
        self._batches: list[dict[str, np.ndarray]] = []
        #: read-only constant columns of plain days (``domains`` 1, ``joint`` False), sliced
        self._ones = np.ones(0, dtype=np.int16)
        self._falses = np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        self._flush()
        return len(self._table)

    def add(self, enterprise: int, unit: int, at: float, pairs: np.ndarray, joint: bool) -> None:
        """Buffer one visit of today: the firm, the visiting unit, the time, the pairs checked."""
        firms, units, times, domains, joints = self._pending
        if self._plain:
            self._unplain()
        firms.append(enterprise)
        units.append(unit)
        times.append(at)
        domains.append(len(pairs))
        joints.append(joint)
        self._pending_pair_arrays.append(pairs)

    def add_one(self, enterprise: int, unit: int, at: float, pair: int, joint: bool) -> None:
        """:meth:`add` for a visit that checks one pair, given as a Python int.

        While every visit of the day is plain (one pair, not joint) the ``domains`` and
        ``joint`` lists are left empty (their columns are constant); the first other visit
        fills them in (:meth:`_unplain`).
        """
        firms, units, times, domains, joints = self._pending
        if joint and self._plain:
            self._unplain()
        firms.append(enterprise)
        units.append(unit)
        times.append(at)
        self._pending_pairs.append(pair)
        if not self._plain:
            domains.append(1)
            joints.append(joint)

    def _unplain(self) -> None:
        """Fill in ``domains`` and ``joint`` of the plain visits buffered so far (1, False)."""
        n = len(self._pending[0])
        self._pending[3].extend([1] * n)
        self._pending[4].extend([False] * n)
        self._plain = False

    def take_pending(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Today's buffered visits as columns in time order, and all the pairs they checked.

        Visits at the same time keep the order they were added in (a stable sort). The pairs
        come in no particular order. Empties the buffer; the caller commits the rows with
        :meth:`commit`.
        """
        firms, units, times, domains, joints = self._pending
        at = np.array(times, dtype=np.float64)
        order = at.argsort(kind="stable")
        n = at.size
        one_pair = not self._pending_pair_arrays  # every visit checked one pair: one per row
        # the integer columns (and the pairs of one-pair visits) in one conversion, the two
        # ordered columns in one gather (rows of a C-ordered matrix are contiguous)
        ints = np.array((firms, units, self._pending_pairs) if one_pair else (firms, units),
                        dtype=np.int64)
        ints_ordered = ints[:2, order]
        cols = {"enterprise": ints_ordered[0], "unit": ints_ordered[1], "at": at[order]}
        if self._plain:  # one pair each, none joint: the columns are constant (shared views)
            if self._ones.size < n:
                self._ones = np.ones(max(n, 2 * self._ones.size), dtype=np.int16)
                self._ones.flags.writeable = False
                self._falses = np.zeros(self._ones.size, dtype=bool)
                self._falses.flags.writeable = False
            cols["domains"] = self._ones[:n]
            cols["joint"] = self._falses[:n]
        else:
            cols["domains"] = np.array(domains, dtype=np.int16)[order]
            cols["joint"] = np.array(joints, dtype=bool)[order]
        if one_pair:
            pairs = ints[2]
        else:
            pairs = np.concatenate([np.array(self._pending_pairs, dtype=np.int64),
                                    *self._pending_pair_arrays])
        self._pending = ([], [], [], [], [])
        self._pending_pairs, self._pending_pair_arrays = [], []
        self._plain = True
        return cols, pairs

    def commit(self, cols: dict[str, np.ndarray]) -> None:
        """Append a batch of finished rows (every column of :data:`COLUMNS`).

        The batch reaches the table when the log is next read: one append for many days.
        """
        if len(cols["enterprise"]):
            self._batches.append(cols)

    def _flush(self) -> None:
        """Append the committed batches to the table, in commit order."""
        if not self._batches:
            return
        batches, self._batches = self._batches, []
        cols = {name: np.concatenate([b[name] for b in batches]) for name in COLUMNS}
        self._table.append(len(cols["enterprise"]), **cols)

    def __getitem__(self, name: str) -> np.ndarray:
        """One committed column as an array."""
        if name not in VISIT_SCHEMA:
            raise KeyError(f"visit column: expected one of {', '.join(COLUMNS)}, got {name!r}")
        self._flush()
        return self._table[name]

    def to_frame(self) -> pd.DataFrame:
        """All committed visits as a DataFrame."""
        self._flush()
        return self._table.to_frame()
