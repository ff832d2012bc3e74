"""How many activities: counts per group, one summary row per lead, a weekday-by-hour grid.

All take the shared filters of :mod:`lsq_analysis.analysis`.

Example:
    >>> import lsq_analysis as lsq
    >>> int(lsq.event_counts(lsq.load_sample())["n_activities"].sum()) == lsq.load_sample().height
    True
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
    check_zone,
    event_labels,
    filtered,
    to_utc,
)
from .prepare import US_PER_HOUR, in_zone, latest_value, prepared, segment_keys, with_label

__all__ = ["WEEKDAY_NAMES", "activity_heatmap", "event_counts", "lead_summary"]

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
"""Short weekday names, Monday first (``weekday`` 1-7 of :func:`activity_heatmap`)."""

_US_PER_DAY = 24 * US_PER_HOUR


def event_counts(
    df: Frame,
    by: Sequence[str] = ("lead_id", "event_name"),
    every: str | None = None,
    *,
    tz: str = "UTC",
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Number of activities per group (by default per lead and event).

    ``by`` may name any column of the frame (``lead.<attribute>`` columns too, once
    :func:`lsq_analysis.with_leads` has joined them), plus the virtual column ``"event"`` (the
    display label of the event code). Each activity counts under its own row's values; a null
    value is a group of its own (sorted last), not dropped. When ``by`` holds ``"event_name"``
    but not ``"event_code"``, ``event_code`` is added to the keys, so audit-log rows (code
    3011, whose ``event_name`` is the changed type's name) are never counted as the activity
    type they changed.

    Args:
        df: the expanded activity frame, eager or lazy (only the key columns are read).
        by: grouping columns, in output order.
        every: optional time bucket (``"1d"``, ``"1w"``, ``"1mo"``...); adds a ``created_on``
            key holding each bucket's start.
        tz: time zone of the buckets and of the output ``created_on``.
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        The key columns, then ``n_activities`` (Int64), sorted by the keys (nulls last).

    Raises:
        ValueError: ``by`` names a column the frame lacks (for a ``lead.`` column: call
            ``with_leads`` first), or neither ``by`` nor ``every`` is given.

    Example:
        >>> import lsq_analysis as lsq
        >>> weekly = lsq.event_counts(lsq.load_sample(), by=["event"], every="1w")
        >>> weekly.columns
        ['event', 'created_on', 'n_activities']
    """
    check_zone(tz)
    keys = segment_keys(df, by, "event_counts", virtual=("event",))
    if not keys and every is None:
        raise ValueError("event_counts(): give at least one column in by= or a bucket in every=")
    if "event_name" in keys and "event_code" not in keys:
        keys.insert(keys.index("event_name"), "event_code")
    real = [k for k in keys if k != "event"]
    lazy = filtered(df, leads=leads, events=events, start=start, end=end)
    cols = list(dict.fromkeys([*real, "event_code", "created_on"]))
    lazy = lazy.select(cols)
    if "event" in keys:
        lazy = with_label(lazy, event_labels(df))
    if every is not None:
        lazy = lazy.with_columns(in_zone(pl.col("created_on"), tz).dt.truncate(every))
        keys = [*keys, "created_on"] if "created_on" not in keys else keys
    out = (
        lazy.group_by(keys)
        .agg(pl.len().cast(pl.Int64).alias("n_activities"))
        .sort(keys, nulls_last=True)
    )
    return out.collect()


_SUMMARY_COLUMNS = (
    "lead_id",
    "first_activity",
    "last_activity",
    "n_activities",
    "n_event_types",
    "total_score",
    "days_active",
    "span_days",
    "last_event_code",
    "last_event",
    "days_since_last",
)


