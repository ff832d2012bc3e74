"""Speed to lead: when a person first touched each new lead, and how fast that was per segment.

A lead is *captured* at its first capture event (by default the events named "Lead Capture");
its *first touch* is the first touch event strictly after that, made by someone not in
``exclude_creators`` (``"System"`` by default). By default a touch is any activity of
``type`` "Outbound" (calls, sent e-mails, scheduled demos...) and any event whose name
contains "call" (in any case; audit-log rows, code 3011, are not touches). The clock counts
every minute, or with ``business_hours=`` only the minutes inside opening hours, as a sales
team is judged.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.analysis.touches import first_touch
    >>> first_touch(lsq.load_sample()).columns[-3:]
    ['first_touch_event', 'touched_by', 'minutes_to_first_touch']
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from ..vocabulary import (
    LOG_EVENT_CODE,
    EventCatalog,
    Events,
    Frame,
    Leads,
    as_list,
    check_zone,
    column_names,
    event_catalog,
    event_labels,
    parse_events,
    resolve_events,
)
from .owners import CREATOR_NAME_COLUMNS
from .prepare import in_zone, latest_value, prepared, segment_keys, with_label

__all__ = [
    "CAPTURE_EVENT",
    "TOUCH_NAME_PART",
    "TOUCH_TYPE",
    "BusinessHours",
    "BusinessHoursLike",
    "business_hours",
    "business_minutes",
    "first_touch",
    "speed_to_lead",
]

CAPTURE_EVENT = "Lead Capture"
"""The default capture event, by name."""
TOUCH_TYPE = "Outbound"
"""Activities of this ``type`` are touches by default."""
TOUCH_NAME_PART = "call"
"""Events whose name contains this (any case) are touches by default."""

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_EXAMPLE = '("09:00", "18:00", "Mon-Sat", "Asia/Kolkata")'
_US_PER_MINUTE = 60_000_000
_NS_PER_MINUTE = 60_000_000_000


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours: from ``opens`` to ``closes`` (minutes after midnight) on ``days``, in ``tz``.

    Attributes:
        opens: minutes after local midnight the day's hours start (``"09:00"`` is 540).
        closes: minutes after local midnight they end (after ``opens``; at most 1440).
        days: seven booleans, Monday first: which weekdays are open.
        tz: the IANA time zone the hours are kept in.
    """

    opens: int
    closes: int
    days: tuple[bool, bool, bool, bool, bool, bool, bool]
    tz: str


BusinessHoursLike = BusinessHours | Sequence[str | Sequence[str]]
"""A :class:`BusinessHours`, or ``(opens, closes, days[, tz])`` such as ``("09:00", "18:00",
"Mon-Sat", "Asia/Kolkata")`` (``tz`` defaults to UTC)."""


def _clock(text: object, name: str) -> int:
    if isinstance(text, dt.time):
        return text.hour * 60 + text.minute
    match = _CLOCK.match(text.strip()) if isinstance(text, str) else None
    hour, minute = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not match or minute > 59 or hour > 24 or (hour == 24 and minute):
        raise ValueError(
            f"business_hours: {name} {text!r} is not a time of day such as '09:00' or '18:30' "
            f"(HH:MM, 24-hour clock; '24:00' is the end of the day); e.g. {_EXAMPLE}"
        )
    return hour * 60 + minute


def _day(text: str) -> int:
    key = text.strip().lower()
    found = [k for k, day in enumerate(_WEEKDAYS) if len(key) >= 3 and day.startswith(key)]
    if not found:
        raise ValueError(
            f"business_hours: {text!r} is not a weekday; use Mon, Tue, Wed, Thu, Fri, Sat, Sun "
            f"(or full names), ranges such as 'Mon-Fri' or lists such as 'Mon,Wed,Fri'"
        )
    return found[0]


def _days(spec: object) -> tuple[bool, bool, bool, bool, bool, bool, bool]:
    parts = spec.split(",") if isinstance(spec, str) else as_list(spec)
    open_days = [False] * 7
    for part in parts:
        if not isinstance(part, str):
            raise ValueError(f"business_hours: days take weekday names, not {part!r}")
        ends = part.split("-")
        if len(ends) > 2:
            raise ValueError(f"business_hours: {part!r} is not a day or a range such as 'Mon-Fri'")
        first, last = _day(ends[0]), _day(ends[-1])
        # a range runs forward through the week, so "Sun-Thu" is Sunday to Thursday
        for k in range((last - first) % 7 + 1):
            open_days[(first + k) % 7] = True
    if not any(open_days):
        raise ValueError(f"business_hours: days {spec!r} name no weekday; e.g. {_EXAMPLE}")
    a, b, c, d, e, f, g = open_days
    return (a, b, c, d, e, f, g)


