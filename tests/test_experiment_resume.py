"""Resuming experiments: a killed ``reformsim compare`` picks up where it stopped.

A real ``python -m reformsim compare`` is killed with SIGKILL after a few runs have been stored
(while it simulates the next run), then the same command is run again: the stored runs must be
kept as they are (same bytes, inode and mtime; no second "done" line), the missing ones computed,
and the final tables must equal those of an uninterrupted run of the same command (started in
parallel, into another directory). A different design in the same directory is refused with one
line naming ``--out``. The Python API resumes too: deleted run files, and only those, are
recomputed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from reformsim import cli
from reformsim.experiment import RunOptions, compare

from .conftest import SMALL_ARM_TOML, small, subprocess_env

ROOT = Path(__file__).resolve().parents[1]
REPLICATES = 10
ARMS = 2
N_RUNS = REPLICATES * ARMS
TIMEOUT = 120  # seconds: bound on every wait, so a hang fails instead of blocking





def run_files(out: Path) -> dict[str, Path]:
    """The stored run files (temporary files of an interrupted write excluded)."""
    return {p.name: p for p in sorted((out / "runs").glob("[0-9]*.json"))} if out.exists() else {}


def done_lines(out: Path) -> list[str]:
    log = out / "events.log"
    return log.read_text().splitlines() if log.exists() else []


def stored_ids(out: Path) -> list[int]:
    return sorted(int(Path(name).stem) for name in run_files(out))


def logged_ids(out: Path) -> list[int]:
    return sorted(int(line.removeprefix("done ")) for line in done_lines(out))


def snapshot(out: Path) -> dict[str, tuple[bytes, int, int]]:
    """Each run file's bytes, inode and mtime (ns)."""
    snap = {}
    for name, p in run_files(out).items():
        st = p.stat()
        snap[name] = (p.read_bytes(), st.st_ino, st.st_mtime_ns)
    return snap


def assert_same_tables(a: Path, b: Path, names: tuple[str, ...]) -> None:
    for name in names:
        pd.testing.assert_frame_equal(pd.read_csv(a / name), pd.read_csv(b / name),
                                      check_exact=True)


@dataclass
class Resumed:
    folder: Path
    out: Path
    reference: Path
    argv: list[str]
    before: dict[str, tuple[bytes, int, int]]
    lines_before: list[str]
    rerun: subprocess.CompletedProcess[str]


