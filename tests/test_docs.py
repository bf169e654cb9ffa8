"""The docs stay true to the code: docs/ODD.md, docs/scenarios.md and docs/outputs.md.

Every scenario field is documented with its current default, every KPI and output column is
listed, every mechanism module and random stream is named in the ODD, the ODD has the seven
elements in order, and the tables about the shipped N Street files match those files.
"""

from __future__ import annotations

import importlib
import inspect
import re
import tomllib
import typing
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

import reformsim
from reformsim.caselog import CASE_SCHEMA, CaseLog
from reformsim.results import manifest
from reformsim.scenario import Scenario
from reformsim.scenario_files import load_scenario
from reformsim.streams import STREAM_NAMES

from .conftest import ROOT, SCENARIOS, small

DOCS = ROOT / "docs"
MECHANISMS = ROOT / "src" / "reformsim" / "mechanisms"

ODD_ELEMENTS = (
    "Purpose and patterns",
    "Entities, state variables, and scales",
    "Process overview and scheduling",
    "Design concepts",
    "Initialization",
    "Input data",
    "Submodels",
)
DESIGN_CONCEPTS = (
    "Basic principles",
    "Emergence",
    "Adaptation",
    "Objectives",
    "Learning",
    "Prediction",
    "Sensing",
    "Interaction",
    "Stochasticity",
    "Collectives",
    "Observation",
)


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _ticked(text: str, name: str) -> bool:
    return f"`{name}`" in text


