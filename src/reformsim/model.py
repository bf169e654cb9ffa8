"""ReformModel: the world of one street and its daily schedule (DESIGN.md §3).

Build a model from a :class:`~reformsim.scenario.Scenario` and a seed, then ``run()`` it; or use
:func:`reformsim.run` which also returns the result tables.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from reformsim import allocation, jit
from reformsim.agents import (
    Department,
    Enterprise,
    GridWorker,
    Officer,
    Resident,
    Squad,
    WorkUnit,
)
from reformsim.calendar import WorkCalendar
from reformsim.caselog import CaseLog
from reformsim.catalog import build_catalog
from reformsim.district_csv import read_district
from reformsim.errors import ScenarioError
from reformsim.mechanisms.beliefs import Beliefs
from reformsim.mechanisms.casework import Casework
from reformsim.mechanisms.compliance import Compliance
from reformsim.mechanisms.coordination import Coordination
from reformsim.mechanisms.detection import Detection
from reformsim.mechanisms.inspection import InspectionPlanning
from reformsim.mechanisms.power_review import PowerReview
from reformsim.mechanisms.residents import ResidentServices
from reformsim.mechanisms.routing import Routing
from reformsim.mechanisms.sanctions import Sanctions
from reformsim.mechanisms.training import Training
from reformsim.mechanisms.trust import Trust
from reformsim.metrics import Recorder
from reformsim.population import (
    build_enterprises,
    build_residents,
    distinct_in_runs,
    grid_sums,
)
from reformsim.scenario import Scenario
from reformsim.streams import (
    Streams,
    case_first_slot,
    keyed_uniform_premixed,
    premix_hash,
    premixed_pair_hash,
    to_int64_bits,
    uniform_of_premixed,
)
from reformsim.territory import assemble_territory, build_grids, build_territory
from reformsim.violations import ViolationLog
from reformsim.visits import VisitLog
from reformsim.work_queues import WorkQueues


class ReformModel(mesa.Model):
    """One street under one reform design.

    Parameters
    ----------
    scenario
        A validated scenario.
    seed
        Run seed (int or :class:`numpy.random.SeedSequence`); defaults to ``scenario.run.seed``.
        Every random process draws from its own stream spawned from it (DESIGN.md §2.5).

    Notes
    -----
    One step is one calendar day. ``step`` runs the nine-step schedule of DESIGN.md §3:
    compliance, residents, detection, routing, inspection planning, casework, follow-up,
    learning and beliefs (with the periodic power-list review), observation.
    """

    def __init__(self, scenario: Scenario, seed: int | np.random.SeedSequence | None = None) -> None:
        self.config = scenario
        self.seed = scenario.run.seed if seed is None else seed
        self.streams = Streams(self.seed)
        super().__init__(rng=self.streams.seed_sequence("mesa"))
        self.day = 0
        self._seq = 0
        #: each enterprise's joint inspector (unit index), with and without team powers
        self._joint_units: dict[bool, np.ndarray] = {}
        self.calendar = WorkCalendar(scenario.run.working_days_per_week, scenario.staffing.hours_per_day)
        self.learning_exponent = -math.log2(scenario.casework.learning_rate)
        self.domain_names = [d.id for d in scenario.domains]
        self._build_world()
        self.compliance = Compliance(self)
        self.services = ResidentServices(self)
        self.detection = Detection(self)
        self.routing = Routing(self)
        self.inspection_planning = InspectionPlanning(self)
        self.coordination = Coordination(self)
        self.training = Training(self)
        self.trust = Trust(self)
        self.casework = Casework(self)
        self.sanctions = Sanctions(self)
        self.beliefs = Beliefs(self)
        self.power_review = PowerReview(self)
        self.recorder = Recorder(self)
        self._enterprise_facades: dict[int, Enterprise] = {}
        self._resident_facades: dict[int, Resident] = {}

    # ------------------------------------------------------------------ the schedule

    def step(self) -> None:
        """Advance one day through the schedule of DESIGN.md §3."""
        day = self.day
        self.compliance.step(day)  # 1. enterprises start violations (M1, M2, M5-M7)
        self.services.step(day)  # 2. residents' services and grid-worker time (M13, M16)
        new_cases = self.detection.step(day)  # 3. complaints, patrol, platform (M13)
        self.routing.route(new_cases)  # 4. referral or dispatch; orphans (M9)
        self.inspection_planning.step(day)  # 5. department or joint visits (M5, M14)
        self.casework.step(day)  # 6. officers work queues (M4, M11, M12)
        self.sanctions.step(day)  # 7. deadlines, colours, escalation (M4, M5)
        self.beliefs.step(day)  # 8. perceived risk, burden, forgetting (M2, M6, M12)
        self.power_review.step(day)  # 8. periodic power-list review (M15)
        self.recorder.observe(day)  # 9. daily KPIs
        self.day += 1
        if self.day >= self.config.run.days:
            self.running = False

    def __setstate__(self, state: dict[str, object]) -> None:
        """Unpickle, then make officers' skill vectors rows of the officer matrices again.

        numpy pickles a view as an array of its own; :meth:`bind_officers` restores the sharing
        that per-unit forgetting, training and compiled casework rely on (same values).
        """
        self.__dict__.update(state)
        self.bind_officers(self.officer_learning)

    def run(self) -> ReformModel:
        """Run the remaining days of the scenario."""
        remaining = self.config.run.days - self.day
        if remaining > 0:
            self.run_for(remaining)
        return self

    # ------------------------------------------------------------------ building the world

    def _build_world(self) -> None:
        sc = self.config
        rng = self.streams["setup"]
        #: whether the world is built with the compiled kernels (reformsim.jit)
        self._jit = jit.enabled()
        #: the compiled keyed uniform of cases (case keys then hold int64 bits), or None
        self._uniform_of_premixed = uniform_of_premixed.compiled() if self._jit else None
        self._premixed_pair_hash = premixed_pair_hash.compiled() if self._jit else None
        self._case_stream_key: int | None = None
        catalog_table, grids = read_district(sc)
        if grids is None:
            xy, weight = build_grids(sc.territory, rng)
            self.enterprises = build_enterprises(sc, weight, rng, use_kernel=self._jit)
            self.residents = build_residents(sc, weight, rng, use_kernel=self._jit)
        else:  # the file's grids; the generated draws are still made (see district_csv)
            spec = sc.territory.model_copy(update={"n_grids": grids.n_grids})
            _, weight = build_grids(spec, rng)
            self.enterprises = build_enterprises(sc, weight, rng, counts=grids.enterprises,
                                                 use_kernel=self._jit)
            self.residents = build_residents(sc, weight, rng, counts=grids.residents,
                                             use_kernel=self._jit)
        n_grids = len(weight)
        #: where each grid's residents begin (residents are sorted by grid), and their total last
        self.resident_grid_start = np.searchsorted(self.residents.grid, np.arange(n_grids + 1))
        res_per_grid = np.diff(self.resident_grid_start)
        #: planner's forecast of cases and case hours per grid per working day (allocation.py)
        self.demand = self._forecast_demand(res_per_grid)
        if grids is None:
            area_weight = allocation.grid_weight(sc.territory.area_allocation, res_per_grid,
                                                 self.demand)
            self.territory = build_territory(sc.territory, xy, weight, area_weight)
        else:
            size = grids.size_weight if grids.size_weight is not None else res_per_grid + 1e-9
            self.territory = assemble_territory(sc.territory, grids.xy, size, grids.area,
                                                grids.ids, grids.names)
        depts = sc.department_specs
        dom_index = {d: i for i, d in enumerate(self.domain_names)}
        self.owner_dept = np.zeros(len(self.domain_names), dtype=np.int64)
        for i, dept in enumerate(depts):
            self.owner_dept[[dom_index[d] for d in dept.domains]] = i
        self.catalog = build_catalog(sc, self.owner_dept, rng, catalog_table)
        ent = self.enterprises
        #: number of departments owning some domain of each firm
        self.depts_of_firm = self._departments_per_firm(len(depts))
        lv = sc.levers
        cat = self.catalog
        self.team_authority = cat.delegated | (
            cat.ambiguous & lv.ambiguous_default_to_team & ~cat.negative
        )
        self.departments = [
            Department(self, i, d.id, self.territory.district_xy, [dom_index[x] for x in d.domains])
            for i, d in enumerate(depts)
        ]
        self.squads = [
            Squad(self, len(depts) + a, f"squad_{a + 1}", self.territory.area_xy[a], a)
            for a in range(self.territory.n_areas)
        ]
        self.units: list[WorkUnit] = [*self.departments, *self.squads]
        self._staff(depts, dom_index)
        #: round-trip hours from each unit's base to each grid (one row per unit)
        self.travel = list(self.territory.travel_table(np.array([u.base_xy for u in self.units])))
        self.pair_grid = ent.grid[ent.pair_ent]
        self.pair_grid_n = self.territory.n_grids
        self.pairs_in_grid = np.bincount(self.pair_grid, minlength=self.pair_grid_n).astype(float)
        self.violating_in_grid = np.zeros(self.pair_grid_n, dtype=np.int64)
        self.violations = ViolationLog()
        self.cases = CaseLog()
        self.visits = VisitLog()
        self.queues = WorkQueues(len(self.units), ent.n_pairs)

    def _departments_per_firm(self, n_depts: int) -> np.ndarray:
        """Number of departments owning some domain of each firm (its pairs' distinct owners)."""
        ent = self.enterprises
        owners = self.owner_dept[ent.pair_dom]
        if self._jit:
            out = np.empty(ent.n, dtype=np.int64)
            distinct_in_runs.compiled()(ent.pair_start, owners, out)
            return out
        firm_has_dept = np.zeros((ent.n, n_depts), dtype=bool)
        firm_has_dept[ent.pair_ent, owners] = True
        return np.count_nonzero(firm_has_dept, axis=1)

    def _forecast_demand(self, res_per_grid: np.ndarray) -> allocation.Demand:
        """The planner's demand forecast per grid, from set-up data only (allocation.py)."""
        sc = self.config
        res = self.residents
        n_grids = len(res_per_grid)
        start, kernel = self.resident_grid_start, self._jit
        mass = grid_sums(res.grid, start, res.propensity, kernel)
        #: complaint-propensity mass of the residents of each grid (detection's complaint hazard)
        self.resident_propensity_mass = mass
        literacy = np.divide(grid_sums(res.grid, start, res.literacy, kernel),
                             res_per_grid, out=np.ones(n_grids), where=res_per_grid > 0)
        patrol = allocation.expected_patrol_hours(sc, res_per_grid, literacy)
        return allocation.forecast_demand(sc, self.enterprises, mass, patrol)

    def _squad_counts(self, n_pooled: int) -> np.ndarray:
        """Count pooled seconded officers and street staff per squad (``squad_allocation``)."""
        sc = self.config
        ter = self.territory
        area = ter.area_of_grid
        n = ter.n_areas
        res = np.bincount(area, weights=np.diff(self.resident_grid_start), minlength=n)
        cases = np.bincount(area, weights=self.demand.cases, minlength=n)
        travel = np.concatenate([ter.travel_hours(ter.area_xy[a], np.flatnonzero(area == a))
                                 for a in range(n)])
        grids = np.concatenate([np.flatnonzero(area == a) for a in range(n)])
        hours = np.bincount(area[grids], weights=self.demand.hours[grids]
                            + self.demand.cases[grids] * travel, minlength=n)
        #: forecast per squad: residents, cases and case hours (incl. travel) per working day
        self.squad_demand = {"residents": res, "cases": cases, "hours": hours}
        return allocation.squad_counts(sc.staffing.squad_allocation,
                                       [n_pooled, sc.staffing.street_staff], res, cases, hours,
                                       sc.staffing.hours_per_day)

    def _staff(self, depts: list, dom_index: dict[str, int]) -> None:
        sc = self.config
        st = sc.staffing
        cw = sc.casework
        n_dom = len(self.domain_names)
        pool = sc.levers.pool_seconded_officers
        n_pooled = sum(st.seconded_officers.get(d.id, 0) for d in depts) if pool else 0
        #: officers per squad: row 0 pooled seconded officers, row 1 street staff
        self.squad_officer_counts = self._squad_counts(n_pooled)
        seconded_to = allocation.fill_order(self.squad_officer_counts[0])
        staff_to = allocation.fill_order(self.squad_officer_counts[1])
        slot = 0
        for i, dept in enumerate(depts):
            home = [dom_index[x] for x in dept.domains]
            skill0 = np.full(n_dom, cw.other_skill)
            skill0[home] = cw.home_skill
            for _ in range(st.seconded_officers.get(dept.id, 0)):
                o = Officer(self, "seconded", home[0], skill0.copy())
                unit = self.squads[int(seconded_to[slot])] if pool else self.departments[i]
                slot += pool
                self._assign(o, unit)
            for _ in range(st.retained_officers.get(dept.id, 0)):
                self._assign(Officer(self, "retained", home[0], skill0.copy()), self.departments[i])
        for k in range(st.street_staff):
            o = Officer(self, "street_staff", -1, np.full(n_dom, cw.street_staff_skill))
            self._assign(o, self.squads[int(staff_to[k])])
        self._check_staffing(depts)
        #: every enforcement officer, in unit order (both designs count the same people in
        #: utilisation); row ``k`` of the officer arrays below
        self.case_officers = officers = [o for u in self.units for o in u.officers]
        self.n_case_officers = len(officers)
        learning = np.zeros((3, len(officers), n_dom))
        for row, o in enumerate(officers):
            learning[:, row] = o.skills, o.experience, o._room0
        #: officers' working state, one row each: free time, busy hours, last domain (-1)
        self.officer_state = np.zeros((len(officers), 3))
        self.officer_state[:, 2] = -1.0
        #: officers' unique ids, one per row (the case log's ``officer``)
        self.officer_ids = np.array([o.unique_id for o in officers], dtype=np.int64)
        self.bind_officers(learning)
        n_grids = self.territory.n_grids
        self.grid_workers = [GridWorker(self, k % n_grids) for k in range(st.grid_workers)]
        gw = np.bincount([w.grid for w in self.grid_workers], minlength=n_grids).astype(float)
        self.grid_worker_hours = gw * st.hours_per_day
        self.patrol_hours = self.grid_worker_hours.copy()
        self.area_grids = [np.flatnonzero(self.territory.area_of_grid == a)
                           for a in range(self.territory.n_areas)]
        self.officer_patrol_hours = np.zeros(n_grids)

    def bind_officers(self, learning: np.ndarray) -> None:
        """Make ``learning`` (skill, experience, room to learn: 3 x officer x domain) the officers'.

        Officers are rows in unit order; each unit's matrices and each officer's vectors become
        views of their rows (:meth:`WorkUnit.bind_skills`), and :attr:`unit_officers` holds each
        unit's first row and the end (for compiled casework).
        """
        #: officers' skill, experience and room to learn ``1 - skill0`` (3 x officer x domain)
        self.officer_learning = learning
        first = 0
        bounds = [0]
        for unit in self.units:
            unit.bind_skills(learning[0], learning[1], learning[2], first)
            first += len(unit.officers)
            bounds.append(first)
        self.unit_officers = np.array(bounds, dtype=np.int64)

    def _assign(self, officer: Officer, unit: WorkUnit) -> None:
        officer.unit = unit
        unit.officers.append(officer)

    def _check_staffing(self, depts: list) -> None:
        if self.team_authority.any():
            for squad in self.squads:
                if not squad.officers:
                    raise ScenarioError(
                        f"staffing.street_staff: expected officers in every squad because the street team has "
                        f"power over {int(self.team_authority.sum())} matters, got none in "
                        f"{squad.name} (raise staffing.street_staff or pool seconded officers)"
                    )
        # matters each department keeps: of its domains and not the team's
        member = np.zeros((len(depts), len(self.domain_names)), dtype=bool)
        for i, unit in enumerate(self.departments):
            member[i, unit.domains] = True
        kept = np.count_nonzero(member[:, self.catalog.domain] & ~self.team_authority, axis=1)
        for i, dept in enumerate(depts):
            if kept[i] and not self.departments[i].officers:
                raise ScenarioError(
                    f"staffing.retained_officers.{dept.id}: expected at least 1 officer for the "
                    f"{int(kept[i])} matters the department keeps, got 0"
                )

    # ------------------------------------------------------------------ helpers for mechanisms

    def next_seq(self) -> int:
        """A global tie-breaking counter for queues (deterministic FIFO)."""
        self._seq += 1
        return self._seq

    @property
    def last_seq(self) -> int:
        """The value :meth:`next_seq` returned last (0 before its first call)."""
        return self._seq

    def take_seqs(self, k: int) -> None:
        """Use up the next ``k`` values of :meth:`next_seq` (assigned by the caller in a batch)."""
        self._seq += k

    def in_window(self, day: int) -> bool:
        """Whether ``day`` is after the warm-up (counted in KPIs)."""
        return day >= self.config.run.warmup_days

    def grid_violation_share(self, pairs: np.ndarray | None = None, *,
                             grids: np.ndarray | None = None) -> np.ndarray:
        """Share of exposure pairs currently violating, per grid, or in each of ``pairs``' grids,
        or in each of ``grids`` (kept up to date by :meth:`open_violations` and
        :meth:`end_violations`).
        """
        total = self.pairs_in_grid
        if pairs is not None:
            grids = self.pair_grid[pairs]
        if grids is not None:  # a pair's grid holds at least that pair: no division by zero
            return self.violating_in_grid[grids] / total[grids]
        return np.divide(self.violating_in_grid, total, out=np.zeros(total.size), where=total > 0)

    def open_violations(self, pairs: np.ndarray, day: int, draws: np.ndarray | None = None
                        ) -> np.ndarray:
        """Start violations on ``pairs`` today; schedule their detection.

        ``draws`` may pass the pairs' :meth:`Compliance.keyed_draws` of ``day`` when the caller
        has them already (same numbers, less work).
        """
        ent = self.enterprises
        if draws is None:
            draws = self.compliance.keyed_draws(pairs, day)
        log = self.violations
        if log.open_kernel is not None and not self.catalog.has_empty_domains:
            # the same as below in one loop (reformsim.violations.open_rows)
            start = log.add_rows(pairs.size)
            grids = np.empty(pairs.size, dtype=self.pair_grid.dtype)
            c = log.cols
            log.open_kernel(start, pairs, draws["matter"], draws["onset_at"], ent.pair_ent,
                            ent.pair_dom, self.pair_grid, c["pair"], c["enterprise"], c["domain"],
                            c["matter"], c["onset_at"], ent.violation, self.violating_in_grid,
                            grids)
            ids = np.arange(start, start + pairs.size)
        else:
            doms = ent.pair_dom[pairs]
            matters = draws["matter"]
            if self.catalog.has_empty_domains:
                self.catalog.check_sampled(doms, matters)
            ids = log.append(pairs.size, pair=pairs, enterprise=ent.pair_ent[pairs], domain=doms,
                             matter=matters, onset_at=draws["onset_at"])
            ent.violation[pairs] = ids
            grids = self.pair_grid[pairs]
            np.add.at(self.violating_in_grid, grids, 1)
        if ids.size:
            self.detection.schedule_new(ids.item(0), draws, grids)
        return ids

    def end_violations(self, ids: np.ndarray, at: np.ndarray, distinct: bool = False) -> None:
        """End violations at the given times and free their exposure pairs.

        ``distinct`` says that ``ids`` has no repeats (saves a sort).
        """
        if ids.size == 0:
            return
        cols = self.violations.cols
        if self.violations.end_kernel is not None:  # the same in one loop (violations.end_rows)
            self.violations.end_kernel(ids, at, cols["ended_at"], cols["pair"],
                                       self.enterprises.violation, self.pair_grid,
                                       self.violating_in_grid)
            return
        cols["ended_at"][ids] = at
        pairs = cols["pair"][ids]
        freed = pairs[self.enterprises.violation[pairs] == ids]
        if not distinct and freed.size > 1 and len(set(freed.tolist())) < freed.size:
            freed = np.unique(freed)  # a violation listed twice frees its pair once
        self.enterprises.violation[freed] = -1
        np.subtract.at(self.violating_in_grid, self.pair_grid[freed], 1)

    def open_cases(self, vids: np.ndarray, source: np.ndarray, detected_at: np.ndarray,
                   complainant: np.ndarray) -> np.ndarray:
        """Record new cases for violations; returns their ids."""
        if vids.size == 1:  # a follow-up or a lone detection: one row of scalars is cheaper
            cid = self.open_case(vids.item(), source.item(), detected_at.item(), complainant.item())
            return np.array([cid])
        ids = self._append_cases(vids, source, detected_at, complainant)
        self.violations.cols["case"][vids] = ids
        return ids

    def open_case(self, vid: int, source: int, detected_at: float, complainant: int = -1) -> int:
        """:meth:`open_cases` for one violation given as scalars; returns the case id.

        The same row as :meth:`_append_cases` writes, from scalar reads and writes (inspection
        findings and follow-ups are opened one at a time; slices of one row cost more).
        """
        v = self.violations.cols
        attempt = v["n_cases"].item(vid)
        v["n_cases"][vid] = attempt + 1
        e = v["enterprise"].item(vid)
        grid = self.enterprises.views["grid"][e]
        matter = v["matter"].item(vid)
        cat = self.catalog
        cid = self.cases.append_row(
            violation_id=vid, enterprise=e, grid=grid, area=self.territory.area_of_grid.item(grid),
            domain=v["domain"].item(vid), matter=matter, source=source,
            delegated=cat.delegated.item(matter), ambiguous=cat.ambiguous.item(matter),
            negative_list=cat.negative.item(matter), onset_at=v["onset_at"].item(vid),
            detected_at=detected_at, complainant=complainant, attempt=attempt,
        )
        v["case"][vid] = cid
        return cid

    def _append_cases(self, vids: np.ndarray, source: np.ndarray, detected_at: np.ndarray,
                      complainant: np.ndarray) -> np.ndarray:
        """Append the case rows of violations ``vids`` (the columns :meth:`open_case` writes).

        :func:`reformsim.detection_kernels.detect_day` writes the same row for detected cases:
        change the two together.
        """
        v = self.violations.cols
        attempt = v["n_cases"][vids].copy()
        v["n_cases"][vids] += 1
        ents = v["enterprise"][vids]
        grids = self.enterprises.grid[ents]
        matters = v["matter"][vids]
        cat = self.catalog
        return self.cases.append(
            vids.size, violation_id=vids, enterprise=ents, grid=grids,
            area=self.territory.area_of_grid[grids], domain=v["domain"][vids], matter=matters,
            source=source, delegated=cat.delegated[matters], ambiguous=cat.ambiguous[matters],
            negative_list=cat.negative[matters], onset_at=v["onset_at"][vids],
            detected_at=detected_at, complainant=complainant, attempt=attempt,
        )

    def case_uniform(self, cid: int, slot: int) -> float:
        """A keyed uniform for case ``cid``: equal for the same violation and attempt in every arm.

        ``slot`` (0-63) names the quantity (service time, rectification, referral hop, ...).
        A case's key and the hash of its entity are computed once and kept (the columns they
        come from never change after the case is opened: routing and casework reuse them), so
        each slot costs only the per-slot half of the hash (premixed: the slot's half of the
        finaliser's first step is memoised per slot), or one call of a compiled scalar function.
        """
        keys = self.cases.uniform_keys
        key = keys.get(cid)
        if key is None:
            key = keys[cid] = self._case_key_of(cid)
        compiled = self._uniform_of_premixed
        if compiled is not None:
            return compiled(key[0], key[1] + slot)
        return keyed_uniform_premixed(key[0], key[1] + slot)

    def _case_key_of(self, cid: int) -> tuple[int, int]:
        """``(premixed hash of its pair, first slot)`` of case ``cid``'s keyed uniforms.

        The hash is kept as :func:`~reformsim.streams.premix_hash` for
        :func:`~reformsim.streams.keyed_uniform_premixed`; with the compiled kernels, as its
        int64 bits for :func:`~reformsim.streams.uniform_of_premixed` (the same uniforms).

        The entity is the violation's exposure pair; slot ``k`` of the case is
        ``(onset_day * 64 + min(attempt, 63)) * 64 + k`` in stream ``keyed_cases``.
        """
        cols = self.cases.views
        vid = cols["violation_id"][cid]
        v = self.violations.cols
        first = int(case_first_slot(v["onset_at"].item(vid), cols["attempt"][cid]))
        if self._uniform_of_premixed is not None:  # the compiled hash, as int64 bits
            key = self.case_stream_key()
            return self._premixed_pair_hash(v["pair"].item(vid), key), first
        hashed = self.streams.keyed_hash_scalar("keyed_cases", v["pair"].item(vid))
        return premix_hash(hashed), first

    def case_stream_key(self) -> int:
        """The key of stream ``keyed_cases`` as int64 bits (for the compiled keyed uniforms)."""
        key = self._case_stream_key
        if key is None:
            key = self._case_stream_key = to_int64_bits(self.streams.keyed_int_key("keyed_cases"))
        return key

    def enqueue_case(self, cid: int, unit: WorkUnit, ready: float, transfers: int,
                     first_unit: WorkUnit) -> None:
        """Put a routed case into a unit's queue."""
        c = self.cases.cols  # the columns themselves (Table[name] slices a view for each call)
        c["first_unit"][cid] = first_unit.index
        c["owner_unit"][cid] = unit.index
        c["transfers"][cid] = transfers
        c["ready_at"][cid] = ready
        unit.push_case(ready, cid)

    def has_authority(self, unit: WorkUnit, matter: int) -> bool:
        """Whether a unit may sanction a matter (team: delegated or 兜底; department: kept)."""
        if isinstance(unit, Squad):
            return bool(self.team_authority[matter])
        domain = int(self.catalog.domain[matter])
        return int(self.owner_dept[domain]) == unit.index and not self.team_authority[matter]

    def hand_over(self, cid: int, at: float, inspector: WorkUnit) -> None:
        """Pass an inspection finding the inspector cannot sanction to the body that can.

        A squad summons the owning department when whistle-summons is on (M10).
        """
        matter = int(self.cases.cols["matter"][cid])
        if self.team_authority[matter]:
            squad = self.squads[int(self.cases.cols["area"][cid])]
            lv = self.config.levers
            ready = (at + lv.dispatch_latency_hours / 24.0 if lv.unified_dispatch
                     else self.calendar.add_work_days(at, lv.transfer_delay_days))
            self.enqueue_case(cid, squad, ready, 1, first_unit=squad)
        elif not (isinstance(inspector, Squad) and self.coordination.summon(cid, at)):
            self.routing.refer(cid, at, misroute=False)

    def joint_inspector(self, enterprise: int) -> WorkUnit:
        """Who carries out a joint visit: the area squad if the team works, else the lead department."""
        return self.units[int(self.joint_inspector_units()[enterprise])]

    def joint_inspectors(self, enterprises: np.ndarray) -> list[WorkUnit]:
        """:meth:`joint_inspector` of several enterprises."""
        units = self.units
        return [units[u] for u in self.joint_inspector_units()[enterprises].tolist()]

    def joint_inspector_units(self) -> np.ndarray:
        """Index in :attr:`units` of each enterprise's joint inspector.

        Computed once for each state of "the team has power over some matter", which only the
        power-list review can change.
        """
        team = bool(self.team_authority.any())
        units = self._joint_units.get(team)
        if units is None:
            units = self._joint_units[team] = self._joint_units_for(team)
        return units

    def _joint_units_for(self, team: bool) -> np.ndarray:
        ent = self.enterprises
        if team:
            area = self.territory.area_of_grid[ent.grid]
            return np.array([sq.index for sq in self.squads], dtype=np.int64)[area]
        if ent.n_pairs == 0:
            return np.zeros(ent.n, dtype=np.int64)
        first_pair = np.minimum(ent.pair_start[:-1], ent.n_pairs - 1)
        lead = self.owner_dept[ent.pair_dom[first_pair]]
        return np.array([d.index for d in self.departments], dtype=np.int64)[lead]

    def residents_feedback(self, cid: int, on_scene: float | None) -> None:
        """Update the complainant's satisfaction from the response to their complaint."""
        cases = self.cases.views
        r = cases["complainant"][cid]
        if r < 0:
            return
        sat = self.config.satisfaction
        if on_scene is None:
            score = 0.0
        else:
            days = on_scene - cases["detected_at"][cid]
            score = math.exp(-days / sat.response_scale_days)
        self.residents.move_satisfaction(r, score, sat.learning_weight)

    # ------------------------------------------------------------------ facades

    def enterprise(self, i: int) -> Enterprise:
        """The Mesa facade of enterprise ``i`` (created on first use)."""
        if not 0 <= i < self.enterprises.n:
            raise IndexError(f"enterprise index: expected 0..{self.enterprises.n - 1}, got {i}")
        if i not in self._enterprise_facades:
            self._enterprise_facades[i] = Enterprise(self, i)
        return self._enterprise_facades[i]

    def resident(self, i: int) -> Resident:
        """The Mesa facade of resident ``i`` (created on first use)."""
        if not 0 <= i < self.residents.n:
            raise IndexError(f"resident index: expected 0..{self.residents.n - 1}, got {i}")
        if i not in self._resident_facades:
            self._resident_facades[i] = Resident(self, i)
        return self._resident_facades[i]

    def materialize_facades(self) -> None:
        """Create every enterprise and resident facade, so ``agents_by_type`` lists them all.

        Costs about 3 µs per agent; use it for inspection or visualisation, not in experiments.
        """
        for i in range(self.enterprises.n):
            self.enterprise(i)
        for i in range(self.residents.n):
            self.resident(i)

