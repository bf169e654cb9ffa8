"""Batched daily updates (beliefs, compliance, services) equal their officer- or pair-wise forms."""

from __future__ import annotations

import numpy as np

from reformsim.mechanisms.compliance import WeightTable, probability_weight
from reformsim.model import ReformModel
from reformsim.scenario import Scenario


def _officer_state(m: ReformModel) -> list[np.ndarray]:
    return [a for o in m.case_officers for a in (o.experience, o.skills, o.skill0)]


def test_batched_forgetting_equals_officer_by_officer(small_integrated: Scenario) -> None:
    batched, single = ReformModel(small_integrated, seed=3), ReformModel(small_integrated, seed=3)
    for m in (batched, single):
        m.run_for(25)
        rng = np.random.default_rng(5)
        for o in m.case_officers:  # experience in every domain, including zeros
            o.experience += np.floor(rng.exponential(8.0, o.experience.size))
    for month in range(3):
        phi = 0.05 * (month + 1)
        for unit in batched.units:
            unit.forget(phi)
        for o in single.case_officers:
            o.forget(phi)
        for a, b in zip(_officer_state(batched), _officer_state(single), strict=True):
            np.testing.assert_array_equal(a, b)
        for unit in batched.units:
            if unit.officers:  # the bound rows are the officers' vectors
                np.testing.assert_array_equal(unit.skill_matrix,
                                              np.vstack([o.skills for o in unit.officers]))
    o = batched.case_officers[0]
    o.gain_experience(1, 2.0)  # vectors bound to rows still update in place
    o.train(np.ones(o.experience.size))
    for unit in batched.units:
        unit.forget(0.1)
    p = single.case_officers[0]
    p.gain_experience(1, 2.0)
    p.train(np.ones(p.experience.size))
    p.forget(0.1)
    np.testing.assert_array_equal(o.experience, p.experience)
    np.testing.assert_array_equal(o.skills, p.skills)


def test_neighbour_deterrence_over_a_span_equals_every_pair(small_siloed: Scenario) -> None:
    span, every = ReformModel(small_siloed, seed=2), ReformModel(small_siloed, seed=2)
    assert span.beliefs._sorted_by_grid
    every.beliefs._sorted_by_grid = False  # the general path: every pair, gathered by grid
    rng = np.random.default_rng(7)
    for m in (span, every):
        m.run_for(30)
    for _ in range(5):
        firms = np.unique(rng.choice(span.enterprises.n, rng.integers(1, 6), replace=True))
        for m in (span, every):
            m.beliefs._neighbour_deterrence(firms, 0.3)
        np.testing.assert_array_equal(span.enterprises.p_hat, every.enterprises.p_hat)
    for m in (span, every):
        m.run_for(30)
    np.testing.assert_array_equal(span.enterprises.p_hat, every.enterprises.p_hat)


def _clipped_weight(table: WeightTable, p: np.ndarray) -> np.ndarray:
    """WeightTable.__call__ written out: clip, interpolate, then the exact tails."""
    x = np.clip((p - table.edge) / table.step, 0.0, table.last)
    i = x.astype(np.int64)
    out = table.w[i] + (x - i) * table.dw[i]
    tail = (p < table.edge) | (p > table.top_edge)
    out[tail] = probability_weight(p[tail], table.gamma)
    return out


def test_weight_table_without_clipping_equals_the_clipped_table() -> None:
    rng = np.random.default_rng(11)
    for gamma in (0.3, 0.65, 0.9):
        table = WeightTable(gamma)
        edges = np.array([table.edge, table.top_edge, np.nextafter(table.top_edge, 0.0),
                          np.nextafter(table.edge, 1.0), 0.5])
        inside = np.concatenate([edges, rng.uniform(table.edge, table.top_edge, 200)])
        np.testing.assert_array_equal(table(inside), _clipped_weight(table, inside))
        p = np.concatenate([inside, [0.0, 1.0, 1e-4, 0.999, table.edge / 2]])
        np.testing.assert_array_equal(table(p), _clipped_weight(table, p))
        assert table(np.zeros(0)).size == 0
    assert WeightTable(1.0)(inside) is inside
