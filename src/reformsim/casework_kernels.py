"""Compiled loop of step 6, casework: units serve their queues within the day (M11, M12, M14).

:func:`serve_units` runs the queue rule of :mod:`reformsim.mechanisms.casework` for each unit in
turn: visits to clean firms, coordination work and cases are served here; a visit that finds an
open violation (its on-site draws and findings) and a case that needs a department's technical
support are handed back to Python, which serves that task and calls again. A served case's
effects outside casework (sanction, trust, the complainant's satisfaction) are recorded as a
*closure* row and applied by Python in the same order afterwards: nothing served here reads them.

State is passed as arrays (see the ``*_`` column constants): the queues of
:mod:`reformsim.work_queues`, the officers' free time, busy hours and last domain, their skill,
experience and room to learn (``learn[0]``, ``[1]``, ``[2]``: officer x domain), per-case
constants and draws (``cu``), the day's visit and closure buffers, and scalars in ``fs``/``io``.
The floating-point operations are those of the Python rules, in the same order.

References
----------
domain.md M11 (queues), M12 (learning, switching, errors), M14 (visits); Wright (1936).
"""

from __future__ import annotations

import math

import numpy as np

from reformsim.jit import kernel
from reformsim.streams import SLOT_SERVICE, case_first_slot, premixed_pair_hash, uniform_of_premixed
from reformsim.work_queues import (
    DOM,
    ENT,
    GRID,
    H_READY,
    H_SEQ,
    NDEPTS,
    P0,
    P1,
    READY,
    SEQ,
    VISIT_COLS,
    heap_pop,
    heap_push,
    insert_visit,
)

#: officers' columns (``off``): free time, busy hours in the window, last task's domain (-1)
FREE, BUSY, LAST = range(3)
#: per-unit columns (``ufs``): start of today's work, busy hours today
U_START, U_BUSY = range(2)
#: per-case columns (``cu``): service draw (a uniform, or its normal quantile for lognormal
#: times), domain, matter, grid
C_SERVICE, C_DOMAIN, C_MATTER, C_GRID = range(4)
CU_COLS = 4
#: per-matter columns (``mat``): complexity, 1.0 if a technical appraisal may be needed
M_COMPLEXITY, M_TECHNICAL = range(2)
#: visit buffer columns (``vis``): firm, unit, start, pair range, joint (1.0), clean (1.0)
V_ENT, V_UNIT, V_AT, V_P0, V_P1, V_JOINT, V_CLEAN = range(7)
VIS_COLS = 7
#: closure buffer columns (``clo``): case, officer, handling-error probability (M12), start,
#: on scene, travel, service, end
K_CID, K_OFFICER, K_ERROR_RATE, K_START, K_ON_SCENE, K_TRAVEL, K_SERVICE, K_END = range(8)
CLO_COLS = 8
#: scalars ``fs`` (float64): window end, warm-up, stale days, host hours, check hours per pair,
#: kappa_complex, handling hours, switch factor, error rate at zero skill, half the log-variance
#: and sigma of lognormal times, learning exponent, support skill threshold, calendar start and
#: length (days), casework busy hours (in and out), a handed-back task's start (out)
(F_HI, F_WARMUP, F_STALE, F_HOST, F_CHECK, F_KAPPA, F_HANDLING, F_SWITCH, F_ERR0, F_HALF_S2,
 F_SIGMA, F_B, F_SUPPORT, F_CAL_START, F_CAL_LENGTH, F_BUSY, F_START) = range(17)
FS_SIZE = 17
#: scalars ``io`` (int64): unit being served (in and out), last seq (in and out), working days
#: a week, service distribution (:data:`FIXED`, :data:`EXPONENTIAL`, :data:`LOGNORMAL`), rows
#: used in the visit and closure buffers (in and out), cancelled stale visits (in and out), a
#: handed-back task's officer and case (out)
(I_UNIT, I_SEQ, I_WEEK, I_DIST, I_NVIS, I_NCLO, I_CANCELLED, I_OFFICER, I_CASE) = range(9)
IO_SIZE = 9
FIXED, EXPONENTIAL, LOGNORMAL = range(3)
#: what :func:`serve_units` stopped at: every unit done, a visit that found a violation (its row
#: in ``task_row``, officer and start in ``io``/``fs``), a case needing support (its id, unit and
#: start)
DONE, DIRTY_VISIT, SUPPORT = range(3)


