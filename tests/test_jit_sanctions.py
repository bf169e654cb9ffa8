"""Closing a batch of handled cases (``Sanctions.decide_many``, the compiled
:func:`reformsim.sanction_kernels.close_cases`) equals closing them one at a time, bit for bit."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

import reformsim
from reformsim import jit
from reformsim.mechanisms.sanctions import Sanctions
from reformsim.model import ReformModel
from reformsim.sanction_kernels import OUTPUTS, close_cases
from reformsim.streams import SLOT_ERROR
from tests.conftest import assert_same_summary, small

pytestmark = pytest.mark.skipif(not jit._numba_installed(), reason="numba not installed")

#: the firm and pair columns closing a case reads or writes
ENTERPRISE_COLUMNS = ("offences", "advised", "escalation", "p_hat", "satisfaction", "trust")

SCENARIOS = [
    ("n_street_siloed.toml", None),
    ("n_street_integrated.toml", None),
    ("n_street_integrated.toml", {"levers": {"first_violation_leniency": False}}),
]


def _mid_run(name: str, extra: dict[str, Any] | None, jit_on: bool,
             monkeypatch: pytest.MonkeyPatch) -> ReformModel:
    monkeypatch.setenv("REFORMSIM_JIT", "1" if jit_on else "0")
    model = ReformModel(small(name, extra), seed=5)
    assert (model.sanctions._close_kernel is not None) is jit_on
    model.run_for(100)
    return model


def _batch(model: ReformModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct cases to close (a case closes once), several of one pair or firm, in a shuffled
    order; error rates with and without handling errors."""
    n = len(model.cases)
    rng = np.random.default_rng(11)
    pair = model.violations.cols["pair"][model.cases.cols["violation_id"][:n]]
    firm = model.cases.cols["enterprise"][:n]
    shared = np.flatnonzero((np.bincount(pair)[pair] > 1) | (np.bincount(firm)[firm] > 1))
    others = rng.choice(np.setdiff1d(np.arange(n), shared), 20, replace=False)
    cids = rng.permutation(np.concatenate([shared[:30], others])).astype(np.int64)
    assert np.unique(pair[cids]).size < cids.size  # some pairs more than once
    ats = np.round(100.0 + rng.random(cids.size) * 3.0, 3)
    rates = rng.random(cids.size)
    rates[::3] = 0.0
    return cids, ats, rates


def _one_at_a_time(model: ReformModel, cids: np.ndarray, ats: np.ndarray,
                   rates: np.ndarray) -> None:
    """The reference: Casework's handling error, then ``decide``, case after case."""
    for cid, at, rate in zip(cids.tolist(), ats.tolist(), rates.tolist(), strict=True):
        if rate > 0 and model.case_uniform(cid, SLOT_ERROR) < rate:
            model.cases.cols["error"][cid] = True
            model.trust.handling_error(model.cases.cols["enterprise"].item(cid))
        model.sanctions.decide(cid, at)


