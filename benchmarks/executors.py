"""Benchmark: the same batch of N Street runs on each executor; rates, agreement, parent memory.

Usage::

    python benchmarks/executors.py [--runs 12] [--quick] [--workers 2] [--no-dask] [--rounds 1]
                                   [--scenario scenarios/n_street_integrated.toml]
                                   [--memory-runs 8 32]

Runs ``reformsim.experiment.replicate`` (``out=None``) with the same root seed on

1. the process pool with 1 worker,
2. the process pool with ``--workers`` workers (default 2),
3. a Dask ``LocalCluster`` with ``--workers`` single-threaded workers (``dask="local"``),

and prints, for each, the wall time of the whole call, runs/second with start-up, the start-up
cost measured separately (fresh pool or cluster until every worker has imported the model), the
time to the first result, and the steady-state rate taken from the completion times of the runs
(``(n - w) / (t_n - t_w)`` for ``w`` workers: start-up and the first round excluded). Then the
speed-up from 1 to ``w`` workers (target >= 1.8x for w = 2), Dask relative to the pool (target:
within 10 %), and whether the three result tables (runs, summary, bands) are identical.
Each row also shows the CPU-seconds used by this process and its workers, and the load that
other processes put on the machine meanwhile (from /proc/stat): on a shared machine that load
decides the figures, so rerun when it is near 0. ``--rounds N`` repeats the three batches and
reports the median ratios.

Finally the parent's memory against the number of runs (``--memory-runs``, quick scenario, pool of
2 workers), each measured in a fresh interpreter: the tracemalloc peak of the parent during the
call and its ru_maxrss. "executor" streams results to a callback that drops them (what the
executors keep); "replicate" and "replicate+store" are the whole API call (which returns every
run's record and builds the tables, in memory or from the store).

``--quick`` uses a reduced N Street (~1/10 of the population, 150 days, as in the tests). This
script prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: The reduced N Street of the tests (tests/conftest.py SMALL), as dotted-path updates.
QUICK: dict[str, Any] = {
    "run.days": 150, "run.warmup_days": 30,
    "territory.n_grids": 40, "territory.n_areas": 4,
    "population.n_enterprises": 900, "population.n_residents": 12000,
    "staffing.street_staff": 8, "staffing.grid_workers": 40,
    "staffing.seconded_officers.urban_management_bureau": 3,
    "staffing.seconded_officers.market_supervision_bureau": 2,
    "staffing.seconded_officers.ecology_environment_bureau": 1,
}


def _scenario(path: str, quick: bool):
    from reformsim.scenario_files import load_scenario

    sc = load_scenario(ROOT / path if not Path(path).is_absolute() else path)
    return sc.with_updates(QUICK) if quick else sc


# ---------------------------------------------------------------- start-up, measured on its own


def _warm(hold: float) -> tuple[int, float]:
    """What a worker pays before its first run: import the runner and the model."""
    import reformsim.experiment.runner  # noqa: F401
    import reformsim.model  # noqa: F401

    ready = time.time()
    time.sleep(hold)  # keep this worker busy so the next warm-up task goes to another one
    return os.getpid(), ready


def startup_processes(workers: int) -> tuple[float, float]:
    """Seconds until every worker of a fresh spawn pool has imported the model; shutdown seconds."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from reformsim.experiment.executors import _single_thread

    t0 = time.time()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_single_thread)
    futs = [pool.submit(_warm, 1.0) for _ in range(workers)]
    res = [f.result() for f in futs]
    up = max(ready for _, ready in res) - t0
    t1 = time.time()
    pool.shutdown(wait=True)
    return up, time.time() - t1


def startup_dask(workers: int) -> tuple[float, float]:
    """Seconds until a fresh LocalCluster's workers have all imported the model; close seconds."""
    import dask
    from dask.distributed import Client, LocalCluster

    t0 = time.time()
    # as run_dask does: without it the nannies (which run in this process) would also leave
    # MALLOC_TRIM_THRESHOLD_=65536 in os.environ, and every worker started later inherits it
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(cluster)
    res = client.run(_warm, 0.0)
    up = max(ready for _, ready in res.values()) - t0
    t1 = time.time()
    client.close()
    cluster.close()
    return up, time.time() - t1


# ---------------------------------------------------------------- one batch through the API


