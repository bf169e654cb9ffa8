"""Statistics of replicated runs: means with t confidence intervals and paired comparisons.

Paired comparisons use common random numbers (CRN): replicate *k* of every arm runs with the same
seed, so the per-replicate differences ``d_k = y_bk - y_ak`` cancel the noise the arms share. The
variance reduction reported is ``1 - Var(d) / (Var(a) + Var(b))``: the share of the unpaired
variance of the difference that pairing removes (0 for independent arms, up to 1).

References
----------
Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed., §11.2 (common random numbers)
and §9.4 (confidence intervals for a difference; the delta method for ratios).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float, int]:
    """Mean, SD, and the t-interval of the mean.

    Returns
    -------
    mean, sd, ci_low, ci_high, n
        NaN-valued replicates are dropped; with fewer than 2 values the interval is NaN.
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return (math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return (mean, math.nan, math.nan, math.nan, n)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return (mean, sd, mean - half, mean + half, n)


def summarise(runs: pd.DataFrame, kpis: list[str], by: list[str], level: float = 0.95) -> pd.DataFrame:
    """Per group and KPI: mean, sd, ci_low, ci_high, n (tidy, one row per group × KPI)."""
    rows = []
    for key, group in runs.groupby(by, sort=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        for kpi in kpis:
            mean, sd, lo, hi, n = mean_ci(group[kpi].to_numpy(dtype=float), level)
            rows.append({**dict(zip(by, key, strict=True)), "kpi": kpi, "mean": mean, "sd": sd,
                         "ci_low": lo, "ci_high": hi, "n": n})
    return pd.DataFrame(rows)


def paired(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Paired comparison of arm ``b`` against arm ``a`` over the same replicates.

    Returns the mean difference ``b - a`` with its paired t-interval, the ratio of means
    ``mean(b) / mean(a)`` with a delta-method interval, the unpaired (Welch) half-width of the
    difference for reference, and the variance reduction achieved by pairing.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = int(a.size)
    nan = math.nan
    out = {"n_pairs": n, "diff": nan, "diff_low": nan, "diff_high": nan, "ratio": nan,
           "ratio_low": nan, "ratio_high": nan, "paired_half_width": nan,
           "unpaired_half_width": nan, "variance_reduction": nan}
    if n == 0:
        return out
    d = b - a
    out["diff"] = float(d.mean())
    ma, mb = float(a.mean()), float(b.mean())
    out["ratio"] = mb / ma if ma != 0 else nan
    if n < 2:
        return out
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    var_a, var_b, var_d = a.var(ddof=1), b.var(ddof=1), d.var(ddof=1)
    half = t * math.sqrt(var_d / n)
    out.update(diff_low=out["diff"] - half, diff_high=out["diff"] + half, paired_half_width=half)
    out["unpaired_half_width"] = _welch_half_width(var_a, var_b, n, level)
    if var_a + var_b > 0:
        out["variance_reduction"] = float(1.0 - var_d / (var_a + var_b))
    if ma != 0:
        r = out["ratio"]
        cov = float(np.cov(a, b, ddof=1)[0, 1])
        var_r = (var_b - 2 * r * cov + r * r * var_a) / (ma * ma * n)
        rh = t * math.sqrt(max(var_r, 0.0))
        out.update(ratio_low=r - rh, ratio_high=r + rh)
    return out


def _welch_half_width(var_a: float, var_b: float, n: int, level: float) -> float:
    se2 = (var_a + var_b) / n
    if se2 == 0:
        return 0.0
    df = se2**2 / ((var_a / n) ** 2 / (n - 1) + (var_b / n) ** 2 / (n - 1))
    return float(stats.t.ppf(0.5 + level / 2, df)) * math.sqrt(se2)


def compare_arms(runs: pd.DataFrame, kpis: list[str], arms: list[str],
                 level: float = 0.95) -> pd.DataFrame:
    """Every arm against the first, per KPI, paired on the replicate index."""
    wide = {arm: runs[runs["arm"] == arm].set_index("replicate").sort_index() for arm in arms}
    base = arms[0]
    rows = []
    for kpi in kpis:
        for arm in arms[1:]:
            common = wide[base].index.intersection(wide[arm].index)
            res = paired(wide[base].loc[common, kpi].to_numpy(float),
                         wide[arm].loc[common, kpi].to_numpy(float), level)
            rows.append({"kpi": kpi, "baseline": base, "arm": arm, **res})
    return pd.DataFrame(rows)
