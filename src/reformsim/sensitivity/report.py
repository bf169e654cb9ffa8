"""Tables, figures and the printed summary of a sensitivity analysis."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from reformsim.experiment.plots import save_figure  # noqa: E402
from reformsim.experiment.store import atomic_write_text  # noqa: E402

if TYPE_CHECKING:
    from reformsim.sensitivity.pipeline import SensitivityResult

MAIN = {"sobol": ["S1", "ST"], "fast": ["S1", "ST"], "rbd_fast": ["S1"], "delta": ["delta_raw", "S1"],
        "morris": ["mu_star"], "pawn": ["median"]}


def _short(path: str) -> str:
    return path.split(".")[-1]


def bar_charts(result: SensitivityResult, folder: Path) -> list[Path]:
    """One bar chart per KPI: the method's main indices with CI error bars."""
    method = result.spec.sensitivity.method
    keys = MAIN[method]
    out = []
    for kpi, sub in result.indices.groupby("kpi", sort=False):
        sub = sub[(sub["factor2"] == "") & sub["index"].isin(keys)]
        if sub.empty:
            continue
        factors = list(dict.fromkeys(sub["factor"]))
        fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(factors) * len(keys)), 3.6))
        width = 0.8 / len(keys)
        x = np.arange(len(factors))
        for i, key in enumerate(keys):
            s = sub[sub["index"] == key].set_index("factor").reindex(factors)
            ax.bar(x + i * width, s["value"], width, yerr=np.nan_to_num(s["conf"]), capsize=3,
                   label=key)
        ax.set_xticks(x + width * (len(keys) - 1) / 2, [_short(f) for f in factors],
                      rotation=35, ha="right", fontsize=8)
        ax.axhline(0, color="black", lw=0.5)
        ax.set_title(f"{kpi}: {method} indices (95% CI)", fontsize=10)
        ax.legend(fontsize=8)
        path = folder / f"indices_{kpi}.png"
        save_figure(fig, path)
        out.append(path)
    return out


def morris_plot(result: SensitivityResult, folder: Path) -> list[Path]:
    """Morris mu*-sigma plots, one panel per KPI."""
    if result.spec.sensitivity.method != "morris":
        return []
    kpis = list(dict.fromkeys(result.indices["kpi"]))
    cols = min(3, len(kpis))
    rows = math.ceil(len(kpis) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(kpis):]:
        ax.set_visible(False)
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        sub = result.indices[result.indices["kpi"] == kpi]
        mu = sub[sub["index"] == "mu_star"].set_index("factor")["value"]
        sg = sub[sub["index"] == "sigma"].set_index("factor")["value"].reindex(mu.index)
        ax.scatter(mu, sg)
        for f in mu.index:
            ax.annotate(_short(f), (mu[f], sg[f]), fontsize=7)
        lim = max(float(np.nanmax(mu)) if len(mu) else 1.0, 1e-12)
        ax.plot([0, lim], [0, lim], ls="--", lw=0.6, color="grey")
        ax.set_xlabel("mu*")
        ax.set_ylabel("sigma")
        ax.set_title(kpi, fontsize=9)
    path = folder / "morris_mu_star_sigma.png"
    save_figure(fig, path)
    return [path]


def convergence_plot(result: SensitivityResult, folder: Path) -> list[Path]:
    """Sobol S1 and ST against the number of base samples, with CIs."""
    conv = result.convergence
    if conv is None or conv.empty:
        return []
    kpis = list(dict.fromkeys(conv["kpi"]))
    fig, axes = plt.subplots(len(kpis), 2, figsize=(9, 2.8 * len(kpis)), squeeze=False)
    for row, kpi in zip(axes, kpis, strict=True):
        for ax, key in zip(row, ("S1", "ST"), strict=True):
            sub = conv[(conv["kpi"] == kpi) & (conv["index"] == key)]
            for f, g in sub.groupby("factor", sort=False):
                ax.errorbar(g["n"], g["value"], yerr=np.nan_to_num(g["conf"]), capsize=2,
                            marker="o", ms=3, lw=1, label=_short(f))
            ax.set_xscale("log", base=2)
            ax.set_title(f"{kpi}: {key}", fontsize=9)
            ax.set_xlabel("base samples N")
    axes[0][1].legend(fontsize=6, ncol=2)
    path = folder / "convergence.png"
    save_figure(fig, path)
    return [path]


