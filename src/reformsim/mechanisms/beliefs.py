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

from reformsim.runs import distinct

if TYPE_CHECKING:
    from reformsim.model import ReformModel

#: daily factor of the one-year time constant of ``visits_12m`` and satisfaction
DAY_DECAY = np.exp(-1.0 / 365.0)


class Beliefs:
    """Daily belief and state updates over columns."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.touched: list[np.ndarray] = []
        n_grids = model.territory.n_grids
        self.firms_per_grid = np.bincount(model.enterprises.grid, minlength=n_grids).astype(float)
        self.pair_grid = model.pair_grid
        #: today's share of firms touched per grid; stays 0 in grids without firms
        self._share = np.zeros(n_grids)
        self._has_firms = self.firms_per_grid > 0
        #: work arrays over the pairs, reused every day instead of two fresh arrays a day
        self._step = np.empty(self.pair_grid.size)
        self._room = np.empty(self.pair_grid.size)

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
        if m.sanctions.sanctioned_today:
            self.touch(np.array(m.sanctions.sanctioned_today, dtype=np.int64))
            m.sanctions.sanctioned_today = []
        if self.touched:  # none on days without visits or sanctions
            firms = distinct(np.concatenate(self.touched))
            self.touched = []
            if firms.size and cs.risk_neighbour_weight > 0:
                self._neighbour_deterrence(firms, cs.risk_neighbour_weight)
        ent.visits_12m *= DAY_DECAY
        s0 = m.config.satisfaction.enterprise_initial
        ent.satisfaction *= DAY_DECAY
        ent.satisfaction += s0 * (1.0 - DAY_DECAY)
        if day > 0 and day % 30 == 0:
            phi = m.config.casework.forgetting_per_month
            for unit in m.units:  # every case officer, one unit at a time
                unit.forget(phi)
            m.training.monthly()

    def _neighbour_deterrence(self, firms: np.ndarray, weight: float) -> None:
        """``p <- p + b f_g (1 - p)`` for every pair, ``f_g`` the share of ``firms`` in its grid.

        Pairs in grids with ``f_g = 0`` get ``p + 0.0 = p``, so updating every pair equals
        updating only the touched ones; ``b f_g`` is the same product per grid as per pair.
        """
        p_hat = self.model.enterprises.p_hat
        hit = np.bincount(self.model.enterprises.grid[firms], minlength=self._share.size)
        np.divide(hit, self.firms_per_grid, out=self._share, where=self._has_firms)
        step, room = self._step, self._room
        # mode="clip" writes straight into ``out`` (every grid index is valid, so nothing clips)
        np.take(weight * self._share, self.pair_grid, out=step, mode="clip")
        np.subtract(1.0, p_hat, out=room)
        step *= room
        p_hat += step