def business_hours(spec: BusinessHoursLike) -> BusinessHours:
    """``spec`` read as :class:`BusinessHours`, checked.

    Args:
        spec: ``(opens, closes, days)`` or ``(opens, closes, days, tz)``: times ``"HH:MM"``
            (``closes`` after ``opens``; ``"24:00"`` is midnight at the day's end), days as
            ``"Mon-Sat"``, ``"Mon-Fri,Sun"``, ``"Sun-Thu"`` or a list of weekday names, and
            an IANA time zone (UTC when left out). A :class:`BusinessHours` is returned as
            it is.

    Returns:
        The opening hours.

    Raises:
        ValueError: a malformed time, weekday or zone, or ``closes`` not after ``opens``.

    Example:
        >>> hours = business_hours(("09:00", "18:00", "Mon-Sat", "Asia/Kolkata"))
        >>> hours.opens, hours.closes, hours.days.count(True), hours.tz
        (540, 1080, 6, 'Asia/Kolkata')
    """
    if isinstance(spec, BusinessHours):
        return spec
    items = list(spec) if isinstance(spec, (list, tuple)) else None
    if items is None or len(items) not in (3, 4):
        raise ValueError(
            f"business_hours= takes (opens, closes, days[, tz]), such as {_EXAMPLE}; not {spec!r}"
        )
    opens, closes = _clock(items[0], "opening time"), _clock(items[1], "closing time")
    if closes <= opens:
        raise ValueError(
            f"business_hours: the closing time {items[1]!r} must be after the opening time "
            f"{items[0]!r} (hours past midnight are not supported); e.g. {_EXAMPLE}"
        )
    tz = items[3] if len(items) == 4 else "UTC"
    if not isinstance(tz, str):
        raise ValueError(f"business_hours: the time zone must be an IANA name, not {tz!r}")
    try:
        check_zone(tz)
    except ValueError as error:
        raise ValueError(f"business_hours: {error}") from None
    return BusinessHours(opens, closes, _days(items[2]), tz)


def business_minutes(start: pl.Expr, end: pl.Expr, hours: BusinessHours) -> pl.Expr:
    """Minutes from ``start`` to ``end`` (UTC Datetime expressions) inside opening ``hours``.

    Vectorised: the whole open days between the two local dates count ``closes - opens``
    minutes each (``pl.business_day_count`` over the open weekdays), minus the part of the
    first day before ``start`` and plus the part of the last day before ``end`` (each clipped
    to the opening hours, and 0 on a closed day). Times are taken on the local wall clock of
    ``hours.tz``: in a zone with daylight saving, a day whose clock changes inside the opening
    hours counts its wall-clock length. Null when either time is null; Float64.

    Example:
        >>> import datetime as dt
        >>> hours = business_hours(("09:00", "18:00", "Mon-Fri"))
        >>> fri = dt.datetime(2025, 3, 7, 17, 0, tzinfo=dt.timezone.utc)
        >>> mon = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.timezone.utc)
        >>> pl.select(business_minutes(pl.lit(fri), pl.lit(mon), hours)).item()
        90.0
    """
    length = float(hours.closes - hours.opens)
    open_days = pl.Series([k + 1 for k in range(7) if hours.days[k]], dtype=pl.Int8)

    def local(expr: pl.Expr) -> pl.Expr:
        return in_zone(expr, hours.tz).dt.replace_time_zone(None)

    def done_today(expr: pl.Expr) -> pl.Expr:
        """Open minutes of the day before ``expr``'s time."""
        minute = local(expr).dt.time().cast(pl.Int64).cast(pl.Float64) / _NS_PER_MINUTE
        inside = (minute - hours.opens).clip(0.0, length)
        is_open = local(expr).dt.weekday().cast(pl.Int8).is_in(open_days.implode())
        return pl.when(is_open).then(inside).otherwise(0.0)

    whole_days = pl.business_day_count(
        local(start).dt.date(), local(end).dt.date(), week_mask=list(hours.days)
    ).cast(pl.Float64)
    return whole_days * length - done_today(start) + done_today(end)


def _codes(
    events: Events, name: str, book: EventCatalog | None, default: str | None = None
) -> list[int]:
    """The codes of ``events``; ``None``: those named ``default`` in the frame (maybe none)."""
    if events is None:
        return sorted(book.codes_by_name.get((default or "").casefold(), ())) if book else []
    codes = resolve_events(events, book)
    if not codes:
        raise ValueError(f"{name}= names no event; give event codes or names (or leave it out)")
    return codes


def _is_in(codes: list[int]) -> pl.Expr:
    return pl.col("event_code").is_in(pl.Series(codes, dtype=pl.Int32).implode())


