"""The catalogue of enforcement matters (执法事项, 权责清单) and the delegation rule.

Each matter has a domain, a heavy-tailed frequency weight (Zipf, domain.md M15), a complexity in
officer-hours, a severity in [0, 1], a visibility in [0, 1] (can a resident or grid worker see
it?) and flags: ambiguous owner (三不管 risk, M9) and negative-listed (负面清单, never
delegated). Which matters are delegated to the street is a lever: the top ``delegated_matters``
by the 三高两易 score (high frequency, easy to detect, easy to handle; Quzhou, L7) or a random
subset, or (with a catalogue CSV, ``delegation_rule = "from_catalog"``) the file's ``delegated``
column.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from reformsim.errors import ScenarioError
from reformsim.scenario import Scenario

if TYPE_CHECKING:
    from reformsim.district_csv import CatalogTable


@dataclass(frozen=True)
class Catalog:
    """Column table of matters.

    Attributes
    ----------
    domain : ndarray of int
        Domain index of each matter.
    weight : ndarray of float
        Within-domain selection probability of each matter (sums to 1 per domain).
    complexity : ndarray of float
        Mean specialist handling time in hours.
    severity, visibility : ndarray of float
        In [0, 1].
    ambiguous, negative, delegated : ndarray of bool
        Ownership flags.
    alt_owner : ndarray of int
        For ambiguous matters, the department that is a plausible second owner (else -1).
    domain_cum : list of ndarray
        Cumulative weights and matter ids per domain, for vectorised sampling.
    frequency : ndarray of float
        Relative frequency weight (Zipf rank^-exponent when generated) before the per-domain
        normalisation of ``weight``; the 三高两易 score ranks it.
    ids, names : tuple of str
        Matter id (``M0001``... when generated) and Chinese name ("" when generated).
    """

    domain: np.ndarray
    weight: np.ndarray
    complexity: np.ndarray
    severity: np.ndarray
    visibility: np.ndarray
    ambiguous: np.ndarray
    negative: np.ndarray
    delegated: np.ndarray
    alt_owner: np.ndarray
    domain_matters: tuple[np.ndarray, ...]
    domain_cum: tuple[np.ndarray, ...]
    frequency: np.ndarray
    ids: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def n_matters(self) -> int:
        """Number of matters."""
        return int(self.domain.shape[0])

    def sample_matters(self, domains: np.ndarray, u: np.ndarray, strict: bool = True) -> np.ndarray:
        """Pick one matter per violation given its domain and a uniform draw ``u``.

        The matter is the first of its domain whose cumulative weight exceeds ``u`` (the last
        one if none does): one :func:`numpy.searchsorted` over all domains at once, see
        :attr:`_sampling_keys`. A domain without matters raises :class:`ValueError`, or gives
        -1 when ``strict`` is false (see :meth:`check_sampled`).
        """
        keys, ids, last = self._sampling_keys
        empty = np.isin(domains, self._empty_domains) if self._empty_domains else None
        if strict and empty is not None and empty.any():
            raise _no_matters(domains[empty])
        query = np.empty(domains.shape[0], dtype=np.complex128)
        query.real = domains
        query.imag = u
        pos = np.searchsorted(keys, query, side="right")
        if empty is None or not empty.any():
            return ids[np.minimum(pos, last[domains])]
        picked = np.full(domains.shape[0], -1, dtype=np.int64)
        picked[~empty] = ids[np.minimum(pos, last[domains])[~empty]]
        return picked

    @property
    def has_empty_domains(self) -> bool:
        """Whether some domain has no matters (a violation there cannot pick one)."""
        return bool(self._empty_domains)

    @staticmethod
    def check_sampled(domains: np.ndarray, matters: np.ndarray) -> None:
        """Raise :class:`ValueError` as :meth:`sample_matters` does if a matter is -1."""
        hit = matters < 0
        if hit.any():
            raise _no_matters(domains[hit])

    @cached_property
    def _sampling_keys(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lookup table of :meth:`sample_matters`: ``(keys, ids, last)``.

        ``keys`` holds ``domain + 1j * cumulative weight`` of every matter, domain by domain;
        numpy orders complex numbers by real then imaginary part, so a query
        ``domain + 1j * u`` lands inside its own domain's block, exactly where
        ``searchsorted(cum, u, side="right")`` on that domain alone would put it (no arithmetic
        on ``u``, hence the same matter to the last bit). ``ids`` are the matters in the same
        order and ``last[d]`` is the position of domain ``d``'s last matter.
        """
        parts = []
        for d, cum in enumerate(self.domain_cum):
            block = np.empty(len(cum), dtype=np.complex128)
            block.real = d
            block.imag = cum
            parts.append(block)
        keys = np.concatenate(parts) if parts else np.zeros(0, dtype=np.complex128)
        ids = (np.concatenate(self.domain_matters) if self.domain_matters
               else np.zeros(0, dtype=np.int64)).astype(np.int64)
        last = np.cumsum([len(m) for m in self.domain_matters], dtype=np.int64) - 1
        return keys, ids, last

    @cached_property
    def _empty_domains(self) -> list[int]:
        """Domains without matters (a violation there cannot pick a matter)."""
        return [d for d, m in enumerate(self.domain_matters) if len(m) == 0]


