"""Experiments: replicate, compare (common random numbers), sweep; executors; resumable store.

See ``docs/experiments.md``.
"""

from reformsim.experiment.api import ExperimentResult, RunOptions, compare, replicate, sweep
from reformsim.experiment.store import ExperimentError

__all__ = ["ExperimentError", "ExperimentResult", "RunOptions", "compare", "replicate", "sweep"]
