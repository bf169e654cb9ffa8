"""The yearly inspection cap per enterprise (检查频次上限, M14): bounds, direction, no-op at 0."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import reformsim
from reformsim.model import ReformModel

from .conftest import assert_same_summary, small

SEEDS = (1, 2)


def _cap(name: str, cap: int, extra: dict | None = None):
    return small(name, {"levers": {"inspection_cap_per_year": cap}} | (extra or {}))


@pytest.mark.parametrize("name", ["n_street_siloed.toml", "n_street_integrated.toml"])
def test_cap_one_allows_one_visit_per_firm_in_a_year(name: str) -> None:
    """The reduced run lasts 150 days (one year): no firm is visited twice."""
    m = ReformModel(_cap(name, 1), seed=1).run()
    visits = np.bincount(m.visits["enterprise"], minlength=m.enterprises.n)
    assert visits.max() == 1
    assert m.enterprises.planned_this_year.max() == 1
    assert m.recorder.summary()["inspections_capped"] > 0


def test_cap_counts_planned_visits_per_calendar_year() -> None:
    """Planned visits per (firm, year) stay within the cap, and the quota refills each year."""
    sc = _cap("n_street_siloed.toml", 1, {"run": {"days": 420, "warmup_days": 30}})
    m = ReformModel(sc, seed=3)
    planned: Counter[tuple[int, int]] = Counter()
    for unit in m.units:
        def record(at, task, push=unit.push_inspection):
            planned[(task.enterprise, int(at) // 365)] += 1
            push(at, task)
        unit.push_inspection = record
    m.run()
    assert planned and max(planned.values()) == 1
    firms_by_year = [{e for e, y in planned if y == year} for year in (0, 1)]
    assert firms_by_year[0] & firms_by_year[1], "expected firms planned again in the second year"


def test_lower_cap_fewer_visits_more_capped() -> None:
    """Siloed departments plan ~|D_i| visits per firm a year; a tighter cap cuts them (paired)."""
    runs = {cap: [reformsim.run(_cap("n_street_siloed.toml", cap), seed=s).summary for s in SEEDS]
            for cap in (0, 2, 1)}
    visits = {cap: np.mean([r["enterprise_visits_per_firm"] for r in rs])
              for cap, rs in runs.items()}
    capped = {cap: np.mean([r["inspections_capped"] for r in rs]) for cap, rs in runs.items()}
    assert visits[1] < visits[2] < visits[0]
    assert capped[1] > capped[2] > capped[0] == 0


def test_cap_zero_or_out_of_reach_changes_nothing() -> None:
    """0 means no cap; a cap no firm reaches filters nothing, so every draw (CRN) is kept."""
    default = reformsim.run(small("n_street_siloed.toml"), seed=1).summary
    assert_same_summary(reformsim.run(_cap("n_street_siloed.toml", 0), seed=1).summary, default)
    assert_same_summary(reformsim.run(_cap("n_street_siloed.toml", 1000), seed=1).summary, default)
