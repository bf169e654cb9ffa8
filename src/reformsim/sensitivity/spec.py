"""Sensitivity experiment files (TOML ``[sensitivity]``): factors, method, size, KPIs.

Example (``experiments/sobol_staffing_power.toml``)::

    [sensitivity]
    name = "Staffing and power allocation"
    base = "../scenarios/n_street_integrated.toml"
    method = "sobol"          # sobol, morris, fast, rbd_fast, delta, pawn
    N = 1024                  # base sample size (a power of two for sobol)
    replicates = 2            # runs per design point; their mean is analysed
    seed = 7
    kpis = ["response_time_mean_days", "orphan_share"]
    daily_kpi = "compliance_rate"   # optional: time-varying first-order indices

    [[factors]]
    path = "staffing.street_staff"
    bounds = [30, 90]
    integer = true

    [[factors]]
    path = "levers.joint_inspection"
    levels = [false, true]    # categorical (sampled uniformly, then mapped to a level)

Distributions: ``dist = "unif"`` (bounds = [low, high]), ``"norm"`` ([mean, sd]),
``"triang"`` ([low, high, peak as a fraction of the range]; SALib's convention) and
``"logunif"`` ([low, high], both > 0). Integer factors are rounded to the nearest integer after
sampling (``round half to even``), for every method alike.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reformsim.errors import ScenarioError
from reformsim.experiment.store import ExperimentError, read_toml_file
from reformsim.metrics import KPI_UNITS
from reformsim.scenario import Scenario
from reformsim.scenario_errors import did_you_mean, format_validation_error
from reformsim.scenario_files import load_scenario

METHODS = ("sobol", "morris", "fast", "rbd_fast", "delta", "pawn")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class SAFactor(_Strict):
    """One uncertain input: a scenario field by dotted path, with bounds or categorical levels."""

    path: Annotated[str, Field(min_length=1)]
    bounds: list[float] | None = None
    dist: Literal["unif", "norm", "triang", "logunif"] = "unif"
    integer: bool = False
    levels: list[Any] | None = None

    @model_validator(mode="after")
    def _shape(self) -> SAFactor:
        if (self.bounds is None) == (self.levels is None):
            raise ValueError(f"factors[{self.path}]: expected exactly one of 'bounds' or 'levels'")
        if self.levels is not None:
            if len(self.levels) < 2:
                raise ValueError(f"factors[{self.path}].levels: expected at least 2 levels, "
                                 f"got {self.levels}")
            return self
        b = self.bounds or []
        need = 3 if self.dist == "triang" else 2
        if len(b) != need:
            raise ValueError(f"factors[{self.path}].bounds: expected {need} numbers for "
                             f"dist {self.dist!r}, got {b}")
        if self.dist in ("unif", "logunif", "triang") and not b[0] < b[1]:
            raise ValueError(f"factors[{self.path}].bounds: expected lower < upper, got {b}")
        if self.dist == "logunif" and b[0] <= 0:
            raise ValueError(f"factors[{self.path}].bounds: expected a lower bound > 0 for "
                             f"logunif, got {b[0]}")
        if self.dist == "norm" and b[1] <= 0:
            raise ValueError(f"factors[{self.path}].bounds: expected [mean, sd] with sd > 0, got {b}")
        if self.dist == "triang" and not 0.0 <= b[2] < 1.0:
            raise ValueError(f"factors[{self.path}].bounds: expected the peak as a fraction of the "
                             f"range in [0, 1) (SALib rejects 1), got {b[2]}")
        if self.dist == "triang" and b[1] < 0:
            raise ValueError(f"factors[{self.path}].bounds: expected an upper bound >= 0 for "
                             f"triang (SALib rejects negative ends), got {b[1]}")
        return self


class SASection(_Strict):
    """What is analysed and how."""

    name: str = "sensitivity"
    base: str | None = None
    method: str = "sobol"
    N: Annotated[int, Field(ge=1)] = 64
    replicates: Annotated[int, Field(ge=1)] = 1
    seed: Annotated[int, Field(ge=0)] = 0
    kpis: list[str] = Field(default_factory=lambda: ["response_time_mean_days", "orphan_share"])
    daily_kpi: str | None = None
    second_order: bool = False
    num_levels: Annotated[int, Field(ge=2)] = 4
    M: Annotated[int, Field(ge=1)] = 4
    num_resamples: Annotated[int, Field(ge=10)] = 100
    conf_level: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.95

    @model_validator(mode="after")
    def _checks(self) -> SASection:
        if self.method not in METHODS:
            raise ValueError(f"sensitivity.method: expected one of {list(METHODS)}, "
                             f"got {self.method!r}{did_you_mean(self.method, METHODS)}")
        if self.method == "sobol" and (self.N & (self.N - 1)) != 0:
            lo = 2 ** int(math.log2(self.N))
            raise ValueError(f"sensitivity.N: expected a power of two for sobol (e.g. {lo} or "
                             f"{2 * lo}), got {self.N}")
        if self.second_order and self.method != "sobol":
            raise ValueError("sensitivity.second_order: only available with method 'sobol'")
        if self.method == "fast" and self.N <= 4 * self.M**2:
            raise ValueError(f"sensitivity.N: expected more than 4·M² = {4 * self.M**2} for fast "
                             f"(M = {self.M}), got {self.N}")
        if self.method == "rbd_fast" and self.N <= 2 * self.M:
            raise ValueError(f"sensitivity.N: expected more than 2·M = {2 * self.M} for rbd_fast "
                             f"(M = {self.M}; a few hundred is usual), got {self.N}")
        if self.method == "morris" and self.N < 2:
            raise ValueError(f"sensitivity.N: expected at least 2 trajectories for morris "
                             f"(sigma needs two), got {self.N}")
        return self


class SensitivitySpec(_Strict):
    """A validated sensitivity file."""

    sensitivity: SASection
    factors: Annotated[list[SAFactor], Field(min_length=2)]

    @model_validator(mode="after")
    def _unique(self) -> SensitivitySpec:
        paths = [f.path for f in self.factors]
        dup = {p for p in paths if paths.count(p) > 1}
        if dup:
            raise ValueError(f"factors: expected each path once, got duplicates {sorted(dup)}")
        if self.sensitivity.method == "morris":
            for f in self.factors:
                if f.levels is None and f.dist == "norm":
                    raise ValueError(
                        f"factors[{f.path}].dist: expected a bounded distribution for morris "
                        f"(its grid includes the 0 and 1 quantiles, infinite for 'norm'), got "
                        f"'norm'; use 'unif' or 'triang'")
        return self


def check_kpis(spec: SensitivitySpec, allowed: set[str] | None = None, source: str = "") -> None:
    """KPIs must be in the output contract (or, for a plain function, in its outputs)."""
    allowed = set(KPI_UNITS) if allowed is None else allowed
    for k in spec.sensitivity.kpis:
        if k not in allowed:
            raise ExperimentError(f"{source}sensitivity.kpis: unknown KPI {k!r}"
                                  f"{did_you_mean(k, allowed)}")
    if not spec.sensitivity.kpis:
        raise ExperimentError(f"{source}sensitivity.kpis: expected at least one KPI, got []")


def read_spec(path: str | Path) -> SensitivitySpec:
    """Parse and validate a sensitivity file (without touching the base scenario)."""
    path = Path(path)
    data = read_toml_file(path, "sensitivity")
    try:
        return SensitivitySpec.model_validate(data)
    except ValidationError as exc:
        raise ExperimentError(f"{path}: {format_validation_error(exc, root=SensitivitySpec)}") from None


def load_sensitivity(path: str | Path) -> tuple[SensitivitySpec, Scenario]:
    """Read a sensitivity file and its base scenario; check factor paths and KPIs."""
    path = Path(path)
    spec = read_spec(path)
    src = f"{path}: "
    check_kpis(spec, source=src)
    if spec.sensitivity.daily_kpi is not None:
        from reformsim.experiment.runner import DEFAULT_SERIES

        if spec.sensitivity.daily_kpi not in DEFAULT_SERIES:
            raise ExperimentError(f"{src}sensitivity.daily_kpi: expected one of "
                                  f"{list(DEFAULT_SERIES)}, got {spec.sensitivity.daily_kpi!r}")
    if spec.sensitivity.base is None:
        raise ExperimentError(f"{src}sensitivity.base: expected a base scenario file, got none")
    try:
        base = load_scenario(path.parent / spec.sensitivity.base)
    except ScenarioError as exc:
        raise ExperimentError(f"{src}sensitivity.base: {exc}") from None
    for f in spec.factors:
        for what, probe in _probes(f):
            try:
                base.with_updates({f.path: probe})
            except ScenarioError as exc:
                hint = ""
                if "expected an integer" in exc.detail and not f.integer and f.levels is None:
                    hint = " (add integer = true to the factor)"
                where = f"factors[{f.path}]" if what is None else f"factors[{f.path}].{what}"
                raise ExperimentError(f"{src}{where}: {exc.detail}{hint}") from None
    return spec, base


def _probes(f: SAFactor) -> list[tuple[str | None, Any]]:
    """Values to try on the base scenario, as they will be mapped (integers rounded).

    Every level; or the middle and both ends of the range (the mean of a normal).
    """
    if f.levels is not None:  # the first probe checks the path, the others each level
        return [(None if i == 0 else f"levels[{i}]", v) for i, v in enumerate(f.levels)]
    b = f.bounds or [0.0, 1.0]
    ends = [("bounds", b[0])] if f.dist == "norm" else [("bounds", b[0]), ("bounds", b[1])]
    if f.integer:
        return [(w, int(round(v))) for w, v in ends]
    return [(None, float((b[0] + b[1]) / 2) if f.dist != "norm" else float(b[0]))] + \
        [(w, float(v)) for w, v in ends]
