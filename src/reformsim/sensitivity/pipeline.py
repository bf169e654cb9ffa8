"""File → sample → evaluate → analyse: global sensitivity analysis with SALib's ProblemSpec.

The model is stochastic, so each design point is run ``replicates`` times (replicate ``k`` uses
the same seed ``SeedSequence(seed).spawn(R)[k]`` at every point) and the mean over replicates is
analysed. The share of the analysed variance that is seed noise (see :func:`seed_noise`) is
reported beside the indices: when it is large, N or R is too small. Runs go through the experiment engine (processes or Dask, resumable store, progress
bar); Sobol results are re-ordered by run id before analysis, as SALib requires.

References
----------
Saltelli et al. (2010) Comput. Phys. Commun. 181:259; Morris (1991) Technometrics 33:161;
Herman & Usher (2017) JOSS 2(9):97 (SALib); Iwanaga, Usher & Herman (2022) SESMO 4:18155.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from SALib import ProblemSpec

from reformsim.experiment.api import RunOptions, _manifest, _resolve_out, _run
from reformsim.experiment.executors import default_workers
from reformsim.experiment.runner import RunTask
from reformsim.sensitivity.spec import SensitivitySpec, load_sensitivity

S1_LIKE = {"sobol": "S1", "fast": "S1", "rbd_fast": "S1", "delta": "S1", "morris": "mu_star",
           "pawn": "median"}


@dataclass
class SensitivityResult:
    """Indices, diagnostics and the design of one sensitivity analysis.

    Attributes
    ----------
    indices : DataFrame
        Tidy: kpi, factor, factor2 (second-order only), index, value, conf (CI half-width).
    noise : DataFrame
        Per KPI: variance of the analysed means, mean within-point variance, seed-noise share.
    convergence : DataFrame or None
        Sobol only: S1/ST with CIs on the first 2^k base samples.
    time_varying : DataFrame or None
        First-order (or the method's main) index of ``daily_kpi`` per factor and day.
    """

    spec: SensitivitySpec
    X: np.ndarray
    Y: pd.DataFrame
    indices: pd.DataFrame
    noise: pd.DataFrame
    convergence: pd.DataFrame | None = None
    time_varying: pd.DataFrame | None = None
    out: Path | None = None
    timing: dict[str, float] = field(default_factory=dict)


def problem_dict(spec: SensitivitySpec) -> dict[str, Any]:
    """The SALib problem: names, bounds, dists; categorical factors become U(0, k)."""
    names, bounds, dists = [], [], []
    for f in spec.factors:
        names.append(f.path)
        if f.levels is not None:
            bounds.append([0.0, float(len(f.levels))])
            dists.append("unif")
        else:
            bounds.append([float(x) for x in (f.bounds or [])])
            dists.append(f.dist)
    return {"names": names, "bounds": bounds, "dists": dists, "outputs": list(spec.sensitivity.kpis)}


def sample(spec: SensitivitySpec) -> tuple[ProblemSpec, np.ndarray]:
    """Draw the method's design with SALib (seeded)."""
    s = spec.sensitivity
    sp = ProblemSpec(problem_dict(spec))
    if s.method == "sobol":
        sp.sample_sobol(s.N, calc_second_order=s.second_order, seed=s.seed)
    elif s.method == "morris":
        sp.sample_morris(s.N, num_levels=s.num_levels, seed=s.seed)
    elif s.method == "fast":
        sp.sample_fast(s.N, M=s.M, seed=s.seed)
    else:  # rbd_fast, delta, pawn: given-data methods on a Latin hypercube
        sp.sample_latin(s.N, seed=s.seed)
    return sp, np.asarray(sp.samples)


def to_points(spec: SensitivitySpec, X: np.ndarray) -> list[dict[str, Any]]:
    """Map sampled rows to scenario updates: integers rounded, categories by interval."""
    points = []
    for row in X:
        point: dict[str, Any] = {}
        for f, x in zip(spec.factors, row, strict=True):
            if f.levels is not None:
                point[f.path] = f.levels[min(int(np.floor(x)), len(f.levels) - 1)]
            elif f.integer:
                point[f.path] = int(np.round(x))
            else:
                point[f.path] = float(x)
        points.append(point)
    return points


def _numeric(spec: SensitivitySpec, points: list[dict[str, Any]]) -> np.ndarray:
    """The design as analysed: the values actually used (categories as level indices)."""
    X = np.empty((len(points), len(spec.factors)))
    for j, f in enumerate(spec.factors):
        for i, p in enumerate(points):
            v = p[f.path]
            X[i, j] = f.levels.index(v) + 0.5 if f.levels is not None else float(v)
    return X


def _analyse_one(spec: SensitivitySpec, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    s = spec.sensitivity
    prob = problem_dict(spec)
    prob["outputs"] = ["y"]
    sp = ProblemSpec(prob)
    sp.set_samples(X)
    sp.set_results(y)
    # SALib 1.6's analyzers use their own seeded Generator only when ``seed`` is truthy and
    # fall back to numpy's global state for seed 0; the bootstrap seed is therefore seed + 1
    # (never 0), so no global random state is used. delta prints bin notices: quiet them.
    kw: dict[str, Any] = {"seed": s.seed + 1}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            _quiet():
        if s.method == "sobol":
            sp.analyze_sobol(calc_second_order=s.second_order, num_resamples=s.num_resamples,
                             conf_level=s.conf_level, **kw)
        elif s.method == "morris":
            sp.analyze_morris(num_levels=s.num_levels, num_resamples=s.num_resamples,
                              conf_level=s.conf_level, **kw)
        elif s.method == "fast":
            sp.analyze_fast(M=s.M, num_resamples=s.num_resamples, conf_level=s.conf_level, **kw)
        elif s.method == "rbd_fast":
            sp.analyze_rbd_fast(M=s.M, num_resamples=s.num_resamples, conf_level=s.conf_level, **kw)
        elif s.method == "delta":
            sp.analyze_delta(num_resamples=s.num_resamples, conf_level=s.conf_level, **kw)
        else:
            sp.analyze_pawn(S=10, **kw)
    res = sp.analysis
    return res["y"] if "y" in res else res


@contextlib.contextmanager
def _quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def tidy(spec: SensitivitySpec, kpi: str, res: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten one SALib result into rows (kpi, factor, factor2, index, value, conf)."""
    names = [f.path for f in spec.factors]
    rows = []
    for key, val in res.items():
        if key.endswith("_conf") or key in ("names", "notes"):
            continue
        arr = np.asarray(val, dtype=float) if not isinstance(val, str) else None
        if arr is None:
            continue
        conf = res.get(f"{key}_conf")
        conf = None if conf is None else np.asarray(conf, dtype=float)
        if arr.ndim == 1 and arr.size == len(names):
            for j, n in enumerate(names):
                rows.append({"kpi": kpi, "factor": n, "factor2": "", "index": key,
                             "value": float(arr[j]),
                             "conf": float(conf[j]) if conf is not None else np.nan})
        elif arr.ndim == 2 and arr.shape == (len(names), len(names)):
            for a in range(len(names)):
                for b in range(a + 1, len(names)):
                    rows.append({"kpi": kpi, "factor": names[a], "factor2": names[b],
                                 "index": key, "value": float(arr[a, b]),
                                 "conf": float(conf[a, b]) if conf is not None else np.nan})
    return rows


def analyse(spec: SensitivitySpec, X: np.ndarray, Y: pd.DataFrame) -> pd.DataFrame:
    """Indices for every KPI column of ``Y`` (rows in design order)."""
    rows: list[dict[str, Any]] = []
    for kpi in spec.sensitivity.kpis:
        y = Y[kpi].to_numpy(dtype=float)
        if not np.isfinite(y).all():
            y = np.where(np.isfinite(y), y, np.nanmean(y))  # undefined KPI (e.g. no cases): mean
        rows += tidy(spec, kpi, _analyse_one(spec, X, y))
    return pd.DataFrame(rows, columns=["kpi", "factor", "factor2", "index", "value", "conf"])


def convergence(spec: SensitivitySpec, X: np.ndarray, Y: pd.DataFrame) -> pd.DataFrame | None:
    """Sobol indices on the first 2^k base samples (prefixes of the design are valid designs)."""
    s = spec.sensitivity
    if s.method != "sobol":
        return None
    d = len(spec.factors)
    block = 2 * d + 2 if s.second_order else d + 2
    rows = []
    n = 16 if s.N >= 16 else s.N
    while n <= s.N:
        sub = spec.model_copy(update={"sensitivity": s.model_copy(update={"N": n})})
        idx = analyse(sub, X[: n * block], Y.iloc[: n * block])
        idx = idx[idx["index"].isin(["S1", "ST"])].assign(n=n)
        rows.append(idx)
        n *= 2
    return pd.concat(rows, ignore_index=True)


def seed_noise(spec: SensitivitySpec, per_run: pd.DataFrame, R: int) -> pd.DataFrame:
    """Seed-noise share of the variance of the analysed means, per KPI.

    Replicate ``k`` uses the same seed at every design point (common random numbers), so the
    noise that matters is what does not cancel between points: the residual of the two-way
    layout ``Y_ik = mu_i + s_k + e_ik``. Its variance over ``R`` is the noise in a point mean;
    the share reported is that over the variance of the point means.
    """
    rows = []
    for kpi in spec.sensitivity.kpis:
        wide = per_run.pivot_table(index="point", columns="replicate", values=kpi, aggfunc="mean")
        y = wide.to_numpy(dtype=float)
        means = np.nanmean(y, axis=1)
        total = float(np.nanvar(means, ddof=1)) if len(means) > 1 else np.nan
        resid_var = np.nan
        if R > 1 and y.shape[0] > 1 and np.isfinite(y).all():
            resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
            resid_var = float((resid**2).sum() / ((y.shape[0] - 1) * (R - 1)))
        share = (resid_var / R) / total if R > 1 and total > 0 else np.nan
        rows.append({"kpi": kpi, "variance_of_means": total, "residual_variance": resid_var,
                     "replicates": R, "seed_noise_share": share})
    return pd.DataFrame(rows)


def time_varying(spec: SensitivitySpec, X: np.ndarray, series: np.ndarray,
                 every: int = 7) -> pd.DataFrame:
    """The method's main index of a daily KPI, day by day (every ``every`` days)."""
    s = spec.sensitivity
    key = S1_LIKE[s.method]
    rows = []
    for day in range(0, series.shape[1], every):
        y = series[:, day]
        if not np.isfinite(y).all() or np.ptp(y) == 0:
            continue
        for r in tidy(spec, s.daily_kpi or "", _analyse_one(spec, X, y)):
            if r["index"] == key:
                rows.append({"day": day, "factor": r["factor"], "index": key,
                             "value": r["value"], "conf": r["conf"]})
    return pd.DataFrame(rows)


def run_function(spec: SensitivitySpec, fn: Callable[[np.ndarray], np.ndarray]) -> SensitivityResult:
    """The same pipeline with a plain function ``fn(X) -> Y`` (n × n_kpis) instead of the model.

    Used to verify the pipeline on functions with analytic indices (Ishigami, Sobol G).
    """
    _, raw = sample(spec)
    points = to_points(spec, raw)
    X = _numeric(spec, points)
    Y = np.asarray(fn(X), dtype=float).reshape(len(X), -1)
    Ydf = pd.DataFrame(Y, columns=spec.sensitivity.kpis[: Y.shape[1]])
    return SensitivityResult(spec=spec, X=X, Y=Ydf, indices=analyse(spec, X, Ydf),
                             noise=pd.DataFrame(), convergence=convergence(spec, X, Ydf))


def run_sensitivity(path: str | Path, out: str | Path | None = "auto",
                    options: RunOptions | None = None) -> SensitivityResult:
    """Run a sensitivity file on the model: sample, run (resumably), analyse, write outputs."""
    from reformsim.sensitivity import report

    spec, base = load_sensitivity(path)
    s = spec.sensitivity
    opt = options or RunOptions()
    _, raw = sample(spec)
    points = to_points(spec, raw)
    X = _numeric(spec, points)
    R = s.replicates
    series = (s.daily_kpi,) if s.daily_kpi else ()
    tasks = [RunTask(run_id=i * R + k, arm=f"point {i}", replicate=k,
                     scenario=base.with_updates(p).to_dict(), root_seed=s.seed, point={"index": i},
                     series=series)
             for i, p in enumerate(points) for k in range(R)]
    design = {"kind": f"sensitivity-{s.method}", "root_seed": s.seed, "replicates": R,
              "base_hash": base.content_hash(), "spec": spec.model_dump(mode="json")}
    out_path = _resolve_out(out, design)
    projected = _project(base, len(tasks), opt)
    t0 = time.perf_counter()
    records = _run(tasks, design, out_path, opt)
    actual = time.perf_counter() - t0
    per_run = pd.DataFrame([{"run_id": r["run_id"], "point": r["run_id"] // R,
                             "replicate": r["replicate"], **r["summary"]} for r in records])
    per_run = per_run.sort_values("run_id", kind="stable").reset_index(drop=True)
    Y = per_run.groupby("point", sort=True)[list(s.kpis)].mean()
    tv = None
    if s.daily_kpi:
        daily = np.array([[np.nan if v is None else v for v in r["series"][s.daily_kpi]]
                          for r in sorted(records, key=lambda r: r["run_id"])], dtype=float)
        daily = daily.reshape(len(points), R, -1).mean(axis=1)
        tv = time_varying(spec, X, daily)
    result = SensitivityResult(
        spec=spec, X=X, Y=Y.reset_index(drop=True), indices=analyse(spec, X, Y.reset_index(drop=True)),
        noise=seed_noise(spec, per_run, R), convergence=convergence(spec, X, Y.reset_index(drop=True)),
        time_varying=tv, out=out_path,
        timing={"runs": len(tasks), "projected_s": projected, "actual_s": actual},
    )
    if out_path is not None:
        report.write_outputs(result, per_run, _manifest(design))
    return result


def _project(base: Any, n_runs: int, opt: RunOptions) -> float:
    """Projected wall time: one timed run of the base scenario × runs / workers."""
    from reformsim.results import run

    t0 = time.perf_counter()
    run(base, seed=0)
    one = time.perf_counter() - t0
    workers = 1 if opt.executor == "serial" and opt.dask is None else (opt.workers or default_workers())
    return one * n_runs / workers
