"""Shared fixtures: small scenarios built from the shipped N Street files."""

from __future__ import annotations

import math
import os
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


#: A small N Street arm for subprocess experiment tests (~0.2 s a run); format with the absolute
#: ``base`` scenario path and the ``arm`` name.
SMALL_ARM_TOML = """
extends = "{base}"
name = "{arm}"
[run]
days = 150
warmup_days = 10
[territory]
n_grids = 20
n_areas = 2
[population]
n_enterprises = 500
n_residents = 3000
[staffing]
street_staff = 4
grid_workers = 20
"""


def subprocess_env(single_thread: bool = False) -> dict[str, str]:
    """The environment for a child Python that imports this checkout's ``src``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    if single_thread:
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def queueing_street(n_firms: int, lam_per_day: float, days: int,
                    extra: dict[str, Any]) -> Scenario:
    """A street reduced to pure queueing: Poisson arrivals of ``lam_per_day`` cases a day (from
    incompetent firms, detected at once by the platform), no travel, a 24-hour 7-day calendar,
    exponential service, every case accepted, no inspections, services, task switching, errors or
    support requests. ``extra`` sets domains, staffing and levers (deep-merged)."""
    base: dict[str, Any] = {
        "run": {"days": days, "warmup_days": 20, "working_days_per_week": 7},
        "territory": {"n_areas": 1, "n_grids": 4, "include_travel": False},
        "catalog": {"complexity_sigma": 0.0, "ambiguous_share": 0.0, "negative_list_share": 0.0,
                    "visible_share": 1.0},
        "population": {"n_enterprises": n_firms, "n_residents": 0,
                       "risk_types": {"incompetent": 1.0}, "initial_colour": {"green": 1.0}},
        "staffing": {"street_staff": 0, "grid_workers": 0, "hours_per_day": 24.0},
        "levers": {"transfer_delay_days": 0.0},
        "compliance": {"incompetent_rate_per_year": lam_per_day * 365.0 / n_firms,
                       "advised_incompetent_factor": 1.0, "self_correction_rate_per_year": 0.0},
        "detection": {"complaint_rate": 0.0, "patrol_rate": 0.0, "platform_rate": 1e7,
                      "report_latency_hours": 0.0},
        "routing": {"accept_owner": 1.0, "misroute_probability": 0.0},
        "inspection": {"uniform_rate_per_year": 0.0, "random_share": 0.0},
        "casework": {"service_time_distribution": "exponential", "handling_hours": 0.0,
                     "switch_cost": 0.0, "error_rate_at_zero_skill": 0.0},
        "coordination": {"technical_share": 0.0},
        "sanctions": {"rectify_probability": 1.0, "rectification_days": 1},
        "services": {"demand_per_resident_per_year": 0.0},
    }
    return scenario_from_dict(deep_merge(base, extra))


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
