"""Docking: reformsim (vectorised) against the plain-Mesa reference (benchmarks/reference/).

Two implementations of one model must agree (Axtell, Axelrod, Epstein & Cohen 1996, "Aligning
simulation models: a case study and results"). Both run a reduced N Street — population, grids
and staff scaled down in proportion — for the same seeds (so each pair of runs starts from the
same world; the daily random numbers differ) and the distributions of the main KPIs are compared:

* two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``); with many KPIs and designs the
  threshold is Bonferroni-corrected: a KPI disagrees if ``p < alpha / (number of tests)``
  (family-wise alpha 0.05 by default);
* overlap of the two 95% confidence intervals of the mean (Student t); no overlap = disagreement.

Usage::

    python benchmarks/docking.py                 # 30 seeds, 1,000 firms, 10,000 residents, 180 days
    python benchmarks/docking.py --seeds 50 --jobs 2
    python benchmarks/docking.py --onset-factor 2   # a mis-specified reference: must fail

Prints the table (KPI, mean and sd of each implementation, KS p-value, CI overlap, verdict), the
wall time per run of each implementation and their ratio, and exits with status 1 if any main KPI
disagrees. As a library: :func:`dock` returns the table as a DataFrame.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``benchmarks.reference`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.reference import ReferenceModel  # noqa: E402

from reformsim.model import ReformModel  # noqa: E402
from reformsim.scenario import Scenario  # noqa: E402
from reformsim.scenario_files import deep_merge, resolve_extends, scenario_from_dict  # noqa: E402

#: The KPIs compared (definitions: docs/outputs.md, reformsim.metrics.Recorder.summary).
MAIN_KPIS: tuple[str, ...] = (
    "violations_true", "cases_recorded", "detection_rate", "response_time_mean_days",
    "cycle_time_mean_days", "orphan_share", "transfers_per_case", "inspections_total",
    "enterprise_visits_per_firm", "joint_inspection_share", "compliance_rate", "penalties_issued",
    "waivers_issued", "colour_share_green", "officer_utilization",
)
DEFAULT_SCENARIOS: tuple[str, ...] = ("scenarios/n_street_siloed.toml",
                                      "scenarios/n_street_integrated.toml")
#: The reduced N Street of the full docking run.
DEFAULT_SIZES: dict[str, int] = {"n_enterprises": 1000, "n_residents": 10000, "days": 180,
                                 "warmup_days": 60}
IMPLEMENTATIONS = ("reformsim", "reference")


# --------------------------------------------------------------------------- scenarios

#: Mechanisms the plain-Mesa reference does not implement (issue 6: summons and support requests,
#: task switching, handling errors, trust, training, power-list review) are switched off, so that
#: docking compares the same rules: compliance, detection, routing, inspection and casework.
NOT_IN_REFERENCE: dict[str, Any] = {
    "levers": {"whistle_summons": False, "training_hours_per_month": 0.0,
               "exchange_sessions_per_year": 0.0, "power_review_period_days": 0},
    "casework": {"switch_cost": 0.0, "error_rate_at_zero_skill": 0.0},
    "coordination": {"technical_share": 0.0},
    "trust": {"weight": 0.0},
}


def reduced_scenario(path: str | Path, n_enterprises: int, n_residents: int, days: int,
                     warmup_days: int | None = None) -> Scenario:
    """A shipped scenario scaled down in proportion to ``n_enterprises``, with the mechanisms the
    reference lacks switched off (:data:`NOT_IN_REFERENCE`).

    Grids, grid workers, street staff and seconded officers scale with the number of enterprises
    (as ``tests/conftest.py`` shrinks N Street, but for every department); retained officers are
    kept at least 1 so every department that keeps matters can work. Areas, domains, departments
    and the catalogue are unchanged.
    """
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = ROOT / path
    data = resolve_extends(path)
    base = scenario_from_dict(data)
    f = n_enterprises / max(base.population.n_enterprises, 1)
    st = base.staffing
    n_areas = base.territory.n_areas
    n_grids = max(n_areas, round(base.territory.n_grids * f))
    if warmup_days is None:
        warmup_days = min(base.run.warmup_days, days // 3)
    override: dict[str, Any] = {
        "run": {"days": days, "warmup_days": warmup_days},
        "territory": {"n_grids": n_grids},
        "population": {"n_enterprises": n_enterprises, "n_residents": n_residents},
        "staffing": {
            "street_staff": max(n_areas, round(st.street_staff * f)),
            "grid_workers": max(1, round(st.grid_workers * f)),
            "seconded_officers": {k: round(v * f) for k, v in st.seconded_officers.items()},
            "retained_officers": {k: max(1, round(v * f)) for k, v in st.retained_officers.items()},
        },
    }
    data = deep_merge(deep_merge(data, NOT_IN_REFERENCE), override)
    return scenario_from_dict(data, source=str(path))


# --------------------------------------------------------------------------- runs


def run_one(implementation: str, scenario: Scenario, seed: int,
            reference_options: dict[str, Any] | None = None) -> tuple[dict[str, float], float]:
    """One run of one implementation: (summary, wall seconds for build + run + summary)."""
    t0 = time.perf_counter()
    if implementation == "reformsim":
        model = ReformModel(scenario, seed=seed)
        model.run()
        summary = model.recorder.summary()
    elif implementation == "reference":
        summary = ReferenceModel(scenario, seed=seed, **(reference_options or {})).run().summary()
    else:
        raise ValueError(
            f"implementation: expected one of {IMPLEMENTATIONS}, got {implementation!r}")
    return summary, time.perf_counter() - t0


def _task(args: tuple[str, str, Scenario, int, dict[str, Any] | None]) -> dict[str, Any]:
    design, implementation, scenario, seed, options = args
    summary, wall = run_one(implementation, scenario, seed, options)
    return {"design": design, "implementation": implementation, "seed": seed, "wall_s": wall,
            **summary}


def run_all(scenario_paths: Sequence[str | Path], seeds: Iterable[int], sizes: dict[str, int],
            jobs: int = 1, reference_options: dict[str, Any] | None = None,
            implementations: Sequence[str] = IMPLEMENTATIONS) -> pd.DataFrame:
    """Every (design, implementation, seed) run; one row each with its KPIs and wall time.

    ``design`` is the scenario file's stem; ``sizes`` go to :func:`reduced_scenario`.
    """
    seeds = list(seeds)
    tasks = []
    for path in scenario_paths:
        sc = reduced_scenario(path, **sizes)
        design = Path(path).stem
        for seed in seeds:
            for impl in implementations:
                options = reference_options if impl == "reference" else None
                tasks.append((design, impl, sc, seed, options))
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            rows = list(pool.map(_task, tasks))
    else:
        rows = [_task(t) for t in tasks]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- comparison


def _ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    if x.size < 2:
        return (float(x.mean()), float(x.mean())) if x.size else (math.nan, math.nan)
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def compare(runs: pd.DataFrame, kpis: Sequence[str] = MAIN_KPIS, alpha: float = 0.05
            ) -> pd.DataFrame:
    """Compare the two implementations' KPI distributions, design by design.

    A KPI *disagrees* if the KS p-value is below ``alpha / (number of tests)`` (Bonferroni over
    every KPI and design in ``runs``) or if the two 95% confidence intervals of the mean do not
    overlap. Runs where a KPI is NaN (an empty denominator) are left out of that KPI.
    """
    designs = list(dict.fromkeys(runs["design"]))
    n_tests = len(designs) * len(kpis)
    ks_threshold = alpha / n_tests
    rows = []
    for design in designs:
        sub = runs[runs["design"] == design]
        for kpi in kpis:
            a = sub.loc[sub["implementation"] == "reformsim", kpi].to_numpy(float)
            b = sub.loc[sub["implementation"] == "reference", kpi].to_numpy(float)
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            if a.size == 0 or b.size == 0:
                p = 1.0 if a.size == b.size else 0.0
                overlap = a.size == b.size
            elif np.ptp(a) == 0 and np.ptp(b) == 0:  # constant in both (e.g. no joint visits)
                p = 1.0 if a[0] == b[0] else 0.0
                overlap = bool(a[0] == b[0])
            else:
                with warnings.catch_warnings():  # ties: exact p falls back to asymptotic
                    warnings.simplefilter("ignore", RuntimeWarning)
                    p = float(stats.ks_2samp(a, b).pvalue)
                (la, ha), (lb, hb) = _ci(a), _ci(b)
                overlap = la <= hb and lb <= ha
            agree = p >= ks_threshold and overlap
            mean_a = float(a.mean()) if a.size else math.nan
            mean_b = float(b.mean()) if b.size else math.nan
            rows.append({
                "design": design, "kpi": kpi,
                "mean_reformsim": mean_a,
                "sd_reformsim": float(a.std(ddof=1)) if a.size > 1 else math.nan,
                "mean_reference": mean_b,
                "sd_reference": float(b.std(ddof=1)) if b.size > 1 else math.nan,
                "rel_diff": (mean_b - mean_a) / abs(mean_a) if mean_a else math.nan,
                "n": int(min(a.size, b.size)),
                "ks_p": p, "ci_overlap": bool(overlap),
                "verdict": "agree" if agree else "DISAGREE",
            })
    out = pd.DataFrame(rows)
    out.attrs["ks_threshold"] = ks_threshold
    out.attrs["alpha"] = alpha
    return out


def timing(runs: pd.DataFrame) -> pd.DataFrame:
    """Median wall time per run of each implementation, per design, and the speed ratio."""
    t = runs.groupby(["design", "implementation"])["wall_s"].median().unstack()
    t["ratio"] = t["reference"] / t["reformsim"]
    return t


def dock(scenario_paths: Sequence[str | Path] = DEFAULT_SCENARIOS,
         seeds: int | Iterable[int] = 30, sizes: dict[str, int] | None = None, *,
         kpis: Sequence[str] = MAIN_KPIS, alpha: float = 0.05, jobs: int = 1,
         reference_options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run both implementations and return the docking table (one row per design and KPI).

    Parameters
    ----------
    scenario_paths
        Scenario files (each is reduced with :func:`reduced_scenario`).
    seeds
        A number of seeds (``1..seeds``) or the seeds themselves.
    sizes
        ``n_enterprises``, ``n_residents``, ``days`` and optionally ``warmup_days``
        (default :data:`DEFAULT_SIZES`).
    reference_options
        Keyword arguments for :class:`~benchmarks.reference.ReferenceModel` (e.g.
        ``{"onset_rate_factor": 2.0}`` for a deliberately mis-specified reference).

    Returns
    -------
    DataFrame
        Columns ``design, kpi, mean_reformsim, sd_reformsim, mean_reference, sd_reference,
        rel_diff, n, ks_p, ci_overlap, verdict``. ``attrs["runs"]`` holds every run,
        ``attrs["timing"]`` the wall times, ``attrs["ks_threshold"]`` the corrected threshold.
    """
    seed_list = list(range(1, seeds + 1)) if isinstance(seeds, int) else list(seeds)
    runs = run_all(scenario_paths, seed_list, dict(sizes or DEFAULT_SIZES), jobs=jobs,
                   reference_options=reference_options)
    table = compare(runs, kpis, alpha)
    table.attrs["runs"] = runs
    table.attrs["timing"] = timing(runs)
    return table


