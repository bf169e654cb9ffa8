"""Step 5, inspection planning: department plans or joint "inspect once" visits (M5, M14).

Each inspecting body visits a firm at a yearly rate. With three-colour management the rate
depends on the firm's colour (``rate_per_year``: green < yellow < black, 无事不扰 for green);
otherwise every firm gets ``uniform_rate_per_year``. A share ``random_share`` of the effort is
spread uniformly at random whatever the colour (双随机; Hampton 2005: keep a random element).

* Without joint inspection every department plans its own visits to the firms exposed to its
  domains, so a firm in |D_i| domains gets about |D_i| times as many visits.
* With joint inspection (综合查一次) one visit per firm checks all its domains. It is carried
  out by the area squad when the street team has officers and power over some matters, else by
  the department owning the firm's first domain.

Planned visits enter the body's queue at the start of the working day; visits not started within
``STALE_DAYS`` (30) are cancelled.

Each working day every firm (joint design) or exposure pair (per-department design) is chosen
independently with its daily visit probability. The draw is by thinning (Lewis & Shedler 1979),
like violation onsets: candidates are the successes of a Bernoulli process with a bound ``b`` on
every probability, drawn as geometric gaps (:func:`bernoulli_positions`), and a candidate is
chosen with probability ``rate / b`` (one more uniform each). ``b`` is the highest rate of the
scenario (any colour, or the uniform rate) per working day: it depends on neither the levers nor
the state, so designs share the candidates and their uniforms (common random numbers) and the
cost is proportional to the ~``b * size`` candidates, not to the number of firms or pairs.

Yearly cap (检查频次上限, ``levers.inspection_cap_per_year``; 0 = no cap): a firm planned for
that many visits in the current year (days ``[365k, 365(k+1))``, counted in
``Enterprises.planned_this_year``, cancelled visits included) gets no more planned visits that
year. Today's draws are made as without a cap and then filtered, so a capped design keeps the
common random numbers of an uncapped one. When several departments pick the same firm on the
same day, they are served in department order up to the firm's remaining quota.

References
----------
Harrington (1988); Liu & Neilson (2013); Haining 三相一就 (2025, L1); Hampton (2005).
Lewis & Shedler (1979) for thinning.
Caps of on-site visits per body per firm per year (O2, O4, O14; domain.md §5, M14).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np

from reformsim import jit
from reformsim.inspection_kernels import choose_visits, colour_counts, gap_positions
from reformsim.population import BLACK, GREEN, YELLOW
from reformsim.runs import runs

if TYPE_CHECKING:
    from reformsim.model import ReformModel


STALE_DAYS = 30.0

#: relative margin of the thinning bound over the highest yearly rate: it absorbs the rounding of
#: the rate formula (a rate can exceed the highest rate by a few ulps), so that no rate exceeds
#: the bound with validated parameters and :meth:`InspectionPlanning._add_above_bound` stays idle
BOUND_MARGIN = 1e-9


@dataclass(slots=True)
class InspectionTask:
    """One planned visit: which firm (and its grid), which pairs are checked, by how many bodies.

    ``pairs`` are distinct exposure pairs of the firm, in increasing order (a read-only view
    for joint visits; visit booking relies on them being distinct). ``domain`` is the first
    checked pair's domain: the officer most skilled in it is sent. The numpy planning paths
    make these; :meth:`WorkUnit.push_inspection <reformsim.agents.WorkUnit.push_inspection>`
    queues one as a row of ``model.queues`` (the compiled path writes the rows directly).
    """

    enterprise: int
    grid: int
    pairs: np.ndarray
    planned_at: float
    n_depts: int
    domain: int


class InspectionPlanning:
    """Draws today's planned visits per inspecting body."""

    stale_days = STALE_DAYS

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.cancelled = 0
        #: planned visits not made in the window because the firm reached its yearly cap
        self.capped = 0
        self.year = 0
        spec = model.config.inspection
        #: targeted rate per colour (green, yellow, black) or the uniform rate, per year
        names = {GREEN: "green", YELLOW: "yellow", BLACK: "black"}
        self._targeted = ([float(spec.rate_per_year[names[c]]) for c in range(3)]
                          if model.config.levers.three_colour
                          else [float(spec.uniform_rate_per_year)] * 3)
        #: the targeted rates as integers over a common power of two, if the sum of the firms'
        #: rates is exact (None: not shown, see :func:`dyadic`)
        self._dyadic = dyadic(self._targeted, model.enterprises.n)
        #: working days per year: a yearly rate over it is a daily probability
        self._days_per_year = 365.0 * model.calendar.week / 7.0
        #: thinning bound: the highest daily probability of any firm in any design (the highest
        #: rate of the scenario, whatever the levers; NaN ignored), at most 1
        highest = max((r for r in [*spec.rate_per_year.values(), spec.uniform_rate_per_year]
                       if not math.isnan(r)), default=0.0)
        self.bound = min(highest * (1.0 + BOUND_MARGIN) / self._days_per_year, 1.0)
        #: cache of :meth:`_daily_table`: the colour counts it was computed for, the table, the
        #: acceptance probability of a candidate per colour (the table over :attr:`bound`), the
        #: highest rate and whether all rates are equal
        self._table_key: tuple[int, int] | None = None
        self._table: np.ndarray | None = None
        self._accept = np.zeros(3)
        self._top = 0.0
        self._uniform = False
        #: 0, 1, ..., n_pairs - 1 (read-only): a joint visit checks a slice of it, its firm's pairs
        self._pair_ids = np.arange(model.enterprises.n_pairs)
        self._pair_ids.flags.writeable = False
        #: the compiled day kernels (:mod:`reformsim.inspection_kernels`), or None: numpy path
        self._kernels = ((gap_positions.compiled(), choose_visits.compiled(),
                          colour_counts.compiled()) if jit.enabled() else None)

    def yearly_rate(self) -> np.ndarray:
        """Visits per firm per year per inspecting body."""
        return self._rate_table()[self.model.enterprises.colour]

    def _rate_table(self, divisor: float = 1.0) -> np.ndarray:
        """Rate per colour (green, yellow, black) divided by ``divisor``.

        The random share is spread by the mean targeted rate over all firms, so the table depends
        on the colour counts; indexing it by colour equals computing the rate firm by firm.
        """
        return np.array(self._rates(divisor))

    def _rates(self, divisor: float, counts: tuple[int, int] | None = None) -> list[float]:
        """:meth:`_rate_table` as floats (the same operations, on scalars).

        ``counts`` are the firms' :meth:`_colour_counts` when the caller has them already.
        """
        m = self.model
        spec = m.config.inspection
        n = m.enterprises.n
        targeted = self._targeted
        if not n:
            mean = 0.0
        elif m.config.levers.three_colour:
            mean = self._mean_rate(counts)
        else:
            mean = float(np.full(n, spec.uniform_rate_per_year).mean())
        spread = spec.random_share * mean
        return [((1.0 - spec.random_share) * r + spread) / divisor for r in targeted]

    def _colour_counts(self) -> tuple[int, int]:
        """Count the non-green firms and the black firms (green is colour 0)."""
        colour = self.model.enterprises.colour
        if self._kernels is not None:
            return self._kernels[2](colour)
        return np.count_nonzero(colour), np.count_nonzero(colour == BLACK)

    def _mean_rate(self, counts: tuple[int, int] | None = None) -> float:
        """Mean over firms of their colour's targeted rate: ``np.add.reduce(rate[colour]) / n``.

        When that sum is exact in any order (:func:`dyadic`) it is counted by colour; otherwise it
        is the pairwise sum over firms, as ``ndarray.mean()`` adds (minus its overhead).
        """
        ent = self.model.enterprises
        if self._dyadic is not None:
            nums, den = self._dyadic
            nongreen, black = self._colour_counts() if counts is None else counts
            total = math.sumprod((ent.n - nongreen, nongreen - black, black), nums)
            if total:  # a zero sum of doubles can be -0.0: leave it to the pairwise sum
                return total / den / ent.n  # int / int rounds correctly: exact here
        return float(np.add.reduce(np.array(self._targeted).take(ent.colour))) / ent.n

    def _daily_table(self) -> np.ndarray:
        """Visit probability per colour today (recomputed only when the colour counts change).

        Without colour targeting the table does not depend on colours: it is kept for good.
        """
        m = self.model
        counts = self._colour_counts() if m.config.levers.three_colour else (0, 0)
        if self._table is None or counts != self._table_key:
            rates = self._rates(self._days_per_year, counts)
            self._table, self._table_key = np.array(rates), counts
            # the table over the bound (as ``self._table / self.bound``, without numpy's call)
            self._accept = (np.array([r / self.bound for r in rates]) if self.bound > 0
                            else np.zeros(3))
            # the largest rate ignoring NaN (a NaN rate chooses nobody, as u < NaN is false)
            self._top = max((r for r in rates if not math.isnan(r)), default=math.nan)
            self._uniform = rates[0] == rates[1] == rates[2]
        return self._table

    def daily_rate(self) -> np.ndarray:
        """Visit probability per firm today."""
        return self._daily_table().take(self.model.enterprises.colour)

    def pair_rate(self) -> np.ndarray:
        """:meth:`daily_rate` of each exposure pair's firm."""
        return self.daily_rate()[self.model.enterprises.pair_ent]

    def draw_chosen(self, rng: np.random.Generator, firm_of: np.ndarray | None = None
                    ) -> np.ndarray:
        """Today's draw: each index chosen independently with its probability ``rate``.

        ``rate`` is :meth:`daily_rate` (one index per firm) or, given ``firm_of`` (the firm of
        each exposure pair), :meth:`pair_rate`. By thinning: the candidates are a Bernoulli
        process with probability :attr:`bound` over the indices (:func:`bernoulli_positions`),
        and candidate ``i`` is chosen if a uniform is below ``rate[i] / bound``, so
        ``P(chosen) = bound * rate[i] / bound = rate[i]``. A NaN rate chooses nobody (the
        comparison is false). A rate above the bound (only with ``BOUND_MARGIN`` too small for
        the rounding of the rates) is completed by :meth:`_add_above_bound`.

        Returns
        -------
        ndarray
            The chosen indices, in increasing order.
        """
        ent = self.model.enterprises
        self._daily_table()
        bound = self.bound
        size = ent.n if firm_of is None else firm_of.size
        cand = bernoulli_positions(rng, size, bound)
        u = rng.random(cand.size)
        if self._uniform:
            chosen = cand[u < self._accept[0]]
        else:
            firms = cand if firm_of is None else firm_of[cand]
            chosen = cand[u < self._accept.take(ent.colour[firms])]
        if self._top > bound and bound < 1.0:
            chosen = self._add_above_bound(rng, chosen, firm_of)
        return chosen

    def _add_above_bound(self, rng: np.random.Generator, chosen: np.ndarray,
                         firm_of: np.ndarray | None) -> np.ndarray:
        """Complete :meth:`draw_chosen` for indices whose rate exceeds the bound ``b < 1``.

        Their candidates were all chosen (``rate / b > 1``). Each of them is also chosen, on its
        own, with probability ``q = (rate - b) / (1 - b)``, so that in all
        ``P(chosen) = 1 - (1 - b) (1 - q) = rate`` (a rate of 1 or more: always). This draws
        one uniform per index: a slow path for rates the bound does not cover.
        """
        rate = self.daily_rate() if firm_of is None else self.daily_rate()[firm_of]
        b = self.bound
        extra = rng.random(rate.size) < (rate - b) / (1.0 - b)
        return np.union1d(chosen, np.flatnonzero(extra))

    def step(self, day: int) -> None:
        """Queue today's visits (working days only)."""
        m = self.model
        ent = m.enterprises
        if day // 365 != self.year:  # a new year: every firm's quota is full again
            self.year = day // 365
            ent.planned_this_year[:] = 0
        if not m.calendar.is_working(day) or ent.n == 0:
            return
        rng = m.streams["inspection_planning"]
        start = m.calendar.window(day)[0]
        if self._kernels is not None and self._compiled_ok():
            self._plan_compiled(rng, start)
        elif m.config.levers.joint_inspection:
            self._plan_joint(rng, start, day)
        else:
            self._plan_by_department(rng, start, day)

    def _compiled_ok(self) -> bool:
        """Whether today's plan can take :meth:`_plan_compiled`.

        Not with a yearly cap, nor with a rate above the thinning bound
        (:meth:`_add_above_bound`), nor when a department's visit may check several pairs.
        """
        if self._plan_setup is None:
            return False
        self._daily_table()
        return not (self._top > self.bound and self.bound < 1.0)

    @cached_property
    def _plan_setup(self) -> tuple | None:
        """The constants of :meth:`_plan_compiled` for the scenario's design (None: not used).

        Whether visits are joint, the number of indices drawn from (firms or exposure pairs),
        the chunk of :func:`bernoulli_positions`, the firm of each index, the body of each index
        (None: the joint inspectors, which the power-list review may change), the bodies, the
        rows of each index for the tasks and the group bounds buffer of :func:`choose_visits`.
        """
        m = self.model
        levers = m.config.levers
        ent = m.enterprises
        if levers.inspection_cap_per_year > 0:
            return None
        if levers.joint_inspection:
            size, firm_of, body_of, bodies, rows = (ent.n, self._firm_ids, None, m.units,
                                                    self._firm_rows)
        elif self._pair_rows is not None:
            size, firm_of, body_of, bodies, rows = (ent.n_pairs, ent.pair_ent, self._pair_depts,
                                                    m.departments, self._pair_rows)
        else:
            return None
        mean = size * self.bound
        chunk = int(mean + 4.0 * math.sqrt(mean)) + 16
        bounds = np.zeros(len(bodies) + 1, dtype=np.int64)
        return levers.joint_inspection, size, chunk, firm_of, body_of, bodies, rows, bounds

    def _plan_compiled(self, rng: np.random.Generator, start: float) -> None:
        """:meth:`_plan_joint` or :meth:`_plan_by_department` with the compiled kernels.

        The same draws (:meth:`draw_chosen`), planned counts, tasks and queue entries (``seq``
        in firm then department order), but the day's candidates are accepted and grouped by
        body in one kernel call, and each body's visits join its queue at once
        (:meth:`~reformsim.work_queues.WorkQueues.extend_visits`).
        """
        m = self.model
        ent = m.enterprises
        positions, choose, _ = self._kernels
        joint, size, chunk, firm_of, body_of, bodies, rows, bounds = self._plan_setup
        p = self.bound
        if p > 0.0 and size > 0:  # bernoulli_positions, the accumulation compiled
            parts = []
            last = -1
            while last < size:
                gaps = rng.geometric(p, chunk)
                last, n = positions(gaps, size, last)
                parts.append(gaps[:n])
            cand = parts[0] if len(parts) == 1 else np.concatenate(parts)
        else:
            cand = np.zeros(0, dtype=np.int64)
        u = rng.random(cand.size)
        if body_of is None:
            body_of = m.joint_inspector_units()
        seq0 = m.last_seq  # the kernel numbers the visits seq0 + 1, ..., as next_seq would
        table = choose(cand, u, self._accept, ent.colour, firm_of, body_of,
                       ent.planned_this_year, rows, seq0, bounds)
        if table.shape[0] == 0:
            return
        m.take_seqs(table.shape[0])
        if joint:  # columns: firm, seq, grid, departments, first and end pair, domain
            plans = table[:, [1, 0, 2, 6, 3, 4, 5]]
        else:  # columns: pair, seq, firm, department, grid, domain
            plans = np.column_stack([table[:, [1, 2, 4, 5]], np.ones(table.shape[0], np.int64),
                                     table[:, 0], table[:, 0] + 1])
        queues = m.queues
        if not queues.extend_visits(plans, bounds, start):  # a queue holds later visits
            body = np.repeat(np.arange(bounds.size - 1), np.diff(bounds)).tolist()
            for b, (seq, e, g, d, nd, p0, p1) in zip(body, plans.tolist(), strict=True):
                queues.push_visit(bodies[b].index, start, seq, e, g, d, nd,
                                  queues.pairs[p0:p1])

    @cached_property
    def _firm_ids(self) -> np.ndarray:
        """0, 1, ..., n - 1: the firm of each firm (joint visits in :meth:`_plan_compiled`)."""
        return np.arange(self.model.enterprises.n, dtype=np.int64)

    @cached_property
    def _pair_depts(self) -> np.ndarray:
        """The department of each exposure pair's visit (:meth:`_plan_compiled`)."""
        return np.ascontiguousarray(self._pair_rows[:, 1])

    def _plan_joint(self, rng: np.random.Generator, start: float, day: int) -> None:
        """One visit per chosen firm, checking all its pairs (综合查一次)."""
        m = self.model
        chosen = self.draw_chosen(rng)
        keep = self._count_planned(chosen, day, distinct=True)
        if keep is not None:
            chosen = chosen[keep]
        if chosen.size == 0:
            return
        units = m.joint_inspectors(chosen)
        pair_ids = self._pair_ids
        for e, (g, nd, a, b, d), unit in zip(chosen.tolist(), self._firm_rows[chosen].tolist(),
                                             units, strict=True):
            unit.push_inspection(start, InspectionTask(e, g, pair_ids[a:b], start, nd, d))

    @cached_property
    def _firm_rows(self) -> np.ndarray:
        """Per firm: its grid, departments, first and end pair, first pair's domain (joint visits).

        Every firm has a pair (a sector has domains).
        """
        m = self.model
        ent = m.enterprises
        first = ent.pair_start[:-1]
        return np.stack([ent.grid, m.depts_of_firm, first, ent.pair_start[1:], ent.pair_dom[first]],
                        axis=1)

    def _plan_by_department(self, rng: np.random.Generator, start: float, day: int) -> None:
        """Each department visits firms for its own domains; one visit per firm and department."""
        m = self.model
        hit = self.draw_chosen(rng, m.enterprises.pair_ent)
        if hit.size == 0:
            return
        rows = self._pair_rows
        if rows is None:
            self._plan_visits_of_pair_groups(hit, start, day)
            return
        # each pair is its own (firm, department) visit, in firm then department order
        rows = rows[hit]
        keep = self._count_planned(rows[:, 0], day)
        if keep is not None:
            rows, hit = rows[keep], hit[keep]
        firms, depts, grids, doms = rows.T.tolist()
        units = map(m.departments.__getitem__, depts)
        tasks = map(InspectionTask, firms, grids, hit[:, None], repeat(start), repeat(1), doms)
        for unit, task in zip(units, tasks, strict=True):
            unit.push_inspection(start, task)

    @cached_property
    def _pair_rows(self) -> np.ndarray | None:
        """Per exposure pair: its firm, the department owning its domain, the grid, the domain.

        None if a department owns two domains of some firm (its visits may check several pairs).
        """
        m = self.model
        ent = m.enterprises
        dept = m.owner_dept[ent.pair_dom]
        key = ent.pair_ent * len(m.departments) + dept
        if np.any(key[1:] <= key[:-1]):
            return None
        return np.stack([ent.pair_ent, dept, ent.grid[ent.pair_ent], ent.pair_dom], axis=1)

    def _plan_visits_of_pair_groups(self, hit: np.ndarray, start: float, day: int) -> None:
        """:meth:`_plan_by_department` when a visit may check several of the ``hit`` pairs."""
        m = self.model
        ent = m.enterprises
        n_depts = len(m.departments)
        key = ent.pair_ent[hit] * n_depts + m.owner_dept[ent.pair_dom[hit]]
        order = np.argsort(key, kind="stable")
        key, hit = key[order], hit[order]  # by firm, then department; pairs in order within
        starts, sizes = runs(key)
        ends = starts + sizes
        firms, depts = np.divmod(key[starts], n_depts)
        keep = self.within_cap(firms, day)
        firms, depts, starts, ends = firms[keep], depts[keep], starts[keep], ends[keep]
        grids, doms = ent.grid[firms].tolist(), ent.pair_dom[hit[starts]].tolist()
        units = map(m.departments.__getitem__, depts.tolist())
        pairs = [hit[lo:hi] for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True)]
        tasks = map(InspectionTask, firms.tolist(), grids, pairs, repeat(start), repeat(1), doms)
        for unit, task in zip(units, tasks, strict=True):
            unit.push_inspection(start, task)

    def within_cap(self, firms: np.ndarray, day: int, distinct: bool = False) -> np.ndarray:
        """Which of today's planned visits to ``firms`` (sorted) stay under the yearly cap.

        A firm listed k times today (one visit per department, in department order) keeps its
        first ``cap - planned_this_year`` visits. Kept visits are added to ``planned_this_year``
        and dropped ones to :attr:`capped` (in the window). ``distinct``: no firm is listed twice
        (the count is then one fancy-indexed increment instead of ``np.add.at``).
        """
        keep = self._count_planned(firms, day, distinct)
        return np.ones(firms.size, dtype=bool) if keep is None else keep

    def _count_planned(self, firms: np.ndarray, day: int, distinct: bool = False
                       ) -> np.ndarray | None:
        """:meth:`within_cap`, or None when there is no cap (every visit is kept)."""
        ent = self.model.enterprises
        cap = self.model.config.levers.inspection_cap_per_year
        keep = None
        if cap > 0 and firms.size:
            first, sizes = runs(firms)
            rank = np.arange(firms.size) - np.repeat(first, sizes)
            keep = rank < cap - ent.planned_this_year[firms]
            if self.model.in_window(day):
                self.capped += int(firms.size - keep.sum())
        kept = firms if keep is None else firms[keep]
        if distinct:
            ent.planned_this_year[kept] += 1
        else:
            # a one of the column's type: np.add.at takes a slow path to cast a Python int
            np.add.at(ent.planned_this_year, kept, ent.planned_this_year.dtype.type(1))
        return keep


