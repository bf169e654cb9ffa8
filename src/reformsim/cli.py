"""Command-line interface: a thin layer over the public functions.

``reformsim run SCENARIO --seed N --out DIR``, ``reformsim validate FILE...``,
``reformsim compare A.toml B.toml --replicates 20``, ``reformsim replicate A.toml``,
``reformsim sweep experiments/X.toml``, ``reformsim sensitivity experiments/Y.toml``,
``reformsim demo``, ``reformsim kpis``, ``reformsim export-district SCENARIO --out DIR``.
User errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reformsim.errors import ReformsimError, ScenarioError
from reformsim.scenario import Scenario
from reformsim.scenario_files import load_scenario

if TYPE_CHECKING:
    from reformsim.results import RunResult

DEMO_SCENARIOS = ("n_street_siloed.toml", "n_street_integrated.toml")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"reformsim: error: {message} (see 'reformsim {self.prog.split()[-1]} -h')\n")


def _seed(text: str) -> int:
    """Parse a ``--seed`` value: a non-negative integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = _Parser(prog="reformsim", description="Simulate enforcement reform designs.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run one scenario and write its outputs")
    r.add_argument("scenario", help="scenario TOML file")
    r.add_argument("--seed", type=_seed, default=None, help="run seed (default: the scenario's)")
    r.add_argument("--out", default=None, help="directory for summary.json, *.parquet, manifest.json")
    r.add_argument("--quiet", action="store_true", help="do not print the KPI table")
    v = sub.add_parser("validate", help="check scenario files (one error line per bad file)")
    v.add_argument("files", nargs="+")
    c = sub.add_parser("compare", help="run arms with common random numbers; paired CIs")
    c.add_argument("scenarios", nargs="+", help="two or more scenario files; the first is the baseline")
    _experiment_options(c, replicates=True)
    rp = sub.add_parser("replicate", help="run one scenario R times; means with CIs")
    rp.add_argument("scenario")
    _experiment_options(rp, replicates=True)
    sw = sub.add_parser("sweep", help="run a sweep experiment file (factorial or LHS)")
    sw.add_argument("experiment", help="experiment TOML file")
    _experiment_options(sw, replicates=False)
    sa = sub.add_parser("sensitivity", help="global sensitivity analysis (SALib) of a [sensitivity] file")
    sa.add_argument("file", help="sensitivity TOML file")
    _experiment_options(sa, replicates=False)
    d = sub.add_parser("demo", help="N Street siloed vs integrated: 20 paired replicates")
    d.add_argument("--scenarios", default="scenarios", help="directory with the N Street files")
    _experiment_options(d, replicates=True, default_out="out/demo")
    sub.add_parser("kpis", help="list the KPI names and units")
    ex = sub.add_parser("export-district",
                        help="write a scenario's catalogue and territory as CSV files")
    ex.add_argument("scenario", help="scenario TOML file")
    ex.add_argument("--out", required=True, help="directory for <name>_catalog.csv and "
                    "<name>_territory.csv")
    ex.add_argument("--seed", type=_seed, default=None, help="run seed (default: the scenario's)")
    return p


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _experiment_options(p: argparse.ArgumentParser, replicates: bool,
                        default_out: str | None = None) -> None:
    if replicates:
        p.add_argument("--replicates", type=_positive, default=20, help="replicates per arm")
        p.add_argument("--seed", type=_seed, default=0, help="root seed of the replicate seeds")
    p.add_argument("--out", default=default_out,
                   help="experiment directory (default out/<kind>-<design hash>); rerun to resume")
    p.add_argument("--workers", type=_positive, default=None, help="processes or Dask workers")
    p.add_argument("--dask", default=None, metavar="local|tcp://HOST:PORT",
                   help="run on Dask: a local cluster or a running scheduler")
    p.add_argument("--serial", action="store_true", help="run in this process, one run at a time")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


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
        return _cmd_validate(args.files)
    if args.command in ("demo", "compare", "replicate", "sweep"):
        return _cmd_experiment(args)
    if args.command == "sensitivity":
        return _cmd_sensitivity(args)
    if args.command == "export-district":
        return _cmd_export_district(args)
    from reformsim.metrics import KPI_UNITS

    for name, unit in KPI_UNITS.items():
        print(f"{name:28s} {unit}")
    return 0


