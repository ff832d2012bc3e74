"""The Delta store's folder: which tables it holds, its lock file and its version marker.

Layout of a :class:`~lsq_analysis.store.delta_store.DeltaStore` folder (store version 2)::

    lsq-store.json      version marker (``store_version`` 2), written when the store is created
    lsq-store.lock      held by a writer around its commits (readers never take it)
    raw/                Delta table: each activity's JSON as received
    activities/         Delta table: the expanded activities
    fetches/            Delta table: one row per lead per write

``leads/`` and ``users/`` are reserved for the tables to come (:data:`LATER_TABLES`). A
folder written by :class:`~lsq_analysis.store.ActivityStore` (store version 1, Parquet per
lead) is refused with a message saying so.

Example:
    >>> open_delta_folder(Path("lsq-store"))
    >>> json.loads((Path("lsq-store") / MARKER).read_text())["store_version"]
    2
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import StoreError
from .folder import MARKER

__all__ = [
    "DELTA_STORE_VERSION",
    "LATER_TABLES",
    "LOCK_FILE",
    "MARKER",
    "TABLE_NAMES",
    "open_delta_folder",
]

DELTA_STORE_VERSION = 2
"""The layout version in the folder's marker (1 is :class:`ActivityStore`'s Parquet layout)."""
TABLE_NAMES: tuple[str, ...] = ("raw", "activities", "fetches")
"""The tables of a store folder, one folder each."""
LATER_TABLES: tuple[str, ...] = ("leads", "users")
"""Tables to come; their folder names are reserved."""
LOCK_FILE = "lsq-store.lock"
"""The lock file a writer holds around its commits."""


def open_delta_folder(path: Path) -> None:
    """Create the folder and its marker, or check that it is a Delta store.

    Raises:
        StoreError: the path is a file, the folder holds files that are not a store, or it
            holds a store of another version; the message says what to do.

    Example:
        >>> open_delta_folder(Path("lsq-store"))
    """
    if path.exists() and not path.is_dir():
        raise StoreError(f"The store path {str(path)!r} is a file; give a folder for the store.")
    marker = path / MARKER
    try:
        path.mkdir(parents=True, exist_ok=True)
        if marker.exists():
            _check_marker(path, marker)
            return
        allowed = {*TABLE_NAMES, *LATER_TABLES, LOCK_FILE}
        foreign = [
            p.name
            for p in sorted(path.iterdir())
            if p.name not in allowed and not p.name.startswith(f".{MARKER}.")
        ]
        if foreign:
            shown = ", ".join(repr(n) for n in foreign[:3])
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            raise StoreError(
                f"The folder {str(path)!r} is not an lsq-analysis store: it holds {shown}{more} "
                f"and no {MARKER}. Give an empty or new folder (or an existing store's)."
            )
        body = {
            "format": "lsq-analysis activity store (Delta Lake)",
            "store_version": DELTA_STORE_VERSION,
            "tables": list(TABLE_NAMES),
        }
        tmp = path / f".{MARKER}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(body, indent=2) + "\n")
        os.replace(tmp, marker)  # another process creating the store writes the same marker
    except OSError as err:
        raise StoreError(
            f"Cannot create or write the store folder {str(path)!r}: {err.strerror or err}. "
            "Choose a folder you can write to."
        ) from None


def _check_marker(path: Path, marker: Path) -> None:
    try:
        version = json.loads(marker.read_text()).get("store_version")
    except (ValueError, AttributeError):
        raise StoreError(
            f"The marker {str(marker)!r} is not a store marker; is {str(path)!r} a store?"
        ) from None
    if version != DELTA_STORE_VERSION:
        raise StoreError(
            f"The folder {str(path)!r} holds an activity store of version {version!r} "
            f"(ActivityStore's Parquet files per lead); DeltaStore reads version "
            f"{DELTA_STORE_VERSION}. Open it with ActivityStore, or write its leads into a new "
            "DeltaStore folder."
        )
