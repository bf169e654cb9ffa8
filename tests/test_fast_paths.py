"""Fast paths of the daily schedule equal the straightforward code they replace, bit for bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from reformsim.calendar import WorkCalendar
from reformsim.mechanisms.compliance import CandidateCalendar
from reformsim.model import ReformModel
from reformsim.population import IMITATOR, INCOMPETENT, RATIONAL
from reformsim.streams import (
    SLOT_ACCEPT_ONSET,
    SLOT_CHANNEL,
    SLOT_DETECT,
    SLOT_MATTER,
    SLOT_ONSET_TIME,
    SLOT_SELF_END,
    SLOTS_PER_DAY,
    Streams,
    keyed_uniform_from_hash,
)
from reformsim.table import Table


def test_candidate_calendar_is_a_bernoulli_process_per_pair() -> None:
    """Each pair is a candidate on a day with probability ``bound`` (4-sigma binomial band per
    bound class), at most once a day, sorted; bound 1 every day, bound 0 never."""
    bound = np.repeat([0.0, 0.002, 0.02, 0.3, 1.0], 400)
    cal = CandidateCalendar(bound, np.random.default_rng(5), block_days=100)
    days = 730
    counts = np.zeros(bound.size, dtype=np.int64)
    for d in range(days):
        c = cal.on(d)
        assert (np.diff(c) > 0).all()
        counts[c] += 1
    for b in np.unique(bound):
        n = days * (bound == b).sum()
        got = counts[bound == b].sum()
        assert abs(got - n * b) <= 4 * np.sqrt(n * b * (1 - b)) + 1e-9, (b, got, n * b)
    assert (counts[bound == 1.0] == days).all()
    assert (counts[bound == 0.0] == 0).all()


def test_candidate_calendar_does_not_depend_on_the_run_length() -> None:
    bound = np.full(300, 0.05)
    short = CandidateCalendar(bound, np.random.default_rng(9))
    long = CandidateCalendar(bound, np.random.default_rng(9))
    first = [short.on(d).tolist() for d in range(200)]
    assert first == [long.on(d).tolist() for d in range(200)]
    assert [long.on(d).size for d in range(200, 900)]  # later blocks follow on


def test_keyed_hash_then_slots_equals_keyed_uniform() -> None:
    s = Streams(11)
    ent = np.array([0, 5, 17, 2**40, 123_456_789])
    slots = np.array([0, 1, 64 * 300 + 2, 2**33])
    h = s.keyed_hash("keyed_violations", ent)[:, None]
    np.testing.assert_array_equal(s.uniform_from_hash(h, slots),
                                  s.keyed_uniform("keyed_violations", ent[:, None], slots))
    np.testing.assert_array_equal(s.uniform_from_hash(h[:, 0], 7),
                                  s.keyed_uniform("keyed_violations", ent, 7))
    scalar = s.keyed_uniform_scalar("keyed_violations", 5, 7)
    assert s.keyed_uniform("keyed_violations", 5, 7) == scalar


def test_sample_matters_equals_per_domain_search(small_integrated) -> None:
    cat = ReformModel(small_integrated, seed=2).catalog
    rng = np.random.default_rng(0)
    n_dom = len(cat.domain_matters)
    ties = np.concatenate([*cat.domain_cum, [0.0, 1.0, np.nextafter(1.0, 0.0)]])
    for _ in range(50):
        doms = rng.integers(0, n_dom, 40)
        u = np.where(rng.random(40) < 0.3, rng.choice(ties, 40), rng.random(40))
        expected = np.empty(40, dtype=np.int64)
        for d, (ids, cum) in enumerate(zip(cat.domain_matters, cat.domain_cum, strict=True)):
            mask = doms == d
            pos = np.searchsorted(cum, u[mask], side="right")
            expected[mask] = ids[np.minimum(pos, len(ids) - 1)]
        np.testing.assert_array_equal(cat.sample_matters(doms, u), expected)


def test_tallies_match_the_columns(small_integrated) -> None:
    m = ReformModel(small_integrated, seed=4)
    for _ in range(120):
        m.step()
        assert int(m.violating_in_grid.sum()) == int((m.enterprises.violation >= 0).sum())
    ent = m.enterprises
    for e in range(0, ent.n, max(ent.n // 50, 1)):
        assert m.joint_inspector(e) is m.joint_inspectors(np.array([e]))[0]


def test_block_keyed_draws_equal_per_slot_uniforms(small_integrated) -> None:
    """Compliance.keyed_draws (drawn per calendar block) equals one keyed uniform per slot."""
    m = ReformModel(small_integrated, seed=3)
    s, comp = m.streams, m.compliance
    rng = np.random.default_rng(1)
    pairs = rng.integers(0, m.enterprises.n_pairs, 300)
    days = rng.integers(0, 800, 300)
    d = comp.keyed_draws(pairs, days)

    def u(slot: np.ndarray) -> np.ndarray:
        return s.keyed_uniform("keyed_violations", pairs, slot)

    base = days * SLOTS_PER_DAY
    np.testing.assert_array_equal(d["accept_at"], u(base + SLOT_ACCEPT_ONSET) * comp.bound[pairs])
    onset = days + u(base + SLOT_ONSET_TIME)
    np.testing.assert_array_equal(d["onset_at"], onset)
    np.testing.assert_array_equal(
        d["matter"], m.catalog.sample_matters(m.enterprises.pair_dom[pairs], u(base + SLOT_MATTER)))
    base = np.floor(onset).astype(np.int64) * SLOTS_PER_DAY
    rate = small_integrated.compliance.self_correction_rate_per_year / 365.0
    np.testing.assert_array_equal(d["detect_exp"], -np.log1p(-u(base + SLOT_DETECT)))
    np.testing.assert_array_equal(d["channel_u"], u(base + SLOT_CHANNEL))
    self_end = onset + -np.log1p(-u(base + SLOT_SELF_END)) / rate
    np.testing.assert_array_equal(d["self_end_at"], self_end)
    one_day = comp.keyed_draws(pairs, 17)
    np.testing.assert_array_equal(one_day, comp.keyed_draws(pairs, np.full(pairs.size, 17)))


def _plain_onsets(m: ReformModel, day: int) -> None:
    """Compliance.step without block draws: today's keyed uniforms drawn today."""
    comp = m.compliance
    cand = comp.calendar.on(day)
    cand = cand[m.enterprises.violation[cand] < 0]
    if cand.size:
        slot = day * SLOTS_PER_DAY + SLOT_ACCEPT_ONSET
        u = m.streams.keyed_uniform("keyed_violations", cand, slot)
        new = cand[u * comp.bound[cand] < comp.onset_probability(cand)]
        if new.size:
            m.open_violations(new, day)


