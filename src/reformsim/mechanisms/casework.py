"""Step 6, casework: officers work their unit's queue within daily hours (domain.md M11, M12).

Each work unit (department or area squad) is a multi-server queue. When an officer is free the
unit serves the oldest ready case first, then the oldest planned inspection (cases before
inspections, first come first served within each class, non-pre-emptive). Among officers free at
that moment the one most skilled in the task's domain takes it. Work runs in continuous time
inside the working window and spills into the next working day.

* Case handling time: round-trip travel from the unit's base + a service time with mean
  ``complexity_m * (1 + kappa_complex * (1 - skill)) + handling_hours`` drawn from the
  configured distribution (lognormal with ``service_cv``, exponential, or fixed). The officer
  is on scene after half the travel time. The officer gains one unit of experience in the domain.
* Inspection time: travel + ``host_hours`` + ``check_hours_per_domain`` per domain checked. Each
  open, not yet known violation in a checked domain is found with probability
  ``find_probability * (0.5 + 0.5 * skill)``. A finding the inspecting unit has power over is
  handled on the spot by the same officer; any other is transferred to the owning department.

With one department, one domain, exponential service, no travel and a 24-hour, 7-day calendar
this reduces to an M/M/c queue (verified against Erlang C in the tests).

References
----------
Erlang C; Borst, Mandelbaum & Reiman (2004); Wright (1936); Staats & Gino (2012).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtri

from reformsim.agents import Officer, WorkUnit
from reformsim.caselog import CLOSED, SOURCES
from reformsim.mechanisms.inspection import InspectionTask
from reformsim.streams import SLOT_SERVICE

if TYPE_CHECKING:
    from reformsim.model import ReformModel

INSPECTION = SOURCES.index("inspection")


class Casework:
    """Runs every unit's queue for one working day."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.busy_hours = 0.0
        self.available_hours = 0.0

    def step(self, day: int) -> None:
        """Serve queues until every officer's day is full or the queues are empty."""
        m = self.model
        if not m.calendar.is_working(day):
            return
        lo, hi = m.calendar.window(day)
        for unit in m.units:
            unit.busy_today = 0.0
            if unit.officers:
                self._serve_unit(unit, lo, hi)
        if m.in_window(day):
            self.available_hours += m.calendar.hours * m.n_case_officers
        self._idle_patrol()

    def _idle_patrol(self) -> None:
        """Squad officers patrol their area with a share of their idle hours (日常巡查)."""
        m = self.model
        share = m.config.detection.officer_patrol_share
        hours = np.zeros(m.territory.n_grids)
        for squad in m.squads:
            idle = max(len(squad.officers) * m.calendar.hours - squad.busy_today, 0.0)
            grids = m.area_grids[squad.area]
            hours[grids] += share * idle / max(len(grids), 1)
        m.officer_patrol_hours = hours

    def _next_task(self, unit: WorkUnit, t: float) -> tuple[Any, float] | None:
        """Pop the task to start at ``t`` (or the earliest ready one); None if the queue is empty."""
        stale = self.model.inspection_planning.stale_days
        while unit.inspections and unit.inspections[0][0] < t - stale:
            ready, _, _task = heapq.heappop(unit.inspections)
            if self.model.in_window(int(ready)):
                self.model.inspection_planning.cancelled += 1
        for heap in (unit.cases, unit.inspections):
            if heap and heap[0][0] <= t:
                ready, _, task = heapq.heappop(heap)
                return task, ready
        tops = [h[0] for h in (unit.cases, unit.inspections) if h]
        if not tops:
            return None
        ready, _, task = min(tops)
        heap = unit.cases if (unit.cases and unit.cases[0][2] is task) else unit.inspections
        heapq.heappop(heap)
        return task, ready

    def _serve_unit(self, unit: WorkUnit, lo: float, hi: float) -> None:
        officers = unit.officers
        free = np.maximum(np.array([o.free_at for o in officers]), lo)
        while True:
            i = int(free.argmin())
            t = float(free[i])
            if t >= hi:
                return
            picked = self._next_task(unit, t)
            if picked is None:
                return
            task, ready = picked
            start = max(t, ready)
            if start >= hi:
                self._requeue(unit, task, ready)
                return
            domain = self._task_domain(task)
            k = self._pick_officer(unit, free, start, domain)
            officer = officers[k]
            if isinstance(task, InspectionTask):
                self.inspect(unit, officer, task, start)
            else:
                self.handle_case(unit, officer, int(task), start)
            free[k] = max(officer.free_at, lo)

    def _requeue(self, unit: WorkUnit, task: Any, ready: float) -> None:
        if isinstance(task, InspectionTask):
            unit.push_inspection(ready, task)
        else:
            unit.push_case(ready, task)

    def _task_domain(self, task: Any) -> int:
        m = self.model
        if isinstance(task, InspectionTask):
            return int(m.enterprises.pair_dom[task.pairs[0]])
        return int(m.cases["domain"][int(task)])

    @staticmethod
    def _pick_officer(unit: WorkUnit, free: np.ndarray, start: float, domain: int) -> int:
        """Index of the most skilled officer free at ``start`` (ties: the first)."""
        skill = np.where(free <= start, unit.skill_matrix[:, domain], -1.0)
        return int(skill.argmax())

    def _work(self, officer: Officer, start: float, hours: float) -> float:
        """Book ``hours`` of work from ``start``; return the end time."""
        m = self.model
        end = m.calendar.add_work_hours(start, hours)
        officer.free_at = end
        officer.unit.busy_today += hours
        if m.in_window(int(start)):
            officer.busy_hours += hours
            self.busy_hours += hours
        return end

    def service_hours(self, cid: int, matter: int, skill: float) -> float:
        """Draw the on-site handling time of one case (hours), from the case's keyed uniform."""
        m = self.model
        cw = m.config.casework
        mean = m.catalog.complexity[matter] * (1.0 + cw.kappa_complex * (1.0 - skill)) + cw.handling_hours
        if cw.service_time_distribution == "fixed" or (
                cw.service_time_distribution == "lognormal" and cw.service_cv == 0):
            return float(mean)
        u = m.case_uniform(cid, SLOT_SERVICE)
        if cw.service_time_distribution == "exponential":
            return float(-mean * np.log1p(-u))
        s2 = np.log1p(cw.service_cv**2)
        return float(np.exp(np.log(mean) - 0.5 * s2 + np.sqrt(s2) * ndtri(u)))

    def handle_case(self, unit: WorkUnit, officer: Officer, cid: int, start: float,
                    travel: float | None = None) -> float:
        """Travel to the case, handle it, decide the sanction, close it. Returns the end time."""
        m = self.model
        cases = m.cases
        grid = int(cases["grid"][cid])
        domain = int(cases["domain"][cid])
        matter = int(cases["matter"][cid])
        if travel is None:
            travel = float(m.travel[unit.index][grid])
        service = self.service_hours(cid, matter, officer.skill(domain))
        on_scene = m.calendar.add_work_hours(start, travel / 2.0) if travel > 0 else start
        end = self._work(officer, start, travel + service)
        officer.gain_experience(domain)
        cases["started_at"][cid] = start
        cases["on_scene_at"][cid] = on_scene
        cases["officer"][cid] = officer.unique_id
        cases["travel_hours"][cid] = travel
        cases["service_hours"][cid] = service
        cases["closed_at"][cid] = end
        cases["status"][cid] = CLOSED
        m.sanctions.decide(cid, end)
        m.residents_feedback(cid, on_scene)
        return end

    def inspect(self, unit: WorkUnit, officer: Officer, task: InspectionTask, start: float) -> None:
        """Carry out one visit: check the firm's domains, record findings and burden."""
        m = self.model
        ent = m.enterprises
        e = task.enterprise
        spec = m.config.inspection
        grid = int(ent.grid[e])
        travel = float(m.travel[unit.index][grid])
        hours = travel + spec.host_hours + spec.check_hours_per_domain * len(task.pairs)
        end = self._work(officer, start, hours)
        on_site = m.calendar.add_work_hours(start, travel / 2.0 + spec.host_hours) if hours else start
        m.record_visit(e, unit, task.pairs, task.n_depts, start)
        found = self._find(officer, task.pairs, on_site)
        for pair in found:
            vid = int(ent.violation[pair])
            cid = int(m.open_cases(np.array([vid]), np.array([INSPECTION], np.int8),
                                   np.array([on_site]), np.array([-1]))[0])
            if m.has_authority(unit, int(m.violations["matter"][vid])):
                m.cases["first_unit"][cid] = unit.index
                m.cases["owner_unit"][cid] = unit.index
                m.cases["ready_at"][cid] = end
                end = self.handle_case(unit, officer, cid, end, travel=0.0)
            else:
                m.hand_over(cid, on_site)
        if not found and ent.violation[task.pairs].max() < 0:
            m.sanctions.clean_check(e)

    def _find(self, officer: Officer, pairs: np.ndarray, at: float) -> list[int]:
        """Open violations (begun before ``at``) not yet known to anyone that the inspector finds.

        One uniform is drawn per checked pair when the firm has any open violation.
        """
        m = self.model
        ent = m.enterprises
        vids = ent.violation[pairs].tolist()
        if max(vids) < 0:
            return []
        u = m.streams["on_site"].random(len(vids)).tolist()
        case, onset = m.violations.cols["case"], m.violations.cols["onset_at"]
        p = m.config.inspection.find_probability
        found = []
        for pair, vid, ui in zip(pairs.tolist(), vids, u, strict=True):
            if vid < 0 or case[vid] >= 0 or onset[vid] > at:
                continue
            if ui < p * (0.5 + 0.5 * officer.skills[ent.pair_dom[pair]]):
                found.append(pair)
        return found
