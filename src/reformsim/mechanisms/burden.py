"""End of step 6: the day's inspection visits act on the visited firms (domain.md M2, M6, M14).

For each visit, in time order per firm:

* it is a **duplicate** (重复检查) when another body visited the same firm within 30 days;
* the firm's yearly visit count ``visits_12m`` rises by one; a visit beyond the tolerance
  ``V_tol`` and a duplicate visit each cost a share ``burden_penalty`` of the firm's satisfaction
  (compliance fatigue; Frey & Jegen 2001);
* beyond tolerance it also erodes trust, and a duplicate visit by a second department may give
  conflicting orders, an inconsistent ruling (:mod:`reformsim.mechanisms.trust`);
* every checked exposure pair's perceived risk moves up, ``p <- p + a (1 - p)`` (specific
  deterrence; Kleven et al. 2011), so ``k`` checks of a pair give ``p <- 1 - (1 - p)(1 - a)^k``.

Booking the day in one vectorised batch gives the same state as booking visits one by one in
time order, because nothing on the casework path reads these columns during the day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from reformsim.model import ReformModel

DUPLICATE_WINDOW_DAYS = 30.0


class VisitBurden:
    """Books the day's visits: duplicates, burden, satisfaction, perceived risk, the visit log."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model

    def book(self) -> None:
        """Apply and log every visit buffered in ``model.visits`` today."""
        m = self.model
        rows, pairs = m.visits.take_pending()
        n = rows["enterprise"].size
        if n == 0:
            return
        ent = m.enterprises
        order = np.lexsort((rows["at"], rows["enterprise"]))  # by firm, then time (stable)
        firm, unit, at = rows["enterprise"][order], rows["unit"][order], rows["at"][order]
        new_firm = np.ones(n, dtype=bool)
        np.not_equal(firm[1:], firm[:-1], out=new_firm[1:])
        starts = np.flatnonzero(new_firm)
        sizes = np.diff(starts, append=n)
        ends = starts + sizes - 1
        firms = firm[starts]
        prev_at, prev_unit = np.empty(n), np.empty(n, dtype=unit.dtype)
        prev_at[1:], prev_unit[1:] = at[:-1], unit[:-1]
        prev_at[starts] = ent.last_visit_day[firms]
        prev_unit[starts] = ent.last_visit_body[firms]
        duplicate = (at - prev_at <= DUPLICATE_WINDOW_DAYS) & (prev_unit != unit)
        rank = np.arange(n) - np.repeat(starts, sizes)
        visits = ent.visits_12m[firm] + rank + 1.0
        sat = m.config.satisfaction
        penalty = sat.burden_penalty * ((visits > sat.visit_tolerance_per_year) + duplicate)
        ent.satisfaction[firms] *= np.multiply.reduceat(1.0 - penalty, starts)
        beyond = np.add.reduceat((visits > sat.visit_tolerance_per_year).astype(np.int64), starts)
        n_depts = len(m.departments)
        conflict = duplicate & (unit < n_depts) & (prev_unit >= 0) & (prev_unit < n_depts)
        m.trust.book_visits(firms, beyond, np.add.reduceat(conflict.astype(np.int64), starts),
                            at[starts] >= m.config.run.warmup_days)
        ent.visits_12m[firms] += sizes
        ent.last_visit_day[firms] = at[ends]
        ent.last_visit_body[firms] = unit[ends]
        checked, k = np.unique(pairs, return_counts=True)
        a = m.config.compliance.risk_own_weight
        ent.p_hat[checked] = 1.0 - (1.0 - ent.p_hat[checked]) * (1.0 - a) ** k
        m.beliefs.touch(firms)
        rows["duplicate"] = np.empty(n, dtype=bool)
        rows["duplicate"][order] = duplicate
        by_time = np.argsort(rows["at"], kind="stable")
        m.visits.commit({name: col[by_time] for name, col in rows.items()})
