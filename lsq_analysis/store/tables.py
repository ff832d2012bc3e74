"""One Delta Lake table of the store: create it, read it in write order, append, rewrite, vacuum.

The store's tables are plain Delta tables (``deltalake``): no partitions, no deletion vectors,
no column mapping, so every engine reads them as they are. Two things here go beyond
``deltalake``'s defaults, both for the store's reads:

* **Write order.** Every row carries a store-wide, increasing row number (the spec's
  ``row`` column; statistics are kept for it), and :meth:`Table.scan` reads the files sorted
  by their smallest row number. Appends keep their rows in order inside a file, and
  :meth:`Table.rewrite` writes its files itself (polars, in order) and commits them with one
  Delta transaction, so a scan returns the rows in the order they were written without a
  sort (``deltalake``'s own writer may reorder record batches of a large input).
* **File skipping.** Statistics are kept only for the columns reads filter on (the table
  property ``delta.dataSkippingStatsColumns``); :meth:`Table.files` hands them to the store,
  which picks the files of one lead or batch itself.

Example:
    >>> table = Table(Path("lsq-store"), FETCHES_SPEC)
    >>> table.create()
    >>> table.scan(table.snapshot()).collect().height
    0
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import polars as pl
from deltalake import CommitProperties, DeltaTable, Schema
from deltalake.transaction import AddAction, RemoveAction

from ..errors import StoreError
from ..frames import CORE_SCHEMA

__all__ = [
    "ACTIVITIES_SPEC",
    "FETCHES_SPEC",
    "RAW_SPEC",
    "ROW_BITS",
    "TARGET_ROWS",
    "Table",
    "TableSpec",
    "arrow_schema",
]

ROW_BITS = 32
"""A row number is ``batch_id << ROW_BITS | index in the batch``: increasing in write order."""
TARGET_ROWS = 262_144
"""Rows per file that :meth:`Table.rewrite` writes; smaller files are compacted."""
_ROW_GROUP = 16_384  # rows per Parquet row group: small enough to skip inside a file


@dataclass(frozen=True)
class TableSpec:
    """What the store knows of one of its tables.

    Attributes:
        name: the table's folder under the store folder.
        schema: the columns a new table starts with (appends may add more).
        batch: the column holding the batch (write) id.
        row: the store-wide row number, increasing in write order (None: no order kept).
        stats: the columns Delta keeps min/max statistics for (file skipping).
        compression: Parquet compression of the table's files.
    """

    name: str
    schema: Mapping[str, pl.DataType]
    batch: str
    row: str | None
    stats: tuple[str, ...]
    compression: Literal["SNAPPY", "ZSTD"]


_UTC = pl.Datetime("us", "UTC")
RAW_SPEC = TableSpec(
    "raw",
    {
        "lead_id": pl.String(),
        "batch_id": pl.Int64(),
        "row": pl.Int64(),
        "position": pl.Int32(),
        "activity": pl.String(),
        "fetched_at": _UTC,
    },
    batch="batch_id",
    row="row",
    stats=("lead_id", "batch_id", "row"),
    compression="ZSTD",  # the JSON text: read rarely, compresses well
)
"""``raw``: one row per activity, its JSON exactly as received (``position`` 0 = newest)."""

ACTIVITIES_SPEC = TableSpec(
    "activities",
    {"lead_id": pl.String(), "_batch_id": pl.Int64(), "_row": pl.Int64(), **CORE_SCHEMA},
    batch="_batch_id",
    row="_row",
    stats=("lead_id", "_batch_id", "_row"),
    compression="SNAPPY",  # read whole by frame(): the fastest to decode here
)
"""``activities``: the expanded frame's columns (added as they appear) plus the two store
columns, prefixed with ``_`` so no expanded column can take their names."""

FETCHES_SPEC = TableSpec(
    "fetches",
    {
        "lead_id": pl.String(),
        "batch_id": pl.Int64(),
        "fetched_at": _UTC,
        "pages": pl.Int32(),
        "n_activities": pl.Int32(),
        "outcome": pl.String(),
        "error": pl.String(),
    },
    batch="batch_id",
    row=None,
    stats=("lead_id", "batch_id"),
    compression="ZSTD",
)
"""``fetches``: one row per lead per write, committed after (never before) the lead's rows;
``outcome`` is ``"ok"``, ``"partial"`` for a lead of which an account-wide pull stored some
activities only, or ``"failed"`` for a fetch that stored nothing (``error`` says why)."""


def arrow_schema(schema: Mapping[str, pl.DataType]) -> Any:
    """The pyarrow schema of polars columns (plain, not view, string types).

    Example:
        >>> arrow_schema({"lead_id": pl.String()}).names
        ['lead_id']
    """
    return pl.DataFrame(schema=dict(schema)).to_arrow(compat_level=pl.CompatLevel.oldest()).schema


def _now_ms() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1000)


class Table:
    """One Delta table of a store folder; the latest snapshot is kept and updated cheaply.

    Example:
        >>> table = Table(Path("lsq-store"), ACTIVITIES_SPEC)
        >>> table.files(table.snapshot()).height  # one row per data file
        12
    """

    def __init__(self, root: Path, spec: TableSpec) -> None:
        self.spec = spec
        self.path = root / spec.name
        self._latest: DeltaTable | None = None
        self._files: tuple[int, int, pl.DataFrame] | None = None  # (snapshot id, version, files)

    def __repr__(self) -> str:
        return f"Table({str(self.path)!r})"

    def exists(self) -> bool:
        """Whether the table has been created (its log holds a first commit)."""
        return (self.path / "_delta_log").is_dir() and any((self.path / "_delta_log").iterdir())

    def create(self) -> None:
        """Create the empty table (version 0) with the spec's columns and properties."""
        DeltaTable.create(
            str(self.path),
            schema=arrow_schema(self.spec.schema),
            mode="ignore",
            name=self.spec.name,
            configuration={"delta.dataSkippingStatsColumns": ",".join(self.spec.stats)},
        )

    def snapshot(self, version: int | None = None, *, refresh: bool = True) -> DeltaTable:
        """The table as it is now (brought up to date), or as it was at ``version``.

        ``refresh=False`` skips the look for newer commits: for a writer holding the lock,
        whose own commits keep the snapshot current.
        """
        if version is not None:
            return DeltaTable(str(self.path), version=version)
        try:
            if self._latest is None:
                self._latest = DeltaTable(str(self.path))
            elif refresh:
                self._latest.update_incremental()
        except Exception as err:  # deltalake raises several kinds for a missing or bad log
            raise StoreError(
                f"The store table {str(self.path)!r} cannot be read ({type(err).__name__}: "
                f"{str(err)[:200]}). Was the store folder moved or damaged?"
            ) from None
        protocol = self._latest.protocol()
        if protocol.min_reader_version > 1:
            raise StoreError(
                f"The store table {str(self.path)!r} needs Delta reader version "
                f"{protocol.min_reader_version} (written by another tool?); this store reads "
                "version 1 tables only."
            )
        return self._latest

    def schema(self, dt: DeltaTable) -> pl.Schema:
        """The table's columns and their polars types."""
        return pl.Schema(dt.schema())

    def files(self, dt: DeltaTable) -> pl.DataFrame:
        """One row per data file: ``path`` (absolute), ``size``, ``rows``, ``min.<col>`` and
        ``max.<col>`` of the statistics columns; sorted by the smallest row number."""
        key = (id(dt), dt.version())
        if self._files is not None and self._files[:2] == key:
            return self._files[2]
        actions = pl.DataFrame(dt.get_add_actions(flatten=True))
        schema = self.schema(dt)
        columns = [
            pl.lit(str(self.path) + os.sep).add(pl.col("path")).alias("path")
            if actions.height
            else pl.col("path"),
            pl.col("size_bytes").alias("size"),
            pl.col("num_records").alias("rows"),
        ]
        for bound in ("min", "max"):
            for name in self.spec.stats:
                col = f"{bound}.{name}"
                dtype = schema[name]
                columns.append(
                    pl.col(col).cast(dtype) if col in actions.columns else pl.lit(None, dtype)
                )
        files = actions.select(columns)
        if self.spec.row is not None:
            files = files.sort(f"min.{self.spec.row}", nulls_last=True)
        self._files = (*key, files)
        return files

    def scan(self, dt: DeltaTable, paths: Sequence[str] | None = None) -> pl.LazyFrame:
        """The rows of the snapshot ``dt`` (or of some of its files), in write order.

        Files written before a column was added read it as nulls.
        """
        schema = self.schema(dt)
        chosen = list(self.files(dt)["path"]) if paths is None else list(paths)
        if not chosen:
            return pl.LazyFrame(schema=schema)
        return pl.scan_parquet(
            chosen, schema=schema, missing_columns="insert", glob=False, hive_partitioning=False
        )

    def append(
        self, frame: pl.DataFrame, *, metadata: Mapping[str, Any], merge_schema: bool = False
    ) -> int:
        """Append rows in one commit (to the snapshot last taken: hold the store's lock and
        take one first); with ``merge_schema``, new columns join the table first (a commit of
        their own). Returns the table's new version.

        The rows are written as one file here (polars, in order) and committed with a Delta
        transaction: ``write_deltalake`` cannot write under a folder whose name holds ``[``
        or ``]`` (delta-rs reads the path as a URL), which a shared drive's folder may.
        """
        dt = self.snapshot(refresh=False)  # the writer's snapshot, moved on by its commits
        try:
            known = self.schema(dt)
            new = [c for c in frame.columns if c not in known]
            if new and not merge_schema:
                raise StoreError(
                    f"The rows for {str(self.path)!r} have columns the table lacks: {new[:5]}"
                )
            self.add_columns(dt, frame)
            added = self._write_file(frame)
            dt.create_write_transaction(
                [added],
                mode="append",
                schema=dt.schema(),
                commit_properties=CommitProperties(custom_metadata=dict(metadata)),
            )
            dt.update_incremental()  # our own commit (the lock is held): nothing else to read
        except StoreError:
            raise
        except Exception as err:  # deltalake raises OSError and its own kinds (disk full, ...)
            self._latest = None  # read the log again next time: the commit may not have come
            raise StoreError(
                f"Writing to the store table {str(self.path)!r} failed ({type(err).__name__}: "
                f"{str(err)[:300]}). Check the free space and the permissions of the store "
                "folder; nothing of this batch counts as stored, and a run fetches it again."
            ) from None
        return self.snapshot(refresh=False).version()

    def add_columns(self, dt: DeltaTable, frame: pl.DataFrame) -> list[str]:
        """Add ``frame``'s columns that the table lacks (one commit, when there are any);
        returns their names."""
        known = self.schema(dt)
        new = [c for c in frame.columns if c not in known]
        if new:
            fields = Schema.from_arrow(arrow_schema(frame.select(new).schema)).fields
            dt.alter.add_columns(list(fields))
        return new

    def rewrite(
        self,
        dt: DeltaTable,
        remove: Sequence[str],
        runs: Iterable[Iterable[pl.DataFrame]],
        *,
        metadata: Mapping[str, Any],
    ) -> int:
        """Replace the files ``remove`` by the rows of ``runs`` in one commit; returns the
        number of files written.

        Each run's rows are written in the order given, in files of about 262,144 rows, and a
        file never spans two runs (so the files of a run stay between the files kept around
        it in row order). A run killed before the commit leaves only unreferenced files,
        which :meth:`vacuum` deletes.
        """
        schema = list(self.schema(dt))
        written: list[AddAction] = []
        for run in runs:
            pending: list[pl.DataFrame] = []
            count = 0
            for frame in run:
                if frame.height:
                    pending.append(frame.select(schema))
                    count += frame.height
                if count >= TARGET_ROWS:
                    written.append(self._write_file(pl.concat(pending, how="vertical_relaxed")))
                    pending, count = [], 0
            if pending:
                written.append(self._write_file(pl.concat(pending, how="vertical_relaxed")))
        root = str(self.path) + os.sep
        stamp = _now_ms()
        removed = [
            RemoveAction(path.removeprefix(root), data_change=True, deletion_timestamp=stamp)
            for path in remove
        ]
        if written or removed:
            dt.create_write_transaction(
                [*written, *removed],
                mode="append",
                schema=dt.schema(),
                commit_properties=CommitProperties(custom_metadata=dict(metadata)),
            )
        return len(written)

    def compact(self, keep: pl.DataFrame, *, metadata: Mapping[str, Any]) -> tuple[int, int, int]:
        """Rewrite the runs of small files, and the files holding rows not in ``keep``
        (``lead_id`` and the batch column: each lead's current batch), without those rows.

        Returns:
            (rows dropped, files replaced, files written); all 0 when nothing was worth it.
        """
        dt = self.snapshot()
        files = self.files(dt)
        if files.height == 0:
            return 0, 0, 0
        key = ["lead_id", self.spec.batch]
        stale = (
            pl.scan_parquet(
                files["path"].to_list(), include_file_paths="_path", glob=False,
                missing_columns="insert",
            )
            .select("_path", *key)
            .join(keep.lazy().select(key).with_columns(_keep=pl.lit(True)), on=key, how="left")
            .group_by("_path")
            .agg(pl.col("_keep").null_count().alias("stale"))
            .collect()
        )  # fmt: skip
        files = files.join(
            stale.rename({"_path": "path"}), on="path", how="left", maintain_order="left"
        )
        redo = files.select((pl.col("stale") > 0) | (pl.col("rows") < TARGET_ROWS // 2))
        runs: list[list[str]] = [[]]
        for path, again in zip(files["path"], redo.to_series(), strict=True):
            if again:
                runs[-1].append(path)
            elif runs[-1]:
                runs.append([])
        n_stale = dict(zip(files["path"], files["stale"], strict=True))
        runs = [r for r in runs if len(r) > 1 or (r and n_stale[r[0]] > 0)]
        if not runs:
            return 0, 0, 0
        wanted = keep.lazy().select(key)

        def rows(run: list[str]) -> Iterator[pl.DataFrame]:
            for path in run:
                scan = self.scan(dt, [path])
                yield scan.join(wanted, on=key, how="semi", maintain_order="left").collect()

        remove = [p for r in runs for p in r]
        written = self.rewrite(dt, remove, (rows(r) for r in runs), metadata=metadata)
        return sum(n_stale[p] for p in remove), len(remove), written

    def _write_file(self, frame: pl.DataFrame) -> AddAction:
        name = f"part-lsq-{uuid.uuid4()}.parquet"
        target = self.path / name
        frame.write_parquet(
            target,
            compression="zstd" if self.spec.compression == "ZSTD" else "snappy",
            statistics=True,
            row_group_size=_ROW_GROUP,
        )
        stats: dict[str, Any] = {"numRecords": frame.height, "minValues": {}, "maxValues": {}}
        nulls: dict[str, int] = {}
        for name_ in self.spec.stats:
            col = frame[name_]
            nulls[name_] = col.null_count()
            if col.null_count() < frame.height:
                stats["minValues"][name_] = col.min()
                stats["maxValues"][name_] = col.max()
        stats["nullCount"] = nulls
        size = target.stat().st_size
        return AddAction(name, size, {}, _now_ms(), True, json.dumps(stats))

    def vacuum(self, retention: timedelta) -> list[str]:
        """Delete files no snapshot younger than ``retention`` needs; returns their paths."""
        hours = max(0, int(retention.total_seconds() // 3600))
        dt = self.snapshot()
        return dt.vacuum(
            retention_hours=hours, dry_run=False, enforce_retention_duration=False, full=True
        )
