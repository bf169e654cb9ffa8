"""Command-line interface: a thin layer over the public functions.

``reformsim run SCENARIO --seed N --out DIR``, ``reformsim validate FILE...``,
``reformsim demo``, ``reformsim kpis``. User errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from reformsim.errors import ReformsimError
from reformsim.metrics import KPI_UNITS
from reformsim.results import RunResult, run
from reformsim.scenario import load_scenario

DEMO_SCENARIOS = ("n_street_siloed.toml", "n_street_integrated.toml")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"reformsim: error: {message} (see 'reformsim {self.prog.split()[-1]} -h')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = _Parser(prog="reformsim", description="Simulate enforcement reform designs.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run one scenario and write its outputs")
    r.add_argument("scenario", help="scenario TOML file")
    r.add_argument("--seed", type=int, default=None, help="run seed (default: the scenario's)")
    r.add_argument("--out", default=None, help="directory for summary.json, *.parquet, manifest.json")
    r.add_argument("--quiet", action="store_true", help="do not print the KPI table")
    v = sub.add_parser("validate", help="check scenario files")
    v.add_argument("files", nargs="+")
    d = sub.add_parser("demo", help="run N Street siloed and integrated, print KPIs side by side")
    d.add_argument("--scenarios", default="scenarios", help="directory with the N Street files")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--out", default="out/demo")
    sub.add_parser("kpis", help="list the KPI names and units")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ReformsimError as exc:
        print(f"reformsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("reformsim: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "validate":
        for f in args.files:
            sc = load_scenario(f)
            print(f"{f}: ok ({sc.name}, hash {sc.content_hash()[:12]})")
        return 0
    if args.command == "demo":
        return _cmd_demo(args)
    for name, unit in KPI_UNITS.items():
        print(f"{name:28s} {unit}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    sc = load_scenario(args.scenario)
    t0 = time.perf_counter()
    res = run(sc, seed=args.seed)
    elapsed = time.perf_counter() - t0
    if args.out:
        res.write(args.out)
    if not args.quiet:
        print(format_table({sc.name: res}))
        where = f", outputs in {args.out}" if args.out else ""
        print(f"\n{sc.name}: seed {res.manifest['seed']}, {elapsed:.2f} s{where}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    results: dict[str, RunResult] = {}
    for name in DEMO_SCENARIOS:
        path = Path(args.scenarios) / name
        sc = load_scenario(path)
        t0 = time.perf_counter()
        res = run(sc, seed=args.seed)
        print(f"ran {sc.name} (seed {args.seed}) in {time.perf_counter() - t0:.2f} s", flush=True)
        res.write(Path(args.out) / path.stem)
        results[sc.name] = res
    print()
    print(format_table(results))
    print(f"\nOne seed each; outputs in {args.out}/. Paired comparisons with confidence intervals "
          "over replicates come with `reformsim compare` (planned).")
    return 0


def format_table(results: dict[str, RunResult]) -> str:
    """KPI table with one column per run."""
    names = list(results)
    width = max(12, *(len(n) for n in names))
    lines = [f"{'KPI':28s} " + " ".join(f"{n:>{width}s}" for n in names)]
    for kpi in KPI_UNITS:
        cells = [_fmt(results[n].summary.get(kpi)) for n in names]
        lines.append(f"{kpi:28s} " + " ".join(f"{c:>{width}s}" for c in cells))
    return "\n".join(lines)


def _fmt(x: float | int | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, int):
        return f"{x:,d}"
    return f"{x:.3f}" if abs(x) < 1000 else f"{x:,.0f}"