def _first_touches(
    df: Frame,
    function: str,
    keys: list[str],
    capture_events: Events,
    touch_events: Events,
    exclude_creators: str | Iterable[str],
    hours: BusinessHoursLike | None,
    leads: Leads,
) -> pl.LazyFrame:
    """:func:`first_touch`'s rows (``first_touch_event`` still the code ``_code``), lazily, with
    each lead's segment of ``keys``."""
    opening = business_hours(hours) if hours is not None else None
    have = column_names(df)
    creators = [c for c in CREATOR_NAME_COLUMNS if c in have]
    default_touch = touch_events is None
    named = (
        default_touch
        or capture_events is None
        or bool(parse_events(capture_events)[1])
        or bool(parse_events(touch_events)[1])
    )
    book = event_catalog(df) if named else None
    capture_codes = _codes(capture_events, "capture_events", book, CAPTURE_EVENT)
    columns = [*(["type"] if default_touch else []), *creators, *keys]
    base = prepared(df, function, columns, leads, None, None, None, ordered=False)
    rows = base.with_row_index("_row")  # frame order, for touches at the same time

    if default_touch and book is not None:
        # "call" in an event type's names (any case), read from the frame's few names rather
        # than from every row; audit-log rows carry the name of the type they changed
        calls = {
            code
            for name, codes in book.codes_by_name.items()
            if TOUCH_NAME_PART in name
            for code in codes
            if code != LOG_EVENT_CODE
        }
        is_touch = (pl.col("type") == TOUCH_TYPE) | _is_in(sorted(calls))
    else:
        is_touch = _is_in(_codes(touch_events, "touch_events", book))
    texts = [pl.col(c).cast(pl.Utf8).str.strip_chars() for c in creators]
    creator = (
        pl.coalesce([pl.when(t != "").then(t) for t in texts])
        if texts
        else pl.lit(None, dtype=pl.Utf8)
    )
    excluded = pl.Series(
        sorted({str(x).strip().lower() for x in as_list(exclude_creators)}), dtype=pl.Utf8
    )
    allowed = ~pl.col("touched_by").str.to_lowercase().is_in(excluded.implode()).fill_null(False)

    captures = (
        rows.filter(_is_in(capture_codes))
        .group_by("lead_id")
        .agg(pl.col("created_on").min().alias("captured_at"))
    )
    # the creator is read on the touches only (a fraction of the rows)
    touches = (
        rows.filter(is_touch)
        .select("lead_id", "created_on", "event_code", creator.alias("touched_by"), "_row")
        .filter(allowed)
        .join(captures, on="lead_id", how="inner")
        .filter(pl.col("created_on") > pl.col("captured_at"))
    )
    order = ["created_on", "_row"]
    firsts = touches.group_by("lead_id").agg(
        pl.col("created_on").min().alias("first_touch_at"),
        pl.col("event_code").bottom_k_by(order, k=1).first().alias("_code"),
        pl.col("touched_by").bottom_k_by(order, k=1).first(),
    )
    out = captures.join(firsts, on="lead_id", how="left")
    if opening is None:
        waited = (pl.col("first_touch_at") - pl.col("captured_at")).dt.total_microseconds()
        minutes = waited.cast(pl.Float64) / _US_PER_MINUTE
    else:
        minutes = business_minutes(pl.col("captured_at"), pl.col("first_touch_at"), opening)
    out = out.with_columns(minutes.alias("minutes_to_first_touch"))
    segment = [key for key in keys if key != "lead_id"]
    if segment:
        values = base.group_by("lead_id").agg([latest_value(key) for key in segment])
        out = out.join(values, on="lead_id", how="left")
    return out


_TOUCH_COLUMNS = (
    "lead_id",
    "captured_at",
    "first_touch_at",
    "first_touch_event",
    "touched_by",
    "minutes_to_first_touch",
)