def _compare_cmd(folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "reformsim", "compare", str(folder / "siloed.toml"),
            str(folder / "integrated.toml"), "--replicates", str(REPLICATES), "--seed", "7",
            "--out", str(out), "--serial", "--no-progress", *extra]


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def resumed(tmp_path_factory: pytest.TempPathFactory) -> Resumed:
    folder = tmp_path_factory.mktemp("resume")
    for arm in ("siloed", "integrated"):
        base = (ROOT / "scenarios" / f"n_street_{arm}.toml").as_posix()
        text = SMALL_ARM_TOML.format(base=base, arm=f"resume {arm}")
        (folder / f"{arm}.toml").write_text(text, encoding="utf-8")
    out, reference = folder / "out", folder / "reference"
    env = subprocess_env()
    logs = {name: (folder / f"{name}.stdout").open("w") for name in ("killed", "reference")}
    # the uninterrupted run, in parallel with the killed one and its rerun
    ref = subprocess.Popen(_compare_cmd(folder, reference), cwd=folder, env=env,
                           stdout=logs["reference"], stderr=subprocess.STDOUT,
                           start_new_session=True)
    victim = subprocess.Popen(_compare_cmd(folder, out), cwd=folder, env=env,
                              stdout=logs["killed"], stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (len(run_files(out)) >= 3 and logged_ids(out) == stored_ids(out)):
            assert victim.poll() is None, "the experiment finished before it could be killed"
            assert time.monotonic() < deadline, "no run finished in time"
            time.sleep(0.01)
        # Kill during the simulation of the next run, not while a run is being stored: a kill
        # between a run file's rename and its "done" line is repaired on resume (see
        # test_resume_repairs_a_log_line_lost_to_a_kill), not what this test is about. Runs are
        # stored every `gap` seconds; the last one just was, so the kill lands at ~40% of the
        # next run.
        mtimes = sorted(p.stat().st_mtime_ns for p in run_files(out).values())
        gap = min(b - a for a, b in zip(mtimes, mtimes[1:], strict=False)) / 1e9
        time.sleep(0.4 * gap)
        _kill(victim)
        assert victim.returncode == -signal.SIGKILL
        before = snapshot(out)
        lines_before = done_lines(out)
        assert 3 <= len(before) < N_RUNS, len(before)
        rerun = subprocess.run(_compare_cmd(folder, out), cwd=folder, env=env, capture_output=True,
                               text=True, timeout=TIMEOUT)
        assert ref.wait(timeout=TIMEOUT) == 0, (folder / "reference.stdout").read_text()
    finally:
        _kill(victim)
        _kill(ref)
        for fh in logs.values():
            fh.close()
    return Resumed(folder, out, reference, _compare_cmd(folder, out), before, lines_before, rerun)


def test_rerun_completes(resumed: Resumed) -> None:
    assert resumed.rerun.returncode == 0, resumed.rerun.stderr
    assert "Traceback" not in resumed.rerun.stderr
    assert f"{N_RUNS} runs in" in resumed.rerun.stdout


def test_killed_run_left_a_consistent_store(resumed: Resumed) -> None:
    """What the killed process left: every stored run is complete and logged once."""
    ids = sorted(int(Path(n).stem) for n in resumed.before)
    assert sorted(int(line.split()[1]) for line in resumed.lines_before) == ids
    for data, _, _ in resumed.before.values():
        record = json.loads(data)  # complete JSON: written atomically
        assert set(record) >= {"run_id", "arm", "replicate", "summary", "series"}


def test_stored_runs_are_not_rerun(resumed: Resumed) -> None:
    after = snapshot(resumed.out)
    for name, (data, ino, mtime) in resumed.before.items():
        assert name in after, name
        assert after[name][0] == data, name
        assert after[name][1] == ino, name
        assert after[name][2] == mtime, name
    counts = Counter(done_lines(resumed.out))
    assert [line for line, n in counts.items() if n > 1] == []
    assert done_lines(resumed.out)[: len(resumed.lines_before)] == resumed.lines_before


def test_no_run_is_missing(resumed: Resumed) -> None:
    assert sorted(run_files(resumed.out)) == [f"{i:08d}.json" for i in range(N_RUNS)]
    lines = done_lines(resumed.out)
    assert len(lines) == N_RUNS
    assert sorted(int(line.removeprefix("done ")) for line in lines) == list(range(N_RUNS))
    runs = pd.read_csv(resumed.out / "runs.csv")
    assert list(runs["run_id"]) == list(range(N_RUNS))


def test_tables_equal_an_uninterrupted_run(resumed: Resumed) -> None:
    assert_same_tables(resumed.out, resumed.reference,
                       ("runs.csv", "summary.csv", "comparison.csv"))
    ref_manifest = json.loads((resumed.reference / "manifest.json").read_text())
    manifest = json.loads((resumed.out / "manifest.json").read_text())
    assert manifest["design_hash"] == ref_manifest["design_hash"]


def test_different_design_in_the_same_out_is_refused(resumed: Resumed,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = resumed.out
    before, lines = snapshot(out), done_lines(out)
    manifest = (out / "manifest.json").read_bytes()
    # a real interpreter: other replicates
    argv = _compare_cmd(resumed.folder, out)
    argv[argv.index("--replicates") + 1] = str(REPLICATES - 1)
    proc = subprocess.run(argv, cwd=resumed.folder, env=subprocess_env(), capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    err = proc.stderr.splitlines()
    assert len(err) == 1, proc.stderr
    assert err[0].startswith("reformsim: error: --out ") and str(out) in err[0]
    # in-process: another seed
    argv = list(resumed.argv[3:])
    argv[argv.index("--seed") + 1] = "8"
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.splitlines()
    assert len(err) == 1 and err[0].startswith("reformsim: error: --out "), captured.err
    # nothing touched
    assert snapshot(out) == before
    assert done_lines(out) == lines
    assert (out / "manifest.json").read_bytes() == manifest


# ---------------------------------------------------------------- the Python API


@pytest.fixture
def no_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the figures (~3 s a call): the tables are what resuming must get right."""
    from reformsim.experiment import plots

    monkeypatch.setattr(plots, "write_figures", lambda result, folder: [])


SHORT = {"run": {"days": 60, "warmup_days": 10}}


@pytest.mark.usefixtures("no_figures")
def test_api_compare_resumes_only_missing_runs(tmp_path: Path) -> None:
    arms = [small("n_street_siloed.toml", SHORT), small("n_street_integrated.toml", SHORT)]
    opts = RunOptions(executor="serial", progress=False)
    out = tmp_path / "exp"
    first = compare(arms, replicates=4, seed=5, out=out, options=opts)
    assert len(done_lines(out)) == 8
    csvs = {n: (out / n).read_bytes() for n in ("runs.csv", "summary.csv", "comparison.csv")}

    deleted = [1, 5, 6]
    for i in deleted:
        (out / "runs" / f"{i:08d}.json").unlink()
    kept = snapshot(out)
    second = compare(arms, replicates=4, seed=5, out=out, options=opts)
    new = done_lines(out)[8:]
    assert sorted(new) == [f"done {i}" for i in deleted]
    assert {n: v for n, v in snapshot(out).items() if n in kept} == kept
    assert sorted(run_files(out)) == [f"{i:08d}.json" for i in range(8)]
    pd.testing.assert_frame_equal(first.runs, second.runs, check_exact=True)
    pd.testing.assert_frame_equal(first.summary, second.summary, check_exact=True)
    pd.testing.assert_frame_equal(first.comparison, second.comparison, check_exact=True)
    assert {n: (out / n).read_bytes() for n in csvs} == csvs

    # nothing missing: nothing recomputed
    third = compare(arms, replicates=4, seed=5, out=out, options=opts)
    assert len(done_lines(out)) == 11
    pd.testing.assert_frame_equal(first.runs, third.runs, check_exact=True)


@pytest.mark.usefixtures("no_figures")
def test_resume_repairs_a_log_line_lost_to_a_kill(tmp_path: Path) -> None:
    arms = [small("n_street_siloed.toml", SHORT), small("n_street_integrated.toml", SHORT)]
    opts = RunOptions(executor="serial", progress=False)
    out = tmp_path / "exp"
    compare(arms, replicates=2, seed=5, out=out, options=opts)
    # the state a kill leaves right after the last run file was renamed into place
    lines = done_lines(out)
    (out / "events.log").write_text("".join(f"{line}\n" for line in lines[:-1]))
    compare(arms, replicates=2, seed=5, out=out, options=opts)
    assert logged_ids(out) == list(range(4))
