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

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from reformsim import casework_kernels as ck
from reformsim import jit
from reformsim.caselog import CLOSED, SOURCES
from reformsim.mechanisms.burden import VisitBurden
from reformsim.mechanisms.inspection import STALE_DAYS
from reformsim.streams import SLOT_SERVICE
from reformsim.work_queues import DOM, ENT, GRID, NDEPTS, P0, P1, VISIT_COLS

if TYPE_CHECKING:
    from reformsim.agents import WorkUnit
    from reformsim.model import ReformModel

INSPECTION = SOURCES.index("inspection")


class Casework:
    """Runs every unit's queue for one working day.

    The queues are served by :func:`~reformsim.casework_kernels.serve_units` (compiled, or its
    plain Python function with ``REFORMSIM_JIT=0``); visits that find a violation and cases
    that need support come back here. Served cases' sanctions, trust and complainant
    satisfaction are applied in the order the cases were served (:meth:`_close_cases`,
    :meth:`_feedback`).
    """

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.available_hours = 0.0
        self.burden = VisitBurden(model)
        self.calendar = model.calendar
        kernels = (ck.serve_units, ck.handle_case, ck.work, ck.write_closures, ck.visit_columns,
                   ck.idle_patrol)
        (self._serve, self._handle, self._work, self._write_closures, self._columns,
         self._patrol) = tuple(k.compiled() for k in kernels) if jit.enabled() else kernels
        #: the cases' rows in one compiled loop (None: numpy, with ``REFORMSIM_JIT=0``)
        self._rows_kernel = ck.case_rows_of.compiled() if jit.enabled() else None
        #: round-trip travel hours from each unit's base (row) to each grid
        self.travel = np.array(model.travel, dtype=float).reshape(len(model.units), -1)
        self.find_probability = model.config.inspection.find_probability
        self.fs = self._scalars(model)
        self.io = np.zeros(ck.IO_SIZE, dtype=np.int64)
        self.io[ck.I_WEEK] = model.calendar.week
        self.io[ck.I_DIST] = self._distribution(model)
        #: per unit: start of today's work, busy hours today
        self.ufs = np.zeros((len(model.units), 2))
        self._squad_rows = np.array([u.index for u in model.squads], dtype=np.int64)
        # idle patrol (one squad per area): officer-hours a day, area, the area's grids (>= 1)
        self._squad_hours = np.array([len(sq.officers) * model.calendar.hours
                                      for sq in model.squads], dtype=float)
        self._squad_areas = np.array([sq.area for sq in model.squads], dtype=np.int64)
        self._area_grids = np.array([max(len(model.area_grids[sq.area]), 1)
                                     for sq in model.squads], dtype=float)
        self._patrol_share = model.config.detection.officer_patrol_share
        #: per matter: complexity, 1.0 if technical (a support request may be needed, M10)
        self.matters = np.stack([model.catalog.complexity,
                                 model.coordination.technical.astype(float)], axis=1)
        #: per case: its service and error draws, domain, matter, grid (rows < ``_n_cases``)
        self.case_rows = np.zeros((256, ck.CU_COLS))
        self._n_cases = 0
        #: closures whose complainant feedback is applied (:meth:`_feedback`)
        self._fed = 0
        #: today's visits and served cases (closures), filled by the kernel and by Python
        self.visit_rows = np.zeros((64, ck.VIS_COLS))
        self.closures = np.zeros((64, ck.CLO_COLS))
        self.task_row = np.zeros(VISIT_COLS)

    @staticmethod
    def _scalars(model: ReformModel) -> np.ndarray:
        """Return the kernel's float scalars (``F_*``) from the scenario."""
        spec, cw = model.config.inspection, model.config.casework
        s2 = np.log1p(cw.service_cv**2)  # log-scale variance of a lognormal service time
        fs = np.zeros(ck.FS_SIZE)
        fs[ck.F_WARMUP] = float(model.config.run.warmup_days)
        fs[ck.F_STALE] = STALE_DAYS
        fs[ck.F_HOST], fs[ck.F_CHECK] = spec.host_hours, spec.check_hours_per_domain
        fs[ck.F_KAPPA], fs[ck.F_HANDLING] = cw.kappa_complex, cw.handling_hours
        fs[ck.F_SWITCH] = 1.0 + cw.switch_cost
        fs[ck.F_ERR0] = cw.error_rate_at_zero_skill
        fs[ck.F_HALF_S2], fs[ck.F_SIGMA] = float(0.5 * s2), float(np.sqrt(s2))
        fs[ck.F_B] = model.learning_exponent
        fs[ck.F_SUPPORT] = model.config.coordination.support_skill_threshold
        fs[ck.F_CAL_START], fs[ck.F_CAL_LENGTH] = model.calendar.start, model.calendar.length
        return fs

    @staticmethod
    def _distribution(model: ReformModel) -> int:
        cw = model.config.casework
        dist = cw.service_time_distribution
        if dist == "fixed" or (dist == "lognormal" and cw.service_cv == 0):
            return ck.FIXED  # the service time equals its mean (no draw)
        return ck.EXPONENTIAL if dist == "exponential" else ck.LOGNORMAL

    @property
    def busy_hours(self) -> float:
        """Officers' hours on tasks since the warm-up."""
        return float(self.fs[ck.F_BUSY])

    def step(self, day: int) -> None:
        """Serve queues until every officer's day is full or the queues are empty."""
        m = self.model
        if not m.calendar.is_working(day):
            return
        lo, hi = m.calendar.window(day)
        self.ufs[:, ck.U_START] = lo
        self.ufs[self._squad_rows, ck.U_START] = lo + m.training.daily_hours / 24.0  # M12
        self.ufs[:, ck.U_BUSY] = 0.0
        self.fs[ck.F_HI] = hi
        io = self.io
        io[ck.I_UNIT] = io[ck.I_NVIS] = io[ck.I_NCLO] = io[ck.I_CANCELLED] = 0
        self._room_for_visits(m.queues.total_backlog())
        while True:
            self._sync_cases()
            m.queues.flush()
            self._room_for_closures(int(m.queues.heap_n.sum()) + 1)
            code = self._serve_call()
            if code == ck.DONE:
                break
            self._feedback()  # in order with the hand-back's own (an orphaned case's)
            unit = m.units[int(io[ck.I_UNIT])]
            if code == ck.DIRTY_VISIT:
                self.inspect(unit, int(io[ck.I_OFFICER]), float(self.fs[ck.F_START]))
            else:
                cid = int(io[ck.I_CASE])
                m.coordination.request_support(unit, cid, int(self.case_rows[cid, ck.C_DOMAIN]),
                                               float(self.fs[ck.F_START]))
        self._close_cases()
        m.inspection_planning.cancelled += int(io[ck.I_CANCELLED])
        if m.in_window(day):
            self.available_hours += m.calendar.hours * m.n_case_officers
        self._close_day()
        self._idle_patrol()

    def _serve_call(self) -> int:
        """One call of the serving kernel, with the model's queue numbers passed in and out."""
        m, q = self.model, self.model.queues
        io = self.io
        io[ck.I_SEQ] = m.last_seq
        code = self._serve(q.visits, q.visit_ends, q.heap, q.heap_n, q.coordination, q.pairs,
                           self.ufs, m.unit_officers, m.officer_state, m.officer_learning,
                           self.travel, m.enterprises.violation, self.case_rows,
                           m.cases.cols["support_requests"], self.matters, m.owner_dept,
                           self.visit_rows, self.closures, self.fs, io, self.task_row)
        m.take_seqs(int(io[ck.I_SEQ]) - m.last_seq)
        return code

    def _sync_cases(self) -> None:
        """Fill :attr:`case_rows` for the cases opened since the last call.

        A case's draws are keyed uniforms (``model.case_uniform``: the same numbers in every
        design); lognormal service times keep the draw's normal quantile.
        """
        m = self.model
        lo, hi = self._n_cases, len(m.cases)
        if hi == lo:
            return
        while self.case_rows.shape[0] < hi:
            self.case_rows = np.concatenate([self.case_rows, np.zeros_like(self.case_rows)])
        c, v = m.cases.cols, m.violations.cols
        if self._rows_kernel is not None:
            key = m.case_stream_key()
            self._rows_kernel(self.case_rows, lo, hi, c["violation_id"], c["attempt"], c["domain"],
                              c["matter"], c["grid"], v["onset_at"], v["pair"], key)
        else:
            rows = self.case_rows[lo:hi]
            rows[:, ck.C_SERVICE] = [m.case_uniform(cid, SLOT_SERVICE) for cid in range(lo, hi)]
            rows[:, ck.C_DOMAIN] = c["domain"][lo:hi]
            rows[:, ck.C_MATTER] = c["matter"][lo:hi]
            rows[:, ck.C_GRID] = c["grid"][lo:hi]
        if self.io[ck.I_DIST] == ck.LOGNORMAL:  # the normal quantile of the uniform
            self.case_rows[lo:hi, ck.C_SERVICE] = ndtri(self.case_rows[lo:hi, ck.C_SERVICE])
        self._n_cases = hi

    def _room_for_visits(self, k: int) -> None:
        n = int(self.io[ck.I_NVIS]) + k + 1
        if self.visit_rows.shape[0] < n:
            self.visit_rows = np.zeros((max(n, 2 * self.visit_rows.shape[0]), ck.VIS_COLS))

    def _room_for_closures(self, k: int) -> None:
        n = int(self.io[ck.I_NCLO]) + k + 1
        if self.closures.shape[0] < n:
            grown = np.zeros((max(n, 2 * self.closures.shape[0]), ck.CLO_COLS))
            grown[: self.closures.shape[0]] = self.closures
            self.closures = grown

    def _close_cases(self) -> None:
        """Apply the day's served cases' effects, in the order they were served.

        Their times and officer go into the case log; then, case by case, a handling error
        (M12: with the officer's probability ``error_rate_at_zero_skill * (1 - skill)``, a wrong
        ruling that erodes the firm's trust) and the sanction (:meth:`Sanctions.decide_many`).
        Casework reads none of these during the day, so they are applied once, at its end.
        """
        self._feedback()
        n = int(self.io[ck.I_NCLO])
        if n == 0:
            return
        self.io[ck.I_NCLO] = 0
        self._fed = 0
        m = self.model
        cases = m.cases.cols
        self._write_closures(self.closures, n, m.officer_ids, cases["started_at"],
                             cases["on_scene_at"], cases["officer"], cases["travel_hours"],
                             cases["service_hours"], cases["closed_at"], cases["status"],
                             CLOSED)
        rows = self.closures[:n]
        m.sanctions.decide_many(rows[:, ck.K_CID].astype(np.int64), rows[:, ck.K_END].copy(),
                                rows[:, ck.K_ERROR_RATE].copy())

    def _feedback(self) -> None:
        """Update the complainants' satisfaction from the cases served since the last call.

        :meth:`ReformModel.residents_feedback`, in serving order: a case orphaned by a
        hand-back also updates its complainant, so this runs before each hand-back.
        """
        n = int(self.io[ck.I_NCLO])
        if n > self._fed:
            m = self.model
            complainant = m.cases.views["complainant"]
            for cid, on_scene in self.closures[self._fed:n, [ck.K_CID, ck.K_ON_SCENE]].tolist():
                if complainant[int(cid)] >= 0:
                    m.residents_feedback(int(cid), on_scene)
            self._fed = n

    def _close_day(self) -> None:
        """Book the day's visits (burden, perceived risk, log) and clean checks."""
        n = int(self.io[ck.I_NVIS])
        self.io[ck.I_NVIS] = 0
        if n == 0:
            return
        m = self.model
        firms, units, at, domains, joint, pairs, clean = self._columns(self.visit_rows, n,
                                                                        m.queues.pairs)
        m.visits.stage(firms, units, at, domains, joint, pairs)
        self.burden.book()
        if clean.size:
            m.sanctions.clean_checks(clean)

    def _idle_patrol(self) -> None:
        """Squad officers patrol their area with a share of their idle hours (日常巡查)."""
        m = self.model
        m.officer_patrol_hours = self._patrol(
            self.ufs, self._squad_rows, self._squad_hours, self._squad_areas, self._area_grids,
            self._patrol_share, m.territory.n_areas, m.territory.area_of_grid)

    def _add_visit(self, unit: int, row: np.ndarray, start: float, clean: bool) -> None:
        """Append a visit to today's buffer (the kernel appends the clean ones it serves)."""
        n = int(self.io[ck.I_NVIS])
        self.visit_rows[n] = (row[ENT], unit, start, row[P0], row[P1],
                              1.0 if row[NDEPTS] >= 2.0 else 0.0, 1.0 if clean else 0.0)
        self.io[ck.I_NVIS] = n + 1

    def inspect(self, unit: WorkUnit, k: int, start: float) -> None:
        """Officer ``k`` carries out the visit in :attr:`task_row`: findings and their cases.

        The visit costs travel + host hours + check hours per checked pair. Each open, not yet
        known violation in a checked pair is found with probability ``find_probability * (0.5 +
        0.5 * skill)``; a finding the unit has power over is handled on the spot by the same
        officer, any other is handed over (:meth:`ReformModel.hand_over`).
        """
        m = self.model
        row = self.task_row.copy()
        u = unit.index
        pairs = m.queues.pairs[int(row[P0]):int(row[P1])]
        travel = float(self.travel[u, int(row[GRID])])
        hours = travel + float(self.fs[ck.F_HOST]) + float(self.fs[ck.F_CHECK]) * pairs.size
        end = self._work(m.officer_state, self.ufs, self.fs, self.io, u, k, start, hours)
        m.officer_state[k, 2] = row[DOM]
        vids = m.enterprises.violation[pairs]
        clean = int(vids.max()) < 0
        self._add_visit(u, row, start, clean)
        if clean:
            return
        arrive = travel / 2.0 + float(self.fs[ck.F_HOST])
        on_site = self.calendar.add_work_hours(start, arrive) if hours else start
        for vid in self._find(k, pairs, vids, on_site):
            cid = m.open_case(vid, INSPECTION, on_site)
            if m.has_authority(unit, int(m.violations.cols["matter"][vid])):
                cases = m.cases.cols
                cases["first_unit"][cid] = u
                cases["owner_unit"][cid] = u
                cases["ready_at"][cid] = end
                end = self.handle_now(unit, k, cid, end)
            else:
                m.hand_over(cid, on_site, unit)

    def handle_now(self, unit: WorkUnit, k: int, cid: int, start: float) -> float:
        """Officer ``k`` handles case ``cid`` on the spot (no travel); returns the end time.

        A technical case beyond the officer's skill waits for the department's support
        instead (M10); then ``start`` is returned.
        """
        m = self.model
        self._sync_cases()
        self._room_for_closures(1)
        end = self._handle(m.officer_state, m.officer_learning, self.ufs, self.travel,
                           self.case_rows, m.cases.cols["support_requests"], self.matters,
                           m.owner_dept, self.closures, self.fs, self.io, unit.index, k, cid,
                           start, 0.0)
        if end < 0.0:
            m.coordination.request_support(unit, cid, int(self.case_rows[cid, ck.C_DOMAIN]), start)
            return start
        self._feedback()
        return float(end)

    def _find(self, k: int, pairs: np.ndarray, vids: np.ndarray, at: float) -> list[int]:
        """Open violations (begun before ``at``) not yet known to anyone that officer ``k`` finds.

        One uniform is drawn per checked pair when the firm has any open violation.
        """
        m = self.model
        gen = m.streams["on_site"]
        v = m.violations.cols
        skills = m.officer_learning[0, k]
        pair_dom, p = m.enterprises.views["pair_dom"], self.find_probability
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
