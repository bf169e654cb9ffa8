"""Step 4, routing: who handles a case, after how many transfers, or nobody (domain.md M9, M13).

* The street team's squad for the case's area handles a matter when the team has power over it:
  the matter is delegated, or it is ambiguous, the team takes unclear matters by default (兜底)
  and the matter is not on the negative list. With unified dispatch (统一指挥调度) the case
  reaches the squad's mobile terminals after ``dispatch_latency_hours``; without it, after a
  manual transfer of ``transfer_delay_days`` working days.
* Any other case is referred to a department. Without unified dispatch the first referral goes to
  a wrong department with ``misroute_probability``. Each referral costs ``transfer_delay_days``
  working days (O8: 3, max 5). The owner accepts with ``accept_owner`` (``accept_ambiguous`` for
  unclear matters, which bounce between the two plausible owners: 推诿扯皮); a wrong department
  never accepts and refers on. After ``max_referrals`` the case is dropped: an orphan (三不管).
* With whistle-summons on (吹哨报到, ``levers.whistle_summons``), the squad first summons the
  owning department(s); only if none reports does the case enter the referral chain
  (:mod:`reformsim.mechanisms.coordination`).

References
----------
Gersen (2007); Freeman & Rossi (2012); Changshou transfer rules (2023, O8).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from reformsim.caselog import ORPHANED
from reformsim.streams import SLOT_ACCEPT, SLOT_MISROUTE, SLOT_MISROUTE_TO

if TYPE_CHECKING:
    from reformsim.model import ReformModel


class Routing:
    """Routes new cases to a work unit's queue or marks them orphaned."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model

    def route(self, case_ids: np.ndarray) -> None:
        """Route street-side detections (complaints, patrol, platform)."""
        if case_ids.size == 0:
            return
        m = self.model
        lv = m.config.levers
        cases = m.cases.cols
        report = m.config.detection.report_latency_hours / 24.0
        team = m.team_authority[cases["matter"][case_ids]].tolist()
        reported = (cases["detected_at"][case_ids] + report).tolist()
        areas = cases["area"][case_ids].tolist()
        for cid, t0, team_has_power, area in zip(case_ids.tolist(), reported, team, areas,
                                                 strict=True):
            if team_has_power:
                squad = m.squads[area]
                if lv.unified_dispatch:
                    ready, transfers = t0 + lv.dispatch_latency_hours / 24.0, 0
                else:
                    ready, transfers = m.calendar.add_work_days(t0, lv.transfer_delay_days), 1
                m.enqueue_case(cid, squad, ready, transfers, first_unit=squad)
            elif not m.coordination.summon(cid, t0):  # 吹哨报到 first, when on (M10)
                self.refer(cid, t0, misroute=not lv.unified_dispatch)

    @cached_property
    def _owners(self) -> tuple[list[int], list[int], list[bool]]:
        """Owning department per domain; second plausible owner and ambiguity per matter."""
        m = self.model
        return m.owner_dept.tolist(), m.catalog.alt_owner.tolist(), m.catalog.ambiguous.tolist()

    def refer(self, cid: int, t0: float, misroute: bool) -> None:
        """Refer a case along departments until one accepts or it is orphaned."""
        m = self.model
        r = m.config.routing
        cases = m.cases.cols
        matter = cases["matter"].item(cid)
        owner_of_domain, alt_owner, ambiguous_matter = self._owners
        owner = owner_of_domain[cases["domain"].item(cid)]
        alt = alt_owner[matter]
        ambiguous = ambiguous_matter[matter] and alt >= 0
        n_dept = len(m.departments)
        target = owner
        if misroute and n_dept > 1 and m.case_uniform(cid, SLOT_MISROUTE) < r.misroute_probability:
            other = int(m.case_uniform(cid, SLOT_MISROUTE_TO) * (n_dept - 1))
            target = other + (other >= owner)
        first = m.departments[target]
        t = t0
        for hop in range(1, r.max_referrals + 1):
            t = m.calendar.add_work_days(t, m.config.levers.transfer_delay_days)
            if target == owner:
                p = r.accept_ambiguous if ambiguous else r.accept_owner
            elif ambiguous and target == alt:
                p = r.accept_ambiguous
            else:
                p = 0.0
            # a uniform is never below 0: a department that never accepts needs no draw
            if p > 0.0 and m.case_uniform(cid, SLOT_ACCEPT + min(hop, 50)) < p:
                m.enqueue_case(cid, m.departments[target], t, hop, first_unit=first)
                return
            target = (alt if target == owner else owner) if ambiguous else owner
        cases["first_unit"][cid] = first.index
        cases["transfers"][cid] = r.max_referrals
        cases["status"][cid] = ORPHANED
        cases["orphaned_at"][cid] = t
        m.residents_feedback(cid, None)
