"""Compiled day kernels of steps 3 and 4: detection (domain.md M13) and routing (M9).

Each kernel fuses the small numpy operations (or per-case Python) of one day of
:class:`~reformsim.mechanisms.detection.Detection` or :class:`~reformsim.mechanisms.routing.Routing`
into one loop over plain arrays (see :mod:`reformsim.jit`). They make the same floating-point
operations in the same order as the numpy/Python fallback of those classes and take their random
numbers as keyed uniforms (the SplitMix64 arithmetic of :mod:`reformsim.streams`, on uint64 with
wraparound), so both paths give equal outputs bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from reformsim.jit import kernel
from reformsim.streams import (
    SLOT_ACCEPT,
    SLOT_MISROUTE,
    SLOT_MISROUTE_TO,
    case_first_slot,
    premixed_pair_hash,
    uniform_of_premixed,
)

#: layout of the routing parameters of :func:`route_cases` (a float64 array)
(P_REPORT, P_UNIFIED, P_DISPATCH, P_DELAY, P_WEEK, P_MISROUTE_P, P_ACCEPT_OWNER,
 P_ACCEPT_AMBIGUOUS, P_N_DEPT, P_MAX_REFERRALS, P_MISROUTE, P_REFER_ALL) = range(12)


@kernel
def patrol_day(patrol_hours, officer_hours, patrol, patrol_factor):
    """Update the patrol intensity, ``p += ((grid hours + officer hours) - p) / 14``.

    A 14-day moving average of the patrol hours per grid (domain.md M13), and the patrol
    column of the hazard grid table, ``p / 8`` (:meth:`Detection.hazards`). The first part of
    :func:`detect_day`, called alone on days without watched violations (a call with four
    arguments costs less than one with forty).
    """
    for g in range(patrol.size):
        p = patrol[g]
        p = p + ((patrol_hours[g] + officer_hours[g]) - p) / 14.0
        patrol[g] = p
        patrol_factor[g] = p / 8.0


@kernel
def detect_day(w, patrol_hours, officer_hours, case_start, out_i, out_t, patrol,
               patrol_factor, v_case, v_ended, v_self_end, v_detect, v_channel, v_pair,
               pair_grid, resident_start, complainant_u, v_n_cases, v_enterprise, v_domain,
               v_matter, v_onset, ent_grid, area_of_grid, delegated, ambiguous, negative,
               c_violation, c_enterprise, c_grid, c_area, c_domain, c_matter, c_source,
               c_delegated, c_ambiguous, c_negative, c_onset, c_detected, c_complainant,
               c_attempt):
    """One day of :meth:`Detection.step` after the watch list is taken (domain.md M13).

    Updates the patrol intensity in place, ``p += ((grid hours + officer hours) - p) / 14``
    (a 14-day moving average), and the patrol column of the hazard grid table, ``p / 8``.
    Of today's watched violations ``w`` (in watch-list order), those an inspection found or
    that ended meanwhile are skipped; the others end by themselves if that comes first
    (``self_end_at <= detect_at``), or are detected.

    Writes into the buffers ``out_i`` (int64) and ``out_t`` (float64) of 2 rows and at least
    ``w.size`` columns: row 0 of both, the violations that end by themselves (in watch order)
    and when; row 1, the detected ones in detection-time order (a stable sort) and when.
    Each detected violation opens a case: rows ``case_start, case_start + 1, ...`` of the case
    columns ``c_*`` (allocated, not yet counted in the log), the row
    :meth:`ReformModel.open_cases` appends: its channel as source, the complainant (for a
    complaint a resident of the grid, picked uniformly with the violation's keyed uniform; -1
    if none lives there or for other channels), detection time, and the columns copied from
    the violation, its enterprise and matter. The violation's ``case`` is set and its
    ``n_cases`` (the attempt) counted.

    Returns
    -------
    int
        ``n_end * (w.size + 1) + n_detected``.
    """
    # patrol hours: an exponential moving average with a 14-day scale, and its / 8 column
    patrol_day(patrol_hours, officer_hours, patrol, patrol_factor)
    n = w.size
    n_end = 0
    n_det = 0
    for k in range(n):
        vid = w[k]
        if v_case[vid] >= 0 or not np.isinf(v_ended[vid]):  # found or ended meanwhile
            continue
        if v_self_end[vid] <= v_detect[vid]:  # self-correction first
            out_i[0, n_end] = vid
            out_t[0, n_end] = v_self_end[vid]
            n_end += 1
        else:  # detection first: a stable insertion by detection time
            t = v_detect[vid]
            j = n_det
            while j > 0 and out_t[1, j - 1] > t:
                out_i[1, j] = out_i[1, j - 1]
                out_t[1, j] = out_t[1, j - 1]
                j -= 1
            out_i[1, j] = vid
            out_t[1, j] = t
            n_det += 1
    for k in range(n_det):
        vid = out_i[1, k]
        cid = case_start + k
        src = v_channel[vid]
        complainant = -1
        if src == 0:  # a complaint: a resident of the grid, uniformly
            grid = pair_grid[v_pair[vid]]
            lo = resident_start[grid]
            hi = resident_start[grid + 1]
            if hi > lo:
                complainant = lo + np.int64(math.floor(complainant_u[vid] * float(hi - lo)))
        # the case row (ReformModel.open_cases)
        attempt = v_n_cases[vid]
        v_n_cases[vid] = attempt + 1
        e = v_enterprise[vid]
        grid = ent_grid[e]
        matter = v_matter[vid]
        c_violation[cid] = vid
        c_enterprise[cid] = e
        c_grid[cid] = grid
        c_area[cid] = area_of_grid[grid]
        c_domain[cid] = v_domain[vid]
        c_matter[cid] = matter
        c_source[cid] = src
        c_delegated[cid] = delegated[matter]
        c_ambiguous[cid] = ambiguous[matter]
        c_negative[cid] = negative[matter]
        c_onset[cid] = v_onset[vid]
        c_detected[cid] = out_t[1, k]
        c_complainant[cid] = complainant
        c_attempt[cid] = attempt
        v_case[vid] = cid
    return n_end * (n + 1) + n_det


@kernel
def schedule_violations(start, draws, grids, matter_factor, grid_factor, report_factor,
                        authority, v_detect, v_channel, v_self_end, complainant_u, days_first,
                        out):
    """:meth:`Detection.schedule` of violations ``start, start + 1, ...`` (domain.md M13).

    Per channel the hazard ``(matter * grid) * report`` (the tables of :meth:`Detection.hazards`),
    the total ``(h_c + h_p) + h_f``, the detection time ``onset + detect_exp / total`` (never
    when the total is 0) and the channel: the number of cumulative shares ``h_c / total``,
    ``(h_c + h_p) / total`` below ``channel_u``. Writes the violations' columns and the
    watch-list entries into ``out`` (int64, 2 rows of at least ``draws.size``): the violations
    whose event (detection or self-correction, whichever is earlier) falls within the run
    (``days_first[0]`` days), and the event's day (not before ``days_first[1]``, the first day
    not processed). Returns their number.
    """
    n = draws.size
    days = days_first[0]
    first = days_first[1]
    n_soon = 0
    for k in range(n):
        vid = start + k
        matter = draws[k]["matter"]
        grid = grids[k]
        a = 1 if authority[matter] else 0
        h0 = (matter_factor[matter, 0] * grid_factor[grid, 0]) * report_factor[a, 0]
        h1 = (matter_factor[matter, 1] * grid_factor[grid, 1]) * report_factor[a, 1]
        h2 = (matter_factor[matter, 2] * grid_factor[grid, 2]) * report_factor[a, 2]
        total = (h0 + h1) + h2
        onset = draws[k]["onset_at"]
        if total > 0:
            detect_at = onset + draws[k]["detect_exp"] / total
            u = draws[k]["channel_u"]
            v_channel[vid] = (1 if u > h0 / total else 0) + (1 if u > (h0 + h1) / total else 0)
        else:
            detect_at = onset + np.inf
            v_channel[vid] = 0
        v_detect[vid] = detect_at
        self_end_at = draws[k]["self_end_at"]
        v_self_end[vid] = self_end_at
        complainant_u[vid] = draws[k]["complainant_u"]
        event = detect_at if detect_at < self_end_at else self_end_at
        if event < days:
            out[0, n_soon] = vid
            day = np.int64(event)  # an event is not negative: truncation is its floor
            out[1, n_soon] = day if day > first else first
            n_soon += 1
    return n_soon


@kernel
def route_cases(case_ids, t0_in, params, out_i, out_t, c_matter, c_domain, c_violation, c_area,
                c_attempt, c_detected, v_onset, v_pair, team, owner_dept, matter_tab,
                stream_key):
    """Where each case goes (domain.md M9): the area squad, a department after referrals, or none.

    Parameters
    ----------
    case_ids
        The cases (int64).
    t0_in
        When each case is reported, or an empty array: then ``detected_at + report latency``.
    c_matter, c_domain, c_violation, c_area, c_attempt, c_detected
        The case columns ``matter``, ``domain``, ``violation_id``, ``area``, ``attempt`` and
        ``detected_at``.
    v_onset, v_pair
        The violation columns ``onset_at`` and ``pair``.
    team, owner_dept, matter_tab
        Team authority per matter; owning department per domain; per matter its second
        plausible owner and whether it bounces between two owners (int64 ``(n_matters, 2)``).
    params
        See :func:`reformsim.mechanisms.routing.Routing` (``P_*`` constants).
    stream_key
        ``[key of stream keyed_cases]`` (uint64): the case's keyed uniforms are those of
        :meth:`ReformModel.case_uniform`.
    out_i, out_t
        Output buffers of at least ``n`` columns. Per case ``out_i`` (int64, 4 rows): kind (0
        squad, 1 department, 2 orphan), unit (the area for a squad, else the department),
        transfers, first department; ``out_t`` (float64, 2 rows): reported time, ready (or
        orphaned) time.
    """
    n = case_ids.size
    report = params[P_REPORT]
    unified = params[P_UNIFIED] != 0.0
    dispatch = params[P_DISPATCH]
    delay = params[P_DELAY]
    whole = np.int64(delay)
    frac = delay - whole
    week = params[P_WEEK]
    misroute_p = params[P_MISROUTE_P]
    accept_owner = params[P_ACCEPT_OWNER]
    accept_ambiguous = params[P_ACCEPT_AMBIGUOUS]
    n_dept = np.int64(params[P_N_DEPT])
    max_referrals = np.int64(params[P_MAX_REFERRALS])
    misroute = params[P_MISROUTE] != 0.0
    refer_all = params[P_REFER_ALL] != 0.0
    key = np.int64(stream_key[0])  # the same bits, as premixed_pair_hash takes them

    def add_work_days(t):  # WorkCalendar.add_work_days(t, delay)
        day = math.floor(t)
        offset = t - day
        left = whole
        while left > 0:
            day += 1
            if day % 7 < week:
                left -= 1
        return day + offset + frac

    for k in range(n):
        cid = case_ids[k]
        matter = c_matter[cid]
        vid = c_violation[cid]
        t0 = t0_in[k] if t0_in.size else c_detected[cid] + report
        out_t[0, k] = t0
        # the case's key: its pair's hash (premixed) and first slot (ReformModel._case_key_of)
        premix = premixed_pair_hash(v_pair[vid], key)
        slot0 = case_first_slot(v_onset[vid], c_attempt[cid])
        if team[matter] and not refer_all:
            out_i[0, k] = 0
            out_i[1, k] = c_area[cid]
            if unified:
                out_t[1, k] = t0 + dispatch
                out_i[2, k] = 0
            else:
                out_t[1, k] = add_work_days(t0)
                out_i[2, k] = 1
            out_i[3, k] = -1
            continue
        owner = owner_dept[c_domain[cid]]
        alt = matter_tab[matter, 0]
        ambiguous = matter_tab[matter, 1] != 0
        target = owner
        # misrouting (without unified dispatch): a wrong department first
        if misroute and n_dept > 1:
            if uniform_of_premixed(premix, slot0 + SLOT_MISROUTE) < misroute_p:
                u = uniform_of_premixed(premix, slot0 + SLOT_MISROUTE_TO)
                other = np.int64(u * float(n_dept - 1))
                target = other + (1 if other >= owner else 0)
        first = target
        t = t0
        accepted = False
        hop = 1
        while hop <= max_referrals:
            t = add_work_days(t)
            if target == owner:
                p = accept_ambiguous if ambiguous else accept_owner
            elif ambiguous and target == alt:
                p = accept_ambiguous
            else:
                p = 0.0
            if p > 0.0:
                if uniform_of_premixed(premix, slot0 + SLOT_ACCEPT + min(hop, 50)) < p:
                    accepted = True
                    break
            if ambiguous:
                target = alt if target == owner else owner
            else:
                target = owner
            hop += 1
        out_t[1, k] = t
        out_i[0, k] = 1 if accepted else 2
        out_i[1, k] = target
        out_i[2, k] = hop if accepted else max_referrals
        out_i[3, k] = first
