"""V1Store: the store layout of version 1 (raw activities per lead as Parquet, with an
expanded cache), kept to migrate such folders to :class:`ActivityStore` and to measure
against. New code uses :class:`~lsq_analysis.store.ActivityStore`.

The folder's layout is in :mod:`lsq_analysis.store.v1_folder`. A lead is stored *completely* or
not at all: its file is written under ``tmp/`` and renamed into place, so the file's
presence is the marker that the lead is complete. The raw files are the truth; the expanded
cache is rebuilt for any lead whose raw file changed since the cache was written (for
example after a run killed between the two), so a killed process never leaves the store
inconsistent.

Each raw file has the rows of :data:`~lsq_analysis.store.records.RAW_SCHEMA`, one per
activity; the lead's own fetch time is in the file's Parquet metadata. To scan the raw
store from elsewhere: ``pl.scan_parquet("store/raw/**/*.parquet", hive_partitioning=True)``
or DuckDB's ``read_parquet('store/raw/*/*.parquet', hive_partitioning = true)``.

Example:
    >>> store = V1Store("lsq-store")
    >>> store.write_lead("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf", activities)
    >>> store.frame().height
    24
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from ..errors import StoreError
from ..vocabulary import Event, resolve_events
from .records import (
    RAW_SCHEMA,
    LeadRecord,
    as_max_age,
    concat_frames,
    drop_empty_extras,
    normalise_lead,
    raw_rows,
    take_leads,
)
from .v1_folder import (
    CACHE,
    CACHE_FILE,
    INDEX_FILE,
    STORE_VERSION,
    atomic_write_parquet,
    file_token,
    lead_file,
    list_raw,
    open_folder,
    utcnow,
)

__all__ = ["V1Store"]

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


class V1Store:
    """Raw activities per lead as Parquet, with an expanded cache for fast reads.

    Args:
        path: the store folder. Created (with parents) when missing; an existing folder
            must be empty or a store written by this version.

    Raises:
        StoreError: the folder cannot be written, holds files that are not a store, or
            was written by another version of lsq-analysis. The message says what to do.

    Example:
        >>> store = V1Store("lsq-store")
        >>> df = lsq.fetch_activities(lead_ids, store=store)   # fetches and stores
        >>> store.frame().height == df.height                   # no API call
        True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.RLock()
        open_folder(self.path)

    def __repr__(self) -> str:
        return f"V1Store({str(self.path)!r})"

    def lead_path(self, lead_id: str) -> Path:
        """The raw file of one lead (it exists only once the lead is complete).

        Example:
            >>> store.lead_path("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf").name
            'activities.parquet'
        """
        return lead_file(self.path, lead_id)

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
        lead = normalise_lead(lead_id)
        when = fetched_at or utcnow()
        rows = activities if isinstance(activities, pl.DataFrame) else raw_rows(activities, when)
        rows = rows.select(list(RAW_SCHEMA))
        target = self.lead_path(lead)
        meta = {
            "lsq_store_version": str(STORE_VERSION),
            "lead_id": lead,
            "fetched_at": when.isoformat(),
            "activities": str(rows.height),
        }
        atomic_write_parquet(self.path, target, rows, metadata=meta, statistics=False)
        return LeadRecord(lead, when, rows.height, file_token(os.stat(target)))

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
        lead = normalise_lead(lead_id)
        try:
            st = os.stat(self.lead_path(lead))
        except FileNotFoundError:
            return None
        return self._record(lead, file_token(st), self._read_index())

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
        return sorted(list_raw(self.path))

    def __contains__(self, lead_id: object) -> bool:
        try:
            return isinstance(lead_id, str) and self.lead_path(lead_id).is_file()
        except ValueError:
            return False

    def __len__(self) -> int:
        return len(list_raw(self.path))

    def leads(self) -> pl.DataFrame:
        """One row per stored lead: ``lead_id``, ``fetched_at``, ``n_activities``.

        Example:
            >>> store.leads().filter(pl.col("n_activities") == 0)
        """
        index = self._read_index()
        records = [
            self._record(lead, token, index) for lead, token in sorted(list_raw(self.path).items())
        ]
        return pl.DataFrame(
            {
                "lead_id": [r.lead_id for r in records if r],
                "fetched_at": [r.fetched_at for r in records if r],
                "n_activities": [r.activities for r in records if r],
            },
            schema={
                "lead_id": pl.String(),
                "fetched_at": pl.Datetime("us", "UTC"),
                "n_activities": pl.Int64(),
            },
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
        age = as_max_age(max_age)
        current = list_raw(self.path)
        index = self._read_index()
        now = utcnow()
        fresh: list[str] = []
        stale: list[str] = []
        missing: list[str] = []
        for raw_lead in lead_ids:
            lead = normalise_lead(raw_lead)
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
        path = self.path / CACHE / INDEX_FILE
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
            meta = pl.read_parquet_metadata(self.path / CACHE / CACHE_FILE)
        except Exception:  # missing or damaged: rebuilt from the raw files
            return None
        if any(meta.get(k) != v for k, v in self._cache_meta().items()):
            return None
        return meta.get("cache_id")

    def _expand_leads(
        self, leads: Sequence[str]
    ) -> tuple[pl.DataFrame, dict[str, LeadRecord], list[str]]:
        """Expand the raw files of some leads; returns the frame, records and lead order."""
        from ..frames import activities_frame

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
                datetime.fromisoformat(meta.get("fetched_at", utcnow().isoformat())),
                rows.height,
                file_token(st),
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
        atomic_write_parquet(
            self.path,
            self.path / CACHE / CACHE_FILE,
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
        atomic_write_parquet(self.path, self.path / CACHE / INDEX_FILE, index, metadata=meta)
        return {
            lead: _Entry(r.token, r.fetched_at, r.activities, offset)
            for lead, r, offset in (
                (lead, records[lead], o) for lead, o in zip(order, offsets, strict=True)
            )
        }

    def _read_cache(self) -> pl.DataFrame | None:
        try:
            return pl.read_parquet(self.path / CACHE / CACHE_FILE, glob=False)
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
            current = list_raw(self.path)
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
            stacked = concat_frames(pieces)
            first = [normalise_lead(x) for x in order or ()]
            final = list(dict.fromkeys([x for x in first if x in records] + list(usable)))
            final += sorted(lead for lead in records if lead not in set(final))
            return self._write_cache(take_leads(stacked, final, starts, records), final, records)

    # ------------------------------------------------------------------ reads
    def scan(self) -> pl.LazyFrame:
        """Everything stored, expanded, as a lazy frame (brings the cache up to date first).

        Example:
            >>> store.scan().filter(pl.col("event_code") == 21).collect()
        """
        self._sync()
        return pl.scan_parquet(self.path / CACHE / CACHE_FILE, glob=False)

    def frame(
        self, leads: Iterable[str] | None = None, *, event: Event | None = None
    ) -> pl.DataFrame:
        """Everything stored (or the given leads, in their order), expanded.

        Args:
            leads: only these leads, in this order; leads not stored are skipped. Default:
                every lead, in the order they were last fetched (then by lead id).
            event: only activities of this event type: an event code (``21``, ``"21"``) or
                an event name (``"Email Opened"``, any case), looked up among the names of
                everything stored (:func:`lsq_analysis.vocabulary.event_catalog`). A name
                that stands for several codes selects all of them.

        With ``leads`` or ``event``, expanded columns that are empty for the rows
        returned are left out (as if only those activities had been expanded).

        Raises:
            ValueError: ``event`` is not a code, or a name that no stored activity has (the
                message lists the stored names).

        Example:
            >>> store.frame([lead_id], event="Email Opened").height
            3
        """
        index = self._sync()
        path = self.path / CACHE / CACHE_FILE
        codes = None if event is None else resolve_events(event, pl.scan_parquet(path, glob=False))
        if leads is None:
            frame = pl.read_parquet(path, glob=False)
        else:
            wanted = [lead for lead in dict.fromkeys(map(normalise_lead, leads)) if lead in index]
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
                frame = take_leads(pl.read_parquet(path, glob=False), wanted, starts, counts)
        if codes is not None:
            frame = frame.filter(
                pl.col("event_code").is_in(pl.Series(codes, dtype=pl.Int32).implode())
            )
        if leads is None and event is None:
            return frame
        return drop_empty_extras(frame)

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
