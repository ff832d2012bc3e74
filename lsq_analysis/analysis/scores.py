"""Activity scores: each lead's running total over time, and the score each event type earns.

Both take the shared filters of :mod:`lsq_analysis.analysis`; a missing ``activity_score``
counts 0.

Example:
    >>> import lsq_analysis as lsq
    >>> lsq.score_over_time(lsq.load_sample())["cumulative_score"].min() >= 0
    True
"""

from __future__ import annotations

import polars as pl

from ..vocabulary import Events, Frame, Leads, TimeBound, check_zone, event_labels
from .prepare import cum_sum_by_lead, in_zone, prepared, with_label

__all__ = ["score_by_event", "score_over_time"]


def score_over_time(
    df: Frame,
    every: str | None = None,
    *,
    tz: str = "UTC",
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Cumulative ``activity_score`` of each lead over time.

    The running total starts at 0 at the first selected activity, so with ``events`` or
    ``start`` it is the score earned by the selected activities only. A missing score counts 0.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        every: ``None`` for one row per activity, or a bucket size in polars' duration language
            (``"1h"``, ``"1d"``, ``"1w"``, ``"1mo"``) for one row per lead and bucket that had
            activities (buckets without activity are left out; the total is unchanged there).
        tz: time zone of the output times and of the bucket boundaries.
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        With ``every=None``: ``lead_id``, ``created_on``, ``event_code``, ``event``,
        ``activity_score``, ``cumulative_score``, sorted by lead and time. With ``every``:
        ``lead_id``, ``created_on`` (bucket start), ``n_activities``, ``score`` (sum in the
        bucket), ``cumulative_score``.

    Example:
        >>> import lsq_analysis as lsq
        >>> daily = lsq.score_over_time(lsq.load_sample(), every="1d")
        >>> daily.columns
        ['lead_id', 'created_on', 'n_activities', 'score', 'cumulative_score']
    """
    check_zone(tz)
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
