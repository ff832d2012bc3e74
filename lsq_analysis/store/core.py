"""A folder of raw activities per lead, as Parquet, that any engine can scan.

Layout of a store folder (``STORE_VERSION`` 1)::

    lsq-store.json                          version marker, written when the store is created
    raw/lead_id=<guid>/activities.parquet   one lead's raw activities (hive-partitioned)
    cache/expanded.parquet                  every stored activity expanded (see frames.py)
    cache/index.parquet                     what the cache was built from (lead, file token)
    tmp/                                    files being written; never read

A lead is stored *completely* or not at all: its file is written under ``tmp/`` and
renamed into place with :func:`os.replace`, so the file's presence is the marker that
the lead is complete. The raw files are the truth; the expanded cache is rebuilt for
any lead whose raw file changed since the cache was written (for example after a run
killed between the two), so a killed process never leaves the store inconsistent.

Each raw file has one row per activity, in the order the API sent them: ``position``,
``activity_id``, ``event_code``, ``created_on`` and ``modified_on`` (as the API wrote
them), ``activity`` (the activity's JSON, exactly as received) and ``fetched_at``
(UTC). The lead's own fetch time is in the file's Parquet metadata. To scan the raw
store from elsewhere: ``pl.scan_parquet("store/raw/**/*.parquet", hive_partitioning=True)``
or DuckDB's ``read_parquet('store/raw/*/*.parquet', hive_partitioning = true)``.

Example:
    >>> store = ActivityStore("lsq-store")
    >>> store.write_lead("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf", activities)
    >>> store.frame().height
    24
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from ..errors import StoreError
from ..vocabulary import GUID_PATTERN, activity_identity

__all__ = [
    "STORE_VERSION",
    "ActivityStore",
    "LeadRecord",
    "merge_refreshed",
]

STORE_VERSION = 1
"""Bumped whenever the layout or the raw file schema changes incompatibly."""

_FORMAT = "lsq-analysis activity store"
_MARKER = "lsq-store.json"
_RAW = "raw"
_CACHE = "cache"
_TMP = "tmp"
_LEAD_FILE = "activities.parquet"
_CACHE_FILE = "expanded.parquet"
_INDEX_FILE = "index.parquet"
_PARTITION_PREFIX = "lead_id="
_GUID_RE = re.compile(rf"^{GUID_PATTERN}$")  # the one rule, without stripping spaces

RAW_SCHEMA: dict[str, pl.DataType] = {
    "position": pl.Int32(),
    "activity_id": pl.String(),
    "event_code": pl.Int32(),
    "created_on": pl.String(),
    "modified_on": pl.String(),
    "activity": pl.String(),
    "fetched_at": pl.Datetime("us", "UTC"),
}
_INDEX_SCHEMA: dict[str, pl.DataType] = {
    "lead_id": pl.String(),
    "token": pl.String(),
    "fetched_at": pl.Datetime("us", "UTC"),
    "activities": pl.Int64(),
    "offset": pl.Int64(),
}


@dataclass(frozen=True)
class _Entry:
    """One lead in the cache index: the raw file it was built from and where its rows are."""

    token: str
    fetched_at: datetime
    activities: int
    offset: int


@dataclass(frozen=True)
class LeadRecord:
    """What the store knows about one complete lead.

    Attributes:
        lead_id: the lead (lower-case GUID).
        fetched_at: when the lead was last fetched completely (UTC).
        activities: how many activities are stored for it.
        token: identifies the file's current version (inode, mtime, size).
    """

    lead_id: str
    fetched_at: datetime
    activities: int
    token: str


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _normalise_lead(lead_id: str) -> str:
    text = str(lead_id).strip()
    if not _GUID_RE.match(text):
        raise ValueError(f"{lead_id!r} is not a lead id (a GUID like 3a6d5ea2-400e-…)")
    return text.lower()


def _as_max_age(max_age: float | timedelta | None) -> timedelta | None:
    if max_age is None or isinstance(max_age, timedelta):
        return max_age
    if isinstance(max_age, (int, float)) and not isinstance(max_age, bool) and max_age >= 0:
        return timedelta(seconds=float(max_age))
    raise ValueError(
        f"max_age must be None, a timedelta or a number of seconds >= 0, not {max_age!r}"
    )


def _event_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**31) <= value < 2**31 else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return _event_code(int(value.strip()))
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def raw_rows(activities: Sequence[Mapping[str, Any]], fetched_at: datetime) -> pl.DataFrame:
    """Raw activities (dicts as the API sent them) as rows of a store file.

    Example:
        >>> raw_rows([{"Id": "a", "EventCode": 21}], _utcnow()).height
        1
    """
    return pl.DataFrame(
        {
            "position": list(range(len(activities))),
            "activity_id": [_text(a.get("Id")) for a in activities],
            "event_code": [_event_code(a.get("EventCode")) for a in activities],
            "created_on": [_text(a.get("CreatedOn")) for a in activities],
            "modified_on": [_text(a.get("ModifiedOn")) for a in activities],
            "activity": [orjson.dumps(a).decode() for a in activities],
            "fetched_at": [fetched_at] * len(activities),
        },
        schema=RAW_SCHEMA,
    )


def merge_refreshed(stored: pl.DataFrame, fetched: pl.DataFrame, *, complete: bool) -> pl.DataFrame:
    """Merge the newest pages of a lead into what was stored for it.

    ``fetched`` holds the activities of the pages just fetched (newest first, exact
    duplicates already removed); ``complete`` says whether those pages cover the whole
    lead. A complete fetch replaces what was stored. Otherwise the fetched pages cover
    every activity created at or after their oldest ``created_on``: stored activities
    older than that are kept (with their first ``fetched_at``), stored ones at that very
    second are kept unless fetched again (compared as whole rows), and stored ones newer
    than that which the API no longer lists in those pages are replaced by what it lists.

    Example:
        >>> merged = merge_refreshed(stored_rows, newest_page_rows, complete=False)
    """
    if complete or stored.height == 0:
        out = fetched
    elif fetched.height == 0:
        out = stored
    else:
        boundary = fetched["created_on"].drop_nulls().min()
        fetched_ids = {activity_identity(text) for text in fetched["activity"]}
        keep = [
            (created is None or boundary is None or created <= boundary)
            and activity_identity(text) not in fetched_ids
            for created, text in zip(stored["created_on"], stored["activity"], strict=True)
        ]
        kept = stored.filter(pl.Series(keep, dtype=pl.Boolean))
        out = pl.concat([fetched.select(list(RAW_SCHEMA)), kept.select(list(RAW_SCHEMA))])
    return out.with_columns(pl.int_range(pl.len(), dtype=pl.Int32).alias("position")).select(
        list(RAW_SCHEMA)
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ActivityStore:
    """Raw activities per lead as Parquet, with an expanded cache for fast reads.

    Args:
        path: the store folder. Created (with parents) when missing; an existing folder
            must be empty or a store written by this version.

    Raises:
        StoreError: the folder cannot be written, holds files that are not a store, or
            was written by another version of lsq-analysis. The message says what to do.

    Example:
        >>> store = ActivityStore("lsq-store")
        >>> df = lsq.fetch_activities(lead_ids, store=store)   # fetches and stores
        >>> store.frame().height == df.height                   # no API call
        True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.RLock()
        self._open()

    def __repr__(self) -> str:
        return f"ActivityStore({str(self.path)!r})"

    # ----------------------------------------------------------------- opening
    def _open(self) -> None:
        path = self.path
        if path.exists() and not path.is_dir():
            raise StoreError(
                f"The store path {str(path)!r} is a file, not a folder. Give a folder "
                "(it is created if missing) for the store."
            )
        marker = path / _MARKER
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
            if name not in (_MARKER, _RAW, _CACHE, _TMP)
            and not (name.startswith(f".{_MARKER}.") and name.endswith(".tmp"))
        ]
        if marker.exists():
            self._check_marker(marker)
        elif foreign:
            existing = foreign
            shown = ", ".join(repr(name) for name in existing[:3])
            more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
            raise StoreError(
                f"The folder {str(path)!r} is not an lsq-analysis store: it holds {shown}{more} "
                f"and no {_MARKER}. Give an empty or new folder for the store (or the folder "
                "of an existing store)."
            )
        try:
            if not marker.exists():
                self._write_marker(marker)  # first, so the folder is a store from now on
            for sub in (_RAW, _CACHE, _TMP):
                (path / sub).mkdir(exist_ok=True)
            probe = path / _TMP / f".probe-{os.getpid()}-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise StoreError(
                f"Cannot write to the store folder {str(path)!r}: {err.strerror or err}. "
                "Choose a folder you can write to, or fix its permissions."
            ) from None
        self._clean_tmp()

    def _write_marker(self, marker: Path) -> None:
        from .. import __version__

        body = {
            "format": _FORMAT,
            "store_version": STORE_VERSION,
            "created_by": f"lsq-analysis {__version__}",
            "created_at": _utcnow().isoformat(timespec="seconds"),
            "layout": f"{_RAW}/{_PARTITION_PREFIX}<lead id>/{_LEAD_FILE}",
        }
        # The temporary file sits beside the marker (tmp/ may not exist yet) and is named so
        # that another process opening the folder meanwhile knows it for the store's own.
        tmp = marker.with_name(f".{_MARKER}.{os.getpid()}-{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(json.dumps(body, indent=2).encode() + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, marker)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _check_marker(self, marker: Path) -> None:
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
                f"The store {str(self.path)!r} was written by {written_by} (store version "
                f"{version}); this lsq-analysis reads version {STORE_VERSION}. Upgrade "
                "lsq-analysis (pip install -U lsq-analysis) or use another folder."
            )
        raise StoreError(
            f"The store {str(self.path)!r} was written by {written_by} (store version "
            f"{version!r}); this lsq-analysis reads version {STORE_VERSION} and cannot "
            "convert it. Fetch into a new folder (or delete this one to start again)."
        )

    def _clean_tmp(self) -> None:
        """Remove temporary files left by processes that no longer run."""
        tmp = self.path / _TMP
        for entry in os.scandir(tmp):
            pid_text = entry.name.split("-", 1)[0]
            if pid_text.isdigit() and _pid_alive(int(pid_text)):
                continue
            with contextlib.suppress(OSError):
                os.unlink(entry.path)

    # --------------------------------------------------------------- low level
    def _tmp_path(self, suffix: str) -> Path:
        return self.path / _TMP / f"{os.getpid()}-{uuid.uuid4().hex}{suffix}.tmp"

    def _atomic_write_parquet(
        self, target: Path, df: pl.DataFrame, *, metadata: dict[str, str] | None = None, **opts: Any
    ) -> None:
        tmp = self._tmp_path(".parquet")
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

    def lead_path(self, lead_id: str) -> Path:
        """The raw file of one lead (it exists only once the lead is complete).

        Example:
            >>> store.lead_path("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf").name
            'activities.parquet'
        """
        return self.path / _RAW / f"{_PARTITION_PREFIX}{_normalise_lead(lead_id)}" / _LEAD_FILE

    @staticmethod
    def _token(st: os.stat_result) -> str:
        return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"

    def _list_raw(self) -> dict[str, str]:
        """lead id -> token of every complete lead file."""
        found: dict[str, str] = {}
        raw = self.path / _RAW
        try:
            entries = list(os.scandir(raw))
        except FileNotFoundError:
            return found
        for entry in entries:
            name = entry.name
            lead = name[len(_PARTITION_PREFIX) :] if name.startswith(_PARTITION_PREFIX) else ""
            if not entry.is_dir() or not _GUID_RE.match(lead):
                raise StoreError(
                    f"The store {str(self.path)!r} holds a foreign entry {name!r} in {_RAW}/ "
                    f"(only {_PARTITION_PREFIX}<lead id> folders belong there). Move it out "
                    "of the store folder."
                )
            try:
                st = os.stat(os.path.join(entry.path, _LEAD_FILE))
            except FileNotFoundError:
                continue  # a lead folder whose file was never renamed into place
            found[lead.lower()] = self._token(st)
        return found

    def _read_lead_file(self, lead_id: str) -> tuple[pl.DataFrame, dict[str, str]]:
        path = self.lead_path(lead_id)
        try:
            df = pl.read_parquet(path, glob=False)
            meta = pl.read_parquet_metadata(path)
        except FileNotFoundError:
            raise
        except Exception as err:  # polars raises several kinds for a damaged file
            raise StoreError(
                f"The stored file {str(path)!r} cannot be read ({type(err).__name__}). "
                "Delete it and fetch the lead again."
            ) from None
        if list(df.columns) != list(RAW_SCHEMA):
            raise StoreError(
                f"The stored file {str(path)!r} does not have the columns of a store file. "
                "Delete it and fetch the lead again."
            )
        return df, meta

    # ------------------------------------------------------------------ leads
    def write_lead(
        self,
        lead_id: str,
        activities: Sequence[Mapping[str, Any]] | pl.DataFrame,
        *,
        fetched_at: datetime | None = None,
    ) -> LeadRecord:
        """Store one lead's activities completely and atomically, replacing what was there.

        Args:
            lead_id: the lead.
            activities: its raw activities as the API sent them (newest first), or rows
                made by :func:`raw_rows` / :func:`merge_refreshed`.
            fetched_at: when they were fetched (default: now).

        Returns:
            The lead's :class:`LeadRecord`.

        Example:
            >>> store.write_lead(lead_id, client.get_lead_activities(lead_id)).activities
            24
        """
        lead = _normalise_lead(lead_id)
        when = fetched_at or _utcnow()
        rows = activities if isinstance(activities, pl.DataFrame) else raw_rows(activities, when)
        rows = rows.select(list(RAW_SCHEMA))
        target = self.lead_path(lead)
        meta = {
            "lsq_store_version": str(STORE_VERSION),
            "lead_id": lead,
            "fetched_at": when.isoformat(),
            "activities": str(rows.height),
        }
        self._atomic_write_parquet(target, rows, metadata=meta, statistics=False)
        return LeadRecord(lead, when, rows.height, self._token(os.stat(target)))

    def read_lead(self, lead_id: str) -> pl.DataFrame:
        """The stored raw rows of one lead (see the module docstring for the columns).

        Raises:
            KeyError: the lead is not stored (completely).

        Example:
            >>> store.read_lead(lead_id)["activity"].str.json_decode()
        """
        try:
            return self._read_lead_file(lead_id)[0]
        except FileNotFoundError:
            raise KeyError(lead_id) from None

    def read_activities(self, lead_id: str) -> list[dict[str, Any]]:
        """One lead's stored activities as the API sent them (dicts), newest first.

        Example:
            >>> store.read_activities(lead_id)[0]["EventCode"]
            21
        """
        return [orjson.loads(s) for s in self.read_lead(lead_id)["activity"]]

    def record(self, lead_id: str) -> LeadRecord | None:
        """The stored state of one lead, or None when it is not stored completely.

        Example:
            >>> store.record(lead_id).fetched_at
            datetime.datetime(2025, 4, 4, 12, 0, tzinfo=datetime.timezone.utc)
        """
        lead = _normalise_lead(lead_id)
        try:
            st = os.stat(self.lead_path(lead))
        except FileNotFoundError:
            return None
        return self._record(lead, self._token(st), self._read_index())

    def _record(self, lead: str, token: str, index: dict[str, _Entry]) -> LeadRecord:
        entry = index.get(lead)
        if entry is not None and entry.token == token:
            return LeadRecord(lead, entry.fetched_at, entry.activities, token)
        path = self.lead_path(lead)
        try:
            meta = pl.read_parquet_metadata(path)
            return LeadRecord(
                lead, datetime.fromisoformat(meta["fetched_at"]), int(meta["activities"]), token
            )
        except (KeyError, ValueError, OSError, pl.exceptions.PolarsError):
            raise StoreError(
                f"The stored file {str(path)!r} cannot be read or lacks the store's metadata. "
                "Delete it and fetch the lead again."
            ) from None

    def lead_ids(self) -> list[str]:
        """Every lead stored completely, sorted.

        Example:
            >>> len(store.lead_ids())
            300
        """
        return sorted(self._list_raw())

    def __contains__(self, lead_id: object) -> bool:
        try:
            return isinstance(lead_id, str) and self.lead_path(lead_id).is_file()
        except ValueError:
            return False

    def __len__(self) -> int:
        return len(self._list_raw())

    def leads(self) -> pl.DataFrame:
        """One row per stored lead: ``lead_id``, ``fetched_at``, ``activities``.

        Example:
            >>> store.leads().filter(pl.col("activities") == 0)
        """
        index = self._read_index()
        records = [
            self._record(lead, token, index) for lead, token in sorted(self._list_raw().items())
        ]
        return pl.DataFrame(
            {
                "lead_id": [r.lead_id for r in records if r],
                "fetched_at": [r.fetched_at for r in records if r],
                "activities": [r.activities for r in records if r],
            },
            schema={k: v for k, v in _INDEX_SCHEMA.items() if k not in ("token", "offset")},
        )

    def plan(
        self, lead_ids: Iterable[str], max_age: float | timedelta | None = None
    ) -> tuple[list[str], list[str], list[str]]:
        """Split leads into (fresh, stale, missing) as a fetch would see them.

        A stored lead is fresh when ``max_age`` is None or it was fetched less than
        ``max_age`` ago; stale ones get refreshed; missing ones get fetched (as are
        stored files that cannot be read, which the fetch then replaces).

        Example:
            >>> fresh, stale, missing = store.plan(lead_ids, max_age=timedelta(days=1))
        """
        age = _as_max_age(max_age)
        current = self._list_raw()
        index = self._read_index()
        now = _utcnow()
        fresh: list[str] = []
        stale: list[str] = []
        missing: list[str] = []
        for raw_lead in lead_ids:
            lead = _normalise_lead(raw_lead)
            token = current.get(lead)
            if token is None:
                missing.append(raw_lead)
                continue
            entry = index.get(lead)
            if entry is not None and entry.token == token:
                when = entry.fetched_at
            else:  # written since the cache was: check that its file can be read
                try:
                    when = self._record(lead, token, index).fetched_at  # reads the footer
                except StoreError:
                    missing.append(raw_lead)  # damaged: fetched again and replaced
                    continue
            (fresh if age is None or now - when < age else stale).append(raw_lead)
        return fresh, stale, missing

    # --------------------------------------------------------- expanded cache
    def _cache_meta(self) -> dict[str, str]:
        from .. import __version__

        return {"lsq_store_version": str(STORE_VERSION), "lsq_analysis_version": __version__}

    def _read_index(self) -> dict[str, _Entry]:
        """The cache index, in cache row order; empty unless it matches the cache file."""
        cache_id = self._cache_id()
        if cache_id is None:
            return {}
        path = self.path / _CACHE / _INDEX_FILE
        try:
            if pl.read_parquet_metadata(path).get("cache_id") != cache_id:
                return {}  # written by a run killed between the cache and its index
            df = pl.read_parquet(path, glob=False)
        except Exception:  # missing or damaged: the cache is rebuilt
            return {}
        return {
            lead: _Entry(token, when, count, offset)
            for lead, token, when, count, offset in zip(
                df["lead_id"], df["token"], df["fetched_at"], df["activities"], df["offset"],
                strict=True,
            )
        }  # fmt: skip

    def _cache_id(self) -> str | None:
        """The id of the cache file, if it is readable and was written by this version."""
        try:
            meta = pl.read_parquet_metadata(self.path / _CACHE / _CACHE_FILE)
        except Exception:  # missing or damaged: rebuilt from the raw files
            return None
        if any(meta.get(k) != v for k, v in self._cache_meta().items()):
            return None
        return meta.get("cache_id")

    def _expand_leads(
        self, leads: Sequence[str]
    ) -> tuple[pl.DataFrame, dict[str, LeadRecord], list[str]]:
        """Expand the raw files of some leads; returns the frame, records and lead order."""
        from ..frames.core import activities_frame

        pieces: list[pl.DataFrame] = []
        lead_col: list[pl.Series] = []
        records: dict[str, LeadRecord] = {}
        for lead in leads:
            path = self.lead_path(lead)
            try:
                st = os.stat(path)
                rows, meta = self._read_lead_file(lead)
            except FileNotFoundError:
                continue
            records[lead] = LeadRecord(
                lead,
                datetime.fromisoformat(meta.get("fetched_at", _utcnow().isoformat())),
                rows.height,
                self._token(st),
            )
            pieces.append(rows.select("activity"))
            lead_col.append(pl.repeat(lead, rows.height, eager=True, dtype=pl.String))
        if not pieces:
            return activities_frame([]), records, []
        raw = pl.concat(pieces)["activity"]
        expanded = activities_frame(raw)
        if expanded.height != raw.len():
            raise StoreError(
                f"Expanding the stored activities gave {expanded.height} rows for "
                f"{raw.len()} stored activities; the store's cache was not updated."
            )
        keys = pl.concat(lead_col)
        expanded = expanded.with_columns(pl.coalesce(pl.col("lead_id"), keys).alias("lead_id"))
        return expanded, records, list(records)

    def _write_cache(
        self, frame: pl.DataFrame, order: Sequence[str], records: Mapping[str, LeadRecord]
    ) -> dict[str, _Entry]:
        """Write the cache (rows grouped by lead, in ``order``), then its index."""
        cache_id = uuid.uuid4().hex
        meta = {**self._cache_meta(), "cache_id": cache_id}
        self._atomic_write_parquet(
            self.path / _CACHE / _CACHE_FILE,
            frame,
            metadata=meta,
            compression="lz4",
            row_group_size=64_000,
        )
        offsets, offset = [], 0
        for lead in order:
            offsets.append(offset)
            offset += records[lead].activities
        index = pl.DataFrame(
            {
                "lead_id": list(order),
                "token": [records[lead].token for lead in order],
                "fetched_at": [records[lead].fetched_at for lead in order],
                "activities": [records[lead].activities for lead in order],
                "offset": offsets,
            },
            schema=_INDEX_SCHEMA,
        )
        self._atomic_write_parquet(self.path / _CACHE / _INDEX_FILE, index, metadata=meta)
        return {
            lead: _Entry(r.token, r.fetched_at, r.activities, offset)
            for lead, r, offset in (
                (lead, records[lead], o) for lead, o in zip(order, offsets, strict=True)
            )
        }

    def _read_cache(self) -> pl.DataFrame | None:
        try:
            return pl.read_parquet(self.path / _CACHE / _CACHE_FILE, glob=False)
        except Exception:  # a damaged cache only costs a rebuild from the raw files
            return None

    def update_cache(
        self,
        expanded: Mapping[str, pl.DataFrame] | None = None,
        records: Mapping[str, LeadRecord] | None = None,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        """Bring the expanded cache up to date with the raw files.

        ``expanded``/``records`` (lead -> frame / record, as returned by
        :meth:`write_lead`) let a fetch hand over frames it already expanded; every other
        lead whose raw file changed is expanded again from its raw file. When the cache is
        rewritten, the leads in ``order`` come first, in that order, so that reading them
        back in that order costs no reordering.

        Example:
            >>> store.update_cache()
        """
        self._sync(dict(expanded or {}), dict(records or {}), order)

    def _sync(
        self,
        given: dict[str, pl.DataFrame] | None = None,
        given_records: dict[str, LeadRecord] | None = None,
        order: Sequence[str] | None = None,
    ) -> dict[str, _Entry]:
        """Rebuild the cache if any lead's raw file differs from what the cache was built from.

        Returns the index of the cache as it now is.
        """
        given = given or {}
        given_records = given_records or {}
        with self._lock:
            current = self._list_raw()
            index = self._read_index()
            cache_ok = bool(index) or (not current and self._cache_id() is not None)
            usable = [
                lead
                for lead, entry in index.items()
                if lead not in given and current.get(lead) == entry.token
            ]
            handed = {
                lead: frame
                for lead, frame in given.items()
                if lead in given_records
                and current.get(lead) == given_records[lead].token
                and frame.height == given_records[lead].activities
            }
            done = set(usable) | set(handed)
            todo = sorted(lead for lead in current if lead not in done)
            if cache_ok and not todo and not handed and len(usable) == len(index):
                return index
            old = self._read_cache() if usable else None
            if usable and old is None:  # the cache file is damaged: rebuild it all
                todo = sorted(lead for lead in current if lead not in handed)
                usable = []
            # Stack the pieces, noting where each lead's rows start in the stack.
            pieces: list[pl.DataFrame] = []
            records: dict[str, LeadRecord] = {}
            starts: dict[str, int] = {}
            base = 0
            if old is not None:
                pieces.append(old)
                for lead in usable:
                    entry = index[lead]
                    starts[lead] = entry.offset
                    records[lead] = LeadRecord(
                        lead, entry.fetched_at, entry.activities, entry.token
                    )
                base = old.height
            for lead, frame in handed.items():
                pieces.append(frame)
                starts[lead] = base
                records[lead] = given_records[lead]
                base += frame.height
            if todo or not pieces:
                frame, todo_records, todo_order = self._expand_leads(todo)
                pieces.append(frame)
                for lead in todo_order:
                    starts[lead] = base
                    records[lead] = todo_records[lead]
                    base += todo_records[lead].activities
            stacked = _concat(pieces)
            first = [_normalise_lead(x) for x in order or ()]
            final = list(dict.fromkeys([x for x in first if x in records] + list(usable)))
            final += sorted(lead for lead in records if lead not in set(final))
            return self._write_cache(_take(stacked, final, starts, records), final, records)

    # ------------------------------------------------------------------ reads
    def scan(self) -> pl.LazyFrame:
        """Everything stored, expanded, as a lazy frame (brings the cache up to date first).

        Example:
            >>> store.scan().filter(pl.col("event_code") == 21).collect()
        """
        self._sync()
        return pl.scan_parquet(self.path / _CACHE / _CACHE_FILE, glob=False)

    def frame(
        self, leads: Iterable[str] | None = None, *, event: int | None = None
    ) -> pl.DataFrame:
        """Everything stored (or the given leads, in their order), expanded.

        Args:
            leads: only these leads, in this order; leads not stored are skipped. Default:
                every lead, in the order they were last fetched (then by lead id).
            event: only activities with this event code.

        With ``leads`` or ``event``, expanded columns that are empty for the rows
        returned are left out (as if only those activities had been expanded).

        Example:
            >>> df = store.frame()
            >>> store.frame([lead_id], event=21).height
            3
        """
        index = self._sync()
        path = self.path / _CACHE / _CACHE_FILE
        if leads is None:
            frame = pl.read_parquet(path, glob=False)
        else:
            wanted = [lead for lead in dict.fromkeys(map(_normalise_lead, leads)) if lead in index]
            stored = list(index)
            first = stored.index(wanted[0]) if wanted else 0
            if wanted == stored:
                frame = pl.read_parquet(path, glob=False)
            elif stored[first : first + len(wanted)] == wanted:  # one run of the cache: a slice
                offset = index[wanted[0]].offset if wanted else 0
                rows = sum(index[lead].activities for lead in wanted)
                frame = pl.scan_parquet(path, glob=False).slice(offset, rows).collect()
            else:
                starts = {lead: entry.offset for lead, entry in index.items()}
                counts = {lead: entry.activities for lead, entry in index.items()}
                frame = _take(pl.read_parquet(path, glob=False), wanted, starts, counts)
        if event is not None:
            frame = frame.filter(pl.col("event_code") == event)
        if leads is None and event is None:
            return frame
        return _drop_empty_extras(frame)

    def scan_raw(self) -> pl.LazyFrame:
        """The raw rows of every stored lead, with ``lead_id`` from the partition.

        Example:
            >>> store.scan_raw().group_by("lead_id").len().collect()
        """
        files = [self.lead_path(lead) for lead in self.lead_ids()]
        if not files:
            return pl.LazyFrame(schema={"lead_id": pl.String, **RAW_SCHEMA})
        return pl.scan_parquet(files, hive_partitioning=True, glob=False).select(
            "lead_id", *list(RAW_SCHEMA)
        )


def _take(
    frame: pl.DataFrame,
    leads: Sequence[str],
    starts: Mapping[str, int],
    counts: Mapping[str, LeadRecord] | Mapping[str, int],
) -> pl.DataFrame:
    """The rows of ``leads`` (each a run of ``counts[lead]`` rows from ``starts[lead]``)."""
    spans = []
    for lead in leads:
        count = counts[lead]
        spans.append((starts[lead], count.activities if isinstance(count, LeadRecord) else count))
    runs: list[list[int]] = []  # [start, length], adjacent spans merged
    for start, n in spans:
        if runs and runs[-1][0] + runs[-1][1] == start:
            runs[-1][1] += n
        elif n:
            runs.append([start, n])
    if len(runs) == 1 and runs[0] == [0, frame.height]:
        return frame  # already exactly these rows in this order
    if not runs:
        return frame.clear()
    # Zero-copy slices stacked without a copy: much cheaper than a gather of every column.
    return pl.concat([frame.slice(start, n) for start, n in runs], rechunk=False)


def _concat(pieces: list[pl.DataFrame]) -> pl.DataFrame:
    """Stack expanded frames whose extra columns differ, in the frames module's column order."""
    pieces = [p for p in pieces if p.width]
    if not pieces:
        from ..frames.core import activities_frame

        return activities_frame([])
    if len(pieces) == 1:
        return pieces[0]
    out = pl.concat(pieces, how="diagonal_relaxed")
    from ..frames import core as frames

    order = getattr(frames, "_column_order", None)
    return out.select(order(out.columns)) if order is not None else out


def _drop_empty_extras(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop expanded columns that hold nothing in this part of the store (core ones stay)."""
    from ..frames.core import CORE_SCHEMA

    empty = [
        name
        for name, count in zip(frame.columns, frame.null_count().row(0), strict=True)
        if name not in CORE_SCHEMA and count == frame.height
    ]
    return frame.drop(empty) if empty else frame