# --------------------------------------------------------------------------- output


def format_table(table: pd.DataFrame) -> str:
    """The docking table as fixed-width text."""
    lines = [f"{'design':22s} {'KPI':27s} {'reformsim mean':>14s} {'(sd)':>10s} "
             f"{'reference mean':>14s} {'(sd)':>10s} {'diff':>7s} {'KS p':>7s} "
             f"{'CI overlap':>10s}  verdict"]
    for r in table.itertuples():
        diff = f"{100 * r.rel_diff:+6.1f}%" if math.isfinite(r.rel_diff) else "     - "
        lines.append(
            f"{r.design:22s} {r.kpi:27s} {r.mean_reformsim:14.4g} {r.sd_reformsim:10.3g} "
            f"{r.mean_reference:14.4g} {r.sd_reference:10.3g} {diff:>7s} {r.ks_p:7.3f} "
            f"{'yes' if r.ci_overlap else 'NO':>10s}  {r.verdict}")
    return "\n".join(lines)


def format_timing(t: pd.DataFrame) -> str:
    lines = [f"{'design':22s} {'reformsim s/run':>16s} {'reference s/run':>16s} {'ratio':>8s}"]
    for design, r in t.iterrows():
        lines.append(
            f"{design:22s} {r['reformsim']:16.3f} {r['reference']:16.3f} {r['ratio']:7.1f}x")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Dock reformsim against the plain-Mesa reference.")
    p.add_argument("--seeds", type=int, default=30, help="seeds per design and implementation")
    p.add_argument("--enterprises", type=int, default=DEFAULT_SIZES["n_enterprises"])
    p.add_argument("--residents", type=int, default=DEFAULT_SIZES["n_residents"])
    p.add_argument("--days", type=int, default=DEFAULT_SIZES["days"])
    p.add_argument("--warmup", type=int, default=DEFAULT_SIZES["warmup_days"])
    p.add_argument("--scenario", nargs="+", default=list(DEFAULT_SCENARIOS))
    p.add_argument("--alpha", type=float, default=0.05, help="family-wise alpha of the KS tests")
    p.add_argument("--jobs", type=int, default=1,
                   help="parallel processes (timings are cleanest with 1)")
    p.add_argument("--onset-factor", type=float, default=1.0,
                   help="mis-specify the reference's onset rate (sanity check: must fail)")
    p.add_argument("--csv", type=Path, help="also write every run's KPIs to this CSV file")
    args = p.parse_args(argv)
    sizes = {"n_enterprises": args.enterprises, "n_residents": args.residents, "days": args.days,
             "warmup_days": args.warmup}
    options = {"onset_rate_factor": args.onset_factor} if args.onset_factor != 1.0 else None
    print(f"docking: {args.seeds} seeds x {len(args.scenario)} designs; {args.enterprises} "
          f"enterprises, {args.residents} residents, {args.days} days ({args.warmup} warm-up); "
          f"{os.cpu_count()} cores, jobs={args.jobs}", flush=True)
    t0 = time.perf_counter()
    table = dock(args.scenario, args.seeds, sizes, alpha=args.alpha, jobs=args.jobs,
                 reference_options=options)
    print(format_table(table))
    print(f"\nverdict rule: KS p < {table.attrs['ks_threshold']:.2g} (alpha {args.alpha} / "
          f"{len(table)} tests, Bonferroni) or 95% CIs of the mean not overlapping")
    print("\nwall time per run (median; build + run + summary):")
    print(format_timing(table.attrs["timing"]))
    print(f"total docking time {time.perf_counter() - t0:.0f} s")
    if args.csv:
        table.attrs["runs"].to_csv(args.csv, index=False)
    bad = table[table["verdict"] != "agree"]
    if len(bad):
        print(f"\nDOCKING FAILED: {len(bad)} of {len(table)} KPI comparisons disagree:",
              file=sys.stderr)
        for r in bad.itertuples():
            print(f"  {r.design} {r.kpi}: reformsim {r.mean_reformsim:.4g} vs reference "
                  f"{r.mean_reference:.4g} (KS p {r.ks_p:.2g}, CI overlap {r.ci_overlap})",
                  file=sys.stderr)
        return 1
    print("\ndocking passed: every main KPI agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