# ---------------------------------------------------------------- schema walking


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models inside a field annotation (``RunSpec``, ``list[DomainSpec]``, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _all_models() -> list[type[BaseModel]]:
    """Scenario and every model reachable from its fields, each once, in discovery order."""
    seen: list[type[BaseModel]] = []

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for field in model.model_fields.values():
            for inner in _models_in(field.annotation):
                walk(inner)

    walk(Scenario)
    return seen


def test_schema_walk_reaches_list_item_models() -> None:
    names = {m.__name__ for m in _all_models()}
    assert {"DomainSpec", "DepartmentSpec", "SectorSpec", "LeversSpec"} <= names


def test_every_scenario_field_is_in_scenarios_md() -> None:
    text = _read("scenarios.md")
    missing = [f"{m.__name__}.{name}" for m in _all_models() for name in m.model_fields
               if not _ticked(text, name)]
    assert not missing, f"fields not documented in docs/scenarios.md: {missing}"


# ---------------------------------------------------------------- field tables and defaults

_SECTION = re.compile(r"^###\s.*`(\w+)`\s*$")
_ROW = re.compile(r"^\|\s*`(\w+)`\s*\|([^|]*)\|([^|]*)\|")
_TICK = re.compile(r"`([^`]+)`")


def _field_tables() -> dict[str, dict[str, tuple[str, str]]]:
    """Model name → field → (type cell, default cell), from ``## Fields`` of scenarios.md."""
    text = _read("scenarios.md")
    part = text.split("\n## Fields", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    current = None
    in_table = False  # inside the "| field | type and range | default | ..." table
    for line in part.splitlines():
        head = _SECTION.match(line)
        if head:
            current, in_table = head.group(1), False
            tables[current] = {}
        elif line.startswith("| field |"):
            in_table = current is not None
        elif not line.startswith("|"):
            in_table = False
        elif in_table and (row := _ROW.match(line)):
            tables[current][row.group(1)] = (row.group(2).strip(), row.group(3).strip())
    return tables


def _default(field: Any) -> Any:
    if field.default is not PydanticUndefined:
        return field.default
    if field.default_factory is not None:
        return field.default_factory()
    return PydanticUndefined


def _is_model_value(value: Any) -> bool:
    if isinstance(value, BaseModel):
        return True
    return isinstance(value, list) and any(isinstance(v, BaseModel) for v in value)


def _toml_value(cell: str) -> Any:
    ticks = _TICK.findall(cell)
    assert ticks, f"expected a `value` in the default cell, got {cell!r}"
    return tomllib.loads(f"v = {ticks[0]}")["v"]


@pytest.mark.parametrize("model", _all_models(), ids=lambda m: m.__name__)
def test_each_model_has_a_field_table_with_true_defaults(model: type[BaseModel]) -> None:
    tables = _field_tables()
    assert model.__name__ in tables, f"docs/scenarios.md: no '### ... `{model.__name__}`' table"
    table = tables[model.__name__]
    assert set(table) == set(model.model_fields), (
        f"{model.__name__}: documented {sorted(set(table) - set(model.model_fields))} not in the "
        f"schema; undocumented {sorted(set(model.model_fields) - set(table))}"
    )
    for name, field in model.model_fields.items():
        _, cell = table[name]
        default = _default(field)
        if default is PydanticUndefined:
            assert "required" in cell, f"{model.__name__}.{name}: expected 'required', got {cell!r}"
        elif default is None:  # TOML has no null: an optional field is documented as "unset"
            assert "unset" in cell, f"{model.__name__}.{name}: expected 'unset', got {cell!r}"
        elif not _is_model_value(default):
            got = _toml_value(cell)
            where = f"{model.__name__}.{name}"
            assert got == default, f"{where}: docs say {got!r}, code has {default!r}"


# ---------------------------------------------------------------- N Street tables


def _section(text: str, heading: str) -> str:
    part = text.split(f"\n## {heading}", 1)
    assert len(part) == 2, f"missing section '## {heading}'"
    return part[1].split("\n## ", 1)[0]


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and key not in _TABLE_VALUES:
            out.update(_flat(value, path + "."))
        else:
            out[path] = value
    return out


# fields whose value is a table (compared whole, not key by key)
_TABLE_VALUES = {"risk_types", "initial_colour", "seconded_officers", "retained_officers",
                 "rate_per_year"}


def test_base_values_that_differ_from_defaults_are_listed() -> None:
    section = _section(_read("scenarios.md"), "N Street base values")
    base = _flat(load_scenario(SCENARIOS / "n_street_base.toml").to_dict())
    default = _flat(Scenario().to_dict())
    differ = sorted(k for k in base if base[k] != default.get(k))
    assert differ, "expected the base file to differ from the defaults somewhere"
    missing = [k for k in differ if not _ticked(section, k)]
    assert not missing, f"docs/scenarios.md 'N Street base values' does not name {missing}"


def test_base_staffing_table_matches_the_file() -> None:
    section = _section(_read("scenarios.md"), "N Street base values")
    st = load_scenario(SCENARIOS / "n_street_base.toml").staffing
    rows = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in
            re.finditer(r"^\|\s*`(\w+)`\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*$", section, re.M)}
    depts = set(st.seconded_officers) | set(st.retained_officers)
    assert set(rows) == depts
    for d in depts:
        assert rows[d] == (st.seconded_officers.get(d, 0), st.retained_officers.get(d, 0)), d


def test_lever_table_matches_siloed_and_integrated_files() -> None:
    section = _section(_read("scenarios.md"), "Levers: siloed vs integrated")
    siloed = load_scenario(SCENARIOS / "n_street_siloed.toml").levers.model_dump()
    integrated = load_scenario(SCENARIOS / "n_street_integrated.toml").levers.model_dump()
    differ = {k for k in siloed if siloed[k] != integrated[k]}
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`\w+`", cells[0]) and cells[0].strip("`") in siloed:
            rows[cells[0].strip("`")] = (_toml_value(cells[1]), _toml_value(cells[2]))
    assert set(rows) == differ, f"documented {sorted(rows)}, differing in files {sorted(differ)}"
    for name, (s, i) in rows.items():
        assert (s, i) == (siloed[name], integrated[name]), name


def test_scenarios_md_explains_same_people() -> None:
    section = _section(_read("scenarios.md"), "The same people")
    sc = load_scenario(SCENARIOS / "n_street_base.toml").staffing
    for number in (sum(sc.seconded_officers.values()), sum(sc.retained_officers.values()),
                   sc.street_staff, sc.grid_workers):
        assert str(number) in section


# ---------------------------------------------------------------- outputs


def test_every_kpi_is_in_outputs_md() -> None:
    text = _read("outputs.md")
    missing = [k for k in reformsim.KPI_UNITS if not _ticked(text, k)]
    assert not missing, f"KPIs not documented in docs/outputs.md: {missing}"


def test_contract_kpis_are_a_prefix_of_kpi_units() -> None:
    assert tuple(reformsim.KPI_UNITS)[: len(reformsim.CONTRACT_KPIS)] == reformsim.CONTRACT_KPIS
    assert f"first {len(reformsim.CONTRACT_KPIS)}" in _read("outputs.md")


def test_every_case_log_column_is_in_outputs_md() -> None:
    text = _section(_read("outputs.md"), "Case log")
    written = list(CaseLog().to_frame([], [], 0).columns)
    missing = [c for c in [*CASE_SCHEMA, *written] if not _ticked(text, c)]
    assert not missing, f"case-log columns not documented in docs/outputs.md: {missing}"


def test_every_timeseries_column_is_in_outputs_md() -> None:
    text = _section(_read("outputs.md"), "Daily time series")
    sc = small("n_street_integrated.toml", {"run": {"days": 3, "warmup_days": 1}})
    columns = list(reformsim.run(sc, seed=1).timeseries.columns)
    missing = [c for c in columns if not _ticked(text, c)]
    assert not missing, f"time-series columns not documented in docs/outputs.md: {missing}"


def test_every_manifest_field_is_in_outputs_md() -> None:
    text = _section(_read("outputs.md"), "Manifest")
    m = manifest(Scenario(), 0)
    missing = [k for k in [*m, *m["versions"]] if not _ticked(text, k)]
    assert not missing, f"manifest fields not documented in docs/outputs.md: {missing}"


def test_output_files_are_named() -> None:
    text = _read("outputs.md")
    for name in ("summary.json", "timeseries.parquet", "cases.parquet", "manifest.json"):
        assert _ticked(text, name)


# ---------------------------------------------------------------- ODD


def _mechanism_modules() -> list[str]:
    return sorted(p.stem for p in MECHANISMS.glob("*.py") if p.stem != "__init__")


def test_mechanism_list_is_not_empty() -> None:
    assert {"compliance", "routing", "casework", "beliefs"} <= set(_mechanism_modules())


@pytest.mark.parametrize("stem", _mechanism_modules())
def test_every_mechanism_module_and_class_is_in_odd(stem: str) -> None:
    text = _read("ODD.md")
    assert f"mechanisms/{stem}.py" in text, f"docs/ODD.md does not name mechanisms/{stem}.py"
    module = importlib.import_module(f"reformsim.mechanisms.{stem}")
    classes = [n for n, c in inspect.getmembers(module, inspect.isclass)  # public ones
               if c.__module__ == module.__name__ and not n.startswith("_")]
    missing = [c for c in classes if not _ticked(text, c) and f"`{c}." not in text]
    assert not missing, f"docs/ODD.md does not name classes {missing} of mechanisms/{stem}.py"


def test_every_random_stream_is_in_odd() -> None:
    text = _read("ODD.md")
    missing = [s for s in STREAM_NAMES if not _ticked(text, s)]
    assert not missing, f"random streams not documented in docs/ODD.md: {missing}"


def _heading_positions(text: str, level: str, names: tuple[str, ...]) -> list[int]:
    lines = text.splitlines()
    positions = []
    for name in names:
        pattern = re.compile(rf"^{level}\s+(\d+(\.\d+)*\.?\s+)?{re.escape(name)}\s*$")
        hits = [i for i, line in enumerate(lines) if pattern.match(line)]
        assert len(hits) == 1, f"docs/ODD.md: expected one '{level} {name}', got {len(hits)}"
        positions.append(hits[0])
    return positions


def test_odd_has_the_seven_elements_in_order() -> None:
    pos = _heading_positions(_read("ODD.md"), "##", ODD_ELEMENTS)
    assert pos == sorted(pos), "docs/ODD.md: ODD elements out of order"


def test_odd_has_the_eleven_design_concepts_in_order() -> None:
    pos = _heading_positions(_read("ODD.md"), "###", DESIGN_CONCEPTS)
    assert pos == sorted(pos), "docs/ODD.md: design concepts out of order"


def test_odd_schedule_matches_model_step() -> None:
    """Every mechanism call in ReformModel.step appears in the ODD schedule table, in order."""
    source = inspect.getsource(reformsim.ReformModel.step)
    calls = re.findall(r"self\.(\w+)\.(\w+)\(", source)
    attr_class = {"compliance": "Compliance", "services": "ResidentServices",
                  "detection": "Detection", "routing": "Routing",
                  "inspection_planning": "InspectionPlanning", "casework": "Casework",
                  "sanctions": "Sanctions", "beliefs": "Beliefs", "power_review": "PowerReview",
                  "recorder": "Recorder"}
    assert [a for a, _ in calls] == list(attr_class), f"ReformModel.step changed: {calls}"
    text = _section(_read("ODD.md"), "3. Process overview and scheduling")
    pos = [text.find(f"`{attr_class[a]}.{method}`") for a, method in calls]
    assert all(p >= 0 for p in pos), f"docs/ODD.md §3 lacks some of {calls}"
    assert pos == sorted(pos), "docs/ODD.md §3: schedule order differs from ReformModel.step"
