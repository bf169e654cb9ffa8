"""Working calendar: model time is in days (float); offices work set hours on working days.

Day ``d`` covers ``[d, d + 1)``. On a working day (``d % 7 < working_days_per_week``) officers
work ``hours_per_day`` hours starting at 09:00 (or earlier when the shift is longer than 15 h; a
24-hour shift covers the whole day). Casework runs in continuous time inside these windows, so
response times shorter than a day are measurable (DESIGN.md §3).
"""

from __future__ import annotations

import math


class WorkCalendar:
    """Working days and hours.

    Parameters
    ----------
    working_days_per_week
        1-7; days ``0..k-1`` of each 7-day week are working days.
    hours_per_day
        Length of the working window in hours (0 < h <= 24).
    """

    def __init__(self, working_days_per_week: int, hours_per_day: float) -> None:
        self.week = working_days_per_week
        self.hours = hours_per_day
        self.start = min(9.0, 24.0 - hours_per_day) / 24.0
        self.length = hours_per_day / 24.0
        #: the working window ``[lo, hi)`` that :meth:`add_work_hours` last found ``t`` in, and
        #: ``hi`` plus its rounding tolerance (empty until then)
        self._lo = self._hi = self._hi_tol = 0.0

    def is_working(self, day: int) -> bool:
        """Whether integer day ``day`` is a working day."""
        return day % 7 < self.week

    def window(self, day: int) -> tuple[float, float]:
        """The working window ``(start, end)`` of a working day, in model days."""
        return day + self.start, day + self.start + self.length

    def next_start(self, t: float) -> float:
        """The earliest working instant at or after ``t``."""
        day = math.floor(t)
        start, length, week = self.start, self.length, self.week
        while True:
            if day % 7 < week:  # is_working(day) and window(day), inlined: the same sums
                lo = day + start
                if t < lo + length:
                    return t if t >= lo else lo  # max(t, lo)
            day += 1
            t = float(day)

    def add_work_hours(self, t: float, hours: float) -> float:
        """The instant at which ``hours`` of work that start at ``t`` are done."""
        end = t + hours / 24.0
        # Fast path: work that starts and ends in the window found by an earlier call (a day's
        # casework asks many times in one window); the same test and sum as below.
        if self._lo <= t < self._hi and end <= self._hi_tol:
            return end
        day = math.floor(t)
        lo = day + self.start
        if lo <= t < lo + self.length and day % 7 < self.week:  # t is inside today's window
            hi = lo + self.length
            self._lo, self._hi, self._hi_tol = lo, hi, hi + 1e-12
            if end <= self._hi_tol:
                return end
        t = self.next_start(t)
        remaining = hours / 24.0
        while True:
            hi = math.floor(t) + self.start + self.length  # window(floor(t))[1]
            if t + remaining <= hi + 1e-12:
                return t + remaining
            remaining -= hi - t
            t = self.next_start(hi)

    def add_work_days(self, t: float, days: float) -> float:
        """Advance ``t`` by ``days`` working days (fractions count as calendar fractions)."""
        whole = int(days)
        frac = days - whole
        day = math.floor(t)
        offset = t - day
        week = self.week
        while whole > 0:
            day += 1
            if day % 7 < week:  # is_working(day), inlined: referrals call this per hop
                whole -= 1
        return day + offset + frac
