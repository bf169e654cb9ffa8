"""The compiled onset kernel (:func:`reformsim.mechanisms.compliance.accept_onsets`) against the
numpy path of :meth:`Compliance.step`: exactly the same onsets, on full runs and on edge cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from reformsim import jit
from reformsim.mechanisms.compliance import DRAW_DTYPE, accept_onsets
from reformsim.model import ReformModel
from reformsim.results import collect

from .conftest import assert_same_summary, small

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="numba is not installed or disabled")

#: small N Street variants exercising each branch of the kernel
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "siloed": ("n_street_siloed.toml", {}),
    "integrated": ("n_street_integrated.toml", {}),
    # w(p) = p, no imitators, the colour-downgrade cost in the sanction
    "identity": ("n_street_integrated.toml", {"compliance": {"probability_weighting_gamma": 1.0,
                                                             "imitation_strength": 0.0},
                                              "levers": {"three_colour": True}}),
    # perceived risks start in the table's lower tail: the kernel hands days to the numpy path
    "tails": ("n_street_siloed.toml", {"compliance": {"initial_perceived_risk": 0.005}}),
}


def _model(monkeypatch: pytest.MonkeyPatch, name: str, use_jit: bool, seed: int = 3
           ) -> ReformModel:
    monkeypatch.setenv("REFORMSIM_JIT", "1" if use_jit else "0")
    file, extra = VARIANTS[name]
    m = ReformModel(small(file, extra), seed=seed)
    assert (m.compliance._kernel is not None) == use_jit
    return m


@pytest.mark.parametrize("name", list(VARIANTS))
def test_kernel_and_numpy_paths_give_identical_runs(monkeypatch: pytest.MonkeyPatch,
                                                    name: str) -> None:
    fast, plain = (_model(monkeypatch, name, j).run() for j in (True, False))
    pd.testing.assert_frame_equal(fast.violations.to_frame(), plain.violations.to_frame(),
                                  check_exact=True)
    a, b = collect(fast), collect(plain)
    assert_same_summary(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(a.cases, b.cases, check_exact=True)


def test_tails_take_the_numpy_path_on_some_days_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the tails variant the kernel declines some days and decides others."""
    m = _model(monkeypatch, "tails", True)
    kernel, answers = m.compliance._kernel, []

    def spy(*args: Any) -> int:
        answers.append(kernel(*args))
        return answers[-1]

    m.compliance._kernel = spy
    m.run()
    assert -1 in answers and any(k >= 0 for k in answers)


def _inputs(m: ReformModel, days: int) -> list[Any]:
    """The kernel's arguments for the candidates of the next ``days`` days (one range)."""
    c = m.compliance
    lo, _ = c.calendar.span(m.day)
    _, hi = c.calendar.span(m.day + days - 1)
    ent = m.enterprises
    n = c.calendar.day_pairs.size
    return [lo, hi, 0, c.calendar.day_pairs, c.block_draws["accept_at"].copy(), c.block_words,
            c.pair_int, c.pair_float, ent.gain, ent.p_hat, ent.advised, ent.violation, ent.trust,
            m.violating_in_grid, m.pairs_in_grid, c.constants, c.table,
            np.full(n, -7, dtype=np.int64), np.full((n, len(DRAW_DTYPE.names)), -7, np.int64)]


def _expected(m: ReformModel, lo: int, hi: int, accept_at: np.ndarray) -> np.ndarray:
    """The numpy path's accepted block positions of ``lo:hi``."""
    c = m.compliance
    cand = c.calendar.day_pairs[lo:hi]
    p = c._probability(cand, c.pair_terms(cand))
    new = (accept_at[lo:hi] < p) & (m.enterprises.violation[cand] < 0)
    return lo + np.flatnonzero(new)


