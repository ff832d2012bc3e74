"""Analysis of the expanded activity frame: pure functions, DataFrame in, DataFrame out.

Every function takes the expanded frame built by :func:`lsq_analysis.activities_frame` (one row
per activity) and the same optional filters, described once here:

* ``leads``: one lead id or an iterable of them; only their activities are used.
* ``events``: one event or an iterable of events. An event is an event code (``222``, or the
  string ``"222"``) or an event name (``"WhatsApp Message"``). Names are matched against the
  display label of each code (see :func:`event_labels`) and against the ``event_name`` of
  non-log rows, so ``"WhatsApp Message"`` selects code 222 and not the audit-log rows (code
  3011) that carry the same name. ``"Audit log"`` or ``"Logs"`` select code 3011. An unknown
  name raises ``ValueError`` listing the known ones.
* ``start`` / ``end``: a ``datetime``, ``date`` or ISO string; ``created_on >= start`` and
  ``created_on < end`` (``end`` is exclusive). A value without a time zone is taken as UTC.

Times are ``created_on`` (UTC). Rows without ``created_on`` are ignored. Within a lead,
activities are ordered by ``created_on``; ties keep the frame's order. An event type is
identified by ``event_code``, because audit-log rows (code 3011) carry the name of the
activity type they changed in ``event_name``; output columns named ``event`` hold the display
label of a code (its most common name, ``"Audit log"`` for 3011; unique per code).

:func:`time_to_event` takes its two events positionally (``time_to_event(df, "Lead Capture",
"Email Opened")``); its ``start=`` / ``end=`` keywords are the date filters, as everywhere.

No function here plots or does HTTP; :mod:`lsq_analysis.charts` draws their results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from ..vocabulary import (
    LOG_EVENT_CODE,
    LOG_EVENT_LABEL,
    DurationLike,
    Event,
    Events,
    Leads,
    TimeBound,
    event_labels,
    filter_activities,
    filtered,
    resolve_events,
)
from ..vocabulary import check_zone as _check_zone
from ..vocabulary import require_columns as _require
from ..vocabulary import to_timedelta as _to_timedelta
from ..vocabulary import to_utc as _to_utc

__all__ = [
    "LOG_EVENT_CODE",
    "LOG_EVENT_LABEL",
    "activity_heatmap_data",
    "event_counts",
    "event_labels",
    "filter_activities",
    "funnel",
    "gaps",
    "lead_summary",
    "resolve_event_codes",
    "score_by_event",
    "score_over_time",
    "sessions",
    "time_to_event",
    "transitions",
]

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR


# ---------------------------------------------------------------------------- shared helpers


def resolve_event_codes(df: pl.DataFrame, events: Events) -> list[int]:
    """Event codes and names → the sorted, distinct codes they mean in this frame.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.analysis import resolve_event_codes
        >>> resolve_event_codes(lsq.load_sample(), ["WhatsApp Message", "audit log", 2001])
        [222, 2001, 3011]
    """
    return resolve_events(events, df)


def _filter_lazy(
    df: pl.DataFrame, leads: Leads, events: Events, start: TimeBound, end: TimeBound
) -> pl.LazyFrame:
    return filtered(df, leads=leads, events=events, start=start, end=end)


def _prepared(
    df: pl.DataFrame,
    function: str,
    columns: Sequence[str],
    leads: Leads,
    events: Events,
    start: TimeBound,
    end: TimeBound,
    *,
    ordered: bool = True,
) -> pl.LazyFrame:
    """Filtered narrow frame, sorted by lead and time (stable) when ``ordered``."""
    needed = ["lead_id", "created_on", "event_code", *columns]
    _require(df, [*needed, "event_name"], function)
    wanted = list(dict.fromkeys(needed))
    lazy = _filter_lazy(df, leads, events, start, end).select(wanted)
    if "activity_score" in wanted:
        lazy = lazy.with_columns(pl.col("activity_score").cast(pl.Int64).fill_null(0))
    if ordered:
        # the row number breaks ties in frame order; cheaper than a stable sort (maintain_order)
        lazy = lazy.with_row_index("_row").sort(["lead_id", "created_on", "_row"]).drop("_row")
    return lazy


def _with_label(
    lazy: pl.LazyFrame, labels: pl.DataFrame, code: str = "event_code", label: str = "event"
) -> pl.LazyFrame:
    """Add the display label of the code column ``code`` as column ``label``."""
    return lazy.with_columns(
        pl.col(code)
        .replace_strict(labels["event_code"], labels["event"], default=None, return_dtype=pl.Utf8)
        .alias(label)
    )


def _cum_sum_by_lead(column: str) -> pl.Expr:
    """Running total of ``column`` restarting at each lead, for a frame sorted by lead.

    Same result as ``cum_sum().over("lead_id")``, without hashing the lead ids.
    """
    running = pl.col(column).cum_sum()
    lead_starts = (pl.col("lead_id") != pl.col("lead_id").shift(1)).fill_null(True)
    before_lead = pl.when(lead_starts).then(running - pl.col(column)).forward_fill()
    return running - before_lead


def _hours(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_microseconds().cast(pl.Float64) / _US_PER_HOUR


def _in_zone(expr: pl.Expr, tz: str) -> pl.Expr:
    return expr.dt.convert_time_zone(tz) if tz != "UTC" else expr


# ---------------------------------------------------------------------------- scores


def score_over_time(
    df: pl.DataFrame,
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
        df: the expanded activity frame.
        every: ``None`` for one row per activity, or a bucket size in polars' duration language
            (``"1h"``, ``"1d"``, ``"1w"``, ``"1mo"``) for one row per lead and bucket that had
            activities (buckets without activity are left out; the total is unchanged there).
        tz: time zone of the output times and of the bucket boundaries.
        leads, events, start, end: the shared filters (module notes).

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
    _check_zone(tz)
    base = _prepared(
        df, "score_over_time", ["activity_score"], leads, events, start, end
    ).with_columns(_in_zone(pl.col("created_on"), tz))
    if every is None:
        labels = event_labels(df)
        out = _with_label(base, labels).select(
            "lead_id",
            "created_on",
            "event_code",
            "event",
            "activity_score",
            _cum_sum_by_lead("activity_score").alias("cumulative_score"),
        )
        return out.collect()
    out = (
        base.with_columns(pl.col("created_on").dt.truncate(every))
        .group_by("lead_id", "created_on", maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("n_activities"),
            pl.col("activity_score").sum().alias("score"),
        )
        .with_columns(_cum_sum_by_lead("score").alias("cumulative_score"))
    )
    return out.collect()


def score_by_event(
    df: pl.DataFrame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Total and mean ``activity_score`` per event type.

    Args:
        df: the expanded activity frame.
        leads, events, start, end: the shared filters (module notes).

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
    base = _prepared(
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
    out = _with_label(out, event_labels(df)).select(
        "event_code",
        "event",
        "n_activities",
        "n_leads",
        "total_score",
        "mean_score",
        "share_of_score",
    )
    return out.sort(["total_score", "event_code"], descending=[True, False]).collect()


# ---------------------------------------------------------------------------- counts


def event_counts(
    df: pl.DataFrame,
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

    ``by`` may name any column of the frame, plus the virtual column ``"event"`` (the display
    label of the event code). When ``by`` holds ``"event_name"`` but not ``"event_code"``,
    ``event_code`` is added to the keys, so audit-log rows (code 3011, whose ``event_name``
    is the changed type's name) are never counted as the activity type they changed.

    Args:
        df: the expanded activity frame.
        by: grouping columns, in output order.
        every: optional time bucket (``"1d"``, ``"1w"``, ``"1mo"``...); adds a ``created_on``
            key holding each bucket's start.
        tz: time zone of the buckets and of the output ``created_on``.
        leads, events, start, end: the shared filters (module notes).

    Returns:
        The key columns, then ``count`` (Int64), sorted by the keys.

    Example:
        >>> import lsq_analysis as lsq
        >>> weekly = lsq.event_counts(lsq.load_sample(), by=["event"], every="1w")
        >>> weekly.columns
        ['event', 'created_on', 'count']
    """
    _check_zone(tz)
    keys = [by] if isinstance(by, str) else list(by)
    if not keys and every is None:
        raise ValueError("event_counts(): give at least one column in by= or a bucket in every=")
    if "event_name" in keys and "event_code" not in keys:
        keys.insert(keys.index("event_name"), "event_code")
    real = [k for k in keys if k != "event"]
    unknown = [k for k in real if k not in df.columns]
    if unknown:
        raise ValueError(
            f"event_counts(): by= names unknown column(s) {unknown}; use columns of the frame "
            "or 'event' (the event type's label)"
        )
    lazy = _filter_lazy(df, leads, events, start, end)
    cols = list(dict.fromkeys([*real, "event_code", "created_on"]))
    lazy = lazy.select(cols)
    if "event" in keys:
        lazy = _with_label(lazy, event_labels(df))
    if every is not None:
        lazy = lazy.with_columns(_in_zone(pl.col("created_on"), tz).dt.truncate(every))
        keys = [*keys, "created_on"] if "created_on" not in keys else keys
    out = (
        lazy.group_by(keys).agg(pl.len().cast(pl.Int64).alias("count")).sort(keys, nulls_last=True)
    )
    return out.collect()


