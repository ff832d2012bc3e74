"""The Delta store's past: which version a time means, and a lead's rows as they were then.

Both read the Delta log: :func:`version_at` the ``fetches`` table's commit history, and
:func:`rows_as_of` older snapshots of ``activities`` (time travel) for rows that
``optimize()`` has dropped since, which works while their files are kept (the retention
window of ``optimize``).

Example:
    >>> version_at(Table(Path("lsq-store"), FETCHES_SPEC), datetime(2025, 4, 4, tzinfo=UTC))
    12
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from deltalake import DeltaTable

from ..errors import StoreError
from ..vocabulary import to_utc
from .batches import STORED_OUTCOMES
from .tables import Table

__all__ = ["rows_as_of", "version_at"]

_KEY = ["lead_id", "_batch_id"]


def version_at(fetches: Table, since: int | datetime) -> int:
    """The store version ``since`` names: itself, or the last version committed by then
    (-1 before the store existed).

    Raises:
        TypeError: neither an int nor a datetime.
        ValueError: a negative version.
        StoreError: the table's history (the Delta log) no longer reaches back that far.

    Example:
        >>> version_at(fetches, 3)
        3
    """
    if isinstance(since, bool) or not isinstance(since, (int, datetime)):
        raise TypeError(f"since must be a store version (int) or a datetime, not {since!r}")
    if isinstance(since, int):
        if since < 0:
            raise ValueError(f"since={since}: store versions start at 0")
        return since
    moment = to_utc(since, "since").timestamp() * 1000
    history = fetches.snapshot().history()
    reached = [int(h["version"]) for h in history if h["timestamp"] <= moment]
    if reached:
        return max(reached)
    if history and min(int(h["version"]) for h in history) > 0:
        raise StoreError(
            f"since={since.isoformat()}: the store's history now starts later than that; "
            "pass a version or a later time"
        )
    return -1  # before the store was created: everything is new


def rows_as_of(activities: Table, pairs: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """The ``activities`` rows of some ``(lead_id, _batch_id)`` pairs (with
    ``n_activities`` each): from the table now, or, for pairs an ``optimize()`` dropped,
    from the table as it was just before that optimize.

    Raises:
        StoreError: some rows are in no snapshot whose files are still kept.

    Example:
        >>> rows_as_of(activities, pairs, frame.schema).height
        40
    """
    empty = pl.DataFrame(schema=schema)
    if pairs.height == 0:
        return empty
    versions: list[int | None] = [None]
    versions += [
        int(h["version"]) - 1
        for h in activities.snapshot().history()
        if h.get("lsq.operation") == "optimize"
    ]  # newest first
    found: list[pl.DataFrame] = []
    missing = pairs
    for version in versions:
        try:
            dt = activities.snapshot(version)
            got = (
                activities.scan(dt)
                .filter(pl.col("_batch_id").is_in(missing["_batch_id"].unique().implode()))
                .join(missing.lazy().select(_KEY), on=_KEY, how="semi")
                .collect()
            )
        except Exception as err:  # its files deleted by vacuum, or its log entry gone
            raise StoreError(
                "changes(): the activities as they were at that version are no longer kept "
                f"(optimize() deleted their files: {type(err).__name__}); ask for changes "
                "since a later version or time"
            ) from None
        found.append(got)
        have = got.group_by(_KEY).len()
        missing = (
            missing.join(have, on=_KEY, how="left")
            .filter(pl.col("len").fill_null(0) < pl.col("n_activities"))
            .drop("len")
        )
        if missing.height == 0:
            return pl.concat([empty, *found], how="diagonal_relaxed").select(list(schema))
    raise StoreError(
        f"changes(): the activities of {missing.height} leads as they were at that version "
        "are no longer kept; ask for changes since a later version or time"
    )


HISTORY_FROM = "lsq.history_from"
"""Commit metadata of an ``optimize()`` that pruned ``fetches``: the first version whose
rows it kept whole (``changes()`` reaches no further back)."""


def prune_fetches(rows: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """The ``fetches`` rows worth keeping: every row of a batch from ``horizon`` on, and of the
    batches before it only each lead's latest row of each outcome (what the lead was at the
    horizon, and its last failure), so ``changes(since)`` stays exact for any
    ``since >= horizon - 1``.

    Example:
        >>> prune_fetches(store.fetches(), horizon=40).height
        100000
    """
    if horizon <= 0:
        return rows
    recent = rows.filter(pl.col("batch_id") >= horizon)
    older = (
        rows.filter(pl.col("batch_id") < horizon)
        .sort("batch_id", maintain_order=True)
        .unique(["lead_id", "outcome"], keep="last", maintain_order=True)
    )
    return pl.concat([older, recent]).sort("batch_id", maintain_order=True)


def history_from(fetches: Table) -> int:
    """The first version :func:`prune_fetches` kept whole, by the latest ``optimize()`` that
    pruned (0: the whole history is there).

    Example:
        >>> history_from(fetches)
        0
    """
    marks = [int(h[HISTORY_FROM]) for h in fetches.snapshot().history() if HISTORY_FROM in h]
    return max(marks, default=0)


def rows_since(
    activities: Table, dt: DeltaTable, fetches: Table, current: pl.DataFrame, base: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The current rows of the leads written after version ``base`` (from the snapshot
    ``dt`` of ``activities``), and each of those leads' latest batch at ``base``
    (``lead_id``, ``_batch_id``, ``n_activities``) for :func:`rows_as_of`.

    Example:
        >>> new, then = rows_since(activities, dt, fetches, state.current, base=7)
    """
    newer = current.filter(pl.col("_batch_id") > base)
    files = activities.files(dt).filter(pl.col("max._batch_id") > base)["path"].to_list()
    new = (
        activities.scan(dt, files)
        .filter(pl.col("_batch_id") > base)
        .join(newer.lazy().select(_KEY), on=_KEY, how="semi", maintain_order="left")
        .collect()
    )
    then = (
        fetches.scan(fetches.snapshot())
        .filter(
            pl.col("outcome").is_in(STORED_OUTCOMES),
            pl.col("batch_id") <= base,
            pl.col("lead_id").is_in(newer["lead_id"].implode()),
        )
        .select("lead_id", pl.col("batch_id").alias("_batch_id"), "n_activities")
        .sort("_batch_id")
        .unique("lead_id", keep="last")
        .collect()
    )
    return new, then
