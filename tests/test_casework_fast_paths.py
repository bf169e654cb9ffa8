"""Inlined helpers on the casework path equal the plain rules they replace."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reformsim.calendar import WorkCalendar


def _next_start_reference(cal: WorkCalendar, t: float) -> float:
    """The earliest working instant at or after ``t``, from is_working and window."""
    day = math.floor(t)
    while True:
        if cal.is_working(day):
            lo, hi = cal.window(day)
            if t < hi:
                return max(t, lo)
        day += 1
        t = float(day)


@pytest.mark.parametrize(("days", "hours"), [(5, 8.0), (7, 24.0), (6, 15.5), (1, 0.5)])
def test_next_start_equals_the_window_rule(days: int, hours: float) -> None:
    cal = WorkCalendar(days, hours)
    rng = np.random.default_rng(days)
    times = np.concatenate([rng.random(500) * 30.0, [cal.window(d)[k] for d in range(14)
                                                      for k in (0, 1) if cal.is_working(d)]])
    for t in times.tolist():
        assert cal.next_start(t) == _next_start_reference(cal, t)
