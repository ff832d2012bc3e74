"""Each lead's activities in order: the gaps between them, what follows what, and sessions.

Within a lead, activities are ordered by ``created_on``; ties keep the frame's order. All
take the shared filters of :mod:`lsq_analysis.analysis`; with ``events``, "consecutive"
means consecutive among the selected events.

Example:
    >>> import lsq_analysis as lsq
    >>> bool((lsq.gaps(lsq.load_sample())["gap_hours"] >= 0).all())
    True
"""

from __future__ import annotations

import polars as pl

from ..vocabulary import (
    DurationLike,
    Events,
    Frame,
    Leads,
    TimeBound,
    event_labels,
    to_timedelta,
)
from .prepare import hours, lead_starts, prepared, with_label

__all__ = ["gaps", "sessions", "transitions"]


def _pairs(
    df: Frame,
    function: str,
    leads: Leads,
    events: Events,
    start: TimeBound,
    end: TimeBound,
    *,
    ids: bool = True,
) -> pl.LazyFrame:
    """Consecutive activity pairs of each lead (from → to): times, codes and (``ids``) ids."""
    base = prepared(df, function, ["activity_id"] if ids else [], leads, events, start, end)
    same_lead = pl.col("lead_id") == pl.col("lead_id").shift(-1)
    id_columns = (
        [
            pl.col("activity_id").alias("from_activity_id"),
            pl.col("activity_id").shift(-1).alias("to_activity_id"),
        ]
        if ids
        else []
    )
    return (
        base.select(
            "lead_id",
            *id_columns,
            pl.col("created_on").alias("from_time"),
            pl.col("created_on").shift(-1).alias("to_time"),
            pl.col("event_code").alias("from_event_code"),
            pl.col("event_code").shift(-1).alias("to_event_code"),
            same_lead.alias("_same"),
        )
        .filter(pl.col("_same").fill_null(False))
        .drop("_same")
    )


