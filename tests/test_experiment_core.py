"""Experiments: statistics, seeds, executor equivalence, pairing gain, sweep outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import reformsim
from reformsim.experiment import RunOptions, compare, replicate, sweep
from reformsim.experiment.runner import replicate_seed
from reformsim.experiment.stats import mean_ci, paired

from .conftest import SCENARIOS, small


def test_mean_ci_matches_scipy_t_interval() -> None:
    x = np.array([3.1, 2.4, 5.0, 4.2, 3.3, 2.9])
    mean, sd, lo, hi, n = mean_ci(x)
    ref = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert (mean, n) == (pytest.approx(x.mean()), 6)
    assert sd == pytest.approx(x.std(ddof=1))
    assert (lo, hi) == pytest.approx(ref)
    assert np.isnan(mean_ci(np.array([1.0]))[2]) and mean_ci(np.array([]))[4] == 0


def test_paired_comparison_against_hand_computation() -> None:
    rng = np.random.default_rng(0)
    common = rng.normal(10, 3, 30)
    a = common + rng.normal(0, 0.5, 30)
    b = common + 2 + rng.normal(0, 0.5, 30)
    res = paired(a, b)
    d = b - a
    half = sps.t.ppf(0.975, 29) * d.std(ddof=1) / np.sqrt(30)
    assert res["diff"] == pytest.approx(d.mean())
    assert (res["diff_low"], res["diff_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert res["ratio"] == pytest.approx(b.mean() / a.mean())
    assert res["ratio_low"] < res["ratio"] < res["ratio_high"]
    # shared noise: pairing removes most of the variance of the difference
    assert res["variance_reduction"] > 0.9
    assert res["paired_half_width"] < res["unpaired_half_width"] / 3
    # independent arms: no systematic gain
    ind = paired(rng.normal(0, 1, 400), rng.normal(0, 1, 400))
    assert abs(ind["variance_reduction"]) < 0.2


def test_delta_method_ratio_interval_covers_truth() -> None:
    """Coverage of the ratio interval is close to 95% in repeated sampling."""
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(400):
        common = rng.normal(0, 1, 25)
        a = 10 + 2 * common + rng.normal(0, 1, 25)
        b = 15 + 2 * common + rng.normal(0, 1, 25)
        r = paired(a, b)
        hits += r["ratio_low"] <= 1.5 <= r["ratio_high"]
    assert 0.91 <= hits / 400 <= 0.98


def test_replicate_seed_is_the_spawned_child() -> None:
    children = np.random.SeedSequence(77).spawn(5)
    for k, child in enumerate(children):
        mine = replicate_seed(77, k)
        np.testing.assert_array_equal(mine.generate_state(4), child.generate_state(4))


def _tables(res) -> tuple[pd.DataFrame, pd.DataFrame]:
    return res.runs.reset_index(drop=True), res.comparison.reset_index(drop=True)


def test_same_results_serial_processes_and_dask() -> None:
    arms = [small("n_street_siloed.toml"), small("n_street_integrated.toml")]
    base = compare(arms, replicates=3, seed=5, options=RunOptions(executor="serial", progress=False))
    procs = compare(arms, replicates=3, seed=5,
                    options=RunOptions(executor="processes", workers=2, progress=False))
    dask = compare(arms, replicates=3, seed=5, options=RunOptions(dask="local", workers=2,
                                                                   progress=False))
    for other in (procs, dask):
        for x, y in zip(_tables(base), _tables(other), strict=True):
            pd.testing.assert_frame_equal(x, y)
        pd.testing.assert_frame_equal(base.bands, other.bands)
    # a replicate's numbers equal a single run with the spawned seed
    one = reformsim.run(arms[1], seed=np.random.SeedSequence(5).spawn(3)[2])
    row = base.runs[(base.runs["arm"] == arms[1].name) & (base.runs["replicate"] == 2)].iloc[0]
    assert row["violations_true"] == one.summary["violations_true"]
    assert row["response_time_mean_days"] == pytest.approx(one.summary["response_time_mean_days"])


def test_paired_cis_narrower_than_unpaired_on_n_street() -> None:
    """Common random numbers pay off on the full N Street for the main KPIs."""
    arms = [SCENARIOS / "n_street_siloed.toml", SCENARIOS / "n_street_integrated.toml"]
    res = compare(arms, replicates=5, seed=11, options=RunOptions(workers=2, progress=False))
    cmp = res.comparison.set_index("kpi")
    for kpi in ("violations_true", "cases_recorded", "detection_rate", "compliance_rate",
                "penalties_issued"):
        assert cmp.loc[kpi, "paired_half_width"] < cmp.loc[kpi, "unpaired_half_width"], kpi
        assert cmp.loc[kpi, "variance_reduction"] > 0, kpi


def test_replicate_outputs_and_figures(tmp_path) -> None:
    res = replicate(small("n_street_integrated.toml"), replicates=3, seed=2, out=tmp_path / "r",
                    options=RunOptions(executor="serial", progress=False))
    out = tmp_path / "r"
    for name in ("manifest.json", "runs.csv", "runs.parquet", "summary.csv", "bands.parquet",
                 "figures/kpi_comparison.png", "figures/timeseries_bands.png"):
        assert (out / name).exists(), name
    assert res.comparison is None and len(res.runs) == 3
    s = res.summary.set_index("kpi").loc["violations_true"]
    assert s["n"] == 3 and s["ci_low"] <= s["mean"] <= s["ci_high"]
    bands = res.bands[res.bands["series"] == "compliance_rate"]
    assert (bands["low"] <= bands["mean"] + 1e-12).all() and (bands["mean"] <= bands["high"] + 1e-12).all()


def test_sweep_full_factorial(tmp_path) -> None:
    spec = tmp_path / "sweep.toml"
    spec.write_text(f"""
[experiment]
name = "test sweep"
base = "{(SCENARIOS / 'n_street_integrated.toml').as_posix()}"
replicates = 2
seed = 3
kpis = ["response_time_mean_days", "officer_utilization"]
[design]
kind = "full_factorial"
[[factors]]
path = "run.days"
levels = [40]
[[factors]]
path = "run.warmup_days"
levels = [10]
[[factors]]
path = "population.n_enterprises"
levels = [200, 400]
[[factors]]
path = "staffing.street_staff"
range = [10, 60]
steps = 2
integer = true
""")
    res = sweep(spec, out=tmp_path / "out", options=RunOptions(executor="serial", progress=False))
    assert len(res.runs) == 1 * 2 * 2 * 2
    assert set(res.runs["staffing.street_staff"]) == {10, 60}
    assert set(res.summary["kpi"]) == {"response_time_mean_days", "officer_utilization"}
    figs = sorted(p.name for p in (tmp_path / "out" / "figures").glob("sweep_*.png"))
    assert figs == ["sweep_officer_utilization.png", "sweep_response_time_mean_days.png"]
    # more street staff -> lower utilisation at each firm count (direction check)
    s = res.summary[res.summary["kpi"] == "officer_utilization"]
    for _, g in s.groupby("population.n_enterprises"):
        g = g.sort_values("staffing.street_staff")
        assert g["mean"].iloc[0] > g["mean"].iloc[-1]


def test_shipped_sweep_file_is_valid() -> None:
    from reformsim.experiment.spec import load_sweep

    spec, base, points = load_sweep(SCENARIOS.parent / "experiments" / "staffing_delegation_sweep.toml")
    assert len(points) == 12 and spec.experiment.replicates >= 1
    assert base.levers.joint_inspection