def dyadic(values: list[float], n: int) -> tuple[list[int], int] | None:
    """Write ``values`` as integers ``k`` over a power of two ``q``, if sums of ``n`` are exact.

    Returns ``(k, q)`` with ``values[i] == k[i] / q``, or None if a value is not finite or some
    sum of ``n`` of them could round. All values are multiples of ``1 / q``: when
    ``n * max(|k|) <= 2**53``, every partial sum of ``n`` of them, in any order and grouping
    (``np.add.reduce`` adds pairwise), is a multiple of ``1 / q`` of at most ``2**53`` such
    units, thus a double: no addition rounds.
    """
    if not all(math.isfinite(v) for v in values):
        return None
    ratios = [v.as_integer_ratio() for v in values]  # denominators are powers of two
    den = max(q for _, q in ratios)
    nums = [p * (den // q) for p, q in ratios]
    return (nums, den) if n * max(abs(k) for k in nums) <= 2**53 else None


def bernoulli_positions(rng: np.random.Generator, size: int, p: float,
                        chunk: int | None = None) -> np.ndarray:
    """Successes of ``size`` independent Bernoulli(``p``) trials, as sorted positions.

    The gaps between successes are geometric (Lewis & Shedler 1979 thinning needs exactly this),
    drawn in chunks, so the cost is proportional to ``size * p``, not to ``size``. The positions
    do not depend on ``chunk`` (a stream's geometric variates are the same one by one or in an
    array); only how many numbers are drawn past the end of the range does. The draws depend on
    ``size``, ``p`` and ``chunk``, never on the model's state. ``p <= 0`` (or NaN) gives no
    success and draws nothing.

    Parameters
    ----------
    rng
        The stream to draw from.
    size
        Number of trials.
    p
        Success probability of each trial, at most 1.
    chunk
        Gaps drawn at a time; by default the expected number of successes plus four standard
        deviations plus 16, rarely exceeded.

    Returns
    -------
    ndarray of int64
        Positions in ``[0, size)``, increasing.
    """
    if not (p > 0.0 and size > 0):
        return np.zeros(0, dtype=np.int64)
    if chunk is None:
        mean = size * p
        chunk = int(mean + 4.0 * math.sqrt(mean)) + 16
    parts = []
    last = -1  # position of the latest success
    while last < size:
        gaps = rng.geometric(p, chunk)
        np.minimum(gaps, size + 1, out=gaps)  # a gap past the end ends the range: no overflow
        pos = np.add.accumulate(gaps)  # np.cumsum without its Python dispatch
        pos += last
        parts.append(pos)
        last = int(pos[-1])
    pos = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return pos[:pos.searchsorted(size)]