# ---------------------------------------------------------------------------- leads


def lead_summary(
    df: pl.DataFrame,
    *,
    now: dt.datetime | str | None = None,
    tz: str = "UTC",
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """One row per lead: when it was active, how much, and how recently.

    Args:
        df: the expanded activity frame.
        now: the moment ``days_since_last`` is measured from. Default: the latest
            ``created_on`` in the whole (unfiltered) frame, so results do not depend on when
            they are computed; the current UTC time if the frame has no times.
        tz: time zone whose calendar days ``days_active`` counts.
        leads, events, start, end: the shared filters (module notes).

    Returns:
        ``lead_id``, ``first_activity``, ``last_activity``, ``n_activities``,
        ``n_event_types`` (distinct codes), ``total_score``, ``days_active`` (distinct calendar
        days with an activity), ``span_days`` (last minus first, in days), ``last_event_code``,
        ``last_event``, ``days_since_last`` (``now`` minus last activity, in days). Sorted by
        engagement: total score, then number of activities, then the most recent last
        activity (all descending), then lead id.

    Example:
        >>> import lsq_analysis as lsq
        >>> summary = lsq.lead_summary(lsq.load_sample(), now="2025-07-01")
        >>> summary.columns[:4]
        ['lead_id', 'first_activity', 'last_activity', 'n_activities']
        >>> bool((summary["days_since_last"] > 0).all())
        True
    """
    _check_zone(tz)
    if now is None:
        latest = df.get_column("created_on").max() if "created_on" in df.columns else None
        moment = latest if isinstance(latest, dt.datetime) else dt.datetime.now(dt.timezone.utc)
        moment = _to_utc(moment, "now")
    else:
        moment = _to_utc(now, "now")
    base = _prepared(
        df, "lead_summary", ["activity_score"], leads, events, start, end, ordered=False
    )
    last_idx = pl.col("created_on").arg_max()
    out = (
        base.group_by("lead_id")
        .agg(
            pl.col("created_on").min().alias("first_activity"),
            pl.col("created_on").max().alias("last_activity"),
            pl.len().cast(pl.Int64).alias("n_activities"),
            pl.col("event_code").n_unique().cast(pl.Int64).alias("n_event_types"),
            pl.col("activity_score").sum().alias("total_score"),
            _in_zone(pl.col("created_on"), tz)
            .dt.date()
            .n_unique()
            .cast(pl.Int64)
            .alias("days_active"),
            pl.col("event_code").get(last_idx).alias("last_event_code"),
        )
        .with_columns(
            (
                (pl.col("last_activity") - pl.col("first_activity"))
                .dt.total_microseconds()
                .cast(pl.Float64)
                / _US_PER_DAY
            ).alias("span_days"),
            (
                (pl.lit(moment) - pl.col("last_activity")).dt.total_microseconds().cast(pl.Float64)
                / _US_PER_DAY
            ).alias("days_since_last"),
        )
    )
    out = _with_label(out, event_labels(df), code="last_event_code", label="last_event")
    out = out.select(
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
    ).sort(
        ["total_score", "n_activities", "last_activity", "lead_id"],
        descending=[True, True, True, False],
    )
    return out.collect()


# ---------------------------------------------------------------------------- sequences


def _pairs(
    df: pl.DataFrame,
    function: str,
    leads: Leads,
    events: Events,
    start: TimeBound,
    end: TimeBound,
    *,
    ids: bool = True,
) -> pl.LazyFrame:
    """Consecutive activity pairs of each lead (from → to): times, codes and (``ids``) ids."""
    base = _prepared(df, function, ["activity_id"] if ids else [], leads, events, start, end)
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
    df: pl.DataFrame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Time between each pair of consecutive activities of a lead, with the two events.

    With ``events`` the pairs are consecutive among the selected events only.

    Args:
        df: the expanded activity frame.
        leads, events, start, end: the shared filters (module notes).

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
    out = _with_label(out, labels, "from_event_code", "from_event")
    out = _with_label(out, labels, "to_event_code", "to_event")
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
        _hours(pl.col("gap")).alias("gap_hours"),
    ).collect()


