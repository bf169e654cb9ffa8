"""Plain-text tables of experiment results (what the CLI prints)."""

from __future__ import annotations

import math

import pandas as pd


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}"


def _ci(mean: float, lo: float, hi: float) -> str:
    return f"{_num(mean)} [{_num(lo)}, {_num(hi)}]"


def format_comparison(summary: pd.DataFrame, comparison: pd.DataFrame | None, kpis: list[str]) -> str:
    """Per KPI: each arm's mean [95% CI]; then each arm vs the first: difference, ratio, pairing gain."""
    arms = list(dict.fromkeys(summary["arm"].astype(str)))
    lines = []
    header = f"{'KPI':26s} " + " ".join(f"{a[:30]:>32s}" for a in arms)
    lines.append("Means with 95% t-intervals over replicates")
    lines.append(header)
    for kpi in kpis:
        cells = []
        for arm in arms:
            row = summary[(summary["kpi"] == kpi) & (summary["arm"].astype(str) == arm)].iloc[0]
            cells.append(_ci(row["mean"], row["ci_low"], row["ci_high"]))
        lines.append(f"{kpi:26s} " + " ".join(f"{c:>32s}" for c in cells))
    if comparison is None or comparison.empty:
        return "\n".join(lines)
    for arm in arms[1:]:
        lines.append("")
        lines.append(f"{arm} vs {arms[0]}: paired over common random numbers (95% CIs)")
        lines.append(f"{'KPI':26s} {'difference':>30s} {'ratio':>28s} {'var. reduction':>15s}")
        sub = comparison[comparison["arm"] == arm].set_index("kpi")
        for kpi in kpis:
            r = sub.loc[kpi]
            vr = r["variance_reduction"]
            lines.append(f"{kpi:26s} {_ci(r['diff'], r['diff_low'], r['diff_high']):>30s} "
                         f"{_ci(r['ratio'], r['ratio_low'], r['ratio_high']):>28s} "
                         f"{'n/a' if vr != vr else f'{vr:.0%}':>15s}")
    return "\n".join(lines)


def format_sweep(summary: pd.DataFrame, kpis: list[str]) -> str:
    """Per design point and KPI: mean [95% CI]."""
    lines = [f"{'design point':48s} " + " ".join(f"{k[:26]:>28s}" for k in kpis)]
    for arm, group in summary.groupby("arm", sort=False, observed=True):
        cells = []
        for kpi in kpis:
            row = group[group["kpi"] == kpi].iloc[0]
            cells.append(_ci(row["mean"], row["ci_low"], row["ci_high"]))
        lines.append(f"{str(arm)[:48]:48s} " + " ".join(f"{c:>28s}" for c in cells))
    return "\n".join(lines)
