"""Sweep experiment files (TOML): a base scenario, factors, a design, replicates, KPIs.

Example (``experiments/staffing_delegation_sweep.toml``)::

    [experiment]
    name = "Street staff x delegated matters"
    base = "../scenarios/n_street_integrated.toml"   # relative to this file
    replicates = 5
    seed = 2026
    kpis = ["response_time_mean_days", "orphan_share", "officer_utilization"]

    [design]
    kind = "full_factorial"          # or "lhs" with n = <points>

    [[factors]]
    path = "staffing.street_staff"   # any scenario field, by dotted path
    levels = [30, 60, 90]

    [[factors]]
    path = "levers.delegated_matters"
    range = [100, 450]               # lhs: sampled in the range; full factorial: needs steps
    steps = 3
    integer = true

Files are validated like scenario files: every error names the field, the expected and the got
value (unknown factor paths are checked against the base scenario).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.stats import qmc

from reformsim.errors import ScenarioError
from reformsim.experiment.store import ExperimentError, read_toml_file
from reformsim.metrics import KPI_UNITS
from reformsim.scenario import Scenario
from reformsim.scenario_errors import format_validation_error
from reformsim.scenario_files import load_scenario


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ExperimentSection(_Strict):
    """What is run: the base scenario, replicates, root seed, KPIs kept."""

    name: str = "sweep"
    base: str
    replicates: Annotated[int, Field(ge=1)] = 5
    seed: Annotated[int, Field(ge=0)] = 0
    kpis: list[str] = Field(default_factory=lambda: ["response_time_mean_days", "orphan_share",
                                                      "enterprise_visits_per_firm",
                                                      "compliance_rate", "officer_utilization"])

    @model_validator(mode="after")
    def _known_kpis(self) -> ExperimentSection:
        if not self.kpis:
            raise ValueError("experiment.kpis: expected at least one KPI, got an empty list")
        for k in self.kpis:
            if k not in KPI_UNITS:
                from reformsim.scenario_errors import did_you_mean

                raise ValueError(f"experiment.kpis: expected KPI names (see 'reformsim kpis'), "
                                 f"got unknown KPI {k!r}{did_you_mean(k, KPI_UNITS)}")
        return self


class DesignSection(_Strict):
    """How design points are chosen."""

    kind: Literal["full_factorial", "lhs"] = "full_factorial"
    n: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _lhs_needs_n(self) -> DesignSection:
        if self.kind == "lhs" and self.n is None:
            raise ValueError("design.n: expected the number of LHS points (an integer >= 1), got none")
        return self


class Factor(_Strict):
    """One factor: a scenario field by dotted path, with levels or a range."""

    path: Annotated[str, Field(min_length=1)]
    levels: list[Any] | None = None
    range: list[float] | None = None
    steps: Annotated[int, Field(ge=2)] | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _levels_or_range(self) -> Factor:
        if (self.levels is None) == (self.range is None):
            got = "neither" if self.levels is None else "both"
            raise ValueError(f"factors[{self.path}]: expected exactly one of 'levels' or 'range', "
                             f"got {got}")
        if self.levels is not None and len(self.levels) == 0:
            raise ValueError(f"factors[{self.path}].levels: expected at least one level, got []")
        if self.range is not None:
            if len(self.range) != 2:
                raise ValueError(f"factors[{self.path}].range: expected [low, high], got {self.range}")
            if not self.range[0] < self.range[1]:
                raise ValueError(f"factors[{self.path}].range: expected low < high, got {self.range}")
        return self


class SweepSpec(_Strict):
    """A validated sweep experiment file."""

    experiment: ExperimentSection
    design: DesignSection = Field(default_factory=DesignSection)
    factors: Annotated[list[Factor], Field(min_length=1)]

    @model_validator(mode="after")
    def _distinct_paths(self) -> SweepSpec:
        seen: set[str] = set()
        for f in self.factors:
            if f.path in seen:
                raise ValueError(f"factors[{f.path}].path: expected each scenario field in one "
                                 f"factor only, got {f.path!r} twice")
            seen.add(f.path)
        return self


def load_sweep(path: str | Path) -> tuple[SweepSpec, Scenario, list[dict[str, Any]]]:
    """Read and validate a sweep file; return the spec, the base scenario and the design points.

    Raises
    ------
    ExperimentError
        One line naming the field, the expected and the got value.
    """
    path = Path(path)
    data = read_toml_file(path, "experiment")
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ExperimentError(f"{path}: {format_validation_error(exc, root=SweepSpec)}") from None
    try:
        base = load_scenario(path.parent / spec.experiment.base)
    except ScenarioError as exc:
        raise ExperimentError(f"{path}: experiment.base: {exc}") from None
    try:
        points = design_points(spec)
    except ExperimentError as exc:
        raise ExperimentError(f"{path}: {exc}") from None
    for point in points:  # every point: a bad level or combination may sit anywhere in the design
        try:
            base.with_updates(point)
        except ScenarioError as exc:
            raise ExperimentError(f"{path}: factors: {exc.detail}") from None
    return spec, base, points


def design_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The design: a list of ``{path: value}`` dicts, in a fixed order."""
    if spec.design.kind == "lhs":
        return _lhs(spec)
    axes = []
    for f in spec.factors:
        if f.levels is not None:
            axes.append(list(f.levels))
        else:
            if f.steps is None:
                raise ExperimentError(
                    f"factors[{f.path}].steps: expected a number of steps >= 2 for a range in a "
                    "full factorial design, got none"
                )
            vals = np.linspace(f.range[0], f.range[1], f.steps)
            axes.append([_cast(v, f.integer) for v in vals])
    return [dict(zip([f.path for f in spec.factors], combo, strict=True))
            for combo in itertools.product(*axes)]


def _lhs(spec: SweepSpec) -> list[dict[str, Any]]:
    n = int(spec.design.n or 0)
    sampler = qmc.LatinHypercube(d=len(spec.factors), seed=np.random.default_rng(spec.experiment.seed))
    u = sampler.random(n)
    points = []
    for row in u:
        point = {}
        for f, x in zip(spec.factors, row, strict=True):
            if f.levels is not None:
                point[f.path] = f.levels[min(int(x * len(f.levels)), len(f.levels) - 1)]
            else:
                point[f.path] = _cast(f.range[0] + x * (f.range[1] - f.range[0]), f.integer)
        points.append(point)
    return points


def _cast(v: float, integer: bool) -> int | float:
    return int(round(float(v))) if integer else float(v)