def gaps(
    df: Frame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Time between each pair of consecutive activities of a lead, with the two events.

    With ``events`` the pairs are consecutive among the selected events only.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        One row per pair (a lead with n activities gives n - 1): ``lead_id``,
        ``from_activity_id``, ``to_activity_id``, ``from_time``, ``to_time``,
        ``from_event_code``, ``from_event``, ``to_event_code``, ``to_event``, ``gap``
        (Duration), ``gap_hours`` (Float64); sorted by lead and time.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> lsq.gaps(df).height == df.height - df["lead_id"].n_unique()
        True
    """
    labels = event_labels(df)
    out = _pairs(df, "gaps", leads, events, start, end).with_columns(
        (pl.col("to_time") - pl.col("from_time")).alias("gap")
    )
    out = with_label(out, labels, "from_event_code", "from_event")
    out = with_label(out, labels, "to_event_code", "to_event")
    return out.select(
        "lead_id",
        "from_activity_id",
        "to_activity_id",
        "from_time",
        "to_time",
        "from_event_code",
        "from_event",
        "to_event_code",
        "to_event",
        "gap",
        hours(pl.col("gap")).alias("gap_hours"),
    ).collect()


def transitions(
    df: Frame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """How often one event is directly followed by another within a lead.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`). With
            ``events`` the transitions are between consecutive selected events (others are
            skipped).

    Returns:
        ``from_event_code``, ``from_event``, ``to_event_code``, ``to_event``, ``n_transitions``,
        ``n_leads``, ``share`` (of all transitions out of ``from_event``),
        ``median_gap_hours``; sorted by ``n_transitions`` (highest first), then codes.

    Example:
        >>> import lsq_analysis as lsq
        >>> moves = lsq.transitions(lsq.load_sample())
        >>> moves["n_transitions"].is_sorted(descending=True)
        True
    """
    labels = event_labels(df)
    # leads numbered in sorted order: integer keys are cheaper to compare and count than ids
    first_row = lead_starts()
    pairs = (
        prepared(df, "transitions", [], leads, events, start, end)
        .select(
            first_row.cast(pl.UInt32).cum_sum().alias("_lead"),
            pl.col("event_code").alias("from_event_code"),
            pl.col("event_code").shift(-1).alias("to_event_code"),
            (pl.col("created_on").shift(-1) - pl.col("created_on")).alias("_gap"),
        )
        .filter(pl.col("_lead") == pl.col("_lead").shift(-1))
    )
    out = (
        pairs.group_by("from_event_code", "to_event_code")
        .agg(
            pl.len().cast(pl.Int64).alias("n_transitions"),
            pl.col("_lead").n_unique().cast(pl.Int64).alias("n_leads"),
            hours(pl.col("_gap")).median().alias("median_gap_hours"),
        )
        .with_columns(
            (pl.col("n_transitions") / pl.col("n_transitions").sum().over("from_event_code")).alias(
                "share"
            )
        )
    )
    out = with_label(out, labels, "from_event_code", "from_event")
    out = with_label(out, labels, "to_event_code", "to_event")
    return (
        out.select(
            "from_event_code",
            "from_event",
            "to_event_code",
            "to_event",
            "n_transitions",
            "n_leads",
            "share",
            "median_gap_hours",
        )
        .sort(
            ["n_transitions", "from_event_code", "to_event_code"], descending=[True, False, False]
        )
        .collect()
    )


def sessions(
    df: Frame,
    gap: DurationLike = "30m",
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Group each lead's activities into sessions separated by quiet periods.

    A new session starts at a lead's first activity and at every activity that comes more
    than ``gap`` after the previous one (a pause of exactly ``gap`` stays in the session).

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        gap: the longest pause inside a session: a ``timedelta`` or ``"30m"``, ``"2h"``...
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        One row per session: ``lead_id``, ``session`` (1, 2, ... within the lead),
        ``start``, ``end``, ``duration``, ``duration_minutes``, ``n_activities``,
        ``n_event_types``, ``total_score``, ``first_event``, ``last_event``; sorted by lead
        and start.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> visits = lsq.sessions(df, gap="1h")
        >>> int(visits["n_activities"].sum()) == df.height
        True
    """
    pause = to_timedelta(gap, "gap")
    # collected first: the sorted frame makes the rest cheap (lazily it was slower)
    base = prepared(df, "sessions", ["activity_score"], leads, events, start, end).collect().lazy()
    first_row = lead_starts()
    pause_before = (pl.col("created_on") - pl.col("created_on").shift(1)) > pause
    sid = (first_row | pause_before).cast(pl.Int64).cum_sum()
    out = (
        base.with_columns(sid.alias("_sid"), first_row.alias("_lead_start"))
        .with_columns(
            # sessions are numbered in order, so a lead's session k is its first session + k - 1
            pl.col("_sid").set_sorted(),
            pl.when("_lead_start").then(pl.col("_sid")).forward_fill().alias("_first_sid"),
        )
        .group_by("_sid", maintain_order=True)
        .agg(
            pl.col("lead_id").first(),
            (pl.col("_sid").first() - pl.col("_first_sid").first() + 1).alias("session"),
            pl.col("created_on").first().alias("start"),
            pl.col("created_on").last().alias("end"),
            pl.len().cast(pl.Int64).alias("n_activities"),
            pl.col("event_code").n_unique().cast(pl.Int64).alias("n_event_types"),
            pl.col("activity_score").sum().alias("total_score"),
            pl.col("event_code").first().alias("_first_code"),
            pl.col("event_code").last().alias("_last_code"),
        )
        .with_columns((pl.col("end") - pl.col("start")).alias("duration"))
    )
    labels = event_labels(df)
    out = with_label(out, labels, "_first_code", "first_event")
    out = with_label(out, labels, "_last_code", "last_event")
    return out.select(
        "lead_id",
        "session",
        "start",
        "end",
        "duration",
        (hours(pl.col("duration")) * 60).alias("duration_minutes"),
        "n_activities",
        "n_event_types",
        "total_score",
        "first_event",
        "last_event",
    ).collect()
