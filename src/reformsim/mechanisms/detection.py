"""Step 3, detection: complaints, grid patrol and the platform find violations (domain.md M13).

Each visible violation faces constant competing hazards per day:

    h_complaint = c * vis_m * R_g / 1000      (R_g: complaint-propensity mass of grid residents)
    h_patrol    = p * vis_m * H_g / 8 * rho    (H_g: patrol hours per day of grid workers and
                                               idle squad officers, averaged over the last
                                               two weeks incl. weekends; rho: reporting share)
    h_platform  = f * vis_m

``rho`` is 1 when the street team has power over the matter and
``report_share_without_authority`` otherwise: grid workers see but do not bother to report what
nobody at the street can act on (看得见、管不着). With constant hazards the detection time is
drawn once at onset, ``onset + Exp(h)``, and the channel with probability ``h_c / h``; inspections
(step 6) can find a violation earlier. Non-visible matters are found only by inspection.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from reformsim import detection_kernels as dk
from reformsim import jit
from reformsim.caselog import SOURCES
from reformsim.column_views import KernelArrays
from reformsim.streams import (
    SLOT_CHANNEL,
    SLOT_COMPLAINANT,
    SLOT_DETECT,
    SLOT_SELF_END,
    SLOTS_PER_DAY,
)

if TYPE_CHECKING:
    from reformsim.model import ReformModel

COMPLAINT = SOURCES.index("complaint")


class Detection(KernelArrays):
    """Schedules detection and self-correction of violations and opens cases when they occur."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        det = model.config.detection
        #: the watch list by day: violations whose detection or self-correction, whichever is
        #: earlier, falls on that day (within the run), in the order they were scheduled
        self.watch: dict[int, list[int]] = {}
        #: the first day :meth:`step` has not yet processed
        self.next_day = 0
        # the residents' propensity summed per grid, as np.bincount(grid, weights=propensity)
        mass = model.resident_propensity_mass
        self.complaint_factor = mass / 1000.0
        #: patrol hours per grid per calendar day, an exponential moving average (14-day scale)
        self.patrol_intensity = model.grid_worker_hours * model.calendar.week / 7.0
        # hazards() as a product of three tables (the factors of each channel, in formula order):
        # per matter the rate times visibility, per grid the complaint mass and patrol hours / 8
        # (kept in step with patrol_intensity), per "team has power" the reporting share
        rates = np.array([det.complaint_rate, det.patrol_rate, det.platform_rate])
        self._matter_factor = rates * model.catalog.visibility[:, None]
        self._grid_factor = np.ones((self.complaint_factor.size, 3))
        self._grid_factor[:, 0] = self.complaint_factor
        self._patrol_factor = self._grid_factor[:, 1]  # a view: the patrol column
        self._refresh_patrol_factor()
        self._report_factor = np.ones((2, 3))
        self._report_factor[0, 1] = det.report_share_without_authority
        #: the matter table as Python rows, the patrol reporting share per "team has power"
        #: and the complaint column of the grid table as lists (for :meth:`schedule_new`)
        self._matter_rows = [tuple(row) for row in self._matter_factor.tolist()]
        self._report_share = self._report_factor[:, 1].tolist()
        self._complaint_list = self._grid_factor[:, 0].tolist()
        #: per violation id, the keyed uniform that picks the complainant (set by schedule)
        self.complainant_u = np.zeros(0)
        #: the compiled day kernels (detection_kernels), or None for the numpy/Python path
        self._detect_kernel = dk.detect_day.compiled() if jit.enabled() else None
        self._schedule_kernel = dk.schedule_violations.compiled() if jit.enabled() else None
        self._patrol_kernel = dk.patrol_day.compiled() if jit.enabled() else None
        self._out_i = np.zeros((2, 64), dtype=np.int64)  # the kernels' output buffers
        self._out_t = np.zeros((2, 64))
        self._days_first = np.zeros(2, dtype=np.int64)
        self._arrays_key: tuple[int, int, int] | None = None
        self._arrays: tuple[np.ndarray, ...] = ()

    def __setstate__(self, state: dict[str, object]) -> None:
        """Unpickle with ``_patrol_factor`` as a view of ``_grid_factor`` again."""
        self.__dict__.update(state)
        self._patrol_factor = self._grid_factor[:, 1]

    def _refresh_patrol_factor(self) -> None:
        """Copy ``patrol_intensity / 8`` into the grid table of :meth:`hazards`."""
        np.divide(self.patrol_intensity, 8.0, out=self._patrol_factor)

    def hazards(self, grids: np.ndarray, matters: np.ndarray) -> np.ndarray:
        """Per-violation daily hazards by channel, shape ``(n, 3)``.

        Complaint ``c * vis * R_g / 1000``, patrol ``p * vis * H_g / 8 * rho``, platform
        ``f * vis``, multiplied in this order (a factor 1 leaves a product unchanged).
        """
        authority = self.model.team_authority[matters].view(np.uint8)
        h = self._matter_factor[matters] * self._grid_factor[grids]
        h *= self._report_factor[authority]
        return h

    def keyed_draws(self, hashed: np.ndarray, onset: np.ndarray) -> dict[str, np.ndarray]:
        """Draw the state-independent numbers of violations that begin at ``onset``.

        Parameters
        ----------
        hashed
            ``keyed_hash("keyed_violations", pairs)[:, None]`` of the violations' pairs.
        onset
            Their onset times.

        Returns
        -------
        dict
            ``detect_exp``: a standard exponential, the detection delay times the total hazard;
            ``channel_u``: the uniform that picks the channel; ``self_end_at``: when the
            violation would end by itself; ``complainant_u``: the uniform that picks the
            resident behind a complaint.
        """
        slot = np.floor(onset).astype(np.int64) * SLOTS_PER_DAY
        u = self.model.streams.uniform_from_hash(hashed, slot[:, None] + self._slots)
        rate = self.model.config.compliance.self_correction_rate_per_year / 365.0
        return {
            "detect_exp": -np.log1p(-u[:, 0]),
            "channel_u": u[:, 1],
            "self_end_at": onset + (-np.log1p(-u[:, 2]) / rate if rate > 0 else np.inf),
            "complainant_u": u[:, 3],
        }

    _slots = np.array([SLOT_DETECT, SLOT_CHANNEL, SLOT_SELF_END, SLOT_COMPLAINANT])

    def schedule(self, ids: np.ndarray,
                 draws: np.ndarray | dict[str, np.ndarray] | None = None) -> None:
        """Draw detection time, channel and self-correction time of new violations.

        ``draws`` may pass the violations' :meth:`keyed_draws` (e.g. records of
        :meth:`Compliance.keyed_draws`) when the caller has them already (same numbers, less work).
        """
        m = self.model
        v = m.violations.cols
        onset = v["onset_at"][ids]
        if draws is None:
            hashed = m.streams.keyed_hash("keyed_violations", v["pair"][ids])[:, None]
            draws = self.keyed_draws(hashed, onset)
        h = self.hazards(m.pair_grid[v["pair"][ids]], v["matter"][ids])
        total = h.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            delay = np.where(total > 0, draws["detect_exp"] / total, np.inf)
            share = h[:, :2].cumsum(axis=1) / total[:, None]
        detect_at = onset + delay
        v["detect_at"][ids] = detect_at
        # the channel is the number of cumulative shares below u, at most 2 (NaN shares, of
        # violations nobody can see, count none: channel 0)
        v["channel"][ids] = (draws["channel_u"][:, None] > share).sum(axis=1)
        self_end_at = draws["self_end_at"]
        v["self_end_at"][ids] = self_end_at
        self._keep_complainant_u(ids, draws["complainant_u"])
        event = np.fmin(detect_at, self_end_at)
        soon = event < m.config.run.days
        self._watch(ids[soon].tolist(), event[soon].tolist())

    def _watch(self, ids: list[int], events: list[float]) -> None:
        """Put violations on the watch list of the day of their event (not before today's).

        An event time is at least the onset (non-negative), so ``int`` is its floor.
        """
        watch, first = self.watch, self.next_day
        for vid, event in zip(ids, events, strict=True):
            watch.setdefault(max(int(event), first), []).append(vid)

    #: up to this many new violations, :meth:`schedule_new` works on Python scalars
    scalar_schedule_up_to = 20

    def schedule_new(self, start: int, draws: np.ndarray, grids: np.ndarray) -> None:
        """:meth:`schedule` for violations just opened from their compliance records.

        Parameters
        ----------
        start
            Id of the first violation; the others follow it (rows ``start:start + n``).
        draws
            Their :data:`~reformsim.mechanisms.compliance.DRAW_DTYPE` records (whose
            ``onset_at`` and ``matter`` are the violations' columns).
        grids
            Their grids.

        Notes
        -----
        A small day is computed on Python scalars with the same operations as :meth:`schedule`:
        per channel the product ``(matter * grid) * report`` (without its factors 1.0), the
        total ``(h_c + h_p) + h_f`` (numpy's order for a row of three), the delay
        ``detect_exp / total`` and the channel as the number of cumulative shares
        ``h_c / total``, ``(h_c + h_p) / total`` below ``u`` (none when nobody can see the
        violation: its shares are NaN).
        """
        n = draws.size
        if self._schedule_kernel is not None:
            self._schedule_new_kernel(start, draws, grids)
            return
        if n > self.scalar_schedule_up_to:
            self.schedule(np.arange(start, start + n), draws)
            return
        m = self.model
        v = m.violations.cols
        rows = draws.tolist()  # (accept_at, onset_at, matter, detect_exp, channel_u, ...)
        report = self._report_share  # the patrol column of _report_factor
        reports = [report[a] for a in m.team_authority[draws["matter"]].tolist()]
        complaint, patrol = self._complaint_list, self._patrol_factor
        matter_rows, days = self._matter_rows, m.config.run.days
        detect, channel, soon, events = [], [], [], []
        # the factors 1 of hazards() (complaint and platform reports, platform per grid) are
        # left out: x * 1.0 == x
        for vid, row, grid, r1 in zip(range(start, start + n), rows, grids.tolist(), reports,
                                      strict=True):
            _, onset, matter, detect_exp, u, self_end_at, _ = row
            f0, f1, h2 = matter_rows[matter]
            h0 = f0 * complaint[grid]
            h1 = f1 * patrol.item(grid) * r1
            total = h0 + h1 + h2
            if total > 0:
                detect_at = onset + detect_exp / total
                channel.append((u > h0 / total) + (u > (h0 + h1) / total))
            else:
                detect_at = onset + math.inf
                channel.append(0)
            detect.append(detect_at)
            event = detect_at if detect_at < self_end_at else self_end_at  # fmin: neither is NaN
            if event < days:
                soon.append(vid)
                events.append(event)
        rows_slice = slice(start, start + n)
        v["detect_at"][rows_slice] = detect
        v["channel"][rows_slice] = channel
        v["self_end_at"][rows_slice] = draws["self_end_at"]
        self._reserve_complainant_u(start + n)
        self.complainant_u[rows_slice] = draws["complainant_u"]
        self._watch(soon, events)

    def _watch_buffer(self, n: int) -> np.ndarray:
        """The kernels' int64 output buffer (2 rows), grown to at least ``n`` columns."""
        if n > self._out_i.shape[1]:
            self._out_i = np.zeros((2, 2 * n), dtype=np.int64)
            self._out_t = np.zeros((2, 2 * n))
        return self._out_i

    def _add_watched(self, out: np.ndarray, n: int) -> None:
        """Put ``n`` entries on the watch list, in order: violations ``out[0]``, days ``out[1]``."""
        watch = self.watch
        if n == 1:  # common on small streets: two scalar reads cost less than slices and lists
            watch.setdefault(out.item(1, 0), []).append(out.item(0, 0))
            return
        for vid, day in zip(*out[:2, :n].tolist(), strict=True):
            watch.setdefault(day, []).append(vid)

    def _schedule_new_kernel(self, start: int, draws: np.ndarray, grids: np.ndarray) -> None:
        """:meth:`schedule_new` by the kernel :func:`.detection_kernels.schedule_violations`."""
        m = self.model
        v = m.violations.cols
        n = draws.size
        self._reserve_complainant_u(start + n)
        if n > self._out_i.shape[1]:
            self._out_i = np.zeros((2, 2 * n), dtype=np.int64)
            self._out_t = np.zeros((2, 2 * n))
        days_first = self._days_first
        days_first[0] = m.config.run.days
        days_first[1] = self.next_day
        out = self._out_i
        n_soon = self._schedule_kernel(
            start, draws, grids, self._matter_factor, self._grid_factor, self._report_factor,
            m.team_authority, v["detect_at"], v["channel"], v["self_end_at"], self.complainant_u,
            days_first, out)
        watch = self.watch
        for vid, day in zip(*out[:2, :n_soon].tolist(), strict=True):
            watch.setdefault(day, []).append(vid)

    def _reserve_complainant_u(self, need: int) -> None:
        """Grow :attr:`complainant_u` to hold at least ``need`` violations."""
        if need > self.complainant_u.size:
            grown = np.zeros(max(need, 2 * self.complainant_u.size))
            grown[: self.complainant_u.size] = self.complainant_u
            self.complainant_u = grown

    def _keep_complainant_u(self, ids: np.ndarray, complainant_u: np.ndarray) -> None:
        """Keep the complainant uniforms of violations ``ids`` until they are detected."""
        self._reserve_complainant_u(int(ids.max()) + 1 if ids.size else 0)
        self.complainant_u[ids] = complainant_u

    def step(self, day: int) -> np.ndarray:
        """End today's self-corrections, then open cases for today's detections.

        Whichever comes first, detection or self-correction, wins; a violation on today's
        watch list that an inspection found or that was rectified meanwhile is skipped.

        Returns
        -------
        ndarray
            Ids of the new cases, in detection-time order.
        """
        if self._detect_kernel is not None:
            return self._step_kernel(day)
        m = self.model
        v = m.violations.cols
        patrol = self.patrol_intensity
        patrol += (m.patrol_hours + m.officer_patrol_hours - patrol) / 14.0
        self._refresh_patrol_factor()
        today = self._take_watched(day)
        if not today:
            return np.zeros(0, dtype=np.int64)
        w = np.array(today, dtype=np.int64)
        w = w[(v["case"][w] < 0) & np.isinf(v["ended_at"][w])]  # not found, not ended
        end_t, det_t = v["self_end_at"][w], v["detect_at"][w]
        ends = end_t <= det_t  # self-correction first
        if np.count_nonzero(ends):
            m.end_violations(w[ends], end_t[ends], distinct=True)
        ids = w[~ends]  # detection first
        if ids.size == 0:
            return np.zeros(0, dtype=np.int64)
        ids = ids[np.argsort(v["detect_at"][ids], kind="stable")]
        # channel codes equal SOURCES codes 0..2 (the int8 column: a copy is made only if needed)
        source = v["channel"][ids].astype(np.int8, copy=False)
        complainant = self._complainants(ids, source)
        return m.open_cases(ids, source, v["detect_at"][ids], complainant)

    def _step_kernel(self, day: int) -> np.ndarray:
        """:meth:`step` by the kernel :func:`.detection_kernels.detect_day` (same results)."""
        m = self.model
        watched = self._take_watched(day)
        if not watched:  # nothing to detect or end today: only the patrol average
            self._patrol_kernel(m.patrol_hours, m.officer_patrol_hours, self.patrol_intensity,
                                self._patrol_factor)
            return np.zeros(0, dtype=np.int64)
        w = np.array(watched, dtype=np.int64)
        if w.size > self._out_t.shape[1]:
            self._out_i = np.zeros((2, 2 * w.size), dtype=np.int64)
            self._out_t = np.zeros((2, 2 * w.size))
        out_i, out_t = self._out_i, self._out_t
        cases = m.cases
        start = cases.n
        if start + w.size > cases.capacity:  # room for a case per watched violation
            cases.append(w.size)
            cases.n = start
        n_end, n = divmod(self._detect_kernel(
            w, m.patrol_hours, m.officer_patrol_hours, start, out_i, out_t,
            *self._kernel_arrays()), w.size + 1)
        if n_end:
            m.end_violations(out_i[0, :n_end], out_t[0, :n_end], distinct=True)
        # the kernel wrote the case rows (those ReformModel.open_cases appends): count them
        return cases.append(n) if n else np.zeros(0, dtype=np.int64)

    def _kernel_arrays(self) -> tuple[np.ndarray, ...]:
        """Return the arrays :func:`~reformsim.detection_kernels.detect_day` uses besides today's.

        Kept as a tuple until a table grows (its columns are then new arrays).
        """
        m = self.model
        key = (m.violations.capacity, m.cases.capacity, self.complainant_u.size)
        if key != self._arrays_key:
            v, c, cat = m.violations.cols, m.cases.cols, m.catalog
            self._arrays = (
                self.patrol_intensity, self._patrol_factor, v["case"], v["ended_at"],
                v["self_end_at"], v["detect_at"], v["channel"], v["pair"], m.pair_grid,
                m.resident_grid_start, self.complainant_u, v["n_cases"], v["enterprise"],
                v["domain"], v["matter"], v["onset_at"], m.enterprises.grid,
                m.territory.area_of_grid, cat.delegated, cat.ambiguous, cat.negative,
                c["violation_id"], c["enterprise"], c["grid"], c["area"], c["domain"],
                c["matter"], c["source"], c["delegated"], c["ambiguous"], c["negative_list"],
                c["onset_at"], c["detected_at"], c["complainant"], c["attempt"])
            self._arrays_key = key
        return self._arrays

    def _take_watched(self, day: int) -> list[int]:
        """Take the watched violations whose event falls today (or on a day not processed)."""
        watch = self.watch
        if day == self.next_day:  # the usual case: the day after the last one processed
            self.next_day = day + 1
            return watch.pop(day, [])
        today = watch.pop(day, [])
        for earlier in range(self.next_day, day):  # only if days were skipped
            today = watch.pop(earlier, []) + today
        self.next_day = max(self.next_day, day + 1)
        return today

    def _complainants(self, ids: np.ndarray, source: np.ndarray) -> np.ndarray:
        """Pick the resident behind each complaint (uniformly among the grid's residents)."""
        if ids.size <= self.scalar_complainants_up_to:
            return self._complainants_scalar(ids, source)
        m = self.model
        out = np.full(ids.size, -1, dtype=np.int64)
        is_c = source == COMPLAINT
        if not np.count_nonzero(is_c) or m.residents.n == 0:
            return out
        sel = ids[is_c]
        grids = m.pair_grid[m.violations.cols["pair"][sel]]
        lo, hi = m.resident_grid_start[grids], m.resident_grid_start[grids + 1]
        pick = lo + np.floor(self.complainant_u[sel] * (hi - lo)).astype(np.int64)
        out[is_c] = np.where(hi > lo, pick, -1)
        return out

    #: up to this many detections a day, :meth:`_complainants` picks with Python scalars
    scalar_complainants_up_to = 16

    def _complainants_scalar(self, ids: np.ndarray, source: np.ndarray) -> np.ndarray:
        """:meth:`_complainants` one detection at a time (the same operations, on scalars)."""
        m = self.model
        out = [-1] * ids.size
        if m.residents.n:
            pairs, pair_grid = m.violations.cols["pair"], m.pair_grid
            start, u = m.resident_grid_start, self.complainant_u
            for i, (vid, src) in enumerate(zip(ids.tolist(), source.tolist(), strict=True)):
                if src != COMPLAINT:
                    continue
                grid = pair_grid.item(pairs.item(vid))
                lo, hi = start.item(grid), start.item(grid + 1)
                if hi > lo:
                    out[i] = lo + math.floor(u.item(vid) * (hi - lo))
        return np.array(out, dtype=np.int64)
