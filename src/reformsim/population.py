"""Column storage for enterprises and residents (DESIGN.md §2.2).

Enterprises (thousands to 100k) and residents (up to millions) keep their state in numpy arrays;
every per-day rule over them is vectorised. Compliance is decided per *exposure pair*
(enterprise, domain): a firm in a sector is exposed to that sector's domains.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from reformsim import jit
from reformsim.column_views import ColumnViews
from reformsim.jit import kernel
from reformsim.pairwise import pairwise_total, pairwise_tree
from reformsim.scenario import COLOURS, RISK_TYPES, Scenario

GREEN, YELLOW, BLACK = 0, 1, 2
HONEST, RATIONAL, IMITATOR, INCOMPETENT = 0, 1, 2, 3

#: Colour transitions allowed by the three-colour rules (domain.md M5): (from, to).
ALLOWED_COLOUR_EDGES = frozenset({(GREEN, YELLOW), (GREEN, BLACK), (YELLOW, GREEN),
                                  (YELLOW, BLACK), (BLACK, YELLOW)})


@dataclass
class Enterprises(ColumnViews):
    """Per-enterprise and per-exposure-pair columns.

    Attributes
    ----------
    grid, sector, risk_type, colour, clean_checks, escalation : ndarray of int
        One entry per enterprise.
    satisfaction, trust, visits_12m, last_visit_day, last_visit_body : ndarray
        Satisfaction, trust in the enforcers and burden state (M6).
    pair_ent, pair_dom : ndarray of int
        The exposure pairs; ``pairs_of_ent`` slices are contiguous (pairs sorted by enterprise).
    gain, p_hat : ndarray of float
        Gain from violating and perceived detection probability per pair (M1, M2).
    violation : ndarray of int
        Open violation id per pair, or -1.
    offences : ndarray of int
        Number of sanctioned offences per pair (first-violation leniency, M4).
    advised : ndarray of bool
        Pair has received advice (lowers the incompetent type's violation rate).
    planned_this_year : ndarray of int
        Visits planned to the enterprise since the start of the current year (days
        ``[365k, 365(k+1))``); the yearly inspection cap (检查频次上限) reads it.
    """

    grid: np.ndarray
    sector: np.ndarray
    risk_type: np.ndarray
    colour: np.ndarray
    clean_checks: np.ndarray
    escalation: np.ndarray
    satisfaction: np.ndarray
    trust: np.ndarray
    visits_12m: np.ndarray
    last_visit_day: np.ndarray
    last_visit_body: np.ndarray
    pair_ent: np.ndarray
    pair_dom: np.ndarray
    pair_start: np.ndarray
    gain: np.ndarray
    p_hat: np.ndarray
    violation: np.ndarray
    offences: np.ndarray
    advised: np.ndarray
    planned_this_year: np.ndarray
    colour_changes: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        #: memoryviews of the numpy columns by name: Python scalars in and out, cheaper than
        #: ``item`` and numpy's scalar assignment (the casework path reads and writes a few
        #: entries per visit or case). The columns are changed in place, never replaced.
        self.views: dict[str, memoryview] = {}
        self._bind_views()

    def _bind_views(self) -> None:
        for f in fields(self):
            col = getattr(self, f.name)
            if isinstance(col, np.ndarray):
                self.views[f.name] = memoryview(col)

    @property
    def n(self) -> int:
        """Number of enterprises."""
        return int(self.grid.shape[0])

    @property
    def n_pairs(self) -> int:
        """Number of (enterprise, domain) exposure pairs."""
        return int(self.pair_ent.shape[0])

    def pairs_of(self, ent: int) -> np.ndarray:
        """Pair indices of one enterprise."""
        return np.arange(self.pair_start[ent], self.pair_start[ent + 1])

    def set_colour(self, ent: int, new: int) -> None:
        """Move one enterprise to a colour, recording the transition (checked by tests)."""
        colour = self.views["colour"]  # Python ints in and out
        old = colour[ent]
        if old != new:
            self.colour_changes.append((old, new))
            colour[ent] = new

    def set_colours(self, ents: np.ndarray, new: int) -> None:
        """Move several enterprises to one colour, recording each transition."""
        old = self.colour[ents]
        moved = old != new
        self.colour_changes.extend((int(o), new) for o in old[moved].tolist())
        self.colour[ents[moved]] = new


class Residents:
    """Per-resident columns (M13, M16).

    Attributes
    ----------
    grid : ndarray of int
    elderly : ndarray of bool
    literacy : ndarray of float
        Probability that online self-service succeeds.
    propensity : ndarray of float
        Relative complaint propensity (mean 1).
    satisfaction : ndarray of float
        Read or written freely; the model's own writers use :meth:`changing_satisfaction`
        and :meth:`move_satisfaction` instead, which let :meth:`mean_satisfaction` update the
        daily mean from the residents who changed (see below).

    Notes
    -----
    The daily KPI ``resident_satisfaction`` is numpy's mean of the column, but only a few
    hundred residents change on a day. With the compiled kernels (:func:`reformsim.jit.enabled`
    when the columns are made), :meth:`mean_satisfaction` keeps numpy's pairwise sum as a tree of
    partial sums (:mod:`reformsim.pairwise`) and recomputes only the parts holding residents
    noted as changed: the mean is numpy's bit for bit. Any use of the public ``satisfaction``
    attribute may write behind the tree's back (a resident facade's setter, a test, a user), so
    from then on every mean is recomputed in full.
    """

    def __init__(self, grid: np.ndarray, elderly: np.ndarray, literacy: np.ndarray,
                 propensity: np.ndarray, satisfaction: np.ndarray) -> None:
        self.grid = grid
        self.elderly = elderly
        self.literacy = literacy
        self.propensity = propensity
        self._satisfaction = satisfaction
        #: the column may have changed without notice (recompute the mean in full)
        self._exposed = False
        self._sum_kernel = pairwise_total.compiled() if jit.enabled() else None
        #: numpy's pairwise sum as a tree (made on the first mean) and residents changed since
        self._tree: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._tree_size = -1
        self._total = 0.0  # the tree's sum
        self._changed = np.empty(max(1024, satisfaction.size // 4), dtype=np.int64)
        self._n_changed = 0  # -1: more than ``_changed`` holds (recompute in full)

    @property
    def satisfaction(self) -> np.ndarray:
        """Satisfaction in [0, 1] (using it makes every later daily mean a full one)."""
        self._exposed = True
        return self._satisfaction

    @satisfaction.setter
    def satisfaction(self, value: np.ndarray) -> None:
        self._exposed = True
        self._satisfaction = value

    @property
    def n(self) -> int:
        """Number of residents."""
        return int(self.grid.shape[0])

    def changing_satisfaction(self, who: np.ndarray) -> np.ndarray:
        """The satisfaction column, for a writer about to change the residents ``who`` only."""
        if self._sum_kernel is not None:
            c, k = self._n_changed, who.size
            if 0 <= c and c + k <= self._changed.size:
                self._changed[c:c + k] = who
                self._n_changed = c + k
            else:
                self._n_changed = -1
        return self._satisfaction

    def move_satisfaction(self, r: int, score: float, weight: float) -> None:
        """Move resident ``r``'s satisfaction towards ``score`` by ``weight`` (M16 feedback)."""
        s = self._satisfaction
        before = s.item(r)  # a Python float: the same IEEE operations as on the element
        s[r] = before + weight * (score - before)
        if self._sum_kernel is not None:
            c = self._n_changed
            if 0 <= c < self._changed.size:
                self._changed[c] = r
                self._n_changed = c + 1
            else:
                self._n_changed = -1

    def mean_satisfaction(self) -> float:
        """``satisfaction.mean()`` (NaN when there are no residents), as numpy computes it."""
        x = self._satisfaction
        n = x.size
        if not n:
            return np.nan
        if self._sum_kernel is None:
            return np.add.reduce(x) / n
        changed = self._n_changed
        if self._tree_size != n:
            self._tree = pairwise_tree(n)
            self._tree_size = n
            changed = -1
        elif self._exposed:
            changed = -1
        elif not changed:
            return self._total / n
        self._n_changed = 0
        self._total = self._sum_kernel(x, *self._tree, self._changed, changed)
        return self._total / n


