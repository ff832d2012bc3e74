"""Steps in order: how many leads reach each step of a funnel, and how long one step takes.

Steps are event codes or names (a step may be a list of events); both take the shared
filters of :mod:`lsq_analysis.analysis`.

Example:
    >>> import lsq_analysis as lsq
    >>> lsq.funnel(lsq.load_sample(), ["Lead Capture", "Email Opened"])["step"].to_list()
    [1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeGuard

import polars as pl

from ..vocabulary import (
    DurationLike,
    Event,
    EventCatalog,
    Events,
    Frame,
    Leads,
    TimeBound,
    event_catalog,
    event_labels,
    parse_events,
    resolve_events,
    to_timedelta,
    to_utc,
)
from .prepare import hours, lead_segments, prepared, segment_keys

__all__ = ["funnel", "time_to_event"]


def _step_codes(
    df: Frame, steps: Sequence[Event | Sequence[Event]], events: Events
) -> tuple[list[list[int]], list[int] | None]:
    """The codes of each step, and those of ``events`` (None: every event).

    The frame's names are read once, and only when a step or ``events`` holds a name.
    """
    if isinstance(steps, (str, int)) or not steps:
        raise ValueError(
            "steps must be a non-empty list of events (codes or names), e.g. "
            "['Lead Capture', 'Email Opened', 12000]; a step may itself be a list of events"
        )
    named = any(parse_events(step)[1] for step in steps) or parse_events(events)[1]
    book: EventCatalog | None = event_catalog(df) if named else None
    result = []
    for step in steps:
        codes = resolve_events(step, book)
        if not codes:
            raise ValueError(f"funnel step {step!r} names no event")
        result.append(codes)
    allowed = resolve_events(events, book) if events is not None else None
    return result, allowed


def _is_name(step: Event | Sequence[Event]) -> TypeGuard[str]:
    return isinstance(step, str) and not step.strip().lstrip("-").isdigit()


def _step_label(step: Event | Sequence[Event], codes: list[int], labels: dict[int, str]) -> str:
    if _is_name(step):
        return step
    return " / ".join(labels.get(c, f"Event {c}") for c in codes)


def _step_times(
    df: Frame,
    step_codes: list[list[int]],
    within: DurationLike | None,
    function: str,
    leads: Leads,
    allowed: list[int] | None,
    start: TimeBound,
    end: TimeBound,
) -> pl.DataFrame:
    """Per lead, the time each step was reached (``_t1``, ``_t2``...; null once the lead
    stops), best path only.

    A path starts at an occurrence of step 1 and takes, for each next step, its first
    occurrence after the previous step's activity (later in time, or later in the lead's
    order at the same time). Without ``within`` the lead's first step-1 activity starts the
    path (no other start reaches further); with ``within`` every step-1 activity is tried,
    all steps must fall within ``within`` of the start, and the lead keeps the path that goes
    furthest (the earliest such path on a tie).
    """
    window = to_timedelta(within, "within") if within is not None else None
    # only the steps' rows matter, and dropping the others keeps their order: sort fewer rows
    wanted = sorted({code for codes in step_codes for code in codes})
    if allowed is not None:
        wanted = sorted(set(wanted) & set(allowed))
    base = (
        prepared(df, function, [], leads, wanted, start, end)
        .with_row_index("_pos")
        .with_columns(pl.col("_pos").cast(pl.Int64))
        .collect()
    )
    firsts = base.filter(
        pl.col("event_code").is_in(pl.Series(step_codes[0], dtype=pl.Int32).implode())
    ).select("lead_id", pl.col("_pos").alias("_start"), pl.col("created_on").alias("_t1"))
    if window is None:
        firsts = firsts.group_by("lead_id", maintain_order=True).first()
    paths = firsts
    current = firsts.select("lead_id", "_start", pl.col("_start").alias("_at"), "_t1")
    for k, codes in enumerate(step_codes[1:], start=2):
        if current.height == 0:
            paths = paths.with_columns(
                pl.lit(None, dtype=base.schema["created_on"]).alias(f"_t{k}")
            )
            continue
        candidates = base.filter(
            pl.col("event_code").is_in(pl.Series(codes, dtype=pl.Int32).implode())
        ).select("lead_id", pl.col("_pos").alias("_next"), pl.col("created_on").alias(f"_t{k}"))
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
            keep = keep & ((pl.col(f"_t{k}") - pl.col("_t1")) <= window)
        reached = reached.filter(keep)
        paths = paths.join(
            reached.select("_start", f"_t{k}"), on="_start", how="left", maintain_order="left"
        )
        current = reached.select("lead_id", "_start", pl.col("_next").alias("_at"), "_t1")
    n = len(step_codes)
    depth = pl.sum_horizontal(
        [pl.col(f"_t{k}").is_not_null().cast(pl.Int32) for k in range(1, n + 1)]
    )
    best = (
        paths.with_columns(depth.alias("_depth"))
        .sort(["lead_id", "_depth", "_start"], descending=[False, True, False])
        .group_by("lead_id", maintain_order=True)
        .first()
    )
    return best.select("lead_id", *[f"_t{k}" for k in range(1, n + 1)])


def _with_segments(
    times: pl.DataFrame,
    df: Frame,
    keys: list[str],
    function: str,
    leads: Leads,
    allowed: list[int] | None,
    start: TimeBound,
    end: TimeBound,
) -> pl.DataFrame:
    """Every selected lead's segment (its latest non-null value of each key), then its times.

    Leads that never did the first step are kept, with null times.
    """
    selected = prepared(df, function, keys, leads, allowed, start, end, ordered=False)
    segments = lead_segments(selected, keys).collect()
    return segments.join(times, on="lead_id", how="left")


def _step_stats(n: int) -> list[pl.Expr]:
    """Over the step times of some leads: ``_n<k>`` leads reaching step k, and the median
    time to step k from the previous step (``_p<k>``) and from the first (``_f<k>``)."""
    reached = [
        pl.col(f"_t{k}").is_not_null().sum().cast(pl.Int64).alias(f"_n{k}") for k in range(1, n + 1)
    ]
    previous = [
        (pl.col(f"_t{k}") - pl.col(f"_t{k - 1}")).median().alias(f"_p{k}") for k in range(2, n + 1)
    ]
    first = [(pl.col(f"_t{k}") - pl.col("_t1")).median().alias(f"_f{k}") for k in range(2, n + 1)]
    return reached + previous + first


def _step_rows(
    counts: pl.DataFrame, keys: list[str], names: list[str], codes: list[list[int]]
) -> pl.DataFrame:
    """The funnel's rows from :func:`_step_stats` (one row per segment): per segment and step."""
    no_time = pl.lit(None, dtype=pl.Duration("us"))
    first = pl.col("_n1")
    parts = []
    for k in range(1, len(codes) + 1):
        previous = pl.col(f"_n{k - 1}" if k > 1 else "_n1")
        reached = pl.col(f"_n{k}")
        parts.append(
            counts.select(
                *keys,
                pl.lit(k, dtype=pl.Int64).alias("step"),
                pl.lit(names[k - 1], dtype=pl.Utf8).alias("event"),
                pl.lit(codes[k - 1], dtype=pl.List(pl.Int32)).alias("event_codes"),
                reached.alias("n_leads"),
                pl.when(previous > 0).then(reached / previous).alias("conversion_from_previous"),
                pl.when(first > 0).then(reached / first).alias("conversion_from_first"),
                (pl.col(f"_p{k}") if k > 1 else no_time).alias("median_time_from_previous"),
                (pl.col(f"_f{k}") if k > 1 else no_time).alias("_from_first"),
            )
        )
    out = pl.concat(parts).sort([*keys, "step"], nulls_last=True, maintain_order=True)
    return out.with_columns(
        pl.col("conversion_from_previous", "conversion_from_first").cast(pl.Float64),
        pl.col("median_time_from_previous").cast(pl.Duration("us")),
        hours(pl.col("median_time_from_previous")).alias("median_hours_from_previous"),
        hours(pl.col("_from_first")).alias("median_hours_from_first"),
    ).drop("_from_first")


