"""Figures of experiments (matplotlib, Agg backend): KPI comparisons with 95% CIs, daily series
with uncertainty bands across replicates, and sweep heatmaps or lines.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

if TYPE_CHECKING:
    from reformsim.experiment.api import ExperimentResult


def save_figure(fig: plt.Figure, path: Path) -> Path:
    """Lay out, write (120 dpi) and close a figure; returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _grid(n: int, width: float = 3.4, height: float = 2.6) -> tuple[plt.Figure, np.ndarray]:
    cols = min(3, max(n, 1))
    rows = math.ceil(max(n, 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def kpi_comparison(summary: pd.DataFrame, kpis: list[str], path: Path) -> Path:
    """One panel per KPI: each arm's mean with its 95% confidence interval."""
    fig, axes = _grid(len(kpis))
    arms = list(dict.fromkeys(summary["arm"].astype(str)))
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        sub = summary[summary["kpi"] == kpi].set_index(summary["arm"].astype(str)[summary["kpi"] == kpi])
        sub = sub.reindex(arms)
        y = np.arange(len(arms))
        err = np.vstack([sub["mean"] - sub["ci_low"], sub["ci_high"] - sub["mean"]])
        ax.errorbar(sub["mean"], y, xerr=np.nan_to_num(err), fmt="o", capsize=4)
        ax.set_yticks(y, arms, fontsize=8)
        ax.set_ylim(-0.6, len(arms) - 0.4)
        ax.set_title(kpi, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("KPI means with 95% confidence intervals", fontsize=10)
    return save_figure(fig, path)


def timeseries_bands(bands: pd.DataFrame, path: Path, warmup: int | None = None) -> Path:
    """One panel per daily series: each arm's mean and 95% band across replicates."""
    series = list(dict.fromkeys(bands["series"]))
    fig, axes = _grid(len(series), width=4.2)
    for ax, name in zip(axes.flat, series, strict=False):
        for arm, sub in bands[bands["series"] == name].groupby("arm", sort=False, observed=True):
            line = ax.plot(sub["day"], sub["mean"], lw=1.2, label=str(arm))[0]
            ax.fill_between(sub["day"], sub["low"], sub["high"], color=line.get_color(), alpha=0.2)
        if warmup:
            ax.axvspan(0, warmup, color="grey", alpha=0.1, lw=0)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("day", fontsize=8)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Daily series: mean and 95% band across replicates (grey: warm-up)", fontsize=10)
    return save_figure(fig, path)


def sweep_figure(summary: pd.DataFrame, factors: list[str], kpi: str, path: Path) -> Path:
    """Heatmap of a KPI's mean over two factors, or lines with CIs over one factor."""
    sub = summary[summary["kpi"] == kpi]
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    table = (sub.pivot_table(index=factors[0], columns=factors[1], values="mean", aggfunc="mean")
             if len(factors) >= 2 else None)
    if table is not None and table.isna().to_numpy().any():  # not a grid (e.g. LHS): scatter
        pts = ax.scatter(sub[factors[0]], sub[factors[1]], c=sub["mean"], cmap="viridis", s=60)
        ax.set_xlabel(factors[0])
        ax.set_ylabel(factors[1])
        fig.colorbar(pts, ax=ax, label=kpi)
    elif table is not None:
        im = ax.imshow(table.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(table.shape[1]), [_short(v) for v in table.columns], fontsize=8)
        ax.set_yticks(range(table.shape[0]), [_short(v) for v in table.index], fontsize=8)
        ax.set_xlabel(factors[1])
        ax.set_ylabel(factors[0])
        for (i, j), v in np.ndenumerate(table.to_numpy()):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7, color="white")
        fig.colorbar(im, ax=ax, label=kpi)
    else:
        sub = sub.sort_values(factors[0])
        ax.errorbar(sub[factors[0]], sub["mean"],
                    yerr=np.nan_to_num([sub["mean"] - sub["ci_low"], sub["ci_high"] - sub["mean"]]),
                    fmt="o-", capsize=3)
        ax.set_xlabel(factors[0])
        ax.set_ylabel(kpi)
    ax.set_title(f"{kpi} (mean over replicates)", fontsize=10)
    return save_figure(fig, path)


def _short(v: object) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def write_figures(result: ExperimentResult, folder: Path) -> list[Path]:
    """All figures that fit the experiment's kind."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if result.kind in ("compare", "replicate"):
        from reformsim.experiment.api import main_kpis

        kpis = [k for k in main_kpis(None) if k in result.kpis]
        paths.append(kpi_comparison(result.summary, kpis, folder / "kpi_comparison.png"))
    if not result.bands.empty:
        warm = None
        if not result.runs.empty and "window_days" in result.runs:
            days = int(result.bands["day"].max()) + 1
            warm = days - int(result.runs["window_days"].iloc[0])
        paths.append(timeseries_bands(result.bands, folder / "timeseries_bands.png", warm))
    if result.kind == "sweep":
        factors = [c for c in result.summary.columns
                   if c not in ("arm", "kpi", "mean", "sd", "ci_low", "ci_high", "n")]
        for kpi in result.kpis:
            paths.append(sweep_figure(result.summary, factors, kpi, folder / f"sweep_{kpi}.png"))
    return paths
