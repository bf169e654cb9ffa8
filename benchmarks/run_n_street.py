"""Benchmark: median wall time and peak memory of one full N Street run (365 days).

Usage::

    python benchmarks/run_n_street.py [--repeats 5] [--scenario scenarios/n_street_integrated.toml ...]

Each run happens in a fresh subprocess pinned to one thread (``OMP_NUM_THREADS=1`` etc.), so the
peak resident memory (ru_maxrss) is that run's own. Wall time covers building the model and
running it (not interpreter start-up, imports or loading the compiled kernels:
``reformsim.jit.compile_all()`` pays those first, about 1 s once per process). A second figure,
"warm", is the median of runs made one after another in one process after a warm-up run: the
per-run cost inside an experiment, sweep or sensitivity study, where each worker process makes
many runs. Targets:
issue 2 <= 2 s per run; issue 4 <= 0.3 s.

Wall time on a shared machine moves by about ±30 % with other tenants' load. Where Linux ``perf``
is available, ``--instructions`` also prints the user-space instructions of one run (build and
run: a child that runs minus one that only loads the scenario), which repeat within about 1 %
whatever the load: the figure to compare two versions of the code by.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
import reformsim
import reformsim.results  # import everything before timing (the public API is lazy)
import reformsim.jit
reformsim.jit.compile_all()  # numba's import and the kernels' disk cache: once per process
sc = reformsim.load_scenario(sys.argv[1])
if len(sys.argv) > 3:  # load only (the baseline of an instruction count)
    raise SystemExit(0)
t0 = time.perf_counter()
res = reformsim.run(sc, seed=int(sys.argv[2]))
wall = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": wall, "peak_mb": peak_mb, "cases": len(res.cases)}))
"""

#: runs in one process after a warm-up run: the per-run cost inside a long experiment or sweep
WARM_CHILD = """
import json, sys, time
import reformsim
import reformsim.results
sc = reformsim.load_scenario(sys.argv[1])
reformsim.run(sc, seed=0)  # warm-up: first-call costs (version lookups, caches) are paid here
walls = []
for seed in range(1, int(sys.argv[2]) + 1):
    t0 = time.perf_counter()
    reformsim.run(sc, seed=seed)
    walls.append(time.perf_counter() - t0)
print(json.dumps(walls))
"""


ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
           PYTHONHASHSEED="0")


def one_run(scenario: str, seed: int) -> dict[str, float]:
    """Wall time, peak memory and case count of one run in a fresh single-threaded process."""
    out = subprocess.run([sys.executable, "-c", CHILD, scenario, str(seed)], capture_output=True,
                         text=True, env=ENV, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def warm_runs(scenario: str, repeats: int) -> list[float]:
    """Wall times of ``repeats`` runs in one single-threaded process after a warm-up run."""
    out = subprocess.run([sys.executable, "-c", WARM_CHILD, scenario, str(repeats)],
                         capture_output=True, text=True, env=ENV, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _count(args: list[str]) -> int | None:
    """User-space instructions of a child process under ``perf stat``; None if perf fails."""
    cmd = ["perf", "stat", "-x", ",", "-e", "instructions:u", sys.executable, "-c", CHILD, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT)
    for line in out.stderr.splitlines():
        field = line.split(",")[0]
        if "instructions" in line and field.isdigit():
            return int(field)
    return None


def instructions(scenario: str, seed: int) -> int | None:
    """User-space instructions of one run (build and run), or None without a working ``perf``.

    The count of a child that runs the scenario minus that of a child that only loads it.
    """
    if shutil.which("perf") is None:
        return None
    full = _count([scenario, str(seed)])
    base = _count([scenario, str(seed), "load-only"])
    return None if full is None or base is None else full - base


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--instructions", action="store_true",
                   help="also count user-space instructions of one run (needs Linux perf)")
    p.add_argument("--scenario", nargs="*", default=["scenarios/n_street_siloed.toml",
                                                     "scenarios/n_street_integrated.toml"])
    args = p.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"{'scenario':40s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'peak MB':>8s} {'cases':>7s}")
    for sc in args.scenario:
        runs = [one_run(sc, seed) for seed in range(1, args.repeats + 1)]
        walls = [r["wall"] for r in runs]
        print(f"{sc:40s} {statistics.median(walls):9.3f} {min(walls):7.3f} {max(walls):7.3f} "
              f"{max(r['peak_mb'] for r in runs):8.0f} {int(statistics.median(r['cases'] for r in runs)):7d}")
        warm = warm_runs(sc, args.repeats)
        print(f"  warm (runs 1..{args.repeats} in one process after a warm-up run): median "
              f"{statistics.median(warm):.3f} s, min {min(warm):.3f} s")
        if args.instructions:
            n = instructions(sc, 1)
            print(f"  instructions of one run (seed 1): "
                  f"{'n/a (perf not available)' if n is None else f'{n / 1e6:,.0f} M'}")


if __name__ == "__main__":
    main()
