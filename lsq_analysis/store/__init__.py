"""The on-disk store: raw activities per lead as Parquet, with an expanded cache.

The modules: ``activity_store`` (:class:`ActivityStore`), ``folder`` (the folder's layout,
version marker and atomic writes) and ``records`` (the rows of a store file, refresh merging,
and the frame helpers the store and fetching share).

Example:
    >>> from lsq_analysis.store import ActivityStore
    >>> store = ActivityStore("lsq-store")
    >>> store.frame(event="Email Opened").height
    3
"""

from .activity_store import ActivityStore
from .delta_store import DeltaStore
from .folder import STORE_VERSION
from .records import (
    RAW_SCHEMA,
    LeadRecord,
    as_max_age,
    concat_frames,
    merge_refreshed,
    raw_rows,
)

__all__ = [
    "RAW_SCHEMA",
    "STORE_VERSION",
    "ActivityStore",
    "DeltaStore",
    "LeadRecord",
    "as_max_age",
    "concat_frames",
    "merge_refreshed",
    "raw_rows",
]
