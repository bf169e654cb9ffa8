"""Where the time goes: a cProfile of one N Street run, summed by schedule step.

Usage: ``python benchmarks/profile_summary.py [--scenario scenarios/n_street_integrated.toml]``
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STEPS = {
    "1 compliance": "mechanisms/compliance.py",
    "2 residents": "mechanisms/residents.py",
    "3 detection": "mechanisms/detection.py",
    "4 routing": "mechanisms/routing.py",
    "5 inspection planning": "mechanisms/inspection.py",
    "6 casework": "mechanisms/casework.py",
    "7 sanctions/follow-up": "mechanisms/sanctions.py",
    "8 beliefs": "mechanisms/beliefs.py",
    "9 observation": "metrics.py",
}


def profile(scenario: str, seed: int = 1) -> pstats.Stats:
    """Profile one run (model build included)."""
    sys.path.insert(0, str(ROOT / "src"))
    import reformsim
    import reformsim.results  # noqa: F401  (import before profiling: the public API is lazy)

    sc = reformsim.load_scenario(ROOT / scenario)
    prof = cProfile.Profile()
    prof.enable()
    reformsim.run(sc, seed=seed)
    prof.disable()
    return pstats.Stats(prof)


def by_step(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds of each step's top-level ``step``/``route`` call."""
    out = {}
    for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        for step, suffix in STEPS.items():
            if file.endswith(suffix) and func in ("step", "route", "observe"):
                out[step] = out.get(step, 0.0) + ct
    return dict(sorted(out.items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="scenarios/n_street_integrated.toml")
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    stats = profile(args.scenario)
    total = max(v[3] for v in stats.stats.values())
    print(f"profile of {args.scenario} (cProfile adds overhead; total {total:.2f} s)")
    for step, secs in by_step(stats).items():
        print(f"  {step:24s} {secs:7.3f} s  {secs / total:6.1%}")
    print(f"\ntop {args.top} functions by own time:")
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
