"""Agents of the plain-Mesa reference: one Python object per enterprise, resident, officer, unit.

Everything here is written the way a Mesa user would write it: every enterprise and every resident
is a :class:`mesa.Agent` with its own attributes and a ``step()``; random numbers are scalar draws
from the model's ``random.Random`` (``model.random``). Nothing is vectorised over agents.

The rules are those of reformsim's core model (``src/reformsim/mechanisms/*.py``, ``docs/ODD.md``
§7); each method names the ODD section it re-implements.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

import mesa

if TYPE_CHECKING:
    from .model import ReferenceModel

HONEST, RATIONAL, IMITATOR, INCOMPETENT = 0, 1, 2, 3
GREEN, YELLOW, BLACK = 0, 1, 2
COMPLAINT, PATROL, PLATFORM, INSPECTION, FOLLOW_UP = 0, 1, 2, 3, 4
OPEN, CLOSED, ORPHANED = 0, 1, 2
ADVISE, ORDER_FIX, WARN, FINE, SUSPEND, REVOKE = range(6)


def probability_weight(p: float, gamma: float) -> float:
    """Tversky-Kahneman weighting ``w(p) = p^g / (p^g + (1-p)^g)^(1/g)`` (ODD §7.1)."""
    if gamma == 1.0:
        return p
    pg = p**gamma
    return pg / (pg + (1.0 - p) ** gamma) ** (1.0 / gamma)


# --------------------------------------------------------------------------- plain records


class Exposure:
    """One (enterprise, domain) exposure pair: gain, perceived risk, open violation, offences."""

    __slots__ = ("enterprise", "domain", "dept", "gain", "p_hat", "violation", "offences",
                 "advised", "violation_weight")

    def __init__(self, enterprise: Enterprise, domain: int, dept: int, gain: float, p_hat: float,
                 violation_weight: float) -> None:
        self.enterprise = enterprise
        self.domain = domain
        self.dept = dept
        self.gain = gain
        self.p_hat = p_hat
        self.violation: Violation | None = None
        self.offences = 0
        self.advised = False
        self.violation_weight = violation_weight


class Violation:
    """A true violation (ODD §2 "violation log")."""

    __slots__ = ("exposure", "matter", "onset_at", "detect_at", "channel", "self_end_at",
                 "ended_at", "case", "n_cases")

    def __init__(self, exposure: Exposure, matter: int, onset_at: float) -> None:
        self.exposure = exposure
        self.matter = matter
        self.onset_at = onset_at
        self.detect_at = math.inf
        self.channel = -1
        self.self_end_at = math.inf
        self.ended_at = math.inf
        self.case: Case | None = None
        self.n_cases = 0

    @property
    def is_open(self) -> bool:
        return self.ended_at == math.inf


class Case:
    """A case: one detection of a violation and its lifecycle (ODD §2 "case log")."""

    __slots__ = ("violation", "enterprise", "matter", "domain", "source", "detected_at",
                 "complainant", "attempt", "first_unit", "owner_unit", "transfers", "ready_at",
                 "started_at", "on_scene_at", "closed_at", "orphaned_at", "status", "travel_hours",
                 "service_hours", "sanction", "waiver", "penalty", "deadline_at", "rectified",
                 "rectified_at")

    def __init__(self, violation: Violation, source: int, detected_at: float,
                 complainant: Resident | None, attempt: int) -> None:
        self.violation = violation
        self.enterprise = violation.exposure.enterprise
        self.matter = violation.matter
        self.domain = violation.exposure.domain
        self.source = source
        self.detected_at = detected_at
        self.complainant = complainant
        self.attempt = attempt
        self.first_unit: WorkUnit | None = None
        self.owner_unit: WorkUnit | None = None
        self.transfers = 0
        self.ready_at = math.nan
        self.started_at = math.nan
        self.on_scene_at = math.nan
        self.closed_at = math.nan
        self.orphaned_at = math.nan
        self.status = OPEN
        self.travel_hours = math.nan
        self.service_hours = math.nan
        self.sanction = -1
        self.waiver = False
        self.penalty = False
        self.deadline_at = math.nan
        self.rectified = -1
        self.rectified_at = math.nan


class InspectionTask:
    """A planned visit: which firm, which exposure pairs are checked, how many departments."""

    __slots__ = ("enterprise", "exposures", "n_depts")

    def __init__(self, enterprise: Enterprise, exposures: list[Exposure], n_depts: int) -> None:
        self.enterprise = enterprise
        self.exposures = exposures
        self.n_depts = n_depts


class Grid:
    """A grid (网格): its residents, firms, grid workers and today's assistance capacity."""

    def __init__(self, index: int, area: int) -> None:
        self.index = index
        self.area = area
        self.residents: list[Resident] = []
        self.enterprises: list[Enterprise] = []
        self.workers: list[GridWorker] = []
        self.complaint_mass = 0.0  # sum of residents' complaint propensities
        self.n_pairs = 0
        self.assist_left = 0  # requests the grid workers can still take today
        self.served_today = 0
        self.patrol_hours = 0.0  # grid workers' patrol hours today
        self.officer_patrol_hours = 0.0  # squad officers' idle patrol (last working day)
        self.patrol_intensity = 0.0  # EMA of patrol hours per calendar day (14-day scale)
        self.violating_share = 0.0  # snapshot at the start of the day (imitation)
        self.touched = 0  # firms inspected or sanctioned today (general deterrence)

    @property
    def worker_hours(self) -> float:
        return sum(w.hours for w in self.workers)


