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
``STALE_DAYS`` (30) are cancelled.

Yearly cap (检查频次上限, ``levers.inspection_cap_per_year``; 0 = no cap): a firm planned for
that many visits in the current year (days ``[365k, 365(k+1))``, counted in
``Enterprises.planned_this_year``, cancelled visits included) gets no more planned visits that
year. Today's draws are made as without a cap and then filtered, so a capped design keeps the
common random numbers of an uncapped one. When several departments pick the same firm on the
same day, they are served in department order up to the firm's remaining quota.

References
----------
Harrington (1988); Liu & Neilson (2013); Haining 三相一就 (2025, L1); Hampton (2005).
Caps of on-site visits per body per firm per year (O2, O4, O14; domain.md §5, M14).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reformsim.population import BLACK, GREEN, YELLOW
from reformsim.runs import runs

if TYPE_CHECKING:
    from reformsim.model import ReformModel


STALE_DAYS = 30.0


@dataclass(slots=True)
class InspectionTask:
    """One planned visit: which firm (and its grid), which pairs are checked, by how many bodies.

    ``pairs`` are distinct exposure pairs of the firm, in increasing order (a read-only view
    for joint visits; visit booking relies on them being distinct). ``domain`` is the first
    checked pair's domain: the officer most skilled in it is sent.
    """

    enterprise: int
    grid: int
    pairs: np.ndarray
    planned_at: float
    n_depts: int
    domain: int