_FUNNEL_COLUMNS = (
    "step",
    "event",
    "event_codes",
    "n_leads",
    "conversion_from_previous",
    "conversion_from_first",
    "median_time_from_previous",
    "median_hours_from_previous",
    "median_hours_from_first",
)


def funnel(
    df: Frame,
    steps: Sequence[Event | Sequence[Event]],
    within: DurationLike | None = None,
    *,
    by: str | Sequence[str] | None = None,
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

    Segments: with ``by``, one funnel per segment. A lead belongs to one segment, its latest
    non-null value of each ``by`` column among its selected activities (a ``lead.``
    attribute is the lead's own), so it counts once and the segments' counts add up to the
    unsegmented funnel. Leads without a value form the null segment. Every segment with a
    selected lead is listed, even one whose leads never did step 1 (then 0 at each step).

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        steps: the events of the funnel, in order (at least one).
        within: optional time limit from step 1 to each later step (``"30d"``, a timedelta).
        by: segment column(s): any column of the frame, such as ``"lead.source"`` after
            :func:`lsq_analysis.with_leads`.
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        One row per step (with ``by``: per segment and step, the ``by`` columns first, sorted
        by segment with nulls last, then step): ``step`` (1, 2, ...), ``event`` (the step's
        label), ``event_codes`` (list of the codes counted), ``n_leads``,
        ``conversion_from_previous`` and ``conversion_from_first`` (fractions; 1.0 for step 1,
        null when the base is 0),
        ``median_time_from_previous`` (Duration; null for step 1),
        ``median_hours_from_previous`` and ``median_hours_from_first``.

    Raises:
        ValueError: no steps, a step naming no event, or ``by`` naming a column the frame
            lacks (a ``lead.`` one: call ``with_leads`` first) or an output column.

    Example:
        >>> import lsq_analysis as lsq
        >>> steps = ["Lead Capture", "Email Opened"]
        >>> result = lsq.funnel(lsq.load_sample(), steps, within="30d")
        >>> result["step"].to_list(), result["conversion_from_first"][0]
        ([1, 2], 1.0)
        >>> lsq.funnel(lsq.load_sample(), steps, by="type").columns[:3]
        ['type', 'step', 'event']
    """
    keys = segment_keys(df, by, "funnel", reserved=_FUNNEL_COLUMNS)
    codes, allowed = _step_codes(df, steps, events)
    # a step given by name is labelled with that name: the labels are read only for the others
    labels = {} if all(_is_name(step) for step in steps) else dict(event_labels(df).iter_rows())
    times = _step_times(df, codes, within, "funnel", leads, allowed, start, end)
    if keys:
        times = _with_segments(times, df, keys, "funnel", leads, allowed, start, end)
    n = len(codes)
    counts = times.group_by(keys).agg(_step_stats(n)) if keys else times.select(_step_stats(n))
    names = [
        _step_label(step, step_codes, labels) for step, step_codes in zip(steps, codes, strict=True)
    ]
    return _step_rows(counts, keys, names, codes)


_WAIT_COLUMNS = ("lead_id", "start_time", "end_time", "time_to_event", "hours")


def time_to_event(
    df: Frame,
    start_event: Event | Sequence[Event],
    end_event: Event | Sequence[Event],
    *,
    by: str | Sequence[str] | None = None,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """Per lead, the time from its first ``start_event`` to the first ``end_event`` after it.

    With ``by`` each row also carries the lead's segment: its latest non-null value of each
    ``by`` column among its selected activities (a ``lead.`` attribute is the lead's own;
    null when it has none), so waits group by segment with ``group_by``.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        start_event: event code(s) or name(s) that start the clock.
        end_event: event code(s) or name(s) that stop it.
        by: segment column(s): any column of the frame, such as ``"lead.source"`` after
            :func:`lsq_analysis.with_leads`.
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        One row per lead that had ``start_event``: ``lead_id``, the ``by`` columns,
        ``start_time``, ``end_time`` (null if ``end_event`` never followed),
        ``time_to_event`` (Duration), ``hours``; sorted by lead id.

    Raises:
        ValueError: ``start=`` / ``end=`` given events (they are the date filters), or ``by``
            naming a column the frame lacks (a ``lead.`` one: call ``with_leads`` first) or
            an output column.

    Example:
        >>> import lsq_analysis as lsq
        >>> waits = lsq.time_to_event(lsq.load_sample(), "Lead Capture", "Email Opened")
        >>> waits.columns
        ['lead_id', 'start_time', 'end_time', 'time_to_event', 'hours']
        >>> lsq.time_to_event(lsq.load_sample(), 23, 0, by="type").columns[:2]
        ['lead_id', 'type']
    """
    for name, bound in (("start", start), ("end", end)):
        try:
            to_utc(bound, name)
        except ValueError as error:
            raise ValueError(
                f"{error}. time_to_event() takes its events positionally, "
                f"time_to_event(df, start_event, end_event); {name}= is a date filter"
            ) from None
    keys = segment_keys(df, by, "time_to_event", reserved=_WAIT_COLUMNS)
    codes, allowed = _step_codes(df, [start_event, end_event], events)
    times = _step_times(df, codes, None, "time_to_event", leads, allowed, start, end)
    if keys:
        times = _with_segments(times, df, keys, "time_to_event", leads, allowed, start, end)
        times = times.filter(pl.col("_t1").is_not_null())
    return (
        times.select(
            "lead_id",
            *keys,
            pl.col("_t1").alias("start_time"),
            pl.col("_t2").alias("end_time"),
            (pl.col("_t2") - pl.col("_t1")).alias("time_to_event"),
        )
        .with_columns(hours(pl.col("time_to_event")).alias("hours"))
        .sort("lead_id")
    )