@kernel
def case_rows_of(rows, lo, hi, violation_id, attempt, domain, matter, grid, onset_at, pair,
                 stream_key):
    """Fill ``rows[lo:hi]`` (columns ``C_*``) for cases ``lo .. hi - 1``.

    The service uniform is the case's keyed uniform (``model.case_uniform``): pair
    ``pair`` of the violation hashed in stream ``keyed_cases`` (``stream_key``, int64 bits), slot
    ``(onset_day * 64 + min(attempt, 63)) * 64 + k``.
    """
    for cid in range(lo, hi):
        vid = violation_id[cid]
        first = case_first_slot(onset_at[vid], attempt[cid])
        hashed = premixed_pair_hash(pair[vid], stream_key)
        rows[cid, C_SERVICE] = uniform_of_premixed(hashed, first + SLOT_SERVICE)
        rows[cid, C_DOMAIN] = domain[cid]
        rows[cid, C_MATTER] = matter[cid]
        rows[cid, C_GRID] = grid[cid]


@kernel
def write_closures(clo, n, officer_ids, started_at, on_scene_at, officer, travel_hours,
                   service_hours, closed_at, status, closed):
    """Write the times and officer of the ``n`` closure rows into the case log's columns."""
    for i in range(n):
        cid = int(clo[i, K_CID])
        started_at[cid] = clo[i, K_START]
        on_scene_at[cid] = clo[i, K_ON_SCENE]
        officer[cid] = officer_ids[int(clo[i, K_OFFICER])]
        travel_hours[cid] = clo[i, K_TRAVEL]
        service_hours[cid] = clo[i, K_SERVICE]
        closed_at[cid] = clo[i, K_END]
        status[cid] = closed


@kernel
def visit_columns(vis, n, pairs):
    """Return the day's ``n`` buffered visits as the visit log's columns, pairs and clean firms.

    Returns firm, unit, start, domains checked (int16), joint (bool), then every visit's checked
    pairs one visit after another, then the firms of the clean visits (in buffer order).
    """
    firms = np.empty(n, np.int64)
    units = np.empty(n, np.int64)
    at = np.empty(n)
    domains = np.empty(n, np.int16)
    joint = np.empty(n, np.bool_)
    n_pairs = 0
    n_clean = 0
    for i in range(n):
        firms[i] = int(vis[i, V_ENT])
        units[i] = int(vis[i, V_UNIT])
        at[i] = vis[i, V_AT]
        k = int(vis[i, V_P1]) - int(vis[i, V_P0])
        domains[i] = k
        joint[i] = vis[i, V_JOINT] != 0.0
        n_pairs += k
        if vis[i, V_CLEAN] != 0.0:
            n_clean += 1
    checked = np.empty(n_pairs, np.int64)
    clean = np.empty(n_clean, np.int64)
    j = 0
    c = 0
    for i in range(n):
        for p in range(int(vis[i, V_P0]), int(vis[i, V_P1])):
            checked[j] = pairs[p]
            j += 1
        if vis[i, V_CLEAN] != 0.0:
            clean[c] = firms[i]
            c += 1
    return firms, units, at, domains, joint, checked, clean


@kernel
def idle_patrol(ufs, squad_rows, squad_hours, squad_areas, area_grids, share, n_areas,
                area_of_grid):
    """Patrol hours per grid from the squads' idle hours today (日常巡查, section 7.6).

    Squad ``s`` (one per area) turns ``share`` of its idle officer-hours ``max(hours - busy,
    0)`` (as ``np.maximum``: -0.0 and NaN kept) into patrol spread evenly over its area's grids.
    """
    per_area = np.zeros(n_areas)
    for s in range(squad_rows.size):
        idle = squad_hours[s] - ufs[squad_rows[s], U_BUSY]
        if not (idle >= 0.0 or idle != idle):
            idle = 0.0
        per_area[squad_areas[s]] = share * idle / area_grids[s]
    out = np.empty(area_of_grid.size)
    for g in range(area_of_grid.size):
        out[g] = per_area[area_of_grid[g]]
    return out


@kernel
def next_start(x, cal_start, cal_length, week):
    """:meth:`WorkCalendar.next_start <reformsim.calendar.WorkCalendar.next_start>`."""
    day = math.floor(x)
    while True:
        if day % 7 < week:
            lo = day + cal_start
            if x < lo + cal_length:
                return x if x >= lo else lo
        day += 1
        x = float(day)


@kernel
def add_work_hours(t, hours, cal_start, cal_length, week):
    """:meth:`WorkCalendar.add_work_hours <reformsim.calendar.WorkCalendar.add_work_hours>`.

    The same operations (the calendar's cached window only spares a test of today's window).
    """
    end = t + hours / 24.0
    day = math.floor(t)
    lo = day + cal_start
    if lo <= t < lo + cal_length and day % 7 < week and end <= lo + cal_length + 1e-12:
        return end
    remaining = hours / 24.0
    x = next_start(t, cal_start, cal_length, week)
    while True:
        hi = math.floor(x) + cal_start + cal_length
        if x + remaining <= hi + 1e-12:
            return x + remaining
        remaining -= hi - x
        x = next_start(hi, cal_start, cal_length, week)


