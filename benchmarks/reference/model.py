"""The plain-Mesa reference model: reformsim's daily rules, one agent at a time.

The initial world (grids, firms, residents, catalogue) is built with reformsim's own builders from
the run seed's ``setup`` stream, so a reference run and a reformsim run with the same seed start
from the same world. The *daily dynamics* are re-implemented here, per agent, with scalar draws
from ``self.random`` (Mesa's ``random.Random``, seeded from the run seed); reformsim's mechanism
classes are not used. The random numbers therefore differ from reformsim's streams: the two
implementations agree in distribution, not run by run.

Schedule of one day (reformsim ``ReformModel.step``, docs/ODD.md §3)::

    1. enterprises.shuffle_do("step")      violation onsets               ODD §7.1
    2. residents.shuffle_do("step")        service requests, patrol hours  ODD §7.2
    3. detection                           self-corrections, cases          ODD §7.3
    4. routing                             dispatch, referrals, orphans     ODD §7.4
    5. inspection planning                                                  ODD §7.5
    6. casework                            units serve queues               ODD §7.6
    7. follow-up                           rectification, deadlines, colours ODD §7.7
    8. beliefs                             perceived risk, burden, forgetting ODD §7.8
    9. observation
"""

from __future__ import annotations

import bisect
import math
import time
from collections import defaultdict
from typing import Any

import mesa
import numpy as np

from reformsim.calendar import WorkCalendar
from reformsim.catalog import build_catalog
from reformsim.errors import ScenarioError
from reformsim.population import build_enterprises, build_residents
from reformsim.scenario import Scenario
from reformsim.streams import Streams
from reformsim.territory import build_grids, build_territory

from .agents import (
    ADVISE,
    BLACK,
    CLOSED,
    COMPLAINT,
    FINE,
    FOLLOW_UP,
    GREEN,
    ORDER_FIX,
    ORPHANED,
    REVOKE,
    YELLOW,
    Case,
    Department,
    Enterprise,
    Exposure,
    Grid,
    GridWorker,
    InspectionTask,
    Officer,
    Resident,
    Squad,
    Violation,
    WorkUnit,
)

#: Spawn key that separates the reference's dynamic random numbers from reformsim's streams.
REFERENCE_STREAM_KEY = 0x52454631  # "REF1"