def _draw_categories(shares: dict[str, float], names: tuple[str, ...], n: int,
                     rng: np.random.Generator) -> np.ndarray:
    p = np.array([shares.get(k, 0.0) for k in names])
    return rng.choice(len(names), size=n, p=p / p.sum())


#: Uniform buckets of the table that starts :func:`cdf_counts`'s search (a power of two, so that
#: ``u * K`` is exact and bucket ``b`` starts exactly at ``b / K``).
_BUCKETS = 4096


def _choice_cdf(p: np.ndarray) -> np.ndarray | None:
    """The cumulative table ``Generator.choice(len(p), size, p=p)`` searches, or None.

    ``choice`` draws ``rng.random(size)`` and returns ``cdf.searchsorted(u, side="right")``
    with ``cdf = p.cumsum() / p.cumsum()[-1]`` (numpy >= 1.17). None when ``p`` fails
    ``choice``'s checks (negative, NaN, or not summing to 1): the caller then calls ``choice``
    itself, which raises its usual error.
    """
    atol = np.sqrt(np.finfo(np.float64).eps)
    total = p.sum()
    if p.ndim != 1 or p.size == 0 or not (p >= 0).all() or not abs(total - 1.0) <= atol:
        return None
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return cdf


@kernel
def cdf_counts(cdf: np.ndarray, u: np.ndarray, counts: np.ndarray, n_buckets: int) -> None:
    """Add to ``counts[i]`` the number of uniforms ``u`` with ``cdf.searchsorted(u, "right") == i``.

    A uniform's search starts at its bucket's entry ``start[b] = cdf.searchsorted(b / K,
    "right")`` (``K = n_buckets``, a power of two: ``u * K`` and ``b / K`` are exact, so
    ``b / K <= u``) and steps over the few cdf values of the bucket not above it.
    ``cdf[-1] == 1.0 > u`` stops every search inside the table. The placement of residents on
    grids (DESIGN.md §2.2).
    """
    start = np.empty(n_buckets, dtype=np.int64)
    i = 0
    for b in range(n_buckets):
        edge = b / n_buckets
        while cdf[i] <= edge:
            i += 1
        start[b] = i
    for j in range(u.size):
        x = u[j]
        i = start[int(x * n_buckets)]
        while cdf[i] <= x:
            i += 1
        counts[i] += 1