# --------------------------------------------------------------------------- Mesa agents


class Enterprise(mesa.Agent):
    """A firm (市场主体) with its exposure pairs; ``step`` starts violations (ODD §7.1)."""

    def __init__(self, model: ReferenceModel, index: int, grid: Grid, risk_type: int,
                 colour: int, satisfaction: float) -> None:
        super().__init__(model)
        self.index = index
        self.grid = grid
        self.risk_type = risk_type
        self.colour = colour
        self.clean_checks = 0
        self.escalation = 0
        self.satisfaction = satisfaction
        self.visits_12m = 0.0
        self.last_visit_day = -10_000.0
        self.last_visit_body = -1
        self.exposures: list[Exposure] = []
        self.n_depts = 0
        self.touched_today = False

    def step(self) -> None:
        """Each exposure pair not violating starts a violation with its daily probability."""
        m = self.model
        if self.risk_type == HONEST:
            return
        rnd = m.random
        for x in self.exposures:
            if x.violation is not None:
                continue
            if rnd.random() < self.onset_probability(x):
                m.open_violation(x)

    def onset_probability(self, x: Exposure) -> float:
        """``P = min(r w_d / 365, 1)``; ``r`` of ODD §7.1 (logit of utility, or ignorance)."""
        m = self.model
        cs = m.config.compliance
        if self.risk_type == INCOMPETENT:
            factor = cs.advised_incompetent_factor if x.advised else 1.0
            rate = cs.incompetent_rate_per_year * factor
        else:
            weighted = probability_weight(x.p_hat, cs.probability_weighting_gamma)
            utility = x.gain - weighted * m.sanction
            if self.risk_type == IMITATOR and cs.imitation_strength > 0:
                utility += cs.imitation_strength * self.grid.violating_share
            z = -utility / cs.choice_noise
            rate = cs.max_onset_rate_per_year / (1.0 + math.exp(z)) if z < 700 else 0.0
        return min(rate * x.violation_weight / 365.0 * m.onset_rate_factor, 1.0)

    def update_beliefs(self) -> None:
        """Daily relaxation of perceived risk, general deterrence, burden decay (ODD §7.8)."""
        m = self.model
        cs = m.config.compliance
        lam = cs.risk_decay_per_year / 365.0
        p0 = cs.initial_perceived_risk
        f = self.grid.touched / len(self.grid.enterprises) if m.any_touched else 0.0
        b = cs.risk_neighbour_weight * f
        for x in self.exposures:
            x.p_hat += lam * (p0 - x.p_hat)
            if b > 0:
                x.p_hat += b * (1.0 - x.p_hat)
        self.visits_12m *= m.day_decay
        self.satisfaction += (m.config.satisfaction.enterprise_initial - self.satisfaction) * (
            1.0 - m.day_decay)

    def set_colour(self, colour: int) -> None:
        self.colour = colour

    def clean_check(self) -> None:
        """A clean inspection; upgrade after enough of them, and de-escalate (ODD §7.7)."""
        self.clean_checks += 1
        if self.clean_checks < self.model.config.sanctions.clean_checks_to_upgrade:
            return
        self.escalation = max(self.escalation - 1, 0)
        if self.colour == YELLOW:
            self.colour = GREEN
            self.clean_checks = 0
        elif self.colour == BLACK:
            self.colour = YELLOW
            self.clean_checks = 0


