"""What every analysis does first: check, filter and sort the frame, and label event codes.

The analyses in :mod:`lsq_analysis.analysis` share these helpers; the filters themselves
(leads, events, time window) are the vocabulary's (:func:`lsq_analysis.vocabulary.filtered`).

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.analysis.prepare import prepared
    >>> prepared(lsq.load_sample(), "f", [], None, "Email Opened", None, None).collect().height > 0
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from ..vocabulary import Events, Frame, Leads, TimeBound, column_names, filtered, require_columns

__all__ = [
    "US_PER_HOUR",
    "cum_sum_by_lead",
    "hours",
    "in_zone",
    "latest_value",
    "lead_segments",
    "lead_starts",
    "prepared",
    "segment_keys",
    "with_label",
]

US_PER_HOUR = 3_600_000_000
"""Microseconds in an hour: durations are read with ``dt.total_microseconds()``."""


def prepared(
    df: Frame,
    function: str,
    columns: Sequence[str],
    leads: Leads,
    events: Events,
    start: TimeBound,
    end: TimeBound,
    *,
    ordered: bool = True,
) -> pl.LazyFrame:
    """The filtered frame narrowed to what ``function`` needs, sorted by lead and time.

    ``df`` may be a DataFrame or a LazyFrame (a ``pl.scan_delta(...)``): the result is lazy
    either way, with the filters and the column selection pushed down to the scan.
    The columns are ``lead_id``, ``created_on``, ``event_code`` and ``columns``; a missing
    ``activity_score`` counts 0. With ``ordered`` the rows are sorted by lead, then time,
    ties keeping the frame's order.

    Raises:
        ValueError: ``df`` lacks a column of the expanded frame that ``function`` needs.

    Example:
        >>> import lsq_analysis as lsq
        >>> lazy = prepared(lsq.load_sample(), "f", ["activity_score"], None, None, None, None)
        >>> lazy.collect_schema().names()
        ['lead_id', 'created_on', 'event_code', 'activity_score']
    """
    needed = ["lead_id", "created_on", "event_code", *columns]
    require_columns(df, [*needed, "event_name"], function)
    wanted = list(dict.fromkeys(needed))
    lazy = filtered(df, leads=leads, events=events, start=start, end=end).select(wanted)
    if "activity_score" in wanted:
        lazy = lazy.with_columns(pl.col("activity_score").cast(pl.Int64).fill_null(0))
    if ordered:
        # the row number breaks ties in frame order; cheaper than a stable sort (maintain_order)
        lazy = lazy.with_row_index("_row").sort(["lead_id", "created_on", "_row"]).drop("_row")
    return lazy


def segment_keys(
    df: Frame,
    by: str | Sequence[str] | None,
    function: str,
    reserved: Iterable[str] = (),
    virtual: Sequence[str] = (),
) -> list[str]:
    """The ``by=`` columns of ``function`` as a list (each once, in the order given), checked.

    ``by`` names columns of the activity frame, ``lead.<attribute>`` ones included once
    :func:`lsq_analysis.with_leads` has joined them, or a ``virtual`` key that ``function``
    derives itself (``event_counts``' ``"event"``); ``None`` is no segment (``[]``).

    Raises:
        ValueError: ``df`` lacks a ``by`` column (a ``lead.`` one: call ``with_leads``
            first), or ``by`` names a column in ``reserved`` (an output column of
            ``function``).

    Example:
        >>> import lsq_analysis as lsq
        >>> segment_keys(lsq.load_sample(), "event_name", "f")
        ['event_name']
        >>> try:
        ...     segment_keys(lsq.load_sample(), "lead.source", "f")
        ... except ValueError as error:
        ...     print("with_leads" in str(error))
        True
    """
    if by is None:
        return []
    keys = list(dict.fromkeys([by] if isinstance(by, str) else by))
    if not all(isinstance(key, str) for key in keys):
        raise ValueError(f"{function}(): by= takes column names (strings), not {by!r}")
    have = set(column_names(df))
    missing = [key for key in keys if key not in have and key not in virtual]
    if missing:
        also = "".join(f" or {v!r}" for v in virtual)
        hint = (
            "lead. columns come from the leads: call lsq.with_leads(df, lsq.leads_frame(leads)) "
            "first"
            if any(key.startswith("lead.") for key in missing)
            else f"use columns of the activity frame (event_name, data.*, fields.*, ...){also}"
        )
        raise ValueError(f"{function}(): by= names unknown column(s) {missing}; {hint}")
    clash = [key for key in keys if key in set(reserved)]
    if clash:
        raise ValueError(
            f"{function}(): by= cannot use {clash}: {function}() has output column(s) of that "
            "name already"
        )
    return keys


def latest_value(column: str) -> pl.Expr:
    """In an aggregation per lead, the lead's latest non-null ``column`` (null if none).

    Latest by ``created_on``; on a tie the later row of the frame.

    Example:
        >>> frame = pl.DataFrame({"lead_id": ["a"] * 3, "created_on": [1, 2, 3],
        ...                       "stage": ["New", "Won", None]})
        >>> frame.group_by("lead_id").agg(latest_value("stage"))["stage"].to_list()
        ['Won']
    """
    return pl.col(column).sort_by("created_on", maintain_order=True).drop_nulls().last()


def lead_segments(lazy: pl.LazyFrame, keys: Sequence[str]) -> pl.LazyFrame:
    """One row per lead of ``lazy``: ``lead_id`` and its :func:`latest_value` of each key.

    ``lazy`` holds ``lead_id``, ``created_on`` and the keys (a :func:`prepared` frame).

    Example:
        >>> frame = pl.LazyFrame({"lead_id": ["a", "a", "b"], "created_on": [1, 2, 1],
        ...                       "lead.source": ["Ads", "Ads", None]})
        >>> lead_segments(frame, ["lead.source"]).sort("lead_id").collect().rows()
        [('a', 'Ads'), ('b', None)]
    """
    values = [key for key in keys if key != "lead_id"]
    return lazy.group_by("lead_id").agg([latest_value(key) for key in values])


def with_label(
    lazy: pl.LazyFrame, labels: pl.DataFrame, code: str = "event_code", label: str = "event"
) -> pl.LazyFrame:
    """Add the display label of the code column ``code`` as column ``label``.

    ``labels`` is :func:`lsq_analysis.vocabulary.event_labels` of the frame.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> out = with_label(df.lazy(), lsq.event_labels(df)).collect()
        >>> out.filter(pl.col("event_code") == 3011)["event"][0]
        'Audit log'
    """
    return lazy.with_columns(
        pl.col(code)
        .replace_strict(labels["event_code"], labels["event"], default=None, return_dtype=pl.Utf8)
        .alias(label)
    )


def lead_starts() -> pl.Expr:
    """True on the first row of each lead, for a frame sorted by lead.

    Example:
        >>> pl.DataFrame({"lead_id": ["a", "a", "b"]}).select(lead_starts())["lead_id"].to_list()
        [True, False, True]
    """
    return (pl.col("lead_id") != pl.col("lead_id").shift(1)).fill_null(True)


def cum_sum_by_lead(column: str) -> pl.Expr:
    """Running total of ``column`` restarting at each lead, for a frame sorted by lead.

    Same result as ``cum_sum().over("lead_id")``, without hashing the lead ids.

    Example:
        >>> frame = pl.DataFrame({"lead_id": ["a", "a", "b"], "n": [1, 2, 5]})
        >>> frame.select(cum_sum_by_lead("n"))["n"].to_list()
        [1, 3, 5]
    """
    running = pl.col(column).cum_sum()
    before_lead = pl.when(lead_starts()).then(running - pl.col(column)).forward_fill()
    return running - before_lead


def hours(expr: pl.Expr) -> pl.Expr:
    """A Duration expression in hours (Float64).

    Example:
        >>> import datetime as dt
        >>> pl.select(hours(pl.lit(dt.timedelta(minutes=90)))).item()
        1.5
    """
    return expr.dt.total_microseconds().cast(pl.Float64) / US_PER_HOUR


def in_zone(expr: pl.Expr, tz: str) -> pl.Expr:
    """A UTC Datetime expression converted to the time zone ``tz`` (unchanged for UTC).

    Example:
        >>> import datetime as dt
        >>> when = pl.lit(dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc))
        >>> pl.select(in_zone(when, "Asia/Kolkata").dt.hour()).item()
        5
    """
    return expr.dt.convert_time_zone(tz) if tz != "UTC" else expr
