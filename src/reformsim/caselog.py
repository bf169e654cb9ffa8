"""The case log: one row per case with its full lifecycle (全流程记录).

A case is born when a violation is detected (by a complaint, patrol, the platform, an inspection
or a follow-up check). Its row records every stage: detection, routing (first and final owner,
transfers), arrival in the owner's queue, start of work, officer on scene, closure or orphaning,
sanction, waiver, rectification deadline and outcome.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from reformsim.column_views import ColumnViews
from reformsim.table import Table

SOURCES = ("complaint", "patrol", "platform", "inspection", "follow_up")
STATUS = ("open", "closed", "orphaned")
SANCTIONS = ("advise", "order_fix", "warn", "fine", "suspend", "revoke")
OPEN, CLOSED, ORPHANED = 0, 1, 2
NAN = np.nan

CASE_SCHEMA: dict[str, tuple[object, object]] = {
    "violation_id": (np.int64, -1),
    "enterprise": (np.int64, -1),
    "grid": (np.int64, -1),
    "area": (np.int64, -1),
    "domain": (np.int64, -1),
    "matter": (np.int64, -1),
    "source": (np.int8, -1),
    "delegated": (bool, False),
    "ambiguous": (bool, False),
    "negative_list": (bool, False),
    "onset_at": (np.float64, NAN),
    "detected_at": (np.float64, NAN),
    "first_unit": (np.int64, -1),
    "owner_unit": (np.int64, -1),
    "transfers": (np.int16, 0),
    "ready_at": (np.float64, NAN),
    "started_at": (np.float64, NAN),
    "on_scene_at": (np.float64, NAN),
    "closed_at": (np.float64, NAN),
    "orphaned_at": (np.float64, NAN),
    "status": (np.int8, OPEN),
    "officer": (np.int64, -1),
    "travel_hours": (np.float64, NAN),
    "service_hours": (np.float64, NAN),
    "sanction": (np.int8, -1),
    "waiver": (bool, False),
    "penalty": (bool, False),
    "deadline_at": (np.float64, NAN),
    "rectified": (np.int8, -1),
    "rectified_at": (np.float64, NAN),
    "complainant": (np.int64, -1),
    "attempt": (np.int16, 0),
    "summoned": (bool, False),
    "support_requests": (np.int8, 0),
    "error": (bool, False),
}


class CaseLog(ColumnViews, Table):
    """Growable table of cases (see :data:`CASE_SCHEMA`).

    Besides the numpy columns (:attr:`cols`) the log keeps a memoryview of each, :attr:`views`:
    reading or writing one element through a memoryview gives or takes a Python scalar at about
    half the cost of ``col.item(i)`` or ``col[i] = x`` (the casework path does this ~10^5 times
    a run). The views follow the columns when they grow.
    """

    def __init__(self) -> None:
        super().__init__(CASE_SCHEMA, capacity=4096)
        #: keyed-uniform key of each case that drew one: ``(hash of its pair, first slot)``
        #: (see :meth:`reformsim.model.ReformModel.case_uniform`; not a column of the log)
        self.uniform_keys: dict[int, tuple[int, int]] = {}
        self.views: dict[str, memoryview] = {}
        self._bind_views()

    def _reserve(self, extra: int) -> None:
        capacity = self.capacity
        super()._reserve(extra)
        if self.capacity != capacity:  # new column arrays
            self._bind_views()

    def _scalar_targets(self) -> dict[str, memoryview]:
        """:meth:`Table.append_row` writes through the views (cheaper scalar writes)."""
        return self.views

    def _bind_views(self) -> None:
        """Point :attr:`views` at the current column arrays.

        The dict is updated in place, as :attr:`cols` is: code holding the dict (not a view)
        across appends sees the grown columns.
        """
        self.views.update({name: memoryview(col) for name, col in self.cols.items()})

    def to_frame(
        self, unit_names: list[str], domain_names: list[str], warmup_days: int
    ) -> pd.DataFrame:
        """Return the log as a tidy DataFrame with readable categories and times in days.

        Built from one dict of columns (one DataFrame construction, no column inserts).
        """
        n = self.n
        cols = {"case_id": np.arange(n)}
        cols.update((name, col[:n].copy()) for name, col in self.cols.items())
        cols["source"] = pd.Categorical.from_codes(cols["source"], dtype=_categories(SOURCES))
        cols["status"] = pd.Categorical.from_codes(cols["status"], dtype=_categories(STATUS))
        units = _text_array((*unit_names, ""))  # code -1: no unit
        first_unit, owner_unit = cols.pop("first_unit"), cols.pop("owner_unit")
        cols["domain"] = _text_array(tuple(domain_names)).take(cols["domain"])
        codes = cols["sanction"]
        names = _text_array((*SANCTIONS, ""))
        cols["sanction"] = names.take(np.where(codes < 0, len(SANCTIONS), codes))
        rectified = cols["rectified"]
        cols["rectified"] = pd.array(rectified == 1, dtype="boolean")
        cols["rectified"][rectified < 0] = pd.NA
        cols["first_owner"] = units.take(np.where(first_unit < 0, len(unit_names), first_unit))
        cols["owner"] = units.take(np.where(owner_unit < 0, len(unit_names), owner_unit))
        cols["in_window"] = cols["detected_at"] >= warmup_days
        return pd.DataFrame(cols)


@lru_cache(maxsize=64)
def _text_array(names: tuple[str, ...]) -> pd.api.extensions.ExtensionArray:
    """The text column pandas makes of ``names`` (its inferred string dtype), to ``take`` from.

    Taking the rows' codes from it gives the column a DataFrame would infer from an object
    array of the rows' names, without converting one Python string per row. Made once per
    ``names`` (pandas >= 3 always infers its ``str`` dtype); never modified.
    """
    return pd.Series(np.array(names, dtype=object)).array


@lru_cache(maxsize=16)
def _categories(names: tuple[str, ...]) -> pd.CategoricalDtype:
    """Return ``pd.CategoricalDtype(names)``, made once per tuple of names.

    ``Categorical.from_codes(codes, names)`` would infer the same dtype on every call.
    """
    return pd.CategoricalDtype(list(names))
