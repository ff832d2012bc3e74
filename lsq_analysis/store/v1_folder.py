"""The folder of a version-1 store (:class:`~lsq_analysis.store.v1_store.V1Store`): its
layout, its version marker, and atomic file writes.

Layout of a store folder (:data:`STORE_VERSION` 1)::

    lsq-store.json                          version marker, written when the store is created
    raw/lead_id=<guid>/activities.parquet   one lead's raw activities (hive-partitioned)
    cache/expanded.parquet                  every stored activity expanded (see frames.py)
    cache/index.parquet                     what the cache was built from (lead, file token)
    tmp/                                    files being written; never read

Every file is written under ``tmp/`` and renamed into place with :func:`os.replace`
(:func:`atomic_write_parquet`), so a file that exists is complete.

Example:
    >>> open_folder(Path("lsq-store"))
    >>> lead_file(Path("lsq-store"), "3A6D5EA2-400E-4A2F-A728-FBFA0B0C1DDF").parent.name
    'lead_id=3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf'
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import StoreError
from ..vocabulary import GUID_PATTERN
from .folder import MARKER
from .records import normalise_lead

__all__ = [
    "STORE_VERSION",
    "atomic_write_parquet",
    "file_token",
    "lead_file",
    "list_raw",
    "open_folder",
    "tmp_path",
    "utcnow",
]

STORE_VERSION = 1
"""The layout version of this folder (the current store is version 2: see ``folder``)."""

RAW = "raw"
CACHE = "cache"
TMP = "tmp"
LEAD_FILE = "activities.parquet"
CACHE_FILE = "expanded.parquet"
INDEX_FILE = "index.parquet"
PARTITION_PREFIX = "lead_id="
_FORMAT = "lsq-analysis activity store"
_GUID_RE = re.compile(rf"^{GUID_PATTERN}$")  # the one rule, without stripping spaces


def utcnow() -> datetime:
    """The current time, aware, in UTC.

    Example:
        >>> utcnow().tzinfo
        datetime.timezone.utc
    """
    return datetime.now(timezone.utc)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lead_file(path: Path, lead_id: str) -> Path:
    """The raw file of one lead in the store folder ``path`` (it exists once it is complete).

    Example:
        >>> lead_file(Path("lsq-store"), "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf").name
        'activities.parquet'
    """
    return path / RAW / f"{PARTITION_PREFIX}{normalise_lead(lead_id)}" / LEAD_FILE


def open_folder(path: Path) -> None:
    """Create the store folder, or check that it is one written by this version.

    Raises:
        StoreError: the folder cannot be written, holds files that are not a store, or
            was written by another version of lsq-analysis. The message says what to do.

    Example:
        >>> open_folder(Path("lsq-store"))
    """
    if path.exists() and not path.is_dir():
        raise StoreError(
            f"The store path {str(path)!r} is a file, not a folder. Give a folder "
            "(it is created if missing) for the store."
        )
    marker = path / MARKER
    try:
        path.mkdir(parents=True, exist_ok=True)
        existing = sorted(p.name for p in path.iterdir())
    except OSError as err:
        raise StoreError(
            f"Cannot create or read the store folder {str(path)!r}: "
            f"{err.strerror or err}. Choose a folder you can write to, or fix its "
            "permissions."
        ) from None
    # What another process creating this store at the same moment may have made so far.
    foreign = [
        name
        for name in existing
        if name not in (MARKER, RAW, CACHE, TMP)
        and not (name.startswith(f".{MARKER}.") and name.endswith(".tmp"))
    ]
    if marker.exists():
        _check_marker(path, marker)
    elif foreign:
        existing = foreign
        shown = ", ".join(repr(name) for name in existing[:3])
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise StoreError(
            f"The folder {str(path)!r} is not an lsq-analysis store: it holds {shown}{more} "
            f"and no {MARKER}. Give an empty or new folder for the store (or the folder "
            "of an existing store)."
        )
    try:
        if not marker.exists():
            _write_marker(marker)  # first, so the folder is a store from now on
        for sub in (RAW, CACHE, TMP):
            (path / sub).mkdir(exist_ok=True)
        probe = path / TMP / f".probe-{os.getpid()}-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise StoreError(
            f"Cannot write to the store folder {str(path)!r}: {err.strerror or err}. "
            "Choose a folder you can write to, or fix its permissions."
        ) from None
    _clean_tmp(path)


def _write_marker(marker: Path) -> None:
    from .. import __version__

    body = {
        "format": _FORMAT,
        "store_version": STORE_VERSION,
        "created_by": f"lsq-analysis {__version__}",
        "created_at": utcnow().isoformat(timespec="seconds"),
        "layout": f"{RAW}/{PARTITION_PREFIX}<lead id>/{LEAD_FILE}",
    }
    # The temporary file sits beside the marker (tmp/ may not exist yet) and is named so
    # that another process opening the folder meanwhile knows it for the store's own.
    tmp = marker.with_name(f".{MARKER}.{os.getpid()}-{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(json.dumps(body, indent=2).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, marker)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _check_marker(path: Path, marker: Path) -> None:
    try:
        body = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        body = None
    if not isinstance(body, dict) or body.get("format") != _FORMAT:
        raise StoreError(
            f"{str(marker)!r} is not an lsq-analysis store marker. This folder holds "
            "something else: give an empty or new folder for the store."
        )
    version = body.get("store_version")
    if version == STORE_VERSION:
        return
    written_by = body.get("created_by", "another version of lsq-analysis")
    if isinstance(version, int) and version > STORE_VERSION:
        raise StoreError(
            f"The store {str(path)!r} was written by {written_by} (store version "
            f"{version}); this lsq-analysis reads version {STORE_VERSION}. Upgrade "
            "lsq-analysis (pip install -U lsq-analysis) or use another folder."
        )
    raise StoreError(
        f"The store {str(path)!r} was written by {written_by} (store version "
        f"{version!r}); this lsq-analysis reads version {STORE_VERSION} and cannot "
        "convert it. Fetch into a new folder (or delete this one to start again)."
    )


def _clean_tmp(path: Path) -> None:
    """Remove temporary files left by processes that no longer run."""
    tmp = path / TMP
    for entry in os.scandir(tmp):
        pid_text = entry.name.split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)


def tmp_path(path: Path, suffix: str) -> Path:
    """A new file name under the store's ``tmp/``, marked with this process's id.

    Example:
        >>> tmp_path(Path("lsq-store"), ".parquet").suffix
        '.tmp'
    """
    return path / TMP / f"{os.getpid()}-{uuid.uuid4().hex}{suffix}.tmp"


def atomic_write_parquet(
    path: Path,
    target: Path,
    df: pl.DataFrame,
    *,
    metadata: dict[str, str] | None = None,
    **opts: Any,
) -> None:
    """Write ``df`` to ``target`` completely or not at all (via the store's ``tmp/``).

    ``opts`` go to :meth:`polars.DataFrame.write_parquet`.

    Raises:
        StoreError: the write failed (disk full, no permission); ``target`` is unchanged.

    Example:
        >>> atomic_write_parquet(Path("lsq-store"), Path("lsq-store/cache/x.parquet"), df)
    """
    tmp = tmp_path(path, ".parquet")
    try:
        df.write_parquet(tmp, metadata=metadata, **opts)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    except (OSError, pl.exceptions.PolarsError) as err:
        # polars reports a failed write (disk full, file too large) as a ComputeError
        with contextlib.suppress(OSError):
            tmp.unlink()
        reason = getattr(err, "strerror", None) or str(err).strip().splitlines()[0][:200]
        raise StoreError(
            f"Could not write {str(target)!r}: {reason}. Check the free space and "
            "permissions of the store folder."
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def file_token(st: os.stat_result) -> str:
    """Identifies a file's current version: inode, modification time and size.

    Example:
        >>> file_token(os.stat("lsq-store/lsq-store.json"))
        '1234:1712232000000000000:210'
    """
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def list_raw(path: Path) -> dict[str, str]:
    """Lead id -> :func:`file_token` of every complete lead file.

    Raises:
        StoreError: ``raw/`` holds something other than lead folders.

    Example:
        >>> list_raw(Path("lsq-store"))
        {'3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf': '1234:1712232000000000000:5120'}
    """
    found: dict[str, str] = {}
    raw = path / RAW
    try:
        entries = list(os.scandir(raw))
    except FileNotFoundError:
        return found
    for entry in entries:
        name = entry.name
        lead = name[len(PARTITION_PREFIX) :] if name.startswith(PARTITION_PREFIX) else ""
        if not entry.is_dir() or not _GUID_RE.match(lead):
            raise StoreError(
                f"The store {str(path)!r} holds a foreign entry {name!r} in {RAW}/ "
                f"(only {PARTITION_PREFIX}<lead id> folders belong there). Move it out "
                "of the store folder."
            )
        try:
            st = os.stat(os.path.join(entry.path, LEAD_FILE))
        except FileNotFoundError:
            continue  # a lead folder whose file was never renamed into place
        found[lead.lower()] = file_token(st)
    return found
