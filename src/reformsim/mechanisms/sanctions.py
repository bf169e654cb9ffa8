"""Steps 6-7, sanctions and follow-up: the pyramid, leniency, deadlines and colours (M4, M5).

Sanction pyramid (Ayres & Braithwaite 1992): 0 advise (说服教育), 1 order to fix (责令改正),
2 warn, 3 fine (罚款), 4 suspend, 5 revoke. A case starts at level 1 (severity below
``fine_severity``) or 3, plus one level per earlier unrectified deadline of the firm (tit-for-tat
escalation). With first-violation leniency (首违不罚, APL 2021 Art. 33) a first offence of the
firm in a domain with severity below ``minor_severity`` gets advice and no penalty (a waiver).

Every sanctioned case sets a rectification deadline (``rectification_days``). The firm rectifies
with ``rectify_probability`` at a uniform time before the deadline (the violation ends then).
At the deadline (step 7) the colour moves: rectified → yellow (from green); not rectified →
black, escalation +1 and a follow-up case to the same unit. Clean inspections count towards
upgrades: yellow → green and black → yellow after ``clean_checks_to_upgrade`` clean checks
(three-colour rules of the seed case; domain.md M5); each such run of clean checks also lowers
the escalation by one level (Scholz 1984: "vengeful and forgiving").
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from reformsim import jit
from reformsim.belief_kernels import clean_checks_day
from reformsim.caselog import SOURCES
from reformsim.column_views import KernelArrays
from reformsim.population import BLACK, GREEN, YELLOW
from reformsim.sanction_kernels import (
    OUT_DEADLINE_DAY,
    OUT_FIRM,
    OUT_RECTIFY_DAY,
    OUT_VIOLATION,
    OUTPUTS,
    R_SEVERITY,
    close_cases,
)
from reformsim.streams import SLOT_ERROR, SLOT_RECTIFY, SLOT_RECTIFY_TIME, to_int64_bits

if TYPE_CHECKING:
    from reformsim.model import ReformModel

ADVISE, ORDER_FIX, WARN, FINE, SUSPEND, REVOKE = range(6)
FOLLOW_UP = SOURCES.index("follow_up")


@dataclass(frozen=True, slots=True)
class _DecisionRules:
    """The (frozen) scenario's values a sanction decision reads, gathered once per model."""

    leniency: bool
    minor_severity: float
    fine_severity: float
    rectification_days: float
    rectify_probability: float
    risk_own_weight: float
    leniency_bonus: float
    #: trust gains of advisory and of other fair encounters (:meth:`Trust.encounter`)
    eta_help: float
    eta_fair: float
    #: severity of each matter, as a Python list (fast scalar reads)
    severity: list[float]

    @classmethod
    def of(cls, model: ReformModel) -> _DecisionRules:
        """Read the rules of ``model``'s scenario and catalogue."""
        sc = model.config
        sp = sc.sanctions
        return cls(
            leniency=sc.levers.first_violation_leniency, minor_severity=sp.minor_severity,
            fine_severity=sp.fine_severity, rectification_days=sp.rectification_days,
            rectify_probability=sp.rectify_probability,
            risk_own_weight=sc.compliance.risk_own_weight,
            leniency_bonus=sc.satisfaction.leniency_bonus,
            eta_help=sc.trust.eta_help, eta_fair=sc.trust.eta_fair,
            severity=model.catalog.severity.tolist(),
        )


