"""What the pickers and the explorer list and show, as plain polars functions.

Each widget of :mod:`lsq_analysis.widgets` is a thin layer over one of these (its headless
twin), so its logic is tested without a browser:

| function | behind |
| --- | --- |
| :func:`lead_index`, :func:`find_leads` | ``LeadPicker`` |
| :func:`event_type_counts` | ``EventPicker`` |
| :func:`date_bounds` | ``DateRangePicker`` |
| :func:`select_activities`, :func:`activity_table` | ``Explorer`` |

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.analysis.selection import find_leads, lead_index
    >>> index = lead_index(lsq.load_sample())
    >>> find_leads(index, "", limit=3).height
    3
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from ..vocabulary import Events, Leads, TimeBound, event_labels, filter_activities

__all__ = [
    "activity_table",
    "date_bounds",
    "event_type_counts",
    "find_leads",
    "lead_index",
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


def _columns_for(df: pl.DataFrame, keys: Sequence[str]) -> list[str]:
    """Expanded string columns whose key is one of ``keys``, in the order of ``keys``."""
    found: list[tuple[int, str]] = []
    for column, dtype in df.schema.items():
        key = _expanded_key(column)
        if key in keys and dtype == pl.String:
            found.append((keys.index(key), column))
    return [column for _, column in sorted(found)]


def lead_index(df: pl.DataFrame) -> pl.DataFrame:
    """One row per lead: what ``LeadPicker`` searches and shows (its headless twin).

    The name and e-mail come from whatever the data holds (``data.FullName``,
    ``data.EmailAddress``, ``fields.Email``, ...), taking each lead's most recent non-empty value.

    Args:
        df: The expanded activity frame (needs ``lead_id`` and ``created_on``).

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

    names = _columns_for(df, _NAME_KEYS)
    emails = _columns_for(df, _EMAIL_KEYS)
    # an "Email" field may hold something else in some event types: keep real addresses only
    addresses = [
        pl.when(pl.col(c).str.contains("@", literal=True)).then(pl.col(c)).alias(c) for c in emails
    ]
    index = (
        df.select(["lead_id", "created_on", *names, *addresses])
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
    return index


def find_leads(index: pl.DataFrame, query: str = "", *, limit: int = 50) -> pl.DataFrame:
    """The leads whose id, name or e-mail contains ``query`` (any case), most active first.

    Args:
        index: A frame from :func:`lead_index`.
        query: Part of a lead id, a name or an e-mail address; blank matches every lead.
        limit: At most this many rows.

    Returns:
        The matching rows of ``index``.

    Example:
        >>> import lsq_analysis as lsq
        >>> index = lead_index(lsq.load_sample())
        >>> find_leads(index, index["lead_id"][0][:8]).height >= 1
        True
    """
    words = query.strip().lower().split()
    matches = index
    for word in words:
        matches = matches.filter(pl.col("search").str.contains(word, literal=True))
    return matches.head(limit)


def event_type_counts(df: pl.DataFrame) -> pl.DataFrame:
    """Event types with their number of activities: what ``EventPicker`` lists.

    Each code is named by :func:`lsq_analysis.vocabulary.event_labels` (audit-log rows, code
    3011, carry the *changed* activity's name, so they are listed as one "Audit log" type).

    Args:
        df: The expanded activity frame.

    Returns:
        Columns ``event_code`` (Int32), ``event_name``, ``n_activities``; most frequent first.

    Example:
        >>> import lsq_analysis as lsq
        >>> counts = event_type_counts(lsq.load_sample())
        >>> counts.columns
        ['event_code', 'event_name', 'n_activities']
    """
    counts = df.group_by("event_code").agg(pl.len().cast(pl.Int64).alias("n_activities"))
    return (
        event_labels(df)
        .rename({"event": "event_name"})
        .join(counts, on="event_code", how="inner")
        .sort(["n_activities", "event_code"], descending=[True, False])
    )


def date_bounds(df: pl.DataFrame) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day (UTC) holding an activity: the ``DateRangePicker`` bounds.

    Example:
        >>> import lsq_analysis as lsq
        >>> first, last = date_bounds(lsq.load_sample())
        >>> first <= last
        True
    """
    if df.is_empty():
        return None, None
    created = df["created_on"].drop_nulls()
    if created.is_empty():
        return None, None
    return created.min().date(), created.max().date()  # type: ignore[union-attr]


def select_activities(
    df: pl.DataFrame,
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
        df: The expanded activity frame.
        leads: A lead id or ids; ``None`` keeps every lead.
        events: Event codes or names; ``None`` keeps every event type.
        start: Kept from this time or date (UTC), or ``None``.
        end: Kept before this time or date (UTC), or ``None``.

    Returns:
        The matching rows, oldest first.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> one = select_activities(df, leads=df["lead_id"][0], events=["Email Opened"])
        >>> set(one["event_code"]) <= {0}
        True
    """
    return filter_activities(df, leads=leads, events=events, start=start, end=end).sort(
        ["created_on", "lead_id"], nulls_last=True
    )


def activity_table(df: pl.DataFrame, *, max_rows: int | None = 200) -> pl.DataFrame:
    """The selected activities with only their non-empty expanded fields, newest first.

    Args:
        df: Activities, e.g. from :func:`select_activities`.
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
    core: list[str] = [
        c
        for c in ("created_on", "lead_id", "event_code", "event_name", "activity_score")
        if c in df.columns
    ]
    expanded = [c for c in df.columns if _expanded_key(c) is not None]
    if expanded and df.height:
        null_counts = df.select(expanded).null_count().row(0)
        expanded = [c for c, nulls in zip(expanded, null_counts, strict=True) if nulls < df.height]
    else:
        expanded = []
    table = df.select(core + expanded).sort("created_on", descending=True, nulls_last=True)
    return table if max_rows is None else table.head(max_rows)
