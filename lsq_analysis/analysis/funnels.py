"""Steps in order: how many leads reach each step of a funnel, which leads dropped out at a
step, and how long one step takes.

Steps are event codes or names (a step may be a list of events); all take the shared
filters of :mod:`lsq_analysis.analysis`.

Example:
    >>> from lsq_analysis.analysis.funnels import funnel, funnel_leads
    >>> from lsq_analysis.samples import load_sample
    >>> steps = ["Lead Capture", "Email Opened"]
    >>> funnel(load_sample(), steps)["step"].to_list()
    [1, 2]
    >>> funnel_leads(load_sample(), steps, step="Email Opened").columns[:2]
    ['lead_id', 'first_step_at']
"""

from __future__ import annotations

import datetime as dt
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

__all__ = ["funnel", "funnel_leads", "step_labels", "time_to_event"]


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


def _window(within: DurationLike | None, function: str) -> dt.timedelta | None:
    """``within`` as a timedelta (None: no limit), checked."""
    if within is None:
        return None
    try:
        window = to_timedelta(within, "within")
    except ValueError as error:
        raise ValueError(f"{function}(): {error}") from None
    if window < dt.timedelta(0):
        raise ValueError(
            f"{function}(): within={within!r} is negative; give the most time allowed from "
            "the first step to each later one, such as '7d' or datetime.timedelta(days=7)"
        )
    return window


