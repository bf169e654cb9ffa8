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

from reformsim import jit
from reformsim.belief_kernels import book_visits_day
from reformsim.runs import first_in_run, runs

if TYPE_CHECKING:
    from reformsim.model import ReformModel

DUPLICATE_WINDOW_DAYS = 30.0


class VisitBurden:
    """Books the day's visits: duplicates, burden, satisfaction, perceived risk, the visit log."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        #: the compiled booking (:func:`~reformsim.belief_kernels.book_visits_day`)
        self._kernel = book_visits_day.compiled() if jit.enabled() else None
        self._pair_count = np.zeros(model.enterprises.n_pairs, dtype=np.int64)
        self._consts: np.ndarray | None = None  # read from the scenario on the first day
        self._out_firms = self._out_conflicts = np.empty(0, dtype=np.int64)
        self._out_at = np.empty(0)

    def book(self) -> None:
        """Apply and log every visit buffered in ``model.visits`` today."""
        m = self.model
        rows, pairs = m.visits.take_pending()  # in time order
        n = rows["enterprise"].size
        if n == 0:
            return
        if self._kernel is not None:
            rows["duplicate"] = self._book_compiled(rows, pairs)
            m.visits.commit(rows)
            return
        order = rows["enterprise"].argsort(kind="stable")  # by firm, then time
        firm, unit, at = rows["enterprise"][order], rows["unit"][order], rows["at"][order]
        if np.count_nonzero(first_in_run(firm)) == n:  # every firm once (.all(), unwrapped)
            duplicate = self._book_single(firm, unit, at, pairs)
        else:
            duplicate = self._book_grouped(firm, unit, at, pairs)
        rows["duplicate"] = np.empty(n, dtype=bool)
        rows["duplicate"][order] = duplicate
        m.visits.commit(rows)

    def _book_compiled(self, rows: dict[str, np.ndarray], pairs: np.ndarray) -> np.ndarray:
        """:meth:`book` in one kernel call, the rulings drawn after it; returns the duplicates."""
        m = self.model
        ent = m.enterprises
        n = rows["enterprise"].size
        if self._out_at.size < n:  # per-firm outputs: at most one row per visit
            size = max(n, 2 * self._out_at.size)
            self._out_firms, self._out_conflicts = np.empty((2, size), dtype=np.int64)
            self._out_at = np.empty(size)
        consts = self._consts
        if consts is None:
            sat = m.config.satisfaction
            consts = self._consts = np.array([
                sat.visit_tolerance_per_year, sat.burden_penalty, 1.0 - m.config.trust.eta_burden,
                1.0 - m.config.compliance.risk_own_weight, len(m.departments),
                DUPLICATE_WINDOW_DAYS])
        duplicate = np.empty(n, dtype=bool)
        beliefs = m.beliefs
        n_firms, n_conflicting = self._kernel(
            rows["enterprise"], rows["unit"], rows["at"], pairs, ent.last_visit_body,
            ent.last_visit_day, ent.visits_12m, ent.satisfaction, ent.trust, ent.p_hat,
            self._pair_count, beliefs.touched_ids, beliefs.touched_mask, consts, duplicate,
            self._out_firms, self._out_conflicts, self._out_at)
        if n_conflicting:
            m.trust.book_rulings(self._out_firms[:n_firms], self._out_conflicts[:n_firms],
                                 self._out_at[:n_firms])
        return duplicate

    def _book_single(self, firm: np.ndarray, unit: np.ndarray, at: np.ndarray,
                     pairs: np.ndarray) -> np.ndarray:
        """Book a day on which no firm is visited twice; returns whether each visit is a duplicate.

        :meth:`_book_grouped` with every group of size one: the group reductions are the visit's
        own values, and the checked pairs are distinct (a visit checks distinct pairs of its
        firm), so each is checked once: ``(1 - a) ** 1 == 1 - a``.
        """
        m = self.model
        ent = m.enterprises
        prev_unit = ent.last_visit_body[firm]
        duplicate = self._duplicate(unit, at, prev_unit, ent.last_visit_day[firm])
        visits = ent.visits_12m[firm] + 1.0
        beyond = visits > m.config.satisfaction.visit_tolerance_per_year
        ent.satisfaction[firm] *= 1.0 - m.config.satisfaction.burden_penalty * (beyond + duplicate)
        conflict = self._conflict(duplicate, unit, prev_unit)
        m.trust.book_visits(firm, beyond, conflict, at)  # once each: the masks are the counts
        ent.visits_12m[firm] = visits
        ent.last_visit_day[firm] = at
        ent.last_visit_body[firm] = unit
        self._raise_risk(pairs, each_once=True)
        m.beliefs.touch(firm)
        return duplicate

    def _book_grouped(self, firm: np.ndarray, unit: np.ndarray, at: np.ndarray,
                      pairs: np.ndarray) -> np.ndarray:
        """Book visits sorted by firm, then time; returns whether each visit is a duplicate."""
        m = self.model
        ent = m.enterprises
        n = firm.size
        starts, sizes = runs(firm)
        ends = starts + sizes - 1
        firms = firm[starts]
        prev_at, prev_unit = np.empty(n), np.empty(n, dtype=unit.dtype)
        prev_at[1:], prev_unit[1:] = at[:-1], unit[:-1]
        prev_at[starts] = ent.last_visit_day[firms]
        prev_unit[starts] = ent.last_visit_body[firms]
        duplicate = self._duplicate(unit, at, prev_unit, prev_at)
        rank = np.arange(n) - np.repeat(starts, sizes)
        visits = ent.visits_12m[firm] + rank + 1.0
        sat = m.config.satisfaction
        penalty = sat.burden_penalty * ((visits > sat.visit_tolerance_per_year) + duplicate)
        ent.satisfaction[firms] *= np.multiply.reduceat(1.0 - penalty, starts)
        beyond = np.add.reduceat((visits > sat.visit_tolerance_per_year).astype(np.int64), starts)
        conflict = self._conflict(duplicate, unit, prev_unit)
        m.trust.book_visits(firms, beyond, np.add.reduceat(conflict.astype(np.int64), starts),
                            at[starts])
        ent.visits_12m[firms] += sizes
        ent.last_visit_day[firms] = at[ends]
        ent.last_visit_body[firms] = unit[ends]
        self._raise_risk(pairs, each_once=False)
        m.beliefs.touch(firms)
        return duplicate

    def _raise_risk(self, pairs: np.ndarray, each_once: bool) -> None:
        """Perceived risk of the checked pairs: ``p <- 1 - (1 - p)(1 - a)^k`` for k checks.

        ``each_once``: no pair is listed twice (``(1 - a) ** 1 == 1 - a``, no grouping needed).
        """
        p_hat = self.model.enterprises.p_hat
        a = self.model.config.compliance.risk_own_weight
        if each_once:
            p_hat[pairs] = 1.0 - (1.0 - p_hat[pairs]) * (1.0 - a)
            return
        pairs = np.sort(pairs)
        starts, k = runs(pairs)
        checked = pairs[starts]  # with k: np.unique(pairs, return_counts=True)
        p_hat[checked] = 1.0 - (1.0 - p_hat[checked]) * (1.0 - a) ** k

    @staticmethod
    def _duplicate(unit: np.ndarray, at: np.ndarray, prev_unit: np.ndarray,
                   prev_at: np.ndarray) -> np.ndarray:
        """Whether each visit follows another body's visit to the firm within 30 days."""
        return (at - prev_at <= DUPLICATE_WINDOW_DAYS) & (prev_unit != unit)

    def _conflict(self, duplicate: np.ndarray, unit: np.ndarray,
                  prev_unit: np.ndarray) -> np.ndarray:
        """Duplicate visits by a department after another department (may conflict)."""
        if not np.count_nonzero(duplicate):  # duplicate.any(), without its Python wrapper
            return duplicate
        n_depts = len(self.model.departments)
        return duplicate & (unit < n_depts) & (prev_unit >= 0) & (prev_unit < n_depts)
