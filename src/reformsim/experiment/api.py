"""replicate, compare and sweep: experiments whose numbers can go in a paper.

Each function plans its runs (arms or design points × replicates with spawned seeds), runs the
missing ones on the chosen executor while streaming each finished run to the store, then builds
tidy tables — one row per run, a per-KPI summary with 95% t-intervals, paired comparisons — and
figures. Re-running the same call with the same ``out`` resumes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from reformsim.experiment.executors import execute
from reformsim.experiment.runner import DEFAULT_SERIES, RunTask
from reformsim.experiment.spec import load_sweep
from reformsim.experiment.stats import compare_arms, summarise
from reformsim.experiment.store import ExperimentError, ResultStore, design_hash
from reformsim.metrics import CONTRACT_KPIS
from reformsim.scenario import Scenario
from reformsim.scenario_files import load_scenario


@dataclass
class ExperimentResult:
    """Tables (and the directory) of a finished experiment.

    Attributes
    ----------
    runs : DataFrame
        One row per run: run_id, arm, replicate, seeds, factor values, every KPI.
    summary : DataFrame
        Per arm (or design point) and KPI: mean, sd, ci_low, ci_high, n.
    comparison : DataFrame or None
        Paired comparison of each arm against the first (compare only).
    bands : DataFrame
        Daily series per arm: mean and the 2.5-97.5 % band across replicates.
    """

    kind: str
    runs: pd.DataFrame
    summary: pd.DataFrame
    bands: pd.DataFrame
    manifest: dict[str, Any]
    comparison: pd.DataFrame | None = None
    out: Path | None = None
    kpis: list[str] = field(default_factory=list)


@dataclass
class RunOptions:
    """How to execute: ``executor`` serial/processes, ``workers``, ``dask`` address, progress bar."""

    executor: str = "processes"
    workers: int | None = None
    dask: str | None = None
    progress: bool = True


def _as_scenario(s: Scenario | str | Path) -> Scenario:
    return load_scenario(s) if isinstance(s, str | Path) else s


def _labels(scenarios: list[Scenario], sources: list[Any]) -> list[str]:
    labels = [s.name for s in scenarios]
    if len(set(labels)) < len(labels):
        labels = [Path(str(src)).stem if isinstance(src, str | Path) else f"{s.name} #{i + 1}"
                  for i, (s, src) in enumerate(zip(scenarios, sources, strict=True))]
    if len(set(labels)) < len(labels):
        labels = [f"arm {i + 1}" for i in range(len(labels))]
    return labels


def replicate(scenario: Scenario | str | Path, replicates: int = 20, seed: int = 0,
              out: str | Path | None = None, options: RunOptions | None = None) -> ExperimentResult:
    """Run one scenario ``replicates`` times with seeds ``SeedSequence(seed).spawn(replicates)``."""
    return compare([scenario], replicates, seed, out, options, kind="replicate")


def compare(scenarios: list[Scenario | str | Path], replicates: int = 20, seed: int = 0,
            out: str | Path | None = None, options: RunOptions | None = None,
            kind: str = "compare") -> ExperimentResult:
    """Run arms with the same replicate seeds (common random numbers) and compare them.

    Parameters
    ----------
    scenarios
        Two or more scenarios (objects or TOML paths); the first is the baseline arm.
    replicates
        Replicates per arm (>= 1; >= 2 for intervals).
    seed
        Root seed; replicate ``k`` of every arm uses ``SeedSequence(seed).spawn(R)[k]``.
    out
        Experiment directory (results stream there; re-running resumes); ``"auto"`` picks
        ``out/<kind>-<design hash>``; None keeps results in memory only.
    """
    if replicates < 1:
        raise ExperimentError(f"replicates: expected an integer >= 1, got {replicates}")
    scs = [_as_scenario(s) for s in scenarios]
    labels = _labels(scs, list(scenarios))
    tasks = [RunTask(run_id=a * replicates + k, arm=label, replicate=k, scenario=sc.to_dict(),
                     root_seed=seed)
             for a, (label, sc) in enumerate(zip(labels, scs, strict=True)) for k in range(replicates)]
    design = {"kind": kind, "root_seed": seed, "replicates": replicates,
              "arms": [{"label": lab, "scenario_hash": sc.content_hash()}
                       for lab, sc in zip(labels, scs, strict=True)]}
    out = _resolve_out(out, design)
    records = _run(tasks, design, out, options or RunOptions())
    runs = _runs_table(records)
    kpis = [k for k in runs.columns if k in set(records[0]["summary"])] if records else []
    result = ExperimentResult(
        kind=kind, runs=runs, summary=summarise(runs, kpis, ["arm"]), bands=_bands(records),
        manifest=_manifest(design), comparison=compare_arms(runs, kpis, labels) if len(labels) > 1 else None,
        out=Path(out) if out else None, kpis=kpis,
    )
    if out:
        write_outputs(result)
    return result


def sweep(path: str | Path, out: str | Path | None = None,
          options: RunOptions | None = None) -> ExperimentResult:
    """Run a sweep experiment file (see :mod:`reformsim.experiment.spec`)."""
    spec, base, points = load_sweep(path)
    r = spec.experiment.replicates
    tasks = []
    for p, point in enumerate(points):
        sc = base.with_updates(point)
        label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in point.items())
        tasks += [RunTask(run_id=p * r + k, arm=label, replicate=k, scenario=sc.to_dict(),
                          root_seed=spec.experiment.seed, point=point) for k in range(r)]
    design = {"kind": "sweep", "root_seed": spec.experiment.seed, "replicates": r,
              "base_hash": base.content_hash(), "points": points,
              "kpis": spec.experiment.kpis}
    out = _resolve_out(out, design)
    records = _run(tasks, design, out, options or RunOptions())
    runs = _runs_table(records)
    kpis = list(spec.experiment.kpis)
    factor_cols = [f.path for f in spec.factors]
    result = ExperimentResult(
        kind="sweep", runs=runs, summary=summarise(runs, kpis, ["arm", *factor_cols]),
        bands=_bands(records), manifest=_manifest(design), out=Path(out) if out else None, kpis=kpis,
    )
    if out:
        write_outputs(result)
    return result


def _resolve_out(out: str | Path | None, design: dict[str, Any]) -> Path | None:
    """``"auto"`` → ``out/<kind>-<design hash>``, so the same command resumes the same store."""
    if out is None:
        return None
    if str(out) == "auto":
        return Path("out") / f"{design['kind']}-{_manifest(design)['design_hash'][:10]}"
    return Path(out)


def _manifest(design: dict[str, Any]) -> dict[str, Any]:
    versions = {}
    for pkg in ("reformsim", "numpy", "mesa", "pandas", "SALib", "scipy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    identity = {**design, "reformsim": versions["reformsim"], "series": list(DEFAULT_SERIES)}
    return {**design, "design_hash": design_hash(identity), "versions": versions,
            "python": sys.version.split()[0], "seed_rule": "replicate k: SeedSequence(root_seed).spawn(R)[k]"}


def _run(tasks: list[RunTask], design: dict[str, Any], out: str | Path | None,
         opt: RunOptions) -> list[dict[str, Any]]:
    manifest = _manifest(design)
    store = ResultStore(out, manifest) if out else None
    done = store.done_ids() if store else set()
    todo = [t for t in tasks if t.run_id not in done]
    memory: dict[int, dict[str, Any]] = {}
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="run",
               desc=design["kind"], disable=not opt.progress, file=sys.stderr, dynamic_ncols=True,
               mininterval=0.5 if sys.stderr.isatty() else 10.0)

    def on_result(record: dict[str, Any]) -> None:
        if store is not None:
            store.write(record)
        else:
            memory[record["run_id"]] = record
        bar.update(1)

    try:
        execute(todo, on_result, executor=opt.executor, workers=opt.workers, dask=opt.dask)
    finally:
        bar.close()
    ids = [t.run_id for t in tasks]
    return store.load(ids) if store is not None else [memory[i] for i in ids]


def _runs_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for r in records:
        row = {"run_id": r["run_id"], "arm": r["arm"], "replicate": r["replicate"],
               "root_seed": r["root_seed"], "spawn_index": r["spawn_key"][0],
               "scenario_hash": r["scenario_hash"]}
        row.update(r.get("point") or {})
        row.update({k: (np.nan if v is None else v) for k, v in r["summary"].items()})
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:
        df["arm"] = pd.Categorical(df["arm"], categories=list(dict.fromkeys(df["arm"])))
    return df


def _bands(records: list[dict[str, Any]]) -> pd.DataFrame:
    frames = []
    arms = list(dict.fromkeys(r["arm"] for r in records))
    for arm in arms:
        recs = [r for r in records if r["arm"] == arm]
        for name in recs[0]["series"]:
            y = np.array([[np.nan if v is None else v for v in r["series"][name]] for r in recs],
                         dtype=float)
            frames.append(pd.DataFrame({
                "arm": arm, "series": name, "day": np.arange(y.shape[1]),
                "mean": np.nanmean(y, axis=0),
                "low": np.nanquantile(y, 0.025, axis=0), "high": np.nanquantile(y, 0.975, axis=0),
                "n": np.isfinite(y).sum(axis=0),
            }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_outputs(result: ExperimentResult) -> None:
    """Write the tables (CSV and Parquet) and figures into the experiment directory."""
    from reformsim.experiment import plots

    out = result.out
    if out is None:
        return
    result.runs.to_parquet(out / "runs.parquet", index=False)
    result.runs.to_csv(out / "runs.csv", index=False)
    result.summary.to_csv(out / "summary.csv", index=False)
    result.summary.to_parquet(out / "summary.parquet", index=False)
    result.bands.to_parquet(out / "bands.parquet", index=False)
    if result.comparison is not None:
        result.comparison.to_csv(out / "comparison.csv", index=False)
        result.comparison.to_parquet(out / "comparison.parquet", index=False)
    plots.write_figures(result, out / "figures")


def main_kpis(kpis: list[str] | None) -> list[str]:
    """The KPIs to print: the given ones, or the contract's headline subset."""
    return kpis or [k for k in CONTRACT_KPIS if k in (
        "violations_true", "cases_recorded", "detection_rate", "response_time_mean_days",
        "cycle_time_mean_days", "orphan_share", "transfers_per_case", "enterprise_visits_per_firm",
        "joint_inspection_share", "compliance_rate", "officer_utilization", "penalties_issued",
        "resident_satisfaction", "enterprise_satisfaction")]
