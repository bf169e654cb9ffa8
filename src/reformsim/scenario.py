"""The scenario schema: typed, strict and documented (pydantic v2).

A scenario is pure data: territory, catalogue, population, staffing, levers and behaviour
parameters. Reform designs differ only in their levers (DESIGN.md §2.4); no mechanism reads a
scenario's name. Every default below is documented in ``docs/scenarios.md`` with its source
(``domain.md`` tag) or marked as an assumption.

Examples
--------
Reading TOML files (with ``extends``) is :mod:`reformsim.scenario_files`; one-line error
messages are :mod:`reformsim.scenario_errors`. The loading functions stay importable from here.

>>> from reformsim.scenario_files import load_scenario
>>> sc = load_scenario("scenarios/n_street_integrated.toml")   # doctest: +SKIP
>>> sc.levers.joint_inspection                                   # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reformsim.errors import ScenarioError
from reformsim.scenario_errors import did_you_mean

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Pos = Annotated[float, Field(gt=0.0)]
Count = Annotated[int, Field(ge=0)]
Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
#: A data file named in a scenario (resolved against the scenario file's directory when loaded).
DataFile = Annotated[str, Field(min_length=1)]

#: scenario fields that name data files: (table, key)
DATA_FILE_FIELDS = (("catalog", "file"), ("territory", "file"))

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
                f"{did_you_mean(key, allowed)}"
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
                        f"domains[].id), got unknown domain {dom!r}{did_you_mean(dom, domain_ids)}"
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
                        else did_you_mean(key, dept_ids)
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
                        f"domains[].id), got unknown domain {dom!r}{did_you_mean(dom, domain_ids)}"
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
        from reformsim.scenario_files import scenario_from_dict

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


#: loading functions that moved to :mod:`reformsim.scenario_files` (still importable from here)
_MOVED = ("load_scenario", "resolve_extends", "scenario_from_dict", "deep_merge")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from reformsim import scenario_files

        return getattr(scenario_files, name)
    if name in ("format_validation_error", "allowed_fields"):
        from reformsim import scenario_errors

        return getattr(scenario_errors, name)
    raise AttributeError(f"module 'reformsim.scenario' has no attribute {name!r}")
