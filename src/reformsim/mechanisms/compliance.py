"""Step 1, compliance: enterprises start violations (domain.md M1, M2, M5, M7).

Per exposure pair (enterprise i, domain d) not already violating, the daily onset probability is

    P = r_max / 365 * w_d * sigmoid(U / tau)      (rates are expected onsets per year),
    U = g_id - w(p_hat_id) * S + s * v_g        (imitators only: s > 0)

where ``w(p) = p^γ / (p^γ + (1-p)^γ)^(1/γ)`` is Tversky-Kahneman probability weighting, ``S``
the expected sanction (plus the colour-downgrade cost when three-colour management is on:
Harrington 1988 leverage), ``v_g`` the share of violating pairs in the firm's grid (social
influence, M7) and ``w_d`` the domain's violation weight. Honest firms never violate; the
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


class Compliance:
    """Daily violation onsets over all exposure pairs, vectorised."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        sc = model.config
        ent = model.enterprises
        weights = np.array([d.violation_weight for d in sc.domains])
        self.domain_weight = weights[ent.pair_dom]
        pair_type = ent.risk_type[ent.pair_ent]
        self.deciders = np.flatnonzero((pair_type == RATIONAL) | (pair_type == IMITATOR))
        self.imitating = pair_type[self.deciders] == IMITATOR
        self.incompetent = np.flatnonzero(pair_type == INCOMPETENT)
        self.decider_grid = ent.grid[ent.pair_ent[self.deciders]]
        self.weight = WeightTable(sc.compliance.probability_weighting_gamma)

    def onset_probability(self) -> np.ndarray:
        """Daily probability that each pair starts a violation (0 for pairs already violating)."""
        m = self.model
        cs = m.config.compliance
        ent = m.enterprises
        sanction = cs.sanction_size + (cs.colour_leverage if m.config.levers.three_colour else 0.0)
        idx = self.deciders
        weighted = self.weight(ent.p_hat[idx])
        utility = ent.gain[idx] - weighted * sanction
        if cs.imitation_strength > 0:
            share = m.grid_violation_share()[self.decider_grid]
            utility += self.imitating * cs.imitation_strength * share
        rate = np.zeros(ent.n_pairs)
        rate[idx] = cs.max_onset_rate_per_year / (1.0 + np.exp(-utility / cs.choice_noise))
        inc = self.incompetent
        rate[inc] = cs.incompetent_rate_per_year * np.where(
            ent.advised[inc], cs.advised_incompetent_factor, 1.0)
        rate *= self.domain_weight
        rate[ent.violation >= 0] = 0.0
        return rate / 365.0

    def step(self, day: int) -> None:
        """Draw today's onsets and register the new violations."""
        m = self.model
        rng = m.streams["violations"]
        # one uniform per pair every day, whatever the state: keeps the stream aligned across
        # scenarios (common random numbers)
        u = rng.random(m.enterprises.n_pairs)
        new_pairs = np.flatnonzero(u < self.onset_probability())
        if new_pairs.size:
            m.open_violations(new_pairs, day)
