"""Activity scores: each lead's running total over time, and the score each event type earns.

Both take the shared filters of :mod:`lsq_analysis.analysis`; a missing ``activity_score``
counts 0.

Example:
    >>> import lsq_analysis as lsq
    >>> lsq.score_over_time(lsq.load_sample())["cumulative_score"].min() >= 0
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ..vocabulary import Events, Frame, Leads, TimeBound, check_zone, event_labels
from .prepare import cum_sum_by_lead, in_zone, prepared, segment_keys, with_label

__all__ = ["score_by_event", "score_over_time"]


_SCORE_COLUMNS = (
    "created_on",
    "event",
    "activity_score",
    "cumulative_score",
    "n_leads",
    "n_activities",
    "score",
)
"""Output columns of score_over_time that no ``by`` column may take (``lead_id`` and
``event_code`` may: the rows are then per lead, or per event type)."""


def score_over_time(
    df: Frame,
    every: str | None = None,
    *,
    by: str | Sequence[str] | None = None,
    tz: str = "UTC",
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Cumulative ``activity_score`` of each lead (or of each segment, with ``by``) over time.

    The running total starts at 0 at the first selected activity, so with ``events`` or
    ``start`` it is the score earned by the selected activities only. A missing score counts 0.

    With ``by`` the totals are per segment instead of per lead: the score the segment's
    activities earned, summed over its leads, so segments compare directly on one chart and
    the segments' totals add up to the unsegmented total of each period. Each activity counts
    under its own row's value (for a ``lead.`` attribute that is the lead's), and a null value
    is a segment of its own. ``n_leads`` says how many leads a bucket's score came from, to
    read averages per lead. ``by="lead_id"`` gives the per-lead answer again.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        every: ``None`` for one row per activity, or a bucket size in polars' duration language
            (``"1h"``, ``"1d"``, ``"1w"``, ``"1mo"``) for one row per lead and bucket that had
            activities (buckets without activity are left out; the total is unchanged there).
        by: segment column(s): any column of the frame, such as ``"lead.source"`` after
            :func:`lsq_analysis.with_leads`, or ``"event_code"``.
        tz: time zone of the output times and of the bucket boundaries.
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        With ``every=None``: ``lead_id``, ``created_on``, ``event_code``, ``event``,
        ``activity_score``, ``cumulative_score``, sorted by lead and time. With ``every``:
        ``lead_id``, ``created_on`` (bucket start), ``n_activities``, ``score`` (sum in the
        bucket), ``cumulative_score``. With ``by``: the ``by`` columns first and the running
        total per segment; with ``every=None`` one row per activity, sorted by segment, time
        and lead (``lead_id``, ``created_on``, ``event_code``, ``event``, ``activity_score``,
        ``cumulative_score``, leaving out those already in ``by``); with ``every`` one row per
        segment and bucket: ``created_on``, ``n_leads``, ``n_activities``, ``score``,
        ``cumulative_score``. Segments sort nulls last.

    Raises:
        ValueError: ``by`` names a column the frame lacks (a ``lead.`` one: call
            ``with_leads`` first) or an output column (``created_on``, ``score``...).

    Example:
        >>> import lsq_analysis as lsq
        >>> daily = lsq.score_over_time(lsq.load_sample(), every="1d")
        >>> daily.columns
        ['lead_id', 'created_on', 'n_activities', 'score', 'cumulative_score']
        >>> lsq.score_over_time(lsq.load_sample(), every="1w", by="event_code").columns
        ['event_code', 'created_on', 'n_leads', 'n_activities', 'score', 'cumulative_score']
    """
    check_zone(tz)
    keys = segment_keys(df, by, "score_over_time", reserved=_SCORE_COLUMNS)
    if keys:
        return _segment_scores(df, keys, every, tz, leads, events, start, end)
    base = prepared(
        df, "score_over_time", ["activity_score"], leads, events, start, end
    ).with_columns(in_zone(pl.col("created_on"), tz))
    if every is None:
        labels = event_labels(df)
        out = with_label(base, labels).select(
            "lead_id",
            "created_on",
            "event_code",
            "event",
            "activity_score",
            cum_sum_by_lead("activity_score").alias("cumulative_score"),
        )
        return out.collect()
    out = (
        base.with_columns(pl.col("created_on").dt.truncate(every))
        .group_by("lead_id", "created_on", maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("n_activities"),
            pl.col("activity_score").sum().alias("score"),
        )
        .with_columns(cum_sum_by_lead("score").alias("cumulative_score"))
    )
    return out.collect()


def _segment_scores(
    df: Frame,
    keys: list[str],
    every: str | None,
    tz: str,
    leads: Leads,
    events: Events,
    start: TimeBound,
    end: TimeBound,
) -> pl.DataFrame:
    """score_over_time with ``by``: the running total per segment (see there)."""
    base = prepared(
        df, "score_over_time", ["activity_score", *keys], leads, events, start, end, ordered=False
    ).with_columns(in_zone(pl.col("created_on"), tz))
    if every is None:
        # the frame's row number breaks ties in time within a lead, as per lead
        ordered = base.with_row_index("_row").sort(
            [*keys, "created_on", "lead_id", "_row"], nulls_last=True
        )
        shown = ["lead_id", "created_on", "event_code", "event", "activity_score"]
        out = with_label(ordered, event_labels(df)).select(
            *keys,
            *[c for c in shown if c not in keys],
            pl.col("activity_score").cum_sum().over(keys).alias("cumulative_score"),
        )
        return out.collect()
    out = (
        base.with_columns(pl.col("created_on").dt.truncate(every))
        .group_by([*keys, "created_on"])
        .agg(
            pl.col("lead_id").n_unique().cast(pl.Int64).alias("n_leads"),
            pl.len().cast(pl.Int64).alias("n_activities"),
            pl.col("activity_score").sum().alias("score"),
        )
        .sort([*keys, "created_on"], nulls_last=True)
        .with_columns(pl.col("score").cum_sum().over(keys).alias("cumulative_score"))
    )
    return out.collect()


def score_by_event(
    df: Frame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Total and mean ``activity_score`` per event type.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        ``event_code``, ``event``, ``n_activities``, ``n_leads``, ``total_score``,
        ``mean_score``, ``share_of_score`` (this type's share of the summed score; null when
        the sum is 0), sorted by total score (highest first), then code.

    Example:
        >>> import lsq_analysis as lsq
        >>> by_event = lsq.score_by_event(lsq.load_sample())
        >>> by_event["total_score"].is_sorted(descending=True)
        True
    """
    base = prepared(
        df, "score_by_event", ["activity_score"], leads, events, start, end, ordered=False
    )
    out = (
        base.group_by("event_code")
        .agg(
            pl.len().cast(pl.Int64).alias("n_activities"),
            pl.col("lead_id").n_unique().cast(pl.Int64).alias("n_leads"),
            pl.col("activity_score").sum().alias("total_score"),
            pl.col("activity_score").mean().alias("mean_score"),
        )
        .with_columns(
            (
                pl.col("total_score")
                / pl.when(pl.col("total_score").sum() != 0).then(pl.col("total_score").sum())
            ).alias("share_of_score")
        )
    )
    out = with_label(out, event_labels(df)).select(
        "event_code",
        "event",
        "n_activities",
        "n_leads",
        "total_score",
        "mean_score",
        "share_of_score",
    )
    return out.sort(["total_score", "event_code"], descending=[True, False]).collect()
