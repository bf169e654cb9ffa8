"""Global sensitivity analysis with SALib: which levers and behaviours drive the outcomes.

See ``docs/sensitivity.md``.
"""

from reformsim.sensitivity.pipeline import SensitivityResult, run_function, run_sensitivity
from reformsim.sensitivity.spec import SensitivitySpec, load_sensitivity, read_spec

__all__ = ["SensitivityResult", "SensitivitySpec", "load_sensitivity", "read_spec", "run_function",
           "run_sensitivity"]
