"""The visit log: one row per on-site inspection visit (who, whom, when, how many domains).

Casework stages a working day's visits as columns at the end of the day; they are committed as
one batch of rows after their effects on the visited firms are booked (see
:mod:`reformsim.mechanisms.burden`). Committed
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
        #: today's staged visits (columns in the order they happened) and their checked pairs
        self._pending: dict[str, np.ndarray] | None = None
        self._pending_pairs = np.zeros(0, dtype=np.int64)
        #: committed batches not yet in the table (appended in one go when the log is read)
        self._batches: list[dict[str, np.ndarray]] = []

    def __len__(self) -> int:
        self._flush()
        return len(self._table)

    def stage(self, enterprise: np.ndarray, unit: np.ndarray, at: np.ndarray,
              domains: np.ndarray, joint: np.ndarray, pairs: np.ndarray) -> None:
        """Buffer today's visits, in the order they happened, and all the pairs they checked.

        Casework stages the day's visits once, at the end of its day; the caller then books
        them (:meth:`take_pending`, :meth:`commit`).
        """
        self._pending = {"enterprise": enterprise, "unit": unit, "at": at, "domains": domains,
                         "joint": joint}
        self._pending_pairs = pairs

    def take_pending(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Today's buffered visits as columns in time order, and all the pairs they checked.

        Visits at the same time keep the order they happened in (a stable sort). The pairs
        come in no particular order. Empties the buffer; the caller commits the rows with
        :meth:`commit`.
        """
        cols, pairs = self._pending, self._pending_pairs
        self._pending, self._pending_pairs = None, np.zeros(0, dtype=np.int64)
        if cols is None:
            return {name: np.zeros(0, dtype=VISIT_SCHEMA[name][0]) for name in COLUMNS[:5]}, pairs
        at = cols["at"]
        if at.size > 1 and np.any(at[1:] < at[:-1]):
            order = at.argsort(kind="stable")
            cols = {name: col[order] for name, col in cols.items()}
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
