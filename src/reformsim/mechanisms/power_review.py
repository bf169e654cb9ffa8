"""End of step 8, the periodic review of the power list (权责清单定期评估, 动态调整; domain.md M15).

Every ``levers.power_review_period_days`` days (0 = never) the street looks back over the period
that just ended and moves matters between the street team and the departments:

* **Take back** (收回): a matter in the team's power goes back to its department and onto the
  negative list (负面清单) when the team handled fewer than ``power_review.min_uses`` of its
  cases in the period (under-used delegation), or when it handled at least
  ``min_cases_for_error`` and more than ``max_error_rate`` of them were handling errors. It is
  taken back only if the owning department has officers; otherwise nobody could serve it.
* **Assign** (下放): a matter outside the team's power and not on the negative list whose cases
  were orphaned (三不管) at least ``orphan_threshold`` times in the period is given to the team,
  if every squad has officers.

A matter taken back stays on the negative list, so later reviews never assign it again. Cases
already queued keep their unit; the new split applies to cases routed after the review.

Counts come from the case log over the period ``[day + 1 - period, day + 1)``: cases the team
handled are closed cases whose final owner is a squad (``owner_unit`` ≥ number of departments),
counted by ``closed_at``; orphans by ``orphaned_at``. Errors are the case-log column ``error``
(handling errors of low-skill officers, :mod:`reformsim.mechanisms.casework`).

References
----------
Administrative Penalty Law of the PRC (2021), Art. 24: penalty powers handed to townships and
streets that "can effectively take them on", with periodic evaluation (S29).
Quzhou 三高两易 delegation rule: high frequency, integration and demand, easy to detect and to
handle (2021, L7).
Recentralisation after over-delegation: Beijing took back 20 delegated matters; Hebei cut the
matters delegated to streets from 87 to 47 (2024-25, O10; stylized fact SF-12).
domain.md M15 (periodic review rule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reformsim.caselog import CLOSED, ORPHANED

if TYPE_CHECKING:
    from reformsim.model import ReformModel


class PowerReview:
    """Moves matters between the street team and the departments at each review.

    Parameters
    ----------
    model
        The model whose ``team_authority`` and ``catalog`` flags the review changes.

    Attributes
    ----------
    period : int
        Days between reviews (``levers.power_review_period_days``); 0 means no review.
    history : list of tuple of int
        One ``(day, returned, assigned)`` per review: matters taken back and matters assigned.
    moves : int
        Matters moved in all reviews so far.
    """

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.period = model.config.levers.power_review_period_days
        self.spec = model.config.power_review
        self.history: list[tuple[int, int, int]] = []
        self.moves = 0
        #: per matter: its owning department has officers (can take it back)
        staffed = np.array([bool(d.officers) for d in model.departments])
        self.owner_staffed = staffed[model.owner_dept[model.catalog.domain]]
        self.squads_staffed = all(s.officers for s in model.squads)

    def due(self, day: int) -> bool:
        """Whether a review closes at the end of ``day``."""
        return self.period > 0 and (day + 1) % self.period == 0

    def step(self, day: int) -> None:
        """Review the power list if a period ends today."""
        if not self.due(day):
            return
        uses, errors, orphans = self.counts(day + 1 - self.period, day + 1)
        returned = self.to_return(uses, errors)
        assigned = self.to_assign(orphans)
        m = self.model
        cat = m.catalog
        m.team_authority[returned] = False
        cat.delegated[returned] = False
        cat.negative[returned] = True
        m.team_authority[assigned] = True
        cat.delegated[assigned] = True
        n_ret, n_ass = int(returned.sum()), int(assigned.sum())
        self.history.append((day, n_ret, n_ass))
        self.moves += n_ret + n_ass

    def counts(self, start: float, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per matter, in ``[start, end)``: team-handled cases, their errors, orphaned cases."""
        m = self.model
        c = m.cases
        n = m.catalog.n_matters
        matter, status = c["matter"], c["status"]
        closed_at, orphaned_at = c["closed_at"], c["orphaned_at"]
        team = (status == CLOSED) & (c["owner_unit"] >= len(m.departments))
        handled = team & (closed_at >= start) & (closed_at < end)
        uses = np.bincount(matter[handled], minlength=n)
        errors = np.bincount(matter[handled & c["error"]], minlength=n)
        lost = (status == ORPHANED) & (orphaned_at >= start) & (orphaned_at < end)
        orphans = np.bincount(matter[lost], minlength=n)
        return uses, errors, orphans

    def to_return(self, uses: np.ndarray, errors: np.ndarray) -> np.ndarray:
        """Matters the team loses: too little use or too many errors, department staffed."""
        sp = self.spec
        rate = np.divide(errors, uses, out=np.zeros(uses.size), where=uses > 0)
        bad = (uses >= sp.min_cases_for_error) & (rate > sp.max_error_rate)
        return self.model.team_authority & ((uses < sp.min_uses) | bad) & self.owner_staffed

    def to_assign(self, orphans: np.ndarray) -> np.ndarray:
        """Matters the team gains: often orphaned, not negative-listed, every squad staffed."""
        m = self.model
        if not self.squads_staffed:
            return np.zeros(orphans.size, dtype=bool)
        return ~m.team_authority & ~m.catalog.negative & (orphans >= self.spec.orphan_threshold)
