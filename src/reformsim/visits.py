"""The visit log: one row per on-site inspection visit (who, whom, when, how many domains).

Visits are appended one at a time on the casework path, so rows go to Python lists and become
arrays only when read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("enterprise", "unit", "at", "domains", "joint", "duplicate")
DTYPES = (np.int64, np.int64, np.float64, np.int16, bool, bool)


class VisitLog:
    """Append-only log of inspection visits."""

    def __init__(self) -> None:
        self._rows: list[tuple[int, int, float, int, bool, bool]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, enterprise: int, unit: int, at: float, domains: int, joint: bool,
            duplicate: bool) -> None:
        """Record one visit."""
        self._rows.append((enterprise, unit, at, domains, joint, duplicate))

    def __getitem__(self, name: str) -> np.ndarray:
        """One column as an array."""
        k = COLUMNS.index(name)
        return np.array([r[k] for r in self._rows], dtype=DTYPES[k])

    def to_frame(self) -> pd.DataFrame:
        """All visits as a DataFrame."""
        return pd.DataFrame({c: self[c] for c in COLUMNS})
