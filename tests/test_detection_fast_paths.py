"""Fast paths of detection (step 3, M13) equal the general vectorised code."""

from __future__ import annotations

import numpy as np

from reformsim.mechanisms.detection import COMPLAINT
from reformsim.model import ReformModel
from reformsim.scenario import Scenario


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
