"""Runs of equal values in sorted arrays: group-by helpers for the small daily batches.

``np.unique`` costs tens of microseconds of Python overhead on arrays of a few dozen entries; the
daily bookkeeping (visits, inspection plans, touched firms) groups such arrays every day.
"""

from __future__ import annotations

import numpy as np


def first_in_run(sorted_values: np.ndarray) -> np.ndarray:
    """Mask of the first element of each run of equal values in ``sorted_values``."""
    first = np.empty(sorted_values.size, dtype=bool)
    first[:1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=first[1:])
    return first


def distinct(values: np.ndarray) -> np.ndarray:
    """Return the distinct values, sorted (``np.unique(values)`` for 1-d arrays)."""
    values = np.sort(values)
    return values[first_in_run(values)]


def runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index and length of each run of equal values in ``sorted_values``."""
    starts = np.flatnonzero(first_in_run(sorted_values))
    sizes = np.empty_like(starts)
    np.subtract(starts[1:], starts[:-1], out=sizes[:-1])
    sizes[-1:] = sorted_values.size - starts[-1:]
    return starts, sizes
