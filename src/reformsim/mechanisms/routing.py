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

from reformsim import detection_kernels as dk
from reformsim import jit
from reformsim.caselog import ORPHANED
from reformsim.column_views import KernelArrays
from reformsim.streams import SLOT_ACCEPT, SLOT_MISROUTE, SLOT_MISROUTE_TO

if TYPE_CHECKING:
    from reformsim.model import ReformModel


class Routing(KernelArrays):
    """Routes new cases to a work unit's queue or marks them orphaned."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        #: the compiled :func:`~reformsim.detection_kernels.route_cases`, or None
        self._kernel = dk.route_cases.compiled() if jit.enabled() else None
        if self._kernel is not None:
            self._bind_kernel()

    def _bind_kernel(self) -> None:
        """Prepare the kernel's constant inputs: per matter and domain tables, the parameters."""
        m = self.model
        lv, r = m.config.levers, m.config.routing
        cat = m.catalog
        alt = cat.alt_owner.astype(np.int64)
        self._matter_tab = np.stack([alt, (cat.ambiguous & (alt >= 0)).astype(np.int64)], axis=1)
        self._owner_dept = m.owner_dept.astype(np.int64)
        params = np.zeros(12)
        params[dk.P_REPORT] = m.config.detection.report_latency_hours / 24.0
        params[dk.P_UNIFIED] = lv.unified_dispatch
        params[dk.P_DISPATCH] = lv.dispatch_latency_hours / 24.0
        params[dk.P_DELAY] = lv.transfer_delay_days
        params[dk.P_WEEK] = m.calendar.week
        params[dk.P_MISROUTE_P] = r.misroute_probability
        params[dk.P_ACCEPT_OWNER] = r.accept_owner
        params[dk.P_ACCEPT_AMBIGUOUS] = r.accept_ambiguous
        params[dk.P_N_DEPT] = len(m.departments)
        params[dk.P_MAX_REFERRALS] = r.max_referrals
        params[dk.P_MISROUTE] = not lv.unified_dispatch
        self._route_params = params
        #: :meth:`refer`'s parameters, without and with misrouting
        self._refer_params = []
        for misroute in (0.0, 1.0):
            refer = params.copy()
            refer[dk.P_MISROUTE] = misroute
            refer[dk.P_REFER_ALL] = 1.0
            self._refer_params.append(refer)
        #: the key of stream ``keyed_cases`` (as :meth:`Streams.keyed_hash` derives it)
        self._stream_key = m.streams.seed_sequence("keyed_cases").generate_state(1, np.uint64)
        self._no_t0 = np.zeros(0)
        self._reserve(64)
        self._arrays_key: tuple[int, int] | None = None
        self._arrays: tuple[np.ndarray, ...] = ()

    def _reserve(self, n: int) -> None:
        """(Re)allocate the kernel's output buffers for ``n`` cases."""
        self._out_i = np.zeros((4, n), dtype=np.int64)
        self._out_t = np.zeros((2, n))

    def _run_kernel(self, case_ids: np.ndarray, t0: np.ndarray, params: np.ndarray
                    ) -> tuple[list, list, list, list, list, list]:
        """Run the kernel on ``case_ids``: ids, kind, unit, transfers, first unit, t0, ready."""
        m = self.model
        n = case_ids.size
        if n > self._out_t.shape[1]:
            self._reserve(2 * n)
        key = (m.cases.capacity, m.violations.capacity)
        if key != self._arrays_key:  # the columns are new arrays when a table grows
            c, v = m.cases.cols, m.violations.cols
            self._arrays = (c["matter"], c["domain"], c["violation_id"], c["area"], c["attempt"],
                            c["detected_at"], v["onset_at"], v["pair"], m.team_authority,
                            self._owner_dept, self._matter_tab, self._stream_key)
            self._arrays_key = key
        self._kernel(case_ids, t0, params, self._out_i, self._out_t, *self._arrays)
        return case_ids.tolist(), *self._out_i[:, :n].tolist(), *self._out_t[:, :n].tolist()

    def _apply(self, cid: int, kind: int, unit: int, transfers: int, first: int,
               ready: float) -> None:
        """Enqueue a case the kernel routed to a department, or orphan it (see :meth:`refer`)."""
        m = self.model
        if kind == 1:
            dept = m.departments[unit]
            m.enqueue_case(cid, dept, ready, transfers, first_unit=m.departments[first])
            return
        cases = m.cases.cols
        cases["first_unit"][cid] = m.departments[first].index
        cases["transfers"][cid] = transfers
        cases["status"][cid] = ORPHANED
        cases["orphaned_at"][cid] = ready
        m.residents_feedback(cid, None)

    def route(self, case_ids: np.ndarray) -> None:
        """Route street-side detections (complaints, patrol, platform)."""
        if case_ids.size == 0:
            return
        m = self.model
        if self._kernel is not None:
            squads, coordination = m.squads, m.coordination
            for cid, kind, unit, transfers, first, t0, ready in zip(
                    *self._run_kernel(case_ids, self._no_t0, self._route_params), strict=True):
                if kind == 0:
                    squad = squads[unit]
                    m.enqueue_case(cid, squad, ready, transfers, first_unit=squad)
                elif not coordination.summon(cid, t0):  # 吹哨报到 first, when on (M10)
                    self._apply(cid, kind, unit, transfers, first, ready)
            return
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
        if self._kernel is not None:
            _, (kind,), (unit,), (transfers,), (first,), _, (ready,) = self._run_kernel(
                np.array([cid], dtype=np.int64), np.array([t0]), self._refer_params[misroute])
            self._apply(cid, kind, unit, transfers, first, ready)
            return
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
