"""Scenario files: a typed schema (pydantic v2), TOML loading with ``extends`` and clear errors.

A scenario is pure data: territory, catalogue, population, staffing, levers and behaviour
parameters. Reform designs differ only in their levers (DESIGN.md §2.4); no mechanism reads a
scenario's name. Every default below is documented in ``docs/scenarios.md`` with its source
(``domain.md`` tag) or marked as an assumption.

Examples
--------
>>> from reformsim.scenario import load_scenario
>>> sc = load_scenario("scenarios/n_street_integrated.toml")   # doctest: +SKIP
>>> sc.levers.joint_inspection                                   # doctest: +SKIP
True
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reformsim.errors import ScenarioError

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Pos = Annotated[float, Field(gt=0.0)]
Count = Annotated[int, Field(ge=0)]
Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
#: A data file named in a scenario (resolved against the scenario file's directory when loaded).
DataFile = Annotated[str, Field(min_length=1)]

COLOURS = ("green", "yellow", "black")
RISK_TYPES = ("honest", "rational", "imitator", "incompetent")


class _Strict(BaseModel):
    """Base: unknown keys are errors, values are validated strictly and frozen after load.

    ``nan`` and ``inf`` (valid TOML floats) are rejected: no parameter means anything infinite.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _check_shares(shares: dict[str, float], field: str) -> None:
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        parts = ", ".join(f"{k} = {v:.6g}" for k, v in shares.items())
        raise ValueError(f"{field}: expected shares summing to 1, got {total:.6g} ({parts})")


class RunSpec(_Strict):
    """Run length and calendar."""

    days: Annotated[int, Field(ge=1)] = 365
    warmup_days: Count = 60
    working_days_per_week: Annotated[int, Field(ge=1, le=7)] = 5
    seed: Count = 0

    @model_validator(mode="after")
    def _warmup_shorter_than_run(self) -> RunSpec:
        if self.warmup_days >= self.days:
            raise ValueError(
                f"run.warmup_days: expected fewer than run.days ({self.days}), got {self.warmup_days}"
            )
        return self


class TerritorySpec(_Strict):
    """Areas (片区), grids (网格) on a plane, and travel."""

    n_areas: Annotated[int, Field(ge=1)] = 4
    n_grids: Annotated[int, Field(ge=1)] = 189
    width_km: Pos = 6.0
    height_km: Pos = 5.0
    district_office_km: NonNeg = 4.0
    travel_speed_kmh: Pos = 20.0
    travel_overhead_hours: NonNeg = 0.25
    include_travel: bool = True
    area_allocation: Literal["equal", "by_population", "by_case_frequency", "optimised"] = (
        "by_population"
    )
    grid_size_sigma: NonNeg = 0.3
    file: DataFile | None = None

    @model_validator(mode="after")
    def _areas_fit_grids(self) -> TerritorySpec:
        if self.file is None and self.n_areas > self.n_grids:
            raise ValueError(
                f"territory.n_areas: expected at most territory.n_grids ({self.n_grids}), "
                f"got {self.n_areas}"
            )
        return self


class DomainSpec(_Strict):
    """One business domain (执法领域)."""

    id: Ident
    name_zh: str = ""
    violation_weight: NonNeg = 1.0
    complexity_hours: Pos = 2.0


class DepartmentSpec(_Strict):
    """One line department (条线部门) and the domains it owns."""

    id: Ident
    name_zh: str = ""
    domains: Annotated[list[Ident], Field(min_length=1)]


class CatalogSpec(_Strict):
    """The enforcement-matter catalogue (权责清单)."""

    n_matters: Annotated[int, Field(ge=1)] = 500
    zipf_exponent: NonNeg = 1.0
    complexity_sigma: NonNeg = 0.5
    ambiguous_share: Share = 0.10
    negative_list_share: Share = 0.05
    visible_share: Share = 0.6
    file: DataFile | None = None


class SectorSpec(_Strict):
    """An enterprise sector and the domains its firms are exposed to."""

    id: Ident
    share: Share
    domains: Annotated[list[Ident], Field(min_length=1)]


