"""Step 1, compliance: enterprises start violations (domain.md M1, M2, M5, M7).

Per exposure pair (enterprise i, domain d) not already violating, the daily onset probability is

    P = min(r_max / 365 * w_d * sigmoid(U / tau), 1)   (rates are expected onsets per year),
    U = g_id - w(p_hat_id) * S + s * v_g - w_T (T_i - T_0)    (s > 0 for imitators only)

where ``w(p) = p^γ / (p^γ + (1-p)^γ)^(1/γ)`` is Tversky-Kahneman probability weighting, ``S``
the expected sanction (plus the colour-downgrade cost when three-colour management is on:
Harrington 1988 leverage), ``v_g`` the share of violating pairs in the firm's grid (social
influence, M7), ``T_i`` the firm's trust in the enforcers with weight ``w_T`` (voluntary
compliance, M6; :mod:`reformsim.mechanisms.trust`) and ``w_d`` the domain's violation weight.
Honest firms never violate; the "incompetent" type violates by ignorance at a fixed rate,
lowered after advice (Ayres & Braithwaite 1992). A new violation picks its matter by the
catalogue's Zipf weights and draws, from constant competing hazards, when it would be detected and by which channel (complaint,
patrol, platform; M13) and when it would end by itself.

References
----------
Becker (1968); Allingham & Sandmo (1972); Hokamp & Pickhardt (2010) for agent types;
Harrington (1988); Zaklan, Westerhoff & Stauffer (2009) for neighbour influence.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from reformsim import jit
from reformsim.detection_kernels import schedule_violations
from reformsim.jit import kernel
from reformsim.population import IMITATOR, INCOMPETENT, RATIONAL
from reformsim.streams import SLOT_ACCEPT_ONSET, SLOT_MATTER, SLOT_ONSET_TIME, SLOTS_PER_DAY
from reformsim.violations import open_rows

if TYPE_CHECKING:
    from reformsim.model import ReformModel

CHANNEL_COMPLAINT, CHANNEL_PATROL, CHANNEL_PLATFORM = 0, 1, 2

#: The keyed draws of a would-be violation of one exposure pair on one day: everything about it
#: that does not depend on the state (:meth:`Compliance.keyed_draws`).
DRAW_DTYPE = np.dtype([
    ("accept_at", np.float64),  # a candidate starts a violation when P > accept_at (U * P_max)
    ("onset_at", np.float64),  # day + U: when the violation begins
    ("matter", np.int64),  # its matter (-1 in a domain without matters)
    ("detect_exp", np.float64),  # standard exponential: detection delay times the total hazard
    ("channel_u", np.float64),  # uniform choosing the detection channel
    ("self_end_at", np.float64),  # when it would end by itself
    ("complainant_u", np.float64),  # uniform choosing the resident behind a complaint
])

#: keyed slots of a candidate's day (stream "keyed_violations"), in this order
_DAY_SLOTS = np.array([SLOT_ACCEPT_ONSET, SLOT_ONSET_TIME, SLOT_MATTER])


def probability_weight(p: np.ndarray, gamma: float) -> np.ndarray:
    """Tversky-Kahneman (1992) probability weighting ``w(p)``; identity when ``gamma == 1``."""
    if gamma == 1.0:
        return p
    pg = p**gamma
    return pg / (pg + (1.0 - p) ** gamma) ** (1.0 / gamma)


class WeightTable:
    """:func:`probability_weight` tabulated for fast daily use.

    ``w`` has unbounded derivatives at 0 and 1 (it behaves like ``p**gamma`` there), so values
    below ``edge`` or above ``1 - edge`` are computed exactly and the smooth middle is linearly
    interpolated on a fine grid: the maximum absolute error is below 1e-5 for ``gamma >= 0.3``
    (checked in the tests).
    """

    def __init__(self, gamma: float, points: int = 8193, edge: float = 0.01) -> None:
        self.gamma = gamma
        self.edge = edge
        self.top_edge = 1.0 - edge
        self.step = (1.0 - 2.0 * edge) / (points - 1)
        self.w = probability_weight(np.linspace(edge, 1.0 - edge, points), gamma)
        self.dw = np.append(np.diff(self.w), 0.0)
        self.last = len(self.w) - 1.0

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """Weighted probabilities for ``p`` in [0, 1]."""
        if self.gamma == 1.0:
            return p
        if not p.size:
            return np.zeros(0)
        x = (p - self.edge) / self.step
        lo, hi = np.minimum.reduce(p), np.maximum.reduce(p)
        tails = not (lo >= self.edge and hi <= self.top_edge)
        # within the edges x is in [0, last]: nothing to clip (x may exceed ``last`` by rounding,
        # but then ``i == last`` and ``dw[last] == 0``: the same value as clipped)
        if tails:  # np.clip, faster on small arrays:
            np.minimum(np.maximum(x, 0.0, out=x), self.last, out=x)
        i = x.astype(np.int64)
        x -= i  # the position within the interval
        x *= self.dw[i]
        out = self.w[i]
        out += x  # w[i] + (x - i) * dw[i]
        if tails:
            tail = (p < self.edge) | (p > self.top_edge)
            out[tail] = probability_weight(p[tail], self.gamma)
        return out


@lru_cache(maxsize=8)
def weight_table(gamma: float) -> WeightTable:
    """The :class:`WeightTable` of ``gamma``, made once per process and shared (read only).

    Tabulating ``w`` costs three powers on each of its 8193 points: a fixed cost of every model
    built (issue 4), while the table depends on ``gamma`` alone. Its arrays are made read only.
    """
    table = WeightTable(gamma)
    table.w.flags.writeable = False
    table.dw.flags.writeable = False
    return table


class _PairTerms(NamedTuple):
    """The state-independent terms of the onset probability of some exposure pairs.

    Gathered once per pair list (:meth:`Compliance.pair_terms`); the calendar's block of
    candidates gets them when it is scheduled, and a day's candidates are a slice of them.
    """

    firm: np.ndarray  # the pair's enterprise
    grid: np.ndarray  # its grid
    imitation: np.ndarray  # weight of the grid's violating share (imitators only)
    deciding: np.ndarray  # whether the firm weighs the utility of violating
    fixed: np.ndarray  # onset rate per year of a firm that does not decide, before advice
    fixed_advised: np.ndarray  # ... and after advice
    domain_weight: np.ndarray  # the domain's violation weight

    def slice(self, lo: int, hi: int) -> _PairTerms:
        """The terms of pairs ``lo:hi`` (views)."""
        rows = slice(lo, hi)
        return _PairTerms._make([a[rows] for a in self])


#: columns of :attr:`Compliance.pair_int` and :attr:`Compliance.pair_float` (the onset kernel's
#: per-pair constants), the entries of :attr:`Compliance.constants` and of the day's integers
#: of :func:`onsets_day` (:attr:`Compliance.day_ints`)
_FIRM, _GRID, _DECIDING, _DOMAIN = 0, 1, 2, 3
_IMITATION, _FIXED, _FIXED_ADVISED, _DOMAIN_WEIGHT = 0, 1, 2, 3
(_SANCTION, _TRUST_WEIGHT, _TRUST_INITIAL, _MAX_RATE, _NEG_NOISE, _IDENTITY, _IMITATORS, _EDGE,
 _STEP, _TOP_EDGE, _N_CONSTANTS) = range(11)
_LO, _HI, _START, _FIRST_ID, _RUN_DAYS, _FIRST_DAY, _N_DAY_INTS = range(7)


@kernel
def accept_onsets(lo, hi, start, cand, accept_at, draws, pair_int, pair_float, gain, p_hat,
                  advised, violation, trust, violating, pairs_in_grid, constants, table, new_pairs,
                  new_draws):  # pragma: no cover
    """Today's accepted onset candidates: :meth:`Compliance.step`'s numpy path as one loop.

    For each candidate ``j`` in ``lo:hi`` of the calendar block (pair ``cand[j]``) that is not
    violating, the onset probability of :meth:`Compliance._probability` (domain.md M1, M2, M5-M7)
    with the same floating-point operations in the same order:

        U = (g - w(p_hat) * S) + (-w_T) * (T - T_0) [+ s * (violating / pairs in the grid)]
        P = min(r_max / (1 + exp(U / -tau)) * w_d / 365, 1)     (deciding firms)
        P = min(fixed rate (after advice or not) * w_d / 365, 1)  (the others)

    ``w`` is the interpolated :class:`WeightTable` (``table`` holds its values and differences
    in rows 0 and 1). The candidate starts a violation when ``accept_at[j] < P``; its pair and
    keyed draws are copied to ``new_pairs`` and ``new_draws`` from row ``start`` on (in block
    order, as the numpy path's ``cand[new]`` and ``draws[new]``).

    Parameters
    ----------
    lo, hi
        Today's candidates in the block.
    start
        The first free row of ``new_pairs`` and ``new_draws``.
    cand, accept_at, draws
        The block's candidate pairs, their keyed acceptance thresholds and all their keyed
        draws (:data:`DRAW_DTYPE` records seen as rows of 64-bit words: copied bit for bit).
    pair_int, pair_float
        Per pair: firm, grid, deciding (0/1); imitation weight, fixed rates before and after
        advice, domain weight (the columns named by ``_FIRM`` ... ``_DOMAIN_WEIGHT``).
    gain, p_hat, advised, violation
        Per pair: the state (:class:`~reformsim.population.Enterprises`).
    trust
        Per firm.
    violating, pairs_in_grid
        Per grid: pairs violating now, and all pairs.
    constants
        Scalars of the utility, named by ``_SANCTION`` ... ``_TOP_EDGE``.
    table
        The weight table: values, then differences to the next point.
    new_pairs, new_draws
        Receive the accepted candidates' pairs and draws (rows ``start:start + k``).

    Returns
    -------
    int
        How many were accepted (``k``), or -1 when a deciding free candidate's perceived risk is
        outside the table's interpolated middle: the caller then takes the numpy path (its exact
        ``p ** gamma`` is not computed here).
    """
    sanction = constants[_SANCTION]
    trust_weight = constants[_TRUST_WEIGHT]
    trust_initial = constants[_TRUST_INITIAL]
    max_rate = constants[_MAX_RATE]
    neg_noise = constants[_NEG_NOISE]
    identity = constants[_IDENTITY] != 0.0
    imitators = constants[_IMITATORS] != 0.0
    edge = constants[_EDGE]
    step = constants[_STEP]
    top_edge = constants[_TOP_EDGE]
    k = start
    for j in range(lo, hi):
        pair = cand[j]
        if violation[pair] >= 0:
            continue
        if pair_int[pair, _DECIDING]:
            p = p_hat[pair]
            if identity:
                w = p
            else:
                if not (p >= edge and p <= top_edge):
                    return -1
                x = (p - edge) / step
                i = int(x)
                w = table[0, i] + (x - i) * table[1, i]
            utility = gain[pair] - w * sanction
            utility += trust_weight * (trust[pair_int[pair, _FIRM]] - trust_initial)
            if imitators:
                grid = pair_int[pair, _GRID]
                utility += pair_float[pair, _IMITATION] * (violating[grid] / pairs_in_grid[grid])
            rate = max_rate / (1.0 + math.exp(utility / neg_noise))
        elif advised[pair]:
            rate = pair_float[pair, _FIXED_ADVISED]
        else:
            rate = pair_float[pair, _FIXED]
        prob = rate * pair_float[pair, _DOMAIN_WEIGHT] / 365.0
        if prob > 1.0:
            prob = 1.0
        if accept_at[j] < prob:
            new_pairs[k] = pair
            new_draws[k, :] = draws[j, :]
            k += 1
    return k - start


@kernel
def onsets_day(day_ints, cand, accept_at, draws, new_draws_words, new_draws, new_pairs, pair_int,
               pair_float, gain, p_hat, advised, violation, trust, violating, pairs_in_grid,
               constants, table, col_pair, col_enterprise, col_domain, col_matter, col_onset,
               matter_factor, grid_factor, report_factor, authority, v_detect, v_channel,
               v_self_end, complainant_u, watch_out):  # pragma: no cover
    """One day of :meth:`Compliance.step` with numba: onsets, new violations, their schedule.

    The three steps of the day's new violations (domain.md M1, M2, M5-M7, M13) in one call, so
    a day pays one kernel call instead of three (issue 4: fixed cost per day):

    1. :func:`accept_onsets` on candidates ``lo:hi`` (``day_ints``), writing the accepted pairs
       and draws from row ``start`` of ``new_pairs`` / ``new_draws`` (``new_draws_words`` is
       the same memory as rows of 64-bit words). Nothing else is written before every
       candidate is decided, so a return of -1 (a perceived risk in a tail of the weight
       table) leaves the state as it was: the caller then takes the numpy path.
    2. :func:`reformsim.violations.open_rows`: the violations ``first_id, first_id + 1, ...``
       get their pair, enterprise, domain, matter and onset (the log's columns ``col_*``, rows
       reserved by the caller); each pair's ``violation`` is set and its grid's count of
       violating pairs grows.
    3. :func:`reformsim.detection_kernels.schedule_violations`: detection time, channel,
       self-correction and complainant uniform, and the watch-list entries (``watch_out``; the
       run's days and the first day not processed are ``day_ints`` entries).

    Returns
    -------
    int
        ``k * (k_max + 1) + n_watch`` with ``k`` the new violations and ``n_watch`` the
        watch-list entries (``k_max = hi - lo``), or -1 (see 1).
    """
    lo = day_ints[_LO]
    hi = day_ints[_HI]
    start = day_ints[_START]
    k = accept_onsets(lo, hi, start, cand, accept_at, draws, pair_int, pair_float, gain, p_hat,
                      advised, violation, trust, violating, pairs_in_grid, constants, table,
                      new_pairs, new_draws_words)
    if k <= 0:
        return k
    first_id = day_ints[_FIRST_ID]
    stop = start + k
    matter = np.empty(k, dtype=np.int64)
    onset = np.empty(k)
    for i in range(k):
        matter[i] = new_draws[start + i]["matter"]
        onset[i] = new_draws[start + i]["onset_at"]
    grids = np.empty(k, dtype=np.int64)
    open_rows(first_id, new_pairs[start:stop], matter, onset, pair_int[:, _FIRM],
              pair_int[:, _DOMAIN], pair_int[:, _GRID], col_pair, col_enterprise, col_domain,
              col_matter, col_onset, violation, violating, grids)
    n_watch = schedule_violations(first_id, new_draws[start:stop], grids, matter_factor,
                                  grid_factor, report_factor, authority, v_detect, v_channel,
                                  v_self_end, complainant_u, day_ints[_RUN_DAYS:], watch_out)
    return k * (hi - lo + 1) + n_watch


def _warm_up_unfused_path() -> None:
    """Run a tiny model on the unfused kernels, for :func:`reformsim.jit.compile_all`.

    The unfused kernels: :func:`accept_onsets`, then :meth:`ReformModel.open_violations`.

    The fused :func:`onsets_day` calls them inside; models with a domain without matters call
    them directly.
    """
    from reformsim.model import ReformModel

    m = ReformModel(jit.tiny_scenario({}, days=30), seed=0)
    m.compliance._fused = False
    m.compliance._kernel = accept_onsets.compiled()
    m.run()


jit.WARM_UPS.append(_warm_up_unfused_path)


class CandidateCalendar:
    """Days on which each exposure pair is an onset candidate: a Bernoulli process per pair.

    Pair ``i`` is a candidate on each day independently with probability ``bound[i]``, so the
    gaps between its candidate days are geometric (Lewis & Shedler 1979 thinning needs exactly
    this). The gaps are drawn vectorised for all pairs, one block of ``block_days`` days at a
    time (each pair's next candidate day carries over to the next block), so a day's candidates
    are a slice of a sorted table. Block boundaries are fixed multiples of ``block_days``: the
    draws do not depend on the run length, levers or state, which keeps common random numbers.

    Parameters
    ----------
    bound
        Per pair, the daily candidate probability ``P_max`` in [0, 1].
    rng
        The ``violations`` stream.
    block_days
        Days scheduled per block.
    """

    def __init__(self, bound: np.ndarray, rng: np.random.Generator, block_days: int = 365) -> None:
        self.rng = rng
        self.block_days = block_days
        #: all exposure pairs, and the active ones (``bound > 0``)
        self.n_pairs = bound.size
        self.pairs = np.flatnonzero(bound > 0)
        self.p = bound[self.pairs]
        #: each active pair's next candidate day (day 0 counts as the first trial)
        self.next_day = rng.geometric(self.p) - 1 if self.pairs.size else np.zeros(0, np.int64)
        self.horizon = 0
        #: the current block's candidates, by day then pair, and the day of each
        self.day_pairs: np.ndarray = np.zeros(0, dtype=np.int64)
        self.days: np.ndarray = np.zeros(0, dtype=np.int64)
        self.day_start: np.ndarray = np.zeros(1, dtype=np.int64)
        self._starts: list[int] = [0]  # day_start as Python ints (cheaper to read a day)

    def on(self, day: int) -> np.ndarray:
        """Candidate pairs of ``day`` (sorted); days are asked in increasing order."""
        lo, hi = self.span(day)
        return self.day_pairs[lo:hi]

    def span(self, day: int) -> tuple[int, int]:
        """Where ``day``'s candidates are in the block: ``day_pairs[lo:hi]``, as :meth:`on`."""
        while day >= self.horizon:
            self._schedule_block()
        k = day - (self.horizon - self.block_days)
        starts = self._starts
        return starts[k], starts[k + 1]

    def _schedule_block(self) -> None:
        lo, hi = self.horizon, self.horizon + self.block_days
        days, pairs = [], []
        due = np.flatnonzero(self.next_day < hi)
        while due.size:
            days.append(self.next_day[due])
            pairs.append(self.pairs[due])
            self.next_day[due] += self.rng.geometric(self.p[due])
            due = due[self.next_day[due] < hi]
        day = np.concatenate(days) if days else np.zeros(0, dtype=np.int64)
        pair = np.concatenate(pairs) if pairs else np.zeros(0, dtype=np.int64)
        # by day, then pair: one key (a pair is a candidate at most once a day, so keys are
        # distinct and any sort gives the order of np.lexsort((pair, day)), for less)
        order = np.argsort(day * self.n_pairs + pair, kind="stable")
        self.day_pairs = pair[order]
        self.days = day[order]
        self.day_start = np.searchsorted(self.days, np.arange(lo, hi + 1))
        self._starts = self.day_start.tolist()
        self.horizon = hi


class Compliance:
    """Daily violation onsets by thinning (Lewis & Shedler 1979).

    Each pair's daily onset probability ``P`` is bounded by a lever-independent ``P_max``
    (``r_max / 365 * w_d`` for deciding firms, the incompetent rate for incompetent ones). Every
    pair is a candidate on each day with probability ``P_max`` (:class:`CandidateCalendar`, drawn
    from the ``violations`` stream), and a candidate that is not already violating
    starts a violation with probability ``P / P_max`` (a keyed uniform of the pair and day). The
    result has exactly the per-pair daily probability ``P``, the utility is evaluated only for a
    few candidates a day, and because the candidate draws do not depend on levers or state, two
    arms of a comparison see the same candidates (common random numbers).

    Everything else a new violation draws is keyed by its pair and day too (:meth:`keyed_draws`),
    so it is drawn for a whole block of candidates at once, when the calendar schedules the block:
    the same numbers as drawing them for the day's new violations, without a day's fixed cost.
    """

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        sc = model.config
        cs = sc.compliance
        ent = model.enterprises
        weights = np.array([d.violation_weight for d in sc.domains])
        self.domain_weight = weights[ent.pair_dom]
        self.pair_type = ent.risk_type[ent.pair_ent]
        self.pair_grid = model.pair_grid
        self.weight = weight_table(cs.probability_weighting_gamma)
        #: per pair: whether the firm weighs the utility of violating (rational or imitator)
        self.deciding = (self.pair_type == RATIONAL) | (self.pair_type == IMITATOR)
        incompetent = self.pair_type == INCOMPETENT
        base = np.where(self.deciding, cs.max_onset_rate_per_year,
                        np.where(incompetent, cs.incompetent_rate_per_year, 0.0))
        self.bound = np.minimum(base * self.domain_weight / 365.0, 1.0)
        #: per pair: the weight of the grid's violating share in the utility (imitators only)
        self.imitation_weight = ((self.pair_type == IMITATOR) * cs.imitation_strength
                                 if cs.imitation_strength > 0 else np.zeros(ent.n_pairs))
        #: whether any pair imitates (else the grid's violating share is not needed)
        self.imitators = bool(np.count_nonzero(self.imitation_weight))
        #: per pair, the onset rate per year of a firm that does not decide (incompetent or
        #: honest): column 0 before advice, column 1 after
        self.fixed_rate = np.zeros((ent.n_pairs, 2))
        self.fixed_rate[incompetent] = cs.incompetent_rate_per_year * np.array(
            [1.0, cs.advised_incompetent_factor])
        self.calendar = CandidateCalendar(self.bound, model.streams["violations"])
        #: keyed draws of the calendar's current block of candidates, and the block's horizon
        self.block_draws = np.zeros(0, dtype=DRAW_DTYPE)
        #: ... their acceptance thresholds (``accept_at``), and their probability terms (None
        #: until the numpy path needs them)
        self.block_accept = np.zeros(0)
        self.block_terms: _PairTerms | None = None
        self.block_horizon = -1
        #: the compiled :func:`accept_onsets` (None: the numpy path of :meth:`step`)
        #: whether the kernel is :func:`onsets_day` (else :func:`accept_onsets`)
        self._fused = False
        self._kernel = None
        if jit.enabled():
            self._choose_kernel()
            self._init_kernel_inputs()
            self._new_block_buffers()

    def _choose_kernel(self) -> None:
        """Choose the compiled :func:`onsets_day`, or :func:`accept_onsets` and the log's path.

        :func:`onsets_day` when every domain has matters (else a violation could get none, which
        :meth:`ReformModel.open_violations` reports) and the log has its kernels; else
        :func:`accept_onsets` (then :meth:`ReformModel.open_violations`).
        """
        m = self.model
        self._fused = not m.catalog.has_empty_domains and m.violations.open_kernel is not None
        self._kernel = (onsets_day if self._fused else accept_onsets).compiled()
        #: the integers of a day's :func:`onsets_day` call (``_LO`` ... ``_FIRST_DAY``)
        self.day_ints = np.zeros(_N_DAY_INTS, dtype=np.int64)

    def _init_kernel_inputs(self) -> None:
        """Gather the constant inputs of :func:`accept_onsets`: pair terms, scalars, w table."""
        m = self.model
        cs = m.config.compliance
        ent = m.enterprises
        #: per pair: firm, grid, deciding, domain
        self.pair_int = np.stack([ent.pair_ent, self.pair_grid, self.deciding, ent.pair_dom],
                                 axis=1, dtype=np.int64)
        #: per pair: imitation weight, fixed rates before and after advice, domain weight
        self.pair_float = np.stack([self.imitation_weight, self.fixed_rate[:, 0],
                                    self.fixed_rate[:, 1], self.domain_weight], axis=1,
                                   dtype=np.float64)
        weight = self.weight
        constants = np.zeros(_N_CONSTANTS)
        constants[_SANCTION] = self._sanction()
        constants[_TRUST_WEIGHT] = -m.config.trust.weight  # Trust.utility_shift
        constants[_TRUST_INITIAL] = m.config.trust.initial
        constants[_MAX_RATE] = cs.max_onset_rate_per_year
        constants[_NEG_NOISE] = -cs.choice_noise
        constants[_IDENTITY] = weight.gamma == 1.0
        constants[_IMITATORS] = self.imitators
        constants[_EDGE], constants[_STEP], constants[_TOP_EDGE] = (
            weight.edge, weight.step, weight.top_edge)
        #: the scalars of the utility (entries ``_SANCTION`` ... ``_TOP_EDGE``)
        self.constants = constants
        #: the weight table's values and differences
        self.table = np.stack([weight.w, weight.dw])

    def _new_block_buffers(self) -> None:
        """Where :func:`accept_onsets` reads a new block's draws and writes the accepted ones.

        Each day's new violations get rows of their own (the block has room for every
        candidate), so the arrays passed to :meth:`ReformModel.open_violations` are never
        overwritten.
        """
        n = self.block_draws.size
        #: the accepted candidates' pairs and draws (rows ``0:new_used`` filled)
        self.new_pairs = np.empty(n, dtype=np.int64)
        self.new_draws = np.empty(n, dtype=DRAW_DTYPE)
        self.new_used = 0
        self._bind_words()

    def _bind_words(self) -> None:
        """View the block's and the accepted keyed draws as rows of 64-bit words.

        The kernel copies records as words, so the copies are bit for bit.
        """
        words = len(DRAW_DTYPE.names)
        if DRAW_DTYPE.itemsize != 8 * words:  # every field must have 64 bits
            raise RuntimeError(f"DRAW_DTYPE: expected 64-bit fields, got {DRAW_DTYPE}")
        #: :attr:`block_draws` and :attr:`new_draws` as rows of words (views)
        self.block_words = self.block_draws.view(np.int64).reshape(-1, words)
        self.new_words = self.new_draws.view(np.int64).reshape(-1, words)

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the compiled kernel and the word views (rebuilt on unpickling)."""
        state = self.__dict__.copy()
        for name in ("_kernel", "block_words", "new_words"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._kernel = None
        if "new_draws" in state and jit.enabled():  # built with the kernel (the model may not
            # be unpickled yet: the pickled ``_fused`` says which)
            self._kernel = (onsets_day if self._fused else accept_onsets).compiled()
            self._bind_words()
        else:
            self._fused = False

    def _sanction(self) -> float:
        """Return the expected sanction ``S`` (plus the colour downgrade under three colours)."""
        cs = self.model.config.compliance
        return cs.sanction_size + (cs.colour_leverage if self.model.config.levers.three_colour
                                   else 0.0)

    def onset_probability(self, pairs: np.ndarray | None = None) -> np.ndarray:
        """Daily probability that each pair (all pairs by default) starts a violation.

        Pairs already violating get 0.
        """
        idx = np.arange(self.model.enterprises.n_pairs) if pairs is None else pairs
        p = self._onset_probability(idx)
        p[self.model.enterprises.violation[idx] >= 0] = 0.0
        return p

    def _onset_probability(self, idx: np.ndarray) -> np.ndarray:
        """:meth:`onset_probability` of pairs ``idx`` as if none were violating."""
        return self._probability(idx, self.pair_terms(idx))

    def pair_terms(self, idx: np.ndarray) -> _PairTerms:
        """The state-independent terms of the onset probability of pairs ``idx``."""
        return _PairTerms(self.model.enterprises.pair_ent[idx], self.pair_grid[idx],
                         self.imitation_weight[idx], self.deciding[idx], self.fixed_rate[idx, 0],
                         self.fixed_rate[idx, 1], self.domain_weight[idx])

    def _probability(self, idx: np.ndarray, terms: _PairTerms) -> np.ndarray:
        """The onset probability of pairs ``idx`` with their :meth:`pair_terms`, as if free."""
        m = self.model
        cs = m.config.compliance
        ent = m.enterprises
        sanction = self._sanction()
        utility = ent.gain[idx] - self.weight(ent.p_hat[idx]) * sanction
        utility += m.trust.utility_shift(terms.firm)  # voluntary compliance (M6)
        if self.imitators:  # add the grid's violating share (M7; 0 for non-imitators: u + 0.0 = u)
            utility += terms.imitation * m.grid_violation_share(grids=terms.grid)
        # u / -noise is -u / noise bit for bit (IEEE division is correctly rounded, sign-symmetric)
        sigmoid = cs.max_onset_rate_per_year / (1.0 + np.exp(utility / -cs.choice_noise))
        fixed = np.where(ent.advised[idx], terms.fixed_advised, terms.fixed)
        rate = np.where(terms.deciding, sigmoid, fixed)
        return np.minimum(rate * terms.domain_weight / 365.0, 1.0)

    def keyed_draws(self, pairs: np.ndarray, days: np.ndarray | int) -> np.ndarray:
        """Draw the keyed numbers of would-be violations of ``pairs`` beginning on ``days``.

        They depend only on the seed, the pair and the day (stream ``keyed_violations``), not on
        the state or the levers: whether a candidate is accepted, the violation's onset time and
        matter, and its detection and self-correction draws (:meth:`Detection.keyed_draws`).

        Parameters
        ----------
        pairs
            Exposure pairs.
        days
            Their days (an array like ``pairs``, or one day for all).

        Returns
        -------
        ndarray of :data:`DRAW_DTYPE`
            One record per pair; a domain without matters gets matter -1
            (:meth:`ReformModel.open_violations` raises when such a violation starts).
        """
        m = self.model
        hashed = m.streams.keyed_hash("keyed_violations", pairs)[:, None]
        slots = np.multiply(days, SLOTS_PER_DAY, dtype=np.int64)[..., None] + _DAY_SLOTS
        u = m.streams.uniform_from_hash(hashed, slots)
        draws = np.empty(pairs.size, dtype=DRAW_DTYPE)
        draws["accept_at"] = u[:, 0] * self.bound[pairs]
        onset = days + u[:, 1]
        draws["onset_at"] = onset
        draws["matter"] = m.catalog.sample_matters(m.enterprises.pair_dom[pairs], u[:, 2],
                                                   strict=False)
        for name, values in m.detection.keyed_draws(hashed, onset).items():
            draws[name] = values
        return draws

    def _step_fused(self, day: int, lo: int, hi: int) -> int:
        """Make today's onsets by :func:`onsets_day`.

        Returns the number of new violations, or -1 (nothing done: the numpy path decides).
        """
        m = self.model
        ent, log, det = m.enterprises, m.violations, m.detection
        first_id = log.n
        room = hi - lo  # at most one violation per candidate
        log.reserve(room)
        det._reserve_complainant_u(first_id + room)
        ints = self.day_ints
        ints[_LO] = lo
        ints[_HI] = hi
        ints[_START] = self.new_used
        ints[_FIRST_ID] = first_id
        ints[_RUN_DAYS] = m.config.run.days
        ints[_FIRST_DAY] = det.next_day
        out = det._watch_buffer(room)
        c = log.cols
        r = self._kernel(ints, self.calendar.day_pairs, self.block_accept, self.block_words,
                        self.new_words, self.new_draws, self.new_pairs, self.pair_int,
                        self.pair_float, ent.gain, ent.p_hat, ent.advised, ent.violation,
                        ent.trust, m.violating_in_grid, m.pairs_in_grid, self.constants,
                        self.table, c["pair"], c["enterprise"], c["domain"], c["matter"],
                        c["onset_at"], det._matter_factor, det._grid_factor, det._report_factor,
                        m.team_authority, c["detect_at"], c["channel"], c["self_end_at"],
                        det.complainant_u, out)
        if r <= 0:
            return r
        k, n_watch = divmod(r, room + 1)
        self.new_used += k
        log.n = first_id + k
        det._add_watched(out, n_watch)
        return k

    def step(self, day: int) -> None:
        """Draw today's onsets and register the new violations.

        The onset probability is evaluated for all of today's candidates, those already
        violating included (it has no side effects and uses no random numbers), so the
        candidates' keyed draws and probability terms are slices of the block's. With numba,
        :func:`accept_onsets` evaluates them in one loop (the same numbers).
        """
        m = self.model
        cal = self.calendar
        lo, hi = cal.span(day)
        if self.block_horizon != cal.horizon:  # a new block: its candidates' draws
            self.block_draws = self.keyed_draws(cal.day_pairs, cal.days)
            self.block_accept = self.block_draws["accept_at"].copy()
            self.block_terms = None  # computed when the numpy path first needs them
            if self._kernel is not None:
                self._new_block_buffers()
            self.block_horizon = cal.horizon
        if lo == hi:
            return
        if self._fused:
            if self._step_fused(day, lo, hi) >= 0:
                return
            # else a perceived risk in a tail of w(p): the numpy path
        elif self._kernel is not None:
            ent = m.enterprises
            start = self.new_used
            k = self._kernel(lo, hi, start, cal.day_pairs, self.block_accept, self.block_words,
                             self.pair_int, self.pair_float, ent.gain, ent.p_hat, ent.advised,
                             ent.violation, ent.trust, m.violating_in_grid, m.pairs_in_grid,
                             self.constants, self.table, self.new_pairs, self.new_words)
            if k > 0:
                stop = self.new_used = start + k
                m.open_violations(self.new_pairs[start:stop], day, self.new_draws[start:stop])
            if k >= 0:
                return
            # else a perceived risk in a tail of w(p): the numpy path
        terms = self.block_terms
        if terms is None:
            terms = self.block_terms = self.pair_terms(cal.day_pairs)
        cand = cal.day_pairs[lo:hi]
        new = self.block_accept[lo:hi] < self._probability(cand, terms.slice(lo, hi))
        new &= m.enterprises.violation[cand] < 0
        if np.count_nonzero(new):
            draws = self.block_draws[lo:hi]
            m.open_violations(cand[new], day, draws[new])
