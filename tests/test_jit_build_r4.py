"""Round 4 (issue 4, fixed costs per run and per day) of the build/compliance/detection helper.

The fused day kernel of compliance (:func:`~reformsim.mechanisms.compliance.onsets_day`), the
patrol-only day of detection (:func:`~reformsim.detection_kernels.patrol_day`) and the shared
weight table give the same runs as the numpy/Python fallback, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import reformsim
from reformsim import jit
from reformsim.detection_kernels import patrol_day
from reformsim.mechanisms.compliance import WeightTable, onsets_day, weight_table
from reformsim.model import ReformModel

from .conftest import assert_same_summary, small

needs_jit = pytest.mark.skipif(not jit.enabled(), reason="numba is not installed or disabled")

#: small streets; "quiet" has few violations a day (many days without watched violations)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "siloed": ("n_street_siloed.toml", {}),
    "integrated": ("n_street_integrated.toml", {"levers": {"power_review_period_days": 30}}),
    "quiet": ("n_street_integrated.toml", {"compliance": {"max_onset_rate_per_year": 0.05}}),
}


def _run(monkeypatch: pytest.MonkeyPatch, name: str, flag: str) -> Any:
    file, extra = VARIANTS[name]
    with monkeypatch.context() as m:
        m.setenv("REFORMSIM_JIT", flag)
        return reformsim.run(small(file, extra), seed=5)


@needs_jit
@pytest.mark.parametrize("name", list(VARIANTS))
def test_fused_days_and_fallback_give_identical_runs(monkeypatch: pytest.MonkeyPatch,
                                                     name: str) -> None:
    a, b = _run(monkeypatch, name, "1"), _run(monkeypatch, name, "0")
    assert_same_summary(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.cases, b.cases, check_exact=True)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)


@needs_jit
def test_the_model_uses_the_fused_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFORMSIM_JIT", "1")
    m = ReformModel(small("n_street_siloed.toml", {}), seed=1)
    assert m.compliance._fused and m.compliance._kernel is onsets_day.compiled()
    monkeypatch.setenv("REFORMSIM_JIT", "0")
    plain = ReformModel(small("n_street_siloed.toml", {}), seed=1)
    assert not plain.compliance._fused and plain.compliance._kernel is None


@needs_jit
def test_a_declined_day_leaves_the_state_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    """A perceived risk in a tail of w(p): -1, and nothing written but the scratch rows."""
    monkeypatch.setenv("REFORMSIM_JIT", "1")
    m = ReformModel(small("n_street_siloed.toml",
                          {"compliance": {"initial_perceived_risk": 0.005}}), seed=3)
    c, log, ent = m.compliance, m.violations, m.enterprises
    calls: list[int] = []
    kernel = c._kernel

    def spy(*args: Any) -> int:
        before = (log.n, ent.violation.copy(), m.violating_in_grid.copy(),
                  log.cols["pair"].copy())
        r = kernel(*args)
        calls.append(r)
        if r < 0:
            assert log.n == before[0]
            np.testing.assert_array_equal(ent.violation, before[1])
            np.testing.assert_array_equal(m.violating_in_grid, before[2])
            np.testing.assert_array_equal(log.cols["pair"], before[3])
        return r

    c._kernel = spy
    m.run_for(60)
    assert -1 in calls


@pytest.mark.parametrize("compiled", [False, True])
def test_patrol_day_is_the_moving_average(compiled: bool) -> None:
    if compiled and not jit.enabled():
        pytest.skip("numba is not installed or disabled")
    fn = patrol_day.compiled() if compiled else patrol_day.py
    hours, officer = np.array([8.0, 0.0, 4.0, 0.1]), np.array([0.5, 0.0, 0.0, 1e-3])
    patrol = np.array([7.0, 1.0, 4.0, 0.3])
    table = np.ones((4, 3))
    want = patrol + (hours + officer - patrol) / 14.0
    fn(hours, officer, patrol, table[:, 1])
    np.testing.assert_array_equal(patrol, want)
    np.testing.assert_array_equal(table[:, 1], want / 8.0)
    np.testing.assert_array_equal(table[:, [0, 2]], 1.0)


def test_weight_table_is_shared_read_only_and_exact() -> None:
    a, b = weight_table(0.7), weight_table(0.7)
    assert a is b
    fresh = WeightTable(0.7)
    np.testing.assert_array_equal(a.w, fresh.w)
    np.testing.assert_array_equal(a.dw, fresh.dw)
    assert not a.w.flags.writeable and not a.dw.flags.writeable
    p = np.array([0.0, 0.005, 0.3, 0.99, 1.0])
    np.testing.assert_array_equal(a(p), fresh(p))
    assert weight_table(0.5) is not a