@kernel
def best_officer(off, skills, o0, o1, start, domain):
    """Find the most skilled officer in ``domain`` among ``o0 .. o1 - 1`` free at ``start``.

    Ties go to the first; -1 if none is free.
    """
    best = -1
    for k in range(o0, o1):
        if off[k, FREE] <= start and (best < 0 or skills[k, domain] > skills[best, domain]):
            best = k
    return best


@kernel
def work(off, ufs, fs, io, u, k, start, hours):
    """Book ``hours`` of officer ``k``'s (unit ``u``) work from ``start``; returns the end."""
    end = add_work_hours(start, hours, fs[F_CAL_START], fs[F_CAL_LENGTH], io[I_WEEK])
    off[k, FREE] = end
    ufs[u, U_BUSY] += hours
    if start >= fs[F_WARMUP]:
        off[k, BUSY] += hours
        fs[F_BUSY] += hours
    return end


@kernel
def handle_case(off, learn, ufs, travel, cu, csupport, mat, owner_dept, clo, fs, io, u, k, cid,
                start, travel_hours):
    """Officer ``k`` of unit ``u`` handles case ``cid`` from ``start``; returns the end time.

    ``travel_hours < 0``: the round trip from the unit's base. A technical case beyond the
    officer's skill needs the owning department's support first (M10): nothing is done and
    -1.0 is returned. The service time has mean ``complexity * (1 + kappa (1 - skill)) +
    handling``, times the switch factor after a task in another domain (M12); the officer
    gains one unit of experience in the domain; the case's closure row is added to ``clo`` (with
    the officer's handling-error probability ``error_rate_at_zero_skill * (1 - skill)``).
    """
    domain = int(cu[cid, C_DOMAIN])
    matter = int(cu[cid, C_MATTER])
    skills = learn[0]
    skill = skills[k, domain]
    if (mat[matter, M_TECHNICAL] != 0.0 and skill < fs[F_SUPPORT] and csupport[cid] == 0
            and u != owner_dept[domain]):
        return -1.0
    if travel_hours < 0.0:
        travel_hours = travel[u, int(cu[cid, C_GRID])]
    last = off[k, LAST]
    mean = mat[matter, M_COMPLEXITY] * (1.0 + fs[F_KAPPA] * (1.0 - skill)) + fs[F_HANDLING]
    if last != -1.0 and last != domain:
        mean *= fs[F_SWITCH]
    dist = io[I_DIST]
    if dist == FIXED:
        service = mean
    elif dist == EXPONENTIAL:
        service = -mean * math.log1p(-cu[cid, C_SERVICE])
    else:
        service = math.exp(math.log(mean) - fs[F_HALF_S2] + fs[F_SIGMA] * cu[cid, C_SERVICE])
    if travel_hours > 0:
        on_scene = add_work_hours(start, travel_hours / 2.0, fs[F_CAL_START], fs[F_CAL_LENGTH],
                                  io[I_WEEK])
    else:
        on_scene = start
    end = work(off, ufs, fs, io, u, k, start, travel_hours + service)
    experience = learn[1, k, domain] + 1.0  # Officer.gain_experience (M12)
    learn[1, k, domain] = experience
    skills[k, domain] = 1.0 - learn[2, k, domain] * (1.0 + experience) ** (-fs[F_B])
    off[k, LAST] = domain
    n = io[I_NCLO]
    clo[n, K_CID] = cid
    clo[n, K_OFFICER] = k
    clo[n, K_ERROR_RATE] = fs[F_ERR0] * (1.0 - skill)
    clo[n, K_START] = start
    clo[n, K_ON_SCENE] = on_scene
    clo[n, K_TRAVEL] = travel_hours
    clo[n, K_SERVICE] = service
    clo[n, K_END] = end
    io[I_NCLO] = n + 1
    return end


