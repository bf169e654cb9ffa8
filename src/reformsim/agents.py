"""Mesa agents: departments, area squads, officers, grid workers, and facades.

Departments, squads and officers number in the hundreds and are ordinary Mesa agents. Enterprises
and residents live in numpy columns (:mod:`reformsim.population`); :class:`Enterprise` and
:class:`Resident` are thin Mesa agents whose attributes read and write those columns. They are
created on demand (``model.enterprise(i)``, ``model.materialize_facades()``), never on hot paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from reformsim.population import RISK_TYPES

if TYPE_CHECKING:
    from reformsim.model import ReformModel

OFFICER_KINDS = ("seconded", "retained", "street_staff")
COLOUR_NAMES = ("green", "yellow", "black")


class WorkUnit(mesa.Agent):
    """A body that owns a work queue: a line department or an area squad (中队).

    Attributes
    ----------
    index : int
        Position in ``model.units``; used in the case log and in ``model.queues``.
    name : str
    base_xy : ndarray
        Where its officers start trips from.
    officers : list of Officer
    officer_range : tuple of int
        The officers' rows ``[first, end)`` in the model's officer arrays
        (:meth:`ReformModel.bind_officers <reformsim.model.ReformModel.bind_officers>`).

    The unit's queues (planned visits; cases and coordination work, served first) live in
    ``model.queues`` (:class:`~reformsim.work_queues.WorkQueues`).
    """

    def __init__(self, model: ReformModel, index: int, name: str, base_xy: np.ndarray) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.base_xy = base_xy
        self.officers: list[Officer] = []
        self.officer_range = (0, 0)
        #: officers' current skills, one row each (rows of the model's officer skill matrix;
        #: ``Officer.skills`` are views of the rows)
        self.skill_matrix = np.zeros((0, 0))
        #: officers' experience and constant room to learn ``1 - skill0``, one row each
        self.experience_matrix = np.zeros((0, 0))
        self._room_matrix = np.zeros((0, 0))

    def push_case(self, ready_at: float, task: Any) -> None:
        """Queue a case (its id) or coordination work (a ``CoordinationTask``)."""
        queues = self.model.queues
        if isinstance(task, int | np.integer):
            queues.push_case(self.index, ready_at, self.model.next_seq(), int(task))
        else:
            queues.push_coordination(self.index, ready_at, self.model.next_seq(), task.hours,
                                     task.domain)

    def push_inspection(self, ready_at: float, task: Any) -> None:
        """Queue a planned visit (an ``InspectionTask``), ordered by ``(ready_at, seq)``."""
        self.model.queues.push_visit(self.index, ready_at, self.model.next_seq(),
                                     task.enterprise, task.grid, task.domain, task.n_depts,
                                     np.asarray(task.pairs))

    def bind_skills(self, skills: np.ndarray, experience: np.ndarray, room: np.ndarray,
                    first: int) -> None:
        """Make the unit's matrices and its officers' vectors views of the model's rows.

        ``skills``, ``experience`` and ``room`` are the model's officer x domain matrices; the
        unit's officers are rows ``first, first + 1, ...``. :meth:`forget` and :meth:`train`
        then update every officer of the unit at once, and compiled casework sees the change.
        """
        end = first + len(self.officers)
        self.officer_range = (first, end)
        self.skill_matrix = skills[first:end]
        self.experience_matrix = experience[first:end]
        self._room_matrix = room[first:end]
        for k, o in enumerate(self.officers):
            o.skills = self.skill_matrix[k]
            o.experience = self.experience_matrix[k]
            o._room0 = self._room_matrix[k]
            o.row = first + k

    def forget(self, phi: float) -> None:
        """:meth:`Officer.forget` for every officer of the unit (the same operations per row)."""
        if self.officers:
            self.experience_matrix *= 1.0 - phi
            self._refresh_skills()

    def train(self, gain: np.ndarray) -> None:
        """:meth:`Officer.train` for every officer: ``gain`` has one row per officer."""
        if self.officers:
            self.experience_matrix += gain
            self._refresh_skills()

    def _refresh_skills(self) -> None:
        """:meth:`Officer._refresh_skills` on the matrices (elementwise, the same values)."""
        decay = 1.0 + self.experience_matrix
        decay **= -self.model.learning_exponent
        decay *= self._room_matrix
        np.subtract(1.0, decay, out=self.skill_matrix)

    @property
    def busy_today(self) -> float:
        """Hours the unit's officers worked on tasks today."""
        return float(self.model.casework.ufs[self.index, 1])

    @property
    def backlog(self) -> int:
        """Tasks waiting in the queue."""
        return self.model.queues.backlog(self.index)


class Department(WorkUnit):
    """A line department (条线部门): owns domains and the matters not delegated."""

    def __init__(self, model: ReformModel, index: int, name: str, base_xy: np.ndarray,
                 domains: list[int]) -> None:
        super().__init__(model, index, name, base_xy)
        self.domains = domains


class Squad(WorkUnit):
    """The integrated team's squad (中队) for one area (片区)."""

    def __init__(self, model: ReformModel, index: int, name: str, base_xy: np.ndarray,
                 area: int) -> None:
        super().__init__(model, index, name, base_xy)
        self.area = area


