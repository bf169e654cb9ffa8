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
  handled on the spot by the same officer; any other is transferred to the owning department
  (or its department is summoned, M10).
* Task switching: a case in another domain than the officer's previous task takes
  ``1 + switch_cost`` times the mean service time (Staats & Gino 2012). A handling error happens
  with probability ``error_rate_at_zero_skill * (1 - skill)``.
* A technical case beyond the officer's skill first waits for the owning department's support
  (:mod:`reformsim.mechanisms.coordination`). Squad officers start the day after their training
  hours (:mod:`reformsim.mechanisms.training`).
* At the end of the day the visits and clean checks are booked in one batch
  (:mod:`reformsim.mechanisms.burden`, ``Sanctions.clean_checks``).

With one department, one domain, exponential service, no travel and a 24-hour, 7-day calendar
this reduces to an M/M/c queue (verified against Erlang C in the tests).

References
----------
Erlang C; Borst, Mandelbaum & Reiman (2004); Wright (1936); Staats & Gino (2012).
"""

from __future__ import annotations

from heapq import heappop
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtri

from reformsim.agents import Officer, Squad, WorkUnit
from reformsim.caselog import CLOSED, SOURCES
from reformsim.mechanisms.burden import VisitBurden
from reformsim.mechanisms.coordination import CoordinationTask
from reformsim.mechanisms.inspection import STALE_DAYS, InspectionTask
from reformsim.streams import SLOT_ERROR, SLOT_SERVICE

if TYPE_CHECKING:
    from reformsim.model import ReformModel

INSPECTION = SOURCES.index("inspection")


class Casework:
    """Runs every unit's queue for one working day."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.busy_hours = 0.0
        self.available_hours = 0.0
        self.warmup = float(model.config.run.warmup_days)
        self.clean_firms: list[int] = []
        self.burden = VisitBurden(model)
        #: round-trip travel hours from each unit's base to each grid, as Python lists
        self.travel = [t.tolist() for t in model.travel]
        self.calendar = model.calendar
        # the scenario is frozen: read its per-task constants once (hot paths run ~10^4 a year)
        spec = model.config.inspection
        self.host_hours = spec.host_hours
        self.check_hours_per_domain = spec.check_hours_per_domain
        self.find_probability = spec.find_probability
        cw = model.config.casework
        self.kappa_complex = cw.kappa_complex
        self.handling_hours = cw.handling_hours
        self.switch_factor = 1.0 + cw.switch_cost
        self.error_rate_at_zero_skill = cw.error_rate_at_zero_skill
        dist = cw.service_time_distribution
        #: service time equals its mean (no draw)
        self.fixed_service = dist == "fixed" or (dist == "lognormal" and cw.service_cv == 0)
        self.exponential_service = dist == "exponential"
        # log-scale variance of a lognormal service time with coefficient of variation service_cv
        s2 = np.log1p(cw.service_cv**2)
        self.half_s2 = float(0.5 * s2)
        self.sigma = float(np.sqrt(s2))
        #: complexity of each matter, as a Python list (fast scalar reads)
        self.complexity = model.catalog.complexity.tolist()

    def step(self, day: int) -> None:
        """Serve queues until every officer's day is full or the queues are empty."""
        m = self.model
        if not m.calendar.is_working(day):
            return
        lo, hi = m.calendar.window(day)
        squad_start = lo + m.training.daily_hours / 24.0  # squads train first (M12)
        for unit in m.units:
            unit.busy_today = 0.0
            if unit.officers:
                self._serve_unit(unit, squad_start if isinstance(unit, Squad) else lo, hi)
        if m.in_window(day):
            self.available_hours += m.calendar.hours * m.n_case_officers
        self._close_day()
        self._idle_patrol()

    def _close_day(self) -> None:
        """Book the day's visits (burden, perceived risk, log) and clean checks."""
        self.burden.book()
        if self.clean_firms:
            self.model.sanctions.clean_checks(self.clean_firms)
            self.clean_firms = []

    def _idle_patrol(self) -> None:
        """Squad officers patrol their area with a share of their idle hours (日常巡查)."""
        m = self.model
        share = m.config.detection.officer_patrol_share
        per_area = np.zeros(m.territory.n_areas)
        for squad in m.squads:  # one squad per area
            idle = max(len(squad.officers) * m.calendar.hours - squad.busy_today, 0.0)
            per_area[squad.area] = share * idle / max(len(m.area_grids[squad.area]), 1)
        m.officer_patrol_hours = per_area[m.territory.area_of_grid]

    def _next_task(self, unit: WorkUnit, t: float) -> tuple[float, int, Any] | None:
        """Pop the queue entry ``(ready, seq, task)`` to start at ``t``; None if no task waits.

        A case ready by ``t`` comes first, then the earlier of the two queue heads (an
        inspection ready by ``t`` is earlier than any case that is not). :meth:`_serve_unit`
        applies the same rule inline (one call less per task); keep the two alike.
        """
        inspections, cases = unit.inspections, unit.cases
        if inspections and inspections[0][0] < t - STALE_DAYS:
            self._drop_stale(unit, t)
        if cases and (not inspections or cases[0][0] <= t or cases[0] < inspections[0]):
            return heappop(cases)
        if inspections:
            return inspections.popleft()
        return None

    def _drop_stale(self, unit: WorkUnit, t: float) -> None:
        """Cancel planned visits not started within ``stale_days`` of planning."""
        inspections, cutoff, warmup = unit.inspections, t - STALE_DAYS, self.warmup
        cancelled = 0
        while inspections and inspections[0][0] < cutoff:
            ready, _, _task = inspections.popleft()
            if ready >= warmup:
                cancelled += 1
        self.model.inspection_planning.cancelled += cancelled

    def _serve_unit(self, unit: WorkUnit, lo: float, hi: float) -> None:
        """Serve ``unit``'s queue within today's window ``[lo, hi)``, one task at a time.

        ``free`` holds the officers' free times as they are: one free before ``lo`` is free at
        ``lo`` (every start is at least ``lo``, so ``free[k] <= start`` tests availability
        either way). ``earliest`` is their minimum, searched again only when the officer who
        had it takes a task (no other free time moves).
        """
        if not unit.cases and not unit.inspections:  # an empty queue: 1/3 to 2/3 of unit-days
            return
        officers = unit.officers
        case_cols = self.model.cases.views  # the dict, not a view: columns grow by reallocation
        best_free_officer = unit.best_free_officer
        inspections, cases = unit.inspections, unit.cases  # changed in place only
        free = [o.free_at for o in officers]
        earliest = min(free)
        # a clean firm checked for one pair (most tasks) is visited inline, not by inspect
        violation = self.model.enterprises.views["violation"]
        add_visit = self.model.visits.add_one
        clean_firms = self.clean_firms
        while True:
            t = earliest if earliest > lo else lo  # max(earliest, lo) without a builtin call
            if t >= hi:
                return
            # the queue rule of _next_task, inlined (one call less per task)
            if inspections and inspections[0][0] < t - STALE_DAYS:
                self._drop_stale(unit, t)
            if cases and (not inspections or cases[0][0] <= t or cases[0] < inspections[0]):
                ready, _, task = heappop(cases)
            elif inspections:
                ready, _, task = inspections.popleft()
            else:
                return
            start = ready if ready > t else t
            if start >= hi:
                self._requeue(unit, task, ready)
                return
            kind = type(task)
            if kind is InspectionTask:  # most tasks
                k = best_free_officer(free, start, task.domain)
                pairs = task.pairs
                if len(pairs) == 1 and violation[pair := pairs.item()] < 0:
                    # self.inspect(...) of a clean firm checked for one pair, inlined: the same
                    # work, visit and clean check (one call and ~10 lookups less)
                    officer = officers[k]
                    hours = (self.travel[unit.index][task.grid] + self.host_hours
                             + self.check_hours_per_domain)
                    self._work(officer, start, hours)
                    officer.last_domain = task.domain
                    add_visit(task.enterprise, unit.index, start, pair, task.n_depts >= 2)
                    clean_firms.append(task.enterprise)
                else:
                    self.inspect(unit, officers[k], task, start)
            elif kind is CoordinationTask:
                k = best_free_officer(free, start, task.domain)
                self._work(officers[k], start, task.hours)
            else:  # a case id
                k = best_free_officer(free, start, case_cols["domain"][task])
                self.handle_case(unit, officers[k], int(task), start)
            taken = free[k]
            free[k] = officers[k].free_at  # not earlier than before
            if taken <= earliest:
                earliest = min(free)

    def _requeue(self, unit: WorkUnit, task: Any, ready: float) -> None:
        if isinstance(task, InspectionTask):
            unit.push_inspection(ready, task)
        else:
            unit.push_case(ready, task)

    def _work(self, officer: Officer, start: float, hours: float) -> float:
        """Book ``hours`` of work from ``start``; return the end time."""
        end = self.calendar.add_work_hours(start, hours)
        officer.free_at = end
        officer.unit.busy_today += hours
        if start >= self.warmup:
            officer.busy_hours += hours
            self.busy_hours += hours
        return end

    def service_hours(self, cid: int, matter: int, skill: float, switched: bool = False) -> float:
        """Draw the on-site handling time of one case (hours), from the case's keyed uniform.

        A switch from another domain's task adds a share ``switch_cost`` (M12).
        """
        extra = 1.0 + self.kappa_complex * (1.0 - skill)
        mean = self.complexity[matter] * extra + self.handling_hours
        if switched:
            mean *= self.switch_factor
        if self.fixed_service:
            return mean
        u = self.model.case_uniform(cid, SLOT_SERVICE)
        if self.exponential_service:
            return float(-mean * np.log1p(-u))
        return float(np.exp(float(np.log(mean)) - self.half_s2 + self.sigma * float(ndtri(u))))

    def handle_case(self, unit: WorkUnit, officer: Officer, cid: int, start: float,
                    travel: float | None = None) -> float:
        """Travel to the case, handle it, decide the sanction, close it. Returns the end time.

        A technical case beyond the officer's skill first waits for the owning department's
        support (M10) and returns to the queue; then ``start`` is returned.
        """
        m = self.model
        cases = m.cases.views  # Python scalars in and out (cheaper than the numpy columns)
        domain = cases["domain"][cid]
        matter = cases["matter"][cid]
        skill = officer.skills.item(domain)
        if m.coordination.needs_support(unit, skill, cid, matter, domain):
            m.coordination.request_support(unit, cid, domain, start)
            return start
        if travel is None:
            travel = self.travel[unit.index][cases["grid"][cid]]
        switched = officer.last_domain not in (-1, domain)
        service = self.service_hours(cid, matter, skill, switched)
        on_scene = self.calendar.add_work_hours(start, travel / 2.0) if travel > 0 else start
        end = self._work(officer, start, travel + service)
        officer.gain_experience(domain)
        officer.last_domain = domain
        self._handling_error(cid, skill)
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

    def _handling_error(self, cid: int, skill: float) -> None:
        """Decide whether the officer erred on case ``cid``.

        The probability is ``error_rate_at_zero_skill * (1 - skill)``: a wrong ruling, open to
        appeal, counted by the power-list review and eroding the firm's trust.
        """
        m = self.model
        rate = self.error_rate_at_zero_skill * (1.0 - skill)
        if rate > 0 and m.case_uniform(cid, SLOT_ERROR) < rate:
            m.cases.cols["error"][cid] = True
            m.trust.handling_error(m.cases.cols["enterprise"].item(cid))

    def inspect(self, unit: WorkUnit, officer: Officer, task: InspectionTask, start: float) -> None:
        """Carry out one visit: check the firm's domains, record findings and burden."""
        m = self.model
        e, pairs = task.enterprise, task.pairs
        n_pairs = len(pairs)
        travel = self.travel[unit.index][task.grid]
        hours = travel + self.host_hours + self.check_hours_per_domain * n_pairs
        end = self._work(officer, start, hours)
        officer.last_domain = task.domain
        ent = m.enterprises
        # Most visits find a clean firm: nothing else to do. A one-pair visit (every visit of a
        # department) reads one scalar instead of indexing with the pair array.
        if n_pairs == 1:
            pair = pairs.item()
            m.visits.add_one(e, unit.index, start, pair, task.n_depts >= 2)
            clean = ent.views["violation"][pair] < 0
        else:
            m.visits.add(e, unit.index, start, pairs, task.n_depts >= 2)
            clean = max(ent.violation[pairs].tolist()) < 0
        if clean:
            self.clean_firms.append(e)
            return
        vids = ent.violation[pairs]
        arrive = travel / 2.0 + self.host_hours
        on_site = self.calendar.add_work_hours(start, arrive) if hours else start
        for vid in self._find(officer, pairs, vids, on_site):
            cid = m.open_case(vid, INSPECTION, on_site)
            if m.has_authority(unit, int(m.violations.cols["matter"][vid])):
                cases = m.cases.cols
                cases["first_unit"][cid] = unit.index
                cases["owner_unit"][cid] = unit.index
                cases["ready_at"][cid] = end
                end = self.handle_case(unit, officer, cid, end, travel=0.0)
            else:
                m.hand_over(cid, on_site, unit)

    def _find(self, officer: Officer, pairs: np.ndarray, vids: np.ndarray, at: float) -> list[int]:
        """Open violations (begun before ``at``) not yet known to anyone that the inspector finds.

        One uniform is drawn per checked pair when the firm has any open violation.
        """
        m = self.model
        gen = m.streams["on_site"]
        v = m.violations.cols
        skills, pair_dom, p = officer.skills, m.enterprises.views["pair_dom"], self.find_probability
        case, onset = v["case"], v["onset_at"]
        if len(pairs) == 1:  # one pair: the same number and stream state as random(1)[0]
            vid = vids.item()
            u = gen.random()
            found = (vid >= 0 and u < p * (0.5 + 0.5 * skills.item(pair_dom[pairs.item()]))
                     and case.item(vid) < 0 and onset.item(vid) <= at)
            return [vid] if found else []
        # a few pairs (one per checked domain): the draws of random(n), the tests on scalars
        return [vid for vid, pair, u in zip(vids.tolist(), pairs.tolist(),
                                            gen.random(len(pairs)).tolist(), strict=True)
                if vid >= 0 and u < p * (0.5 + 0.5 * skills.item(pair_dom[pair]))
                and case.item(vid) < 0 and onset.item(vid) <= at]