def _plain_onset_probability(m: ReformModel, idx: np.ndarray) -> np.ndarray:
    """The onset probability written out with one np.where per risk type."""
    cs, ent, comp = m.config.compliance, m.enterprises, m.compliance
    kind = comp.pair_type[idx]
    sanction = cs.sanction_size + (cs.colour_leverage if m.config.levers.three_colour else 0.0)
    utility = ent.gain[idx] - comp.weight(ent.p_hat[idx]) * sanction
    utility += m.trust.utility_shift(ent.pair_ent[idx])
    imitating = kind == IMITATOR
    if cs.imitation_strength > 0 and imitating.any():
        utility += imitating * cs.imitation_strength * m.grid_violation_share()[m.pair_grid[idx]]
    rate = np.where(
        (kind == RATIONAL) | imitating,
        cs.max_onset_rate_per_year / (1.0 + np.exp(-utility / cs.choice_noise)),
        np.where(kind == INCOMPETENT, cs.incompetent_rate_per_year
                 * np.where(ent.advised[idx], cs.advised_incompetent_factor, 1.0), 0.0),
    )
    p = np.minimum(rate * comp.domain_weight[idx] / 365.0, 1.0)
    p[ent.violation[idx] >= 0] = 0.0
    return p


def test_onsets_equal_the_plain_daily_code(small_integrated) -> None:
    """Block draws and the lean onset probability give the same violations and cases."""
    fast, plain = ReformModel(small_integrated, seed=8), ReformModel(small_integrated, seed=8)
    plain.compliance.step = lambda day: _plain_onsets(plain, day)
    all_pairs = np.arange(fast.enterprises.n_pairs)
    fast.enterprises.advised[::7] = plain.enterprises.advised[::7] = True
    for day in range(150):
        fast.step()
        plain.step()
        if day % 30 == 0:
            np.testing.assert_array_equal(fast.compliance.onset_probability(),
                                          _plain_onset_probability(fast, all_pairs))
    assert fast.violations.n > 100
    for table in ("violations", "cases"):
        a, b = getattr(fast, table), getattr(plain, table)
        for name in a.cols:
            np.testing.assert_array_equal(a[name], b[name], err_msg=f"{table}.{name}")


def test_hazards_equal_the_channel_formulas(small_integrated) -> None:
    """The table product in Detection.hazards equals the written-out formulas, bit for bit."""
    m = ReformModel(small_integrated, seed=6)
    for _ in range(20):
        m.step()
    det, d = small_integrated.detection, m.detection
    rng = np.random.default_rng(2)
    m.team_authority = rng.random(m.catalog.n_matters) < 0.5
    grids = rng.integers(0, m.territory.n_grids, 500)
    matters = rng.integers(0, m.catalog.n_matters, 500)
    vis = m.catalog.visibility[matters]
    rho = np.where(m.team_authority[matters], 1.0, det.report_share_without_authority)
    patrol = d.patrol_intensity[grids] / 8.0
    expected = np.stack([det.complaint_rate * vis * d.complaint_factor[grids],
                         det.patrol_rate * vis * patrol * rho,
                         det.platform_rate * vis], axis=1)
    np.testing.assert_array_equal(d.hazards(grids, matters), expected)


