"""Docking (small): reformsim's vectorised model agrees with the plain-Mesa reference.

The full docking (``python benchmarks/docking.py --seeds 30``) compares 30 seeds of a reduced N
Street; this is its small version for ``make test``: 12 seeds, 300 enterprises, 3,000 residents,
90 days (30 warm-up), both designs, 15 main KPIs each.

Criterion per KPI: the two-sample KS p-value is at least 0.001 and the difference of means is
within 4 standard errors (``sqrt(sd_a^2/n_a + sd_b^2/n_b)``). With 30 comparisons a plain 95%
CI-overlap rule would fail a correct pair of implementations on some seed sets; on 300 random
12-seed subsets of 96 seeds this rule never failed, while a doubled onset rate in the reference is
rejected by tens of standard errors (``test_docking_detects_a_misspecified_reference``).
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.docking import MAIN_KPIS, reduced_scenario, run_all  # noqa: E402
from benchmarks.reference import ReferenceModel  # noqa: E402
from benchmarks.reference.agents import Enterprise, Resident  # noqa: E402

SIZES = {"n_enterprises": 300, "n_residents": 3000, "days": 90, "warmup_days": 30}
SEEDS = range(1, 13)
DESIGNS = ("scenarios/n_street_siloed.toml", "scenarios/n_street_integrated.toml")
KS_MIN = 1e-3
Z_MAX = 4.0


def disagreements(runs: pd.DataFrame, kpis: tuple[str, ...] = MAIN_KPIS) -> dict[str, str]:
    """``design/kpi -> reason`` for every KPI whose two implementations disagree."""
    out = {}
    for design, sub in runs.groupby("design"):
        n = sub["seed"].nunique()
        for kpi in kpis:
            a = sub.loc[sub["implementation"] == "reformsim", kpi].to_numpy(float)
            b = sub.loc[sub["implementation"] == "reference", kpi].to_numpy(float)
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            assert a.size >= 0.8 * n and b.size >= 0.8 * n, f"{design} {kpi}: too many NaNs"
            if np.ptp(a) == 0 and np.ptp(b) == 0:
                if a[0] != b[0]:
                    out[f"{design}/{kpi}"] = f"constant {a[0]} vs {b[0]}"
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                p = stats.ks_2samp(a, b).pvalue
            se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
            z = abs(a.mean() - b.mean()) / se
            if p < KS_MIN or z > Z_MAX:
                out[f"{design}/{kpi}"] = (f"reformsim {a.mean():.4g} vs reference {b.mean():.4g}: "
                                          f"KS p {p:.2g}, {z:.1f} standard errors")
    return out


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return run_all(DESIGNS, SEEDS, SIZES)


def test_reference_docks_with_reformsim(runs: pd.DataFrame) -> None:
    assert set(runs["design"]) == {"n_street_siloed", "n_street_integrated"}
    assert len(runs) == 2 * 2 * len(SEEDS)
    bad = disagreements(runs)
    assert not bad, "reformsim and the plain-Mesa reference disagree:\n" + "\n".join(
        f"  {k}: {v}" for k, v in bad.items())


def test_docking_detects_a_misspecified_reference(runs: pd.DataFrame) -> None:
    """A reference with twice the onset rate must be caught: the check can fail."""
    seeds = SEEDS[:8]  # the effect is large: 8 seeds keep the test quick
    keep = (runs["design"] == "n_street_siloed") & (runs["implementation"] == "reformsim")
    wrong = run_all(DESIGNS[:1], seeds, SIZES, implementations=("reference",),
                    reference_options={"onset_rate_factor": 2.0})
    mixed = pd.concat([runs[keep & runs["seed"].isin(seeds)], wrong])
    bad = disagreements(mixed)
    assert "n_street_siloed/violations_true" in bad, bad
    assert "n_street_siloed/compliance_rate" in bad, bad


def test_reference_is_a_plain_mesa_model() -> None:
    """Every firm and resident is a Mesa agent; equal seeds reproduce, other seeds differ."""
    sc = reduced_scenario(DESIGNS[1], n_enterprises=100, n_residents=1000, days=40, warmup_days=10)
    m = ReferenceModel(sc, seed=3)
    assert isinstance(m, mesa.Model)
    assert len(m.agents_by_type[Enterprise]) == 100
    assert len(m.agents_by_type[Resident]) == 1000
    assert all(isinstance(f, mesa.Agent) for f in m.agents_by_type[Enterprise])
    a = m.run().summary()
    b = ReferenceModel(sc, seed=3).run().summary()
    c = ReferenceModel(sc, seed=4).run().summary()
    assert a == b or all(
        (x == y) or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a.values(), b.values(), strict=True))
    assert a != c
