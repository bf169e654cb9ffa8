"""Fast paths of detection (step 3, M13) and keyed case uniforms equal the general code."""

from __future__ import annotations

import numpy as np
import pytest

from reformsim.mechanisms.detection import COMPLAINT
from reformsim.model import ReformModel
from reformsim.scenario import Scenario
from reformsim.streams import Streams, keyed_uniform_premixed, premix_hash

SCHEDULED = ("detect_at", "channel", "self_end_at")


def test_complainants_picked_one_by_one_equal_the_vectorised_pick(
        small_integrated: Scenario) -> None:
    m = ReformModel(small_integrated, seed=3)
    m.run_for(40)
    d = m.detection
    n = m.violations.n
    rng = np.random.default_rng(1)
    for size in (0, 1, 5, 16, 40):
        ids = rng.choice(n, size, replace=False)
        source = rng.integers(0, 3, size).astype(np.int8)
        source[:2] = COMPLAINT
        fast = d._complainants_scalar(ids, source)
        d.scalar_complainants_up_to = -1  # the vectorised pick
        general = d._complainants(ids, source)
        del d.scalar_complainants_up_to
        assert fast.dtype == general.dtype == np.int64
        np.testing.assert_array_equal(fast, general)
        assert size < 2 or (fast[:2] >= 0).all()
    # a grid without residents: nobody complains
    ids = np.arange(min(n, 10))
    m.resident_grid_start = np.zeros_like(m.resident_grid_start)
    np.testing.assert_array_equal(d._complainants_scalar(ids, np.zeros(ids.size, np.int8)),
                                  np.full(ids.size, -1))


def _invisible_somewhere(m: ReformModel) -> None:
    """Zero hazards for some matters and grids, and mixed team authority (all channels, NaN)."""
    det = m.detection
    det._matter_factor[::3] = 0.0
    det._matter_rows = [tuple(row) for row in det._matter_factor.tolist()]
    det._grid_factor[::4, 0] = 0.0
    det._complaint_list = det._grid_factor[:, 0].tolist()
    det.patrol_intensity[::5] = 0.0
    det._refresh_patrol_factor()
    m.team_authority[::2] = ~m.team_authority[::2]


@pytest.mark.parametrize("n_new", [1, 13, 20, 40])
def test_schedule_new_equals_schedule(small_integrated: Scenario, n_new: int) -> None:
    """Detection.schedule_new (scalars up to 20 violations) equals Detection.schedule."""
    fast, general = ReformModel(small_integrated, seed=5), ReformModel(small_integrated, seed=5)
    det = general.detection
    det.schedule_new = lambda start, draws, grids: det.schedule(  # type: ignore[method-assign]
        np.arange(start, start + draws.size), draws)
    for m in (fast, general):
        m.run_for(20)
        _invisible_somewhere(m)
        free = np.flatnonzero(m.enterprises.violation < 0)
        pairs = np.random.default_rng(n_new).choice(free, n_new, replace=False)
        m.open_violations(np.sort(pairs), m.day, m.compliance.keyed_draws(np.sort(pairs), m.day))
    for name in SCHEDULED:
        np.testing.assert_array_equal(fast.violations[name], general.violations[name], name)
    assert np.isinf(fast.violations["detect_at"]).any()
    assert fast.detection.watch == general.detection.watch
    n = fast.violations.n
    np.testing.assert_array_equal(fast.detection.complainant_u[:n],
                                  general.detection.complainant_u[:n])
    for m in (fast, general):
        m.run_for(10)
    np.testing.assert_array_equal(fast.cases["detected_at"], general.cases["detected_at"])


def test_premixed_keyed_uniform_equals_the_keyed_uniform() -> None:
    """Premixed entity hash and memoised slot half give keyed_uniform, repeated slots included."""
    s = Streams(7)
    rng = np.random.default_rng(0)
    entities = rng.integers(0, 10**6, 200)
    slots = np.concatenate([rng.integers(0, 400 * 4096, 150), [0, 2**40, 2**63 - 1, 5, 5]])
    for e in entities.tolist():
        h = premix_hash(s.keyed_hash_scalar("keyed_cases", e))
        expected = s.keyed_uniform("keyed_cases", np.full(slots.size, e), slots)
        got = [keyed_uniform_premixed(h, t) for t in slots.tolist()]
        assert got == expected.tolist()


def test_watch_by_day_takes_every_event_once_in_scheduling_order(small_integrated) -> None:
    """Events go to their day's list (not before the first day not processed); skipped days
    are taken with the next step, in scheduling order."""
    d = ReformModel(small_integrated, seed=1).detection
    d._watch([5, 6, 7], [0.5, 2.25, 1.0])
    assert d._take_watched(0) == [5]
    d._watch([8, 9], [0.75, 3.5])  # day 0 is done: 0.75 waits for day 1
    assert d._take_watched(1) == [7, 8]
    assert d._take_watched(3) == [6, 9]  # day 2 was skipped
    assert d.watch == {} and d.next_day == 4