def choice_counts(rng: np.random.Generator, p: np.ndarray, n: int,
                  use_kernel: bool = False) -> np.ndarray:
    """``np.bincount(rng.choice(len(p), size=n, p=p), minlength=len(p))``: the same draws.

    The category counts of ``n`` draws, without materialising (or sorting) the draws: one
    ``rng.random(n)`` as ``choice`` makes it, then a bucketed search (:func:`cdf_counts`,
    compiled when ``use_kernel``) or numpy's ``searchsorted``.
    """
    cdf = _choice_cdf(p)
    if cdf is None or n == 0:
        return np.bincount(rng.choice(len(p), size=n, p=p), minlength=len(p))
    u = rng.random(n)
    if not use_kernel:
        return np.bincount(cdf.searchsorted(u, side="right"), minlength=len(p))
    counts = np.zeros(len(p), dtype=np.int64)
    cdf_counts.compiled()(cdf, u, counts, _BUCKETS)
    return counts


@kernel
def segment_sums(start: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out[g] = values[start[g]:start[g + 1]]`` summed left to right, from 0.0.

    On values sorted by grid this is ``np.bincount(grid, weights=values)`` (which also adds each
    bin's weights in index order): the per-grid totals of residents' columns (allocation.py).
    """
    for g in range(start.size - 1):
        total = 0.0
        for i in range(start[g], start[g + 1]):
            total += values[i]
        out[g] = total


def grid_sums(grid: np.ndarray, start: np.ndarray, values: np.ndarray,
              use_kernel: bool = False) -> np.ndarray:
    """``np.bincount(grid, weights=values, minlength=start.size - 1)`` for ``grid`` sorted.

    ``start`` holds where each grid's run begins (and the total last); the compiled
    :func:`segment_sums` walks the runs when ``use_kernel``.
    """
    n_grids = start.size - 1
    if not use_kernel:
        return np.bincount(grid, weights=values, minlength=n_grids)
    out = np.empty(n_grids)
    segment_sums.compiled()(start, np.ascontiguousarray(values, dtype=np.float64), out)
    return out


def _stable_grid_order(grid: np.ndarray, n_grids: int) -> np.ndarray:
    """``np.lexsort((np.arange(n), grid))``: firms by grid, drawn order within a grid.

    A stable sort on 16-bit keys (numpy's radix sort) when the grids fit: the same permutation.
    """
    if n_grids <= np.iinfo(np.int16).max:
        return np.argsort(grid.astype(np.int16), kind="stable")
    return np.argsort(grid, kind="stable")


@kernel
def fill_pairs(sector: np.ndarray, pair_start: np.ndarray, table: np.ndarray,
               pair_ent: np.ndarray, pair_dom: np.ndarray) -> None:
    """Write each firm's exposure pairs: firm ``i`` and its sector's domains (``table`` row).

    Firm ``i``'s pairs are ``pair_start[i]:pair_start[i + 1]``; the row lists the sector's
    domains in order, padded.
    """
    for i in range(sector.size):
        row = sector[i]
        first = pair_start[i]
        for j in range(pair_start[i + 1] - first):
            pair_ent[first + j] = i
            pair_dom[first + j] = table[row, j]


@kernel
def distinct_in_runs(start: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out[i]`` = number of distinct ``values[start[i]:start[i + 1]]`` (short runs).

    E.g. the departments owning some domain of each firm (its pairs' owners).
    """
    for i in range(start.size - 1):
        lo = start[i]
        count = 0
        for k in range(lo, start[i + 1]):
            v = values[k]
            new = True
            for j in range(lo, k):
                if values[j] == v:
                    new = False
                    break
            if new:
                count += 1
        out[i] = count


def _sector_pairs(sc: Scenario, sector: np.ndarray,
                  use_kernel: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exposure pairs of firms in ``sector``: ``(pair_start, pair_ent, pair_dom)``.

    A firm is exposed to its sector's domains (each once, in domain order); its pairs are
    contiguous, firms in order. ``use_kernel`` writes them with the compiled :func:`fill_pairs`.
    """
    dom_index = {d.id: i for i, d in enumerate(sc.domains)}
    sector_domains = [sorted(dom_index[d] for d in set(s.domains)) for s in sc.sector_specs]
    width = max(1, max((len(x) for x in sector_domains), default=0))
    table = np.zeros((len(sector_domains), width), dtype=np.int64)
    lengths = np.zeros(len(sector_domains), dtype=np.int64)
    for s, doms in enumerate(sector_domains):
        table[s, :len(doms)] = doms
        lengths[s] = len(doms)
    n = len(sector)
    counts = lengths[sector]
    pair_start = np.concatenate([[0], np.cumsum(counts)])
    if use_kernel:
        pair_ent = np.empty(pair_start[-1], dtype=np.int64)
        pair_dom = np.empty(pair_start[-1], dtype=np.int64)
        fill_pairs.compiled()(np.ascontiguousarray(sector, dtype=np.int64), pair_start, table,
                              pair_ent, pair_dom)
        return pair_start, pair_ent, pair_dom
    pair_ent = np.repeat(np.arange(n), counts)
    in_sector = np.arange(width) < lengths[:, None]
    pair_dom = table[sector][in_sector[sector]]
    return pair_start, pair_ent, pair_dom


def build_enterprises(sc: Scenario, grid_weight: np.ndarray, rng: np.random.Generator,
                      counts: np.ndarray | None = None,
                      use_kernel: bool | None = None) -> Enterprises:
    """Create the enterprise columns and their exposure pairs.

    Parameters
    ----------
    counts
        Firms per (grid, sector), from a territory CSV; default: place ``n_enterprises`` firms by
        ``grid_weight`` and sector shares. With counts the same draws are made for their total,
        then :func:`fit_to_counts` makes the firms match them.
    use_kernel
        Write the exposure pairs with the compiled :func:`fill_pairs` (default:
        :func:`reformsim.jit.enabled`).
    """
    if use_kernel is None:
        use_kernel = jit.enabled()
    pop = sc.population
    n = pop.n_enterprises if counts is None else int(counts.sum())
    grid = rng.choice(len(grid_weight), size=n, p=grid_weight / grid_weight.sum())
    sectors = sc.sector_specs
    sector = rng.choice(len(sectors), size=n, p=np.array([s.share for s in sectors]))
    order = _stable_grid_order(grid, len(grid_weight))  # sort firms by grid for locality
    grid, sector = grid[order], sector[order]
    if counts is not None:
        grid, sector = fit_to_counts(grid, sector, counts)
    risk = _draw_categories(pop.risk_types, RISK_TYPES, n, rng)
    colour = _draw_categories(pop.initial_colour, COLOURS, n, rng)
    pair_start, pair_ent, pair_dom = _sector_pairs(sc, sector, use_kernel)
    cs = sc.compliance
    n_pairs = len(pair_ent)
    gain = rng.lognormal(np.log(cs.gain_mean) - 0.5 * cs.gain_sigma**2, cs.gain_sigma, n_pairs)
    return Enterprises(
        grid=grid.astype(np.int64), sector=sector.astype(np.int64), risk_type=risk.astype(np.int8),
        colour=colour.astype(np.int8), clean_checks=np.zeros(n, np.int16),
        escalation=np.zeros(n, np.int16),
        satisfaction=np.full(n, sc.satisfaction.enterprise_initial),
        trust=np.full(n, sc.trust.initial),
        visits_12m=np.zeros(n), last_visit_day=np.full(n, -10_000.0),
        last_visit_body=np.full(n, -1, np.int64),
        pair_ent=pair_ent, pair_dom=pair_dom, pair_start=pair_start,
        gain=gain, p_hat=np.full(n_pairs, cs.initial_perceived_risk),
        violation=np.full(n_pairs, -1, np.int64), offences=np.zeros(n_pairs, np.int32),
        advised=np.zeros(n_pairs, bool), planned_this_year=np.zeros(n, np.int32),
    )


def fit_to_counts(grid: np.ndarray, sector: np.ndarray,
                  counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Firms (sorted by grid) made to match ``counts[grid, sector]``, keeping the drawn order.

    The k-th drawn firm of a (grid, sector) cell is kept while k < the cell's count; the cell's
    missing firms follow the kept firms of their grid, sector by sector. Firm order only decides
    which of the i.i.d. draws of risk type, colour and gains a firm gets, so any order gives the
    same distribution; this one reproduces a generated world whose counts were exported.
    """
    n_sectors = counts.shape[1]
    cell = grid * n_sectors + sector
    by_cell = np.argsort(cell, kind="stable")
    first = np.searchsorted(cell[by_cell], cell[by_cell])
    rank = np.empty(len(cell), dtype=np.int64)
    rank[by_cell] = np.arange(len(cell)) - first
    keep = rank < counts.ravel()[cell]
    missing = counts.ravel() - np.bincount(cell[keep], minlength=counts.size)
    extra = np.repeat(np.arange(counts.size), missing)
    cells = np.concatenate([cell[keep], extra])
    position = np.concatenate([np.flatnonzero(keep), len(cell) + np.arange(len(extra))])
    order = np.lexsort((position, cells // n_sectors))
    return cells[order] // n_sectors, cells[order] % n_sectors


def build_residents(sc: Scenario, grid_weight: np.ndarray, rng: np.random.Generator,
                    counts: np.ndarray | None = None, use_kernel: bool | None = None) -> Residents:
    """Create the resident columns: grid, age group, digital literacy, complaint propensity.

    Residents are placed on grids by ``grid_weight`` and sorted by grid (only the number per
    grid matters: :func:`choice_counts`). ``counts`` (residents per grid, from a territory CSV)
    replaces the placement draw, which is still made for their total so that the later draws
    are those of a generated world. ``use_kernel`` (default: :func:`reformsim.jit.enabled`)
    counts the placement with the compiled :func:`cdf_counts`.
    """
    n = sc.population.n_residents if counts is None else int(counts.sum())
    if use_kernel is None:
        use_kernel = jit.enabled()
    placed = choice_counts(rng, grid_weight / grid_weight.sum(), n, use_kernel)
    if counts is not None:
        placed = counts
    grid = np.repeat(np.arange(len(placed)), placed)
    elderly = rng.random(n) < sc.population.elderly_share
    sv = sc.services
    literacy = np.where(elderly, sv.literacy_elderly, sv.literacy_young)
    propensity = rng.standard_gamma(2.0, n)  # rng.gamma(2.0, 0.5, n): the same draws and product
    propensity *= 0.5
    return Residents(grid=grid.astype(np.int64), elderly=elderly, literacy=literacy,
                     propensity=propensity,
                     satisfaction=np.full(n, sc.satisfaction.resident_initial))