class Sanctions(KernelArrays):
    """Sanction decisions, rectification deadlines and colour transitions."""

    #: batches of at least this many cases go through the kernel (:meth:`decide_many`)
    KERNEL_MIN_CASES = 2

    def __init__(self, model: ReformModel) -> None:
        self.model = model
        self.deadlines: dict[int, list[int]] = defaultdict(list)
        self.rectifications: dict[int, list[tuple[int, float]]] = defaultdict(list)
        self.sanctioned_today: list[int] = []
        compiled = jit.enabled()
        #: the compiled clean checks (:func:`~reformsim.belief_kernels.clean_checks_day`)
        self._clean_kernel = clean_checks_day.compiled() if compiled else None
        self._changes = np.empty((2, 0), dtype=np.int64)  # its colour moves, reused
        #: the compiled case closing (:func:`~reformsim.sanction_kernels.close_cases`)
        self._close_kernel = close_cases.compiled() if compiled else None
        self._out = np.empty(OUTPUTS * 64, dtype=np.int64)  # close_cases' output, reused
        self._no_rates = np.zeros(0)
        self._arrays_key: tuple[int, int] | None = None
        self._arrays: tuple[np.ndarray, ...] = ()
        if self._close_kernel is not None:
            self._ready_kernel()

    @cached_property
    def _rules(self) -> _DecisionRules:
        return _DecisionRules.of(self.model)

    @cached_property
    def _rule_vector(self) -> np.ndarray:
        """The rules as :func:`~reformsim.sanction_kernels.close_cases` takes them."""
        r = self._rules
        head = [float(r.leniency), r.minor_severity, r.fine_severity, r.rectification_days,
                r.rectify_probability, r.risk_own_weight, r.leniency_bonus, r.eta_help,
                r.eta_fair, 1.0 - self.model.config.trust.eta_arbitrary]
        if len(head) != R_SEVERITY:
            raise RuntimeError("close_cases' rule slots and Sanctions._rule_vector disagree")
        return np.array(head + r.severity, dtype=np.float64)

    @cached_property
    def _stream_key(self) -> int:
        """The key of stream ``keyed_cases`` as int64 bits (as the compiled hash takes it)."""
        return to_int64_bits(self.model.streams.keyed_int_key("keyed_cases"))

    def _bind_arrays(self) -> None:
        """Gather the columns :func:`~reformsim.sanction_kernels.close_cases` reads and writes.

        Again whenever a table grows (its columns are new arrays then).
        """
        m = self.model
        c, v, ent = m.cases.cols, m.violations.cols, m.enterprises
        self._arrays = (
            c["violation_id"], c["enterprise"], c["matter"], c["attempt"], c["error"],
            c["sanction"], c["waiver"], c["penalty"], c["deadline_at"], c["rectified"],
            c["rectified_at"], v["pair"], v["onset_at"], ent.offences, ent.advised,
            ent.escalation, ent.p_hat, ent.satisfaction, ent.trust)
        self._arrays_key = (m.cases.capacity, m.violations.capacity)

    def _ready_kernel(self) -> None:
        """Compile (or load) the kernel now, for the columns' types: a closed batch of no cases.

        So a model readies it when built (see :func:`reformsim.jit.compile_all`), whether or
        not a later day closes two cases at once.
        """
        none = np.zeros(0, dtype=np.int64)
        self._bind_arrays()
        self._close_kernel(none, self._no_rates, self._no_rates, self._out, self._rule_vector,
                           self._stream_key, *self._arrays)

    def decide_many(self, cids: np.ndarray, ats: np.ndarray,
                    error_rates: np.ndarray | None = None) -> None:
        """Close handled cases in order: each one's handling error, then its sanction.

        The same effects, in the same order, as for each case in turn (a case sees the
        updates of the cases before it, e.g. of the same firm or pair)::

            if error_rates is not None and error_rates[k] > 0 and u(cid, SLOT_ERROR) < rate:
                cases.error[cid] = True; trust.handling_error(firm)   # Casework, M6
            decide(cid, ats[k])                                       # M4, M5

        Two or more cases go through the compiled :func:`~reformsim.sanction_kernels.close_cases`
        (its call costs about as much as one case in Python), one case or no kernel
        (``REFORMSIM_JIT=0``) through the Python rules.

        Parameters
        ----------
        cids
            Handled cases (int64, distinct: a case closes once), in closing order.
        ats
            Their closing times (float64).
        error_rates
            Optional, per case: the officer's handling-error probability,
            ``error_rate_at_zero_skill * (1 - skill)``. None: no handling errors.
        """
        n = cids.size
        if self._close_kernel is None or n < self.KERNEL_MIN_CASES:
            self._decide_each(cids, ats, error_rates)
            return
        out = self._out
        if OUTPUTS * n > out.size:
            out = self._out = np.empty(OUTPUTS * max(n, out.size), dtype=np.int64)
        m = self.model
        if (m.cases.capacity, m.violations.capacity) != self._arrays_key:
            self._bind_arrays()
        n_rectified = self._close_kernel(
            cids, ats, self._no_rates if error_rates is None else error_rates, out,
            self._rule_vector, self._stream_key, *self._arrays)
        rows = out[:OUTPUTS * n].tolist()
        self.sanctioned_today.extend(rows[OUT_FIRM::OUTPUTS])
        deadlines = self.deadlines
        cid_list = cids.tolist()
        for cid, day in zip(cid_list, rows[OUT_DEADLINE_DAY::OUTPUTS], strict=True):
            deadlines[day].append(cid)
        if n_rectified:
            rectified_at = m.cases.views["rectified_at"]
            rectifications = self.rectifications
            for cid, vid, day in zip(cid_list, rows[OUT_VIOLATION::OUTPUTS],
                                     rows[OUT_RECTIFY_DAY::OUTPUTS], strict=True):
                if day >= 0:
                    rectifications[day].append((vid, rectified_at[cid]))

    def _decide_each(self, cids: np.ndarray, ats: np.ndarray,
                     error_rates: np.ndarray | None) -> None:
        """:meth:`decide_many` in Python (one case, or no kernel): one case after the other."""
        m = self.model
        cid_list, at_list = cids.tolist(), ats.tolist()
        rates = error_rates.tolist() if error_rates is not None else [0.0] * len(cid_list)
        for cid, at, rate in zip(cid_list, at_list, rates, strict=True):
            if rate > 0 and m.case_uniform(cid, SLOT_ERROR) < rate:
                m.cases.cols["error"][cid] = True
                m.trust.handling_error(m.cases.cols["enterprise"].item(cid))
            self.decide(cid, at)

    def decide(self, cid: int, at: float) -> None:
        """Choose the sanction for a handled case and schedule its deadline check.

        The rules of :func:`~reformsim.sanction_kernels.close_cases` for one case, in Python
        (cheaper than a kernel call for one case; the fallback without the kernel).
        """
        m = self.model
        rules = self._rules
        cases = m.cases.views  # Python scalars in and out (cheaper than the numpy columns)
        ent = m.enterprises.views  # the same for the firm and pair columns
        vid = cases["violation_id"][cid]
        pair = m.violations.cols["pair"].item(vid)
        e = cases["enterprise"][cid]
        severity = rules.severity[cases["matter"][cid]]
        offences = ent["offences"][pair]
        if rules.leniency and offences == 0 and severity < rules.minor_severity:
            level, waiver = ADVISE, True
        else:
            base = ORDER_FIX if severity < rules.fine_severity else FINE
            level, waiver = min(base + ent["escalation"][e], REVOKE), False
        ent["offences"][pair] = offences + 1
        if level <= ORDER_FIX:
            ent["advised"][pair] = True
        cases["sanction"][cid] = level
        cases["waiver"][cid] = waiver
        cases["penalty"][cid] = level >= FINE
        deadline = at + rules.rectification_days
        cases["deadline_at"][cid] = deadline
        rectified = m.case_uniform(cid, SLOT_RECTIFY) < rules.rectify_probability
        cases["rectified"][cid] = int(rectified)
        if rectified:
            when = at + m.case_uniform(cid, SLOT_RECTIFY_TIME) * rules.rectification_days
            cases["rectified_at"][cid] = when
            self.rectifications[math.floor(when)].append((vid, when))
        # scalar float64 arithmetic in Python: the same IEEE operations as on numpy scalars
        p_hat = ent["p_hat"][pair]
        ent["p_hat"][pair] = p_hat + rules.risk_own_weight * (1.0 - p_hat)
        if waiver:
            sat = ent["satisfaction"][e]
            ent["satisfaction"][e] = sat + rules.leniency_bonus * (1.0 - sat)
        # Trust.encounter(e, advisory=level == ADVISE), inline (one call fewer per case)
        eta = rules.eta_help if level == ADVISE else rules.eta_fair
        trust = ent["trust"][e]
        ent["trust"][e] = trust + eta * (1.0 - trust)
        self.sanctioned_today.append(e)
        self.deadlines[math.floor(deadline)].append(cid)

    def step(self, day: int) -> None:
        """End today's rectified violations; check deadlines: colours, escalation, follow-ups."""
        m = self.model
        done = self.rectifications.pop(day, None)
        if done:
            vids, times = zip(*done, strict=True)
            m.end_violations(np.array(vids), np.array(times))
        due = self.deadlines.pop(day, None)
        if not due:
            return
        cases = m.cases.views  # Python scalars in and out (cheaper than the numpy columns)
        ent = m.enterprises
        views = ent.views
        clean_checks, colour = views["clean_checks"], views["colour"]
        escalation = views["escalation"]
        changes = ent.colour_changes  # colour moves as ent.set_colour records them, inline
        for cid in due:
            e = cases["enterprise"][cid]
            clean_checks[e] = 0
            old = colour[e]
            if cases["rectified"][cid] == 1:
                if old == GREEN:
                    changes.append((GREEN, YELLOW))
                    colour[e] = YELLOW
                continue
            if old != BLACK:
                changes.append((old, BLACK))
                colour[e] = BLACK
            escalation[e] += 1
            vid = cases["violation_id"][cid]
            if not math.isinf(m.violations.cols["ended_at"].item(vid)):  # is_open, one id
                continue
            deadline = cases["deadline_at"][cid]
            new = m.open_case(vid, FOLLOW_UP, deadline)  # open_cases of one violation
            unit = m.units[cases["owner_unit"][cid]]
            m.enqueue_case(new, unit, deadline, 0, first_unit=unit)

    def clean_checks(self, firms: Iterable[int]) -> None:
        """Record the day's clean inspections (a firm may appear more than once).

        After ``clean_checks_to_upgrade`` clean checks the colour moves up one step (yellow →
        green, black → yellow; the count starts again) and the escalation level falls by one
        (a green firm keeps its count, and each further clean check lowers the escalation).
        A check acts on its firm's state only, so the order of the firms does not matter; a
        day's few dozen checks cost less as Python scalars than as rounds of array operations.
        """
        ent = self.model.enterprises
        need = self.model.config.sanctions.clean_checks_to_upgrade
        if self._clean_kernel is not None:
            if not isinstance(firms, np.ndarray):  # a list: cheaper than np.asarray
                firms = np.fromiter(firms, dtype=np.int64)
            if self._changes.shape[1] < firms.size:
                self._changes = np.empty((2, max(firms.size, 2 * self._changes.shape[1])),
                                         dtype=np.int64)
            moved = self._clean_kernel(firms, ent.clean_checks, ent.escalation, ent.colour,
                                       need, self._changes)
            if moved:
                old, new = self._changes[:, :moved].tolist()
                ent.colour_changes.extend(zip(old, new, strict=True))
            return
        checks, escalation, colour = (ent.views[c] for c in ("clean_checks", "escalation",
                                                             "colour"))
        for e in firms:
            n = checks[e] + 1
            checks[e] = n
            if n < need:
                continue
            escalation[e] = max(escalation[e] - 1, 0)  # forgiving tit-for-tat
            c = colour[e]
            if c == YELLOW:
                ent.set_colour(e, GREEN)
                checks[e] = 0
            elif c == BLACK:
                ent.set_colour(e, YELLOW)
                checks[e] = 0
