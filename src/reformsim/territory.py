"""Territory: grids (网格) on a plane, areas (片区) and travel times.

Grids sit on a jittered lattice covering ``width_km × height_km``. Each grid has a size weight
(lognormal) that sets how many residents and enterprises live there. Areas are contiguous
angular sectors around the street centre with equal weight under the area-allocation rule
(equal grid counts, equal residents, or equal expected case load), as N Street split its four
areas "by resident population and case frequency" (seed case). A territory CSV
(``reformsim.district_csv``) gives grid coordinates and areas directly instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reformsim.catalog import generated_ids
from reformsim.scenario import TerritorySpec


@dataclass(frozen=True)
class Territory:
    """Grid coordinates, sizes, area membership and base locations.

    Attributes
    ----------
    xy : ndarray, shape (n_grids, 2)
        Grid centres in km.
    weight : ndarray, shape (n_grids,)
        Relative size of each grid (mean 1 when generated); squad bases are weighted by it.
    area_of_grid : ndarray of int, shape (n_grids,)
        Area index of each grid.
    area_xy : ndarray, shape (n_areas, 2)
        Squad base of each area (the population-weighted centroid).
    district_xy : ndarray, shape (2,)
        Location of the district departments' offices.
    ids, names : tuple of str
        Grid id (``G001``... when generated) and Chinese name ("" when generated).
    """

    spec: TerritorySpec
    xy: np.ndarray
    weight: np.ndarray
    area_of_grid: np.ndarray
    area_xy: np.ndarray
    district_xy: np.ndarray
    ids: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def n_grids(self) -> int:
        """Number of grids."""
        return int(self.xy.shape[0])

    @property
    def n_areas(self) -> int:
        """Number of areas."""
        return int(self.area_xy.shape[0])

    def travel_hours(self, base_xy: np.ndarray, grids: np.ndarray | int) -> np.ndarray:
        """Round-trip travel time in hours from a base to grid(s), plus fixed overhead.

        Returns zeros when ``include_travel`` is off (used by the queueing verification).
        """
        grids = np.asarray(grids)
        if not self.spec.include_travel:
            return np.zeros(grids.shape)
        dist = np.hypot(*(self.xy[grids] - base_xy).T)
        return self.spec.travel_overhead_hours + 2.0 * dist / self.spec.travel_speed_kmh

    def travel_table(self, bases_xy: np.ndarray) -> np.ndarray:
        """:meth:`travel_hours` from each of several bases (rows) to every grid (columns).

        The same operations as one :meth:`travel_hours` call per base, broadcast.
        """
        bases_xy = np.asarray(bases_xy, dtype=float).reshape(-1, 2)
        if not self.spec.include_travel:
            return np.zeros((bases_xy.shape[0], self.n_grids))
        dx = self.xy[:, 0] - bases_xy[:, 0:1]
        dy = self.xy[:, 1] - bases_xy[:, 1:2]
        dist = np.hypot(dx, dy)
        return self.spec.travel_overhead_hours + 2.0 * dist / self.spec.travel_speed_kmh


def build_grids(spec: TerritorySpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Place grids on a jittered lattice and draw their size weights."""
    n = spec.n_grids
    ncols = max(1, int(np.ceil(np.sqrt(n * spec.width_km / spec.height_km))))
    nrows = int(np.ceil(n / ncols))
    cw, ch = spec.width_km / ncols, spec.height_km / nrows
    idx = np.arange(n)
    x = (idx % ncols + 0.5 + rng.uniform(-0.3, 0.3, n)) * cw
    y = (idx // ncols + 0.5 + rng.uniform(-0.3, 0.3, n)) * ch
    weight = rng.lognormal(0.0, spec.grid_size_sigma, n)
    return np.column_stack([x, y]), weight / weight.mean()


def allocate_areas(xy: np.ndarray, weight: np.ndarray, n_areas: int) -> np.ndarray:
    """Cut grids into ``n_areas`` contiguous angular sectors of (nearly) equal total weight.

    Every area receives at least one grid.
    """
    centre = xy.mean(axis=0)
    angle = np.arctan2(xy[:, 1] - centre[1], xy[:, 0] - centre[0])
    order = np.argsort(angle, kind="stable")
    cum = np.cumsum(weight[order]) / weight.sum()
    area_sorted = np.minimum((cum * n_areas - 1e-12).astype(int), n_areas - 1)
    # guarantee non-empty areas: rank-based fallback when weights are very uneven
    if len(np.unique(area_sorted)) < n_areas:
        area_sorted = np.arange(len(order)) * n_areas // len(order)
    area = np.empty(len(order), dtype=np.int64)
    area[order] = area_sorted
    return area


def build_territory(
    spec: TerritorySpec, xy: np.ndarray, weight: np.ndarray, area_weight: np.ndarray
) -> Territory:
    """Assemble the territory once grid populations are known.

    Parameters
    ----------
    area_weight
        Per-grid weight used to cut areas (grid count, residents or expected cases).
    """
    return assemble_territory(spec, xy, weight, allocate_areas(xy, area_weight, spec.n_areas))


def assemble_territory(spec: TerritorySpec, xy: np.ndarray, weight: np.ndarray, area: np.ndarray,
                       ids: tuple[str, ...] = (), names: tuple[str, ...] = ()) -> Territory:
    """Territory from grids with known areas (0-based, every area non-empty).

    Each squad's base is the ``weight``-weighted centroid of its area's grids; the district
    offices sit ``district_office_km`` east of the ``width_km × height_km`` street, at mid-height.
    """
    area_xy = np.array(
        [np.average(xy[area == a], axis=0, weights=weight[area == a]) for a in range(spec.n_areas)]
    )
    centre = np.array([spec.width_km / 2.0, spec.height_km / 2.0])
    district = centre + np.array([spec.width_km / 2.0 + spec.district_office_km, 0.0])
    n = xy.shape[0]
    ids = ids or generated_ids("G", 3, n)
    return Territory(spec, xy, weight, area, area_xy, district, ids, names or ("",) * n)
