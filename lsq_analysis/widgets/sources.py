"""What the pickers and the explorer are opened on: a frame, or a store read lazily.

Example:
    >>> import lsq_analysis as lsq
    >>> source_store(lsq.load_sample()) is None
    True
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

import polars as pl

if TYPE_CHECKING:
    from ..store import ActivityStore

__all__ = ["empty_frame", "source_frame", "source_store"]

_STORE_MODULE = "lsq_analysis.store.activity_store"


def source_store(source: object) -> ActivityStore | None:
    """``source`` if it is an :class:`~lsq_analysis.store.ActivityStore`, else None.

    The pickers and the explorer read such a store lazily (its ``scan()``) instead of
    loading it. The store module is not imported to find out: no store exists without it.

    Example:
        >>> import lsq_analysis as lsq
        >>> source_store(lsq.load_sample()) is None
        True
    """
    if _STORE_MODULE not in sys.modules:
        return None
    from ..store import ActivityStore

    return source if isinstance(source, ActivityStore) else None


def source_frame(source: object) -> pl.DataFrame | None:
    """A frame from a DataFrame or an ActivityStore-like object (``.frame()``); else None.

    This loads a whole store; :class:`~lsq_analysis.widgets.LeadPicker` and the explorer read
    an :class:`~lsq_analysis.store.ActivityStore` lazily instead (:func:`source_store`).

    Example:
        >>> import lsq_analysis as lsq
        >>> source_frame(lsq.load_sample().lazy()).height > 0
        True
    """
    if source is None:
        return None
    if isinstance(source, pl.DataFrame):
        return source
    if isinstance(source, pl.LazyFrame):
        return source.collect()
    frame = getattr(source, "frame", None)
    if callable(frame) and not hasattr(source, "get_lead_activities"):
        return cast("pl.DataFrame", frame())  # what an ActivityStore's frame() returns
    return None


def empty_frame() -> pl.DataFrame:
    """An activity frame with no rows (the core columns), for a picker that starts empty.

    Example:
        >>> empty_frame().height
        0
    """
    from ..frames import CORE_SCHEMA

    return pl.DataFrame(schema=CORE_SCHEMA)
