"""Mesa agents: departments, area squads, officers, grid workers, and facades.

Departments, squads and officers number in the hundreds and are ordinary Mesa agents. Enterprises
and residents live in numpy columns (:mod:`reformsim.population`); :class:`Enterprise` and
:class:`Resident` are thin Mesa agents whose attributes read and write those columns. They are
created on demand (``model.enterprise(i)``, ``model.materialize_facades()``), never on hot paths.
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
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
        Position in ``model.units``; used in the case log.
    name : str
    base_xy : ndarray
        Where its officers start trips from.
    officers : list of Officer
    cases : list
        Heap of ``(ready_at, seq, task)``; cases are served before inspections.
    inspections : deque
        ``(ready_at, seq, task)`` in increasing order: a queue, popped from the left (plans
        arrive in that order, see :meth:`push_inspection`).
    """

    def __init__(self, model: ReformModel, index: int, name: str, base_xy: np.ndarray) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.base_xy = base_xy
        self.officers: list[Officer] = []
        #: officers' current skills, one row each (``Officer.skills`` are views of the rows)
        self.skill_matrix = np.zeros((0, 0))
        #: officers' experience and constant room to learn ``1 - skill0``, one row each
        #: (``Officer.experience`` and its room are views of the rows)
        self.experience_matrix = np.zeros((0, 0))
        self._room_matrix = np.zeros((0, 0))
        self.cases: list[tuple[float, int, Any]] = []
        self.inspections: deque[tuple[float, int, Any]] = deque()
        self.busy_today = 0.0
        #: per domain: the officers' positions ranked by skill there (most skilled first, ties
        #: by position) and their skills there as Python floats, until skills change
        self._ranking: dict[int, tuple[list[int], list[float]]] = {}

    def push_case(self, ready_at: float, task: Any) -> None:
        """Queue a case task."""
        heapq.heappush(self.cases, (ready_at, self.model.next_seq(), task))

    def push_inspection(self, ready_at: float, task: Any) -> None:
        """Queue an inspection task.

        Planned visits arrive in order of ``(ready_at, seq)`` (each day's plans are ready at
        the day's start and ``seq`` grows), so an entry normally joins the end of the queue and
        the head is the smallest entry, as a heap's would be; an entry ready earlier than the
        last one is inserted at its place.
        """
        entry = (ready_at, self.model.next_seq(), task)
        queue = self.inspections
        if not queue or queue[-1][0] <= ready_at:  # a new seq is larger than any queued one
            queue.append(entry)
        else:
            bisect.insort(queue, entry)

    def extend_inspections(self, ready_at: float, entries: list[tuple[float, int, Any]]) -> None:
        """Queue several inspection entries ``(ready_at, seq, task)`` of increasing ``seq``.

        The same queue as :meth:`push_inspection` of each in turn (the entries' ``seq`` come
        from ``model.next_seq``).
        """
        queue = self.inspections
        if not queue or queue[-1][0] <= ready_at:
            queue.extend(entries)
        else:
            for entry in entries:
                bisect.insort(queue, entry)

    def bind_skills(self) -> None:
        """Gather the officers' skill and experience vectors into matrices (rows shared as views).

        :meth:`forget` and :meth:`train` then update every officer of the unit at once.
        """
        if not self.officers:
            return
        self.skill_matrix = np.vstack([o.skills for o in self.officers])
        self.experience_matrix = np.vstack([o.experience for o in self.officers])
        self._room_matrix = np.vstack([o._room0 for o in self.officers])
        for k, o in enumerate(self.officers):
            o.skills = self.skill_matrix[k]
            o.experience = self.experience_matrix[k]
            o._room0 = self._room_matrix[k]
            o.position = k
        self._ranking.clear()

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
        self._ranking.clear()

    def best_free_officer(self, free: list[float], start: float, domain: int) -> int:
        """Index of the most skilled officer in ``domain`` free at ``start`` (ties: the first).

        ``free`` holds the officers' free times. The ranking per domain is cached: a gain of
        skill updates it in place (:meth:`skill_rose`), other skill changes drop it.
        """
        ranking = self._ranking.get(domain)
        if ranking is None:
            ranking = self._rank(domain)
        for k in ranking[0]:
            if free[k] <= start:
                return k
        raise ValueError(f"free: expected an officer free at {start}, got none")

    def _rank(self, domain: int) -> tuple[list[int], list[float]]:
        """Rank the officers by skill in ``domain`` (a stable sort) and cache the ranking."""
        skills = self.skill_matrix[:, domain]
        ranking = (-skills).argsort(kind="stable").tolist(), skills.tolist()
        self._ranking[domain] = ranking
        return ranking

    def skill_rose(self, k: int, domain: int, skill: float) -> None:
        """Update the cached ranking of ``domain``: officer ``k``'s skill there is now ``skill``.

        A rise moves ``k`` ahead of the officers now less skilled, or as skilled but later in
        the unit: the order a fresh stable sort gives, without sorting.
        """
        ranking = self._ranking.get(domain)
        if ranking is None:
            return
        order, skills = ranking
        if skill < skills[k]:  # not a rise: rank afresh when next needed
            del self._ranking[domain]
            return
        skills[k] = skill
        i = order.index(k)
        while i:
            j = order[i - 1]
            if skills[j] > skill or (skills[j] == skill and j < k):
                break
            order[i] = j
            i -= 1
        order[i] = k

    def skills_changed(self, domain: int | None = None) -> None:
        """Forget the cached ranking for one domain (or all) after skills changed."""
        if domain is None:
            self._ranking.clear()
        else:
            self._ranking.pop(domain, None)

    @property
    def backlog(self) -> int:
        """Tasks waiting in the queue."""
        return len(self.cases) + len(self.inspections)


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
        self.free_at = 0.0
        self.busy_hours = 0.0
        self.unit: WorkUnit | None = None
        #: domain of the officer's last task (-1 before the first): a switch costs time (M12)
        self.last_domain = -1
        #: position in ``unit.officers`` (set by :meth:`WorkUnit.bind_skills`)
        self.position = -1

    def skill(self, domain: int) -> float:
        """Current skill in a domain, in [0, 1]."""
        return float(self.skills[domain])

    def gain_experience(self, domain: int, amount: float = 1.0) -> None:
        """Add experience in one domain and update the skill there."""
        # on Python floats: the same IEEE operations (and libm pow) as on the float64 elements
        experience = self.experience.item(domain) + amount
        self.experience[domain] = experience
        b = self.model.learning_exponent
        skill = 1.0 - self._room0.item(domain) * (1.0 + experience) ** (-b)
        self.skills[domain] = skill
        if self.unit is not None:
            self.unit.skill_rose(self.position, domain, skill)

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
        if self.unit is not None:
            self.unit.skills_changed()


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
        """honest / rational / imitator / incompetent."""
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
