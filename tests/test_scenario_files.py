"""Every shipped scenario file (scenarios/**/*.toml) validates, builds and runs a few days."""

from __future__ import annotations

import pytest

import reformsim

from .conftest import SCENARIOS

FILES = sorted(p.relative_to(SCENARIOS).as_posix() for p in SCENARIOS.rglob("*.toml"))
ATTRIBUTION = sorted(p for p in FILES if p.startswith("attribution/"))
#: mechanisms set by more than one lever: file stem -> its levers
MECHANISM_LEVERS = {
    "whistle_summons": {"whistle_summons", "summons_show_probability"},
    "cross_training": {"training_hours_per_month", "exchange_sessions_per_year"},
}


@pytest.mark.parametrize("name", FILES)
def test_shipped_file_runs_briefly(name: str) -> None:
    sc = reformsim.load_scenario(SCENARIOS / name)
    short = sc.with_updates({"run.days": 20, "run.warmup_days": 5,
                             "population.n_enterprises": 300, "population.n_residents": 3000})
    res = reformsim.run(short, seed=1)
    assert res.summary["window_days"] == 15
    assert len(res.timeseries) == 20


def test_attribution_files_switch_on_one_lever_of_siloed() -> None:
    """Each attribution file differs from n_street_siloed.toml in exactly one reform lever (or
    the levers of one mechanism, MECHANISM_LEVERS), set as in the integrated design."""
    siloed = reformsim.load_scenario(SCENARIOS / "n_street_siloed.toml")
    integrated = reformsim.load_scenario(SCENARIOS / "n_street_integrated.toml")
    assert ATTRIBUTION
    seen = set()
    for name in ATTRIBUTION:
        sc = reformsim.load_scenario(SCENARIOS / name)
        a, b = siloed.to_dict(), sc.to_dict()
        assert {k for k in a if a[k] != b[k]} <= {"name", "description", "levers"}
        changed = {k for k, v in b["levers"].items() if a["levers"][k] != v}
        stem = name.removeprefix("attribution/").removesuffix("_only.toml")
        assert changed == MECHANISM_LEVERS.get(stem, {stem}), (name, changed)
        for lever in changed:
            assert b["levers"][lever] == integrated.to_dict()["levers"][lever]
        seen |= changed
    reform = {k for k, v in integrated.to_dict()["levers"].items()
              if siloed.to_dict()["levers"][k] != v}
    assert seen == reform
