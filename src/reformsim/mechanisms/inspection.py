"""Step 5, inspection planning: department plans or joint "inspect once" visits (M5, M14).

Each inspecting body visits a firm at a yearly rate. With three-colour management the rate
depends on the firm's colour (``rate_per_year``: green < yellow < black, 无事不扰 for green);
otherwise every firm gets ``uniform_rate_per_year``. A share ``random_share`` of the effort is
spread uniformly at random whatever the colour (双随机; Hampton 2005: keep a random element).

* Without joint inspection every department plans its own visits to the firms exposed to its
  domains, so a firm in |D_i| domains gets about |D_i| times as many visits.
* With joint inspection (综合查一次) one visit per firm checks all its domains. It is carried
  out by the area squad when the street team has officers and power over some matters, else by
  the department owning the firm's first domain.

Planned visits enter the body's queue at the start of the working day; visits not started within
``stale_days`` are cancelled.

References
----------
Harrington (1988); Liu & Neilson (2013); Haining 三相一就 (2025, L1); Hampton (2005).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reformsim.population import BLACK, GREEN, YELLOW

if TYPE_CHECKING:
    from reformsim.model import ReformModel


@dataclass(slots=True)
class InspectionTask:
    """One planned visit: which firm, which pairs are checked, by which body."""

    enterprise: int
    pairs: np.ndarray
    planned_at: float
    n_depts: int


class InspectionPlanning:
    """Draws today's planned visits per inspecting body."""

    stale_days = 30.0

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.cancelled = 0

    def yearly_rate(self) -> np.ndarray:
        """Visits per firm per year per inspecting body."""
        m = self.model
        spec = m.config.inspection
        n = m.enterprises.n
        if m.config.levers.three_colour:
            by_colour = np.zeros(3)
            by_colour[GREEN] = spec.rate_per_year["green"]
            by_colour[YELLOW] = spec.rate_per_year["yellow"]
            by_colour[BLACK] = spec.rate_per_year["black"]
            targeted = by_colour[m.enterprises.colour]
        else:
            targeted = np.full(n, spec.uniform_rate_per_year)
        mean = targeted.mean() if n else 0.0
        return (1.0 - spec.random_share) * targeted + spec.random_share * mean

    def step(self, day: int) -> None:
        """Queue today's visits (working days only)."""
        m = self.model
        if not m.calendar.is_working(day) or m.enterprises.n == 0:
            return
        per_day = self.yearly_rate() / (365.0 * m.calendar.week / 7.0)
        rng = m.streams["inspection_planning"]
        start = m.calendar.window(day)[0]
        ent = m.enterprises
        if m.config.levers.joint_inspection:
            chosen = np.flatnonzero(rng.random(ent.n) < per_day)
            for e in chosen.tolist():
                task = InspectionTask(e, ent.pairs_of(e), start, int(m.depts_of_firm[e]))
                m.joint_inspector(e).push_inspection(start, task)
            return
        pair_dept = m.owner_dept[ent.pair_dom]
        hit = np.flatnonzero(rng.random(ent.n_pairs) < per_day[ent.pair_ent])
        if hit.size == 0:
            return
        key = ent.pair_ent[hit] * len(m.departments) + pair_dept[hit]
        order = np.argsort(key, kind="stable")
        uniq, counts = np.unique(key[order], return_counts=True)
        groups = np.split(hit[order], np.cumsum(counts)[:-1])
        for k, pairs in zip(uniq, groups, strict=True):
            e, d = divmod(int(k), len(m.departments))
            m.departments[d].push_inspection(start, InspectionTask(e, pairs, start, 1))
