"""Memoryviews of numpy columns, for scalar reads and writes.

A memoryview gives Python scalars in and out, cheaper than ``item`` and numpy's scalar
assignment on paths that read or write a few entries at a time (casework).

A class using :class:`ColumnViews` keeps a dict ``views`` of memoryviews, rebuilt by its
``_bind_views`` whenever its column arrays are replaced, and changes the columns in place.
"""

from __future__ import annotations


class ColumnViews:
    """Mixin: pickling for a class whose ``views`` dict holds memoryviews of its columns.

    Memoryviews do not pickle: they are dropped and rebuilt by ``_bind_views`` on unpickling.
    """

    views: dict[str, memoryview]

    def _bind_views(self) -> None:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        del state["views"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.views = {}
        self._bind_views()


class KernelArrays:
    """Mixin: pickling for a mechanism that keeps a tuple ``_arrays`` of other objects' columns.

    A compiled kernel takes many column arrays; the mechanism keeps them in ``_arrays`` until
    ``_arrays_key`` (the tables' capacities) changes. An unpickled log may rebuild its columns
    as new arrays, so the tuple is dropped on pickling and gathered again on first use.
    """

    _arrays_key: object
    _arrays: tuple[object, ...]

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_arrays_key"], state["_arrays"] = None, ()
        return state