class Officer(mesa.Agent):
    """An enforcement officer: seconded from a department, retained by it, or street staff.

    Skill in domain ``d`` follows a learning curve with forgetting (domain.md M12, Wright 1936):
    ``skill_d = 1 - (1 - skill0_d) * (1 + n_d) ** (-b)``, ``b = -log2(LR)``, where ``n_d`` is the
    officer's (depreciating) experience in cases of domain ``d``.

    Casework keeps the officer's working state in the model's officer arrays (row :attr:`row`):
    :attr:`free_at`, :attr:`busy_hours` and :attr:`last_domain` read them.
    """

    def __init__(self, model: ReformModel, kind: str, home_domain: int, skill0: np.ndarray) -> None:
        super().__init__(model)
        self.kind = kind
        self.home_domain = home_domain
        self.skill0 = skill0
        #: ``1 - skill0``: the room to learn in each domain (constant)
        self._room0 = 1.0 - skill0
        self.experience = np.zeros_like(skill0)
        self.skills = skill0.astype(float).copy()
        self.unit: WorkUnit | None = None
        #: row in the model's officer arrays (set by :meth:`WorkUnit.bind_skills`)
        self.row = -1

    @property
    def free_at(self) -> float:
        """When the officer's current task ends (model days)."""
        return float(self.model.officer_state[self.row, 0])

    @property
    def busy_hours(self) -> float:
        """Hours worked on tasks since the warm-up."""
        return float(self.model.officer_state[self.row, 1])

    @property
    def last_domain(self) -> int:
        """Domain of the officer's last task (-1 before the first): a switch costs time (M12)."""
        return int(self.model.officer_state[self.row, 2])

    def skill(self, domain: int) -> float:
        """Current skill in a domain, in [0, 1]."""
        return float(self.skills[domain])

    def gain_experience(self, domain: int, amount: float = 1.0) -> None:
        """Add experience in one domain and update the skill there.

        Compiled casework does the same for each handled case (``casework_kernels``).
        """
        # on Python floats: the same IEEE operations (and libm pow) as on the float64 elements
        experience = self.experience.item(domain) + amount
        self.experience[domain] = experience
        b = self.model.learning_exponent
        self.skills[domain] = 1.0 - self._room0.item(domain) * (1.0 + experience) ** (-b)

    def train(self, gain: np.ndarray) -> None:
        """Add experience in every domain at once (training, exchange sessions)."""
        self.experience += gain
        self._refresh_skills()

    def forget(self, phi: float) -> None:
        """Depreciate experience by a share ``phi`` (called monthly) and update skills."""
        self.experience *= 1.0 - phi
        self._refresh_skills()

    def _refresh_skills(self) -> None:
        """``skills = 1 - (1 - skill0) (1 + experience) ** -b``, in place (fewer temporaries)."""
        decay = 1.0 + self.experience
        decay **= -self.model.learning_exponent  # the same power as ``decay ** -b``
        decay *= self._room0
        np.subtract(1.0, decay, out=self.skills)


class GridWorker(mesa.Agent):
    """A grid worker (网格员): patrols one grid, reports, assists residents with online services.

    Their daily hours are tracked as grid-level columns in the model (``patrol_hours``).
    """

    def __init__(self, model: ReformModel, grid: int) -> None:
        super().__init__(model)
        self.grid = grid


class _ColumnFacade(mesa.Agent):
    """Base for agents whose state lives in model columns."""

    _fields: tuple[str, ...] = ()

    def __init__(self, model: ReformModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    def __repr__(self) -> str:
        attrs = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({self.index}, {attrs})"


class Enterprise(_ColumnFacade):
    """Facade over one row of :class:`reformsim.population.Enterprises`."""

    _fields = ("grid", "risk_type", "colour", "satisfaction")

    @property
    def _cols(self) -> Any:
        return self.model.enterprises

    @property
    def grid(self) -> int:
        """Grid index."""
        return int(self._cols.grid[self.index])

    @property
    def risk_type(self) -> str:
        """Honest / rational / imitator / incompetent."""
        return RISK_TYPES[int(self._cols.risk_type[self.index])]

    @property
    def colour(self) -> str:
        """Three-colour code: green / yellow / black."""
        return COLOUR_NAMES[int(self._cols.colour[self.index])]

    @property
    def satisfaction(self) -> float:
        """Satisfaction in [0, 1]."""
        return float(self._cols.satisfaction[self.index])

    @satisfaction.setter
    def satisfaction(self, value: float) -> None:
        self._cols.satisfaction[self.index] = value

    @property
    def violating_domains(self) -> list[str]:
        """Domains in which the firm has an open violation."""
        pairs = self._cols.pairs_of(self.index)
        doms = self._cols.pair_dom[pairs][self._cols.violation[pairs] >= 0]
        return [self.model.domain_names[d] for d in doms]


class Resident(_ColumnFacade):
    """Facade over one row of :class:`reformsim.population.Residents`."""

    _fields = ("grid", "elderly", "satisfaction")

    @property
    def grid(self) -> int:
        """Grid index."""
        return int(self.model.residents.grid[self.index])

    @property
    def elderly(self) -> bool:
        """Whether the resident is in the elderly age group."""
        return bool(self.model.residents.elderly[self.index])

    @property
    def satisfaction(self) -> float:
        """Satisfaction in [0, 1]."""
        return float(self.model.residents.satisfaction[self.index])

    @satisfaction.setter
    def satisfaction(self, value: float) -> None:
        self.model.residents.satisfaction[self.index] = value
