"""Step 1, compliance: enterprises start violations (domain.md M1, M2, M5, M7).

Per exposure pair (enterprise i, domain d) not already violating, the daily onset probability is

    P = min(r_max / 365 * w_d * sigmoid(U / tau), 1)   (rates are expected onsets per year),
    U = g_id - w(p_hat_id) * S + s * v_g - w_T (T_i - T_0)    (s > 0 for imitators only)

where ``w(p) = p^γ / (p^γ + (1-p)^γ)^(1/γ)`` is Tversky-Kahneman probability weighting, ``S``
the expected sanction (plus the colour-downgrade cost when three-colour management is on:
Harrington 1988 leverage), ``v_g`` the share of violating pairs in the firm's grid (social
influence, M7), ``T_i`` the firm's trust in the enforcers with weight ``w_T`` (voluntary
compliance, M6; :mod:`reformsim.mechanisms.trust`) and ``w_d`` the domain's violation weight. Honest firms never violate; the
"incompetent" type violates by ignorance at a fixed rate, lowered after advice (Ayres &
Braithwaite 1992). A new violation picks its matter by the catalogue's Zipf weights and draws,
from constant competing hazards, when it would be detected and by which channel (complaint,
patrol, platform; M13) and when it would end by itself.

References
----------
Becker (1968); Allingham & Sandmo (1972); Hokamp & Pickhardt (2010) for agent types;
Harrington (1988); Zaklan, Westerhoff & Stauffer (2009) for neighbour influence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reformsim.population import IMITATOR, INCOMPETENT, RATIONAL
from reformsim.streams import SLOT_ACCEPT_ONSET, SLOTS_PER_DAY

if TYPE_CHECKING:
    from reformsim.model import ReformModel

CHANNEL_COMPLAINT, CHANNEL_PATROL, CHANNEL_PLATFORM = 0, 1, 2


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
        self.step = (1.0 - 2.0 * edge) / (points - 1)
        self.w = probability_weight(np.linspace(edge, 1.0 - edge, points), gamma)
        self.dw = np.append(np.diff(self.w), 0.0)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """Weighted probabilities for ``p`` in [0, 1]."""
        if self.gamma == 1.0:
            return p
        x = np.clip((p - self.edge) / self.step, 0.0, len(self.w) - 1.0)
        i = x.astype(np.int64)
        out = self.w[i] + (x - i) * self.dw[i]
        tail = (p < self.edge) | (p > 1.0 - self.edge)
        if tail.any():
            out[tail] = probability_weight(p[tail], self.gamma)
        return out


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
        self.pairs = np.flatnonzero(bound > 0)
        self.p = bound[self.pairs]
        #: each active pair's next candidate day (day 0 counts as the first trial)
        self.next_day = rng.geometric(self.p) - 1 if self.pairs.size else np.zeros(0, np.int64)
        self.horizon = 0
        self.day_pairs: np.ndarray = np.zeros(0, dtype=np.int64)
        self.day_start: np.ndarray = np.zeros(1, dtype=np.int64)

    def on(self, day: int) -> np.ndarray:
        """Candidate pairs of ``day`` (sorted); days are asked in increasing order."""
        while day >= self.horizon:
            self._schedule_block()
        k = day - (self.horizon - self.block_days)
        return self.day_pairs[self.day_start[k]:self.day_start[k + 1]]

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
        order = np.lexsort((pair, day))
        self.day_pairs = pair[order]
        self.day_start = np.searchsorted(day[order], np.arange(lo, hi + 1))
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
        self.weight = WeightTable(cs.probability_weighting_gamma)
        deciding = (self.pair_type == RATIONAL) | (self.pair_type == IMITATOR)
        base = np.where(deciding, cs.max_onset_rate_per_year,
                        np.where(self.pair_type == INCOMPETENT, cs.incompetent_rate_per_year, 0.0))
        self.bound = np.minimum(base * self.domain_weight / 365.0, 1.0)
        self.calendar = CandidateCalendar(self.bound, model.streams["violations"])

    def onset_probability(self, pairs: np.ndarray | None = None) -> np.ndarray:
        """Daily probability that each pair (all pairs by default) starts a violation.

        Pairs already violating get 0.
        """
        m = self.model
        cs = m.config.compliance
        ent = m.enterprises
        idx = np.arange(ent.n_pairs) if pairs is None else pairs
        kind = self.pair_type[idx]
        sanction = cs.sanction_size + (cs.colour_leverage if m.config.levers.three_colour else 0.0)
        utility = ent.gain[idx] - self.weight(ent.p_hat[idx]) * sanction
        utility += m.trust.utility_shift(ent.pair_ent[idx])  # voluntary compliance (M6)
        imitating = kind == IMITATOR
        if cs.imitation_strength > 0 and imitating.any():
            share = m.grid_violation_share()[self.pair_grid[idx]]
            utility += imitating * cs.imitation_strength * share
        rate = np.where(
            (kind == RATIONAL) | imitating,
            cs.max_onset_rate_per_year / (1.0 + np.exp(-utility / cs.choice_noise)),
            np.where(kind == INCOMPETENT, cs.incompetent_rate_per_year
                     * np.where(ent.advised[idx], cs.advised_incompetent_factor, 1.0), 0.0),
        )
        p = np.minimum(rate * self.domain_weight[idx] / 365.0, 1.0)
        p[ent.violation[idx] >= 0] = 0.0
        return p

    def step(self, day: int) -> None:
        """Draw today's onsets and register the new violations."""
        m = self.model
        cand = self.calendar.on(day)
        cand = cand[m.enterprises.violation[cand] < 0]
        if cand.size == 0:
            return
        u = m.streams.keyed_uniform("keyed_violations", cand, day * SLOTS_PER_DAY + SLOT_ACCEPT_ONSET)
        new_pairs = cand[u * self.bound[cand] < self.onset_probability(cand)]
        if new_pairs.size:
            m.open_violations(new_pairs, day)
