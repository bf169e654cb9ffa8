"""Optional compilation of hot loops with numba (issue 4: per-task and per-day Python overhead).

A few mechanisms have a *kernel*: a loop over plain numpy arrays and scalars that numba compiles
to machine code. Each such mechanism keeps its numpy/Python path as the fallback and chooses
between the two when the model is built, from :func:`enabled`. Both paths make the same
floating-point operations in the same order and draw the same random numbers from the same
streams (random draws stay in numpy, outside the kernels), so a run's outputs do not depend on
the path; ``tests/test_jit_equivalence.py`` checks that on full runs.

numba is imported only when the first kernel is compiled (importing it takes about half a
second). Kernels are cached on disk next to the sources (numba's ``cache=True``), so only the
first run on a machine pays the compilation. :func:`compile_all` pays both up front (e.g. before
timing a run, or once in each worker of a process pool).

Set the environment variable ``REFORMSIM_JIT=0`` to run without numba (read when a model is
built); the fallback is also used when numba is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import types
from collections.abc import Callable
from typing import Any


def enabled() -> bool:
    """Whether models built now use their compiled kernels.

    True when numba is installed and ``REFORMSIM_JIT`` is not ``"0"``.
    """
    return os.environ.get("REFORMSIM_JIT", "1") != "0" and _numba_installed()


def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


class Kernel:
    """A loop written in the numba subset of Python, compiled on first request.

    Parameters
    ----------
    fn
        The plain Python function. It stays callable as :attr:`py` (slow; for tests of the
        kernel's logic on tiny inputs without compiling).
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.py = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self._compiled: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        """Run the plain function (inside another kernel's plain function, say)."""
        return self.py(*args)

    def __reduce__(self) -> tuple[Callable[[str, str], Kernel], tuple[str, str]]:
        """Pickle by name (a model that holds a kernel pickles; it is looked up on loading)."""
        return _kernel_named, (self.py.__module__, self.py.__qualname__)

    def compiled(self) -> Callable[..., Any]:
        """Return the numba-compiled function (``njit(cache=True)``; no ``fastmath``).

        Without ``fastmath`` the compiled loop makes exactly the IEEE operations written, so
        its results equal the plain function's bit for bit.
        """
        if self._compiled is None:
            import numba  # deferred: the import costs about 0.5 s

            self._compiled = numba.njit(cache=True, nogil=True)(_with_compiled_callees(self.py))
        return self._compiled


def _with_compiled_callees(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` seeing, in place of every :class:`Kernel` among its globals, the compiled function.

    A kernel may call another kernel by name (e.g. a keyed uniform of :mod:`reformsim.streams`):
    numba compiles the call only when the name refers to a compiled function.
    """
    callees = {name: value.compiled() for name, value in fn.__globals__.items()
               if isinstance(value, Kernel) and name in fn.__code__.co_names}
    if not callees:
        return fn
    clone = types.FunctionType(fn.__code__, {**fn.__globals__, **callees}, fn.__name__,
                               fn.__defaults__, fn.__closure__)
    clone.__qualname__, clone.__module__, clone.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    return clone


def _kernel_named(module: str, qualname: str) -> Kernel:
    """Return the kernel ``qualname`` of ``module`` (imported if need be)."""
    importlib.import_module(module)
    return KERNELS[f"{module}.{qualname}"]


#: every kernel defined so far, by qualified name (filled as modules are imported)
KERNELS: dict[str, Kernel] = {}


def kernel(fn: Callable[..., Any]) -> Kernel:
    """Make ``fn`` a :class:`Kernel` (compiled lazily, see :meth:`Kernel.compiled`); a decorator."""
    k = Kernel(fn)
    KERNELS[f"{fn.__module__}.{fn.__qualname__}"] = k
    return k


def compile_all() -> list[str]:
    """Import numba and compile (or load from the disk cache) every kernel of the model.

    Numba compiles a kernel for the argument types of its first call, so this runs two tiny
    models (every lever off, every lever on) for 45 days. Does nothing when :func:`enabled` is
    false. Returns the names of the kernels defined.
    """
    if not enabled():
        return []
    from reformsim.model import ReformModel  # imports every mechanism (and their kernels)

    for levers in _WARM_UP_LEVERS:
        ReformModel(tiny_scenario(levers), seed=0).run()
    for warm_up in WARM_UPS:
        warm_up()
    return sorted(KERNELS)


def tiny_scenario(levers: dict[str, Any], days: int = 45) -> Any:
    """Return a 60-firm, 300-resident scenario with ``levers`` (warm-up runs compile kernels)."""
    from reformsim.scenario import Scenario

    plain = Scenario.model_validate({"population": {"n_enterprises": 60, "n_residents": 300}})
    staff = {d.id: 2 for d in plain.domains}  # one department per domain by default
    return Scenario.model_validate({
        "run": {"days": days, "warmup_days": 5},
        "territory": {"n_grids": 4, "n_areas": 2},
        "population": {"n_enterprises": 60, "n_residents": 300},
        "staffing": {"retained_officers": staff, "seconded_officers": staff,
                     "street_staff": 2, "grid_workers": 4},
        "levers": levers,
    })


#: extra warm-ups of :func:`compile_all`, for kernels the warm-up models call only from inside
#: other kernels (numba's disk cache loads a kernel without compiling its callees)
WARM_UPS: list[Callable[[], None]] = []


_WARM_UP_LEVERS: tuple[dict[str, Any], ...] = (
    {},
    {"pool_seconded_officers": True, "delegated_matters": 100, "unified_dispatch": True,
     "ambiguous_default_to_team": True, "joint_inspection": True, "three_colour": True,
     "first_violation_leniency": True, "whistle_summons": True, "training_hours_per_month": 4.0,
     "exchange_sessions_per_year": 12.0, "power_review_period_days": 20,
     "inspection_cap_per_year": 3},
)
