"""Scaling series: N Street scaled to 1k, 10k, 100k enterprises (15 residents per firm).

Prints wall time per enterprise-year and peak memory per agent for each size. Staff, grids and grid
workers scale with the number of firms, so the workload per officer stays the same.

Usage: ``python benchmarks/scaling.py [--sizes 1000 10000 100000] [--design integrated]``
"""

from __future__ import annotations

import argparse
import json
import os
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
sys.path.insert(0, {bench!r})
from scaling import scaled
sc = scaled(reformsim.load_scenario(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
t0 = time.perf_counter()
res = reformsim.run(sc, seed=1)
wall = time.perf_counter() - t0
print(json.dumps({{"wall": wall, "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "cases": len(res.cases), "days": sc.run.days}}))
"""


def scaled(sc, firms: int, residents: int):
    """N Street scaled so that staff, grids and grid workers grow with the number of firms."""
    f = firms / sc.population.n_enterprises
    st = sc.staffing
    grids = max(sc.territory.n_areas, round(sc.territory.n_grids * f))
    return sc.with_updates({
        "population.n_enterprises": firms,
        "population.n_residents": residents,
        "territory.n_grids": grids,
        "territory.width_km": sc.territory.width_km * f**0.5,
        "territory.height_km": sc.territory.height_km * f**0.5,
        "staffing.grid_workers": max(1, round(st.grid_workers * f)),
        "staffing.street_staff": max(sc.territory.n_areas, round(st.street_staff * f)),
        "staffing.seconded_officers": {k: max(1, round(v * f)) for k, v in st.seconded_officers.items()},
        "staffing.retained_officers": {k: max(1, round(v * f)) for k, v in st.retained_officers.items()},
    })


def measure(scenario: str, firms: int, residents: int) -> dict:
    """Run one scaled scenario in a fresh single-threaded process."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    code = CHILD.format(bench=str(ROOT / "benchmarks"))
    out = subprocess.run([sys.executable, "-c", code, scenario, str(firms), str(residents)],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--design", default="integrated", choices=["integrated", "siloed"])
    p.add_argument("--residents-per-firm", type=int, default=15)
    args = p.parse_args()
    scenario = f"scenarios/n_street_{args.design}.toml"
    print(f"{'firms':>8s} {'residents':>10s} {'wall s':>8s} {'us/firm-year':>13s} {'peak MB':>8s} "
          f"{'bytes/agent':>12s} {'cases':>8s}")
    for n in args.sizes:
        r = measure(scenario, n, n * args.residents_per_firm)
        agents = n * (1 + args.residents_per_firm)
        per = r["wall"] / n / (r["days"] / 365) * 1e6
        print(f"{n:8d} {n * args.residents_per_firm:10d} {r['wall']:8.2f} {per:13.1f} "
              f"{r['peak_bytes'] / 2**20:8.0f} {r['peak_bytes'] / agents:12.0f} {r['cases']:8d}",
              flush=True)


if __name__ == "__main__":
    main()
