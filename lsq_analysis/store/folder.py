"""The store folder: which tables it holds, its lock file and its version marker.

Layout of an :class:`~lsq_analysis.store.ActivityStore` folder (:data:`STORE_VERSION` 2)::

    lsq-store.json      version marker (``store_version`` 2), written when the store is created
    lsq-store.lock      held by a writer around its commits (readers never take it)
    raw/                Delta table: each activity's JSON as received
    activities/         Delta table: the expanded activities
    fetches/            Delta table: one row per lead per write (or failed fetch)

``leads/`` and ``users/`` are reserved for the tables to come (:data:`LATER_TABLES`). A
folder of store version 1 (Parquet files per lead, :mod:`~lsq_analysis.store.v1_store`) is
migrated when it is opened (:mod:`~lsq_analysis.store.migrate`); a folder of a newer version
is refused.

Example:
    >>> open_folder(Path("lsq-store"))
    2
    >>> json.loads((Path("lsq-store") / MARKER).read_text())["store_version"]
    2
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import StoreError

__all__ = [
    "LATER_TABLES",
    "LOCK_FILE",
    "MARKER",
    "STORE_VERSION",
    "TABLE_NAMES",
    "V1_LEFTOVERS",
    "open_folder",
    "write_marker",
]

STORE_VERSION = 2
"""The layout version in the folder's marker (version 1 held Parquet files per lead)."""
MARKER = "lsq-store.json"
"""The marker file that makes a folder a store, with its ``store_version``."""
_FORMAT = "lsq-analysis activity store"
V1_LEFTOVERS: tuple[str, ...] = ("v1", "cache", "tmp")
"""What a migration from version 1 moves aside or leaves, deleted once it is done."""
TABLE_NAMES: tuple[str, ...] = ("raw", "activities", "fetches")
"""The tables of a store folder, one folder each."""
LATER_TABLES: tuple[str, ...] = ("leads", "users")
"""Tables to come; their folder names are reserved."""
LOCK_FILE = "lsq-store.lock"
"""The lock file a writer holds around its commits."""


def open_folder(path: Path) -> int:
    """Create the folder and its marker, or check that it is a store; return its version.

    A version below :data:`STORE_VERSION` (1) is returned for the caller to migrate.

    Raises:
        StoreError: the path is a file, the folder holds files that are not a store, or it
            holds a store of a newer or unknown version; the message says what to do.

    Example:
        >>> open_folder(Path("lsq-store"))
        2
    """
    if path.exists() and not path.is_dir():
        raise StoreError(
            f"The store path {str(path)!r} is a file, not a folder. Give a folder (it is "
            "created if missing) for the store."
        )
    marker = path / MARKER
    try:
        path.mkdir(parents=True, exist_ok=True)
        if marker.exists():
            return _check_marker(path, marker)
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
        write_marker(path)  # another process creating the store writes the same marker
        return STORE_VERSION
    except OSError as err:
        raise StoreError(
            f"Cannot create or write the store folder {str(path)!r}: {err.strerror or err}. "
            "Choose a folder you can write to."
        ) from None


def write_marker(path: Path) -> None:
    """Write the marker of a version-2 store (atomically: it is a migration's commit point).

    Example:
        >>> write_marker(Path("lsq-store"))
    """
    from .. import __version__

    body = {
        "format": _FORMAT,
        "store_version": STORE_VERSION,
        "layout": "Delta Lake tables",
        "tables": list(TABLE_NAMES),
        "created_by": f"lsq-analysis {__version__}",
    }
    tmp = path / f".{MARKER}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(tmp, path / MARKER)


def _check_marker(path: Path, marker: Path) -> int:
    try:
        body = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict) or not str(body.get("format", "")).startswith(_FORMAT):
        raise StoreError(
            f"{str(marker)!r} is not an lsq-analysis store marker. This folder holds "
            "something else: give an empty or new folder for the store."
        )
    version = body.get("store_version")
    if version in (1, STORE_VERSION):
        return int(version)
    written_by = body.get("created_by", "another version of lsq-analysis")
    if isinstance(version, int) and version > STORE_VERSION:
        raise StoreError(
            f"The store {str(path)!r} was written by {written_by} (store version "
            f"{version}); this lsq-analysis reads versions up to {STORE_VERSION}. Upgrade "
            "lsq-analysis (pip install -U lsq-analysis) or use another folder."
        )
    raise StoreError(
        f"The store {str(path)!r} has store version {version!r} (written by {written_by}), "
        "which this lsq-analysis cannot read. Fetch into a new folder (or delete this one to "
        "start again)."
    )
