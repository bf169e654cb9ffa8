"""Step 8, learning and beliefs: perceived risk, burden, satisfaction, officer forgetting.

Perceived detection probability per exposure pair (domain.md M2, continuous-time form):

    dp/dt = -lambda (p - p0)                                 relaxation to the prior
    p <- p + a (1 - p)        on an own inspection or sanction (specific deterrence; Kleven 2011)
    p <- p + b f_g (1 - p)    f_g: share of firms in the grid inspected or sanctioned today
                              (general deterrence; Shimshack & Ward 2008)

Burden (M6): ``visits_12m`` decays with a one-year time constant; enterprise satisfaction relaxes
towards its initial value at the same rate. Officers' experience depreciates by
``forgetting_per_month`` every 30 days (M12; Kim 2009, Thompson 2007); the month's training and
exchange experience is credited then (:mod:`reformsim.mechanisms.training`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from reformsim.model import ReformModel


class Beliefs:
    """Daily belief and state updates over columns."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.touched: list[np.ndarray] = []
        n_grids = model.territory.n_grids
        self.firms_per_grid = np.bincount(model.enterprises.grid, minlength=n_grids).astype(float)
        self.pair_grid = model.pair_grid

    def touch(self, enterprises: np.ndarray) -> None:
        """Note firms inspected or sanctioned today (for general deterrence)."""
        self.touched.append(np.asarray(enterprises, dtype=np.int64))

    def step(self, day: int) -> None:
        """Apply today's belief updates, decays and monthly forgetting."""
        m = self.model
        cs = m.config.compliance
        ent = m.enterprises
        lam = cs.risk_decay_per_year / 365.0
        ent.p_hat *= 1.0 - lam
        ent.p_hat += lam * cs.initial_perceived_risk
        self.touch(np.array(m.sanctions.sanctioned_today, dtype=np.int64))
        m.sanctions.sanctioned_today = []
        firms = np.unique(np.concatenate(self.touched))
        if firms.size and cs.risk_neighbour_weight > 0:
            hit = np.bincount(ent.grid[firms], minlength=len(self.firms_per_grid))
            share = np.divide(hit, self.firms_per_grid, out=np.zeros_like(self.firms_per_grid),
                              where=self.firms_per_grid > 0)
            pair_share = share[self.pair_grid]
            touched = pair_share > 0
            p = ent.p_hat[touched]
            ent.p_hat[touched] = p + cs.risk_neighbour_weight * pair_share[touched] * (1.0 - p)
        self.touched = []
        decay = np.exp(-1.0 / 365.0)
        ent.visits_12m *= decay
        s0 = m.config.satisfaction.enterprise_initial
        ent.satisfaction *= decay
        ent.satisfaction += s0 * (1.0 - decay)
        if day > 0 and day % 30 == 0:
            phi = m.config.casework.forgetting_per_month
            for o in m.case_officers:
                o.forget(phi)
            m.training.monthly()
