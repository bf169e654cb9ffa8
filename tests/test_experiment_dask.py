"""Dask: an experiment on a real scheduler survives losing a worker.

A ``dask scheduler`` and two ``dask worker`` processes (one thread each) run on 127.0.0.1 on free
ports. ``python -m reformsim compare ... --dask tcp://127.0.0.1:PORT`` is started; once some runs
are stored, one worker (its whole process group: nanny and worker) is killed with SIGKILL. The
scheduler re-runs the lost worker's tasks on the other one, so the experiment must still finish
with every run, and its tables must equal those of a serial run of the same experiment (run in
this process through the Python API while the surviving worker finishes). Every wait is bounded,
and every process started here is killed at the end, whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from reformsim.experiment import RunOptions, compare, plots

from .conftest import SMALL_ARM_TOML, subprocess_env

ROOT = Path(__file__).resolve().parents[1]
REPLICATES = 10
N_RUNS = 2 * REPLICATES
KILL_AFTER = 4  # stored runs before a worker is killed
TIMEOUT = 120  # seconds: bound on every wait





def _wait_for(what: str, check, timeout: float = TIMEOUT, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process started in its own session, and all its children."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


@dataclass
class Cluster:
    folder: Path
    address: str = ""
    scheduler: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    others: list[subprocess.Popen] = field(default_factory=list)
    logs: list = field(default_factory=list)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        self.logs.append(log)
        env = {**subprocess_env(single_thread=True),
               "DASK_TEMPORARY_DIRECTORY": str(self.folder / "dask-tmp")}
        return subprocess.Popen(argv, cwd=self.folder, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def n_workers(self) -> int:
        from distributed import Client

        with Client(self.address, timeout="20s", set_as_default=False) as client:
            return len(client.scheduler_info()["workers"])

    def stop(self) -> None:
        for proc in [*self.others, *self.workers, *([self.scheduler] if self.scheduler else [])]:
            _kill_group(proc)
        for log in self.logs:
            log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("dask")
    c = Cluster(folder)
    try:
        sched_file = folder / "scheduler.json"
        c.scheduler = c.start("scheduler", [
            sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
            "--port", "0", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
            "--scheduler-file", str(sched_file),
            "--idle-timeout", "600s"])

        def address() -> str:
            assert c.scheduler.poll() is None, c.log("scheduler")
            try:
                return json.loads(sched_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                return ""

        c.address = _wait_for("the scheduler", address)
        assert c.address.startswith("tcp://127.0.0.1:"), c.address
        for i in range(2):
            c.workers.append(c.start(f"worker{i}", [
                sys.executable, "-m", "distributed.cli.dask_worker", c.address, "--nthreads", "1",
                "--nworkers", "1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                "--host", "127.0.0.1", "--name", f"w{i}",
                "--local-directory", str(folder / f"w{i}"), "--death-timeout", "60",
                # import the model before registering (not on the first task)
                "--preload", "reformsim.model"]))
        _wait_for("two workers", lambda: c.n_workers() == 2, poll=0.3)
        yield c
    finally:
        c.stop()


def run_ids(out: Path) -> list[int]:
    return sorted(int(p.stem) for p in (out / "runs").glob("[0-9]*.json")) if out.exists() else []


def test_experiment_survives_a_killed_worker(cluster: Cluster,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = cluster.folder
    for arm in ("siloed", "integrated"):
        base = (ROOT / "scenarios" / f"n_street_{arm}.toml").as_posix()
        text = SMALL_ARM_TOML.format(base=base, arm=f"dask {arm}")
        (folder / f"{arm}.toml").write_text(text, encoding="utf-8")

    def cmd(out: Path, *how: str) -> list[str]:
        return [sys.executable, "-m", "reformsim", "compare", str(folder / "siloed.toml"),
                str(folder / "integrated.toml"), "--replicates", str(REPLICATES), "--seed", "11",
                "--out", str(out), "--no-progress", *how]

    out, reference = folder / "dask_out", folder / "serial_out"
    exp = cluster.start("experiment", cmd(out, "--dask", cluster.address))
    cluster.others.append(exp)

    def some_done() -> bool:
        assert exp.poll() is None, f"experiment ended early:\n{cluster.log('experiment')}"
        return len(run_ids(out)) >= KILL_AFTER

    _wait_for(f"{KILL_AFTER} stored runs", some_done, poll=0.02)
    victim = cluster.workers[0]
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    n_before = len(run_ids(out))
    assert n_before < N_RUNS, "the experiment finished before a worker could be killed"
    # the serial reference, in this process (figures skipped: ~3 s), while the surviving worker
    # finishes the experiment
    monkeypatch.setattr(plots, "write_figures", lambda result, folder: [])
    compare([folder / "siloed.toml", folder / "integrated.toml"], replicates=REPLICATES, seed=11,
            out=reference, options=RunOptions(executor="serial", progress=False))

    assert exp.wait(timeout=TIMEOUT) == 0, cluster.log("experiment")
    assert "Traceback" not in cluster.log("experiment")
    assert f"{N_RUNS} runs in" in cluster.log("experiment")
    assert cluster.n_workers() == 1  # the kill took effect: the scheduler lost that worker
    assert cluster.workers[1].poll() is None

    assert run_ids(out) == list(range(N_RUNS))
    done = (out / "events.log").read_text().splitlines()
    counts = Counter(done)
    assert sorted(counts) == sorted(f"done {i}" for i in range(N_RUNS))
    assert max(counts.values()) == 1, [d for d, n in counts.items() if n > 1]

    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == N_RUNS and list(runs["run_id"]) == list(range(N_RUNS))
    assert runs["replicate"].tolist() == list(range(REPLICATES)) * 2
    for name in ("runs.csv", "summary.csv", "comparison.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / name), pd.read_csv(reference / name),
                                      check_exact=True)
    hashes = [json.loads((d / "manifest.json").read_text())["design_hash"]
              for d in (out, reference)]
    assert hashes[0] == hashes[1]
