"""Global sensitivity analysis (``reformsim sensitivity``, SALib ProblemSpec).

- The pipeline file → sample → evaluate → analyse, given a plain function instead of the model,
  reproduces the analytic Sobol indices of the Ishigami and Sobol G functions at N = 2^13, its
  convergence table covers the prefixes 16 … N with CIs shrinking like n^-1/2; Morris ranks a
  linear function's factors by their coefficients; FAST, RBD-FAST, delta and PAWN find the top
  factor.
- Integer and categorical factors map the same way for every method.
- A small Sobol and a small Morris run on a reduced N Street finish through the CLI and write
  every table and figure; an interrupted run resumes (only the missing runs are redone) and gives
  byte-identical indices.
- Bad files exit 2 with one stderr line naming the field.
- The shipped experiment files load and have the design sizes docs/sensitivity.md states.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from SALib.test_functions import Ishigami, Sobol_G

from reformsim import cli
from reformsim.scenario import Scenario
from reformsim.sensitivity import load_sensitivity, read_spec, run_function
from reformsim.sensitivity.pipeline import _numeric, sample, to_points

ROOT = Path(__file__).resolve().parents[1]
INTEGRATED = ROOT / "scenarios" / "n_street_integrated.toml"

# Analytic values (docs/sensitivity.md; Saltelli et al. 2008; experiments.md §4.1).
ISHIGAMI_S1 = [0.313905, 0.442411, 0.0]
ISHIGAMI_ST = [0.557589, 0.442411, 0.243684]
G_A = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0]
TOL = 0.02


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _factors(specs: list[tuple[str, str]]) -> str:
    return "".join(f'\n[[factors]]\npath = "{p}"\n{rest}\n' for p, rest in specs)


def _close(est: float, conf: float, exact: float) -> bool:
    """Within TOL of the exact value, or the CI (half-width ``conf``) covers it."""
    return abs(est - exact) < TOL or abs(est - exact) <= conf


def _value(indices: pd.DataFrame, factor: str, index: str, kpi: str = "y") -> tuple[float, float]:
    row = indices[(indices["kpi"] == kpi) & (indices["factor"] == factor)
                  & (indices["index"] == index) & (indices["factor2"] == "")]
    assert len(row) == 1, (factor, index, kpi)
    return float(row["value"].iloc[0]), float(row["conf"].iloc[0])


# ------------------------------------------------------------ analytic test functions


@pytest.fixture(scope="module")
def ishigami(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("ishigami") / "ishigami.toml"
    bounds = f"bounds = [{-math.pi!r}, {math.pi!r}]"
    _write(path, '[sensitivity]\nmethod = "sobol"\nN = 8192\nseed = 1\nkpis = ["y"]\n'
           + _factors([(f"x{i}", bounds) for i in (1, 2, 3)]))
    return run_function(read_spec(path), lambda X: Ishigami.evaluate(X, A=7.0, B=0.1))


def test_ishigami_matches_analytic_indices(ishigami) -> None:
    assert len(ishigami.X) == 8192 * (3 + 2)
    for j, name in enumerate(("x1", "x2", "x3")):
        for key, exact in (("S1", ISHIGAMI_S1[j]), ("ST", ISHIGAMI_ST[j])):
            est, conf = _value(ishigami.indices, name, key)
            assert _close(est, conf, exact), f"{key}[{name}] = {est:.4f} ± {conf:.4f} vs {exact}"


def test_sobol_g_matches_analytic_indices(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.toml",
                  '[sensitivity]\nmethod = "sobol"\nN = 8192\nseed = 3\nkpis = ["y"]\n'
                  + _factors([(f"x{i}", "bounds = [0, 1]") for i in range(len(G_A))]))
    a = np.array(G_A)
    res = run_function(read_spec(path), lambda X: Sobol_G.evaluate(X, a=a))
    s1, st = Sobol_G.sensitivity_index(a), Sobol_G.total_sensitivity_index(a)
    assert s1[0] == pytest.approx(0.7163, abs=1e-4)  # six factors: V = 0.4654 → 0.7163
    for j in range(len(G_A)):
        for key, exact in (("S1", s1[j]), ("ST", st[j])):
            est, conf = _value(res.indices, f"x{j}", key)
            assert _close(est, conf, exact), f"{key}[x{j}] = {est:.4f} ± {conf:.4f} vs {exact:.4f}"


def test_convergence_table_prefixes_and_shrinking_ci(ishigami) -> None:
    conv = ishigami.convergence
    sizes = sorted(int(n) for n in conv["n"].unique())
    assert sizes == [2**k for k in range(4, 14)]  # 16 … 8192
    assert set(conv["index"]) == {"S1", "ST"}
    assert (conv.groupby("n").size() == 2 * 3).all()
    # the last prefix is the whole design: identical to the reported indices
    last = conv[conv["n"] == 8192].set_index(["factor", "index"])["value"]
    full = ishigami.indices.set_index(["factor", "index"])["value"]
    assert np.allclose(last.sort_index(), full.loc[last.index].sort_index())
    # CI half-width shrinks: at every n, quadrupling the sample narrows it; overall ~ n^-1/2
    width = conv.groupby("n")["conf"].mean()
    for n in sizes[:-2]:
        assert width[4 * n] < width[n], (n, width.to_dict())
    slope = np.polyfit(np.log(width.index.to_numpy(float)), np.log(width.to_numpy()), 1)[0]
    assert -0.8 < slope < -0.3, slope


def _linear_spec(tmp_path: Path, method: str, N: int, extra: str = "") -> Path:
    return _write(tmp_path / f"{method}.toml",
                  f'[sensitivity]\nmethod = "{method}"\nN = {N}\nseed = 5\nkpis = ["y"]\n{extra}'
                  + _factors([(f"x{i}", "bounds = [0, 1]") for i in (1, 2, 3)]))


def test_morris_ranks_linear_function(tmp_path: Path) -> None:
    spec = read_spec(_linear_spec(tmp_path, "morris", 10))
    res = run_function(spec, lambda X: 10 * X[:, 0] + 2 * X[:, 1] + 0 * X[:, 2])
    mu_star = {f: _value(res.indices, f, "mu_star")[0] for f in ("x1", "x2", "x3")}
    sigma = {f: _value(res.indices, f, "sigma")[0] for f in ("x1", "x2", "x3")}
    assert sorted(mu_star, key=mu_star.get, reverse=True) == ["x1", "x2", "x3"]
    # a linear function's elementary effects are its coefficients × the factor's range
    assert mu_star == pytest.approx({"x1": 10.0, "x2": 2.0, "x3": 0.0}, abs=1e-9)
    assert max(sigma.values()) < 1e-9
    assert len(res.X) == 10 * (3 + 1)


@pytest.mark.parametrize(("method", "N", "keys"), [
    ("fast", 513, ["S1", "ST"]), ("rbd_fast", 1000, ["S1"]), ("delta", 256, ["delta_raw", "S1"]),
    ("pawn", 1000, ["median", "mean", "maximum"]),
])
def test_other_methods_find_the_top_factor(tmp_path: Path, method: str, N: int,
                                           keys: list[str]) -> None:
    spec = read_spec(_linear_spec(tmp_path, method, N, extra="num_resamples = 20\n"))
    res = run_function(spec, lambda X: 10 * X[:, 0] + 2 * X[:, 1] + 0.1 * X[:, 2])
    for key in keys:
        vals = {f: _value(res.indices, f, key)[0] for f in ("x1", "x2", "x3")}
        assert max(vals, key=vals.get) == "x1", (key, vals)
        assert min(vals, key=vals.get) == "x3", (key, vals)
        confs = res.indices.loc[res.indices["index"] == key, "conf"]
        assert confs.isna().all() if method == "pawn" else confs.notna().all()  # PAWN: no CI


def test_fast_on_ishigami(tmp_path: Path) -> None:
    bounds = f"bounds = [{-math.pi!r}, {math.pi!r}]"
    path = _write(tmp_path / "fast.toml", '[sensitivity]\nmethod = "fast"\nN = 2049\nseed = 2\n'
                  'kpis = ["y"]\n' + _factors([(f"x{i}", bounds) for i in (1, 2, 3)]))
    res = run_function(read_spec(path), lambda X: Ishigami.evaluate(X))
    s1 = [_value(res.indices, f"x{i}", "S1")[0] for i in (1, 2, 3)]
    st = [_value(res.indices, f"x{i}", "ST")[0] for i in (1, 2, 3)]
    assert int(np.argmax(s1)) == 1 and int(np.argmax(st)) == 0
    assert np.allclose(s1, ISHIGAMI_S1, atol=0.05), s1
    assert np.allclose(st, ISHIGAMI_ST, atol=0.05), st


# ------------------------------------------------------------ integer and categorical factors


@pytest.mark.parametrize(("method", "N"),
                         [("sobol", 64), ("morris", 12), ("fast", 65), ("delta", 60)])
def test_integer_and_categorical_factors_map_consistently(tmp_path: Path, method: str,
                                                          N: int) -> None:
    path = _write(tmp_path / "mixed.toml",
                  f'[sensitivity]\nmethod = "{method}"\nN = {N}\nseed = 4\nkpis = ["y"]\n'
                  + _factors([("n", "bounds = [2, 5]\ninteger = true"),
                              ("rule", 'levels = ["equal", "by_population", "by_case_frequency"]'),
                              ("x", "bounds = [0.0, 1.0]")]))
    spec = read_spec(path)
    _, raw = sample(spec)
    points = to_points(spec, raw)
    assert points == to_points(spec, sample(spec)[1])  # same file, same design
    levels = ["equal", "by_population", "by_case_frequency"]
    for row, p in zip(raw, points, strict=True):
        assert type(p["n"]) is int and p["n"] == int(np.round(row[0])) and 2 <= p["n"] <= 5
        assert p["rule"] == levels[min(int(np.floor(row[1])), 2)]   # intervals [0,1) [1,2) [2,3]
        assert type(p["x"]) is float and p["x"] == row[2]
    assert {p["n"] for p in points} == {2, 3, 4, 5}
    assert {p["rule"] for p in points} == set(levels)
    X = _numeric(spec, points)  # what is analysed: the values used, categories as index + 0.5
    assert np.array_equal(X[:, 0], [p["n"] for p in points])
    assert np.array_equal(X[:, 1], [levels.index(p["rule"]) + 0.5 for p in points])


# ------------------------------------------------------------ N Street runs (tiny)

TINY_BASE = f"""
extends = "{INTEGRATED.as_posix()}"
name = "tiny N Street"
[run]
days = 60
warmup_days = 10
[territory]
n_grids = 12
n_areas = 2
[population]
n_enterprises = 300
n_residents = 3000
[staffing]
street_staff = 6
grid_workers = 12
"""

NSTREET_FACTORS = _factors([
    ("staffing.street_staff", "bounds = [3, 9]\ninteger = true"),
    ("levers.transfer_delay_days", "bounds = [1.0, 5.0]"),
    ("levers.joint_inspection", "levels = [false, true]"),
    ("territory.area_allocation", 'levels = ["equal", "by_population", "by_case_frequency"]'),
])
NSTREET_KPIS = ["response_time_mean_days", "detection_rate", "compliance_rate"]
FACTOR_PATHS = ["staffing.street_staff", "levers.transfer_delay_days", "levers.joint_inspection",
                "territory.area_allocation"]


def _nstreet_file(folder: Path, method: str, N: int) -> Path:
    _write(folder / "tiny_base.toml", TINY_BASE)
    return _write(folder / f"{method}.toml",
                  f'[sensitivity]\nname = "tiny {method}"\nbase = "tiny_base.toml"\n'
                  f'method = "{method}"\nN = {N}\nreplicates = 2\nseed = 11\n'
                  f"kpis = {json.dumps(NSTREET_KPIS)}\ndaily_kpi = \"compliance_rate\"\n"
                  + NSTREET_FACTORS)


def _cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(args)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def nstreet_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, int]]:
    """Sobol (N = 4) and Morris (N = 4) on a tiny N Street, 2 replicates, through the CLI.

    Sobol runs on 2 worker processes, Morris in-process (``--serial``): tiny runs are dominated
    by process start-up, and both executors must give the same results anyway.
    """
    folder = tmp_path_factory.mktemp("nstreet")
    runs = {}
    for method, N, executor in (("sobol", 4, ["--workers", "2"]), ("morris", 4, ["--serial"])):
        f = _nstreet_file(folder, method, N)
        out = folder / f"out_{method}"
        rc, stdout, stderr = _cli(["sensitivity", str(f), "--out", str(out), *executor,
                                   "--no-progress"])
        assert rc == 0, stderr
        points = N * (len(FACTOR_PATHS) + (2 if method == "sobol" else 1))
        runs[method] = (out, stdout, points)
    return runs


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_nstreet_run_writes_every_output(nstreet_runs, method: str) -> None:
    out, stdout, points = nstreet_runs[method]
    tables = ["indices", "seed_noise", "design", "design_means", "runs", "time_varying"]
    tables += ["convergence"] if method == "sobol" else []
    for name in tables:
        assert (out / f"{name}.csv").is_file(), name
        assert (out / f"{name}.parquet").is_file(), name
        n_rows = len(pd.read_csv(out / f"{name}.csv"))
        assert len(pd.read_parquet(out / f"{name}.parquet")) == n_rows, name
    assert not (out / "convergence.csv").exists() or method == "sobol"

    figs = {p.name for p in (out / "figures").glob("*.png")}
    expected = {f"indices_{k}.png" for k in NSTREET_KPIS} | {"time_varying.png"}
    expected |= {"convergence.png"} if method == "sobol" else {"morris_mu_star_sigma.png"}
    assert expected <= figs, figs
    assert all((out / "figures" / f).stat().st_size > 1000 for f in expected)

    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 2 * points and sorted(runs["run_id"]) == list(range(2 * points))
    assert len(list((out / "runs").glob("*.json"))) == 2 * points
    design = pd.read_csv(out / "design.csv")
    assert list(design.columns) == FACTOR_PATHS and len(design) == points
    assert len(pd.read_csv(out / "design_means.csv")) == points

    idx = pd.read_csv(out / "indices.csv", keep_default_na=False, na_values=[""])
    keys = {"S1", "ST"} if method == "sobol" else {"mu", "mu_star", "sigma"}
    for kpi in NSTREET_KPIS:
        for key in keys:
            sub = idx[(idx["kpi"] == kpi) & (idx["index"] == key)]
            assert list(sub["factor"]) == FACTOR_PATHS, (kpi, key)
            assert sub["value"].notna().all()
    noise = pd.read_csv(out / "seed_noise.csv")
    assert list(noise["kpi"]) == NSTREET_KPIS and (noise["replicates"] == 2).all()
    share = noise["seed_noise_share"]
    assert (share.dropna() >= 0).all() and share.notna().any()
    tv = pd.read_csv(out / "time_varying.csv")
    assert set(tv["factor"]) <= set(FACTOR_PATHS) and tv["day"].nunique() >= 2
    assert set(tv["index"]) == {"S1" if method == "sobol" else "mu_star"}
    if method == "sobol":
        conv = pd.read_csv(out / "convergence.csv")
        assert sorted(conv["n"].unique()) == [4] and set(conv["index"]) == {"S1", "ST"}

    timing = json.loads((out / "timing.json").read_text())
    assert timing["runs"] == 2 * points and timing["projected_s"] > 0 and timing["actual_s"] > 0
    assert "projected" in stdout and "actual" in stdout and "seed-noise share" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == f"sensitivity-{method}" and manifest["versions"]["SALib"]


def test_interrupted_run_resumes_with_identical_indices(nstreet_runs, tmp_path: Path) -> None:
    src, _, points = nstreet_runs["sobol"]
    out = tmp_path / "resumed"
    shutil.copytree(src, out)
    for name in ("indices.csv", "convergence.csv", "seed_noise.csv", "time_varying.csv",
                 "timing.json"):
        (out / name).unlink()  # as if the run stopped before the analysis
    lost = [1, 7, 2 * points - 1]
    for i in lost:
        (out / "runs" / f"{i:08d}.json").unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    log_before = (out / "events.log").read_text().splitlines()

    sobol_file = src.parent / "sobol.toml"  # first run on 2 processes, the rest in-process
    rc, _, stderr = _cli(["sensitivity", str(sobol_file), "--out", str(out), "--serial",
                          "--no-progress"])
    assert rc == 0, stderr
    log_after = (out / "events.log").read_text().splitlines()
    assert log_after[: len(log_before)] == log_before
    assert sorted(log_after[len(log_before):]) == sorted(f"done {i}" for i in lost)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")
            if p.name in kept} == kept
    for name in ("indices.csv", "convergence.csv", "seed_noise.csv", "time_varying.csv",
                 "runs.csv", "design.csv"):
        assert (out / name).read_bytes() == (src / name).read_bytes(), name


# ------------------------------------------------------------ bad files

HEAD = '[sensitivity]\nbase = "tiny_base.toml"\n'
TWO = _factors([("staffing.street_staff", "bounds = [3, 9]\ninteger = true"),
                ("levers.transfer_delay_days", "bounds = [1.0, 5.0]")])

STAFF = ("staffing.street_staff", "bounds = [3, 9]\ninteger = true")
DELAY = ("levers.transfer_delay_days", "bounds = [1.0, 5.0]")
LEVELS_RULE = 'levels = ["equal", "by_area"]'

BAD = {
    "n_not_power_of_two": (HEAD + 'method = "sobol"\nN = 12\n' + TWO, "sensitivity.N"),
    "lower_ge_upper": (HEAD + _factors([("staffing.street_staff", "bounds = [9, 3]"), DELAY]),
                       "factors[staffing.street_staff].bounds"),
    "lower_eq_upper": (HEAD + _factors([("levers.transfer_delay_days", "bounds = [2.0, 2.0]"),
                                        STAFF]),
                       "factors[levers.transfer_delay_days].bounds"),
    "unknown_path": (HEAD + TWO + _factors([("levers.joint_inspektion", "levels = [false, true]")]),
                     "factors[levers.joint_inspektion]"),
    "unknown_section": (HEAD + TWO + _factors([("leverz.joint_inspection", "bounds = [0, 1]")]),
                        "factors[leverz.joint_inspection]"),
    "unknown_method": (HEAD + 'method = "sobolx"\n' + TWO, "sensitivity.method"),
    "kpi_not_in_contract": (HEAD + 'kpis = ["response_time"]\n' + TWO, "sensitivity.kpis"),
    "daily_kpi_unknown": (HEAD + 'daily_kpi = "compliance"\n' + TWO, "sensitivity.daily_kpi"),
    "missing_base": ('[sensitivity]\nmethod = "sobol"\n' + TWO, "sensitivity.base"),
    "base_not_found": ('[sensitivity]\nbase = "nope.toml"\n' + TWO, "sensitivity.base"),
    "one_factor": (HEAD + _factors([STAFF]), "factors"),
    "bounds_and_levels": (HEAD + _factors([("staffing.street_staff",
                                            "bounds = [3, 9]\nlevels = [3, 9]"), DELAY]),
                          "factors[staffing.street_staff]"),
    "neither_bounds_nor_levels": (HEAD + TWO + _factors([("levers.three_colour", "")]),
                                  "factors[levers.three_colour]"),
    "one_level": (HEAD + TWO + _factors([("levers.three_colour", "levels = [true]")]),
                  "factors[levers.three_colour].levels"),
    "bad_level": (HEAD + TWO + _factors([("territory.area_allocation", LEVELS_RULE)]),
                  "factors[territory.area_allocation].levels[1]"),
    "upper_bound_out_of_range": (HEAD + TWO + _factors([("catalog.ambiguous_share",
                                                         "bounds = [0.05, 1.5]")]),
                                 "factors[catalog.ambiguous_share].bounds"),
    "delegated_above_catalogue": (HEAD + TWO + _factors([("levers.delegated_matters",
                                                          "bounds = [100, 600]\ninteger = true")]),
                                  "factors[levers.delegated_matters].bounds"),
    "float_for_integer_field": (HEAD + _factors([("staffing.street_staff", "bounds = [3.5, 9]"),
                                                 DELAY]),
                                "integer = true"),
    "duplicate_factor": (HEAD + TWO + _factors([STAFF]), "factors"),
    "unknown_key": (HEAD + 'metod = "morris"\n' + TWO, "sensitivity.metod"),
    "unknown_factor_key": (HEAD + TWO + _factors([("levers.three_colour", "level = [true]")]),
                           "factors[2].level"),
    "fast_n_too_small": (HEAD + 'method = "fast"\nN = 64\n' + TWO, "sensitivity.N"),
    "rbd_fast_n_too_small": (HEAD + 'method = "rbd_fast"\nN = 8\n' + TWO, "sensitivity.N"),
    "morris_one_trajectory": (HEAD + 'method = "morris"\nN = 1\n' + TWO, "sensitivity.N"),
    "morris_normal": (HEAD + 'method = "morris"\n' + TWO
                      + _factors([("casework.other_skill", 'bounds = [0.4, 0.05]\ndist = "norm"')]),
                      "factors[casework.other_skill].dist"),
    "triang_peak_one": (HEAD + TWO + _factors([("casework.other_skill",
                                                'bounds = [0.2, 0.6, 1.0]\ndist = "triang"')]),
                        "factors[casework.other_skill].bounds"),
    "logunif_nonpositive": (HEAD + TWO + _factors([("detection.patrol_rate",
                                                    'bounds = [0.0, 0.2]\ndist = "logunif"')]),
                            "factors[detection.patrol_rate].bounds"),
    "second_order_not_sobol": (HEAD + 'method = "morris"\nsecond_order = true\n' + TWO,
                               "sensitivity.second_order"),
    "no_kpis": (HEAD + "kpis = []\n" + TWO, "sensitivity.kpis"),
    "n_zero": (HEAD + "N = 0\n" + TWO, "sensitivity.N"),
    "replicates_string": (HEAD + 'replicates = "2"\n' + TWO, "sensitivity.replicates"),
    "no_sensitivity_table": (TWO, "sensitivity: expected a value"),
    "invalid_toml": (HEAD + "N = 1024 1024\n" + TWO, "not valid TOML"),
}


@pytest.fixture()
def bad_dir(tmp_path: Path) -> Path:
    _write(tmp_path / "tiny_base.toml", TINY_BASE)
    return tmp_path


def _assert_one_line(rc: int, stdout: str, stderr: str, needle: str) -> None:
    assert rc == 2, (rc, stderr)
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("reformsim: error: ") and "Traceback" not in stderr
    assert needle in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_exits_2_with_one_line_naming_the_field(
        bad_dir: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    text, needle = BAD[case]
    f = _write(bad_dir / f"{case}.toml", text)
    rc = cli.main(["sensitivity", str(f), "--out", str(bad_dir / "out"), "--serial",
                   "--no-progress"])
    captured = capsys.readouterr()
    _assert_one_line(rc, captured.out, captured.err, needle)
    assert not (bad_dir / "out").exists()  # nothing is written for a bad file


def test_bad_file_messages_are_specific(bad_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for case, hint in (("unknown_path", "did you mean 'joint_inspection'?"),
                       ("unknown_method", "did you mean 'sobol'?"),
                       ("unknown_key", "did you mean 'method'?"),
                       ("n_not_power_of_two", "e.g. 8 or 16"),
                       ("kpi_not_in_contract", "unknown KPI 'response_time'")):
        f = _write(bad_dir / f"{case}.toml", BAD[case][0])
        assert cli.main(["sensitivity", str(f), "--serial", "--no-progress"]) == 2
        assert hint in capsys.readouterr().err, case


def test_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "adir.toml").mkdir()
    (tmp_path / "gbk.toml").write_bytes("[sensitivity]\nname = '敏感性'\n".encode("gbk"))
    for name, needle in (("adir.toml", "got a directory"), ("gbk.toml", "expected UTF-8"),
                         ("missing.toml", "file not found")):
        rc = cli.main(["sensitivity", str(tmp_path / name), "--serial", "--no-progress"])
        captured = capsys.readouterr()
        _assert_one_line(rc, captured.out, captured.err, needle)


def test_bad_file_in_a_real_process_has_no_traceback(bad_dir: Path) -> None:
    f = _write(bad_dir / "bad.toml", BAD["unknown_path"][0])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "reformsim", "sensitivity", str(f)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=bad_dir)
    _assert_one_line(proc.returncode, proc.stdout, proc.stderr, "factors[levers.joint_inspektion]")


# ------------------------------------------------------------ shipped experiment files

BEHAVIOUR_SECTIONS = ("compliance", "detection", "routing", "inspection", "casework", "sanctions",
                      "coordination", "trust")


def _numeric_paths(model: type, prefix: str) -> set[str]:
    paths = set()
    for name, field in model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, bool) or isinstance(default, str):
            continue
        if isinstance(default, int | float):
            paths.add(f"{prefix}.{name}")
        elif isinstance(default, dict):
            paths |= {f"{prefix}.{name}.{k}" for k, v in default.items()
                      if isinstance(v, int | float) and not isinstance(v, bool)}
    return paths


def _base_value(base: Scenario, path: str):
    node = base.to_dict()
    for part in path.split("."):
        node = node[part]
    return node


@pytest.mark.parametrize(("name", "method", "points", "runs"), [
    ("sobol_staffing_power.toml", "sobol", 1024 * (10 + 2), 1024 * (10 + 2) * 2),
    ("morris_screening.toml", "morris", 20 * (64 + 1), 20 * (64 + 1) * 2),
])
def test_shipped_files_load_with_documented_sizes(name: str, method: str, points: int,
                                                  runs: int) -> None:
    spec, base = load_sensitivity(ROOT / "experiments" / name)
    s = spec.sensitivity
    assert s.method == method
    _, X = sample(spec)
    assert len(X) == points and len(X) * s.replicates == runs
    docs = (ROOT / "docs" / "sensitivity.md").read_text(encoding="utf-8")
    assert f"{points:,}" in docs and f"{runs:,}" in docs, (points, runs)
    for f in spec.factors:  # each range brackets the base value: ranges around the defaults
        v = _base_value(base, f.path)
        if f.levels is not None:
            assert v in f.levels, f.path
        else:
            assert f.bounds[0] <= v <= f.bounds[1], (f.path, v, f.bounds)
    paths = [f.path for f in spec.factors]
    if method == "sobol":
        assert 8 <= len(paths) <= 12 and s.N == 1024 and s.daily_kpi == "compliance_rate"
        for p in ("staffing.street_staff", "staffing.grid_workers", "territory.area_allocation",
                  "levers.delegated_matters", "catalog.ambiguous_share",
                  "levers.transfer_delay_days", "levers.joint_inspection",
                  "levers.first_violation_leniency"):
            assert p in paths, p
        assert any(p.startswith("staffing.seconded_officers.") for p in paths)
        assert any(p.startswith("casework.") and p.endswith("skill") for p in paths)
    else:
        expected = set().union(*(_numeric_paths(type(getattr(base, sec)), sec)
                                 for sec in BEHAVIOUR_SECTIONS))
        assert set(paths) == expected  # every numeric behaviour parameter, nothing else


def test_seconded_officer_path_sets_one_department() -> None:
    from reformsim.scenario_files import load_scenario

    base = load_scenario(INTEGRATED)
    sc = base.with_updates({"staffing.seconded_officers.urban_management_bureau": 30})
    assert sc.staffing.seconded_officers["urban_management_bureau"] == 30
    def others(s: Scenario) -> dict[str, int]:
        return {k: v for k, v in s.staffing.seconded_officers.items()
                if k != "urban_management_bureau"}

    assert others(sc) == others(base)