def _assert_same(a: ReformModel, b: ReformModel) -> None:
    for name in ENTERPRISE_COLUMNS:
        x, y = getattr(a.enterprises, name), getattr(b.enterprises, name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
    n = len(a.cases)
    assert n == len(b.cases)
    for name, col in a.cases.cols.items():
        other = b.cases.cols[name]
        assert col.dtype == other.dtype and col[:n].tobytes() == other[:n].tobytes(), name
    sa, sb = a.sanctions, b.sanctions
    assert sa.sanctioned_today == sb.sanctioned_today
    assert dict(sa.deadlines) == dict(sb.deadlines)
    assert dict(sa.rectifications) == dict(sb.rectifications)
    for x, y in zip(sa.rectifications.values(), sb.rectifications.values(), strict=True):
        assert [type(v) for p in x for v in p] == [type(v) for p in y for v in p]


@pytest.mark.parametrize("jit_on", [True, False])
@pytest.mark.parametrize("name, extra", SCENARIOS)
def test_decide_many_equals_one_at_a_time(name: str, extra: dict[str, Any] | None,
                                          jit_on: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _mid_run(name, extra, jit_on, monkeypatch)
    cids, ats, rates = _batch(model)
    blob = pickle.dumps(model)
    batched, single = pickle.loads(blob), pickle.loads(blob)
    batched.sanctions.decide_many(cids, ats, rates)
    _one_at_a_time(single, cids, ats, rates)
    assert single.cases.cols["error"][cids].any()  # the batch has handling errors
    assert single.cases.cols["rectified"][cids].min() == 0  # and unrectified cases
    _assert_same(batched, single)
    # without error rates: no handling errors
    batched, single = pickle.loads(blob), pickle.loads(blob)
    batched.sanctions.decide_many(cids[:7], ats[:7])
    _one_at_a_time(single, cids[:7], ats[:7], np.zeros(7))
    _assert_same(batched, single)
    # then the same models go on alike (the deadlines and rectifications come due)
    batched.run_for(40)
    single.run_for(40)
    _assert_same(batched, single)


def test_decide_many_small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 0 and 1 cases, and the kernel growing its output buffer."""
    model = _mid_run("n_street_integrated.toml", None, True, monkeypatch)
    cids, ats, rates = _batch(model)
    blob = pickle.dumps(model)
    batched, single = pickle.loads(blob), pickle.loads(blob)
    s = batched.sanctions
    s._out = np.empty(OUTPUTS * 2, dtype=np.int64)
    s.decide_many(cids[:0], ats[:0], rates[:0])
    s.decide_many(cids[:1], ats[:1], rates[:1])
    s.decide_many(cids[1:], ats[1:], rates[1:])
    assert s._out.size >= OUTPUTS * (cids.size - 1)
    _one_at_a_time(single, cids, ats, rates)
    _assert_same(batched, single)


def test_whole_run_through_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every day's handled cases decided by the kernel (even one) give the fallback's run."""
    scenario = small("n_street_integrated.toml")
    monkeypatch.setenv("REFORMSIM_JIT", "0")
    plain = reformsim.run(scenario, seed=2)
    monkeypatch.setenv("REFORMSIM_JIT", "1")
    monkeypatch.setattr(Sanctions, "KERNEL_MIN_CASES", 1)
    calls = []
    decide_many = Sanctions.decide_many

    def counted(self: Sanctions, cids: np.ndarray, *args: object) -> None:
        calls.append(cids.size)
        decide_many(self, cids, *args)

    monkeypatch.setattr(Sanctions, "decide_many", counted)
    compiled = reformsim.run(scenario, seed=2)
    assert 1 in calls and sum(calls) > 20  # batches of one and more went through the kernel
    assert_same_summary(plain.summary, compiled.summary)
    assert plain.cases.equals(compiled.cases)
    assert plain.timeseries.equals(compiled.timeseries)


def test_kernel_plain_function_rules() -> None:
    """The plain kernel on a hand-made case: leniency, escalation, trust and risk updates."""
    # one pair per firm; matter 0 minor, matter 1 severe
    rules = np.array([1.0, 0.3, 0.6, 10.0, 2.0, 0.5, 0.25, 0.2, 0.1, 0.5, 0.1, 0.9])
    c_violation = np.array([0, 1, 1])
    c_enterprise = np.array([0, 1, 1])
    c_matter = np.array([0, 1, 1])
    c_attempt = np.zeros(3, np.int16)
    c_error = np.zeros(3, bool)
    c_sanction = np.full(3, -1, np.int8)
    c_waiver, c_penalty = np.zeros(3, bool), np.zeros(3, bool)
    c_deadline, c_rectified_at = np.full(3, np.nan), np.full(3, np.nan)
    c_rectified = np.full(3, -1, np.int8)
    v_pair, v_onset = np.array([0, 1]), np.array([3.5, 4.0])
    offences, advised = np.zeros(2, np.int32), np.zeros(2, bool)
    escalation = np.array([0, 4], np.int16)
    p_hat, satisfaction, trust = np.array([0.2, 0.4]), np.array([0.5, 0.5]), np.array([0.5, 0.5])
    out = np.zeros(OUTPUTS * 3, np.int64)
    with np.errstate(over="ignore"):  # the hash's wrapping uint64 products on numpy scalars
        n_rectified = close_cases.py(
            np.array([0, 1, 2]), np.array([5.25, 6.5, 7.0]), np.array([0.0, 2.0, 0.0]), out,
            rules, 12345, c_violation, c_enterprise, c_matter, c_attempt, c_error, c_sanction,
            c_waiver, c_penalty, c_deadline, c_rectified, c_rectified_at, v_pair, v_onset,
            offences, advised, escalation, p_hat, satisfaction, trust)
    assert n_rectified == 3  # rectify_probability 2.0: always
    assert c_sanction.tolist() == [0, 5, 5]  # advice (leniency); fine + 4 escalation, capped
    assert c_waiver.tolist() == [True, False, False]
    assert c_penalty.tolist() == [False, True, True]
    assert c_error.tolist() == [False, True, False]  # rate 2.0: an error
    assert offences.tolist() == [1, 2] and advised.tolist() == [True, False]
    assert c_deadline.tolist() == [15.25, 16.5, 17.0]
    assert out.reshape(3, OUTPUTS)[:, 1].tolist() == [15, 16, 17]
    assert p_hat[0] == 0.2 + 0.5 * (1.0 - 0.2)
    assert satisfaction.tolist() == [0.5 + 0.25 * 0.5, 0.5]
    t = 0.5 * 0.5  # the handling error, then two fair encounters
    t = t + 0.1 * (1.0 - t)
    assert trust.tolist() == [0.5 + 0.2 * 0.5, t + 0.1 * (1.0 - t)]