class Resident(mesa.Agent):
    """A resident: needs online services; asks the grid worker when self-service fails (§7.2)."""

    def __init__(self, model: ReferenceModel, grid: Grid, elderly: bool, literacy: float,
                 propensity: float, satisfaction: float) -> None:
        super().__init__(model)
        self.grid = grid
        self.elderly = elderly
        self.literacy = literacy
        self.propensity = propensity
        self.satisfaction = satisfaction

    def step(self) -> None:
        """Requests of the day: Poisson(demand per working day), none on non-working days."""
        m = self.model
        if not m.working_today:
            return
        rnd = m.random
        u = rnd.random()
        if u < m.p_no_request:  # fast path: most residents need nothing today
            return
        # inverse-transform Poisson draw for the number of requests
        k, prob, cum = 1, m.p_no_request * m.request_rate, m.p_no_request
        cum += prob
        while u >= cum:
            k += 1
            prob *= m.request_rate / k
            cum += prob
        w = m.service_step
        for _ in range(k):
            if rnd.random() < self.literacy:
                self.satisfaction += w * (1.0 - self.satisfaction)
            elif self.grid.assist_left > 0:
                self.grid.assist_left -= 1
                self.grid.served_today += 1
                self.satisfaction += w * (1.0 - self.satisfaction)
                if m.in_window_today:
                    m.assisted_total += 1
            else:
                self.satisfaction += w * (0.0 - self.satisfaction)
                if m.in_window_today:
                    m.unserved_total += 1

    def feedback(self, on_scene: float | None, detected_at: float) -> None:
        """Satisfaction after the response to one's complaint (ODD §7.8)."""
        sat = self.model.config.satisfaction
        if on_scene is None:  # orphaned: nobody came
            score = 0.0
        else:
            score = math.exp(-(on_scene - detected_at) / sat.response_scale_days)
        self.satisfaction += sat.learning_weight * (score - self.satisfaction)


class GridWorker(mesa.Agent):
    """A grid worker (网格员): assists residents, patrols the rest of the day."""

    def __init__(self, model: ReferenceModel, grid: Grid, hours: float) -> None:
        super().__init__(model)
        self.grid = grid
        self.hours = hours


class Officer(mesa.Agent):
    """An enforcement officer with per-domain skills on a learning curve (ODD §7.6)."""

    def __init__(self, model: ReferenceModel, kind: str, skill0: list[float]) -> None:
        super().__init__(model)
        self.kind = kind
        self.skill0 = skill0
        self.experience = [0.0] * len(skill0)
        self.skills = list(skill0)
        self.free_at = 0.0
        self.busy_hours = 0.0
        self.unit: WorkUnit | None = None

    def gain_experience(self, domain: int) -> None:
        self.experience[domain] += 1.0
        b = self.model.learning_exponent
        n = self.experience[domain]
        self.skills[domain] = 1.0 - (1.0 - self.skill0[domain]) * (1.0 + n) ** (-b)

    def forget(self, phi: float) -> None:
        b = self.model.learning_exponent
        for d in range(len(self.skills)):
            self.experience[d] *= 1.0 - phi
            self.skills[d] = 1.0 - (1.0 - self.skill0[d]) * (1.0 + self.experience[d]) ** (-b)


