"""Shared helpers of the stylized-fact tests: tiny N Street variants and paired comparisons.

Every comparison runs its arms with the same replicate seeds (common random numbers, DESIGN.md
§2.5) through :func:`reformsim.compare` on the serial executor, and reads the paired difference
of a KPI with its 95 % t-interval. A direction is asserted only when the whole interval lies on
the claimed side, so a test fails when the effect is absent or when the replicates cannot tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

import reformsim
from reformsim.experiment import RunOptions, stats
from reformsim.scenario import Scenario
from reformsim.scenario_files import deep_merge

from ..conftest import small

#: Tiny N Street: 1,000 firms, 10,000 residents, 180 days (30 of warm-up). Same structure as the
#: shipped files, about 1/8 of the people.
TINY: dict[str, Any] = {
    "run": {"days": 180, "warmup_days": 30},
    "population": {"n_enterprises": 1000, "n_residents": 10000},
}

SERIAL = RunOptions(executor="serial", progress=False)


def tiny(name: str, extra: dict[str, Any] | None = None) -> Scenario:
    """The tiny version of a shipped N Street scenario (``n_street_siloed.toml`` etc.)."""
    return small(name, deep_merge(TINY, extra or {}))


def paired(arms: list[Scenario], replicates: int = 4, seed: int = 11) -> pd.DataFrame:
    """Paired comparison of every arm against the first: one row per (KPI, arm).

    Columns include ``diff``, ``diff_low``, ``diff_high``, ``ratio`` and ``variance_reduction``
    (see :func:`reformsim.experiment.stats.paired`); the arm means are added as ``base_mean``
    and ``arm_mean``.
    """
    res = reformsim.compare(arms, replicates=replicates, seed=seed, options=SERIAL)
    cmp = res.comparison.copy()
    means = res.summary.set_index(["arm", "kpi"])["mean"]
    cmp["base_mean"] = [means[(b, k)] for b, k in zip(cmp["baseline"], cmp["kpi"], strict=True)]
    cmp["arm_mean"] = [means[(a, k)] for a, k in zip(cmp["arm"], cmp["kpi"], strict=True)]
    return cmp.set_index(["kpi", "arm"])


def row(cmp: pd.DataFrame, kpi: str, arm: str | None = None) -> pd.Series:
    """The comparison row of one KPI (and arm, when there are several)."""
    sel = cmp.xs(kpi, level="kpi")
    return sel.iloc[0] if arm is None else sel.loc[arm]


def assert_below(cmp: pd.DataFrame, kpi: str, arm: str | None = None) -> pd.Series:
    """Assert the arm's KPI is below the baseline's: the whole 95 % paired interval is < 0."""
    r = row(cmp, kpi, arm)
    assert r["diff_high"] < 0, (
        f"{kpi}: expected a paired decrease, got diff {r['diff']:.4g} "
        f"[{r['diff_low']:.4g}, {r['diff_high']:.4g}] (base {r['base_mean']:.4g})")
    return r


def assert_above(cmp: pd.DataFrame, kpi: str, arm: str | None = None) -> pd.Series:
    """Assert the arm's KPI is above the baseline's: the whole 95 % paired interval is > 0."""
    r = row(cmp, kpi, arm)
    assert r["diff_low"] > 0, (
        f"{kpi}: expected a paired increase, got diff {r['diff']:.4g} "
        f"[{r['diff_low']:.4g}, {r['diff_high']:.4g}] (base {r['base_mean']:.4g})")
    return r


def assert_increase(before: Sequence[float], after: Sequence[float],
                    label: str) -> dict[str, float]:
    """Assert ``after > before`` over paired replicates (same seed): the whole 95 % paired
    t-interval of ``after - before`` is > 0. For comparisons inside runs (start vs end of a run,
    one domain vs another), where :func:`paired` (arms of :func:`reformsim.compare`) does not
    apply. Returns :func:`reformsim.experiment.stats.paired`'s dict."""
    r = stats.paired(np.asarray(before, float), np.asarray(after, float))
    assert r["diff_low"] > 0, (
        f"{label}: expected a paired increase, got diff {r['diff']:.4g} "
        f"[{r['diff_low']:.4g}, {r['diff_high']:.4g}] (before {np.mean(before):.4g})")
    return r