def transitions(
    df: pl.DataFrame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """How often one event is directly followed by another within a lead.

    Args:
        df: the expanded activity frame.
        leads, events, start, end: the shared filters (module notes). With ``events`` the
            transitions are between consecutive selected events (others are skipped).

    Returns:
        ``from_event_code``, ``from_event``, ``to_event_code``, ``to_event``, ``count``,
        ``n_leads``, ``share`` (of all transitions out of ``from_event``),
        ``median_gap_hours``; sorted by count (highest first), then codes.

    Example:
        >>> import lsq_analysis as lsq
        >>> moves = lsq.transitions(lsq.load_sample())
        >>> moves["count"].is_sorted(descending=True)
        True
    """
    labels = event_labels(df)
    # leads numbered in sorted order: integer keys are cheaper to compare and count than ids
    lead_starts = (pl.col("lead_id") != pl.col("lead_id").shift(1)).fill_null(True)
    pairs = (
        _prepared(df, "transitions", [], leads, events, start, end)
        .select(
            lead_starts.cast(pl.UInt32).cum_sum().alias("_lead"),
            pl.col("event_code").alias("from_event_code"),
            pl.col("event_code").shift(-1).alias("to_event_code"),
            (pl.col("created_on").shift(-1) - pl.col("created_on")).alias("_gap"),
        )
        .filter(pl.col("_lead") == pl.col("_lead").shift(-1))
    )
    out = (
        pairs.group_by("from_event_code", "to_event_code")
        .agg(
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("_lead").n_unique().cast(pl.Int64).alias("n_leads"),
            _hours(pl.col("_gap")).median().alias("median_gap_hours"),
        )
        .with_columns(
            (pl.col("count") / pl.col("count").sum().over("from_event_code")).alias("share")
        )
    )
    out = _with_label(out, labels, "from_event_code", "from_event")
    out = _with_label(out, labels, "to_event_code", "to_event")
    return (
        out.select(
            "from_event_code",
            "from_event",
            "to_event_code",
            "to_event",
            "count",
            "n_leads",
            "share",
            "median_gap_hours",
        )
        .sort(["count", "from_event_code", "to_event_code"], descending=[True, False, False])
        .collect()
    )


def sessions(
    df: pl.DataFrame,
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
        df: the expanded activity frame.
        gap: the longest pause inside a session: a ``timedelta`` or ``"30m"``, ``"2h"``...
        leads, events, start, end: the shared filters (module notes).

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
    pause = _to_timedelta(gap, "gap")
    # collected first: the sorted frame makes the rest cheap (lazily it was slower)
    base = _prepared(df, "sessions", ["activity_score"], leads, events, start, end).collect().lazy()
    lead_starts = (pl.col("lead_id") != pl.col("lead_id").shift(1)).fill_null(True)
    pause_before = (pl.col("created_on") - pl.col("created_on").shift(1)) > pause
    sid = (lead_starts | pause_before).cast(pl.Int64).cum_sum()
    out = (
        base.with_columns(sid.alias("_sid"), lead_starts.alias("_lead_start"))
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
    out = _with_label(out, labels, "_first_code", "first_event")
    out = _with_label(out, labels, "_last_code", "last_event")
    return out.select(
        "lead_id",
        "session",
        "start",
        "end",
        "duration",
        (_hours(pl.col("duration")) * 60).alias("duration_minutes"),
        "n_activities",
        "n_event_types",
        "total_score",
        "first_event",
        "last_event",
    ).collect()


# ---------------------------------------------------------------------------- funnels


def _step_codes(df: pl.DataFrame, steps: Sequence[Event | Sequence[Event]]) -> list[list[int]]:
    if isinstance(steps, (str, int)) or not steps:
        raise ValueError(
            "steps must be a non-empty list of events (codes or names), e.g. "
            "['Lead Capture', 'Email Opened', 12000]; a step may itself be a list of events"
        )
    result = []
    for step in steps:
        codes = resolve_event_codes(df, step)
        if not codes:
            raise ValueError(f"funnel step {step!r} names no event")
        result.append(codes)
    return result


def _step_label(step: Event | Sequence[Event], codes: list[int], labels: dict[int, str]) -> str:
    if isinstance(step, str) and not step.strip().lstrip("-").isdigit():
        return step
    return " / ".join(labels.get(c, f"Event {c}") for c in codes)


def _step_times(
    df: pl.DataFrame,
    step_codes: list[list[int]],
    within: DurationLike | None,
    function: str,
    leads: Leads,
    events: Events,
    start: TimeBound,
    end: TimeBound,
) -> pl.DataFrame:
    """Per lead, the time each step was reached (null once the lead stops), best path only.

    A path starts at an occurrence of step 1 and takes, for each next step, its first
    occurrence after the previous step's activity (later in time, or later in the lead's
    order at the same time). Without ``within`` the lead's first step-1 activity starts the
    path (no other start reaches further); with ``within`` every step-1 activity is tried,
    all steps must fall within ``within`` of the start, and the lead keeps the path that goes
    furthest (the earliest such path on a tie).
    """
    window = _to_timedelta(within, "within") if within is not None else None
    # only the steps' rows matter, and dropping the others keeps their order: sort fewer rows
    wanted = sorted({code for codes in step_codes for code in codes})
    if events is not None:
        allowed = set(resolve_event_codes(df, events))
        wanted = [code for code in wanted if code in allowed]
    base = (
        _prepared(df, function, [], leads, wanted, start, end)
        .with_row_index("_pos")
        .with_columns(pl.col("_pos").cast(pl.Int64))
        .collect()
    )
    firsts = base.filter(
        pl.col("event_code").is_in(pl.Series(step_codes[0], dtype=pl.Int32).implode())
    ).select("lead_id", pl.col("_pos").alias("_start"), pl.col("created_on").alias("t1"))
    if window is None:
        firsts = firsts.group_by("lead_id", maintain_order=True).first()
    paths = firsts
    current = firsts.select("lead_id", "_start", pl.col("_start").alias("_at"), "t1")
    for k, codes in enumerate(step_codes[1:], start=2):
        if current.height == 0:
            paths = paths.with_columns(pl.lit(None, dtype=base.schema["created_on"]).alias(f"t{k}"))
            continue
        candidates = base.filter(
            pl.col("event_code").is_in(pl.Series(codes, dtype=pl.Int32).implode())
        ).select("lead_id", pl.col("_pos").alias("_next"), pl.col("created_on").alias(f"t{k}"))
        reached = current.sort("_at").join_asof(
            candidates,
            left_on="_at",
            right_on="_next",
            by="lead_id",
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        keep = pl.col("_next").is_not_null()
        if window is not None:
            keep = keep & ((pl.col(f"t{k}") - pl.col("t1")) <= window)
        reached = reached.filter(keep)
        paths = paths.join(
            reached.select("_start", f"t{k}"), on="_start", how="left", maintain_order="left"
        )
        current = reached.select("lead_id", "_start", pl.col("_next").alias("_at"), "t1")
    n = len(step_codes)
    depth = pl.sum_horizontal(
        [pl.col(f"t{k}").is_not_null().cast(pl.Int32) for k in range(1, n + 1)]
    )
    best = (
        paths.with_columns(depth.alias("_depth"))
        .sort(["lead_id", "_depth", "_start"], descending=[False, True, False])
        .group_by("lead_id", maintain_order=True)
        .first()
    )
    return best.select("lead_id", *[f"t{k}" for k in range(1, n + 1)])


def funnel(
    df: pl.DataFrame,
    steps: Sequence[Event | Sequence[Event]],
    within: DurationLike | None = None,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """How many leads reach each step, in order, with conversion rates and times between steps.

    A lead reaches step k if it did step 1, then step 2 after it, ..., then step k after
    step k-1 (each the first such occurrence; see below). Steps are event codes or names; a
    step may be a list of events (any of them counts).

    Path rule: a path starts at an occurrence of step 1 and takes, for each next step, its
    first occurrence after the previous step's activity. Without ``within`` the lead's first
    step-1 activity starts the path. With ``within`` every step-1 activity is tried as a
    start, each step must fall within ``within`` of the start, and the lead counts with the
    path reaching the furthest step (the earliest such path on a tie); its times give the
    medians.

    Args:
        df: the expanded activity frame.
        steps: the events of the funnel, in order (at least one).
        within: optional time limit from step 1 to each later step (``"30d"``, a timedelta).
        leads, events, start, end: the shared filters (module notes).

    Returns:
        One row per step: ``step`` (1, 2, ...), ``event`` (the step's label), ``event_codes``
        (list of the codes counted), ``n_leads``, ``conversion_from_previous`` and
        ``conversion_from_first`` (fractions; 1.0 for step 1, null when the base is 0),
        ``median_time_from_previous`` (Duration; null for step 1),
        ``median_hours_from_previous`` and ``median_hours_from_first``.

    Example:
        >>> import lsq_analysis as lsq
        >>> steps = ["Lead Capture", "Email Opened"]
        >>> result = lsq.funnel(lsq.load_sample(), steps, within="30d")
        >>> result["step"].to_list(), result["conversion_from_first"][0]
        ([1, 2], 1.0)
    """
    codes = _step_codes(df, steps)
    labels = dict(event_labels(df).iter_rows())
    times = _step_times(df, codes, within, "funnel", leads, events, start, end)
    n = len(codes)
    counts = times.select(
        [pl.col(f"t{k}").is_not_null().sum().cast(pl.Int64).alias(f"n{k}") for k in range(1, n + 1)]
        + [(pl.col(f"t{k}") - pl.col(f"t{k - 1}")).median().alias(f"p{k}") for k in range(2, n + 1)]
        + [(pl.col(f"t{k}") - pl.col("t1")).median().alias(f"f{k}") for k in range(2, n + 1)]
    ).row(0, named=True)
    rows = []
    first = counts["n1"]
    for k in range(1, n + 1):
        reached = counts[f"n{k}"]
        previous = counts[f"n{k - 1}"] if k > 1 else reached
        rows.append(
            {
                "step": k,
                "event": _step_label(steps[k - 1], codes[k - 1], labels),
                "event_codes": codes[k - 1],
                "n_leads": reached,
                "conversion_from_previous": reached / previous if previous else None,
                "conversion_from_first": reached / first if first else None,
                "median_time_from_previous": counts.get(f"p{k}"),
                "median_time_from_first": counts.get(f"f{k}"),
            }
        )
    schema = {
        "step": pl.Int64,
        "event": pl.Utf8,
        "event_codes": pl.List(pl.Int32),
        "n_leads": pl.Int64,
        "conversion_from_previous": pl.Float64,
        "conversion_from_first": pl.Float64,
        "median_time_from_previous": pl.Duration("us"),
        "median_time_from_first": pl.Duration("us"),
    }
    out = pl.DataFrame(rows, schema=schema)
    return out.with_columns(
        _hours(pl.col("median_time_from_previous")).alias("median_hours_from_previous"),
        _hours(pl.col("median_time_from_first")).alias("median_hours_from_first"),
    ).drop("median_time_from_first")


def time_to_event(
    df: pl.DataFrame,
    start_event: Event | Sequence[Event],
    end_event: Event | Sequence[Event],
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Per lead, the time from its first ``start_event`` to the first ``end_event`` after it.

    Args:
        df: the expanded activity frame.
        start_event: event code(s) or name(s) that start the clock.
        end_event: event code(s) or name(s) that stop it.
        leads, events, start, end: the shared filters (module notes).

    Returns:
        One row per lead that had ``start_event``: ``lead_id``, ``start_time``, ``end_time``
        (null if ``end_event`` never followed), ``time_to_event`` (Duration), ``hours``;
        sorted by lead id.

    Example:
        >>> import lsq_analysis as lsq
        >>> waits = lsq.time_to_event(lsq.load_sample(), "Lead Capture", "Email Opened")
        >>> waits.columns
        ['lead_id', 'start_time', 'end_time', 'time_to_event', 'hours']
    """
    for name, bound in (("start", start), ("end", end)):
        try:
            _to_utc(bound, name)
        except ValueError as error:
            raise ValueError(
                f"{error}. time_to_event() takes its events positionally, "
                f"time_to_event(df, start_event, end_event); {name}= is a date filter"
            ) from None
    codes = _step_codes(df, [start_event, end_event])
    times = _step_times(df, codes, None, "time_to_event", leads, events, start, end)
    return (
        times.select(
            "lead_id",
            pl.col("t1").alias("start_time"),
            pl.col("t2").alias("end_time"),
            (pl.col("t2") - pl.col("t1")).alias("time_to_event"),
        )
        .with_columns(_hours(pl.col("time_to_event")).alias("hours"))
        .sort("lead_id")
    )


# ---------------------------------------------------------------------------- heatmap


def activity_heatmap_data(
    df: pl.DataFrame,
    tz: str = "UTC",
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Activity counts by weekday and hour of day, in a chosen time zone.

    Args:
        df: the expanded activity frame.
        tz: IANA time zone in which weekday and hour are read (``"Asia/Kolkata"``...).
        leads, events, start, end: the shared filters (module notes).

    Returns:
        All 168 cells, zeros included: ``weekday`` (1 = Monday ... 7 = Sunday),
        ``weekday_name`` ("Mon" ...), ``hour`` (0-23), ``count`` (Int64); sorted by weekday
        and hour.

    Example:
        >>> import lsq_analysis as lsq
        >>> grid = lsq.activity_heatmap_data(lsq.load_sample(), tz="Asia/Kolkata")
        >>> grid.height
        168
    """
    _check_zone(tz)
    local = _in_zone(pl.col("created_on"), tz)
    counts = (
        _prepared(df, "activity_heatmap_data", [], leads, events, start, end, ordered=False)
        .select(
            local.dt.weekday().cast(pl.Int8).alias("weekday"),
            local.dt.hour().cast(pl.Int8).alias("hour"),
        )
        .group_by("weekday", "hour")
        .agg(pl.len().cast(pl.Int64).alias("count"))
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
        .with_columns(pl.col("count").fill_null(0))
        .collect()
    )
