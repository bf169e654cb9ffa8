"""Fast paths of the daily schedule equal the straightforward code they replace, bit for bit."""

from __future__ import annotations

import numpy as np

from reformsim.mechanisms.compliance import CandidateCalendar
from reformsim.model import ReformModel
from reformsim.streams import Streams


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
