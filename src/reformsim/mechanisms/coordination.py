"""Coordination between the street and departments: whistle-summons and support requests (M10).

**Whistle-summons (乡镇吹哨、部门报到).** With ``levers.whistle_summons`` on, a case the street
finds but cannot sanction (the matter is not in the street team's power) is not referred along
departments: the area squad summons the owning department (and, for an ambiguous matter, the
alternative owner too). Each summoned department reports with probability
``levers.summons_show_probability`` after an exponential delay of mean
``levers.summons_arrival_hours`` working hours and takes the case into its queue; if none
reports, the case falls back to the referral chain (M9). Arranging the summons costs the squad
``summons_base_hours + summons_hours_per_pair * n (n - 1) / 2`` officer-hours for ``n`` summoned
departments (Scharpf 1993: positive coordination costs grow with the pairs of actors).

**Support requests (一针穿千线).** The most complex ``technical_share`` of matters (by rank) need a technical
appraisal. When an officer whose skill in the case's domain is below ``support_skill_threshold``
takes such a case in a unit that is not the owning department, the officer asks that department
for support: the department spends ``support_hours`` of officer time and the case waits
``support_response_days`` working days before it is handled (O9: about two working days). A case
asks at most once. After integration this is the one-to-many load on the street team (陈念平
2024; SF-11); in siloed departments specialists handle their own matters and rarely ask.

Show-up and delay draws are keyed per case (``keyed_cases`` slots ``SLOT_SUMMONS_*``), so two
designs of a comparison summon with the same luck.

References
----------
Scharpf (1993); 吕普生 & 张梦慧 (2021) 执法召集制; Pinggu rules (O6); 陈念平 (2024); domain.md M10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reformsim.streams import SLOT_SUMMONS_DELAY, SLOT_SUMMONS_SHOW

if TYPE_CHECKING:
    from reformsim.agents import WorkUnit
    from reformsim.model import ReformModel


@dataclass(slots=True)
class CoordinationTask:
    """Officer time spent on coordination, queued like a case.

    ``kind`` is ``"summons"`` (arranging a summons, at the squad) or ``"support"`` (answering a
    support request, at the department).
    """

    hours: float
    domain: int
    kind: str


class Coordination:
    """Summons and support requests, with their counters for the KPIs."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        cat = model.catalog
        share = model.config.coordination.technical_share
        #: matters that need a technical appraisal: the ``round(share * n)`` most complex ones
        #: (ties broken by catalogue order)
        self.technical = np.zeros(cat.complexity.size, dtype=bool)
        most_complex = np.argsort(-cat.complexity, kind="stable")
        self.technical[most_complex[: round(share * cat.complexity.size)]] = True
        self._technical = self.technical.tolist()  # for scalar reads on the casework path
        self._support_skill_threshold = model.config.coordination.support_skill_threshold
        self.arrival_hours: list[float] = []
        self.no_shows = 0

    # ------------------------------------------------------------------ whistle-summons

    def summon(self, cid: int, t0: float) -> bool:
        """Summon the department(s) owning case ``cid``'s matter; True if one took the case."""
        m = self.model
        lv = m.config.levers
        if not lv.whistle_summons:
            return False
        cases = m.cases.cols
        matter, domain = int(cases["matter"][cid]), int(cases["domain"][cid])
        summoned = self._summoned(matter, domain)
        self._book_cost(cid, t0, domain, len(summoned))
        cases["summoned"][cid] = True
        in_window = t0 >= m.config.run.warmup_days
        for k, dept_index in enumerate(summoned):
            dept = m.departments[dept_index]
            if m.case_uniform(cid, SLOT_SUMMONS_SHOW + k) >= lv.summons_show_probability:
                continue
            if not dept.officers:
                continue
            u = m.case_uniform(cid, SLOT_SUMMONS_DELAY + k)
            delay = -lv.summons_arrival_hours * math.log1p(-u)
            if in_window:
                self.arrival_hours.append(delay)
            m.enqueue_case(cid, dept, m.calendar.add_work_hours(t0, delay), 0, first_unit=dept)
            return True
        if in_window:
            self.no_shows += 1
        return False

    def _summoned(self, matter: int, domain: int) -> list[int]:
        """Return the departments a summons calls.

        The owner of the matter's domain, and the alternative owner of an ambiguous matter.
        """
        m = self.model
        owner = int(m.owner_dept[domain])
        alt = int(m.catalog.alt_owner[matter])
        if bool(m.catalog.ambiguous[matter]) and alt >= 0 and alt != owner:
            return [owner, alt]
        return [owner]

    def _book_cost(self, cid: int, t0: float, domain: int, n: int) -> None:
        """Queue the squad's officer time for arranging a summons of ``n`` departments."""
        m = self.model
        spec = m.config.coordination
        hours = spec.summons_base_hours + spec.summons_hours_per_pair * n * (n - 1) / 2.0
        squad = m.squads[int(m.cases.cols["area"][cid])]
        if hours > 0 and squad.officers:
            squad.push_case(t0, CoordinationTask(hours, domain, "summons"))

    # ------------------------------------------------------------------ support requests

    def needs_support(self, unit: WorkUnit, skill: float, cid: int, matter: int,
                      domain: int) -> bool:
        """Whether the officer must ask the owning department for a technical appraisal."""
        if not self._technical[matter]:  # most matters: no appraisal, nothing else to read
            return False
        m = self.model
        return bool(
            skill < self._support_skill_threshold
            and m.cases.cols["support_requests"][cid] == 0
            and unit.index != int(m.owner_dept[domain])
        )

    def request_support(self, unit: WorkUnit, cid: int, domain: int, at: float) -> None:
        """Ask the owning department; the case waits in ``unit``'s queue for the answer."""
        m = self.model
        spec = m.config.coordination
        m.cases.cols["support_requests"][cid] += 1
        dept = m.departments[int(m.owner_dept[domain])]
        if spec.support_hours > 0 and dept.officers:
            dept.push_case(at, CoordinationTask(spec.support_hours, domain, "support"))
        unit.push_case(m.calendar.add_work_days(at, spec.support_response_days), cid)
