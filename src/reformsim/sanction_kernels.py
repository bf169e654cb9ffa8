"""Compiled loop of step 6: closing handled cases (sanction decisions; issue 4).

The kernel of :class:`~reformsim.mechanisms.sanctions.Sanctions`. The mechanism keeps its
Python path as the fallback (``REFORMSIM_JIT=0``); the kernel makes the same floating-point
operations in the same order, so both paths give bit-identical states. The keyed uniforms of a
case (rectification, handling error) are computed here with the compiled SplitMix64 of
:mod:`reformsim.streams` (the same bits as :meth:`ReformModel.case_uniform
<reformsim.model.ReformModel.case_uniform>`); no sequential random stream is drawn.
"""

from __future__ import annotations

import math

import numpy as np

from reformsim.jit import kernel
from reformsim.streams import (
    SLOT_ERROR,
    SLOT_RECTIFY,
    SLOT_RECTIFY_TIME,
    case_first_slot,
    premixed_pair_hash,
    uniform_of_premixed,
)

ADVISE, ORDER_FIX, WARN, FINE, SUSPEND, REVOKE = range(6)

#: slots of the rules vector of :func:`close_cases` (then the severity of each matter)
(R_LENIENCY, R_MINOR_SEVERITY, R_FINE_SEVERITY, R_RECTIFICATION_DAYS, R_RECTIFY_P,
 R_RISK_OWN_WEIGHT, R_LENIENCY_BONUS, R_ETA_HELP, R_ETA_FAIR, R_ERROR_KEEP) = range(10)
R_SEVERITY = 10
#: the output of :func:`close_cases`: per case ``k``, ``out[OUTPUTS * k + OUT_FIRM]`` ...
OUT_FIRM, OUT_DEADLINE_DAY, OUT_RECTIFY_DAY, OUT_VIOLATION = range(4)
OUTPUTS = 4


@kernel
def close_cases(cids, ats, error_rates, out, rules, stream_key,
                c_violation, c_enterprise, c_matter, c_attempt, c_error, c_sanction, c_waiver,
                c_penalty, c_deadline, c_rectified, c_rectified_at,
                v_pair, v_onset, offences, advised, escalation, p_hat, satisfaction, trust):
    """Close handled cases in order: handling error, then the sanction decision (M4, M6).

    Case ``cids[k]``, handled by ``ats[k]``, is closed as ``Casework._handling_error`` and
    :meth:`Sanctions.decide <reformsim.mechanisms.sanctions.Sanctions.decide>` close one case,
    one case after the other (two cases of one firm or pair see each other's updates):

    * Handling error (when ``error_rates[k] > 0``): with probability ``error_rates[k]`` (the
      case's keyed uniform ``SLOT_ERROR``) the case is marked ``error`` and the firm's trust
      falls, ``T <- T (1 - eta_arbitrary)`` (domain.md M6, :meth:`Trust.handling_error`).
    * Sanction pyramid: with first-violation leniency (首违不罚) a first offence on the pair
      below ``minor_severity`` gets advice and a waiver; else order to fix (below
      ``fine_severity``) or fine, plus the firm's escalation, at most revoke (domain.md M4).
      The pair's offence count grows; advice or an order to fix marks the pair advised.
    * Deadline ``at + rectification_days``; the firm rectifies with ``rectify_probability``
      (keyed uniform ``SLOT_RECTIFY``) at ``at + u rectification_days`` (``SLOT_RECTIFY_TIME``).
    * Perceived risk of the pair ``p <- p + w_own (1 - p)`` (M2); a waiver raises the firm's
      satisfaction ``S <- S + b (1 - S)``; trust gains ``eta_help`` (advice) or ``eta_fair``.

    Parameters
    ----------
    cids, ats, error_rates
        The cases (distinct) in closing order, their closing times and the officers' error
        probabilities (``error_rates`` may be empty: no handling errors).
    out
        int64 output of at least ``OUTPUTS * cids.size`` entries: per case ``k`` from
        ``OUTPUTS * k`` the firm, the deadline's day, the rectification's day (-1: not
        rectified) and the violation (offsets ``OUT_FIRM`` ...).
    rules
        ``R_LENIENCY`` ... ``R_ERROR_KEEP`` (``1 - eta_arbitrary``), then from ``R_SEVERITY``
        the severity of each matter.
    stream_key
        The key of stream ``keyed_cases`` as int64 bits.
    c_*, v_*
        Case columns (``violation_id``, ``enterprise``, ``matter``, ``attempt`` read; the
        others written) and violation columns ``pair``, ``onset_at``.
    offences, advised, escalation, p_hat, satisfaction, trust
        Pair and firm state (updated in place).

    Returns
    -------
    int
        Number of cases rectified (before their deadline).
    """
    leniency = rules[R_LENIENCY] != 0.0
    minor, fine = rules[R_MINOR_SEVERITY], rules[R_FINE_SEVERITY]
    days, rectify_p = rules[R_RECTIFICATION_DAYS], rules[R_RECTIFY_P]
    own_weight, bonus = rules[R_RISK_OWN_WEIGHT], rules[R_LENIENCY_BONUS]
    eta_help, eta_fair, error_keep = rules[R_ETA_HELP], rules[R_ETA_FAIR], rules[R_ERROR_KEEP]
    with_errors = error_rates.size > 0
    n_rectified = 0
    for k in range(cids.size):
        cid = cids[k]
        at = ats[k]
        vid = c_violation[cid]
        pair = v_pair[vid]
        e = c_enterprise[cid]
        # the case's key (ReformModel._case_key_of): its pair's hash and first slot
        premix = premixed_pair_hash(pair, stream_key)
        slot0 = case_first_slot(v_onset[vid], c_attempt[cid])
        if with_errors:
            rate = error_rates[k]
            if rate > 0 and uniform_of_premixed(premix, slot0 + SLOT_ERROR) < rate:
                c_error[cid] = True
                trust[e] = trust[e] * error_keep
        severity = rules[R_SEVERITY + c_matter[cid]]
        n_offences = offences[pair]
        if leniency and n_offences == 0 and severity < minor:
            level = ADVISE
            waiver = True
        else:
            base = ORDER_FIX if severity < fine else FINE
            level = min(base + np.int64(escalation[e]), REVOKE)
            waiver = False
        offences[pair] = n_offences + 1
        if level <= ORDER_FIX:
            advised[pair] = True
        c_sanction[cid] = level
        c_waiver[cid] = waiver
        c_penalty[cid] = level >= FINE
        deadline = at + days
        c_deadline[cid] = deadline
        row = OUTPUTS * k
        out[row + OUT_FIRM] = e
        out[row + OUT_DEADLINE_DAY] = np.int64(math.floor(deadline))
        out[row + OUT_VIOLATION] = vid
        if uniform_of_premixed(premix, slot0 + SLOT_RECTIFY) < rectify_p:
            c_rectified[cid] = 1
            when = at + uniform_of_premixed(premix, slot0 + SLOT_RECTIFY_TIME) * days
            c_rectified_at[cid] = when
            out[row + OUT_RECTIFY_DAY] = np.int64(math.floor(when))
            n_rectified += 1
        else:
            c_rectified[cid] = 0
            out[row + OUT_RECTIFY_DAY] = -1
        p = p_hat[pair]
        p_hat[pair] = p + own_weight * (1.0 - p)
        if waiver:
            s = satisfaction[e]
            satisfaction[e] = s + bonus * (1.0 - s)
        eta = eta_help if level == ADVISE else eta_fair
        t = trust[e]
        trust[e] = t + eta * (1.0 - t)
    return n_rectified
