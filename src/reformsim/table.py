"""A growable column table: numpy arrays with amortised O(1) appends.

Cases and violations are events: their number grows with what happens, not with agents × days
(DESIGN.md §2.3). Rows are appended in batches and updated by index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


class Table:
    """Columns of fixed dtype that grow by doubling.

    Parameters
    ----------
    schema
        Column name → (dtype, fill value for new rows).
    capacity
        Initial number of rows allocated.
    """

    def __init__(self, schema: dict[str, tuple[Any, Any]], capacity: int = 1024) -> None:
        self.schema = schema
        self.n = 0
        #: rows allocated in every column
        self.capacity = capacity
        self.cols: dict[str, np.ndarray] = {
            name: np.full(capacity, fill, dtype=dtype) for name, (dtype, fill) in schema.items()
        }

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, name: str) -> np.ndarray:
        """The live column (a view over the filled rows)."""
        return self.cols[name][: self.n]

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= self.capacity:
            return
        new_cap = max(need, 2 * self.capacity)
        for name, (dtype, fill) in self.schema.items():
            grown = np.full(new_cap, fill, dtype=dtype)
            grown[: self.n] = self.cols[name][: self.n]
            self.cols[name] = grown
        self.capacity = new_cap

    def append(self, k: int, **values: Any) -> np.ndarray:
        """Append ``k`` rows; unspecified columns get their fill value. Returns the new row ids."""
        start, stop = self.n, self.n + k
        if stop > self.capacity:
            self._reserve(k)
        cols = self.cols
        for name, value in values.items():
            cols[name][start:stop] = value
        self.n = stop
        return np.arange(start, stop)

    def append_row(self, **values: Any) -> int:
        """Append one row of scalars; unspecified columns get their fill value. Returns its id."""
        i = self.n
        if i == self.capacity:
            self._reserve(1)
        targets = self._scalar_targets()
        for name, value in values.items():
            targets[name][i] = value
        self.n = i + 1
        return i

    def _scalar_targets(self) -> Mapping[str, Any]:
        """Where :meth:`append_row` writes: the columns (a subclass may give cheaper views)."""
        return self.cols

    def to_frame(self) -> pd.DataFrame:
        """A copy of the filled rows as a DataFrame."""
        return pd.DataFrame({name: col[: self.n].copy() for name, col in self.cols.items()})
