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

from reformsim import jit
from reformsim.belief_kernels import beliefs_day, touch_firms
from reformsim.runs import distinct

if TYPE_CHECKING:
    from reformsim.model import ReformModel

#: daily factor of the one-year time constant of ``visits_12m`` and satisfaction
DAY_DECAY = np.exp(-1.0 / 365.0)


class Beliefs:
    """Daily belief and state updates over columns."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self._touched: list[np.ndarray] = []
        n_grids = model.territory.n_grids
        self.firms_per_grid = np.bincount(model.enterprises.grid, minlength=n_grids).astype(float)
        self.pair_grid = model.pair_grid
        #: today's share of firms touched per grid; stays 0 in grids without firms
        self._share = np.zeros(n_grids)
        #: firms per grid, 1 in grids without firms (whose touched count is 0: share 0 / 1 = 0)
        self._share_denominator = np.where(self.firms_per_grid > 0, self.firms_per_grid, 1.0)
        #: pairs per grid, and where each grid's pairs begin when they are sorted by grid
        self._grid_pairs = np.bincount(self.pair_grid, minlength=n_grids)
        self._grid_start = np.cumsum(self._grid_pairs) - self._grid_pairs
        self._sorted_by_grid = bool(np.all(self.pair_grid[1:] >= self.pair_grid[:-1]))
        #: work array over the pairs, reused every day instead of a fresh array a day
        self._room = np.empty(self.pair_grid.size)
        #: the compiled day (:func:`~reformsim.belief_kernels.beliefs_day`), or None
        self._kernel = beliefs_day.compiled() if jit.enabled() else None
        self._touch = touch_firms.compiled() if self._kernel is not None else None
        #: kernel path, instead of :attr:`touched`: today's distinct touched firms, their number
        #: first (``touched_ids[1:1 + touched_ids[0]]``), and a mask of them
        n_firms = model.enterprises.n
        self.touched_ids = np.zeros(1 + n_firms, dtype=np.int64)
        self.touched_mask = np.zeros(n_firms, dtype=bool)
        self._grid_bounds = np.concatenate([[0], np.cumsum(self._grid_pairs)]).astype(np.int64)
        self._pair_order = (np.empty(0, dtype=np.int64) if self._sorted_by_grid
                            else np.argsort(self.pair_grid, kind="stable").astype(np.int64))
        self._hit = np.zeros(n_grids, dtype=np.int64)
        self._consts: np.ndarray | None = None  # read from the scenario on the first day

    @property
    def touched(self) -> list[np.ndarray]:
        """Arrays of the firms inspected or sanctioned so far today (repeats possible).

        On the kernel path one array: the distinct firms in the order first touched.
        """
        if self._touch is None:
            return self._touched
        return [self.touched_ids[1:1 + self.touched_ids[0]].copy()]

    def touch(self, enterprises: np.ndarray) -> None:
        """Note firms inspected or sanctioned today (for general deterrence)."""
        if self._touch is not None:
            self._touch(self.touched_ids, self.touched_mask,
                        np.asarray(enterprises, dtype=np.int64))
            return
        self._touched.append(np.asarray(enterprises, dtype=np.int64))

    def step(self, day: int) -> None:
        """Apply today's belief updates, decays and monthly forgetting."""
        m = self.model
        if self._kernel is not None:
            self._step_compiled()
            self._monthly(day)
            return
        cs = m.config.compliance
        ent = m.enterprises
        lam = cs.risk_decay_per_year / 365.0
        ent.p_hat *= 1.0 - lam
        ent.p_hat += lam * cs.initial_perceived_risk
        if m.sanctions.sanctioned_today:
            self.touch(np.array(m.sanctions.sanctioned_today, dtype=np.int64))
            m.sanctions.sanctioned_today = []
        if self._touched:  # none on days without visits or sanctions
            firms = distinct(np.concatenate(self._touched))
            self._touched = []
            if firms.size and cs.risk_neighbour_weight > 0:
                self._neighbour_deterrence(firms, cs.risk_neighbour_weight)
        ent.visits_12m *= DAY_DECAY
        s0 = m.config.satisfaction.enterprise_initial
        ent.satisfaction *= DAY_DECAY
        ent.satisfaction += s0 * (1.0 - DAY_DECAY)
        self._monthly(day)

    def _step_compiled(self) -> None:
        """Make the daily updates of :meth:`step` in one kernel call (the same operations)."""
        m = self.model
        sanctioned = m.sanctions.sanctioned_today
        if sanctioned:
            self._touch(self.touched_ids, self.touched_mask, np.array(sanctioned, dtype=np.int64))
            m.sanctions.sanctioned_today = []
        consts = self._consts
        if consts is None:
            cs = m.config.compliance
            lam = cs.risk_decay_per_year / 365.0
            s0 = m.config.satisfaction.enterprise_initial
            consts = self._consts = np.array([
                1.0 - lam, lam * cs.initial_perceived_risk, cs.risk_neighbour_weight,
                DAY_DECAY, s0 * (1.0 - DAY_DECAY)])
        ent = m.enterprises
        self._kernel(ent.p_hat, self._grid_bounds, self._pair_order, ent.grid,
                     self.touched_ids, self.touched_mask, self._share_denominator, self._hit,
                     ent.visits_12m, ent.satisfaction, consts)

    def _monthly(self, day: int) -> None:
        """Every 30 days: officers forget (M12) and the month's training is credited."""
        m = self.model
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
        hit = np.bincount(self.model.enterprises.grid[firms], minlength=self._share.size)
        np.divide(hit, self._share_denominator, out=self._share)
        bf = weight * self._share
        if not self._sorted_by_grid:
            self._raise_risk(self.model.enterprises.p_hat, bf[self.pair_grid])
            return
        # pairs sorted by grid: update the span from the first to the last touched grid, its
        # ``b f_g`` repeated over each grid's pairs (cheaper than gathering it pair by pair)
        touched = hit.nonzero()[0]
        g0, g1 = int(touched[0]), int(touched[-1]) + 1
        lo = int(self._grid_start[g0])
        hi = int(self._grid_start[g1 - 1] + self._grid_pairs[g1 - 1])
        step = np.repeat(bf[g0:g1], self._grid_pairs[g0:g1])
        self._raise_risk(self.model.enterprises.p_hat[lo:hi], step)

    def _raise_risk(self, p: np.ndarray, step: np.ndarray) -> None:
        """``p <- p + step (1 - p)`` in place; ``step`` is overwritten."""
        room = np.subtract(1.0, p, out=self._room[: p.size])
        step *= room
        p += step
