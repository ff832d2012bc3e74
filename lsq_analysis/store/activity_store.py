"""ActivityStore: the activities of many leads as Delta Lake tables that any engine reads.

A store folder holds one Delta table per folder (:data:`TABLE_NAMES`; ``leads`` and
``users`` are kept free for later):

* ``raw``: one row per activity, its JSON text as received (``lead_id``, ``batch_id``,
  ``row``, ``position``, ``activity``, ``fetched_at``);
* ``activities``: the same activities expanded by :func:`lsq_analysis.frames.activities_frame`,
  plus ``_batch_id`` and ``_row``; a new ``Data`` key adds a column (older rows read null);
* ``fetches``: one row per lead per write (``lead_id``, ``batch_id``, ``fetched_at``,
  ``pages``, ``n_activities``, ``outcome``, ``error``); a failed fetch adds a row with
  ``outcome`` ``"failed"`` and its reason, and leaves the lead's stored rows as they were.

**Writes append, reads pick each lead's latest batch.** :meth:`ActivityStore.write_leads`
appends a batch of leads to each table in one commit per table, ``fetches`` last, so a lead
counted as fetched always has its rows, and a run killed between two commits loses nothing
committed (the next write removes the rows of a batch that never reached ``fetches``).
Writing a lead again never rewrites another lead's files: its older rows stay until
:meth:`~ActivityStore.optimize`, and reads skip them (the lead's latest batch comes from
``fetches``). The batch id of a write is the version of ``fetches`` it creates, which is
the store's :attr:`~ActivityStore.version`.

**One writer at a time, any number of readers.** Each write holds a lock file in the store
folder (``filelock``) around its commits; a second writer waits up to ``lock_timeout``
seconds, then gets a :class:`~lsq_analysis.errors.StoreError`. Readers never lock: every
Delta snapshot is consistent, and :meth:`~ActivityStore.optimize` deletes unreferenced files
only once they are older than its retention window. Only activities are stored: no keys or
secrets.

Reading the tables elsewhere (after ``optimize()``: until then ``activities`` also holds the
superseded rows of leads written again)::

    pl.read_delta("lsq-store/activities")                      # or pl.scan_delta(...)
    duckdb.sql("SELECT * FROM delta_scan('lsq-store/activities')")   # DuckDB's delta extension
    duckdb.from_arrow(DeltaTable("lsq-store/activities").to_pyarrow_dataset())  # no extension

and the current rows only, at any time: join ``activities`` with each lead's latest
``fetches.batch_id`` where ``outcome = 'ok'`` on ``(lead_id, _batch_id)``.

Example:
    >>> store = ActivityStore("lsq-store")
    >>> store.write_leads({"3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf": activities})
    1
    >>> store.frame(events="Email Opened").height
    3
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from deltalake import DeltaTable
from filelock import FileLock, Timeout

from ..errors import StoreError
from ..frames import column_order
from ..vocabulary import Events, Leads, as_list, lead_ids, resolve_events
from ..vocabulary import lead_id as canonical_lead
from .batches import (
    OUTCOME_OK,
    STORE_COLUMNS,
    STORED_OUTCOMES,
    batch_frames,
    canonical,
    changed_rows,
    failed_rows,
    stamped,
)
from .folder import LATER_TABLES, LOCK_FILE, STORE_VERSION, TABLE_NAMES, open_folder
from .history import (
    HISTORY_FROM,
    history_from,
    prune_fetches,
    rows_as_of,
    rows_since,
    version_at,
)
from .lead_tables import LeadTables
from .migrate import V1_FOLDER, migrate_v1, remove_leftovers
from .records import as_max_age, drop_empty_extras
from .summary import OptimizeResult, store_info
from .tables import ACTIVITIES_SPEC, FETCHES_SPEC, RAW_SPEC, TARGET_ROWS, Table

__all__ = [
    "DEFAULT_RETENTION",
    "LATER_TABLES",
    "OUTCOME_OK",
    "TABLE_NAMES",
    "ActivityStore",
    "OptimizeResult",
]
_UTC = pl.Datetime("us", "UTC")

DEFAULT_RETENTION = timedelta(days=7)
"""How long :meth:`ActivityStore.optimize` keeps files that no current snapshot references."""
_KEY = ["lead_id", "_batch_id"]
_PRUNE_PAIRS = 2_000  # up to this many leads, frame(leads) picks their files from statistics


@dataclass(frozen=True)
class _State:
    """What ``fetches`` says at one version: each lead's latest complete batch."""

    version: int
    current: pl.DataFrame  # lead_id, _batch_id, n_activities, fetched_at, pages, complete


