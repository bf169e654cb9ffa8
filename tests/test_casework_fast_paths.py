"""Inlined helpers on the casework path equal the plain rules they replace."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reformsim.calendar import WorkCalendar


def _next_start_reference(cal: WorkCalendar, t: float) -> float:
    """The earliest working instant at or after ``t``, from is_working and window."""
    day = math.floor(t)
    while True:
        if cal.is_working(day):
            lo, hi = cal.window(day)
            if t < hi:
                return max(t, lo)
        day += 1
        t = float(day)


@pytest.mark.parametrize(("days", "hours"), [(5, 8.0), (7, 24.0), (6, 15.5), (1, 0.5)])
def test_next_start_equals_the_window_rule(days: int, hours: float) -> None:
    cal = WorkCalendar(days, hours)
    rng = np.random.default_rng(days)
    times = np.concatenate([rng.random(500) * 30.0, [cal.window(d)[k] for d in range(14)
                                                      for k in (0, 1) if cal.is_working(d)]])
    for t in times.tolist():
        assert cal.next_start(t) == _next_start_reference(cal, t)


def _find_reference(m, officer, pairs: np.ndarray, vids: np.ndarray, at: float) -> list[int]:
    """The vectorised rule: one uniform per checked pair, hit if open, found and unknown."""
    v = m.violations.cols
    u = m.streams["on_site"].random(len(vids))
    p = m.casework.find_probability * (0.5 + 0.5 * officer.skills[m.enterprises.pair_dom[pairs]])
    hit = (vids >= 0) & (u < p)
    return [int(x) for x in vids[hit] if v["case"][x] < 0 and v["onset_at"][x] <= at]


def test_find_on_several_pairs_equals_the_vectorised_rule(small_integrated) -> None:
    from reformsim.model import ReformModel

    sc = small_integrated.with_updates({"inspection.find_probability": 0.9})
    m = ReformModel(sc, seed=2)
    m.run_for(60)
    ent = m.enterprises
    sizes = np.diff(ent.pair_start)
    firms = np.flatnonzero(sizes >= 2)
    officer = m.squads[0].officers[0]
    at = float(m.day)
    checked = found = 0
    for e in firms.tolist():
        pairs = np.arange(ent.pair_start[e], ent.pair_start[e + 1])
        vids = ent.violation[pairs]
        if vids.max() < 0:
            continue
        state = m.streams["on_site"].bit_generator.state
        expected = _find_reference(m, officer, pairs, vids, at)
        after = m.streams["on_site"].bit_generator.state
        m.streams["on_site"].bit_generator.state = state
        assert m.casework._find(officer.row, pairs, vids, at) == expected
        assert m.streams["on_site"].bit_generator.state == after
        checked += 1
        found += len(expected)
    assert checked >= 5 and found >= 1


def test_refreshed_skills_equal_the_learning_curve(small_integrated) -> None:
    from reformsim.model import ReformModel

    m = ReformModel(small_integrated, seed=1)
    m.run_for(70)  # casework, two monthly forgetting and training rounds
    b = m.learning_exponent
    for o in m.case_officers:
        o.forget(0.1)
        o.train(np.linspace(0.0, 2.0, o.skills.size))
        expected = 1.0 - (1.0 - o.skill0) * (1.0 + o.experience) ** (-b)
        np.testing.assert_array_equal(o.skills, expected)
        np.testing.assert_array_equal(o.unit.skill_matrix[o.row - o.unit.officer_range[0]], expected)
        np.testing.assert_array_equal(m.officer_learning[0, o.row], expected)


def _clean_checks_reference(m, firms: np.ndarray) -> None:
    """The array rule: sorted firms, one round per repeat, each round counting a firm once."""
    from reformsim.population import BLACK, GREEN, YELLOW
    from reformsim.runs import first_in_run

    ent = m.enterprises
    firms = np.sort(firms)
    while firms.size:
        first = first_in_run(firms)
        batch = firms[first]
        checks = ent.clean_checks[batch] + 1
        ent.clean_checks[batch] = checks
        up = batch[checks >= m.config.sanctions.clean_checks_to_upgrade]
        ent.escalation[up] = np.maximum(ent.escalation[up] - 1, 0)
        colour = ent.colour[up]
        to_green, to_yellow = up[colour == YELLOW], up[colour == BLACK]
        ent.set_colours(to_green, GREEN)
        ent.set_colours(to_yellow, YELLOW)
        ent.clean_checks[to_green] = 0
        ent.clean_checks[to_yellow] = 0
        firms = firms[~first]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_checks_on_scalars_equal_the_array_rounds(small_siloed, seed: int) -> None:
    from reformsim.model import ReformModel

    fast, ref = ReformModel(small_siloed, seed=1), ReformModel(small_siloed, seed=1)
    rng = np.random.default_rng(seed)
    n = fast.enterprises.n
    state = {"clean_checks": rng.integers(0, 3, n), "escalation": rng.integers(0, 3, n),
             "colour": rng.integers(0, 3, n)}
    for m in (fast, ref):
        for name, values in state.items():
            getattr(m.enterprises, name)[:] = values
    for _ in range(5):  # a few days, with firms checked several times a day
        firms = rng.integers(0, min(n, 60), 80)
        fast.sanctions.clean_checks(firms.tolist())
        _clean_checks_reference(ref, firms)
        for name in state:
            np.testing.assert_array_equal(getattr(fast.enterprises, name),
                                          getattr(ref.enterprises, name), err_msg=name)
    assert sorted(fast.enterprises.colour_changes) == sorted(ref.enterprises.colour_changes)
    assert fast.enterprises.colour_changes


def test_unit_forget_and_train_equal_the_per_officer_updates(small_integrated) -> None:
    """WorkUnit.forget / Training.monthly on matrices against Officer.forget / train per row."""
    from reformsim.model import ReformModel

    sc = small_integrated.with_updates({"levers.training_hours_per_month": 6.0})
    fast, ref = ReformModel(sc, seed=3), ReformModel(sc, seed=3)
    fast.run_for(40)
    ref.run_for(40)
    tr = ref.training
    lv, cw = sc.levers, sc.casework
    training = lv.training_hours_per_month * cw.training_experience_per_hour * tr.case_mix
    exchange = lv.exchange_sessions_per_year / 12.0 * cw.exchange_experience
    for _ in range(3):
        for unit in fast.units:
            unit.forget(0.1)
        fast.training.monthly()
        for o in ref.case_officers:
            o.forget(0.1)
        for o in tr.trainees:
            gain = training + exchange
            if o.home_domain >= 0:
                gain = gain.copy()
                gain[o.home_domain] -= exchange
            o.train(gain)
    for uf, ur in zip(fast.units, ref.units, strict=True):
        for of, o in zip(uf.officers, ur.officers, strict=True):
            np.testing.assert_array_equal(of.experience, o.experience)
            np.testing.assert_array_equal(of.skills, o.skills)
            assert np.shares_memory(of.skills, uf.skill_matrix)
            assert np.shares_memory(of.experience, uf.experience_matrix)
    assert any(o.experience.any() for o in fast.training.trainees)
