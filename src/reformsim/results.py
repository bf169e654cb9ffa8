"""Run one scenario and keep its outputs: summary, daily series, case log, manifest.

:func:`run` is the library entry point; :meth:`RunResult.write` produces the files of the output
contract (DESIGN.md §5): ``summary.json``, ``timeseries.parquet``, ``cases.parquet``,
``manifest.json``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reformsim import jit
from reformsim.model import ReformModel
from reformsim.scenario import Scenario
from reformsim.scenario_files import load_scenario


@dataclass
class RunResult:
    """What one run produced.

    Attributes
    ----------
    summary : dict
        KPI name → value (see :data:`reformsim.metrics.KPI_UNITS`).
    timeseries : DataFrame
        One row per day.
    cases : DataFrame
        One row per case with its full lifecycle.
    manifest : dict
        Versions, scenario hash, seed.
    """

    summary: dict[str, float]
    timeseries: pd.DataFrame
    cases: pd.DataFrame
    manifest: dict[str, Any]

    def write(self, out: str | Path) -> Path:
        """Write the four output files into directory ``out`` (created if needed), atomically."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        _atomic(out / "summary.json", lambda p: _dump_json(self.summary, p))
        _atomic(out / "manifest.json", lambda p: _dump_json(self.manifest, p))
        _atomic(out / "timeseries.parquet", lambda p: self.timeseries.to_parquet(p, index=False))
        _atomic(out / "cases.parquet", lambda p: self.cases.to_parquet(p, index=False))
        return out


def run(scenario: Scenario | str | Path, seed: int | np.random.SeedSequence | None = None) -> RunResult:
    """Run a scenario once.

    Parameters
    ----------
    scenario
        A :class:`Scenario` or the path of a TOML scenario file.
    seed
        Run seed; defaults to the scenario's ``run.seed``.

    Examples
    --------
    >>> import reformsim
    >>> res = reformsim.run("scenarios/n_street_integrated.toml", seed=1)   # doctest: +SKIP
    >>> res.summary["orphan_share"]                                          # doctest: +SKIP
    """
    sc = load_scenario(scenario) if isinstance(scenario, str | Path) else scenario
    model = ReformModel(sc, seed=seed)
    model.run()
    return collect(model)


def collect(model: ReformModel) -> RunResult:
    """Build the result object of a finished (or partly run) model."""
    sc = model.config
    units = [u.name for u in model.units]
    cases = model.cases.to_frame(units, model.domain_names, sc.run.warmup_days)
    return RunResult(
        summary=model.recorder.summary(),
        timeseries=model.recorder.timeseries(),
        cases=cases,
        manifest=manifest(sc, model.seed),
    )


def manifest(sc: Scenario, seed: int | np.random.SeedSequence) -> dict[str, Any]:
    """Provenance of a run: versions, git commit, scenario hash and seed.

    ``compiled_kernels`` says whether the numba kernels ran (:mod:`reformsim.jit`); the outputs
    are the same either way.
    """
    if isinstance(seed, np.random.SeedSequence):
        seed_info: Any = {"entropy": int(seed.entropy), "spawn_key": list(seed.spawn_key)}
    else:
        seed_info = int(seed)
    return {
        "scenario_name": sc.name,
        "scenario_hash": sc.content_hash(),
        "seed": seed_info,
        "days": sc.run.days,
        "warmup_days": sc.run.warmup_days,
        "versions": {pkg: _version(pkg) for pkg in
                     ("reformsim", "numpy", "mesa", "pandas", "pyarrow", "pydantic", "SALib",
                      "numba")},
        "compiled_kernels": jit.enabled(),
        "python": platform.python_version(),
        "git_commit": _git_commit(),
        "scenario": sc.to_dict(),
    }


@cache  # the versions and the commit of the loaded code do not change within a process
def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


@cache
def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def _dump_json(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(_json_safe(obj), indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def _atomic(target: Path, writer: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