class InspectionPlanning:
    """Draws today's planned visits per inspecting body."""

    stale_days = STALE_DAYS

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.cancelled = 0
        #: planned visits not made in the window because the firm reached its yearly cap
        self.capped = 0
        self.year = 0
        #: cache of :meth:`daily_rate`: the colours it was computed for, per firm, per pair
        self._rate_colour: np.ndarray | None = None
        self._rate: np.ndarray = np.zeros(0)
        self._pair_rate: np.ndarray | None = None
        #: 0, 1, ..., n_pairs - 1 (read-only): a joint visit checks a slice of it, its firm's pairs
        self._pair_ids = np.arange(model.enterprises.n_pairs)
        self._pair_ids.flags.writeable = False

    def yearly_rate(self) -> np.ndarray:
        """Visits per firm per year per inspecting body."""
        return self._rate_table()[self.model.enterprises.colour]

    def _rate_table(self, divisor: float = 1.0) -> np.ndarray:
        """Rate per colour (green, yellow, black) divided by ``divisor``.

        The random share is spread by the mean targeted rate over all firms, so the table depends
        on the colour counts; indexing it by colour equals computing the rate firm by firm.
        """
        m = self.model
        spec = m.config.inspection
        n = m.enterprises.n
        by_colour = np.zeros(3)
        if m.config.levers.three_colour:
            by_colour[GREEN] = spec.rate_per_year["green"]
            by_colour[YELLOW] = spec.rate_per_year["yellow"]
            by_colour[BLACK] = spec.rate_per_year["black"]
            # the sum over firms / n is ndarray.mean() (the same pairwise sum), minus its overhead
            mean = np.add.reduce(by_colour.take(m.enterprises.colour)) / n if n else 0.0
        else:
            by_colour[:] = spec.uniform_rate_per_year
            mean = np.full(n, spec.uniform_rate_per_year).mean() if n else 0.0
        return ((1.0 - spec.random_share) * by_colour + spec.random_share * mean) / divisor

    def daily_rate(self) -> np.ndarray:
        """Visit probability per firm today (recomputed only when colours have changed)."""
        m = self.model
        colour = m.enterprises.colour
        seen = self._rate_colour
        if seen is None or not (seen is colour or np.array_equal(seen, colour)):
            self._rate = self._rate_table(365.0 * m.calendar.week / 7.0).take(colour)
            self._pair_rate = None
            # without colour targeting the rate does not depend on colours: keep it for good
            self._rate_colour = colour.copy() if m.config.levers.three_colour else colour
        return self._rate

    def pair_rate(self) -> np.ndarray:
        """:meth:`daily_rate` of each exposure pair's firm."""
        rate = self.daily_rate()
        if self._pair_rate is None:
            self._pair_rate = rate[self.model.enterprises.pair_ent]
        return self._pair_rate

    def step(self, day: int) -> None:
        """Queue today's visits (working days only)."""
        m = self.model
        ent = m.enterprises
        if day // 365 != self.year:  # a new year: every firm's quota is full again
            self.year = day // 365
            ent.planned_this_year[:] = 0
        if not m.calendar.is_working(day) or ent.n == 0:
            return
        rng = m.streams["inspection_planning"]
        start = m.calendar.window(day)[0]
        if m.config.levers.joint_inspection:
            self._plan_joint(rng, start, day)
        else:
            self._plan_by_department(rng, start, day)

    def _plan_joint(self, rng: np.random.Generator, start: float, day: int) -> None:
        """One visit per chosen firm, checking all its pairs (综合查一次)."""
        m = self.model
        ent = m.enterprises
        chosen = np.flatnonzero(rng.random(ent.n) < self.daily_rate())
        chosen = chosen[self.within_cap(chosen, day, distinct=True)]
        if chosen.size == 0:
            return
        grids, n_depts = ent.grid[chosen].tolist(), m.depts_of_firm[chosen].tolist()
        first_pair = ent.pair_start[chosen]
        lo, hi = first_pair.tolist(), ent.pair_start[chosen + 1].tolist()
        first_dom = ent.pair_dom[first_pair].tolist()
        units = m.joint_inspectors(chosen)
        pair_ids = self._pair_ids
        for e, g, a, b, nd, d, unit in zip(chosen.tolist(), grids, lo, hi, n_depts, first_dom,
                                           units, strict=True):
            unit.push_inspection(start, InspectionTask(e, g, pair_ids[a:b], start, nd, d))

    def _plan_by_department(self, rng: np.random.Generator, start: float, day: int) -> None:
        """Each department visits firms for its own domains; one visit per firm and department."""
        m = self.model
        ent = m.enterprises
        hit = np.flatnonzero(rng.random(ent.n_pairs) < self.pair_rate())
        if hit.size == 0:
            return
        n_depts = len(m.departments)
        key = ent.pair_ent[hit] * n_depts + m.owner_dept[ent.pair_dom[hit]]
        order = np.argsort(key, kind="stable")
        key, hit = key[order], hit[order]  # by firm, then department; pairs in order within
        starts, sizes = runs(key)
        ends = starts + sizes
        firms, depts = np.divmod(key[starts], n_depts)
        keep = self.within_cap(firms, day)
        firms, depts, starts, ends = firms[keep], depts[keep], starts[keep], ends[keep]
        grids, doms = ent.grid[firms].tolist(), ent.pair_dom[hit[starts]].tolist()
        for e, d, g, dom, lo, hi in zip(firms.tolist(), depts.tolist(), grids, doms,
                                        starts.tolist(), ends.tolist(), strict=True):
            task = InspectionTask(e, g, hit[lo:hi], start, 1, dom)
            m.departments[d].push_inspection(start, task)

    def within_cap(self, firms: np.ndarray, day: int, distinct: bool = False) -> np.ndarray:
        """Which of today's planned visits to ``firms`` (sorted) stay under the yearly cap.

        A firm listed k times today (one visit per department, in department order) keeps its
        first ``cap - planned_this_year`` visits. Kept visits are added to ``planned_this_year``
        and dropped ones to :attr:`capped` (in the window). ``distinct``: no firm is listed twice
        (the count is then one fancy-indexed increment instead of ``np.add.at``).
        """
        ent = self.model.enterprises
        cap = self.model.config.levers.inspection_cap_per_year
        keep = np.ones(firms.size, dtype=bool)
        if cap > 0 and firms.size:
            first, sizes = runs(firms)
            rank = np.arange(firms.size) - np.repeat(first, sizes)
            keep = rank < cap - ent.planned_this_year[firms]
            if self.model.in_window(day):
                self.capped += int(firms.size - keep.sum())
        if distinct:
            ent.planned_this_year[firms[keep]] += 1
        else:
            np.add.at(ent.planned_this_year, firms[keep], 1)
        return keep