def timed_batch(sc: Any, runs: int, seed: int, **options: Any) -> tuple[Any, dict[str, Any]]:
    """``replicate(sc, runs)`` with the given RunOptions; completion times of every run."""
    from reformsim.experiment import RunOptions, api, replicate

    log: dict[str, Any] = {"done": []}
    real = api.execute

    def execute(tasks, on_result, **kw):  # the API's own call, with timestamps around it
        log["start"] = time.perf_counter()

        def stamped(record):
            log["done"].append(time.perf_counter())
            on_result(record)

        real(tasks, stamped, **kw)
        log["end"] = time.perf_counter()

    api.execute = execute
    try:
        t0 = time.perf_counter()
        res = replicate(sc, replicates=runs, seed=seed, out=None,
                        options=RunOptions(progress=False, **options))
        log["wall"] = time.perf_counter() - t0
    finally:
        api.execute = real
    log["t0"] = t0
    return res, log


def _machine_busy() -> float:
    """CPU-seconds the whole machine has spent busy (Linux /proc/stat; NaN elsewhere)."""
    try:
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:9]]
    except OSError:
        return float("nan")
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def _own_busy() -> float:
    """CPU-seconds of this process and its reaped children (pool and Dask worker processes)."""
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def steady_rate(done: list[float], workers: int) -> float:
    """Runs/second after the first round: ``(n - w) / (t_n - t_w)``."""
    n = len(done)
    w = min(workers, n - 1)
    if n < 2 or done[-1] <= done[w - 1]:
        return float("nan")
    return (n - w) / (done[-1] - done[w - 1])


def identical(a: Any, b: Any) -> bool:
    import pandas.testing as pdt

    try:
        for name in ("runs", "summary", "bands"):
            pdt.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    except AssertionError as exc:
        print(f"  differs: {str(exc).splitlines()[0]}")
        return False
    return True


# ---------------------------------------------------------------- parent memory (child process)


def memory_child(mode: str, runs: int, scenario: str) -> None:
    """Run in a fresh interpreter; print the parent's tracemalloc peak and ru_maxrss as JSON."""
    import resource
    import tracemalloc

    from reformsim.experiment import RunOptions, replicate
    from reformsim.experiment.executors import execute
    from reformsim.experiment.runner import RunTask

    sc = _scenario(scenario, quick=True)
    opts = RunOptions(executor="processes", workers=2, progress=False)
    if mode == "executor":
        tasks = [RunTask(run_id=k, arm="a", replicate=k, scenario=sc.to_dict(), root_seed=1)
                 for k in range(runs)]
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        execute(tasks, lambda record: None, executor="processes", workers=2)
    else:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        with tempfile.TemporaryDirectory() as tmp:
            replicate(sc, replicates=runs, seed=1,
                      out=Path(tmp) / "x" if mode == "replicate+store" else None, options=opts)
    peak = tracemalloc.get_traced_memory()[1] - base
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak / 2**20, "rss_mb": rss}))


