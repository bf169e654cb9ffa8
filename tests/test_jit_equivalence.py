"""Compiled kernels (reformsim.jit) and their fallbacks give bit-identical runs.

Every mechanism with a numba kernel keeps its numpy/Python path; ``REFORMSIM_JIT=0`` selects it
when a model is built. Whole runs over varied scenarios must agree exactly: summary, every case
column and every daily column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import reformsim
from reformsim import jit
from reformsim.jit import Kernel, kernel

from .conftest import assert_same_summary, queueing_street, small


def _run(monkeypatch: pytest.MonkeyPatch, scenario: Any, seed: int, flag: str) -> Any:
    with monkeypatch.context() as m:
        m.setenv("REFORMSIM_JIT", flag)
        return reformsim.run(scenario, seed=seed)


def _assert_same_run(a: Any, b: Any) -> None:
    assert_same_summary(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.cases, b.cases, check_exact=True)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)


VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "siloed": ("n_street_siloed.toml", {}),
    "integrated": ("n_street_integrated.toml", {}),
    "integrated-exponential-no-joint": (
        "n_street_integrated.toml",
        {"casework": {"service_time_distribution": "exponential"},
         "levers": {"joint_inspection": False}},
    ),
    "siloed-fixed-service-long-day": (
        "n_street_siloed.toml",
        {"casework": {"service_time_distribution": "fixed"},
         "staffing": {"hours_per_day": 11.0}},
    ),
}


@pytest.mark.skipif(not jit._numba_installed(), reason="numba is not installed")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_kernels_and_fallback_give_identical_runs(monkeypatch: pytest.MonkeyPatch,
                                                  variant: str) -> None:
    name, extra = VARIANTS[variant]
    scenario = small(name, extra)
    compiled = _run(monkeypatch, scenario, 5, "1")
    fallback = _run(monkeypatch, scenario, 5, "0")
    assert len(compiled.cases) > 0
    _assert_same_run(compiled, fallback)


@pytest.mark.skipif(not jit._numba_installed(), reason="numba is not installed")
def test_identical_on_a_round_the_clock_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = queueing_street(2000, 6.0, 80, {
        "domains": [{"id": "only", "violation_weight": 1.0, "complexity_hours": 2.0}],
        "catalog": {"n_matters": 1},
        "staffing": {"retained_officers": {"only": 3}},
    })
    _assert_same_run(_run(monkeypatch, scenario, 3, "1"), _run(monkeypatch, scenario, 3, "0"))


def test_enabled_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFORMSIM_JIT", "0")
    assert jit.enabled() is False
    monkeypatch.setenv("REFORMSIM_JIT", "1")
    assert jit.enabled() is jit._numba_installed()


def _running_sum(x: np.ndarray) -> float:
    total = 0.0
    for v in x:
        total += v
    return total


def test_kernel_keeps_the_plain_function_and_compiles_once() -> None:
    k = kernel(_running_sum)
    assert isinstance(k, Kernel)
    x = np.array([0.1, 0.2, 0.3, 1e-17])
    assert k.py(x) == _running_sum(x)
    if jit._numba_installed():
        fn = k.compiled()
        assert k.compiled() is fn
        assert fn(x) == k.py(x)  # the same IEEE operations in the same order


def test_compile_all_readies_every_registered_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFORMSIM_JIT", "0")
    assert jit.compile_all() == []
    monkeypatch.setenv("REFORMSIM_JIT", "1")
    names = jit.compile_all()
    assert names == sorted(jit.KERNELS)
    # every kernel of the model was called (compiled for its argument types) by the warm-up,
    # or is only called by other kernels (compiled into them)
    ours = {n: jit.KERNELS[n] for n in names if n.startswith("reformsim.")}
    called = {k.__name__ for k in ours.values() for k2 in ours.values() if k2 is not k
              and k.__name__ in k2.py.__code__.co_names}
    unready = [n for n, k in ours.items() if not k.compiled().signatures and k.__name__ not in called]
    assert not unready, unready
    for name in ("heap_push_many", "insert_visit"):  # callees that Python calls too
        assert jit.KERNELS[f"reformsim.work_queues.{name}"].compiled().signatures


@pytest.mark.parametrize("flag", ["1", "0"])
def test_a_model_pickled_mid_run_continues_the_same(monkeypatch: pytest.MonkeyPatch,
                                                    flag: str) -> None:
    """Kernels keep views and cached tuples of other objects' arrays; unpickling rebinds them."""
    import pickle

    from reformsim.model import ReformModel

    monkeypatch.setenv("REFORMSIM_JIT", flag)
    scenario = small("n_street_integrated.toml", {"run": {"days": 100, "warmup_days": 10}})
    reference = ReformModel(scenario, seed=3).run()
    model = ReformModel(scenario, seed=3)
    model.run_for(15)
    copy = pickle.loads(pickle.dumps(model)).run()
    np.testing.assert_array_equal(copy.recorder.table, reference.recorder.table)
    assert_same_summary(copy.recorder.summary(), reference.recorder.summary())
    for name, col in reference.cases.cols.items():
        np.testing.assert_array_equal(copy.cases.cols[name][:len(copy.cases)],
                                      col[:len(reference.cases)], err_msg=name)
    np.testing.assert_array_equal(copy.residents.satisfaction, reference.residents.satisfaction)


@kernel
def _halve(x: float) -> float:
    return 0.5 * x


@kernel
def _sum_of_halves(xs: np.ndarray) -> float:
    total = 0.0
    for v in xs:
        total += _halve(v)  # a kernel calling a kernel
    return total


def test_a_kernel_calls_another_kernel_plain_and_compiled() -> None:
    xs = np.array([0.3, 1e-3, 7.0])
    expected = (0.0 + 0.15) + 0.0005 + 3.5
    assert _sum_of_halves.py(xs) == expected
    if jit._numba_installed():
        assert _sum_of_halves.compiled()(xs) == expected