@kernel
def serve_units(visits, ends, heap, heap_n, coord, pairs, ufs, unit_off, off, learn, travel,
                violation, cu, csupport, mat, owner_dept, vis, clo, fs, io, task_row):
    """Serve the units' queues from unit ``io[I_UNIT]`` on, until done or a task needs Python.

    The queue rule (domain.md M11): at ``t``, the earliest free time of the unit's officers but
    not before the unit's start, planned visits more than ``stale`` days old are cancelled
    (counted from the warm-up on); a case ready by ``t``, or ordered before the head visit by
    ``(ready, seq)``, comes first; the task starts at ``max(ready, t)`` (one that would start
    after the window goes back to its queue with a new seq, and the unit's day ends); the most
    skilled officer in the task's domain free then takes it. A visit costs travel + host hours
    + check hours per checked pair; a clean firm counts a clean check.

    Returns
    -------
    int
        :data:`DONE`, :data:`DIRTY_VISIT` or :data:`SUPPORT` (the task is taken off its queue
        and left to Python; ``io[I_UNIT]`` is its unit).
    """
    skills = learn[0]
    hi, stale, warmup = fs[F_HI], fs[F_STALE], fs[F_WARMUP]
    n_units = unit_off.size - 1
    u = io[I_UNIT]
    while u < n_units:
        io[I_UNIT] = u
        o0, o1 = unit_off[u], unit_off[u + 1]
        lo = ufs[u, U_START]
        while o1 > o0:
            earliest = off[o0, FREE]
            for k in range(o0 + 1, o1):
                if off[k, FREE] < earliest:
                    earliest = off[k, FREE]
            t = earliest if earliest > lo else lo
            if t >= hi:
                break
            head, tail = ends[u, 0], ends[u, 1]
            if head < tail and visits[u, head, READY] < t - stale:  # cancel stale visits
                cutoff = t - stale
                while head < tail and visits[u, head, READY] < cutoff:
                    if visits[u, head, READY] >= warmup:
                        io[I_CANCELLED] += 1
                    head += 1
                ends[u, 0] = head
            if heap_n[u] > 0 and (head == tail or heap[u, 0, H_READY] <= t
                                  or heap[u, 0, H_READY] < visits[u, head, READY]
                                  or (heap[u, 0, H_READY] == visits[u, head, READY]
                                      and heap[u, 0, H_SEQ] < visits[u, head, SEQ])):
                ready, _, task = heap_pop(heap, heap_n, u)
                start = ready if ready > t else t
                if start >= hi:
                    io[I_SEQ] += 1
                    heap_push(heap, heap_n, u, ready, float(io[I_SEQ]), task)
                    break
                if task < 0:  # coordination work
                    j = int(-1.0 - task)
                    k = best_officer(off, skills, o0, o1, start, int(coord[j, 1]))
                    work(off, ufs, fs, io, u, k, start, coord[j, 0])
                    continue
                cid = int(task)
                k = best_officer(off, skills, o0, o1, start, int(cu[cid, C_DOMAIN]))
                if handle_case(off, learn, ufs, travel, cu, csupport, mat, owner_dept, clo, fs,
                               io, u, k, cid, start, -1.0) < 0.0:
                    io[I_OFFICER] = k
                    io[I_CASE] = cid
                    fs[F_START] = start
                    return SUPPORT
                continue
            if head == tail:
                break
            ready = visits[u, head, READY]
            start = ready if ready > t else t
            if start >= hi:  # back to the queue with a new seq
                io[I_SEQ] += 1
                for c in range(VISIT_COLS):
                    task_row[c] = visits[u, head, c]
                task_row[SEQ] = io[I_SEQ]
                ends[u, 0] = head + 1
                insert_visit(visits, ends, u, task_row)
                break
            ends[u, 0] = head + 1
            domain = int(visits[u, head, DOM])
            k = best_officer(off, skills, o0, o1, start, domain)
            p0, p1 = int(visits[u, head, P0]), int(visits[u, head, P1])
            clean = True
            for p in range(p0, p1):
                if violation[pairs[p]] >= 0:
                    clean = False
                    break
            if not clean:
                for c in range(VISIT_COLS):
                    task_row[c] = visits[u, head, c]
                io[I_OFFICER] = k
                fs[F_START] = start
                return DIRTY_VISIT
            hours = travel[u, int(visits[u, head, GRID])] + fs[F_HOST] + fs[F_CHECK] * (p1 - p0)
            work(off, ufs, fs, io, u, k, start, hours)
            off[k, LAST] = domain
            n = io[I_NVIS]
            vis[n, V_ENT] = visits[u, head, ENT]
            vis[n, V_UNIT] = u
            vis[n, V_AT] = start
            vis[n, V_P0] = p0
            vis[n, V_P1] = p1
            vis[n, V_JOINT] = 1.0 if visits[u, head, NDEPTS] >= 2.0 else 0.0
            vis[n, V_CLEAN] = 1.0
            io[I_NVIS] = n + 1
        u += 1
    io[I_UNIT] = n_units
    return DONE
