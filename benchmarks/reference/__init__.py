"""A plain-Mesa reference implementation of reformsim's core model, for docking and speed.

Every enterprise and resident is a :class:`mesa.Agent` stepped with ``shuffle_do``; the daily
rules are re-implemented per agent from ``docs/ODD.md`` and ``src/reformsim/mechanisms``. See
``README.md`` in this directory.
"""

from .agents import Enterprise, Officer, Resident, WorkUnit
from .model import ReferenceModel, run_reference, timed_reference

__all__ = ["Enterprise", "Officer", "ReferenceModel", "Resident", "WorkUnit", "run_reference",
           "timed_reference"]
