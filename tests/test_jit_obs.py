"""The residents' daily mean satisfaction kept up to date from the residents who changed
(reformsim.pairwise, Residents.mean_satisfaction): numpy's mean bit for bit, every day."""

from __future__ import annotations

import numpy as np
import pytest

from reformsim import jit
from reformsim.model import ReformModel
from reformsim.pairwise import LEN, LO, pairwise_total, pairwise_tree
from tests.conftest import small

pytestmark = pytest.mark.skipif(not jit._numba_installed(), reason="numba not installed")

SIZES = [0, 1, 7, 8, 9, 15, 16, 127, 128, 129, 136, 255, 256, 1000, 4097, 120_000]


def _values(rng: np.random.Generator, k: int) -> np.ndarray:
    return rng.random(k) * 10.0 ** rng.integers(-6, 7, k)  # wide magnitudes: rounding matters


@pytest.mark.parametrize("n", SIZES)
def test_pairwise_total_is_numpys_sum_after_changes(n):
    rng = np.random.default_rng(n)
    x = _values(rng, n)
    tree = pairwise_tree(n)
    total = pairwise_total.compiled()
    assert total(x, *tree, np.zeros(0, np.int64), -1) == np.add.reduce(x)
    for _ in range(30):
        k = int(rng.integers(0, 60)) if n else 0
        idx = rng.integers(0, max(n, 1), k)
        x[idx] = _values(rng, k)
        assert total(x, *tree, idx, k) == np.add.reduce(x)
    assert total(x, *tree, idx, 0) == np.add.reduce(x)  # nothing changed


@pytest.mark.parametrize("n", [0, 1, 9, 129, 300, 1000])
def test_pairwise_total_plain_function(n):
    """The kernel's plain Python function (the logic numba compiles) on small sizes."""
    rng = np.random.default_rng(n)
    x = _values(rng, n)
    tree = pairwise_tree(n)
    assert pairwise_total.py(x, *tree, np.zeros(0, np.int64), -1) == np.add.reduce(x)
    for _ in range(5):
        k = int(rng.integers(1, 20)) if n else 0
        idx = rng.integers(0, max(n, 1), k)
        x[idx] = _values(rng, k)
        assert pairwise_total.py(x, *tree, idx, k) == np.add.reduce(x)


def test_pairwise_tree_shape():
    nodes, group_leaf, partial = pairwise_tree(300)
    # numpy splits 300 at 144 (150 less 150 % 8), 144 at 72 and 156 at 72 (78 less 78 % 8)
    assert nodes[:4, [LO, LEN]].tolist() == [[0, 72], [72, 72], [144, 72], [216, 84]]
    assert nodes[4:, :2].tolist() == [[0, 1], [2, 3], [4, 5]]
    assert group_leaf.tolist() == [0] * 9 + [1] * 9 + [2] * 9 + [3] * 11
    assert partial.shape == (7, 9)


def test_pairwise_total_edge_cases():
    total = pairwise_total.compiled()
    x = np.arange(300.0)
    tree = pairwise_tree(300)
    assert np.isnan(total(x[:299], *tree, np.zeros(0, np.int64), -1))  # not the tree's size
    assert total(x, *tree, np.zeros(0, np.int64), -1) == np.add.reduce(x)
    x[[5, 299, 5]] = [0.1, 7e9, 0.3]  # a repeated index, an element of the last leaf's tail
    assert total(x, *tree, np.array([5, 299, 5]), 3) == np.add.reduce(x)
    x[17] = 1e-7
    assert total(x, *tree, np.array([-1]), 1) == np.add.reduce(x)  # bad index: recompute all


def _check_days(m: ReformModel, days: int) -> None:
    for _ in range(days):
        m.step()
        x = m.residents._satisfaction  # not the public attribute: that turns the tree off
        day = m.day - 1
        got = m.recorder.cols["resident_satisfaction"][day]
        assert got == np.add.reduce(x) / x.size and got == x.mean(), day


@pytest.mark.parametrize(("name", "extra"), [
    ("n_street_siloed.toml", None),
    ("n_street_integrated.toml", None),
    ("n_street_siloed.toml", {"levers": {"grid_assist_share_max": 0.02},
                              "services": {"demand_per_resident_per_year": 6.0}}),
])
def test_daily_mean_is_numpys_mean(name, extra, monkeypatch):
    monkeypatch.setenv("REFORMSIM_JIT", "1")
    m = ReformModel(small(name, extra), seed=5)
    assert m.residents._sum_kernel is not None
    _check_days(m, 40)
    assert not m.residents._exposed  # the days above used the tree, not full sums


def test_writes_behind_the_trees_back_are_seen(monkeypatch):
    """A resident facade's setter and a write through the public column: full means after."""
    monkeypatch.setenv("REFORMSIM_JIT", "1")
    m = ReformModel(small("n_street_integrated.toml"), seed=2)
    _check_days(m, 5)
    m.resident(3).satisfaction = 0.01
    _check_days(m, 3)
    m.residents.satisfaction[7:20] = 0.99
    _check_days(m, 3)
    m.residents.satisfaction = np.full(m.residents.n, 0.5)
    _check_days(m, 3)


def test_many_changes_in_a_day_recompute_in_full(monkeypatch):
    monkeypatch.setenv("REFORMSIM_JIT", "1")
    m = ReformModel(small("n_street_siloed.toml"), seed=1)
    _check_days(m, 2)
    res = m.residents
    who = np.arange(res.n)
    for _ in range(5):  # more than the buffer of changed residents holds
        sat = res.changing_satisfaction(who)
        sat[who] *= 0.5
    assert res._n_changed == -1
    _check_days(m, 2)
    assert res.mean_satisfaction() == np.add.reduce(res._satisfaction) / res.n


def test_fallback_mean(monkeypatch):
    monkeypatch.setenv("REFORMSIM_JIT", "0")
    m = ReformModel(small("n_street_siloed.toml"), seed=1)
    assert m.residents._sum_kernel is None
    _check_days(m, 10)