def memory_table(scenario: str, sizes: list[int]) -> None:
    print("\nParent memory vs number of runs (quick scenario, process pool of 2 workers, "
          "fresh interpreter each)")
    print(f"{'what':18s} {'runs':>5s} {'tracemalloc peak MB':>20s} {'ru_maxrss MB':>13s}")
    got: dict[str, list[float]] = {}
    for mode in ("executor", "replicate", "replicate+store"):
        for n in sizes:
            out = subprocess.run([sys.executable, __file__, "--memory-child", mode, str(n),
                                  "--scenario", scenario],
                                 capture_output=True, text=True, cwd=ROOT, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            got.setdefault(mode, []).append(r["peak_mb"])
            print(f"{mode:18s} {n:5d} {r['peak_mb']:20.2f} {r['rss_mb']:13.0f}")
    lo, hi = sizes[0], sizes[-1]
    for mode, peaks in got.items():
        per_run = (peaks[-1] - peaks[0]) / (hi - lo) * 1024
        print(f"growth {lo} -> {hi} runs, {mode:16s}: {peaks[-1] - peaks[0]:+.2f} MB "
              f"({per_run:+.1f} KB per run)")


def measure(sc: Any, args: argparse.Namespace, label: str, nw: int,
            opts: dict[str, Any]) -> dict[str, Any]:
    """Start-up on its own, then the batch through the API; one table row."""
    up, down = startup_dask(nw) if "dask" in opts else startup_processes(nw)
    busy0, own0 = _machine_busy(), _own_busy()
    res, log = timed_batch(sc, args.runs, args.seed, **opts)
    own = _own_busy() - own0
    return {"label": label, "res": res, "wall": log["wall"], "up": up, "down": down,
            "first": log["done"][0] - log["start"], "rate": args.runs / log["wall"],
            "steady": steady_rate(log["done"], nw), "cpu": own,
            "other": (_machine_busy() - busy0 - own) / log["wall"],
            "overhead": log["wall"] - (log["end"] - log["start"])}


def print_round(rows: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}" if title else "")
    print(f"{'executor':24s} {'wall s':>7s} {'runs/s':>7s} {'start-up s':>10s} {'close s':>8s} "
          f"{'1st result s':>12s} {'steady runs/s':>14s} {'CPU s':>6s} {'other load':>10s}")
    for r in rows:
        print(f"{r['label']:24s} {r['wall']:7.2f} {r['rate']:7.3f} {r['up']:10.2f} "
              f"{r['down']:8.2f} {r['first']:12.2f} {r['steady']:14.3f} {r['cpu']:6.1f} "
              f"{r['other']:10.2f}")
    print("planning + tables in the parent (wall outside the executor): "
          + ", ".join(f"{r['overhead']:.2f} s" for r in rows))


# ---------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=12, help="runs per executor (default 12)")
    p.add_argument("--quick", action="store_true", help="reduced N Street (~1/10, 150 days)")
    p.add_argument("--workers", type=int, default=2, help="workers of the parallel executors")
    p.add_argument("--seed", type=int, default=1, help="root seed of the batch")
    p.add_argument("--scenario", default="scenarios/n_street_integrated.toml")
    p.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat the three batches; ratios are medians over rounds")
    p.add_argument("--memory-runs", type=int, nargs="*", default=[8, 32],
                   help="batch sizes for the memory check (none: skip it)")
    p.add_argument("--memory-child", nargs=2, metavar=("MODE", "RUNS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]), args.scenario)
        return

    from reformsim.experiment.executors import default_workers

    w = args.workers
    sc = _scenario(args.scenario, args.quick)
    try:
        from importlib.metadata import version

        dask_v = f"dask {version('distributed')}"
    except Exception:  # noqa: BLE001
        dask_v, args.no_dask = "no dask", True
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          f"({default_workers()} usable), Python {platform.python_version()}, {dask_v}")
    quick = " (quick: reduced population)" if args.quick else ""
    print(f"batch: {args.runs} runs of {args.scenario}{quick}, {sc.run.days} days, "
          f"{sc.population.n_enterprises} firms, root seed {args.seed}")

    configs: list[tuple[str, int, dict[str, Any]]] = [
        ("processes, 1 worker", 1, {"executor": "processes", "workers": 1}),
        (f"processes, {w} workers", w, {"executor": "processes", "workers": w}),
    ]
    if not args.no_dask:
        configs.append((f"dask local, {w} workers", w, {"dask": "local", "workers": w}))

    rounds: list[list[dict[str, Any]]] = []
    for i in range(args.rounds):
        rows = [measure(sc, args, label, nw, opts) for label, nw, opts in configs]
        rounds.append(rows)
        print_round(rows, f"round {i + 1} of {args.rounds}" if args.rounds > 1 else "")
    print("\n".join([
        "wall: the whole replicate() call; runs/s = runs / wall (start-up included).",
        "start-up, close: a fresh pool or cluster until every worker has imported the model, "
        "measured separately.",
        "steady: (n - w) / (t_n - t_w) from the completion times (start-up and the first round "
        "excluded).",
        "CPU: CPU-seconds used by this process and its workers during the call (runs, imports, "
        "scheduler).",
        "other load: CPUs kept busy by other processes during the call (/proc/stat); above ~0.1 "
        "the rates are disturbed.",
    ]))
    worst = max(r["other"] for rows in rounds for r in rows)
    if worst > 0.1:
        print(f"WARNING: other processes kept up to {worst:.2f} CPUs busy during the batches; "
              "rerun on an idle machine for representative rates.")

    def ratios(a: int, b: int, key: str, unit: str = "") -> str:
        vals = [rows[b][key] / rows[a][key] for rows in rounds]
        each = (f" (rounds: {', '.join(f'{v:.2f}{unit}' for v in vals)})"
                if len(vals) > 1 else "")
        return f"{statistics.median(vals):.2f}{unit}{each}"

    print(f"\nspeed-up 1 -> {w} workers: {ratios(0, 1, 'steady', 'x')} steady-state; "
          f"{ratios(0, 1, 'rate', 'x')} with start-up (target >= 1.8x)")
    if len(configs) > 2:
        print(f"dask / {w}-worker pool: {ratios(1, 2, 'steady')} steady-state; "
              f"{ratios(1, 2, 'rate')} with start-up (target: within 10 %, i.e. >= 0.90)")
    ref = rounds[0][0]["res"]
    same = all(identical(ref, r["res"]) for rows in rounds for r in rows)
    print("result tables (runs, summary, bands) identical across executors: "
          f"{'yes' if same else 'NO'}")

    if args.memory_runs:
        memory_table(args.scenario, sorted(args.memory_runs))


if __name__ == "__main__":
    main()
