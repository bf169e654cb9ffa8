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
    from reformsim.agents import Officer
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
        #: firms per grid, 1 in grids without firms (whose touched count is 0: share 0 / 1 = 0)
        self._share_denominator = np.where(self.firms_per_grid > 0, self.firms_per_grid, 1.0)
        #: pairs per grid, and where each grid's pairs begin when they are sorted by grid
        self._grid_pairs = np.bincount(self.pair_grid, minlength=n_grids)
        self._grid_start = np.cumsum(self._grid_pairs) - self._grid_pairs
        self._sorted_by_grid = bool(np.all(self.pair_grid[1:] >= self.pair_grid[:-1]))
        #: officers whose experience and skill0 are bound to rows of the two matrices (forget)
        self._rows: tuple[list[Officer], np.ndarray, np.ndarray] = ([], np.zeros((0, 0)),
                                                                     np.zeros((0, 0)))
        self._row_views: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        #: work array over the pairs, reused every day instead of a fresh array a day
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
            self.forget(phi)
            m.training.monthly()

    def forget(self, phi: float) -> None:
        """:meth:`Officer.forget` for every officer at once (M12; Kim 2009).

        ``n_d <- (1 - phi) n_d`` and ``skill_d = 1 - (1 - skill0_d) (1 + n_d)^(-b)`` on the
        officers' stacked rows: the same element-wise operations as officer by officer, in a
        handful of numpy calls plus one row copy per unit (an officer's ``skills`` is row
        ``position`` of the unit's ``skill_matrix``, :meth:`WorkUnit.bind_skills`).
        """
        staffed = [u for u in self.model.units if u.officers]
        if not staffed:
            return
        if any(u.skill_matrix.shape[0] != len(u.officers) for u in staffed):  # rows not bound
            for u in staffed:
                for o in u.officers:
                    o.forget(phi)
            return
        experience, skill0 = self._officer_rows([o for u in staffed for o in u.officers])
        experience *= 1.0 - phi
        b = self.model.learning_exponent
        skills = 1.0 - (1.0 - skill0) * (1.0 + experience) ** (-b)
        start = 0
        for u in staffed:
            stop = start + len(u.officers)
            u.skill_matrix[:] = skills[start:stop]
            u.skills_changed()
            start = stop

    def _officer_rows(self, officers: list[Officer]) -> tuple[np.ndarray, np.ndarray]:
        """The officers' ``experience`` and ``skill0`` as rows of two matrices, in list order.

        Like :meth:`WorkUnit.bind_skills`: the officers' vectors become views of the rows, so the
        next month finds them bound and stacks nothing. If the officers changed, or a vector was
        rebound elsewhere, they are stacked and bound again.
        """
        bound, experience, skill0 = self._rows
        views = zip(officers, *self._row_views, strict=True)
        if (officers != bound or not all(o.experience is e and o.skill0 is s for o, e, s in views)
                or (officers and self._row_views[0][0].base is not experience)):  # e.g. a copy
            experience = np.vstack([o.experience for o in officers])
            skill0 = np.vstack([o.skill0 for o in officers])
            self._row_views = list(experience), list(skill0)
            for o, e, s in zip(officers, *self._row_views, strict=True):
                o.experience, o.skill0 = e, s
            self._rows = officers, experience, skill0
        return experience, skill0

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
