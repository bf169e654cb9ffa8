"""Fast paths of the daily schedule equal the straightforward code they replace, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from reformsim.mechanisms.compliance import sample_distinct
from reformsim.model import ReformModel
from reformsim.streams import Streams


@pytest.mark.parametrize("n", [1, 2, 7, 604, 3576, 10_000, 10_001, 25_000])
def test_sample_distinct_equals_choice(n: int) -> None:
    for seed in range(40):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        sizes = np.random.default_rng(seed + 1000).integers(1, n + 1, 6)
        for k in [*sizes.tolist(), 1, min(n, 3), min(n, 12), n // 20 or 1, n // 20 + 1, n]:
            k = max(1, min(k, n))
            expected = a.choice(n, size=k, replace=False, shuffle=False).tolist()
            assert sample_distinct(b, n, k) == expected
            assert a.bit_generator.state == b.bit_generator.state


def test_keyed_hash_then_slots_equals_keyed_uniform() -> None:
    s = Streams(11)
    ent = np.array([0, 5, 17, 2**40, 123_456_789])
    slots = np.array([0, 1, 64 * 300 + 2, 2**33])
    h = s.keyed_hash("keyed_violations", ent)[:, None]
    np.testing.assert_array_equal(s.uniform_from_hash(h, slots),
                                  s.keyed_uniform("keyed_violations", ent[:, None], slots))
    np.testing.assert_array_equal(s.uniform_from_hash(h[:, 0], 7),
                                  s.keyed_uniform("keyed_violations", ent, 7))
    scalar = s.keyed_uniform_scalar("keyed_violations", 5, 7)
    assert s.keyed_uniform("keyed_violations", 5, 7) == scalar


def test_sample_matters_equals_per_domain_search(small_integrated) -> None:
    cat = ReformModel(small_integrated, seed=2).catalog
    rng = np.random.default_rng(0)
    n_dom = len(cat.domain_matters)
    ties = np.concatenate([*cat.domain_cum, [0.0, 1.0, np.nextafter(1.0, 0.0)]])
    for _ in range(50):
        doms = rng.integers(0, n_dom, 40)
        u = np.where(rng.random(40) < 0.3, rng.choice(ties, 40), rng.random(40))
        expected = np.empty(40, dtype=np.int64)
        for d, (ids, cum) in enumerate(zip(cat.domain_matters, cat.domain_cum, strict=True)):
            mask = doms == d
            pos = np.searchsorted(cum, u[mask], side="right")
            expected[mask] = ids[np.minimum(pos, len(ids) - 1)]
        np.testing.assert_array_equal(cat.sample_matters(doms, u), expected)


def test_tallies_match_the_columns(small_integrated) -> None:
    m = ReformModel(small_integrated, seed=4)
    for _ in range(120):
        m.step()
        assert int(m.violating_in_grid.sum()) == int((m.enterprises.violation >= 0).sum())
    ent = m.enterprises
    for e in range(0, ent.n, max(ent.n // 50, 1)):
        assert m.joint_inspector(e) is m.joint_inspectors(np.array([e]))[0]
