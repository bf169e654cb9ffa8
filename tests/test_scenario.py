"""Scenario files: extends with deep merge, defaults, updates by dotted path, hashing."""

from __future__ import annotations

import pytest

import reformsim
from reformsim.scenario import Scenario
from reformsim.scenario_files import deep_merge, scenario_from_dict

from .conftest import SCENARIOS


def test_shipped_scenarios_load() -> None:
    for path in sorted(SCENARIOS.glob("*.toml")):
        sc = reformsim.load_scenario(path)
        assert isinstance(sc, Scenario)


def test_extends_deep_merges_tables(tmp_path) -> None:
    (tmp_path / "child.toml").write_text(
        f'extends = "{(SCENARIOS / "n_street_base.toml").as_posix()}"\n'
        '[staffing]\nstreet_staff = 70\n[staffing.seconded_officers]\ntransport_bureau = 5\n'
    )
    sc = reformsim.load_scenario(tmp_path / "child.toml")
    assert sc.staffing.street_staff == 70
    assert sc.staffing.seconded_officers["transport_bureau"] == 5
    # untouched siblings survive the merge
    assert sc.staffing.seconded_officers["urban_management_bureau"] == 22
    assert sc.staffing.grid_workers == 189
    assert len(sc.domains) == 9


def test_extends_chain_is_resolved_relative_to_each_file(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mid.toml").write_text(
        f'extends = "{(SCENARIOS / "n_street_integrated.toml").as_posix()}"\n[run]\ndays = 100\n')
    (tmp_path / "leaf.toml").write_text('extends = "sub/mid.toml"\n[run]\nwarmup_days = 10\n')
    sc = reformsim.load_scenario(tmp_path / "leaf.toml")
    assert (sc.run.days, sc.run.warmup_days) == (100, 10)
    assert sc.levers.joint_inspection is True


def test_deep_merge_replaces_lists_and_scalars() -> None:
    merged = deep_merge({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "d": 2})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 2}


def test_with_updates_revalidates() -> None:
    sc = reformsim.load_scenario(SCENARIOS / "n_street_siloed.toml")
    new = sc.with_updates({"levers.joint_inspection": True, "staffing.street_staff": 10})
    assert new.levers.joint_inspection and new.staffing.street_staff == 10
    assert sc.levers.joint_inspection is False  # the original is unchanged (frozen)
    with pytest.raises(reformsim.ScenarioError, match="staffing.street_staff"):
        sc.with_updates({"staffing.street_staff": -1})
    with pytest.raises(reformsim.ScenarioError, match="levers.nope"):
        sc.with_updates({"levers.nope": 1})


def test_content_hash_is_stable_and_sensitive() -> None:
    a = reformsim.load_scenario(SCENARIOS / "n_street_siloed.toml")
    b = reformsim.load_scenario(SCENARIOS / "n_street_siloed.toml")
    assert a.content_hash() == b.content_hash()
    assert a.with_updates({"run.seed": 1}).content_hash() != a.content_hash()


def test_defaults_build_a_valid_scenario() -> None:
    sc = scenario_from_dict({})
    assert len(sc.department_specs) == len(sc.domains) == 9
    assert sc.sector_specs[0].domains == [d.id for d in sc.domains]


def test_scenarios_are_frozen() -> None:
    sc = scenario_from_dict({})
    with pytest.raises(Exception, match="frozen"):
        sc.run.days = 3  # type: ignore[misc]
