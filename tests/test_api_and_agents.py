"""Public API, Mesa agents and column facades."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

import reformsim
from reformsim.agents import Department, Enterprise, GridWorker, Officer, Resident, Squad
from reformsim.calendar import WorkCalendar
from reformsim.catalog import delegation_score
from reformsim.model import ReformModel

from .conftest import SCENARIOS, small

PUBLIC = {"CONTRACT_KPIS", "KPI_UNITS", "ReformModel", "ReformsimError", "RunOptions", "RunResult",
          "Scenario", "ScenarioError", "__version__", "compare", "load_scenario", "replicate", "run",
          "run_sensitivity", "sweep"}


def test_public_api_is_pinned() -> None:
    assert set(reformsim.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(reformsim, name)
    assert set(PUBLIC) <= set(dir(reformsim))
    with pytest.raises(AttributeError, match="no attribute"):
        reformsim.not_a_name  # noqa: B018


def test_import_is_light() -> None:
    """``import reformsim`` does not pull in Mesa or pandas (fast CLI start, e.g. validate)."""
    import subprocess
    import sys

    code = "import sys, reformsim; print('mesa' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_model_is_a_mesa_model_with_the_seed_case_agents() -> None:
    sc = reformsim.load_scenario(SCENARIOS / "n_street_integrated.toml")
    m = ReformModel(sc, seed=1)
    assert isinstance(m, mesa.Model)
    assert len(m.agents_by_type[Department]) == 9
    assert len(m.agents_by_type[Squad]) == 4
    assert len(m.agents_by_type[GridWorker]) == 189
    officers = m.agents_by_type[Officer]
    kinds = [o.kind for o in officers]
    assert kinds.count("seconded") == 52 and kinds.count("street_staff") == 60
    # pooled: every seconded officer works in a squad
    assert all(isinstance(o.unit, Squad) for o in officers if o.kind == "seconded")
    assert int(m.catalog.delegated.sum()) == 350


def test_siloed_keeps_seconded_officers_in_departments() -> None:
    m = ReformModel(reformsim.load_scenario(SCENARIOS / "n_street_siloed.toml"), seed=1)
    assert all(isinstance(o.unit, Department) for o in m.agents_by_type[Officer]
               if o.kind == "seconded")
    assert not m.team_authority.any()


def test_facades_read_and_write_columns() -> None:
    m = ReformModel(small("n_street_integrated.toml"), seed=1)
    m.run_for(10)
    e = m.enterprise(3)
    assert isinstance(e, Enterprise) and e is m.enterprise(3)
    assert e.colour in ("green", "yellow", "black")
    assert e.grid == int(m.enterprises.grid[3])
    e.satisfaction = 0.25
    assert m.enterprises.satisfaction[3] == 0.25
    r = m.resident(5)
    assert isinstance(r, Resident) and r.grid == int(m.residents.grid[5])
    with pytest.raises(IndexError, match="enterprise index"):
        m.enterprise(10**9)


def test_materialize_facades_registers_every_agent() -> None:
    sc = small("n_street_siloed.toml", {"population": {"n_enterprises": 50, "n_residents": 80}})
    m = ReformModel(sc, seed=1)
    m.materialize_facades()
    assert len(m.agents_by_type[Enterprise]) == 50
    assert len(m.agents_by_type[Resident]) == 80


def test_learning_curve_raises_skill_and_forgetting_lowers_it() -> None:
    m = ReformModel(small("n_street_integrated.toml"), seed=1)
    o = next(o for o in m.agents_by_type[Officer] if o.kind == "street_staff")
    s0 = o.skill(0)
    for _ in range(20):
        o.gain_experience(0)
    s20 = o.skill(0)
    assert s0 < s20 < 1.0
    # Wright's law: 1 - skill falls by the learning rate at each doubling of (1 + n)
    lr = m.config.casework.learning_rate
    o2 = next(x for x in m.agents_by_type[Officer] if x.kind == "street_staff" and x is not o)
    o2.gain_experience(1, 1.0)
    gap1 = 1 - o2.skill(1)
    o2.gain_experience(1, 2.0)
    assert (1 - o2.skill(1)) / gap1 == pytest.approx(lr, rel=1e-9)
    o.forget(0.5)
    assert o.skill(0) < s20


def test_calendar_working_hours() -> None:
    cal = WorkCalendar(5, 8.0)
    assert cal.is_working(0) and not cal.is_working(5) and not cal.is_working(6)
    lo, hi = cal.window(0)
    assert (lo, hi) == pytest.approx((9 / 24, 17 / 24))
    # 10 hours from Friday 09:00 end Monday 11:00
    assert cal.add_work_hours(4 + 9 / 24, 10.0) == pytest.approx(7 + 11 / 24)
    # a report at Friday 20:00 waits for Monday 09:00
    assert cal.next_start(4 + 20 / 24) == pytest.approx(7 + 9 / 24)
    assert cal.add_work_days(4.5, 1) == pytest.approx(7.5)
    full = WorkCalendar(7, 24.0)
    assert full.add_work_hours(2.25, 36.0) == pytest.approx(3.75)


def test_delegation_score_prefers_frequent_visible_simple_matters() -> None:
    w = np.array([1.0, 0.1, 0.5])
    complexity = np.array([1.0, 5.0, 2.0])
    vis = np.array([0.9, 0.0, 0.5])
    score = delegation_score(w, complexity, vis)
    assert np.argmax(score) == 0 and np.argmin(score) == 1


def test_delegated_matters_are_frequent_ones() -> None:
    m = ReformModel(reformsim.load_scenario(SCENARIOS / "n_street_integrated.toml"), seed=1)
    cat = m.catalog
    assert not (cat.delegated & cat.negative).any()
    # delegated matters carry most of the case frequency (三高两易)
    share = (cat.weight * cat.delegated).sum() / cat.weight.sum()
    assert share > 350 / 500
