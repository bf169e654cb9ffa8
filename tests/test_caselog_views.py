"""The case log's memoryviews (scalar fast path) read and write the numpy columns themselves."""

from __future__ import annotations

import pickle

import numpy as np

from reformsim.caselog import CASE_SCHEMA, CaseLog
from reformsim.table import Table

ROW = dict(violation_id=7, enterprise=3, grid=11, area=2, domain=4, matter=9, source=3,
           delegated=True, ambiguous=False, negative_list=True, onset_at=1.25, detected_at=2.5,
           complainant=-1, attempt=1)


def test_append_row_through_views_equals_the_table_row() -> None:
    log, table = CaseLog(), Table(CASE_SCHEMA, capacity=4096)
    held = log.views  # held across growth, as the casework loop holds it
    for k in range(5000):  # past the first capacity: the views follow the grown columns
        row = dict(ROW, violation_id=k, onset_at=k / 3.0)
        assert log.append_row(**row) == table.append_row(**row) == k
    assert log.capacity > 4096
    for name in CASE_SCHEMA:
        np.testing.assert_array_equal(log[name], table[name], err_msg=name)
        assert log.views[name].obj is log.cols[name] and held[name].obj is log.cols[name]


def test_views_give_python_scalars_and_write_the_columns() -> None:
    log = CaseLog()
    cid = log.append_row(**ROW)
    views = log.views
    assert views["domain"][cid] == log.cols["domain"].item(cid)
    assert type(views["domain"][cid]) is int
    assert type(views["onset_at"][cid]) is float and type(views["delegated"][cid]) is bool
    views["closed_at"][cid] = 3.75
    views["sanction"][cid] = 2
    views["penalty"][cid] = True
    assert log.cols["closed_at"][cid] == 3.75 and log.cols["sanction"][cid] == 2
    assert log.cols["penalty"][cid]


def test_a_pickled_log_rebinds_its_views() -> None:
    log = CaseLog()
    log.append_row(**ROW)
    copy = pickle.loads(pickle.dumps(log))
    copy.views["closed_at"][0] = 9.5
    assert copy.cols["closed_at"][0] == 9.5 and np.isnan(log.cols["closed_at"][0])


def test_enterprise_views_read_and_write_the_columns(small_siloed) -> None:
    from reformsim.model import ReformModel

    ent = ReformModel(small_siloed, seed=1).enterprises
    for name, view in ent.views.items():
        assert view.obj is getattr(ent, name), name
    ent.views["trust"][0] = 0.25
    ent.views["offences"][1] += 2
    assert ent.trust[0] == 0.25 and ent.offences[1] == 2
    assert type(ent.views["violation"][0]) is int and type(ent.views["advised"][0]) is bool
    copy = pickle.loads(pickle.dumps(ent))
    copy.views["trust"][0] = 0.5
    assert copy.trust[0] == 0.5 and ent.trust[0] == 0.25
