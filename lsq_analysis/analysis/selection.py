"""What the pickers and the explorer list and show, as plain polars functions.

Each widget of :mod:`lsq_analysis.widgets` is a thin layer over one of these (its headless
twin), so its logic is tested without a browser:

| function | behind |
| --- | --- |
| :func:`lead_index`, :func:`match_leads` | ``LeadPicker`` |
| :func:`event_type_counts` | ``EventPicker`` |
| :func:`date_bounds` | ``DateRangePicker`` |
| :func:`select_activities`, :func:`activity_table` | ``Explorer`` |

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.analysis.selection import match_leads, lead_index
    >>> index = lead_index(lsq.load_sample())
    >>> match_leads(index, "", limit=3).height
    3
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from ..vocabulary import (
    Events,
    Frame,
    Leads,
    TimeBound,
    column_names,
    event_labels,
    filtered,
    require_columns,
)

__all__ = [
    "activity_table",
    "date_bounds",
    "event_type_counts",
    "lead_index",
    "match_leads",
    "select_activities",
]

# Expanded keys that hold a person's name or e-mail address, best first (matched
# case-insensitively on the part after "data." / "fields.").
_NAME_KEYS = ("fullname", "name", "leadname", "firstname")
_EMAIL_KEYS = ("emailaddress", "email", "emailid")
_EXPANDED_PREFIXES = ("data.", "fields.")


def _expanded_key(column: str) -> str | None:
    for prefix in _EXPANDED_PREFIXES:
        if column.startswith(prefix):
            return column[len(prefix) :].lower()
    return None


def _columns_for(schema: pl.Schema, keys: Sequence[str]) -> list[str]:
    """Expanded string columns whose key is one of ``keys``, in the order of ``keys``."""
    found: list[tuple[int, str]] = []
    for column, dtype in schema.items():
        key = _expanded_key(column)
        if key in keys and dtype == pl.String:
            found.append((keys.index(key), column))
    return [column for _, column in sorted(found)]


def lead_index(df: Frame) -> pl.DataFrame:
    """One row per lead: what ``LeadPicker`` searches and shows (its headless twin).

    The name and e-mail come from whatever the data holds (``data.FullName``,
    ``data.EmailAddress``, ``fields.Email``, ...), taking each lead's most recent non-empty value.

    Args:
        df: The expanded activity frame (needs ``lead_id`` and ``created_on``), eager or lazy;
            only those and the name and e-mail columns are read.

    Returns:
        Columns ``lead_id``, ``name``, ``email``, ``n_activities``, ``last_activity``,
        ``search`` (lower-case id, name and e-mail joined), most active leads first.

    Example:
        >>> import lsq_analysis as lsq
        >>> index = lead_index(lsq.load_sample())
        >>> index.columns[:5]
        ['lead_id', 'name', 'email', 'n_activities', 'last_activity']
    """

    def first_of(columns: list[str]) -> pl.Expr:
        if not columns:
            return pl.lit(None, dtype=pl.String)
        return pl.coalesce(
            [pl.col(c).sort_by("created_on", descending=True).drop_nulls().first() for c in columns]
        )

    schema = df.collect_schema()
    names = _columns_for(schema, _NAME_KEYS)
    emails = _columns_for(schema, _EMAIL_KEYS)
    # an "Email" field may hold something else in some event types: keep real addresses only
    addresses = [
        pl.when(pl.col(c).str.contains("@", literal=True)).then(pl.col(c)).alias(c) for c in emails
    ]
    index = (
        df.lazy()
        .select(["lead_id", "created_on", *names, *addresses])
        .group_by("lead_id")
        .agg(
            first_of(names).alias("name"),
            first_of(emails).alias("email"),
            pl.len().cast(pl.Int64).alias("n_activities"),
            pl.col("created_on").max().alias("last_activity"),
        )
        .with_columns(
            pl.concat_str(
                [pl.col("lead_id"), pl.col("name"), pl.col("email")],
                separator=" ",
                ignore_nulls=True,
            )
            .str.to_lowercase()
            .alias("search")
        )
        .sort(["n_activities", "last_activity", "lead_id"], descending=[True, True, False])
    )
    return index.collect()


def match_leads(index: Frame, query: str = "", *, limit: int = 50) -> pl.DataFrame:
    """The leads whose id, name or e-mail contains ``query`` (any case), most active first.

    Args:
        index: A frame from :func:`lead_index`, eager or lazy. The activity frame itself (a
            frame without the index's ``search`` column) is indexed first.
        query: Part of a lead id, a name or an e-mail address; blank matches every lead.
        limit: At most this many rows.

    Returns:
        The matching rows of ``index``.

    Example:
        >>> import lsq_analysis as lsq
        >>> index = lead_index(lsq.load_sample())
        >>> match_leads(index, index["lead_id"][0][:8]).height >= 1
        True
    """
    if "search" not in column_names(index):
        index = lead_index(index)
    words = query.strip().lower().split()
    wanted = [pl.col("search").str.contains(word, literal=True) for word in words]
    matches = (index.filter(*wanted) if wanted else index).head(limit)
    return matches if isinstance(matches, pl.DataFrame) else matches.collect()


def event_type_counts(df: Frame) -> pl.DataFrame:
    """Event types with their number of activities: what ``EventPicker`` lists.

    Each code is named by :func:`lsq_analysis.vocabulary.event_labels` (audit-log rows, code
    3011, carry the *changed* activity's name, so they are listed as one "Audit log" type).

    Args:
        df: The expanded activity frame, eager or lazy (only ``event_code`` and
            ``event_name`` are read).

    Returns:
        Columns ``event_code`` (Int32), ``event_name``, ``n_activities``; most frequent first.

    Example:
        >>> import lsq_analysis as lsq
        >>> counts = event_type_counts(lsq.load_sample())
        >>> counts.columns
        ['event_code', 'event_name', 'n_activities']
    """
    counts = df.lazy().group_by("event_code").agg(pl.len().cast(pl.Int64).alias("n_activities"))
    return (
        event_labels(df)
        .lazy()
        .rename({"event": "event_name"})
        .join(counts, on="event_code", how="inner")
        .sort(["n_activities", "event_code"], descending=[True, False])
        .collect()
    )


def date_bounds(df: Frame) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day (UTC) holding an activity: the ``DateRangePicker`` bounds.

    ``df`` may be a LazyFrame: only the minimum and maximum of ``created_on`` are read.

    Example:
        >>> import lsq_analysis as lsq
        >>> first, last = date_bounds(lsq.load_sample())
        >>> first <= last
        True
    """
    if isinstance(df, pl.DataFrame):
        if df.is_empty():
            return None, None
        first, last = df["created_on"].min(), df["created_on"].max()
    else:
        created = pl.col("created_on")
        first, last = df.select(created.min(), created.max().alias("_last")).collect().row(0)
    if not isinstance(first, dt.datetime) or not isinstance(last, dt.datetime):
        return None, None
    return first.date(), last.date()


def select_activities(
    df: Frame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """The activities the explorer shows: the shared filter, oldest first.

    ``events`` takes codes and names alike; ``end`` is exclusive, as everywhere (the explorer
    passes the midnight after its "to" day, so that day is included).

    Args:
        df: The expanded activity frame, eager or lazy (filtered and sorted before it is
            collected).
        leads: A lead id or ids; ``None`` keeps every lead.
        events: Event codes or names; ``None`` keeps every event type.
        start: Kept from this time or date (UTC), or ``None``.
        end: Kept before this time or date (UTC), or ``None``.

    Returns:
        The matching rows, oldest first (ties in the frame's order).

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> one = select_activities(df, leads=df["lead_id"][0], events=["Email Opened"])
        >>> set(one["event_code"]) <= {0}
        True
    """
    require_columns(df, ["lead_id", "event_code", "event_name", "created_on"], "select_activities")
    rows = filtered(df, leads=leads, events=events, start=start, end=end).collect()
    # every column is returned: sorted once collected (faster than in the streaming engine);
    # ties keep the frame's order
    return rows.sort(["created_on", "lead_id"], nulls_last=True, maintain_order=True)


def activity_table(df: Frame, *, max_rows: int | None = 200) -> pl.DataFrame:
    """The selected activities with only their non-empty expanded fields, newest first.

    Args:
        df: Activities, e.g. from :func:`select_activities`; a LazyFrame is read twice, once
            for which expanded columns hold a value and once for the shown columns and rows.
        max_rows: Keep at most this many (the newest); ``None`` keeps all.

    Returns:
        ``created_on``, ``lead_id``, ``event_code``, ``event_name``, ``activity_score`` and each
        ``data.*`` / ``fields.*`` column holding at least one value in ``df``.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> table = activity_table(select_activities(df, leads=df["lead_id"][0]))
        >>> table.columns[:3]
        ['created_on', 'lead_id', 'event_code']
    """
    columns = column_names(df)
    core: list[str] = [
        c
        for c in ("created_on", "lead_id", "event_code", "event_name", "activity_score")
        if c in columns
    ]
    expanded = [c for c in columns if _expanded_key(c) is not None]
    if expanded:
        if isinstance(df, pl.DataFrame):
            used = [nulls < df.height for nulls in df.select(expanded).null_count().row(0)]
        else:
            used = list(df.select(pl.col(expanded).is_not_null().any()).collect().row(0))
        expanded = [c for c, holds in zip(expanded, used, strict=True) if holds]
    table = df.lazy().select(core + expanded)
    # ties keep the frame's order, whatever the source's batches; every row is sorted once
    # collected (faster than in the streaming engine), the newest few are picked lazily
    if max_rows is None:
        return table.collect().sort(
            "created_on", descending=True, nulls_last=True, maintain_order=True
        )
    newest = table.sort("created_on", descending=True, nulls_last=True, maintain_order=True)
    return newest.head(max_rows).collect()
