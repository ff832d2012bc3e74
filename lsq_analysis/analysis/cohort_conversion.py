"""Conversion by cohort: of the leads that started in each period, how many did an event, and when.

A lead *starts* at its first ``start_event`` (by default its first activity); its *cohort* is
that start truncated to ``every`` (polars' ``dt.truncate``: ``"1w"`` weeks start on Monday,
``"1mo"`` months on the 1st, in ``tz``). Period ``k`` (0, 1, ...) of a lead is the time from its
start to ``start + (k + 1) * every`` (polars' ``dt.offset_by``, so ``"1mo"`` is a calendar
month); the lead has *reached* the event by period ``k`` when its first ``event`` at or after
its start came before that end. The shares therefore grow with ``k``.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.analysis.cohort_conversion import cohorts
    >>> table = cohorts(lsq.load_sample(), event="Payment Received", every="1mo", periods=3)
    >>> table.columns
    ['cohort', 'period', 'n_leads', 'n_reached', 'share']
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import polars as pl

from ..vocabulary import (
    Event,
    EventCatalog,
    Frame,
    Leads,
    TimeBound,
    check_zone,
    event_catalog,
    parse_events,
    resolve_events,
    to_utc,
)
from .prepare import in_zone, latest_value, prepared, segment_keys

__all__ = ["check_every", "cohorts", "scaled_every"]

_EVERY_PART = re.compile(r"(\d+)(ns|us|ms|s|mo|m|h|d|w|q|y)")
_EVERY_EXAMPLE = "'1d', '1w', '2w', '1mo', '1q', '12h'"
_PROBE = pl.Series([dt.datetime(2025, 3, 5, 13, 30, tzinfo=dt.timezone.utc)])


def check_every(every: object, function: str, name: str = "every") -> str:
    """``every`` if it is a polars duration string that periods can be cut by, else ValueError.

    A duration string is one or more of a whole number and a unit: ``ns``, ``us``, ``ms``,
    ``s``, ``m`` (minutes), ``h``, ``d``, ``w`` (weeks, from Monday), ``mo`` (calendar
    months), ``q`` (quarters), ``y`` (years), such as ``"1w"``, ``"1mo"`` or ``"1h30m"``;
    it must be longer than zero, and calendar and clock units cannot be mixed (polars cannot
    truncate ``"1w2d"``). Units are case-sensitive (``"1M"`` is refused, not read as minutes).

    Raises:
        ValueError: ``every`` is not such a string (the message names ``function``).

    Example:
        >>> from lsq_analysis.analysis.cohort_conversion import check_every
        >>> check_every(" 1mo ", "cohorts")
        '1mo'
        >>> try:
        ...     check_every("1 month", "cohorts")
        ... except ValueError as error:
        ...     print(str(error).split(";")[0])
        cohorts(): every='1 month' is not a duration
    """
    text = every.strip() if isinstance(every, str) else None
    parts = _EVERY_PART.findall(text) if text else []
    if text is None or not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(
            f"{function}(): {name}={every!r} is not a duration; use a polars duration string "
            f"such as {_EVERY_EXAMPLE} (units ns, us, ms, s, m, h, d, w, mo, q, y)"
        )
    if not any(int(n) for n, _ in parts):
        raise ValueError(f"{function}(): {name}={every!r} is zero; periods must be longer")
    try:
        _PROBE.dt.truncate(text)
    except pl.exceptions.PolarsError as error:
        first = str(error).splitlines()[0]
        raise ValueError(
            f"{function}(): {name}={every!r} cannot cut periods ({first}); use one kind of "
            f"unit, such as {_EVERY_EXAMPLE}"
        ) from None
    return text


def scaled_every(every: str, times: int) -> str:
    """The duration string ``every`` taken ``times`` times (each number multiplied).

    ``dt.offset_by(scaled_every("1mo", 3))`` moves three calendar months at once, which is
    not always three one-month moves (31 January + 1mo + 1mo + 1mo is 28 April).

    Example:
        >>> from lsq_analysis.analysis.cohort_conversion import scaled_every
        >>> scaled_every("1h30m", 3)
        '3h90m'
    """
    return "".join(f"{int(n) * times}{u}" for n, u in _EVERY_PART.findall(every))


def _count(value: object, name: str, function: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{function}(): {name} must be a whole number from 1, not {value!r}")
    return value


def _codes_of(
    events: Event | Sequence[Event] | None, name: str, book: EventCatalog | None
) -> list[int]:
    codes = resolve_events(events, book)
    if not codes:
        raise ValueError(
            f"cohorts(): {name}= names no event; give an event code or name, e.g. "
            f"{name}='Payment Received' (or a list of them)"
        )
    return codes


def _is_one_of(codes: list[int]) -> pl.Expr:
    return pl.col("event_code").is_in(pl.Series(codes, dtype=pl.Int32).implode())


_COHORT_COLUMNS = ("cohort", "period", "n_leads", "n_reached", "share")


def cohorts(
    df: Frame,
    *,
    event: Event | Sequence[Event],
    every: str = "1mo",
    periods: int = 6,
    start_event: Event | Sequence[Event] | None = None,
    by: str | Sequence[str] | None = None,
    as_of: TimeBound = None,
    tz: str = "UTC",
    leads: Leads = None,
) -> pl.DataFrame:
    """Of the leads that started in each period, the share that reached ``event`` by each period.

    Each lead starts at its first ``start_event`` (default: its first activity); its cohort is
    that start truncated to ``every`` in ``tz`` (weeks start on Monday). A lead has reached
    ``event`` by period ``k`` (``k = 0 ... periods - 1``) when its first ``event`` **at or
    after its start** came before ``start + (k + 1) * every`` (a calendar step for ``"1mo"``).
    An ``event`` before the start does not count: a lead that paid before its Lead Capture
    has reached "Payment" only if it pays again after it. Leads without a ``start_event`` are
    in no cohort.

    Too young: the frame is taken to hold everything up to ``as_of`` (default: the latest
    ``created_on`` in the frame). A cohort's period ``k`` is complete once **every** lead of
    the cohort has been watched for its whole period ``k``, that is when the cohort's latest
    start plus ``(k + 1) * every`` is at or before ``as_of``; until then ``n_reached`` and
    ``share`` are null, never a 0 (or a share too low) that only says "not yet". (Judging by
    the cohort's first day instead would show late joiners as not converted.)

    Segments: with ``by``, each lead is in its segment (its latest non-null value of each
    ``by`` column, a ``lead.`` attribute being the lead's own) and each segment has its own
    cohorts; completeness is judged per segment and cohort.

    Args:
        df: the expanded activity frame, eager or lazy (only the columns used are read).
        event: the event(s) to reach (codes or names; any of a list counts).
        every: the cohort and period length, a polars duration string (``"1d"``, ``"1w"``,
            ``"1mo"``, ``"1q"``...).
        periods: how many periods to follow each cohort for (at least 1).
        start_event: the event(s) that start a lead (codes or names); ``None``: its first
            activity of any kind.
        by: segment column(s), such as ``"lead.source"`` after :func:`lsq_analysis.with_leads`.
        as_of: the time the data runs to (a datetime, date or ISO string; a date or naive
            time is read in ``tz``); activities after it are left out. Default: the latest
            ``created_on`` of the frame (all of it, not only the ``leads`` picked).
        tz: the time zone the cohorts and periods are cut in (IANA name).
        leads: only these leads (the shared filter of :mod:`lsq_analysis.analysis`).

    Returns:
        One row per cohort and period (the ``by`` columns first): ``cohort`` (the period's
        start, Datetime in ``tz``), ``period`` (0, 1, ...), ``n_leads`` (leads that started in
        the cohort), ``n_reached`` (of them, those that reached ``event`` by the end of the
        period; null while the period is incomplete), ``share`` (``n_reached / n_leads``, null
        likewise); sorted by segment (nulls last), cohort and period. Only cohorts with leads
        are listed.

    Raises:
        ValueError: ``event`` or ``start_event`` naming no or an unknown event, ``every`` not
            a duration string, ``periods`` not a whole number from 1, a bad ``as_of`` or
            ``tz``, or ``by`` naming a column the frame lacks or an output column.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.analysis.cohort_conversion import cohorts
        >>> table = cohorts(lsq.load_sample(), event="Payment Received",
        ...                 start_event="Lead Capture", every="1mo", periods=2)
        >>> int(table.filter(pl.col("period") == 0)["n_leads"].sum())
        25
        >>> table["share"].drop_nulls().is_between(0, 1).all()
        True
    """
    check_zone(tz)
    every = check_every(every, "cohorts")
    n = _count(periods, "periods", "cohorts")
    keys = segment_keys(df, by, "cohorts", reserved=_COHORT_COLUMNS)
    named = parse_events(event)[1] or parse_events(start_event)[1]
    book = event_catalog(df) if named else None
    event_codes = _codes_of(event, "event", book)
    start_codes = _codes_of(start_event, "start_event", book) if start_event is not None else None
    cutoff = to_utc(as_of, "as_of", tz=tz)

    base = prepared(df, "cohorts", keys, leads, None, None, None, ordered=False)
    if cutoff is not None:
        base = base.filter(pl.col("created_on") <= cutoff)
        horizon = pl.LazyFrame({"_as_of": pl.Series([cutoff], dtype=pl.Datetime("us", "UTC"))})
    else:
        horizon = df.lazy().select(pl.col("created_on").max().alias("_as_of"))
    time = pl.col("created_on")
    is_event = _is_one_of(event_codes)
    if start_codes is None:  # every event comes at or after the lead's first activity
        began, reach = time.min(), time.filter(is_event).min()
    else:
        began = time.filter(_is_one_of(start_codes)).min()
        reach = time.filter(is_event & (time >= began)).min()
    per_lead = (
        base.group_by("lead_id")
        .agg(
            began.alias("_start"),
            reach.alias("_reach"),
            *[latest_value(key) for key in keys if key != "lead_id"],
        )
        .filter(pl.col("_start").is_not_null())
        .with_columns(
            in_zone(pl.col("_start"), tz).alias("_start"),
            in_zone(pl.col("_reach"), tz).alias("_reach"),
        )
    )
    start = pl.col("_start")
    reached = [
        (pl.col("_reach") < start.dt.offset_by(scaled_every(every, k + 1)))
        .fill_null(False)
        .sum()
        .cast(pl.Int64)
        .alias(f"_n{k}")
        for k in range(n)
    ]
    groups = [*keys, "cohort"]
    per_cohort = (
        per_lead.with_columns(start.dt.truncate(every).alias("cohort"))
        .group_by(groups)
        .agg(pl.len().cast(pl.Int64).alias("n_leads"), start.max().alias("_last"), *reached)
        .join(horizon, how="cross")
    )
    as_of_local = in_zone(pl.col("_as_of"), tz)
    complete = [
        (pl.col("_last").dt.offset_by(scaled_every(every, k + 1)) <= as_of_local).fill_null(False)
        for k in range(n)
    ]
    out = (
        per_cohort.select(
            *groups,
            pl.int_ranges(0, n, dtype=pl.Int64).alias("period"),
            "n_leads",
            pl.concat_list([pl.col(f"_n{k}") for k in range(n)]).alias("_n"),
            pl.concat_list(complete).alias("_ok"),
        )
        .explode("period", "_n", "_ok")
        .select(
            *groups,
            "period",
            "n_leads",
            pl.when("_ok").then(pl.col("_n")).alias("n_reached"),
            pl.when("_ok").then(pl.col("_n") / pl.col("n_leads")).alias("share"),
        )
        .sort([*groups, "period"], nulls_last=True)
    )
    return out.collect()
