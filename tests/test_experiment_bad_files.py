"""Bad sweep experiment files: each gives one clear line and exit status 2, no traceback.

Every case is a small experiment file written into ``tmp_path`` with one realistic mistake; the
test checks that ``reformsim sweep FILE`` exits 2 with exactly one stderr line that starts with
``reformsim: error: <FILE>: `` and names the field (``factors``, ``design.n``,
``experiment.replicates``, ...). The base scenario is a tiny N Street, so that a case that were
wrongly accepted would finish in seconds instead of running the full street. Most cases go through
``cli.main`` in-process; two run in real interpreters (``python -m reformsim sweep``) to prove that
no traceback escapes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reformsim import cli
from reformsim.experiment import ExperimentError
from reformsim.experiment.spec import load_sweep

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "reformsim: error: "

#: a tiny base scenario (extends the shipped integrated design)
TINY = f"""
extends = "{(ROOT / 'scenarios' / 'n_street_integrated.toml').as_posix()}"
name = "tiny integrated"
[run]
days = 20
warmup_days = 5
[territory]
n_grids = 20
n_areas = 2
[population]
n_enterprises = 200
n_residents = 1000
[staffing]
street_staff = 4
grid_workers = 20
"""

EXP = '[experiment]\nbase = "tiny.toml"\n'
FACTOR = '[[factors]]\npath = "levers.delegated_matters"\nlevels = [100, 200]\n'

#: name -> (file text, substrings the one-line message must contain)
CASES: dict[str, tuple[str, list[str]]] = {
    "unknown_factor_path": (
        EXP + '[[factors]]\npath = "levers.delegated_matter"\nlevels = [1, 2]\n',
        ["factors: levers.delegated_matter:", "did you mean 'delegated_matters'"]),
    "unknown_factor_section": (
        EXP + '[[factors]]\npath = "leverz.joint_inspection"\nlevels = [true]\n',
        ["factors: leverz", "no such scenario field"]),
    "empty_levels": (
        EXP + '[[factors]]\npath = "levers.delegated_matters"\nlevels = []\n',
        ["factors[levers.delegated_matters].levels", "expected at least one level"]),
    "lhs_without_n": (
        EXP + '[design]\nkind = "lhs"\n[[factors]]\npath = "levers.delegated_matters"\n'
        "range = [100, 200]\n",
        ["design.n", "got none"]),
    "lhs_n_zero": (
        EXP + '[design]\nkind = "lhs"\nn = 0\n[[factors]]\npath = "levers.delegated_matters"\n'
        "range = [100, 200]\n",
        ["design.n", "got 0"]),
    "unknown_design_kind": (
        EXP + '[design]\nkind = "sobol"\n' + FACTOR,
        ["design.kind", "'sobol'"]),
    "replicates_zero": (
        '[experiment]\nbase = "tiny.toml"\nreplicates = 0\n' + FACTOR,
        ["experiment.replicates", "got 0"]),
    "replicates_string": (
        '[experiment]\nbase = "tiny.toml"\nreplicates = "3"\n' + FACTOR,
        ["experiment.replicates", "expected an integer"]),
    "negative_seed": (
        '[experiment]\nbase = "tiny.toml"\nseed = -1\n' + FACTOR,
        ["experiment.seed", "got -1"]),
    "range_low_above_high": (
        EXP + '[[factors]]\npath = "levers.delegated_matters"\nrange = [200, 100]\nsteps = 3\n',
        ["factors[levers.delegated_matters].range", "low < high"]),
    "range_low_equals_high": (
        EXP + '[[factors]]\npath = "levers.delegated_matters"\nrange = [100, 100]\nsteps = 3\n',
        ["factors[levers.delegated_matters].range", "low < high"]),
    "range_three_values": (
        EXP + '[[factors]]\npath = "levers.delegated_matters"\nrange = [1, 2, 3]\nsteps = 2\n',
        ["factors[levers.delegated_matters].range", "[low, high]"]),
    "levels_and_range": (
        EXP + '[[factors]]\npath = "levers.delegated_matters"\nlevels = [100]\nrange = [1, 2]\n',
        ["factors[levers.delegated_matters]", "'levels' or 'range'", "got both"]),
    "neither_levels_nor_range": (
        EXP + '[[factors]]\npath = "levers.delegated_matters"\n',
        ["factors[levers.delegated_matters]", "'levels' or 'range'", "got neither"]),
    "range_without_steps": (
        EXP + '[design]\nkind = "full_factorial"\n[[factors]]\npath = "levers.delegated_matters"\n'
        "range = [100, 200]\n",
        ["factors[levers.delegated_matters].steps", "full factorial", "got none"]),
    "steps_one": (
        EXP + '[[factors]]\npath = "levers.delegated_matters"\nrange = [100, 200]\nsteps = 1\n',
        ["factors[0].steps", "got 1"]),
    "level_of_wrong_type": (
        EXP + '[[factors]]\npath = "staffing.street_staff"\nlevels = ["many", 30]\n',
        ["factors: staffing.street_staff", "expected an integer", "'many'"]),
    # the bad level is neither the first nor the last design point
    "middle_level_of_wrong_type": (
        EXP + '[[factors]]\npath = "staffing.street_staff"\nlevels = [20, "many", 40]\n'
        '[[factors]]\npath = "levers.joint_inspection"\nlevels = [true, false]\n',
        ["factors: staffing.street_staff", "'many'"]),
    "lhs_level_of_wrong_type": (
        EXP + '[design]\nkind = "lhs"\nn = 12\n[[factors]]\npath = "staffing.street_staff"\n'
        'levels = [20, 30, "x", 40, 50]\n',
        ["factors: staffing.street_staff", "'x'"]),
    "range_not_integer_for_integer_field": (
        EXP + '[[factors]]\npath = "staffing.street_staff"\nrange = [10, 20]\nsteps = 3\n',
        ["factors: staffing.street_staff", "expected an integer"]),
    "invalid_level_combination": (
        EXP + '[[factors]]\npath = "levers.delegated_matters"\nlevels = [100, 100000, 200]\n',
        ["factors: levers.delegated_matters", "got 100000"]),
    "same_factor_twice": (
        EXP + FACTOR + '[[factors]]\npath = "levers.delegated_matters"\nlevels = [300]\n',
        ["factors[levers.delegated_matters].path", "twice"]),
    "no_factors": (
        EXP,
        ["factors: expected a value"]),
    "factors_as_table": (
        EXP + '[factors]\npath = "levers.delegated_matters"\nlevels = [1]\n',
        ["factors: expected a list"]),
    "unknown_key_in_factor": (
        EXP + '[[factors]]\npath = "levers.delegated_matters"\nlevel = [1]\n',
        ["factors[0].level", "got unknown key 'level'", "did you mean 'levels'"]),
    "unknown_kpi": (
        '[experiment]\nbase = "tiny.toml"\nkpis = ["respons_time_mean_days"]\n' + FACTOR,
        ["experiment.kpis", "'respons_time_mean_days'", "did you mean 'response_time_mean_days'"]),
    "empty_kpis": (
        '[experiment]\nbase = "tiny.toml"\nkpis = []\n' + FACTOR,
        ["experiment.kpis", "at least one KPI"]),
    "unknown_key_in_experiment": (
        '[experiment]\nbase = "tiny.toml"\nreplicate = 3\n' + FACTOR,
        ["experiment.replicate", "expected one of base, kpis, name, replicates, seed",
         "did you mean 'replicates'"]),
    "unknown_section": (
        EXP + '[desing]\nkind = "lhs"\n' + FACTOR,
        ["desing", "expected one of design, experiment, factors", "did you mean 'design'"]),
    "base_missing": (
        '[experiment]\nbase = "no_such_scenario.toml"\n' + FACTOR,
        ["experiment.base", "no_such_scenario.toml", "expected an existing scenario file"]),
    "base_not_given": (
        "[experiment]\nreplicates = 2\n" + FACTOR,
        ["experiment.base", "required"]),
    "base_invalid": (
        '[experiment]\nbase = "bad_base.toml"\n' + FACTOR,
        ["experiment.base", "bad_base.toml", "run.days"]),
    "invalid_toml": (
        '[experiment]\nbase = tiny.toml\n' + FACTOR,
        ["not valid TOML", "line 2"]),
}


def write_case(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.toml").write_text(TINY, encoding="utf-8")
    bad_base = TINY.replace("days = 20", "days = -5", 1)
    (folder / "bad_base.toml").write_text(bad_base, encoding="utf-8")
    path = folder / f"{name}.toml"
    path.write_text(CASES[name][0], encoding="utf-8")
    return path


def check_line(err: str, path: Path | str, needles: list[str]) -> None:
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(f"{PREFIX}{path}: "), (line, str(path))
    for needle in needles:
        assert needle in line, (needle, line)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


def test_tiny_base_and_a_good_file_are_valid(tmp_path: Path) -> None:
    """Guard: the cases differ from a valid file only by their mistake."""
    path = write_case(tmp_path, "invalid_toml")
    path.write_text(EXP + FACTOR, encoding="utf-8")
    spec, base, points = load_sweep(path)
    assert base.run.days == 20 and points == [{"levers.delegated_matters": 100},
                                             {"levers.delegated_matters": 200}]


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_sweep_bad_file(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_case(tmp_path, name)
    out = tmp_path / "out"
    status = cli.main(["sweep", str(path), "--out", str(out), "--serial", "--no-progress"])
    captured = capsys.readouterr()
    assert status == 2, captured
    assert captured.out == ""
    check_line(captured.err, path, CASES[name][1])
    assert not out.exists()  # refused before any store is created


@pytest.mark.parametrize("name", sorted(CASES))
def test_load_sweep_raises_experiment_error(name: str, tmp_path: Path) -> None:
    path = write_case(tmp_path, name)
    with pytest.raises(ExperimentError) as info:
        load_sweep(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: ")
    for needle in CASES[name][1]:
        assert needle in msg, (needle, msg)


@pytest.mark.parametrize(("kind", "needles"), [
    ("missing", ["expected an existing experiment file", "got no such file"]),
    ("directory", ["expected an experiment file", "got a directory"]),
    ("not_utf8", ["expected UTF-8 text"]),
])
def test_cli_sweep_unreadable_file(kind: str, needles: list[str], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"{kind}.toml"
    if kind == "directory":
        path.mkdir()
    elif kind == "not_utf8":
        path.write_bytes(b"\xff\xfe[experiment]\n")
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    check_line(captured.err, path, needles)


#: the cases also run through `python -m reformsim sweep` (started together: ~2 s of imports each)
SUBPROCESS_CASES = ["level_of_wrong_type", "invalid_toml"]


def test_subprocess_sweep_bad_files_exit_2_without_traceback(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    procs = {}
    for name in SUBPROCESS_CASES:
        path = write_case(tmp_path / name, name)
        procs[name] = (path, subprocess.Popen(
            [sys.executable, "-m", "reformsim", "sweep", str(path),
             "--out", str(tmp_path / name / "out"), "--no-progress"],
            cwd=tmp_path, env=env, text=True, encoding="utf-8",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        for name, (path, proc) in procs.items():
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 2, (name, out, err)
            assert out == ""
            check_line(err, path, CASES[name][1])
            assert not (tmp_path / name / "out").exists()
    finally:
        for _, proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
