"""The violation log: true violations, separate from recorded cases (domain.md SF-5, §7.1).

One row per violation: its exposure pair, matter, onset, scheduled detection (time and channel),
scheduled self-correction, end, and the case opened for it (if any).
"""

from __future__ import annotations

import numpy as np

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
    """Growable table of violations (see :data:`VIOLATION_SCHEMA`)."""

    def __init__(self) -> None:
        super().__init__(VIOLATION_SCHEMA, capacity=8192)

    def is_open(self, ids: np.ndarray) -> np.ndarray:
        """Whether each violation is still going on."""
        return np.isinf(self.cols["ended_at"][ids])