class WorkUnit(mesa.Agent):
    """A department or an area squad: a multi-server queue of cases and inspections (§7.6)."""

    def __init__(self, model: ReferenceModel, index: int, name: str, base_xy: tuple[float, float]
                 ) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.base_xy = base_xy
        self.officers: list[Officer] = []
        self.cases: list[tuple[float, int, Any]] = []
        self.inspections: list[tuple[float, int, Any]] = []
        self.busy_today = 0.0
        self.travel: list[float] = []  # round-trip hours to each grid

    def push_case(self, ready: float, case: Case) -> None:
        heapq.heappush(self.cases, (ready, self.model.next_seq(), case))

    def push_inspection(self, ready: float, task: InspectionTask) -> None:
        heapq.heappush(self.inspections, (ready, self.model.next_seq(), task))

    def may_sanction(self, matter: int) -> bool:
        raise NotImplementedError

    # ---------------------------------------------------------------- one working day

    def work_day(self, lo: float, hi: float) -> None:
        """Serve the queue until every officer's day is full or the queue is empty."""
        self.busy_today = 0.0
        if not self.officers:
            return
        while True:
            t = min(max(o.free_at, lo) for o in self.officers)
            if t >= hi:
                return
            picked = self._next_task(t)
            if picked is None:
                return
            task, ready = picked
            start = max(t, ready)
            if start >= hi:  # nothing to start today: put it back
                if isinstance(task, InspectionTask):
                    self.push_inspection(ready, task)
                else:
                    self.push_case(ready, task)
                return
            if isinstance(task, InspectionTask):
                domain = task.exposures[0].domain
            else:
                domain = task.domain
            officer = self._pick_officer(start, lo, domain)
            if isinstance(task, InspectionTask):
                self.inspect(officer, task, start)
            else:
                self.handle_case(officer, task, start)

    def _next_task(self, t: float) -> tuple[Any, float] | None:
        """Oldest ready case, else oldest ready inspection, else the earliest-ready task."""
        m = self.model
        while self.inspections and self.inspections[0][0] < t - m.stale_days:
            ready, _, _ = heapq.heappop(self.inspections)
            if m.in_window(int(ready)):
                m.inspections_cancelled += 1
        if self.cases and self.cases[0][0] <= t:
            ready, _, task = heapq.heappop(self.cases)
            return task, ready
        if self.inspections and self.inspections[0][0] <= t:
            ready, _, task = heapq.heappop(self.inspections)
            return task, ready
        if not self.cases and not self.inspections:
            return None
        if self.cases and (not self.inspections or self.cases[0][:2] < self.inspections[0][:2]):
            ready, _, task = heapq.heappop(self.cases)
        else:
            ready, _, task = heapq.heappop(self.inspections)
        return task, ready

    def _pick_officer(self, start: float, lo: float, domain: int) -> Officer:
        """The most skilled officer in the domain among those free at ``start`` (ties: first)."""
        best, best_skill = None, -1.0
        for o in self.officers:
            if max(o.free_at, lo) <= start and o.skills[domain] > best_skill:
                best, best_skill = o, o.skills[domain]
        if best is None:
            best = min(self.officers, key=lambda o: max(o.free_at, lo))
        return best

    def _work(self, officer: Officer, start: float, hours: float) -> float:
        m = self.model
        end = m.calendar.add_work_hours(start, hours)
        officer.free_at = end
        self.busy_today += hours
        if m.in_window(int(start)):
            officer.busy_hours += hours
            m.busy_hours += hours
        return end

    def service_hours(self, case: Case, skill: float) -> float:
        """Handling time: lognormal / exponential / fixed around the skill-dependent mean."""
        m = self.model
        cw = m.config.casework
        mean = (m.complexity[case.matter] * (1.0 + cw.kappa_complex * (1.0 - skill))
                + cw.handling_hours)
        dist = cw.service_time_distribution
        if dist == "fixed" or (dist == "lognormal" and cw.service_cv == 0):
            return mean
        if dist == "exponential":
            return m.random.expovariate(1.0 / mean)
        s2 = math.log1p(cw.service_cv**2)
        return m.random.lognormvariate(math.log(mean) - 0.5 * s2, math.sqrt(s2))

    def handle_case(self, officer: Officer, case: Case, start: float,
                    travel: float | None = None) -> float:
        """Travel, handle, decide the sanction, close the case (ODD §7.6, §7.7)."""
        m = self.model
        if travel is None:
            travel = self.travel[case.enterprise.grid.index]
        service = self.service_hours(case, officer.skills[case.domain])
        on_scene = m.calendar.add_work_hours(start, travel / 2.0) if travel > 0 else start
        end = self._work(officer, start, travel + service)
        officer.gain_experience(case.domain)
        case.started_at = start
        case.on_scene_at = on_scene
        case.travel_hours = travel
        case.service_hours = service
        case.closed_at = end
        case.status = CLOSED
        m.decide_sanction(case, end)
        if case.complainant is not None:
            case.complainant.feedback(on_scene, case.detected_at)
        return end

    def inspect(self, officer: Officer, task: InspectionTask, start: float) -> None:
        """One visit: check the firm's pairs, open and handle or hand over findings (§7.6)."""
        m = self.model
        spec = m.config.inspection
        firm = task.enterprise
        travel = self.travel[firm.grid.index]
        hours = travel + spec.host_hours + spec.check_hours_per_domain * len(task.exposures)
        end = self._work(officer, start, hours)
        on_site = (m.calendar.add_work_hours(start, travel / 2.0 + spec.host_hours) if hours
                   else start)
        m.record_visit(firm, self, task.exposures, task.n_depts, start)
        p = spec.find_probability
        found: list[Violation] = []
        for x in task.exposures:
            v = x.violation
            if v is None or v.case is not None or v.onset_at > on_site:
                continue
            if m.random.random() < p * (0.5 + 0.5 * officer.skills[x.domain]):
                found.append(v)
        for v in found:
            case = m.open_case(v, INSPECTION, on_site, None)
            if self.may_sanction(v.matter):
                case.first_unit = self
                case.owner_unit = self
                case.ready_at = end
                end = self.handle_case(officer, case, end, travel=0.0)
            else:
                m.hand_over(case, on_site)
        if not found and all(x.violation is None for x in task.exposures):
            firm.clean_check()


class Department(WorkUnit):
    """A line department (条线部门): sanctions the matters of its domains the team does not."""

    def __init__(self, model: ReferenceModel, index: int, name: str, base_xy: tuple[float, float],
                 domains: list[int]) -> None:
        super().__init__(model, index, name, base_xy)
        self.domains = domains

    def may_sanction(self, matter: int) -> bool:
        m = self.model
        return m.owner_dept[m.matter_domain[matter]] == self.index and not m.team_authority[matter]


class Squad(WorkUnit):
    """An area squad (中队) of the street team: sanctions the team's matters."""

    def __init__(self, model: ReferenceModel, index: int, name: str, base_xy: tuple[float, float],
                 area: int) -> None:
        super().__init__(model, index, name, base_xy)
        self.area = area
        self.grids: list[Grid] = []

    def may_sanction(self, matter: int) -> bool:
        return self.model.team_authority[matter]
