"""The store's ``leads`` and ``users`` tables: who the leads are, and who owns them.

``leads`` holds one row per lead (the columns of :func:`~lsq_analysis.frames.leads_frame`,
plus ``_updated_at``); :meth:`LeadTables.update_leads` merges newer records in (a lead's
latest ``modified_on`` wins) and records how far the account was read (``until``), the
watermark the next incremental read starts from. ``users`` holds the account's users, replaced
whole by :meth:`LeadTables.update_users`. Both are plain Delta tables, read by any engine like
the activity tables; each update rewrites its table (a few seconds at a million leads) under
the store's write lock.

Example:
    >>> tables = LeadTables(Path("lsq-store"), lock)
    >>> tables.update_leads(client.leads_modified("2026-11-01"), until=now)
    >>> tables.watermark()
    datetime.datetime(2026, 12, 3, 9, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from ..frames import LEAD_COLUMNS, USER_COLUMNS, leads_frame, users_frame
from ..vocabulary import to_utc
from .tables import Table, TableSpec

__all__ = ["LEADS_SPEC", "USERS_SPEC", "WATERMARK", "LeadTables"]

_UTC = pl.Datetime("us", "UTC")
LEADS_SPEC = TableSpec(
    "leads",
    {**LEAD_COLUMNS, "_updated_at": _UTC},
    batch="_updated_at",
    row=None,
    stats=("lead_id",),
    compression="ZSTD",
)
"""``leads``: one row per lead; other fields join as columns when they first appear."""
USERS_SPEC = TableSpec(
    "users",
    {**USER_COLUMNS, "_updated_at": _UTC},
    batch="_updated_at",
    row=None,
    stats=("user_id",),
    compression="ZSTD",
)
"""``users``: one row per user of the account."""
WATERMARK = "lsq.leads_until"
"""Commit metadata of a leads update: the moment up to which the account was read."""


class LeadTables:
    """The ``leads`` and ``users`` tables of one store folder.

    Args:
        root: the store folder.
        locked: the store's write lock (a context manager factory).

    Example:
        >>> LeadTables(Path("lsq-store"), store_lock).leads().height
        0
    """

    def __init__(self, root: Path, locked: Callable[[], AbstractContextManager[None]]) -> None:
        self._leads = Table(root, LEADS_SPEC)
        self._users = Table(root, USERS_SPEC)
        self._locked = locked

    @property
    def tables(self) -> tuple[Table, Table]:
        """The two tables (``leads``, ``users``)."""
        return self._leads, self._users

    @staticmethod
    def _read(table: Table, empty: pl.DataFrame) -> pl.DataFrame:
        if not table.exists():
            return empty
        frame = table.scan(table.snapshot()).collect()
        return frame.drop("_updated_at") if "_updated_at" in frame.columns else frame

    def leads(self) -> pl.DataFrame:
        """Every stored lead (a leads frame; no rows before the first update).

        Example:
            >>> tables.leads().group_by("source").len()
        """
        return self._read(self._leads, leads_frame([]))

    def users(self) -> pl.DataFrame:
        """Every stored user (a users frame; no rows before the first update).

        Example:
            >>> tables.users().filter(pl.col("is_active")).height
            8
        """
        return self._read(self._users, users_frame([]))

    def watermark(self) -> datetime | None:
        """How far the account's leads were read (``until`` of the latest update), or None.

        Example:
            >>> tables.watermark() is None
            True
        """
        if not self._leads.exists():
            return None
        marks = [h[WATERMARK] for h in self._leads.snapshot().history() if WATERMARK in h]
        return max((datetime.fromisoformat(m) for m in marks), default=None)

    def update_leads(self, leads: pl.DataFrame, *, until: datetime | None = None) -> int:
        """Merge ``leads`` into the table: new leads added, known ones replaced by the record
        with the latest ``modified_on`` (the newer write on a tie). ``until`` (UTC) is kept as
        the watermark. Returns the number of leads stored.

        Example:
            >>> tables.update_leads(client.leads_modified(since), until=now)
            12093
        """
        if "lead_id" not in leads.columns:
            raise ValueError("update_leads takes a leads frame (lsq.leads_frame): no lead_id")
        stamp = datetime.now(timezone.utc)
        fresh = leads.with_columns(pl.lit(stamp, _UTC).alias("_updated_at"))
        meta: dict[str, object] = {"lsq.operation": "leads"}
        if until is not None:
            meta[WATERMARK] = to_utc(until, "until").isoformat()
        with self._locked():
            return self._merge(self._leads, fresh, meta, keep_old=True)

    def update_users(self, users: pl.DataFrame) -> int:
        """Replace the users with ``users`` (a users frame); returns how many are stored.

        Example:
            >>> tables.update_users(client.get_users())
            9
        """
        if "user_id" not in users.columns:
            raise ValueError("update_users takes a users frame (lsq.users_frame): no user_id")
        stamp = datetime.now(timezone.utc)
        fresh = users.with_columns(pl.lit(stamp, _UTC).alias("_updated_at"))
        with self._locked():
            return self._merge(self._users, fresh, {"lsq.operation": "users"}, keep_old=False)

    def _merge(
        self, table: Table, fresh: pl.DataFrame, meta: dict[str, object], *, keep_old: bool
    ) -> int:
        if not table.exists():
            table.create()
        dt = table.snapshot()
        rows = fresh
        if keep_old:
            old = table.scan(dt).collect()
            rows = (
                pl.concat([old, fresh], how="diagonal_relaxed")
                .with_row_index("_i")
                .sort("modified_on", "_i", nulls_last=False, maintain_order=True)
                .unique("lead_id", keep="last", maintain_order=True)
                .sort("lead_id")
                .drop("_i")
            )
        table.add_columns(dt, rows)
        schema = table.schema(dt)
        rows = rows.select(
            pl.col(c).cast(schema[c]) if c in rows.columns else pl.lit(None, schema[c]).alias(c)
            for c in schema
        )
        paths = table.files(dt)["path"].to_list()
        table.rewrite(dt, paths, [[rows]], metadata=meta)
        table.snapshot()
        return rows.height
