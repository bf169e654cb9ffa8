"""Cross-training and the generalist/specialist speed ratio (M12).

Officers learn by doing (``Officer.gain_experience``: Wright's curve with forgetting). A training
programme adds learning that does not depend on case volume, at the cost of working time:

* ``levers.training_hours_per_month`` of classroom training per squad officer, giving
  ``training_experience_per_hour`` case-equivalents of experience per hour, spread over domains
  in proportion to the street's expected case mix;
* ``levers.exchange_sessions_per_year`` exchange sessions between the street team and the
  departments (交流互学), ``exchange_session_hours`` each, giving ``exchange_experience``
  case-equivalents in every domain other than the officer's home domain.

The hours are taken evenly from each squad officer's working days (officers start casework
later). Experience is credited monthly, when forgetting is applied (step 8).

The **generalist speed ratio** reported daily is the case-mix-weighted mean, over squad officers
and domains other than their home domain, of

    r_od = (c_d + h) / (c_d (1 + kappa_complex (1 - skill_od)) + h),

the speed of officer ``o`` on a typical case of domain ``d`` relative to a specialist (skill 1),
with ``c_d`` the domain's case-weighted mean complexity and ``h`` the handling hours. It emerges
from learning, forgetting and training rather than being a constant (SF-6: generalists start
slower and converge only in high-volume domains).

References
----------
Wright (1936); Staats & Gino (2012); McCreery, Krajewski, Leong & Ritzman (2004);
Kim (2009); Thompson (2007); domain.md M12.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reformsim import jit
from reformsim.observe_kernels import speed_ratio_terms

if TYPE_CHECKING:
    from reformsim.agents import Officer
    from reformsim.model import ReformModel

DAYS_PER_MONTH = 30


class Training:
    """Training time, monthly training experience and the generalist speed ratio."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        sc = model.config
        lv, cw = sc.levers, sc.casework
        working_days_per_month = DAYS_PER_MONTH * model.calendar.week / 7.0
        monthly_hours = (lv.training_hours_per_month
                         + lv.exchange_sessions_per_year * cw.exchange_session_hours / 12.0)
        #: hours per working day each squad officer spends training
        self.daily_hours = min(monthly_hours / working_days_per_month, model.calendar.hours)
        self.case_mix = self._case_mix()
        cat = model.catalog
        n_dom = len(model.domain_names)
        self.domain_complexity = np.bincount(cat.domain, weights=cat.weight * cat.complexity,
                                             minlength=n_dom)
        #: numerator of every domain's speed ratio, complexity + handling hours
        self.speed_numerator = self.domain_complexity + sc.casework.handling_hours
        self.trainees: list[Officer] = [o for s in model.squads for o in s.officers]
        home = np.array([o.home_domain for o in self.trainees], dtype=np.int64)
        weight = np.tile(self.case_mix, (len(self.trainees), 1))
        weight[np.flatnonzero(home >= 0), home[home >= 0]] = 0.0  # outside the home domain only
        #: per squad officer and domain, the weight in the speed ratio (sums to 1)
        self.ratio_weight = weight / weight.sum() if weight.sum() > 0 else weight
        #: whether the ratio is defined: squad officers with some weight outside their home
        self._has_ratio = bool(self.trainees) and bool(np.count_nonzero(self.ratio_weight))
        self._terms = np.empty(self.ratio_weight.size)
        self._kernel = speed_ratio_terms.compiled() if jit.enabled() else None

    def _case_mix(self) -> np.ndarray:
        """Expected share of cases per domain: violation weight × exposure pairs."""
        m = self.model
        weights = np.array([d.violation_weight for d in m.config.domains])
        pairs = np.bincount(m.enterprises.pair_dom, minlength=len(weights))
        mix = weights * pairs
        return mix / mix.sum() if mix.sum() > 0 else np.full(len(weights), 1.0 / len(weights))

    def monthly(self) -> None:
        """Credit a month of training and exchange experience to every squad officer."""
        sc = self.model.config
        lv, cw = sc.levers, sc.casework
        training = lv.training_hours_per_month * cw.training_experience_per_hour * self.case_mix
        exchange = lv.exchange_sessions_per_year / 12.0 * cw.exchange_experience
        if not training.any() and exchange == 0:
            return
        for squad in self.model.squads:  # the trainees, one squad at a time
            if not squad.officers:
                continue
            gain = np.tile(training + exchange, (len(squad.officers), 1))
            home = np.array([o.home_domain for o in squad.officers])
            own = np.flatnonzero(home >= 0)
            gain[own, home[own]] -= exchange  # no exchange in the home domain
            squad.train(gain)

    def speed_ratio(self) -> float:
        """Return the generalist speed ratio (NaN without squad officers).

        The case-mix-weighted speed of squad officers relative to specialists, outside their home
        domain.
        """
        if self._kernel is not None and self._has_ratio:
            skills = tuple([sq.skill_matrix for sq in self.model.squads if sq.officers])
            cw = self.model.config.casework
            if skills and self._kernel(skills, self.domain_complexity, self.speed_numerator,
                                       self.ratio_weight, cw.kappa_complex, cw.handling_hours,
                                       self._terms):
                return float(np.add.reduce(self._terms))  # ratio.sum(): the same pairwise sum
        if not self.trainees or not np.count_nonzero(self.ratio_weight):
            return float("nan")
        cw = self.model.config.casework
        skills = np.concatenate([sq.skill_matrix for sq in self.model.squads if sq.officers])
        # (c + h) / (c * (1 + kappa * (1 - skill)) + h), the same operations in place
        ratio = np.subtract(1.0, skills, out=skills)
        ratio *= cw.kappa_complex
        ratio += 1.0
        ratio *= self.domain_complexity
        ratio += cw.handling_hours
        np.divide(self.speed_numerator, ratio, out=ratio)
        ratio *= self.ratio_weight
        return float(ratio.sum())
