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

    def __len__(self) -> int:
        self._flush()
        return len(self._table)

    def add(self, enterprise: int, unit: int, at: float, pairs: np.ndarray, joint: bool) -> None:
        """Buffer one visit of today: the firm, the visiting unit, the time, the pairs checked."""
        firms, units, times, domains, joints = self._pending
        firms.append(enterprise)
        units.append(unit)
        times.append(at)
        domains.append(len(pairs))
        joints.append(joint)
        self._pending_pair_arrays.append(pairs)
        self._plain = False

    def add_one(self, enterprise: int, unit: int, at: float, pair: int, joint: bool) -> None:
        """:meth:`add` for a visit that checks one pair, given as a Python int."""
        firms, units, times, domains, joints = self._pending
        firms.append(enterprise)
        units.append(unit)
        times.append(at)
        domains.append(1)
        joints.append(joint)
        self._pending_pairs.append(pair)
        if joint:
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
        cols = {"enterprise": np.array(firms, dtype=np.int64)[order],
                "unit": np.array(units, dtype=np.int64)[order], "at": at[order]}
        if self._plain:  # one pair each, none joint: the columns are constant
            cols["domains"] = np.ones(at.size, dtype=np.int16)
            cols["joint"] = np.zeros(at.size, dtype=bool)
        else:
            cols["domains"] = np.array(domains, dtype=np.int16)[order]
            cols["joint"] = np.array(joints, dtype=bool)[order]
        pairs = np.array(self._pending_pairs, dtype=np.int64)
        if self._pending_pair_arrays:
            pairs = np.concatenate([pairs, *self._pending_pair_arrays])
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