class PopulationSpec(_Strict):
    """Enterprises (市场主体) and residents."""

    n_enterprises: Count = 8000
    n_residents: Count = 120000
    risk_types: dict[str, Share] = Field(
        default_factory=lambda: {"honest": 0.30, "rational": 0.50, "imitator": 0.12, "incompetent": 0.08}
    )
    initial_colour: dict[str, Share] = Field(
        default_factory=lambda: {"green": 0.65, "yellow": 0.33, "black": 0.02}
    )
    elderly_share: Share = 0.18
    sectors: list[SectorSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shares(self) -> PopulationSpec:
        _check_keys(self.risk_types, RISK_TYPES, "population.risk_types")
        _check_shares(self.risk_types, "population.risk_types")
        _check_keys(self.initial_colour, COLOURS, "population.initial_colour")
        _check_shares(self.initial_colour, "population.initial_colour")
        if self.sectors:
            _check_shares({s.id: s.share for s in self.sectors}, "population.sectors[].share")
        return self


def _check_keys(mapping: dict[str, Any], allowed: tuple[str, ...], field: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise ValueError(
                f"{field}.{key}: expected one of {', '.join(allowed)}, got unknown key {key!r}"
                f"{_did_you_mean(key, allowed)}"
            )


class StaffingSpec(_Strict):
    """Who works: seconded department officers, retained officers, street staff, grid workers."""

    seconded_officers: dict[str, Count] = Field(default_factory=dict)
    retained_officers: dict[str, Count] = Field(default_factory=dict)
    street_staff: Count = 60
    grid_workers: Count = 189
    hours_per_day: Annotated[float, Field(gt=0.0, le=24.0)] = 8.0
    squad_allocation: Literal["equal", "by_population", "by_case_frequency", "optimised"] = "equal"


class LeversSpec(_Strict):
    """What a reform design sets (DESIGN.md §4). Siloed and integrated differ only here."""

    pool_seconded_officers: bool = False
    delegated_matters: Count = 0
    delegation_rule: Literal["score", "random", "from_catalog"] = "score"
    unified_dispatch: bool = False
    dispatch_latency_hours: NonNeg = 1.0
    ambiguous_default_to_team: bool = False
    joint_inspection: bool = False
    three_colour: bool = False
    first_violation_leniency: bool = False
    transfer_delay_days: NonNeg = 3.0
    grid_assist_share_max: Share = 0.3
    whistle_summons: bool = False
    summons_show_probability: Share = 0.7
    summons_arrival_hours: NonNeg = 0.5
    training_hours_per_month: NonNeg = 0.0
    exchange_sessions_per_year: NonNeg = 0.0
    power_review_period_days: Count = 0
    inspection_cap_per_year: Count = 0


class ComplianceSpec(_Strict):
    """Deterrence and perceived risk (M1, M2, M5)."""

    gain_mean: Pos = 1.0
    gain_sigma: NonNeg = 0.5
    sanction_size: NonNeg = 4.0
    colour_leverage: NonNeg = 1.0
    choice_noise: Pos = 0.4
    probability_weighting_gamma: Annotated[float, Field(gt=0.0, le=1.0)] = 0.65
    max_onset_rate_per_year: NonNeg = 1.0
    incompetent_rate_per_year: NonNeg = 0.6
    advised_incompetent_factor: Share = 0.3
    imitation_strength: NonNeg = 2.0
    initial_perceived_risk: Share = 0.2
    risk_own_weight: Share = 0.3
    risk_neighbour_weight: Share = 0.05
    risk_decay_per_year: NonNeg = 1.0
    self_correction_rate_per_year: NonNeg = 6.0


class DetectionSpec(_Strict):
    """Detection hazards per open violation (M13), per day."""

    complaint_rate: NonNeg = 0.01
    patrol_rate: NonNeg = 0.1
    platform_rate: NonNeg = 0.005
    report_share_without_authority: Share = 0.25
    officer_patrol_share: Share = 0.5
    report_latency_hours: NonNeg = 2.0


class RoutingSpec(_Strict):
    """Referral behaviour of departments (M9)."""

    accept_owner: Share = 0.9
    accept_ambiguous: Share = 0.35
    misroute_probability: Share = 0.2
    max_referrals: Annotated[int, Field(ge=1)] = 3


class InspectionSpec(_Strict):
    """Planned inspections (M5, M14): visits per firm per year, per inspecting body."""

    rate_per_year: dict[str, NonNeg] = Field(
        default_factory=lambda: {"green": 0.5, "yellow": 1.5, "black": 6.0}
    )
    uniform_rate_per_year: NonNeg = 1.0
    random_share: Share = 0.15
    host_hours: NonNeg = 0.5
    check_hours_per_domain: NonNeg = 0.75
    find_probability: Share = 0.8

    @model_validator(mode="after")
    def _colours(self) -> InspectionSpec:
        _check_keys(self.rate_per_year, COLOURS, "inspection.rate_per_year")
        for c in COLOURS:
            if c not in self.rate_per_year:
                raise ValueError(
                    f"inspection.rate_per_year: expected a rate for each of {', '.join(COLOURS)}, "
                    f"got none for {c!r}"
                )
        return self


class CaseworkSpec(_Strict):
    """Service times, skills and learning (M11, M12)."""

    service_time_distribution: Literal["lognormal", "exponential", "fixed"] = "lognormal"
    service_cv: NonNeg = 0.5
    home_skill: Share = 1.0
    other_skill: Share = 0.4
    street_staff_skill: Share = 0.4
    kappa_complex: NonNeg = 1.0
    learning_rate: Annotated[float, Field(gt=0.0, le=1.0)] = 0.85
    forgetting_per_month: Share = 0.02
    handling_hours: NonNeg = 0.5
    switch_cost: NonNeg = 0.1
    error_rate_at_zero_skill: Share = 0.1
    training_experience_per_hour: NonNeg = 0.25
    exchange_session_hours: NonNeg = 4.0
    exchange_experience: NonNeg = 1.0


class SanctionSpec(_Strict):
    """Sanction pyramid and rectification (M4, M5)."""

    minor_severity: Share = 0.3
    fine_severity: Share = 0.6
    rectification_days: Annotated[int, Field(ge=1)] = 15
    rectify_probability: Share = 0.85
    clean_checks_to_upgrade: Annotated[int, Field(ge=1)] = 2


class ServicesSpec(_Strict):
    """Residents' online-service demand and grid-worker assistance (M16)."""

    demand_per_resident_per_year: NonNeg = 1.0
    assist_hours: NonNeg = 0.5
    literacy_young: Share = 0.85
    literacy_elderly: Share = 0.30


class SatisfactionSpec(_Strict):
    """Resident and enterprise satisfaction (M6, O7), on a 0-1 scale."""

    resident_initial: Share = 0.7
    enterprise_initial: Share = 0.7
    response_scale_days: Pos = 3.0
    learning_weight: Share = 0.3
    visit_tolerance_per_year: NonNeg = 2.0
    burden_penalty: Share = 0.03
    leniency_bonus: Share = 0.05


class CoordinationSpec(_Strict):
    """Whistle-summons (吹哨报到) and support requests (一针穿千线), M10."""

    summons_base_hours: NonNeg = 0.5
    summons_hours_per_pair: NonNeg = 0.25
    technical_share: Share = 0.3
    support_skill_threshold: Share = 0.7
    support_response_days: NonNeg = 2.0
    support_hours: NonNeg = 1.0


class TrustSpec(_Strict):
    """Enterprise trust in the enforcers and its weight in compliance (M6)."""

    initial: Share = 0.5
    weight: NonNeg = 1.0
    eta_fair: Share = 0.01
    eta_help: Share = 0.03
    eta_burden: Share = 0.02
    eta_arbitrary: Share = 0.05
    conflict_probability: Share = 0.2


class PowerReviewSpec(_Strict):
    """Periodic power-list review (权责清单定期评估, M15), used when its period lever is > 0."""

    min_uses: Count = 1
    max_error_rate: Share = 0.2
    min_cases_for_error: Annotated[int, Field(ge=1)] = 10
    orphan_threshold: Annotated[int, Field(ge=1)] = 3


def _default_domains() -> list[DomainSpec]:
    ids = [
        ("urban_management", "城市管理", 1.6, 1.5),
        ("market_supervision", "市场监管", 1.4, 2.0),
        ("planning_natural_resources", "规划资源", 0.5, 4.0),
        ("emergency_management", "应急管理", 0.7, 3.0),
        ("culture_tourism", "文化旅游", 0.5, 2.0),
        ("transport", "交通运输", 0.6, 2.0),
        ("health", "卫生健康", 0.5, 2.5),
        ("agriculture_rural", "农业农村", 0.3, 2.5),
        ("ecology_environment", "生态环境", 0.8, 3.5),
    ]
    return [DomainSpec(id=i, name_zh=z, violation_weight=w, complexity_hours=h) for i, z, w, h in ids]


class Scenario(_Strict):
    """A complete, validated scenario.

    Build one with :func:`load_scenario` (from TOML) or :func:`scenario_from_dict`.
    """

    name: str = "unnamed"
    description: str = ""
    run: RunSpec = Field(default_factory=RunSpec)
    territory: TerritorySpec = Field(default_factory=TerritorySpec)
    domains: list[DomainSpec] = Field(default_factory=_default_domains)
    departments: list[DepartmentSpec] = Field(default_factory=list)
    catalog: CatalogSpec = Field(default_factory=CatalogSpec)
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    staffing: StaffingSpec = Field(default_factory=StaffingSpec)
    levers: LeversSpec = Field(default_factory=LeversSpec)
    compliance: ComplianceSpec = Field(default_factory=ComplianceSpec)
    detection: DetectionSpec = Field(default_factory=DetectionSpec)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    inspection: InspectionSpec = Field(default_factory=InspectionSpec)
    casework: CaseworkSpec = Field(default_factory=CaseworkSpec)
    sanctions: SanctionSpec = Field(default_factory=SanctionSpec)
    services: ServicesSpec = Field(default_factory=ServicesSpec)
    satisfaction: SatisfactionSpec = Field(default_factory=SatisfactionSpec)
    coordination: CoordinationSpec = Field(default_factory=CoordinationSpec)
    trust: TrustSpec = Field(default_factory=TrustSpec)
    power_review: PowerReviewSpec = Field(default_factory=PowerReviewSpec)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        domain_ids = [d.id for d in self.domains]
        _unique(domain_ids, "domains[].id")
        if not domain_ids:
            raise ValueError("domains: expected at least one domain, got none")
        depts = self.departments or [DepartmentSpec(id=d, domains=[d]) for d in domain_ids]
        dept_ids = [d.id for d in depts]
        _unique(dept_ids, "departments[].id")
        owner: dict[str, str] = {}
        for dept in depts:
            for dom in dept.domains:
                if dom not in domain_ids:
                    raise ValueError(
                        f"departments[{dept.id}].domains: expected domain ids (one of "
                        f"domains[].id), got unknown domain {dom!r}{_did_you_mean(dom, domain_ids)}"
                    )
                if dom in owner:
                    raise ValueError(
                        f"departments[{dept.id}].domains: expected each domain owned by exactly "
                        f"one department, got {dom!r} also owned by {owner[dom]!r}"
                    )
                owner[dom] = dept.id
        missing = [d for d in domain_ids if d not in owner]
        if missing:
            raise ValueError(
                f"departments: expected every domain owned by a department, got no owner for "
                f"{', '.join(repr(d) for d in missing)}"
            )
        for field in ("seconded_officers", "retained_officers"):
            for key in getattr(self.staffing, field):
                if key not in dept_ids:
                    hint = (
                        f" (did you mean {owner[key]!r}, the department that owns domain {key!r}?)"
                        if key in owner
                        else _did_you_mean(key, dept_ids)
                    )
                    raise ValueError(
                        f"staffing.{field}.{key}: expected a department id "
                        f"(one of departments[].id), got unknown department {key!r}{hint}"
                    )
        for sector in self.population.sectors:
            for dom in sector.domains:
                if dom not in domain_ids:
                    raise ValueError(
                        f"population.sectors[{sector.id}].domains: expected domain ids (one of "
                        f"domains[].id), got unknown domain {dom!r}{_did_you_mean(dom, domain_ids)}"
                    )
        if self.levers.delegation_rule == "from_catalog" and self.catalog.file is None:
            raise ValueError(
                "levers.delegation_rule: expected 'score' or 'random' when catalog.file is not set "
                "(from_catalog reads the delegated column of a catalogue CSV), got 'from_catalog'"
            )
        if self.catalog.file is None and self.levers.delegated_matters > self.catalog.n_matters:
            raise ValueError(
                f"levers.delegated_matters: expected at most catalog.n_matters "
                f"({self.catalog.n_matters}), got {self.levers.delegated_matters}"
            )
        return self

    @property
    def department_specs(self) -> list[DepartmentSpec]:
        """Departments, defaulting to one department per domain."""
        if self.departments:
            return list(self.departments)
        return [DepartmentSpec(id=d.id, domains=[d.id]) for d in self.domains]

    @property
    def sector_specs(self) -> list[SectorSpec]:
        """Sectors, defaulting to one sector exposed to every domain."""
        if self.population.sectors:
            return list(self.population.sectors)
        return [SectorSpec(id="all", share=1.0, domains=[d.id for d in self.domains])]

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (what a TOML file would contain after ``extends`` is resolved)."""
        return self.model_dump(mode="json")

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON form; equal scenarios have equal hashes.

        A data file (``catalog.file``, ``territory.file``) enters by the SHA-256 of its bytes, not
        by its path: editing the file changes the hash, moving it does not. Unset file fields are
        left out, so scenarios without files keep the hashes they had before these fields existed.
        """
        data = self.to_dict()
        for table, key in DATA_FILE_FIELDS:
            path = data[table].pop(key)
            if path is not None:
                data[table][key] = _file_digest(path)
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def with_updates(self, updates: dict[str, Any]) -> Scenario:
        """Return a new scenario with dotted-path updates applied and re-validated.

        Parameters
        ----------
        updates
            Mapping of dotted paths (``"levers.joint_inspection"``) to new values.
        """
        data = self.to_dict()
        for path, value in updates.items():
            _set_dotted(data, path, value)
        return scenario_from_dict(data)


def _file_digest(path: str) -> str:
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return f"unreadable:{path}"


def _unique(values: list[str], field: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{field}: expected unique ids, got duplicate {v!r}")
        seen.add(v)


def _did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _set_dotted(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            raise ScenarioError(f"{'.'.join(parts[: i + 1])}: no such scenario field in {path!r}")
        node = node[part]
    if not isinstance(node, dict):
        raise ScenarioError(f"{path}: no such scenario field")
    node[parts[-1]] = value  # an unknown last key is rejected by the schema (with did-you-mean)


# ---------------------------------------------------------------- loading and error messages


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base`` recursively; tables merge, everything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class _FileError(Exception):
    """A problem located in one file of an ``extends`` chain (turned into a ScenarioError)."""

    def __init__(self, detail: str, where: Path) -> None:
        super().__init__(detail)
        self.detail = detail
        self.where = where


def _display(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel.startswith("..") else rel


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")
_TOML_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=(.*)$")
_BARE_WORD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*(#.*)?$")


def _toml_key_at(lines: list[str], lineno: int) -> str | None:
    """Best-effort dotted key set on line ``lineno`` (1-based), from the table headers above."""
    if not 1 <= lineno <= len(lines):
        return None
    table = ""
    for text in lines[: lineno - 1]:
        m = _TOML_HEADER.match(text)
        if m:
            table = ".".join(part.strip().strip("\"'") for part in m.group(1).split("."))
            table += "[]" if text.lstrip().startswith("[[") else ""
    m = _TOML_KEY.match(lines[lineno - 1])
    if not m:
        return None
    key = ".".join(part.strip().strip("\"'") for part in m.group(1).split("."))
    return f"{table}.{key}" if table else key


def _toml_syntax_message(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """One line for a TOML syntax error: the key (or line), what TOML expects, the line given."""
    raw = str(exc)
    lines = text.splitlines()
    m = _TOML_AT.search(raw)
    if m:
        lineno, colno = int(m.group(1)), int(m.group(2))
        reason = raw[: m.start()]
    else:
        lineno, colno = len(lines), 0
        reason = _TOML_END.sub("", raw)
    reason = reason[:1].lower() + reason[1:] if reason else "syntax error"
    line = lines[lineno - 1].strip() if 1 <= lineno <= len(lines) else ""
    key = _toml_key_at(lines, lineno)
    where = f"{key} (line {lineno})" if key else f"line {lineno}, column {colno}"
    if key and reason.startswith("invalid value"):
        value = _TOML_KEY.match(lines[lineno - 1]).group(2)  # type: ignore[union-attr]
        bare = _BARE_WORD.match(value)
        if bare:
            reason = f'strings need quotes: {key.rsplit(".", 1)[-1]} = "{bare.group(1)}"'
    elif reason.startswith("cannot overwrite a value"):
        reason = "each key set only once per table; this key is set a second time"
    got = repr(line) if line else "end of file"
    return f"{where}: expected valid TOML ({reason}), got {_clip(got)}"


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; every failure is a one-line :class:`_FileError`."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise _FileError("expected an existing scenario file, got no such file", path) from None
    except IsADirectoryError:
        raise _FileError("expected a scenario file, got a directory", path) from None
    except OSError as exc:
        raise _FileError(f"expected a readable file, got {exc.strerror or exc}", path) from None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        lineno = blob.count(b"\n", 0, exc.start) + 1
        lines = blob.decode("utf-8", errors="replace").splitlines()
        key = _toml_key_at(lines, lineno)
        where = f"{key} (line {lineno})" if key else f"line {lineno}"
        bad = blob[exc.start : exc.end + 1]
        raise _FileError(
            f"{where}: expected UTF-8 text, got bytes {bad!r} "
            f"(save the file as UTF-8, not GBK or another encoding)",
            path,
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _FileError(_toml_syntax_message(exc, text), path) from None


def _read_chain(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Read the files of an ``extends`` chain, base first, each with ``extends`` removed."""
    current = path
    chain: list[tuple[Path, dict[str, Any]]] = []
    while True:
        data = _read_toml(current)
        chain.append((current, data))
        parent = data.pop("extends", None)
        if parent is None:
            return chain[::-1]
        if not isinstance(parent, str):
            raise _FileError(
                f"extends: expected a file name (string), got {_short(parent)}", current
            )
        target = (current.parent / parent).resolve()
        seen = [p for p, _ in chain]
        if target in seen:
            cycle = " -> ".join(p.name for p in (*seen[seen.index(target) :], target))
            what = "a file other than this one" if target == current else "no cycle"
            raise _FileError(f"extends: expected {what}, got {parent!r} ({cycle})", current)
        if target.is_dir():
            raise _FileError(
                f"extends: expected a scenario file, got {parent!r} (a directory: {target})",
                current,
            )
        if not target.exists():
            siblings = (
                [p.name for p in target.parent.glob("*.toml")] if target.parent.is_dir() else []
            )
            close = difflib.get_close_matches(target.name, siblings, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _FileError(
                f"extends: expected an existing scenario file, got {parent!r} "
                f"(no such file: {target}{hint})",
                current,
            )
        current = target


def _error(detail: str, where: Path, top: Path, source: str) -> ScenarioError:
    """Build a ScenarioError for the named file, saying which extended file holds the fault."""
    if where != top:
        detail = f"{detail} (in {_display(where)})"
    return ScenarioError(detail, source=source)


def _merged_chain(path: str | Path) -> tuple[Path, list[tuple[Path, dict[str, Any]]], dict[str, Any]]:
    """Read a file and its ``extends`` ancestors; return (file, chain, merged data)."""
    top = Path(path).resolve()
    try:
        chain = _read_chain(top)
    except _FileError as exc:
        raise _error(exc.detail, exc.where, top, str(path)) from None
    data: dict[str, Any] = {}
    for file, layer in chain:
        data = deep_merge(data, _with_data_paths(layer, file.parent))
    return top, chain, data


DATA_FILE_FIELDS = (("catalog", "file"), ("territory", "file"))


def _with_data_paths(layer: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Resolve ``catalog.file`` and ``territory.file`` of one file against its directory."""
    out = dict(layer)
    for table, key in DATA_FILE_FIELDS:
        spec = out.get(table)
        if isinstance(spec, dict) and isinstance(spec.get(key), str) and spec[key]:
            out[table] = {**spec, key: os.path.normpath(folder / spec[key])}
    return out


def resolve_extends(path: str | Path) -> dict[str, Any]:
    """Read a TOML scenario and merge it over the file named by its ``extends`` key.

    ``extends`` is resolved relative to the extending file. Cycles and missing targets are
    reported as :class:`~reformsim.errors.ScenarioError` naming the ``extends`` field.
    """
    return _merged_chain(path)[2]


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge (``extends``) and validate a TOML scenario file.

    ``catalog.file`` and ``territory.file`` are resolved against the directory of the file that
    names them and the CSV files are read and checked (``reformsim.district_csv``).

    Raises
    ------
    ScenarioError
        With one line naming the field, the expected and the got value. When the faulty value
        comes from a file named by ``extends``, the message says which file. A fault in a CSV
        file names that file, the row, the line and the column.
    """
    top, chain, data = _merged_chain(path)
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        detail = format_validation_error(exc, data)
        origin = _origin(detail, chain)
        if origin is not None:
            detail += _merge_note(detail, origin, chain)
        raise _error(detail, origin or top, top, str(path)) from None
    if sc.catalog.file is not None or sc.territory.file is not None:
        from reformsim.district_csv import read_district

        try:
            read_district(sc)
        except ScenarioError as exc:
            if exc.source is None:  # the file itself is missing or unreadable
                raise ScenarioError(exc.detail, source=str(path)) from None
            raise ScenarioError(f"{exc.detail} (read by {path})", source=exc.source) from None
    return sc


def _field_keys(detail: str) -> list[str]:
    """Return the table keys of the field that starts a message (up to any list index)."""
    field = detail.split(": ", 1)[0].split(" ", 1)[0].split("[", 1)[0]
    return [k for k in field.split(".") if k]


def _lookup(layer: dict[str, Any], keys: list[str]) -> tuple[bool, Any]:
    node: Any = layer
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return False, None
        node = node[k]
    return True, node


def _origin(detail: str, chain: list[tuple[Path, dict[str, Any]]]) -> Path | None:
    """Return the last file of the chain that sets the field that starts ``detail``."""
    keys = _field_keys(detail)
    for file, layer in reversed(chain):
        if _lookup(layer, keys)[0]:
            return file
    return None


def _merge_note(detail: str, origin: Path, chain: list[tuple[Path, dict[str, Any]]]) -> str:
    """Say which keys of a faulty table were merged in from an extended file, if any."""
    keys = _field_keys(detail)
    files = [f for f, _ in chain]
    own = _lookup(chain[files.index(origin)][1], keys)[1]
    if not isinstance(own, dict):
        return ""
    merged: dict[str, Path] = {}
    for file, layer in chain[: files.index(origin)]:
        found, node = _lookup(layer, keys)
        if found and isinstance(node, dict):
            merged.update({k: file for k in node if k not in own})
    if not merged:
        return ""
    names = ", ".join(sorted(merged))
    where = ", ".join(sorted({_display(f) for f in merged.values()}))
    return f" (tables merge over the extended file: {names} came from {where})"


def scenario_from_dict(data: dict[str, Any], source: str | None = None) -> Scenario:
    """Validate a plain mapping into a :class:`Scenario` (no ``extends`` handling)."""
    if "extends" in data:
        raise ScenarioError(
            "extends: expected no extends in a mapping (only load_scenario reads files), "
            f"got {_short(data['extends'])}",
            source,
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, data), source=source) from None


def format_validation_error(exc: ValidationError, data: Any = None,
                            root: type[BaseModel] | None = None) -> str:
    """Turn pydantic's first error into one line: field, expected, got.

    Parameters
    ----------
    exc
        The validation error.
    data
        The validated mapping, if available: list items with an ``id`` are then named by it
        (``population.sectors[retail].share``) instead of by position.
    root
        The schema that was validated (default :class:`Scenario`); unknown keys are listed
        against it.
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = _format_loc(first["loc"], data)
    kind = first["type"]
    got = first.get("input")
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    if kind == "extra_forbidden":
        key = str(first["loc"][-1])
        allowed = sorted(allowed_fields(first["loc"][:-1], root))
        expected = f"one of {', '.join(allowed)}" if allowed else "no such key"
        hint = _did_you_mean(key, allowed)
        return f"{loc}: expected {expected}, got unknown key {key!r}{hint}{more}"
    if kind in ("value_error", "assertion_error"):
        msg = str(first["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return msg + more if ":" in msg.split(" ")[0] else f"{loc}: {msg}{more}"
    if kind == "missing":
        return f"{loc}: expected a value (required field), got nothing{more}"
    expected = _expected_phrase(first)
    kind_of = f" ({_toml_type(got)})" if kind.endswith("_type") else ""
    return f"{loc}: expected {expected}, got {_short(got)}{kind_of}{more}"


_TYPE_PHRASES = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a table",
    "model_type": "a table",
    "list_type": "a list",
}


def _expected_phrase(err: Any) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind in _TYPE_PHRASES:
        return _TYPE_PHRASES[kind]
    if kind == "greater_than_equal":
        return f"a number >= {ctx.get('ge')}"
    if kind == "greater_than":
        return f"a number > {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"a number <= {ctx.get('le')}"
    if kind == "less_than":
        return f"a number < {ctx.get('lt')}"
    if kind == "finite_number":
        return "a finite number"
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return "a lower-case identifier (letters, digits, _)"
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} item(s)"
    msg = str(err["msg"]).removeprefix("Input should be ")
    return msg[:1].lower() + msg[1:]


def _toml_type(value: Any) -> str:
    """Name the kind of a value in TOML words."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _toml_repr(value: Any) -> str:
    """Write a value the way TOML writes it (true, nan, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_repr(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_repr(v) for v in value) + "]"
    return repr(value)


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _short(value: Any) -> str:
    return _clip(_toml_repr(value))


def _format_loc(loc: tuple[Any, ...], data: Any = None) -> str:
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{_item_name(node, part)}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _item_name(items: Any, index: int) -> str:
    """Name a list item by its ``id`` when valid and unique, else by its position."""
    if not isinstance(items, list) or not 0 <= index < len(items):
        return str(index)
    ids = [it.get("id") if isinstance(it, dict) else None for it in items]
    name = ids[index]
    if isinstance(name, str) and re.fullmatch(r"[a-z][a-z0-9_]*", name) and ids.count(name) == 1:
        return name
    return str(index)


def allowed_fields(loc: tuple[Any, ...], root: type[BaseModel] | None = None) -> list[str]:
    """The keys allowed at ``loc`` (a pydantic error location) of a schema (default: Scenario)."""
    model: Any = Scenario if root is None else root
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        inner = [a for a in (ann, *getattr(ann, "__args__", ()))
                 if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner:
            return []
        model = inner[0]
    return list(getattr(model, "model_fields", {}).keys())