@pytest.mark.parametrize("compiled", [False, True])
def test_kernel_edge_cases(monkeypatch: pytest.MonkeyPatch, compiled: bool) -> None:
    """Violating candidates are skipped, advice lowers the fixed rate, P is capped at 1, a tail
    declines the day; the plain function (``Kernel.py``) and the compiled one agree."""
    m = _model(monkeypatch, "integrated", True)
    m.run_for(20)
    fn = accept_onsets.compiled() if compiled else accept_onsets.py
    c, ent = m.compliance, m.enterprises
    args = _inputs(m, 40)
    lo, hi, cand, accept_at, new_pairs, new_draws = args[0], args[1], *args[3:5], *args[-2:]
    assert hi - lo > 20
    start = args[2] = 5

    def check() -> np.ndarray:
        """The accepted block positions, checked against the numpy path."""
        new_pairs[:] = new_draws[:] = -7
        k = fn(*args)
        want = _expected(m, lo, hi, accept_at)
        np.testing.assert_array_equal(new_pairs[start:start + k], cand[want])
        np.testing.assert_array_equal(new_draws[start:start + k], c.block_words[want])
        assert np.all(new_pairs[:start] == -7) and np.all(new_pairs[start + k:] == -7)
        assert np.all(new_draws[:start] == -7) and np.all(new_draws[start + k:] == -7)
        return want

    # thresholds up to twice the bound: about half of the free candidates are accepted
    rng = np.random.default_rng(0)
    accept_at[lo:hi] = rng.uniform(0, 2 * c.bound[cand[lo:hi]])
    pairs = cand[lo:hi]
    ent.advised[pairs[::2]] = True  # advice lowers the fixed rate of incompetent firms
    free = ent.violation[pairs] < 0
    deciding = np.flatnonzero(c.deciding[pairs] & free)
    fixed = np.flatnonzero(~c.deciding[pairs] & (c.bound[pairs] > 0) & free)
    assert deciding.size > 2 and fixed.size
    ent.violation[pairs[deciding[0]]] = 0  # already violating: never accepted
    accepted = check()
    assert 0 < accepted.size < hi - lo
    assert lo + deciding[0] not in accepted
    # P above 1 is capped at 1: a threshold just below 1 is accepted
    j = deciding[1]
    ent.gain[pairs[j]] = 1e6
    c.domain_weight[pairs[j]] = c.pair_float[pairs[j], 3] = 1e9  # the domain weight
    accept_at[lo + j] = np.nextafter(1.0, 0.0)
    assert lo + j in check()
    # a deciding free candidate with a perceived risk in a tail declines the day ...
    j = deciding[2]
    for tail in (np.nan, 0.0, 0.995, 1.0, 0.005):
        ent.p_hat[pairs[j]] = tail
        assert fn(*args) == -1
    # ... unless it is violating (its probability does not matter)
    ent.violation[pairs[j]] = 0
    check()
    # no candidates
    new_pairs[:] = -7
    assert fn(lo, lo, *args[2:]) == 0
    assert np.all(new_pairs == -7)


def _state(m: ReformModel) -> tuple[Any, ...]:
    return (m.violations.to_frame(), m.enterprises.violation.copy(), m.violating_in_grid.copy())


def _assert_same_state(a: ReformModel, b: ReformModel) -> None:
    fa, va, ga = _state(a)
    fb, vb, gb = _state(b)
    pd.testing.assert_frame_equal(fa, fb, check_exact=True)
    np.testing.assert_array_equal(va, vb)
    np.testing.assert_array_equal(ga, gb)


def test_open_and_end_rows_equal_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """ReformModel.open_violations / end_violations through violations.open_rows / end_rows:
    the same log and state as numpy, with repeated ids, ids already ended and an empty call."""
    fast, plain = (_model(monkeypatch, "siloed", j) for j in (True, False))
    assert fast.violations.open_kernel is not None and plain.violations.end_kernel is None
    for m in (fast, plain):
        m.run_for(30)
    _assert_same_state(fast, plain)
    free = np.flatnonzero(fast.enterprises.violation < 0)[:5]
    for m in (fast, plain):
        ids = m.open_violations(free, m.day, m.compliance.keyed_draws(free, m.day))
        assert ids.dtype == np.int64 and ids.size == free.size
        assert (m.enterprises.violation[free] == ids).all()
    _assert_same_state(fast, plain)
    open_ids = np.flatnonzero(fast.violations.is_open(np.arange(len(fast.violations))))
    ended = np.flatnonzero(~fast.violations.is_open(np.arange(len(fast.violations))))
    ids = np.concatenate([open_ids[:3], open_ids[:2], ended[:2]])
    at = np.arange(ids.size) + float(fast.day)
    for m in (fast, plain):
        m.end_violations(ids, at)
        m.end_violations(np.zeros(0, dtype=np.int64), np.zeros(0))
        assert int(m.violating_in_grid.sum()) == int((m.enterprises.violation >= 0).sum())
    _assert_same_state(fast, plain)
    for m in (fast, plain):
        m.run_for(20)
    _assert_same_state(fast, plain)


@pytest.mark.parametrize("jit_after", [True, False])
def test_a_pickled_model_continues_the_same(monkeypatch: pytest.MonkeyPatch,
                                            jit_after: bool) -> None:
    """Pickling drops the kernels and the word views and rebuilds them (or, with
    REFORMSIM_JIT=0 when unpickled, continues on the numpy path): the same run."""
    import pickle

    m = _model(monkeypatch, "siloed", True)
    m.run_for(15)
    monkeypatch.setenv("REFORMSIM_JIT", "1" if jit_after else "0")
    copy = pickle.loads(pickle.dumps(m))
    assert (copy.compliance._kernel is not None) == jit_after
    assert (copy.violations.end_kernel is not None) == jit_after
    for x in (m, copy):
        x.run_for(40)
    _assert_same_state(m, copy)