class ReferenceModel(mesa.Model):
    """reformsim's core model as a plain Mesa model (every firm and resident an agent).

    Parameters
    ----------
    scenario
        A validated :class:`reformsim.Scenario`; every parameter is read from it.
    seed
        Run seed (int or SeedSequence). The world is built from it exactly as reformsim does; the
        daily draws come from a Mesa RNG seeded from a child of it.
    onset_rate_factor
        Multiplies every onset probability. 1.0 is the model; other values are a deliberate
        mis-specification, used to check that the docking test can fail.
    """

    stale_days = 30.0

    def __init__(self, scenario: Scenario, seed: int | np.random.SeedSequence | None = None,
                 onset_rate_factor: float = 1.0) -> None:
        seed = scenario.run.seed if seed is None else seed
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        dyn = np.random.SeedSequence(root.entropy,
                                     spawn_key=(*root.spawn_key, REFERENCE_STREAM_KEY))
        super().__init__(rng=dyn)
        self.config = scenario
        self.seed = seed
        self.onset_rate_factor = onset_rate_factor
        self.day = 0
        self._seq = 0
        sc = scenario
        self.calendar = WorkCalendar(sc.run.working_days_per_week, sc.staffing.hours_per_day)
        self.learning_exponent = -math.log2(sc.casework.learning_rate)
        self.sanction = sc.compliance.sanction_size + (
            sc.compliance.colour_leverage if sc.levers.three_colour else 0.0)
        self.day_decay = math.exp(-1.0 / 365.0)
        self.request_rate = sc.services.demand_per_resident_per_year / (
            365.0 * self.calendar.week / 7.0)
        self.p_no_request = math.exp(-self.request_rate)
        self.service_step = 0.1 * sc.satisfaction.learning_weight
        self.working_today = False
        self.in_window_today = False
        # logs and counters
        self.violations: list[Violation] = []
        self.unknown: list[Violation] = []  # open violations nobody knows about yet
        self.cases: list[Case] = []
        self.visits: list[tuple[float, bool, bool]] = []  # (start, joint, duplicate)
        self.busy_hours = 0.0
        self.available_hours = 0.0
        self.inspections_cancelled = 0
        self.assisted_total = 0
        self.unserved_total = 0
        self.compliance_series: list[float] = []
        self.backlog_series: list[int] = []
        self.deadlines: dict[int, list[Case]] = defaultdict(list)
        self.rectifications: dict[int, list[tuple[Violation, float]]] = defaultdict(list)
        self.touched: list[Enterprise] = []
        self.any_touched = False
        self._build_world(root)

    # ------------------------------------------------------------------ world

    def _build_world(self, root: np.random.SeedSequence) -> None:
        """Build the same initial world as reformsim (its builders, its ``setup`` stream)."""
        sc = self.config
        rng = Streams(root)["setup"]
        xy, weight = build_grids(sc.territory, rng)
        ent = build_enterprises(sc, weight, rng)
        res = build_residents(sc, weight, rng)
        n_grids = sc.territory.n_grids
        res_per_grid = np.bincount(res.grid, minlength=n_grids)
        rule = sc.territory.area_allocation
        if rule == "equal":
            area_weight = np.ones_like(weight)
        elif rule == "by_population":
            area_weight = res_per_grid.astype(float) + 1e-9
        else:
            firms = np.bincount(ent.grid, minlength=n_grids).astype(float)
            area_weight = firms + res_per_grid / 1000.0 + 1e-9
        territory = build_territory(sc.territory, xy, weight, area_weight)
        self.domain_names = [d.id for d in sc.domains]
        dom_index = {d: i for i, d in enumerate(self.domain_names)}
        depts = sc.department_specs
        owner = np.zeros(len(self.domain_names), dtype=np.int64)
        for i, dept in enumerate(depts):
            owner[[dom_index[d] for d in dept.domains]] = i
        catalog = build_catalog(sc, owner, rng)

        # ---- plain Python state from here on
        self.owner_dept = [int(x) for x in owner]
        self.matter_domain = catalog.domain.tolist()
        self.complexity = catalog.complexity.tolist()
        self.severity = catalog.severity.tolist()
        self.visibility = catalog.visibility.tolist()
        self.alt_owner = catalog.alt_owner.tolist()
        self.ambiguous = catalog.ambiguous.tolist()
        lv = sc.levers
        self.team_authority = [
            bool(d or (a and lv.ambiguous_default_to_team and not n))
            for d, a, n in zip(catalog.delegated.tolist(), catalog.ambiguous.tolist(),
                               catalog.negative.tolist(), strict=True)
        ]
        self.team_has_power = any(self.team_authority)
        self.domain_matters = [ids.tolist() for ids in catalog.domain_matters]
        self.domain_cum = [cum.tolist() for cum in catalog.domain_cum]

        area_of_grid = territory.area_of_grid.tolist()
        self.grids = [Grid(g, area_of_grid[g]) for g in range(n_grids)]
        vw = [d.violation_weight for d in sc.domains]
        cs = sc.compliance
        pair_start = ent.pair_start.tolist()
        pair_dom = ent.pair_dom.tolist()
        gain = ent.gain.tolist()
        for i in range(ent.n):
            grid = self.grids[int(ent.grid[i])]
            firm = Enterprise(self, i, grid, int(ent.risk_type[i]), int(ent.colour[i]),
                              float(ent.satisfaction[i]))
            for k in range(pair_start[i], pair_start[i + 1]):
                d = pair_dom[k]
                firm.exposures.append(Exposure(firm, d, self.owner_dept[d], gain[k],
                                               cs.initial_perceived_risk, vw[d]))
            firm.n_depts = len({x.dept for x in firm.exposures})
            grid.enterprises.append(firm)
            grid.n_pairs += len(firm.exposures)
        self.n_pairs = sum(g.n_pairs for g in self.grids)
        self.enterprise_list = [f for g in self.grids for f in g.enterprises]
        self.enterprise_list.sort(key=lambda f: f.index)
        self.n_enterprises = ent.n
        for i in range(res.n):
            grid = self.grids[int(res.grid[i])]
            r = Resident(self, grid, bool(res.elderly[i]), float(res.literacy[i]),
                         float(res.propensity[i]), float(res.satisfaction[i]))
            grid.residents.append(r)
            grid.complaint_mass += r.propensity
        self.n_residents = res.n

        # ---- work units and staff (reformsim ``_staff``; ODD §5 step 6)
        district = tuple(float(x) for x in territory.district_xy)
        self.departments = [Department(self, i, d.id, district, [dom_index[x] for x in d.domains])
                            for i, d in enumerate(depts)]
        self.squads = [Squad(self, len(depts) + a, f"squad_{a + 1}",
                             tuple(float(x) for x in territory.area_xy[a]), a)
                       for a in range(territory.n_areas)]
        for g in self.grids:
            self.squads[g.area].grids.append(g)
        self.units: list[WorkUnit] = [*self.departments, *self.squads]
        st, cw = sc.staffing, sc.casework
        n_dom = len(self.domain_names)
        slot = 0
        for i, dept in enumerate(depts):
            home = [dom_index[x] for x in dept.domains]
            skill0 = [cw.home_skill if d in home else cw.other_skill for d in range(n_dom)]
            for _ in range(st.seconded_officers.get(dept.id, 0)):
                o = Officer(self, "seconded", list(skill0))
                if lv.pool_seconded_officers:
                    unit: WorkUnit = self.squads[slot % len(self.squads)]
                    slot += 1
                else:
                    unit = self.departments[i]
                o.unit = unit
                unit.officers.append(o)
            for _ in range(st.retained_officers.get(dept.id, 0)):
                o = Officer(self, "retained", list(skill0))
                o.unit = self.departments[i]
                self.departments[i].officers.append(o)
        for k in range(st.street_staff):
            o = Officer(self, "street_staff", [cw.street_staff_skill] * n_dom)
            o.unit = self.squads[k % len(self.squads)]
            o.unit.officers.append(o)
        self._check_staffing()
        self.n_case_officers = sum(len(u.officers) for u in self.units)
        for k in range(st.grid_workers):
            grid = self.grids[k % n_grids]
            grid.workers.append(GridWorker(self, grid, st.hours_per_day))
        for g in self.grids:
            g.patrol_intensity = g.worker_hours * self.calendar.week / 7.0
        # round-trip travel hours from each unit's base to each grid (ODD §2 "Spatial units")
        ts = sc.territory
        for u in self.units:
            bx, by = u.base_xy
            u.travel = [
                ts.travel_overhead_hours + 2.0 * math.hypot(x - bx, y - by) / ts.travel_speed_kmh
                if ts.include_travel else 0.0
                for x, y in territory.xy.tolist()
            ]

    def _check_staffing(self) -> None:
        if self.team_has_power:
            for squad in self.squads:
                if not squad.officers:
                    raise ScenarioError(f"staffing.street_staff: no officers in {squad.name}")
        for dept in self.departments:
            keeps = any(not self.team_authority[m] and self.matter_domain[m] in dept.domains
                        for m in range(len(self.matter_domain)))
            if keeps and not dept.officers:
                raise ScenarioError(f"staffing.retained_officers.{dept.name}: no officers")

    # ------------------------------------------------------------------ the schedule

    def step(self) -> None:
        """One calendar day."""
        day = self.day
        self.working_today = self.calendar.is_working(day)
        self.in_window_today = self.in_window(day)
        # 1. compliance (imitation reads the grid violation share at the start of the step)
        if self.config.compliance.imitation_strength > 0:
            for g in self.grids:
                open_pairs = sum(1 for f in g.enterprises for x in f.exposures
                                 if x.violation is not None)
                g.violating_share = open_pairs / g.n_pairs if g.n_pairs else 0.0
        if Enterprise in self.agents_by_type:
            self.agents_by_type[Enterprise].shuffle_do("step")
        # 2. residents' services and grid workers' time
        self._open_service_desks()
        if Resident in self.agents_by_type:
            self.agents_by_type[Resident].shuffle_do("step")
        self._close_service_desks()
        # 3.-4. detection and routing
        for case in self.detect(day):
            self.route(case)
        # 5.-9.
        self.plan_inspections(day)
        self.casework(day)
        self.follow_up(day)
        self.update_beliefs(day)
        self.observe()
        self.day += 1
        if self.day >= self.config.run.days:
            self.running = False

    def run(self) -> ReferenceModel:
        """Run the remaining days of the scenario."""
        while self.day < self.config.run.days:
            self.step()
        return self

    # ------------------------------------------------------------------ helpers

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def in_window(self, day: int) -> bool:
        return day >= self.config.run.warmup_days

    # ------------------------------------------------------------------ 1. compliance

    def open_violation(self, x: Exposure) -> Violation:
        """A new violation on pair ``x`` today: onset time, matter, detection and self-end."""
        rnd = self.random
        onset = self.day + rnd.random()
        d = x.domain
        ids, cum = self.domain_matters[d], self.domain_cum[d]
        matter = ids[min(bisect.bisect_right(cum, rnd.random()), len(ids) - 1)]
        v = Violation(x, matter, onset)
        # constant competing hazards fixed at onset (ODD §7.3)
        sc = self.config
        det = sc.detection
        grid = x.enterprise.grid
        vis = self.visibility[matter]
        rho = 1.0 if self.team_authority[matter] else det.report_share_without_authority
        h_c = det.complaint_rate * vis * grid.complaint_mass / 1000.0
        h_p = det.patrol_rate * vis * grid.patrol_intensity / 8.0 * rho
        h_f = det.platform_rate * vis
        total = h_c + h_p + h_f
        if total > 0:
            v.detect_at = onset + rnd.expovariate(total)
            u = rnd.random() * total
            v.channel = 0 if u < h_c else (1 if u < h_c + h_p else 2)
        rate = sc.compliance.self_correction_rate_per_year / 365.0
        if rate > 0:
            v.self_end_at = onset + rnd.expovariate(rate)
        x.violation = v
        self.violations.append(v)
        if v.detect_at < sc.run.days or v.self_end_at < sc.run.days:
            self.unknown.append(v)
        return v

    def end_violation(self, v: Violation, at: float) -> None:
        v.ended_at = at
        if v.exposure.violation is v:
            v.exposure.violation = None

    # ------------------------------------------------------------------ 2. residents

    def _open_service_desks(self) -> None:
        """Each grid's assistance capacity for today (ODD §7.2)."""
        share = self.config.levers.grid_assist_share_max
        assist = max(self.config.services.assist_hours, 1e-9)
        for g in self.grids:
            g.served_today = 0
            g.assist_left = (int(math.floor(g.worker_hours * share / assist))
                             if self.working_today else 0)

    def _close_service_desks(self) -> None:
        """What is left of grid workers' time is patrol."""
        assist = self.config.services.assist_hours
        for g in self.grids:
            g.patrol_hours = (max(g.worker_hours - g.served_today * assist, 0.0)
                              if self.working_today else 0.0)

    # ------------------------------------------------------------------ 3. detection

    def detect(self, day: int) -> list[Case]:
        """Self-corrections and detections falling today; whichever comes first wins (§7.3)."""
        for g in self.grids:
            today = g.patrol_hours + g.officer_patrol_hours
            g.patrol_intensity += (today - g.patrol_intensity) / 14.0
        tomorrow = day + 1.0
        keep, due = [], []
        for v in self.unknown:
            if v.case is not None or not v.is_open:
                continue
            if v.self_end_at < tomorrow and v.self_end_at <= v.detect_at:
                self.end_violation(v, v.self_end_at)
            elif v.detect_at < tomorrow:
                due.append(v)
            else:
                keep.append(v)
        self.unknown = keep
        due.sort(key=lambda v: v.detect_at)
        new = []
        for v in due:
            complainant = None
            residents = v.exposure.enterprise.grid.residents
            if v.channel == COMPLAINT and residents:
                complainant = self.random.choice(residents)
            new.append(self.open_case(v, v.channel, v.detect_at, complainant))
        return new

    def open_case(self, v: Violation, source: int, detected_at: float,
                  complainant: Resident | None) -> Case:
        case = Case(v, source, detected_at, complainant, v.n_cases)
        v.n_cases += 1
        v.case = case
        self.cases.append(case)
        return case

    # ------------------------------------------------------------------ 4. routing

    def route(self, case: Case) -> None:
        """Team matters to the area squad; others referred between departments (§7.4)."""
        lv = self.config.levers
        t0 = case.detected_at + self.config.detection.report_latency_hours / 24.0
        if self.team_authority[case.matter]:
            squad = self.squads[case.enterprise.grid.area]
            if lv.unified_dispatch:
                self.enqueue(case, squad, t0 + lv.dispatch_latency_hours / 24.0, 0, squad)
            else:
                self.enqueue(case, squad, self.calendar.add_work_days(t0, lv.transfer_delay_days),
                             1, squad)
        else:
            self.refer(case, t0, misroute=not lv.unified_dispatch)

    def refer(self, case: Case, t0: float, misroute: bool) -> None:
        r = self.config.routing
        rnd = self.random
        owner = self.owner_dept[case.domain]
        alt = self.alt_owner[case.matter]
        ambiguous = self.ambiguous[case.matter] and alt >= 0
        n_dept = len(self.departments)
        target = owner
        if misroute and n_dept > 1 and rnd.random() < r.misroute_probability:
            others = [d for d in range(n_dept) if d != owner]
            target = rnd.choice(others)
        first = self.departments[target]
        t = t0
        for hop in range(1, r.max_referrals + 1):
            t = self.calendar.add_work_days(t, self.config.levers.transfer_delay_days)
            if target == owner:
                p = r.accept_ambiguous if ambiguous else r.accept_owner
            elif ambiguous and target == alt:
                p = r.accept_ambiguous
            else:
                p = 0.0
            if rnd.random() < p:
                self.enqueue(case, self.departments[target], t, hop, first)
                return
            target = (alt if target == owner else owner) if ambiguous else owner
        case.first_unit = first
        case.transfers = r.max_referrals
        case.status = ORPHANED
        case.orphaned_at = t
        if case.complainant is not None:
            case.complainant.feedback(None, case.detected_at)

    def enqueue(self, case: Case, unit: WorkUnit, ready: float, transfers: int,
                first: WorkUnit) -> None:
        case.first_unit = first
        case.owner_unit = unit
        case.transfers = transfers
        case.ready_at = ready
        unit.push_case(ready, case)

    def hand_over(self, case: Case, at: float) -> None:
        """An inspection finding the inspector cannot sanction goes to the body that can."""
        lv = self.config.levers
        if self.team_authority[case.matter]:
            squad = self.squads[case.enterprise.grid.area]
            ready = (at + lv.dispatch_latency_hours / 24.0 if lv.unified_dispatch
                     else self.calendar.add_work_days(at, lv.transfer_delay_days))
            self.enqueue(case, squad, ready, 1, squad)
        else:
            self.refer(case, at, misroute=False)

    # ------------------------------------------------------------------ 5. inspection planning

    def plan_inspections(self, day: int) -> None:
        """Department plans (one draw per pair) or joint visits (one draw per firm) (§7.5)."""
        if not self.working_today or self.n_enterprises == 0:
            return
        sc = self.config
        spec = sc.inspection
        firms = self.enterprise_list
        if sc.levers.three_colour:
            by_colour = [spec.rate_per_year["green"], spec.rate_per_year["yellow"],
                         spec.rate_per_year["black"]]
            mean = sum(by_colour[f.colour] for f in firms) / self.n_enterprises
        else:
            mean = spec.uniform_rate_per_year
        q = spec.random_share
        per_year_to_day = 1.0 / (365.0 * self.calendar.week / 7.0)
        start = self.calendar.window(day)[0]
        rnd = self.random
        for f in self.enterprise_list:
            r = by_colour[f.colour] if sc.levers.three_colour else spec.uniform_rate_per_year
            p = ((1.0 - q) * r + q * mean) * per_year_to_day
            if sc.levers.joint_inspection:
                if rnd.random() < p:
                    self.joint_inspector(f).push_inspection(
                        start, InspectionTask(f, list(f.exposures), f.n_depts))
                continue
            by_dept: dict[int, list[Exposure]] = {}
            for x in f.exposures:
                if rnd.random() < p:
                    by_dept.setdefault(x.dept, []).append(x)
            for d in sorted(by_dept):
                self.departments[d].push_inspection(start, InspectionTask(f, by_dept[d], 1))

    def joint_inspector(self, firm: Enterprise) -> WorkUnit:
        if self.team_has_power:
            return self.squads[firm.grid.area]
        return self.departments[firm.exposures[0].dept]

    def record_visit(self, firm: Enterprise, unit: WorkUnit, exposures: list[Exposure],
                     n_depts: int, at: float) -> None:
        """Log a visit; burden, satisfaction and perceived risk of the firm (§7.6, §7.8)."""
        duplicate = at - firm.last_visit_day <= 30.0 and firm.last_visit_body != unit.index
        self.visits.append((at, n_depts >= 2, duplicate))
        firm.last_visit_day = at
        firm.last_visit_body = unit.index
        firm.visits_12m += 1.0
        sat = self.config.satisfaction
        over = firm.visits_12m > sat.visit_tolerance_per_year
        penalty = sat.burden_penalty * (over + duplicate)
        if penalty:
            firm.satisfaction -= penalty * firm.satisfaction
        a = self.config.compliance.risk_own_weight
        for x in exposures:
            x.p_hat += a * (1.0 - x.p_hat)
        self.touched.append(firm)

    # ------------------------------------------------------------------ 6. casework

    def casework(self, day: int) -> None:
        """Every unit works its queue; squads' idle time becomes patrol (§7.6)."""
        if not self.working_today:
            return
        lo, hi = self.calendar.window(day)
        for unit in self.units:
            unit.work_day(lo, hi)
        hours = self.calendar.hours
        if self.in_window_today:
            self.available_hours += hours * self.n_case_officers
        share = self.config.detection.officer_patrol_share
        for g in self.grids:
            g.officer_patrol_hours = 0.0
        for squad in self.squads:
            idle = max(len(squad.officers) * hours - squad.busy_today, 0.0)
            for g in squad.grids:
                g.officer_patrol_hours += share * idle / max(len(squad.grids), 1)

    def decide_sanction(self, case: Case, at: float) -> None:
        """Pyramid level, leniency, rectification and deadline of a handled case (§7.7)."""
        sc = self.config
        sp = sc.sanctions
        x = case.violation.exposure
        firm = case.enterprise
        severity = self.severity[case.matter]
        if sc.levers.first_violation_leniency and x.offences == 0 and severity < sp.minor_severity:
            level, waiver = ADVISE, True
        else:
            base = ORDER_FIX if severity < sp.fine_severity else FINE
            level, waiver = min(base + firm.escalation, REVOKE), False
        x.offences += 1
        if level <= ORDER_FIX:
            x.advised = True
        case.sanction = level
        case.waiver = waiver
        case.penalty = level >= FINE
        case.deadline_at = at + sp.rectification_days
        rnd = self.random
        if rnd.random() < sp.rectify_probability:
            case.rectified = 1
            when = at + rnd.random() * sp.rectification_days
            case.rectified_at = when
            self.rectifications[math.floor(when)].append((case.violation, when))
        else:
            case.rectified = 0
        a = sc.compliance.risk_own_weight
        x.p_hat += a * (1.0 - x.p_hat)
        if waiver:
            firm.satisfaction += sc.satisfaction.leniency_bonus * (1.0 - firm.satisfaction)
        self.touched.append(firm)
        self.deadlines[math.floor(case.deadline_at)].append(case)

    # ------------------------------------------------------------------ 7. follow-up

    def follow_up(self, day: int) -> None:
        """Rectifications end violations; deadlines move colours and escalate (§7.7)."""
        for v, when in self.rectifications.pop(day, []):
            self.end_violation(v, when)
        for case in self.deadlines.pop(day, []):
            firm = case.enterprise
            firm.clean_checks = 0
            if case.rectified == 1:
                if firm.colour == GREEN:
                    firm.colour = YELLOW
                continue
            firm.colour = BLACK
            firm.escalation += 1
            v = case.violation
            if not v.is_open:
                continue
            new = self.open_case(v, FOLLOW_UP, case.deadline_at, None)
            unit = case.owner_unit
            self.enqueue(new, unit, case.deadline_at, 0, unit)

    # ------------------------------------------------------------------ 8. beliefs

    def update_beliefs(self, day: int) -> None:
        """Perceived risk, general deterrence, burden decay, officers' forgetting (§7.8)."""
        b = self.config.compliance.risk_neighbour_weight
        for g in self.grids:
            g.touched = 0
        self.any_touched = bool(self.touched) and b > 0
        if self.any_touched:
            for f in self.touched:
                if not f.touched_today:
                    f.touched_today = True
                    f.grid.touched += 1
        if Enterprise in self.agents_by_type:
            self.agents_by_type[Enterprise].do("update_beliefs")
        for f in self.touched:
            f.touched_today = False
        self.touched = []
        if day > 0 and day % 30 == 0:
            phi = self.config.casework.forgetting_per_month
            for u in self.units:
                for o in u.officers:
                    o.forget(phi)

    # ------------------------------------------------------------------ 9. observation

    def observe(self) -> None:
        open_pairs = sum(1 for f in self.enterprise_list for x in f.exposures
                         if x.violation is not None)
        self.compliance_series.append(1.0 - open_pairs / self.n_pairs if self.n_pairs else 1.0)
        self.backlog_series.append(sum(len(u.cases) + len(u.inspections) for u in self.units))

    # ------------------------------------------------------------------ summary

    def summary(self) -> dict[str, float]:
        """KPIs with reformsim's definitions (``reformsim.metrics.Recorder.summary``)."""
        warm = self.config.run.warmup_days
        window = max(self.day - warm, 1)
        in_v = [v for v in self.violations if v.onset_at >= warm]
        rec = [c for c in self.cases if c.detected_at >= warm and c.source != FOLLOW_UP]
        closed = [c for c in rec if c.status == CLOSED]
        orphan = [c for c in rec if c.status == ORPHANED]
        response = [c.on_scene_at - c.detected_at for c in closed]
        cycle = [c.closed_at - c.detected_at for c in closed]
        visits = [v for v in self.visits if v[0] >= warm]
        done_in = [c for c in self.cases if c.status == CLOSED and c.closed_at >= warm]
        firms = self.enterprise_list
        n_ent = max(len(firms), 1)
        colours = [sum(1 for f in firms if f.colour == k) / n_ent for k in (GREEN, YELLOW, BLACK)]
        residents = list(self.agents_by_type[Resident]) if Resident in self.agents_by_type else []
        out: dict[str, float] = {
            "violations_true": len(in_v),
            "cases_recorded": len(rec),
            "detection_rate": _ratio(sum(1 for v in in_v if v.case is not None), len(in_v)),
            "cases_closed": len(closed),
            "closure_rate": _ratio(len(closed), len(rec)),
            "response_time_mean_days": _mean(response),
            "response_time_p90_days": float(np.quantile(response, 0.9)) if response else math.nan,
            "cycle_time_mean_days": _mean(cycle),
            "orphan_cases": len(orphan),
            "orphan_share": _ratio(len(orphan), len(rec)),
            "transfers_per_case": _mean([c.transfers for c in rec]),
            "inspections_total": len(visits),
            "enterprise_visits_per_firm": len(visits) / n_ent * 365.0 / window,
            "duplicate_visit_share": _mean([float(v[2]) for v in visits]),
            "joint_inspection_share": _mean([float(v[1]) for v in visits]),
            "compliance_rate": _mean(self.compliance_series[warm:self.day]),
            "colour_share_green": colours[GREEN],
            "colour_share_yellow": colours[YELLOW],
            "colour_share_black": colours[BLACK],
            "officer_utilization": _ratio(self.busy_hours, self.available_hours),
            "officer_hours_per_case": _mean([c.travel_hours + c.service_hours for c in closed]),
            "penalties_issued": sum(1 for c in done_in if c.penalty),
            "waivers_issued": sum(1 for c in done_in if c.waiver),
            "assisted_services": self.assisted_total,
            "resident_satisfaction": _mean([r.satisfaction for r in residents]),
            "enterprise_satisfaction": _mean([f.satisfaction for f in firms]),
            "window_days": window,
            "recorded_per_true": _ratio(len(rec), len(in_v)),
            "inspections_cancelled": self.inspections_cancelled,
            "assisted_services_unserved": self.unserved_total,
            "backlog_mean": _mean(self.backlog_series[warm:self.day]),
        }
        return {k: (float(x) if isinstance(x, float) else int(x)) for k, x in out.items()}


def _mean(xs: list[float]) -> float:
    return float(sum(xs) / len(xs)) if xs else math.nan


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else math.nan


def run_reference(scenario: Scenario, seed: int | np.random.SeedSequence | None = None,
                  **options: Any) -> dict[str, float]:
    """Build, run and summarise one reference run; ``options`` go to :class:`ReferenceModel`."""
    return ReferenceModel(scenario, seed=seed, **options).run().summary()


def timed_reference(scenario: Scenario, seed: int, **options: Any
                    ) -> tuple[dict[str, float], float]:
    """:func:`run_reference` and its wall time in seconds (build + run)."""
    t0 = time.perf_counter()
    out = run_reference(scenario, seed, **options)
    return out, time.perf_counter() - t0
