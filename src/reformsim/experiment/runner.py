"""One run of an experiment as a picklable task, executed the same way by every executor.

A task carries everything the run depends on — the scenario (as plain data), the experiment's root
seed and the replicate index — so its result does not depend on which process, machine or
completion order runs it. Replicate ``k`` uses ``SeedSequence(root).spawn(R)[k]``, which equals
``SeedSequence(root, spawn_key=(k,))``; every arm of a comparison uses the same replicate seeds
(common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_SERIES: tuple[str, ...] = (
    "violations_open", "cases_detected", "cases_closed", "inspections", "compliance_rate", "backlog",
)


@dataclass(frozen=True)
class RunTask:
    """Everything one run needs.

    Attributes
    ----------
    run_id : int
        Position in the experiment's plan; results are ordered by it.
    arm : str
        Arm label (compare, replicate) or design-point label (sweep).
    point : dict
        Factor values of a sweep design point (empty otherwise).
    replicate : int
        Replicate index ``k``: the run seed is ``SeedSequence(root_seed, spawn_key=(k,))``.
    scenario : dict
        The validated scenario as plain data (``Scenario.to_dict()``).
    root_seed : int
    series : tuple of str
        Daily time-series columns to keep.
    """

    run_id: int
    arm: str
    replicate: int
    scenario: dict[str, Any]
    root_seed: int
    point: dict[str, Any] = field(default_factory=dict)
    series: tuple[str, ...] = DEFAULT_SERIES


def replicate_seed(root_seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed of replicate ``k``: child ``k`` of ``SeedSequence(root_seed)``."""
    return np.random.SeedSequence(root_seed, spawn_key=(replicate,))


def run_task(task: RunTask) -> dict[str, Any]:
    """Run one task and return a JSON-ready record (summary KPIs, kept daily series, provenance)."""
    from reformsim.model import ReformModel
    from reformsim.scenario_files import scenario_from_dict

    sc = scenario_from_dict(task.scenario)
    model = ReformModel(sc, seed=replicate_seed(task.root_seed, task.replicate))
    model.run()
    ts = model.recorder.timeseries()
    return {
        "run_id": task.run_id,
        "arm": task.arm,
        "point": task.point,
        "replicate": task.replicate,
        "root_seed": task.root_seed,
        "spawn_key": [task.replicate],
        "scenario_hash": sc.content_hash(),
        "summary": model.recorder.summary(),
        "series": {name: ts[name].astype(float).tolist() for name in task.series},
    }
