"""The CLI writes the output contract of DESIGN.md §5."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

import reformsim

from .conftest import ROOT


def _write_small(tmp_path) -> str:
    path = tmp_path / "small.toml"
    path.write_text(
        f'extends = "{(ROOT / "scenarios" / "n_street_integrated.toml").as_posix()}"\n'
        '[run]\ndays = 60\nwarmup_days = 10\n'
        '[population]\nn_enterprises = 400\nn_residents = 3000\n'
    )
    return str(path)


def test_run_writes_the_contract(tmp_path) -> None:
    scenario = _write_small(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "reformsim", "run", scenario, "--seed", "4",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "response_time_mean_days" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert set(reformsim.CONTRACT_KPIS) <= set(summary)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 4
    assert len(manifest["scenario_hash"]) == 64
    assert manifest["versions"]["mesa"].startswith("3.")
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 60 and ts["day"].tolist() == list(range(60))
    cases = pd.read_parquet(out / "cases.parquet")
    for col in ("case_id", "enterprise", "domain", "matter", "source", "detected_at", "ready_at",
                "started_at", "on_scene_at", "closed_at", "status", "owner", "first_owner",
                "transfers", "sanction", "waiver", "penalty", "deadline_at", "rectified"):
        assert col in cases.columns, col
    assert set(cases["status"].astype(str)) <= {"open", "closed", "orphaned"}
    # the API returns the same numbers
    res = reformsim.run(reformsim.load_scenario(scenario), seed=4)
    assert {k: (None if v != v else v) for k, v in res.summary.items()} == summary


def test_validate_ok_and_kpis_list() -> None:
    proc = subprocess.run([sys.executable, "-m", "reformsim", "validate",
                           "scenarios/n_street_siloed.toml", "scenarios/n_street_integrated.toml"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.count(": ok") == 2
    kpis = subprocess.run([sys.executable, "-m", "reformsim", "kpis"], capture_output=True,
                          text=True, cwd=ROOT)
    assert kpis.returncode == 0 and "orphan_share" in kpis.stdout


def test_bad_option_exits_2_with_one_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "reformsim", "run", "x.toml", "--seed", "abc"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--seed" in proc.stderr
