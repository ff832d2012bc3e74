"""The rows one write of the Delta store appends, and how two versions of a lead compare.

:func:`batch_frames` turns a mapping lead -> activities into the rows of the three tables
(``raw``, ``activities``, ``fetches``), before the write lock is taken; :func:`stamped` adds
the batch id and row numbers once it is. :func:`changed_rows` picks the activities that a
newer version of some leads added or changed.

Example:
    >>> items = canonical({"3A6D5EA2-400E-4A2F-A728-FBFA0B0C1DDF": [{"Id": "a"}]})
    >>> batch_frames(items, fetched_at=None, pages=None).fetches["lead_id"].to_list()
    ['3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf']
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
import polars as pl

from ..errors import StoreError
from ..frames import activities_frame
from ..vocabulary import lead_id, to_utc
from .tables import FETCHES_SPEC, RAW_SPEC, ROW_BITS

__all__ = [
    "OUTCOME_FAILED",
    "OUTCOME_OK",
    "OUTCOME_PARTIAL",
    "STORED_OUTCOMES",
    "STORE_COLUMNS",
    "Batch",
    "batch_frames",
    "canonical",
    "changed_rows",
    "failed_rows",
    "stamped",
]

OUTCOME_OK = "ok"
"""``fetches.outcome`` of a lead whose activities were stored completely."""
OUTCOME_PARTIAL = "partial"
"""``fetches.outcome`` of a lead of which only some activities are stored (those an
account-wide pull of one event type brought, :func:`lsq_analysis.fetch_events`): read like any
lead, fetched completely by the next ``fetch_activities``."""
STORED_OUTCOMES = (OUTCOME_OK, OUTCOME_PARTIAL)
"""The outcomes whose batch holds a lead's current rows."""
OUTCOME_FAILED = "failed"
"""``fetches.outcome`` of a fetch that failed: nothing stored, the lead's older rows stand."""
STORE_COLUMNS = ("_batch_id", "_row")
"""The columns the store adds to the expanded frame in ``activities``."""
Items = list[tuple[str, list[Mapping[str, Any]]]]


@dataclass(frozen=True)
class Batch:
    """The rows of one write, without batch ids and row numbers yet (see :func:`stamped`)."""

    raw: pl.DataFrame
    activities: pl.DataFrame | None  # None: no activity in the batch
    fetches: pl.DataFrame


def canonical(mapping: Mapping[str, Sequence[Mapping[str, Any]]]) -> Items:
    """``(lead id, activities)`` pairs, ids canonical; ``ValueError`` for bad or repeated ids.

    Example:
        >>> canonical({" 3A6D5EA2-400E-4A2F-A728-FBFA0B0C1DDF ": []})
        [('3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf', [])]
    """
    items: dict[str, list[Mapping[str, Any]]] = {}
    for key, acts in mapping.items():
        lead = lead_id(key)
        if lead in items:
            raise ValueError(f"write_leads: {key!r} and another key are the same lead {lead!r}")
        if isinstance(acts, (str, bytes, Mapping)) or not isinstance(acts, Sequence):
            raise TypeError(
                f"write_leads: the activities of {key!r} must be a list of dicts, "
                f"not {type(acts).__name__}"
            )
        items[lead] = list(acts)
    return list(items.items())


def _per_lead(value: Any, items: Items, default: Any) -> list[Any]:
    """A value for all leads, or a mapping lead -> value, as one value per lead."""
    if isinstance(value, Mapping):
        given = {lead_id(k): v for k, v in value.items()}
        return [given.get(lead, default) for lead, _ in items]
    return [default if value is None else value] * len(items)


