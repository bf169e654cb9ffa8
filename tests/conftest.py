"""Shared fixtures: small scenarios built from the shipped N Street files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from reformsim.scenario import Scenario
from reformsim.scenario_files import deep_merge, resolve_extends, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

#: A reduced N Street: same structure, ~1/10 of the population, 150 days.
SMALL: dict[str, Any] = {
    "run": {"days": 150, "warmup_days": 30},
    "territory": {"n_grids": 40, "n_areas": 4},
    "population": {"n_enterprises": 900, "n_residents": 12000},
    "staffing": {
        "street_staff": 8,
        "grid_workers": 40,
        "seconded_officers": {"urban_management_bureau": 3, "market_supervision_bureau": 2,
                              "ecology_environment_bureau": 1},
    },
}


def assert_same_summary(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Equal KPI dicts, where NaN (a KPI with nothing to measure) equals NaN."""
    assert list(a) == list(b)
    for k in a:
        assert a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])), (k, a[k], b[k])


def load_variant(name: str, overrides: dict[str, Any] | None = None) -> Scenario:
    """A shipped scenario with optional deep-merged overrides, validated."""
    data = resolve_extends(SCENARIOS / name)
    if overrides:
        data = deep_merge(data, overrides)
    return scenario_from_dict(data, source=name)


def small(name: str, extra: dict[str, Any] | None = None) -> Scenario:
    """The reduced version of a shipped N Street scenario."""
    return load_variant(name, deep_merge(SMALL, extra or {}))


@pytest.fixture(scope="session")
def small_siloed() -> Scenario:
    return small("n_street_siloed.toml")


@pytest.fixture(scope="session")
def small_integrated() -> Scenario:
    return small("n_street_integrated.toml")