class ActivityStore:
    """Lead activities as Delta Lake tables: appended per batch, read as each lead's latest.

    Args:
        path: the store folder; created (with parents) when missing. An existing folder must
            be empty or a store; a store of version 1 (Parquet per lead) is migrated to these
            tables here, once (:mod:`~lsq_analysis.store.migrate`).
        lock_timeout: how long a write waits for another process's write to finish (seconds).
        progress: show a progress bar while migrating a version-1 store.

    Raises:
        StoreError: the folder is a file, holds other files, or holds a store of a newer
            version; the message says what to do.

    Example:
        >>> store = ActivityStore("lsq-store")
        >>> version = store.write_leads(client_pages_by_lead)   # one batch, one commit a table
        >>> store.frame([lead]).height, store.version == version
        (24, True)
    """

    def __init__(
        self, path: str | os.PathLike[str], *, lock_timeout: float = 60.0, progress: bool = True
    ) -> None:
        self.path = Path(path).expanduser()
        self.lock_timeout = lock_timeout
        found = open_folder(self.path)
        self._lock = FileLock(str(self.path / LOCK_FILE), timeout=lock_timeout)
        self._open_tables()
        if found < STORE_VERSION:
            with self._locked():  # another process may have migrated it meanwhile
                if open_folder(self.path) < STORE_VERSION:
                    migrate_v1(self.path, self._write_migrated, progress=progress)
        if not all(t.exists() for t in self._tables):
            with self._locked():
                self._create_tables()
        if any((self.path / name).is_dir() for name in (V1_FOLDER, "cache", "tmp")):
            remove_leftovers(self.path, stored=set(self.lead_ids()))

    def _open_tables(self) -> None:
        self._raw = Table(self.path, RAW_SPEC)
        self._activities = Table(self.path, ACTIVITIES_SPEC)
        self._fetches = Table(self.path, FETCHES_SPEC)
        self._tables = (self._raw, self._activities, self._fetches)
        self._people = LeadTables(self.path, self._locked)
        self._state_cache: _State | None = None
        self._stale_cache: dict[str, tuple[tuple[int, int], pl.Series]] = {}

    def _create_tables(self) -> None:
        for table in self._tables:
            if not table.exists():
                table.create()

    def _write_migrated(
        self, batch: Mapping[str, list[dict[str, Any]]], fetched_at: Mapping[str, datetime]
    ) -> None:
        if not all(t.exists() for t in self._tables):
            self._open_tables()  # the migration removed what a killed one had half written
            self._create_tables()
        self.write_leads(batch, fetched_at=fetched_at)

    def __repr__(self) -> str:
        return f"ActivityStore({str(self.path)!r})"

    # ------------------------------------------------------------------ locking
    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._lock.acquire()
        except Timeout:
            raise StoreError(
                f"Another process is writing to the store {str(self.path)!r} (it holds "
                f"{LOCK_FILE}); gave up after {self.lock_timeout:g} s. Let it finish, or open "
                "the store with a longer lock_timeout. Reading needs no lock."
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    # ------------------------------------------------------------------ state
    @property
    def version(self) -> int:
        """The store's version: that of its ``fetches`` table (0 when nothing is written).

        Example:
            >>> store.version
            12
        """
        return self._fetches.snapshot().version()

    def _state(self) -> _State:
        dt = self._fetches.snapshot()
        if self._state_cache is not None and self._state_cache.version == dt.version():
            return self._state_cache
        current = (
            self._fetches.scan(dt)
            .filter(pl.col("outcome").is_in(STORED_OUTCOMES))
            .select(
                "lead_id",
                pl.col("batch_id").alias("_batch_id"),
                "n_activities",
                "fetched_at",
                "pages",
                (pl.col("outcome") == OUTCOME_OK).alias("complete"),
            )
            .sort("_batch_id")
            .unique("lead_id", keep="last", maintain_order=True)
            .collect()
        )
        self._state_cache = _State(dt.version(), current)
        return self._state_cache

    def _snapshots(self, table: Table | None = None) -> tuple[_State, DeltaTable]:
        """``fetches`` first, then ``activities`` (or ``table``: so every batch ``fetches``
        names is there); read again if a commit to ``fetches`` came in between."""
        table = table or self._activities
        for _ in range(5):
            state = self._state()
            dt = table.snapshot()
            if self._fetches.snapshot().version() == state.version:
                return state, dt
        return state, dt

    def _stale(self, table: Table, dt: DeltaTable, state: _State) -> pl.Series:
        """The row numbers of every row in ``table`` that is not of its lead's latest batch
        (superseded, or of a write whose ``fetches`` commit never came).

        Row numbers are unique in the table, so reads drop these rows with a filter on one
        integer column: much cheaper than a join on (lead, batch) over every row."""
        key = (dt.version(), state.version)
        cached = self._stale_cache.get(table.spec.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        row, batch = str(table.spec.row), table.spec.batch
        rows = int(table.files(dt)["rows"].sum())
        if rows == int(state.current["n_activities"].sum()):
            stale = pl.Series(row, [], dtype=pl.Int64)
        else:
            current = state.current.lazy().select("lead_id", pl.col("_batch_id").alias(batch))
            stale = (
                table.scan(dt)
                .select("lead_id", batch, row)
                .join(current, on=["lead_id", batch], how="anti")
                .collect()
                .get_column(row)
            )
        self._stale_cache[table.spec.name] = (key, stale)
        return stale

    # ------------------------------------------------------------------ writes
    def write_leads(
        self,
        mapping: Mapping[str, Sequence[Mapping[str, Any]]],
        *,
        fetched_at: datetime | Mapping[str, datetime] | None = None,
        pages: int | Mapping[str, int] | None = None,
        failed: Mapping[str, str] | None = None,
        partial: Iterable[str] = (),
    ) -> int:
        """Store a batch of leads completely, replacing what was stored for them.

        Args:
            mapping: lead id -> all its activities as the API sent them (newest first).
                Ids are canonicalised (:func:`lsq_analysis.vocabulary.lead_id`).
            fetched_at: when they were fetched, for all or per lead (default: now).
            pages: how many pages each lead took, for all or per lead (default: unknown).
            failed: lead id -> why its fetch failed, recorded in ``fetches`` (outcome
                ``"failed"``) in the same commit; what was stored for those leads stays.
            partial: leads of ``mapping`` whose activities are only some of theirs (outcome
                ``"partial"``): read like the others, but :meth:`plan` counts them missing.

        Returns:
            The store's new :attr:`version` (also the batch id of these rows); the version
            unchanged when ``mapping`` is empty.

        Raises:
            ValueError: an id is not a lead id, or two keys are the same lead.
            StoreError: another process kept the lock past ``lock_timeout``.

        Example:
            >>> store.write_leads({lead: client.get_lead_activities(lead) for lead in batch})
            7
        """
        items = canonical(mapping)
        failures = failed_rows({k: v for k, v in (failed or {}).items()})
        if not items and not failures.height:
            return self.version
        some = set(lead_ids(as_list(partial))[0]) if partial else set()
        batch = batch_frames(items, fetched_at=fetched_at, pages=pages, partial=some)
        with self._locked():  # one look for newer commits per table; ours move them on
            batch_id = self._fetches.snapshot().version() + 1
            self._drop_unrecorded(batch_id)
            table = self._activities
            rows = stamped(batch, batch_id, table.schema(table.snapshot(refresh=False)))
            meta = {"lsq.operation": "write", "lsq.batch_id": batch_id}
            if rows.activities is not None:
                self._raw.append(rows.raw, metadata=meta)
                table.append(rows.activities, metadata=meta, merge_schema=True)
            fetches = pl.concat(
                [rows.fetches, failures.with_columns(batch_id=pl.lit(batch_id, pl.Int64))],
                how="diagonal_relaxed",
            ).select(list(FETCHES_SPEC.schema))
            version = self._fetches.append(fetches, metadata=meta, merge_schema=True)  # last
        if version != batch_id:
            raise StoreError(
                f"The store {str(self.path)!r} was written by someone not holding its lock "
                f"(expected version {batch_id}, found {version}); write only through ActivityStore."
            )
        return batch_id

    def _drop_unrecorded(self, batch: int) -> None:
        """Remove the files of a batch whose ``fetches`` commit never came (a killed run)."""
        for table in (self._raw, self._activities):
            dt = table.snapshot()
            files = table.files(dt)
            late = files.filter(pl.col(f"max.{table.spec.batch}") >= batch)["path"].to_list()
            if late:
                table.rewrite(dt, late, [], metadata={"lsq.operation": "recover"})
                table.snapshot()

    # ------------------------------------------------------------------ reads
    def _lazy(self, leads: list[str] | None, table: Table | None = None) -> pl.LazyFrame:
        """Each lead's latest rows in ``activities`` (or ``table``), with the store columns,
        in write order."""
        table = table or self._activities
        state, dt = self._snapshots(table)
        row, batch = str(table.spec.row), table.spec.batch
        if leads is None:
            scan = table.scan(dt)
            stale = self._stale(table, dt, state)
            if stale.len():
                scan = scan.filter(~pl.col(row).is_in(stale.implode()))
            return scan
        pairs = state.current.filter(pl.col("lead_id").is_in(pl.Series(leads).implode()))
        pairs = pairs.select("lead_id", pl.col("_batch_id").alias(batch))
        files = table.files(dt)
        if pairs.height <= _PRUNE_PAIRS:
            hits = files.join(pairs, how="cross").filter(
                _within("lead_id", pl.col("lead_id")), _within(batch, pl.col(batch))
            )
            files = files.filter(pl.col("path").is_in(hits["path"].implode()))
        wanted, batches = pairs["lead_id"].implode(), pairs[batch].unique().implode()
        return (  # the filters skip row groups by their statistics; the join is exact
            table.scan(dt, files["path"].to_list())
            .filter(pl.col(batch).is_in(batches), pl.col("lead_id").is_in(wanted))
            .join(pairs.lazy(), on=["lead_id", batch], how="semi", maintain_order="left")
        )

    def scan(self) -> pl.LazyFrame:
        """Every lead's current activities, lazily, in the order they were written.

        The columns are every column the table has (a key that only superseded rows had
        reads null). Use it to filter before reading: only the columns and files needed are
        read.

        Example:
            >>> store.scan().filter(pl.col("event_code") == 21).select("lead_id").collect()
        """
        lazy = self._lazy(None)
        return lazy.select(_public(lazy.collect_schema().names()))

    def frame(self, leads: Leads = None, *, events: Events = None) -> pl.DataFrame:
        """The current activities of every stored lead (or of some), expanded.

        Args:
            leads: only these leads (ids in any case; leads not stored are skipped).
            events: only these event types: codes (``21``, ``"21"``) or names (``"Email
                Opened"``, any case) looked up among the stored activities, or a list.

        Returns:
            The same frame as :func:`~lsq_analysis.frames.activities_frame` of the stored
            activities (``lead_id`` is the canonical id they were stored under): the leads
            in the order given (all leads: in the order they were last written), each
            lead's activities in the API's order.
            With ``leads`` or ``events``, expanded columns empty in the rows returned are
            left out.

        Raises:
            ValueError: a lead id that is not a GUID, an event code out of range, or a name
                no stored activity has (the message lists the names).

        Example:
            >>> store.frame(["3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"], events="Email Opened")
        """
        wanted = None if leads is None else lead_ids(as_list(leads))[0]
        lazy = self._lazy(wanted)
        if events is not None:
            codes = resolve_events(events, self.scan() if _has_names(events) else None)
            lazy = lazy.filter(
                pl.col("event_code").is_in(pl.Series(codes, dtype=pl.Int32).implode())
            )
        df = self._collect(lazy, self._activities)
        if not df["_row"].is_sorted():  # an append's writer reordered its input: rare, costly
            df = df.sort("_row")
        if wanted is not None and len(wanted) > 1 and df.height:
            order = pl.DataFrame(
                {"lead_id": wanted, "_order": pl.int_range(len(wanted), eager=True)}
            )
            df = df.join(order, on="lead_id", how="left", maintain_order="left").sort(
                "_order", maintain_order=True
            )
        df = df.select(_public([c for c in df.columns if c != "_order"]))
        return df if leads is None and events is None else drop_empty_extras(df)

    def lead_ids(self) -> list[str]:
        """Every stored lead (those with a complete write), sorted.

        Example:
            >>> len(store.lead_ids())
            50000
        """
        return sorted(self._state().current["lead_id"].to_list())

    def __contains__(self, lead: object) -> bool:
        try:
            wanted = canonical_lead(lead) if isinstance(lead, str) else None
        except ValueError:
            return False
        current = self._state().current["lead_id"]
        return wanted is not None and bool(current.is_in(pl.Series([wanted]).implode()).any())

    def __len__(self) -> int:
        return self._state().current.height

    def stored_leads(self) -> pl.DataFrame:
        """One row per lead whose activities are stored: ``lead_id``, ``fetched_at``,
        ``n_activities``, ``pages`` and ``complete`` (False: only what an account-wide pull
        brought), sorted by lead.

        Example:
            >>> store.stored_leads().filter(pl.col("n_activities") == 0)
        """
        current = self._state().current
        return current.select(
            "lead_id", "fetched_at", pl.col("n_activities").cast(pl.Int64), "pages", "complete"
        ).sort("lead_id")

    def plan(
        self, lead_ids: Iterable[str], max_age: float | timedelta | None = None
    ) -> tuple[list[str], list[str], list[str]]:
        """Split leads into (fresh, stale, missing) as a fetch sees them, each in the given
        order and spelling: fresh when stored and ``max_age`` is None or it was fetched less
        than ``max_age`` ago, stale when stored longer ago, missing when not stored (or
        stored in part only, by an account-wide pull).

        Example:
            >>> fresh, stale, missing = store.plan(lead_ids, max_age=timedelta(days=1))
        """
        age = as_max_age(max_age)
        given = list(lead_ids)
        complete = self._state().current.filter("complete")
        when = dict(complete.select("lead_id", "fetched_at").iter_rows())
        now = datetime.now(timezone.utc)
        fresh: list[str] = []
        stale: list[str] = []
        missing: list[str] = []
        for raw in given:
            fetched = when.get(canonical_lead(raw))
            if fetched is None:
                missing.append(raw)
            else:
                (fresh if age is None or now - fetched < age else stale).append(raw)
        return fresh, stale, missing

    def raw_rows(self, leads: Leads = None) -> pl.DataFrame:
        """The stored rows of ``raw`` for some leads (or all): ``lead_id``, ``position`` (0 =
        newest), ``activity`` (the JSON text as received) and ``fetched_at``, in write order.

        Example:
            >>> store.raw_rows([lead])["activity"][0][:20]
            '{"Id":"0b6e4d2c-...'
        """
        wanted = None if leads is None else lead_ids(as_list(leads))[0]
        lazy = self._lazy(wanted, self._raw).select("lead_id", "position", "activity", "fetched_at")
        return self._collect(lazy, self._raw)

    def _collect(self, lazy: pl.LazyFrame, table: Table) -> pl.DataFrame:
        try:
            return lazy.collect()
        except (OSError, pl.exceptions.PolarsError) as err:  # a damaged or missing data file
            raise StoreError(
                f"A data file of the store table {str(table.path)!r} cannot be read "
                f"({type(err).__name__}: {str(err)[:300]}). Was a file of the store changed "
                "or deleted? Restore the folder from a backup, or fetch into a new folder."
            ) from None

    def read_activities(self, lead: str) -> list[dict[str, Any]]:
        """One lead's activities exactly as the API sent them (newest first); ``[]`` when the
        store does not hold the lead.

        Example:
            >>> store.read_activities(lead)[0]["EventName"]
            'Email Opened'
        """
        rows = self.raw_rows([lead])
        return [orjson.loads(text) for text in rows.sort("position")["activity"]]

    def scan_raw(self) -> pl.LazyFrame:
        """Every lead's current rows of ``raw``, lazily (see :meth:`raw_rows`).

        Example:
            >>> store.scan_raw().select(pl.len()).collect().item()
            41210
        """
        return self._lazy(None, self._raw).select("lead_id", "position", "activity", "fetched_at")

    def write_lead(
        self,
        lead: str,
        activities: Sequence[Mapping[str, Any]],
        *,
        fetched_at: datetime | None = None,
    ) -> int:
        """Store one lead completely (a batch of one; for many, :meth:`write_leads`).

        Example:
            >>> store.write_lead("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf", activities)
            3
        """
        return self.write_leads({lead: activities}, fetched_at=fetched_at)

    def info(self) -> dict[str, Any]:
        """What the store holds: leads, activities, version, size on disk, last refresh, and
        how many data files and superseded rows (until :meth:`optimize`) each table has.

        Example:
            >>> store.info()["leads"]
            300
        """
        state = self._state()
        tables = [*self._tables, *self._people.tables]
        return store_info(self.path, tables, state.current, state.version, self._fetches)

    # ------------------------------------------------------------------ leads and users
    def leads(self) -> pl.DataFrame:
        """The ``leads`` table: who the leads are (a leads frame; see :meth:`update_leads`).

        Example:
            >>> store.leads().group_by("source").len()
        """
        return self._people.leads()

    def users(self) -> pl.DataFrame:
        """The ``users`` table (a users frame; see :meth:`update_users`).

        Example:
            >>> store.users().select("user_id", "name").head(3)
        """
        return self._people.users()

    def update_leads(self, leads: pl.DataFrame, *, until: datetime | None = None) -> int:
        """Merge a leads frame into ``leads`` (latest ``modified_on`` wins); ``until`` becomes
        :meth:`leads_watermark`. Returns the leads stored.

        Example:
            >>> store.update_leads(client.leads_modified("2026-11-01"), until=now)
        """
        return self._people.update_leads(leads, until=until)

    def update_users(self, users: pl.DataFrame) -> int:
        """Replace ``users`` with a users frame (``store.update_users(client.get_users())``);
        returns the users stored."""
        return self._people.update_users(users)

    def leads_watermark(self) -> datetime | None:
        """How far the account's leads were read into ``leads`` (None: never)."""
        return self._people.watermark()

    def fetches(self) -> pl.DataFrame:
        """The ``fetches`` table: one row per lead per write, oldest first.

        Example:
            >>> store.fetches().group_by("batch_id").len()
        """
        dt = self._fetches.snapshot()
        return self._fetches.scan(dt).collect().sort("batch_id", maintain_order=True)

    # ------------------------------------------------------------------ history
    def changes(self, since: int | datetime) -> pl.DataFrame:
        """The current activities added or changed since a store version or a time.

        A lead written after ``since`` is compared with what the store held for it then
        (as a Delta time travel, possible while ``optimize()`` keeps that version's files:
        the retention window); its activities that differ in any field are returned, with
        ``change`` = ``"added"`` (no activity with that ``activity_id`` before) or
        ``"changed"``.

        Args:
            since: a :attr:`version` (what the store held at it), or a time (the version
                then; a time without zone is UTC).

        Raises:
            ValueError: ``since`` is a version the store has not reached.
            StoreError: the files of that version were deleted by ``optimize()``, or the
                table history no longer reaches back to that time.

        Example:
            >>> v = store.version
            >>> store.write_leads(refreshed)
            >>> store.changes(since=v)["change"].value_counts()
        """
        base = version_at(self._fetches, since)
        if base < history_from(self._fetches) - 1:
            raise StoreError(
                f"since={since!r}: optimize() kept the store's history from version "
                f"{history_from(self._fetches)} on (its retention); pass a later version or time"
            )
        state, dt = self._snapshots()
        if base > state.version:
            raise ValueError(f"since={since!r}: the store is at version {state.version}")
        new, then = rows_since(self._activities, dt, self._fetches, state.current, base)
        out = changed_rows(new, rows_as_of(self._activities, then, new.schema))
        out = out if out["_row"].is_sorted() else out.sort("_row")
        return drop_empty_extras(out.select(_public(out.columns))).with_columns(out["change"])

    # ------------------------------------------------------------------ upkeep
    def optimize(self, *, retention: timedelta = DEFAULT_RETENTION) -> OptimizeResult:
        """Compact the tables, drop superseded rows, delete files no longer referenced.

        Files are rewritten only where it pays: runs of small files and files holding rows
        of leads written again since. Files that no snapshot younger than ``retention``
        references are deleted, so readers that started before stay valid for that long
        (and :meth:`changes` reaches back that far). Holds the write lock.

        Example:
            >>> store.optimize().rows_dropped
            20000
        """
        dropped = replaced = written = pruned = 0
        with self._locked():
            state = self._state()
            meta = {"lsq.operation": "optimize"}
            for table in (self._activities, self._raw):
                keep = state.current.rename({"_batch_id": table.spec.batch})
                d, r, w = table.compact(keep, metadata=meta)
                dropped, replaced, written = dropped + d, replaced + r, written + w
            try:  # fetches keeps each lead's rows of the retention window, and its state before
                horizon = version_at(self._fetches, datetime.now(timezone.utc) - retention) + 1
            except StoreError:
                horizon = 0
            dt = self._fetches.snapshot()
            files, rows = self._fetches.files(dt), self._fetches.scan(dt).collect()
            kept = prune_fetches(rows, horizon)
            small = files.height > 1 and files.filter(pl.col("rows") < TARGET_ROWS // 2).height
            if kept.height < rows.height or small:
                mark = {**meta, HISTORY_FROM: horizon} if kept.height < rows.height else meta
                paths = files["path"].to_list()
                written += self._fetches.rewrite(dt, paths, [[kept]], metadata=mark)
                replaced, pruned = replaced + files.height, rows.height - kept.height
            deleted = sum(len(t.vacuum(retention)) for t in self._tables)
        return OptimizeResult(dropped, replaced, written, deleted, pruned)


# ---------------------------------------------------------------------- helpers


def _within(stat: str, value: pl.Expr) -> pl.Expr:
    """A file may hold ``value`` by its statistics (no statistics: it may)."""
    low, high = pl.col(f"min.{stat}"), pl.col(f"max.{stat}")
    return (low.is_null() | (low <= value)) & (high.is_null() | (high >= value))


def _public(columns: Iterable[str]) -> list[str]:
    return column_order(c for c in columns if c not in (*STORE_COLUMNS, "change"))


def _has_names(events: Events) -> bool:
    return any(not str(e).strip().lstrip("-").isdigit() for e in as_list(events))