def _cmd_validate(files: Sequence[str]) -> int:
    """Check every file; one line per file (errors on stderr); status 2 if any is bad."""
    status = 0
    for f in files:
        try:
            sc = load_scenario(f)
        except ReformsimError as exc:
            print(f"reformsim: error: {exc}", file=sys.stderr)
            status = 2
            continue
        print(f"{f}: ok ({sc.name}, hash {sc.content_hash()[:12]})")
    return status


def _run_scenario(path: str | Path, seed: int | None) -> tuple[Scenario, RunResult, float]:
    """Load and run one file; build-time scenario errors are reported against the file."""
    from reformsim.results import run

    sc = load_scenario(path)
    t0 = time.perf_counter()
    try:
        res = run(sc, seed=seed)
    except ScenarioError as exc:
        if exc.source is None:
            raise ScenarioError(exc.detail, source=str(path)) from None
        raise
    return sc, res, time.perf_counter() - t0


def _write(res: RunResult, out: str | Path) -> None:
    """Write a run's outputs; an unusable --out directory is a one-line user error."""
    try:
        res.write(out)
    except OSError as exc:
        raise ReformsimError(
            f"--out: expected a writable directory, got {str(out)!r} ({exc.strerror or exc})"
        ) from None


def _cmd_run(args: argparse.Namespace) -> int:
    sc, res, elapsed = _run_scenario(args.scenario, args.seed)
    if args.out:
        _write(res, args.out)
    if not args.quiet:
        print(format_table({sc.name: res}))
        where = f", outputs in {args.out}" if args.out else ""
        print(f"\n{sc.name}: seed {res.manifest['seed']}, {elapsed:.2f} s{where}")
    return 0


def _cmd_export_district(args: argparse.Namespace) -> int:
    from reformsim.district_csv import export_district

    sc = load_scenario(args.scenario)
    try:
        paths = export_district(sc, args.out, seed=args.seed, stem=Path(args.scenario).stem)
    except OSError as exc:
        raise ReformsimError(
            f"--out: expected a writable directory, got {args.out!r} ({exc.strerror or exc})"
        ) from None
    for path in paths:
        print(path)
    return 0


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from reformsim.experiment import RunOptions
    from reformsim.sensitivity import run_sensitivity
    from reformsim.sensitivity.report import format_result

    options = RunOptions(executor="serial" if args.serial else "processes", workers=args.workers,
                         dask=args.dask, progress=not args.no_progress)
    res = run_sensitivity(args.file, out=args.out or "auto", options=options)
    print(format_result(res))
    print(f"tables (CSV, Parquet) and figures in {res.out}/")
    return 0


def _cmd_experiment(args: argparse.Namespace) -> int:
    from reformsim.experiment import RunOptions, compare, replicate, sweep
    from reformsim.experiment.api import main_kpis
    from reformsim.experiment.report import format_comparison, format_sweep

    options = RunOptions(executor="serial" if args.serial else "processes", workers=args.workers,
                         dask=args.dask, progress=not args.no_progress)
    out = args.out or "auto"
    t0 = time.perf_counter()
    if args.command == "sweep":
        res = sweep(args.experiment, out=out, options=options)
        print(format_sweep(res.summary, res.kpis))
    else:
        if args.command == "demo":
            files = [Path(args.scenarios) / n for n in DEMO_SCENARIOS]
        else:
            files = list(args.scenarios) if args.command == "compare" else [args.scenario]
        if args.command == "compare" and len(files) < 2:
            raise ReformsimError(f"compare: expected two or more scenario files, got {len(files)}")
        fn = replicate if args.command == "replicate" else compare
        target = files[0] if args.command == "replicate" else files
        res = fn(target, replicates=args.replicates, seed=args.seed, out=out, options=options)
        print(format_comparison(res.summary, res.comparison, main_kpis(None)))
    n = len(res.runs)
    print(f"\n{n} runs in {time.perf_counter() - t0:.1f} s; tables (CSV, Parquet) and figures in "
          f"{res.out}/")
    return 0


def format_table(results: dict[str, RunResult]) -> str:
    """KPI table with one column per run."""
    from reformsim.metrics import KPI_UNITS

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