def lead_summary(
    df: Frame,
    *,
    by: str | Sequence[str] | None = None,
    now: dt.datetime | str | None = None,
    tz: str = "UTC",
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """One row per lead: when it was active, how much, and how recently.

    Args:
        df: the expanded activity frame, eager or lazy (only ``lead_id``, ``created_on``,
            ``event_code``, ``activity_score``, the ``by`` columns and, for the labels,
            ``event_name`` are read).
        by: segment column(s) to add after ``lead_id``: any column of the frame, such as
            ``"lead.source"`` after :func:`lsq_analysis.with_leads`. Each holds the lead's
            latest non-null value among its selected activities (null if it has none), so a
            lead stays one row whatever its values; a ``lead.`` attribute is the lead's own.
        now: the moment ``days_since_last`` is measured from. Default: the latest
            ``created_on`` in the whole (unfiltered) frame, so results do not depend on when
            they are computed; the current UTC time if the frame has no times.
        tz: time zone whose calendar days ``days_active`` counts.
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        ``lead_id``, the ``by`` columns, ``first_activity``, ``last_activity``, ``n_activities``,
        ``n_event_types`` (distinct codes), ``total_score``, ``days_active`` (distinct calendar
        days with an activity), ``span_days`` (last minus first, in days), ``last_event_code``,
        ``last_event``, ``days_since_last`` (``now`` minus last activity, in days). Sorted by
        engagement: total score, then number of activities, then the most recent last
        activity (all descending), then lead id.

    Raises:
        ValueError: ``by`` names a column the frame lacks (a ``lead.`` one: call
            ``with_leads`` first) or one of the output columns (``lead_id``...).

    Example:
        >>> import lsq_analysis as lsq
        >>> lsq.lead_summary(lsq.load_sample(), by="event_name").columns[:2]
        ['lead_id', 'event_name']
        >>> summary = lsq.lead_summary(lsq.load_sample(), now="2025-07-01")
        >>> summary.columns[:4]
        ['lead_id', 'first_activity', 'last_activity', 'n_activities']
        >>> bool((summary["days_since_last"] > 0).all())
        True
    """
    check_zone(tz)
    keys = segment_keys(df, by, "lead_summary", reserved=_SUMMARY_COLUMNS)
    base = prepared(
        df, "lead_summary", ["activity_score", *keys], leads, events, start, end, ordered=False
    )
    moment: pl.Expr
    if now is not None:
        moment = pl.lit(to_utc(now, "now"))
    elif all(f is None for f in (leads, events, start, end)):
        # unfiltered, the frame's latest time is the latest last_activity: no second pass
        moment = pl.col("last_activity").max()
    else:
        latest = df.lazy().select(pl.col("created_on").max()).collect().item()
        when = latest if isinstance(latest, dt.datetime) else dt.datetime.now(dt.timezone.utc)
        moment = pl.lit(to_utc(when, "now"))
    last_idx = pl.col("created_on").arg_max()
    out = (
        base.group_by("lead_id")
        .agg(
            pl.col("created_on").min().alias("first_activity"),
            pl.col("created_on").max().alias("last_activity"),
            pl.len().cast(pl.Int64).alias("n_activities"),
            pl.col("event_code").n_unique().cast(pl.Int64).alias("n_event_types"),
            pl.col("activity_score").sum().alias("total_score"),
            in_zone(pl.col("created_on"), tz)
            .dt.date()
            .n_unique()
            .cast(pl.Int64)
            .alias("days_active"),
            pl.col("event_code").get(last_idx).alias("last_event_code"),
            *[latest_value(key).alias(f"_by{i}") for i, key in enumerate(keys)],
        )
        .with_columns(
            (
                (pl.col("last_activity") - pl.col("first_activity"))
                .dt.total_microseconds()
                .cast(pl.Float64)
                / _US_PER_DAY
            ).alias("span_days"),
            (
                (moment - pl.col("last_activity")).dt.total_microseconds().cast(pl.Float64)
                / _US_PER_DAY
            ).alias("days_since_last"),
        )
    )
    out = with_label(out, event_labels(df), code="last_event_code", label="last_event")
    segments = [pl.col(f"_by{i}").alias(key) for i, key in enumerate(keys)]
    out = out.select(_SUMMARY_COLUMNS[0], *segments, *_SUMMARY_COLUMNS[1:]).sort(
        ["total_score", "n_activities", "last_activity", "lead_id"],
        descending=[True, True, True, False],
    )
    return out.collect()


def activity_heatmap(
    df: Frame,
    *,
    tz: str = "UTC",
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Activity counts by weekday and hour of day, in a chosen time zone.

    Args:
        df: the expanded activity frame, eager or lazy (only ``created_on`` is counted).
        tz: IANA time zone in which weekday and hour are read (``"Asia/Kolkata"``...).
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        All 168 cells, zeros included: ``weekday`` (1 = Monday ... 7 = Sunday),
        ``weekday_name`` ("Mon" ...), ``hour`` (0-23), ``n_activities`` (Int64); sorted by weekday
        and hour.

    Example:
        >>> import lsq_analysis as lsq
        >>> grid = lsq.activity_heatmap(lsq.load_sample(), tz="Asia/Kolkata")
        >>> grid.height
        168
    """
    check_zone(tz)
    local = in_zone(pl.col("created_on"), tz)
    counts = (
        prepared(df, "activity_heatmap", [], leads, events, start, end, ordered=False)
        .select(
            local.dt.weekday().cast(pl.Int8).alias("weekday"),
            local.dt.hour().cast(pl.Int8).alias("hour"),
        )
        .group_by("weekday", "hour")
        .agg(pl.len().cast(pl.Int64).alias("n_activities"))
    )
    grid = pl.LazyFrame(
        {
            "weekday": pl.Series([d for d in range(1, 8) for _ in range(24)], dtype=pl.Int8),
            "weekday_name": [WEEKDAY_NAMES[d - 1] for d in range(1, 8) for _ in range(24)],
            "hour": pl.Series(list(range(24)) * 7, dtype=pl.Int8),
        }
    )
    return (
        grid.join(counts, on=["weekday", "hour"], how="left", maintain_order="left")
        .with_columns(pl.col("n_activities").fill_null(0))
        .collect()
    )
