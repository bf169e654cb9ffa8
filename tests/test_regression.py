"""Regression: the reduced N Street runs reproduce the stored baseline.

If a change alters model outputs on purpose, run ``python tests/update_baseline.py`` (or
``make baseline``), review the diff and add a CHANGELOG entry saying why.
"""

from __future__ import annotations

import json
import math

import pytest

from .update_baseline import BASELINE, compute


def test_summaries_match_baseline() -> None:
    stored = json.loads(BASELINE.read_text())["summaries"]
    current = compute()
    assert set(current) == set(stored)
    for arm, kpis in stored.items():
        assert set(current[arm]) == set(kpis), f"KPI set changed for {arm}"
        for key, old in kpis.items():
            new = current[arm][key]
            if isinstance(old, float) and math.isnan(old):
                assert math.isnan(new), (arm, key)
            else:
                assert new == pytest.approx(old, rel=1e-9, abs=1e-12), (arm, key, old, new)