def first_touch(
    df: Frame,
    *,
    capture_events: Events = None,
    touch_events: Events = None,
    exclude_creators: str | Iterable[str] = ("System",),
    business_hours: BusinessHoursLike | None = None,
    leads: Leads = None,
) -> pl.DataFrame:
    """Per captured lead: when it was captured, and its first touch by a person after that.

    A lead is captured at its first ``capture_events`` activity. Its first touch is the first
    ``touch_events`` activity **strictly after** that time whose creator
    (``data.CreatedByName``, or the account-wide ``created_by_name``; spaces stripped) is not
    in ``exclude_creators`` (compared in any case); an activity without a creator name is
    nobody's and counts. Touches before the capture never count. Two touches at the same time:
    the earlier row of the frame.

    Defaults: the capture events are those named "Lead Capture" (none in a frame without that
    name: then no lead is captured). The touch events are every activity of ``type``
    "Outbound" (as LeadSquared writes it) plus every event type one of whose names contains
    "call", in any case (audit-log rows, code 3011, excepted: their name is the type they
    changed).

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        capture_events: the events that capture a lead (codes or names; any counts).
        touch_events: the events that touch one (codes or names), replacing the default rule.
        exclude_creators: creator names whose activities are not touches.
        business_hours: count only the minutes inside opening hours, such as
            ``("09:00", "18:00", "Mon-Sat", "Asia/Kolkata")`` (see :func:`business_hours`).
        leads: only these leads (the shared filter of :mod:`lsq_analysis.analysis`).

    Returns:
        One row per lead with a capture, sorted by ``lead_id``: ``lead_id``, ``captured_at``,
        ``first_touch_at``, ``first_touch_event`` (the event's display label),
        ``touched_by`` (the creator's name), ``minutes_to_first_touch`` (Float64; business
        minutes with ``business_hours``). The touch columns are null when no touch came.

    Raises:
        ValueError: an unknown event name, an event list naming no event, bad
            ``business_hours``, or a frame lacking a column of the expanded frame.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.analysis.touches import first_touch
        >>> touches = first_touch(lsq.load_sample())
        >>> touches.height, "System" in touches["touched_by"].to_list()
        (25, False)
    """
    out = _first_touches(
        df,
        "first_touch",
        [],
        capture_events,
        touch_events,
        exclude_creators,
        business_hours,
        leads,
    )
    return (
        with_label(out, event_labels(df), code="_code", label="first_touch_event")
        .select(_TOUCH_COLUMNS)
        .sort("lead_id")
        .collect()
    )


_SPEED_COLUMNS = (
    "n_leads",
    "n_touched",
    "median_minutes",
    "p90_minutes",
    "within_5m",
    "within_1h",
    "never",
)


def _speed_stats() -> list[pl.Expr]:
    minutes = pl.col("minutes_to_first_touch")
    n = pl.len()

    def share(hits: pl.Expr) -> pl.Expr:
        return pl.when(n > 0).then(hits.sum().cast(pl.Float64) / n)

    return [
        n.cast(pl.Int64).alias("n_leads"),
        minutes.is_not_null().sum().cast(pl.Int64).alias("n_touched"),
        minutes.median().cast(pl.Float64).alias("median_minutes"),
        minutes.quantile(0.9, "linear").cast(pl.Float64).alias("p90_minutes"),
        share(minutes <= 5).alias("within_5m"),
        share(minutes <= 60).alias("within_1h"),
        share(minutes.is_null()).alias("never"),
    ]


def speed_to_lead(
    df: Frame,
    *,
    by: str | Sequence[str] | None = None,
    capture_events: Events = None,
    touch_events: Events = None,
    exclude_creators: str | Iterable[str] = ("System",),
    business_hours: BusinessHoursLike | None = None,
    leads: Leads = None,
) -> pl.DataFrame:
    """How fast captured leads were first touched, per segment (:func:`first_touch` summed up).

    Capture, touch and the creators left out are :func:`first_touch`'s (by default "Lead
    Capture"; activities of ``type`` "Outbound" and events whose name contains "call";
    ``"System"`` left out).

    Segments: with ``by``, each lead is in its segment, its latest non-null value of each
    ``by`` column among its activities (a ``lead.`` attribute is the lead's own), so it counts
    once; leads without a value form the null segment, sorted last. Only segments with a
    captured lead are listed; without ``by`` there is one row (``n_leads`` 0 and null shares
    when no lead was captured).

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        by: segment column(s), such as ``"lead.owner_name"`` or ``"lead.source"`` after
            :func:`lsq_analysis.with_leads`.
        capture_events, touch_events, exclude_creators, business_hours, leads: as in
            :func:`first_touch`.

    Returns:
        One row per segment (the ``by`` columns first): ``n_leads`` (captured leads),
        ``n_touched`` (of them, those touched), ``median_minutes`` and ``p90_minutes`` (of the
        touched leads' minutes to first touch, linear interpolation; null when none was
        touched), ``within_5m`` and ``within_1h`` (shares of ``n_leads`` touched within at
        most 5 and 60 minutes, business minutes with ``business_hours``), ``never`` (share of
        ``n_leads`` never touched). The shares are between 0 and 1.

    Raises:
        ValueError: as :func:`first_touch`, or ``by`` naming a column the frame lacks (a
            ``lead.`` one: call ``with_leads`` first) or an output column.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.analysis.touches import speed_to_lead
        >>> summary = speed_to_lead(lsq.load_sample())
        >>> summary["n_leads"].item(), 0 <= summary["within_1h"].item() <= 1
        (25, True)
    """
    keys = segment_keys(df, by, "speed_to_lead", reserved=(*_TOUCH_COLUMNS, *_SPEED_COLUMNS))
    out = _first_touches(
        df,
        "speed_to_lead",
        keys,
        capture_events,
        touch_events,
        exclude_creators,
        business_hours,
        leads,
    )
    if not keys:
        return out.select(_speed_stats()).collect()
    return out.group_by(keys).agg(_speed_stats()).sort(keys, nulls_last=True).collect()