@lru_cache(maxsize=16)
def generated_ids(prefix: str, digits: int, n: int) -> tuple[str, ...]:
    """Return the ids of generated matters (``M0001``) or grids (``G001``), made once per size.

    A tuple ``(f"{prefix}{1:0{digits}d}", ..., n)`` of strings.
    """
    return tuple(f"{prefix}{i + 1:0{digits}d}" for i in range(n))


def _no_matters(domains: np.ndarray) -> ValueError:
    return ValueError(f"domains: expected domains with matters, got {domains[:5]}")


def _split_counts(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``total`` items by ``weights`` (at least 1 each if possible)."""
    n = len(weights)
    base = np.ones(n, dtype=np.int64) if total >= n else np.zeros(n, dtype=np.int64)
    rest = total - base.sum()
    w = weights / weights.sum() if weights.sum() > 0 else np.full(n, 1.0 / n)
    raw = w * rest
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: rest - counts.sum()]] += 1
    return base + counts


def delegation_score(weight: np.ndarray, complexity: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """三高两易 score: high frequency, easy to detect (visible) and easy to handle (simple).

    Each term is a rank in [0, 1]; the score is their mean.
    """

    def rank(x: np.ndarray) -> np.ndarray:
        return np.argsort(np.argsort(x, kind="stable"), kind="stable") / max(len(x) - 1, 1)

    return (rank(weight) + rank(visibility) + rank(-complexity)) / 3.0


def build_catalog(sc: Scenario, owner_of_domain: np.ndarray, rng: np.random.Generator,
                  table: CatalogTable | None = None) -> Catalog:
    """Generate the catalogue for a scenario, or take it from a catalogue CSV; then delegate.

    With a ``table`` the same random draws are made as for a generated catalogue of the file's
    size, and the file's columns replace them (severity and visibility only when given), so
    a catalogue exported by :func:`reformsim.district_csv.export_district` rebuilds the same
    world for the same seed.
    """
    spec = sc.catalog
    n_dom = len(sc.domains)
    if table is None:
        counts = _split_counts(spec.n_matters,
                               np.array([d.violation_weight + 1e-9 for d in sc.domains]))
        domain = np.repeat(np.arange(n_dom), counts)
    else:
        domain = table.domain
    n = len(domain)
    ranks = rng.permutation(n) + 1
    zipf = ranks.astype(float) ** (-spec.zipf_exponent)
    base_hours = np.array([d.complexity_hours for d in sc.domains])[domain]
    lognorm = rng.lognormal(-0.5 * spec.complexity_sigma**2, spec.complexity_sigma, n)
    complexity = base_hours * lognorm
    severity = rng.uniform(0.0, 1.0, n)
    visible = rng.random(n) < spec.visible_share
    visibility = np.where(visible, rng.uniform(0.5, 1.0, n), 0.0)
    ambiguous = rng.random(n) < spec.ambiguous_share
    n_depts = int(owner_of_domain.max()) + 1
    alt = rng.integers(0, max(n_depts - 1, 1), n)
    if table is not None:
        zipf, complexity, ambiguous = table.frequency, table.complexity, table.ambiguous
        severity = severity if table.severity is None else table.severity
        visibility = visibility if table.visibility is None else table.visibility
    own = owner_of_domain[domain]
    alt_owner = np.where(ambiguous & (n_depts > 1), np.where(alt >= own, alt + 1, alt), -1)
    if table is None:
        n_negative = int(round(spec.negative_list_share * n))
        negative = np.zeros(n, dtype=bool)
        negative[np.argsort(-complexity, kind="stable")[:n_negative]] = True
    else:
        negative = table.negative
    delegated = _delegate(sc, zipf, complexity, visibility, negative, rng)
    if table is not None and sc.levers.delegation_rule == "from_catalog":
        delegated = table.delegated.copy()
    matters, cums = [], []
    for d in range(n_dom):
        ids = np.flatnonzero(domain == d)
        w = zipf[ids]
        matters.append(ids)
        cums.append(np.cumsum(w) / w.sum() if len(ids) else np.zeros(0))
    weight = np.zeros(n)
    for ids, cum in zip(matters, cums, strict=True):
        if len(ids):
            weight[ids] = np.diff(np.concatenate([[0.0], cum]))
    matter_ids = table.ids if table is not None else generated_ids("M", 4, n)
    names = table.names if table is not None else ("",) * n
    return Catalog(domain, weight, complexity, severity, visibility, ambiguous, negative,
                   delegated, alt_owner, tuple(matters), tuple(cums), zipf, matter_ids, names)


def _delegate(
    sc: Scenario,
    zipf: np.ndarray,
    complexity: np.ndarray,
    visibility: np.ndarray,
    negative: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    k = 0 if sc.levers.delegation_rule == "from_catalog" else sc.levers.delegated_matters
    eligible = np.flatnonzero(~negative)
    if k > len(eligible):
        raise ScenarioError(
            f"levers.delegated_matters: expected at most {len(eligible)} (catalogue matters not on "
            f"the negative list), got {k}"
        )
    # the draw is made whatever the rule, so the rule does not shift later setup draws
    shuffled = rng.permutation(eligible)
    if sc.levers.delegation_rule == "score":
        score = delegation_score(zipf, complexity, visibility)[eligible]
        chosen = eligible[np.argsort(-score, kind="stable")[:k]]
    else:
        chosen = shuffled[:k]
    delegated = np.zeros(len(zipf), dtype=bool)
    delegated[chosen] = True
    return delegated
