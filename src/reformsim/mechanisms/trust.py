"""Enterprise trust in the enforcers and its voluntary-compliance effect (M6).

Slippery-slope framework (Kirchler, Hoelzl & Wahl 2008): compliance has an enforced part (power:
perceived risk × sanction, M1) and a voluntary part that grows with trust ``T_i`` in [0, 1].
Trust moves with encounters (domain.md M6):

    T <- T + eta_help (1 - T)        advice (说服教育), e.g. a first-violation waiver (首违不罚)
    T <- T + eta_fair (1 - T)        an order to fix or any harsher sanction of a real violation
                                     (a fair encounter)
    T <- T (1 - eta_burden)          each visit beyond the tolerance V_tol in a year
    T <- T (1 - eta_arbitrary)       an inconsistent ruling: conflicting orders from two
                                     departments visiting within 30 days (siloed; Jiashan spray
                                     booth, S15), or a handling error by the officer

In compliance (step 1) the utility of violating falls by ``weight * (T - T_0)``: trust above its
initial value lowers violations, below raises them (motivational crowding-out when burden erodes
trust; Frey & Jegen 2001, modest evidence: keep ``eta_burden`` small).

References
----------
Kirchler, Hoelzl & Wahl (2008); Wahl, Kastlunger & Kirchler (2010); Frey & Jegen (2001);
Feld & Frey (2007); domain.md M6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from reformsim.model import ReformModel


class Trust:
    """Trust updates on encounters; counts inconsistent rulings for the KPIs."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.spec = model.config.trust
        self.inconsistent_rulings = 0

    def utility_shift(self, firms: np.ndarray) -> np.ndarray:
        """Change in the utility of violating from trust, per firm (negative when trust is high)."""
        return -self.spec.weight * (self.model.enterprises.trust[firms] - self.spec.initial)

    def encounter(self, firm: int, advisory: bool) -> None:
        """A case decided for ``firm``: advisory encounters help more than other fair ones."""
        eta = self.spec.eta_help if advisory else self.spec.eta_fair
        t = self.model.enterprises.views["trust"]
        trust = t[firm]  # a Python float: the same IEEE operations as on the element
        t[firm] = trust + eta * (1.0 - trust)

    def erode(self, firms: np.ndarray, times: np.ndarray, eta: float) -> None:
        """Lower trust of ``firms`` by a share ``eta``, ``times`` times each (firms unique)."""
        if firms.size:
            self.model.enterprises.trust[firms] *= (1.0 - eta) ** times

    def book_visits(self, firms: np.ndarray, beyond: np.ndarray, conflicts: np.ndarray,
                    at: np.ndarray) -> None:
        """Apply a day's visits per firm: visits beyond tolerance and inconsistent rulings.

        Parameters
        ----------
        firms
            Unique visited firms.
        beyond, conflicts
            Per firm: visits beyond tolerance, and duplicate visits by another department
            (counts, or masks when each firm was visited once: the same draws and factors).
        at
            Per firm: the time of its first visit today (the rulings count in the KPIs from
            the end of the warm-up).
        """
        s = self.spec
        # eroding zero times multiplies by exactly 1.0, and a binomial draw with n = 0 uses no
        # random numbers, so days without visits beyond tolerance or conflicts skip those steps
        if np.count_nonzero(beyond):  # .any() without its Python-level wrapper
            self.erode(firms, beyond, s.eta_burden)
        if np.count_nonzero(conflicts):
            self.book_rulings(firms, conflicts, at)

    def book_rulings(self, firms: np.ndarray, conflicts: np.ndarray, at: np.ndarray) -> None:
        """Draw the inconsistent rulings of a day's possible conflicts, count them, erode trust.

        The second half of :meth:`book_visits` (parameters as there); the compiled visit
        booking (:func:`~reformsim.belief_kernels.book_visits_day`) calls it after
        applying the visits beyond tolerance.
        """
        s = self.spec
        rng = self.model.streams["trust"]
        p = s.conflict_probability
        keep = 1.0 - s.eta_arbitrary
        warmup = self.model.config.run.warmup_days
        trust = self.model.enterprises.views["trust"]
        # one scalar draw per firm with conflicts, in firm order: the same draws as one array
        # draw over every firm (numpy's binomial draws element by element; n = 0 draws
        # nothing), at a twentieth of its fixed cost
        for i in np.flatnonzero(conflicts).tolist():
            rulings = int(rng.binomial(int(conflicts[i]), p))
            if rulings:
                if at[i] >= warmup:
                    self.inconsistent_rulings += rulings
                e = int(firms[i])
                trust[e] = trust[e] * keep ** rulings  # C pow, as numpy's power

    def handling_error(self, firm: int) -> None:
        """An officer's handling error (wrong ruling) is arbitrary treatment of the firm."""
        self.model.enterprises.trust[firm] *= 1.0 - self.spec.eta_arbitrary
