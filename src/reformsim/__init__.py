"""reformsim: agent-based simulation of grassroots enforcement reform designs.

Siloed (条块分割) versus integrated (一支队伍管执法, 大综合一体化) enforcement of a street, with the
reform's levers as data. The public API is small and pinned by ``tests/test_api_and_agents.py``.
Heavy parts (Mesa, pandas, the experiment engine) are imported on first use, so ``import
reformsim`` and ``reformsim validate`` start fast.

Examples
--------
>>> import reformsim
>>> sc = reformsim.load_scenario("scenarios/n_street_integrated.toml")   # doctest: +SKIP
>>> res = reformsim.run(sc, seed=1)                                        # doctest: +SKIP
>>> res.summary["response_time_mean_days"]                                 # doctest: +SKIP
>>> exp = reformsim.compare([sc, sc.with_updates({"levers.joint_inspection": False})],
...                         replicates=10)                                 # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from reformsim.errors import ReformsimError, ScenarioError
from reformsim.scenario import Scenario
from reformsim.scenario_files import load_scenario

__version__ = "0.1.0"

_LAZY = {
    "CONTRACT_KPIS": "reformsim.metrics",
    "KPI_UNITS": "reformsim.metrics",
    "ReformModel": "reformsim.model",
    "RunResult": "reformsim.results",
    "run": "reformsim.results",
    "compare": "reformsim.experiment",
    "replicate": "reformsim.experiment",
    "sweep": "reformsim.experiment",
    "RunOptions": "reformsim.experiment",
    "run_sensitivity": "reformsim.sensitivity",
}

__all__ = [
    "CONTRACT_KPIS",
    "KPI_UNITS",
    "ReformModel",
    "ReformsimError",
    "RunOptions",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "compare",
    "load_scenario",
    "replicate",
    "run",
    "run_sensitivity",
    "sweep",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reformsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
