"""reformsim: agent-based simulation of grassroots enforcement reform designs.

Siloed (条块分割) versus integrated (一支队伍管执法, 大综合一体化) enforcement of a street, with the
reform's levers as data. The public API is small and pinned by ``tests/test_api_and_agents.py``.

Examples
--------
>>> import reformsim
>>> sc = reformsim.load_scenario("scenarios/n_street_integrated.toml")   # doctest: +SKIP
>>> res = reformsim.run(sc, seed=1)                                        # doctest: +SKIP
>>> res.summary["response_time_mean_days"]                                 # doctest: +SKIP
"""

from reformsim.errors import ReformsimError, ScenarioError
from reformsim.metrics import CONTRACT_KPIS, KPI_UNITS
from reformsim.model import ReformModel
from reformsim.results import RunResult, run
from reformsim.scenario import Scenario, load_scenario

__version__ = "0.1.0"

__all__ = [
    "CONTRACT_KPIS",
    "KPI_UNITS",
    "ReformModel",
    "ReformsimError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "run",
]