def test_ending_a_violation_listed_twice_frees_its_pair_once(small_integrated) -> None:
    m = ReformModel(small_integrated, seed=4)
    while m.violations.n < 3:
        m.step()
    open_ids = np.flatnonzero(np.isinf(m.violations["ended_at"]))[:2]
    m.end_violations(np.repeat(open_ids, 2), np.full(4, float(m.day)))
    assert int(m.violating_in_grid.sum()) == int((m.enterprises.violation >= 0).sum())
    assert (m.violating_in_grid >= 0).all()


def test_scalar_keyed_uniform_equals_the_vectorised_one() -> None:
    """Runs of calls for one entity, switches of entity or stream, large slots, numpy ints."""
    s = Streams(12)
    calls = [("keyed_cases", 5, 1), ("keyed_cases", 5, 2), ("keyed_violations", 5, 2),
             ("keyed_cases", 5, 2), ("keyed_cases", 6, 2), ("keyed_cases", 6, 2**40),
             ("keyed_cases", np.int64(6), 3), ("keyed_cases", 0, 3)]
    for name, entity, slot in calls:
        expected = s.keyed_uniform(name, np.array([entity]), np.array([slot]))[0]
        assert s.keyed_uniform_scalar(name, entity, slot) == expected


def test_matters_of_a_domain_without_matters(small_integrated) -> None:
    """Block draws mark such picks -1 (strict=False); a violation there still raises."""
    cat = ReformModel(small_integrated, seed=2).catalog
    matters = list(cat.domain_matters)
    cums = list(cat.domain_cum)
    matters[1], cums[1] = np.zeros(0, dtype=np.int64), np.zeros(0)
    gappy = dataclasses.replace(cat, domain_matters=tuple(matters), domain_cum=tuple(cums))
    doms = np.array([0, 1, 2, 1])
    u = np.array([0.3, 0.5, 0.7, 0.1])
    picked = gappy.sample_matters(doms, u, strict=False)
    assert gappy.has_empty_domains and not cat.has_empty_domains
    np.testing.assert_array_equal(picked[[1, 3]], [-1, -1])
    np.testing.assert_array_equal(picked[[0, 2]], cat.sample_matters(doms[[0, 2]], u[[0, 2]]))
    with pytest.raises(ValueError, match="expected domains with matters"):
        gappy.sample_matters(doms, u)
    with pytest.raises(ValueError, match="expected domains with matters"):
        gappy.check_sampled(doms, picked)


def test_case_uniform_equals_the_keyed_uniform_of_its_key(small_integrated) -> None:
    """The cached per-case hash gives the plain keyed uniform, whichever case asked before."""
    m = ReformModel(small_integrated, seed=3)
    while m.cases.n < 4:
        m.step()
    cids = [0, 0, 1, 0, 3, 3, 2]
    for cid, slot in zip(cids, [0, 9, 1, 2, 12, 0, 63], strict=True):
        vid = int(m.cases["violation_id"][cid])
        day = int(m.violations["onset_at"][vid])
        attempt = min(int(m.cases["attempt"][cid]), 63)
        pair = int(m.violations["pair"][vid])
        first = (day * 64 + attempt) * SLOTS_PER_DAY
        expected = m.streams.keyed_uniform("keyed_cases", pair, first + slot)
        assert m.case_uniform(cid, slot) == expected
    h = m.streams.keyed_hash_scalar("keyed_cases", 7)
    assert keyed_uniform_from_hash(h, 2**40) == m.streams.keyed_uniform("keyed_cases", 7, 2**40)


@pytest.mark.parametrize(("days", "hours"), [(5, 8.0), (7, 24.0), (6, 15.5)])
def test_add_work_hours_with_a_remembered_window_equals_a_fresh_calendar(days, hours) -> None:
    """Calls in, before, after and across remembered windows give a fresh calendar's answer."""
    cal = WorkCalendar(days, hours)
    rng = np.random.default_rng(days)
    t = rng.uniform(0, 30, 400)
    t[::3] = np.floor(t[::3]) + cal.start + rng.uniform(0, cal.length, t[::3].size)
    t[1::7] = np.floor(t[1::7]) + cal.start + cal.length  # window ends
    work = rng.choice([0.0, 0.25, 1.0, 3.5, hours, 30.0], t.size)
    for start, h in zip(t.tolist(), work.tolist(), strict=True):
        assert cal.add_work_hours(start, h) == WorkCalendar(days, hours).add_work_hours(start, h)


def test_one_case_opened_with_scalars_equals_the_batch_row(small_integrated) -> None:
    """open_case (and open_cases of one violation) write the row a batch of two writes."""
    a, b = ReformModel(small_integrated, seed=6), ReformModel(small_integrated, seed=6)
    for m in (a, b):
        while m.violations.n < 3:
            m.step()
    vids = np.array([0, 2])
    a._append_cases(vids, np.array([1, 3], np.int8), np.array([5.5, 6.25]), np.array([4, -1]))
    a.violations.cols["case"][vids] = [a.cases.n - 2, a.cases.n - 1]
    b.open_case(0, 1, 5.5, 4)
    b.open_cases(np.array([2]), np.array([3], np.int8), np.array([6.25]), np.array([-1]))
    assert Table.to_frame(a.cases).equals(Table.to_frame(b.cases))
    assert a.violations.to_frame().equals(b.violations.to_frame())