def time_varying_plot(result: SensitivityResult, folder: Path) -> list[Path]:
    """Time-varying main index of the daily KPI."""
    tv = result.time_varying
    if tv is None or tv.empty:
        return []
    fig, ax = plt.subplots(figsize=(7, 4))
    for f, g in tv.groupby("factor", sort=False):
        line = ax.plot(g["day"], g["value"], lw=1.2, label=_short(f))[0]
        ax.fill_between(g["day"], g["value"] - np.nan_to_num(g["conf"]),
                        g["value"] + np.nan_to_num(g["conf"]), color=line.get_color(), alpha=0.15)
    ax.set_xlabel("day")
    ax.set_ylabel(str(tv["index"].iloc[0]))
    ax.set_title(f"Time-varying {tv['index'].iloc[0]} of {result.spec.sensitivity.daily_kpi}",
                 fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    path = folder / "time_varying.png"
    save_figure(fig, path)
    return [path]


def write_outputs(result: SensitivityResult, per_run: pd.DataFrame, manifest: dict[str, Any]) -> None:
    """Write tables (CSV and Parquet) and figures into the result's directory."""
    out = result.out
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    design = pd.DataFrame(result.X, columns=[f.path for f in result.spec.factors])
    tables = {"indices": result.indices, "seed_noise": result.noise, "design": design,
              "design_means": result.Y, "runs": per_run}
    if result.convergence is not None:
        tables["convergence"] = result.convergence
    if result.time_varying is not None:
        tables["time_varying"] = result.time_varying
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
        df.to_parquet(out / f"{name}.parquet", index=False)
    atomic_write_text(out / "timing.json", json.dumps(result.timing, indent=2) + "\n")
    figs = out / "figures"
    figs.mkdir(exist_ok=True)
    for fn in (bar_charts, morris_plot, convergence_plot, time_varying_plot):
        fn(result, figs)


def format_result(result: SensitivityResult) -> str:
    """Printed summary: main indices per KPI, seed-noise shares, timing."""
    method = result.spec.sensitivity.method
    keys = MAIN[method]
    lines = []
    for kpi, sub in result.indices.groupby("kpi", sort=False):
        sub = sub[(sub["factor2"] == "") & sub["index"].isin(keys)]
        lines.append(f"{kpi} ({method})")
        wide = sub.pivot_table(index="factor", columns="index", values="value", sort=False,
                               dropna=False).reindex(columns=keys)
        conf = sub.pivot_table(index="factor", columns="index", values="conf", sort=False,
                               dropna=False).reindex(columns=keys)  # PAWN has no CI (all NaN)
        order = wide[keys[-1]].sort_values(ascending=False).index
        for f in order:
            cells = "  ".join(f"{k} {wide.loc[f, k]:7.3f} ± {conf.loc[f, k]:.3f}"
                              if not np.isnan(conf.loc[f, k]) else f"{k} {wide.loc[f, k]:7.3f}"
                              for k in keys)
            lines.append(f"  {f:40s} {cells}")
        noise = result.noise
        if not noise.empty:
            share = float(noise.set_index("kpi").loc[kpi, "seed_noise_share"])
            if not np.isnan(share):
                warn = "  (high: raise N or replicates)" if share > 0.2 else ""
                shown = f"{share:.1%}" if share <= 1 else ">100% (noise dominates)"
                lines.append(f"  seed-noise share of variance: {shown}{warn}")
    t = result.timing
    if t:
        lines.append(f"\n{t['runs']} runs; projected {t['projected_s']:.0f} s, actual {t['actual_s']:.0f} s")
    return "\n".join(lines)
