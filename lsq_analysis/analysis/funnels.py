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
from .prepare import hours, prepared

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
    """Per lead, the time each step was reached (null once the lead stops), best path only.

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
    df: Frame,
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
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        steps: the events of the funnel, in order (at least one).
        within: optional time limit from step 1 to each later step (``"30d"``, a timedelta).
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

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
    codes, allowed = _step_codes(df, steps, events)
    # a step given by name is labelled with that name: the labels are read only for the others
    labels = {} if all(_is_name(step) for step in steps) else dict(event_labels(df).iter_rows())
    times = _step_times(df, codes, within, "funnel", leads, allowed, start, end)
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
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
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
        hours(pl.col("median_time_from_previous")).alias("median_hours_from_previous"),
        hours(pl.col("median_time_from_first")).alias("median_hours_from_first"),
    ).drop("median_time_from_first")


def time_to_event(
    df: Frame,
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
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        start_event: event code(s) or name(s) that start the clock.
        end_event: event code(s) or name(s) that stop it.
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

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
            to_utc(bound, name)
        except ValueError as error:
            raise ValueError(
                f"{error}. time_to_event() takes its events positionally, "
                f"time_to_event(df, start_event, end_event); {name}= is a date filter"
            ) from None
    codes, allowed = _step_codes(df, [start_event, end_event], events)
    times = _step_times(df, codes, None, "time_to_event", leads, allowed, start, end)
    return (
        times.select(
            "lead_id",
            pl.col("t1").alias("start_time"),
            pl.col("t2").alias("end_time"),
            (pl.col("t2") - pl.col("t1")).alias("time_to_event"),
        )
        .with_columns(hours(pl.col("time_to_event")).alias("hours"))
        .sort("lead_id")
    )
