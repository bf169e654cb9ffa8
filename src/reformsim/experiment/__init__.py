"""Experiments: replicate, compare (common random numbers), sweep; executors; resumable store.

See ``docs/experiments.md``. Names are imported on first use, so worker processes that only need
:mod:`reformsim.experiment.runner` do not pay for the analysis stack at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ExperimentError": "reformsim.experiment.store",
    "ExperimentResult": "reformsim.experiment.api",
    "RunOptions": "reformsim.experiment.api",
    "compare": "reformsim.experiment.api",
    "replicate": "reformsim.experiment.api",
    "sweep": "reformsim.experiment.api",
}

__all__ = ["ExperimentError", "ExperimentResult", "RunOptions", "compare", "replicate", "sweep"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reformsim.experiment' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