def batch_frames(
    items: Items,
    *,
    fetched_at: datetime | Mapping[str, datetime] | None,
    pages: int | Mapping[str, int] | None,
    partial: Collection[str] = (),
) -> Batch:
    """The rows of ``raw``, ``activities`` and ``fetches`` for one write.

    ``raw`` keeps each activity's JSON as received (``orjson.dumps`` of the dict the API's
    page held, keys in their order); ``activities`` is :func:`activities_frame` of the same
    activities with ``lead_id`` set to the canonical id. The leads in ``partial`` (canonical
    ids) get outcome :data:`OUTCOME_PARTIAL`, the others :data:`OUTCOME_OK`.

    Example:
        >>> batch_frames(items, fetched_at=None, pages=1).raw.columns
        ['lead_id', 'position', 'activity', 'fetched_at']
    """
    now = datetime.now(timezone.utc)
    when = [to_utc(t, "fetched_at") for t in _per_lead(fetched_at, items, now)]
    counts = [len(acts) for _, acts in items]
    lead_rows = [lead for lead, acts in items for _ in acts]
    given = ("lead_id", "position", "activity", "fetched_at")
    raw = pl.DataFrame(
        {
            "lead_id": lead_rows,
            "position": [i for n in counts for i in range(n)],
            "activity": [orjson.dumps(a).decode() for _, acts in items for a in acts],
            "fetched_at": [t for t, n in zip(when, counts, strict=True) for _ in range(n)],
        },
        schema={k: RAW_SPEC.schema[k] for k in given},
    )
    expanded = None
    if lead_rows:
        expanded = activities_frame(raw["activity"])  # the same JSON, serialised once
        if expanded.height != len(lead_rows):
            raise StoreError(
                f"Expanding {len(lead_rows)} activities gave {expanded.height} rows; "
                "nothing was stored."
            )
        expanded = expanded.with_columns(pl.Series("lead_id", lead_rows, dtype=pl.String))
    fetches = pl.DataFrame(
        {
            "lead_id": [lead for lead, _ in items],
            "fetched_at": when,
            "pages": _per_lead(pages, items, None),
            "n_activities": counts,
            "outcome": [OUTCOME_PARTIAL if lead in partial else OUTCOME_OK for lead, _ in items],
            "error": [None] * len(items),
        },
        schema={k: v for k, v in FETCHES_SPEC.schema.items() if k != "batch_id"},
    )
    return Batch(raw, expanded, fetches)


def failed_rows(failed: Mapping[str, str], *, at: datetime | None = None) -> pl.DataFrame:
    """``fetches`` rows (without a batch id) for leads whose fetch failed: lead -> reason.

    Example:
        >>> failed_rows({"3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf": "ServerError: ..."})["outcome"]
    """
    leads = [lead_id(k) for k in failed]
    when = to_utc(at or datetime.now(timezone.utc), "at")
    return pl.DataFrame(
        {
            "lead_id": leads,
            "fetched_at": [when] * len(leads),
            "pages": [None] * len(leads),
            "n_activities": [0] * len(leads),
            "outcome": [OUTCOME_FAILED] * len(leads),
            "error": [str(v)[:2000] for v in failed.values()],
        },
        schema={k: v for k, v in FETCHES_SPEC.schema.items() if k != "batch_id"},
    )


def stamped(batch: Batch, batch_id: int, table_schema: Mapping[str, pl.DataType]) -> Batch:
    """The batch with its id and row numbers, ``activities`` in the table's column types.

    Row numbers are ``batch_id << ROW_BITS`` plus the row's index in the batch, so they
    increase in write order across batches. Columns the table lacks keep their type (an
    untyped all-null column becomes text); the store columns come first.

    Example:
        >>> stamped(batch, 7, table_schema).fetches["batch_id"].unique().to_list()
        [7]
    """
    rows = pl.int_range(pl.len(), dtype=pl.Int64) + (batch_id << ROW_BITS)
    ident = pl.lit(batch_id, pl.Int64)
    raw = batch.raw.with_columns(ident.alias("batch_id"), rows.alias("row"))
    fetches = batch.fetches.with_columns(ident.alias("batch_id"))
    activities = None
    if batch.activities is not None:
        frame = batch.activities.with_columns(ident.alias("_batch_id"), rows.alias("_row"))
        first = ["lead_id", *STORE_COLUMNS]
        activities = frame.select(
            pl.col(c).cast(table_schema[c])
            if c in table_schema
            else (pl.col(c).cast(pl.String) if frame.schema[c] == pl.Null else pl.col(c))
            for c in [*first, *(c for c in frame.columns if c not in first)]
        ).rechunk()  # one record batch: the Delta writer keeps its rows in order
    return Batch(
        raw.select(list(RAW_SPEC.schema)),
        activities,
        fetches.select(list(FETCHES_SPEC.schema)),
    )


def changed_rows(new: pl.DataFrame, old: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``new`` that no row of ``old`` equals in every expanded column (the store
    columns aside), with ``change``: ``"changed"`` when ``old`` had the same lead and
    ``activity_id``, else ``"added"``; in ``new``'s order.

    Example:
        >>> changed_rows(now, then)["change"].to_list()
        ['added', 'changed']
    """
    compare = [c for c in new.columns if c not in STORE_COLUMNS]
    old = old.select(
        pl.col(c).cast(t) if c in old.columns else pl.lit(None, t).alias(c)
        for c, t in new.schema.items()
    )
    diff = new.join(old, on=compare, how="anti", nulls_equal=True, maintain_order="left")
    ids = pl.struct("lead_id", "activity_id")
    seen = ids.is_in(old.select(ids).to_series().implode())
    return diff.with_columns(
        pl.when(seen).then(pl.lit("changed")).otherwise(pl.lit("added")).alias("change")
    )