def _step_times(
    df: Frame,
    step_codes: list[list[int]],
    window: dt.timedelta | None,
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
        within: optional time limit from step 1 to each later step: a duration string
            (``"30d"``, ``"12h"``, ``"1h30m"``; units ns, us, ms, s, m, h, d, w) or a
            ``datetime.timedelta``. A step reached later than that after the path's step 1
            does not count (nor do the steps after it).
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
        ValueError: no steps, a step naming no event, ``within`` not a duration or negative,
            or ``by`` naming a column the frame lacks (a ``lead.`` one: call ``with_leads``
            first) or an output column.

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
    window = _window(within, "funnel")
    codes, allowed = _step_codes(df, steps, events)
    times = _step_times(df, codes, window, "funnel", leads, allowed, start, end)
    if keys:
        times = _with_segments(times, df, keys, "funnel", leads, allowed, start, end)
    n = len(codes)
    counts = times.group_by(keys).agg(_step_stats(n)) if keys else times.select(_step_stats(n))
    return _step_rows(counts, keys, _labels_of(df, steps, codes), codes)


def _labels_of(
    df: Frame, steps: Sequence[Event | Sequence[Event]], codes: list[list[int]]
) -> list[str]:
    """Each step's label; a step given by name is labelled with that name, so the frame's
    labels are read only when a step is not."""
    labels = {} if all(_is_name(step) for step in steps) else dict(event_labels(df).iter_rows())
    return [
        _step_label(step, step_codes, labels) for step, step_codes in zip(steps, codes, strict=True)
    ]


def step_labels(df: Frame, steps: Sequence[Event | Sequence[Event]]) -> list[str]:
    """The label of each funnel step, as :func:`funnel`'s ``event`` column gives it.

    A step given by name keeps that name; a code, or a list of events, is labelled with the
    display label of each of its codes (joined by " / ").

    Args:
        df: the expanded activity frame, eager or lazy.
        steps: the events of the funnel, in order (a step may be a list of events).

    Returns:
        One label per step, in order.

    Raises:
        ValueError: no steps, or a step naming no event.

    Example:
        >>> from lsq_analysis.analysis.funnels import step_labels
        >>> from lsq_analysis.samples import load_sample
        >>> step_labels(load_sample(), [23, "Email Opened", [0, 23]])
        ['Lead Capture', 'Email Opened', 'Email Opened / Lead Capture']
    """
    codes, _ = _step_codes(df, steps, None)
    return _labels_of(df, steps, codes)


_LEADS_COLUMNS = (
    "lead_id",
    "first_step_at",
    "previous_step_at",
    "step_at",
    "last_step",
    "last_event",
    "last_step_at",
)


def _step_number(
    step: object,
    steps: Sequence[Event | Sequence[Event]],
    names: list[str],
    dropped: bool,
    function: str,
) -> int:
    """The 1-based number of ``step``: given as a number, or by a step's name or label."""
    listed = ", ".join(f"{k} {name!r}" for k, name in enumerate(names, start=1))
    hint = f"give a step's number (1 to {len(names)}) or its name; the steps are {listed}"
    if isinstance(step, bool) or not isinstance(step, (int, str)):
        raise ValueError(f"{function}(): step={step!r} is not a step; {hint}")
    if isinstance(step, int):
        if not 1 <= step <= len(names):
            raise ValueError(f"{function}(): step={step} is not a step of this funnel; {hint}")
        number = step
    else:
        given = [s if isinstance(s, str) else None for s in steps]
        found = [k for k, (g, n) in enumerate(zip(given, names, strict=True), 1) if step in (g, n)]
        if not found:
            wanted = step.strip().casefold()
            found = [
                k
                for k, (g, n) in enumerate(zip(given, names, strict=True), 1)
                if wanted and wanted in (n.casefold(), g.strip().casefold() if g else None)
            ]
        if not found:
            raise ValueError(f"{function}(): step={step!r} is not a step of this funnel; {hint}")
        if len(found) > 1:
            raise ValueError(
                f"{function}(): step={step!r} names steps {found}; give the step's number instead"
            )
        number = found[0]
    if dropped and number == 1:
        raise ValueError(
            f"{function}(): step {names[0]!r} is the first step, so no lead can drop out before "
            "it; give a later step, or dropped=False for the leads that did it"
        )
    return number


def funnel_leads(
    df: Frame,
    steps: Sequence[Event | Sequence[Event]],
    *,
    step: int | str,
    dropped: bool = True,
    within: DurationLike | None = None,
    by: str | Sequence[str] | None = None,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> pl.DataFrame:
    """The leads behind a step of :func:`funnel`: who dropped out before it, or who reached it.

    With ``dropped=True`` (the default): the leads that reached the step before ``step`` but
    not ``step`` itself, the leads to follow up. With ``dropped=False``: the leads that
    reached ``step``. Each lead's path is the one :func:`funnel` counts (same rule, same
    ``within``), so the dropped leads of step k number ``n_leads`` of step k-1 minus that of
    step k, and the reached ones ``n_leads`` of step k.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        steps: the events of the funnel, in order (codes or names; a step may be a list).
        step: the step, by number (1 for the first, as :func:`funnel`'s ``step`` column) or
            by name (as given in ``steps``, or its label in :func:`funnel`'s ``event``
            column; exact, else ignoring case).
        dropped: True for the leads that stopped just before ``step``, False for those that
            reached it.
        within: optional time limit from step 1 to each later step (``"7d"``, a timedelta),
            as in :func:`funnel`: a step reached later than that does not count.
        by: segment column(s), as in :func:`funnel`: each lead's latest non-null value.
        leads, events, start, end: the shared filters (:mod:`lsq_analysis.analysis`).

    Returns:
        One row per lead, sorted by lead id: ``lead_id``, the ``by`` columns,
        ``first_step_at`` (when its path did step 1), ``previous_step_at`` (when it reached
        the step before ``step``; null for step 1), ``step_at`` (when it reached ``step``;
        null for a dropped lead), ``last_step`` (the furthest step it reached, 1, 2, ...),
        ``last_event`` (that step's label) and ``last_step_at`` (when it reached it).

    Raises:
        ValueError: ``step`` is not a step of ``steps`` (or names two of them), ``step`` is
            the first one with ``dropped=True``, ``within`` is not a duration or negative,
            or as :func:`funnel` (no steps, a step naming no event, a bad ``by``).

    Example:
        >>> from lsq_analysis.analysis.funnels import funnel, funnel_leads
        >>> from lsq_analysis.samples import load_sample
        >>> steps = ["Lead Capture", "Email Opened", "Payment Received"]
        >>> lost = funnel_leads(load_sample(), steps, step="Payment Received", within="30d")
        >>> counts = funnel(load_sample(), steps, within="30d")["n_leads"]
        >>> lost.height == counts[1] - counts[2]
        True
        >>> paid = funnel_leads(load_sample(), steps, step=3, dropped=False, within="30d")
        >>> paid.height == counts[2], paid["last_step"].unique().to_list()
        (True, [3])
    """
    keys = segment_keys(df, by, "funnel_leads", reserved=_LEADS_COLUMNS)
    window = _window(within, "funnel_leads")
    codes, allowed = _step_codes(df, steps, events)
    names = _labels_of(df, steps, codes)
    k = _step_number(step, steps, names, dropped, "funnel_leads")
    times = _step_times(df, codes, window, "funnel_leads", leads, allowed, start, end)
    if keys:
        times = _with_segments(times, df, keys, "funnel_leads", leads, allowed, start, end)
    n = len(codes)
    at = [pl.col(f"_t{j}") for j in range(1, n + 1)]
    reached = at[k - 1].is_not_null()
    keep = at[k - 2].is_not_null() & ~reached if dropped else reached
    depth = pl.sum_horizontal([t.is_not_null().cast(pl.Int64) for t in at])
    no_time = pl.lit(None, dtype=times.schema["_t1"])
    return (
        times.filter(keep)
        .select(
            "lead_id",
            *keys,
            at[0].alias("first_step_at"),
            (at[k - 2] if k > 1 else no_time).alias("previous_step_at"),
            at[k - 1].alias("step_at"),
            depth.alias("last_step"),
            depth.replace_strict(
                list(range(1, n + 1)), names, default=None, return_dtype=pl.Utf8
            ).alias("last_event"),
            pl.coalesce(at[::-1]).alias("last_step_at"),
        )
        .sort("lead_id")
    )


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
