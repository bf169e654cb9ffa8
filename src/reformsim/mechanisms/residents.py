"""Step 2, residents: online-service demand and grid workers' assisted services (M16, M13).

Residents need one of the 32 high-frequency online services at a constant yearly rate; requests
are made on working days (weekend needs wait for Monday, so the yearly total is unchanged). A
request succeeds by self-service with the resident's digital literacy (CNNIC 2020: skills and age
are the main barriers); otherwise the resident asks the grid worker, who spends ``assist_hours``
per request, up to ``grid_assist_share_max`` of the day (帮办代办). Unserved requests lower
satisfaction. What is left of grid workers' hours is patrol, which drives patrol detection
(step 3): more assistance means less patrol (domain.md M13). Work is O(requests), not
O(residents).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reformsim import jit
from reformsim.observe_kernels import serve_requests

if TYPE_CHECKING:
    from reformsim.model import ReformModel


class ResidentServices:
    """Daily service requests, assistance and the resulting patrol hours per grid."""

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.assisted_total = 0
        self.unserved_total = 0
        self.assisted_today = 0
        #: requests in the window whose self-service failed (demand for a grid worker's help)
        self.requests_total = 0
        #: grid-worker patrol hours summed over working days in the window, and those days
        self.patrol_hours_total = 0.0
        self.working_days = 0
        self.requests_today = 0
        sv = model.config.services
        #: requests each grid's workers can assist per working day (hours are fixed at set-up)
        self.capacity = np.floor(model.grid_worker_hours * model.config.levers.grid_assist_share_max
                                 / max(sv.assist_hours, 1e-9))
        self._kernel = serve_requests.compiled() if jit.enabled() else None

    def step(self, day: int) -> None:
        """Serve today's requests; set ``model.patrol_hours`` for the grids."""
        m = self.model
        sv = m.config.services
        n_grids = m.territory.n_grids
        if not m.calendar.is_working(day):
            m.patrol_hours = np.zeros(n_grids)
            self.assisted_today = 0
            self.requests_today = 0
            return
        hours = m.grid_worker_hours
        rng = m.streams["services"]
        n_res = m.residents.n
        per_working_day = sv.demand_per_resident_per_year / (365.0 * m.calendar.week / 7.0)
        k = int(rng.poisson(n_res * per_working_day)) if n_res else 0
        who = rng.integers(0, n_res, k) if k else np.zeros(0, dtype=np.int64)
        if self._kernel is not None:
            self._serve_compiled(day, who, rng.random(k))
            return
        failed = rng.random(k) >= m.residents.literacy[who]  # self-service fails (not u < literacy)
        need = who[failed]
        grids = m.residents.grid[need]
        capacity = self.capacity
        asking = np.bincount(grids, minlength=n_grids)
        if (asking <= capacity).all():
            # every request is served: ``ok`` holds the same residents as the concatenation below
            # (the order within ``ok`` does not matter: a repeated resident gets the same value)
            n_served, ok, bad = asking, who, need[:0]
        else:
            served = _served_in_arrival_order(grids, capacity)
            n_served = np.bincount(grids[served], minlength=n_grids)
            ok = np.concatenate([who[~failed], need[served]])
            bad = need[~served]
        m.patrol_hours = np.maximum(hours - n_served * sv.assist_hours, 0.0)
        w = 0.1 * m.config.satisfaction.learning_weight
        sat = m.residents.changing_satisfaction(who)
        s = sat[ok]  # one gather: ``sat[ok] += w * (1.0 - sat[ok])`` reads sat[ok] twice
        sat[ok] = s + w * (1.0 - s)
        if bad.size:
            s = sat[bad]
            sat[bad] = s + w * (0.0 - s)
        self._count(day, int(need.size), int(bad.size))

    def _serve_compiled(self, day: int, who: np.ndarray, u: np.ndarray) -> None:
        """Serve the drawn requests in one kernel call (:func:`.observe_kernels.serve_requests`)."""
        m = self.model
        res = m.residents
        patrol = np.empty(m.territory.n_grids)
        n_failed, n_unserved = self._kernel(
            who, u, res.literacy, res.grid, self.capacity, m.grid_worker_hours,
            m.config.services.assist_hours, 0.1 * m.config.satisfaction.learning_weight,
            res.changing_satisfaction(who), patrol)
        m.patrol_hours = patrol
        self._count(day, n_failed, n_unserved)

    def _count(self, day: int, n_failed: int, n_unserved: int) -> None:
        """Count today's and the window's requests for help (``n_unserved`` of them unserved)."""
        m = self.model
        self.assisted_today = n_failed - n_unserved
        self.requests_today = n_failed
        if m.in_window(day):
            self.assisted_total += self.assisted_today
            self.unserved_total += n_unserved
            self.requests_total += self.requests_today
            self.patrol_hours_total += float(np.add.reduce(m.patrol_hours))  # = .sum(), cheaper
            self.working_days += 1


def _served_in_arrival_order(grids: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Which requests (in arrival order, one grid each) fall within their grid's capacity."""
    order = np.argsort(grids, kind="stable")
    g_sorted = grids[order]
    first = np.searchsorted(g_sorted, g_sorted, side="left")
    rank_in_grid = np.arange(g_sorted.size) - first
    served = np.empty(g_sorted.size, dtype=bool)
    served[order] = rank_in_grid < capacity[g_sorted]
    return served
