"""The on-disk store: Delta Lake tables of raw and expanded activities, and of fetches.

The modules: ``activity_store`` (:class:`ActivityStore`), ``tables`` (one Delta table),
``batches`` (the rows of one write), ``history`` (time travel for ``changes()``), ``folder``
(the folder's layout, lock and version marker), ``migrate`` (from store version 1),
``records`` (refresh merging and the frame helpers the store and fetching share), and
``v1_store``/``v1_folder`` (the version-1 layout, kept to migrate from and to measure against).

Example:
    >>> from lsq_analysis.store import ActivityStore
    >>> store = ActivityStore("lsq-store")
    >>> store.frame(events="Email Opened").height
    3
"""

from .activity_store import DEFAULT_RETENTION, ActivityStore, OptimizeResult
from .folder import STORE_VERSION, TABLE_NAMES
from .records import as_max_age, concat_frames, merge_activities
from .v1_store import V1Store

__all__ = [
    "DEFAULT_RETENTION",
    "STORE_VERSION",
    "TABLE_NAMES",
    "ActivityStore",
    "OptimizeResult",
    "V1Store",
    "as_max_age",
    "concat_frames",
    "merge_activities",
]
