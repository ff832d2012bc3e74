"""The one vocabulary every layer uses: lead ids, events, time windows, durations.

Each rule is written here once, and the client, the fake server, fetching, the store, the
frames, the analyses, the charts and the widgets all call it:

* **Lead id**: a GUID (``3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf``, the ProspectID). Ids are
  compared lower-case; :func:`lead_id` returns the canonical (stripped, lower-case) form.
* **Event**: an event code (``222`` or ``"222"``), an event name (``"WhatsApp Message"``), or a
  list of either. Names are resolved against a frame (:func:`event_catalog`) or the account's
  activity-type catalog (:func:`catalog_from_types`). ``"Audit log"``, ``"Logs"`` and
  ``"Log"`` mean :data:`LOG_EVENT_CODE`. A name that matches nothing raises ``ValueError``
  listing the names that exist.
* **Activity identity**: an activity is its whole JSON (:func:`activity_identity`). ``Id`` is
  not unique (an activity and its audit-log rows share it), so paging and the store both call
  two rows the same activity only when every field is equal.
* **Time window**: ``start`` is inclusive and ``end`` exclusive. A ``datetime`` without a time
  zone, a ``date`` or a date string means that wall time in ``tz`` (UTC by default), so
  ``end="2025-03-01"`` stops just before 00:00 on 1 March.

This module imports polars and orjson only; it sits beside ``errors`` and ``config`` at the
bottom of the layers (``docs/architecture.md``).

Example:
    >>> from lsq_analysis.vocabulary import lead_id, parse_events, to_utc
    >>> lead_id(" 3A6D5EA2-400E-4A2F-A728-FBFA0B0C1DDF ")
    '3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf'
    >>> parse_events(["Email Opened", 2001])
    ([2001], ['Email Opened'])
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, overload

import orjson
import polars as pl

__all__ = [
    "GUID_PATTERN",
    "LOG_EVENT_CODE",
    "LOG_EVENT_LABEL",
    "DurationLike",
    "Event",
    "EventCatalog",
    "Events",
    "Frame",
    "Leads",
    "TimeBound",
    "activity_identity",
    "as_list",
    "catalog_from_types",
    "check_zone",
    "column_names",
    "event_catalog",
    "event_code",
    "event_labels",
    "filter_activities",
    "filtered",
    "is_lead_id",
    "lead_id",
    "lead_ids",
    "parse_events",
    "require_columns",
    "resolve_events",
    "single_event",
    "to_timedelta",
    "to_utc",
    "window",
]

Event: TypeAlias = "int | str"
"""An event code (``222`` or ``"222"``) or an event name (``"WhatsApp Message"``)."""
Events: TypeAlias = "int | str | Iterable[int | str] | None"
Leads: TypeAlias = "str | Iterable[str] | None"
TimeBound: TypeAlias = "dt.datetime | dt.date | str | None"
DurationLike: TypeAlias = "str | dt.timedelta"
Frame: TypeAlias = "pl.DataFrame | pl.LazyFrame"
"""Every analysis takes an eager frame or a lazy one (``ActivityStore.scan()``)."""

LOG_EVENT_CODE = 3011
"""Event code of audit-log rows ("Logs"); their ``event_name`` names the changed type."""
LOG_EVENT_LABEL = "Audit log"
"""Display label of :data:`LOG_EVENT_CODE`."""
_LOG_ALIASES = frozenset({"audit log", "logs", "log"})

GUID_PATTERN = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
"""A LeadSquared id (ProspectID, activity id, user id): a GUID, any case."""
_GUID_RE = re.compile(rf"^{GUID_PATTERN}$")
_GUID_EXAMPLE = "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"


# ---------------------------------------------------------------------------- lead ids


def is_lead_id(value: object) -> bool:
    """Whether ``value`` is a GUID string (surrounding spaces allowed).

    Example:
        >>> is_lead_id("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"), is_lead_id("42")
        (True, False)
    """
    return isinstance(value, str) and _GUID_RE.match(value.strip()) is not None


def lead_id(value: object) -> str:
    """The canonical form of one lead id (stripped, lower-case), or ``ValueError``.

    Example:
        >>> lead_id(" 3A6D5EA2-400E-4A2F-A728-FBFA0B0C1DDF ")
        '3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf'
    """
    if isinstance(value, str) and _GUID_RE.match(value.strip()):
        return value.strip().lower()
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise ValueError(f"A lead id must be a GUID such as {_GUID_EXAMPLE!r}, not {shown}")


def lead_ids(values: Iterable[object], *, what: str = "lead ids") -> tuple[list[str], int]:
    """Canonical lead ids in the order given, each once, and how many duplicates were dropped.

    Every bad id is reported in one ``ValueError`` (the first five shown), so a file of
    thousands of ids with one typo names that typo.

    Example:
        >>> lead_ids(["3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"] * 2)
        (['3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf'], 1)
    """
    items = as_list(values)
    good: dict[str, None] = {}
    bad: list[object] = []
    for item in items:
        if is_lead_id(item):
            good.setdefault(str(item).strip().lower(), None)
        else:
            bad.append(item)
    if bad:
        shown = ", ".join(repr(x)[:60] for x in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(
            f"{len(bad)} of {len(items)} {what} are not GUIDs: {shown}{more}. A lead id looks "
            f"like {_GUID_EXAMPLE!r} (the ProspectID in LeadSquared)."
        )
    return list(good), len(items) - len(good)


# ---------------------------------------------------------------------------- events


def as_list(values: object) -> list[Any]:
    """``None`` → ``[]``; one string or number → ``[it]``; a Series or iterable → a list.

    Example:
        >>> as_list("a"), as_list(None), as_list((1, 2))
        (['a'], [], [1, 2])
    """
    if values is None:
        return []
    if isinstance(values, (str, int)):
        return [values]
    if isinstance(values, pl.Series):
        return values.to_list()
    if isinstance(values, Iterable):
        return list(values)
    return [values]


def event_code(value: object) -> int | None:
    """The event code that ``value`` spells (``222``, ``"222"``), or ``None`` for a name.

    Raises:
        ValueError: a bool, a negative code, or something that is neither a code nor a name.

    Example:
        >>> event_code(" 2001 "), event_code("Email Opened")
        (2001, None)
    """
    if isinstance(value, bool):
        raise ValueError(f"events: {value!r} is neither an event code nor an event name")
    if isinstance(value, int):
        code = value
    elif isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit():
            if not text:
                raise ValueError("events: an empty string is neither an event code nor a name")
            return None
        code = int(text)
    else:
        raise ValueError(f"events: {value!r} is neither an event code nor an event name")
    if not 0 <= code < 2**31:
        raise ValueError(f"events: event codes are whole numbers from 0, not {code}")
    return code


def parse_events(events: Events) -> tuple[list[int], list[str]]:
    """Split events into the codes given and the names still to resolve.

    Example:
        >>> parse_events(["Email Opened", "2001", 21])
        ([21, 2001], ['Email Opened'])
    """
    codes: set[int] = set()
    names: list[str] = []
    for item in as_list(events):
        code = event_code(item)
        if code is None:
            names.append(str(item).strip())
        else:
            codes.add(code)
    return sorted(codes), names


@dataclass(frozen=True)
class EventCatalog:
    """Event names and the codes they stand for, from a frame or the activity-type catalog.

    Attributes:
        codes_by_name: case-folded name → the codes it names.
        names: the names to show when a name is not found, sorted.
        source: what the names came from, for error messages ("this frame", "the catalog").
    """

    codes_by_name: Mapping[str, frozenset[int]] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    source: str = "this frame"

    def codes(self, name: str) -> frozenset[int]:
        """The codes ``name`` stands for (any case), or ``ValueError`` listing known names."""
        key = name.strip().casefold()
        if key in _LOG_ALIASES:
            return frozenset({LOG_EVENT_CODE})
        found = self.codes_by_name.get(key)
        if found:
            return found
        shown = ", ".join(repr(k) for k in self.names[:40])
        more = f" and {len(self.names) - 40} more" if len(self.names) > 40 else ""
        known = f"known names: {shown}{more}" if self.names else "it names no event types"
        raise ValueError(
            f"events: no event type named {name!r} in {self.source}; {known} (or use an event code)"
        )


def event_labels(df: Frame) -> pl.DataFrame:
    """Display label of each event code in the frame.

    The label of a code is its most common ``event_name`` (ties: the first in sort order);
    audit-log rows (code 3011) are labelled ``"Audit log"``, since their ``event_name`` names
    the activity type they changed. A code without any name is labelled ``"Event <code>"``.
    Labels are unique: when two codes would share one, each gets its code appended
    (``"Webinar (205)"``, ``"Webinar (12000)"``), so charts never merge two event types.

    Args:
        df: the expanded activity frame (eager or lazy).

    Returns:
        Columns ``event_code`` (Int32) and ``event`` (Utf8), one row per code, sorted by code.

    Example:
        >>> import lsq_analysis as lsq
        >>> labels = lsq.event_labels(lsq.load_sample())
        >>> dict(labels.iter_rows())[3011]
        'Audit log'
    """
    require_columns(df, ["event_code", "event_name"], "event_labels")
    return _labels(_name_counts(df))


def _name_counts(df: Frame) -> pl.LazyFrame:
    """Rows per (code, name), rows without a code left out: what labels and names come from."""
    return (
        df.lazy()
        .filter(pl.col("event_code").is_not_null())
        .group_by("event_code", "event_name")
        .agg(pl.len().alias("_n"))
    )


def _labels(counts: pl.LazyFrame) -> pl.DataFrame:
    labels = (
        counts.sort(
            ["event_code", "_n", "event_name"], descending=[False, True, False], nulls_last=True
        )
        .group_by("event_code", maintain_order=True)
        .agg(pl.col("event_name").drop_nulls().first().alias("event"))
        .with_columns(
            pl.when(pl.col("event_code") == LOG_EVENT_CODE)
            .then(pl.lit(LOG_EVENT_LABEL))
            .when(pl.col("event").is_null())
            .then(pl.lit("Event ") + pl.col("event_code").cast(pl.Utf8))
            .otherwise(pl.col("event"))
            .alias("event")
        )
        .with_columns(
            pl.when(pl.len().over("event") > 1)
            .then(pl.col("event") + " (" + pl.col("event_code").cast(pl.Utf8) + ")")
            .otherwise(pl.col("event"))
            .alias("event")
        )
        .sort("event_code")
        .collect()
    )
    return labels.with_columns(pl.col("event_code").cast(pl.Int32))


def event_catalog(df: Frame) -> EventCatalog:
    """The names a frame knows: each code's display label and the names of non-log rows.

    ``"WhatsApp Message"`` therefore means code 222, not the audit-log rows (3011) that carry
    the same name. A LazyFrame is read once, for its ``event_code`` and ``event_name`` only.

    Example:
        >>> import lsq_analysis as lsq
        >>> sorted(event_catalog(lsq.load_sample()).codes("email opened"))
        [0]
    """
    require_columns(df, ["event_code", "event_name"], "event_labels")
    counts = _name_counts(df).collect()
    labels = _labels(counts.lazy())
    by_name: dict[str, set[int]] = {}
    for code, label in labels.iter_rows():
        by_name.setdefault(label.casefold(), set()).add(code)
    plain = counts.filter(pl.col("event_code") != LOG_EVENT_CODE)
    for code, name in plain.select("event_code", "event_name").iter_rows():
        if name is not None and code is not None:
            by_name.setdefault(name.casefold(), set()).add(code)
    return EventCatalog(
        {k: frozenset(v) for k, v in by_name.items()}, tuple(sorted(labels["event"].to_list()))
    )


def catalog_from_types(types: pl.DataFrame) -> EventCatalog:
    """The names of the account's activity-type catalog (``client.get_activity_types()``).

    Args:
        types: a frame with ``event_code`` and ``event_name`` (``activity_types_frame``).

    Example:
        >>> import lsq_analysis as lsq
        >>> types = lsq.activity_types_frame(lsq.sample_activity_types())
        >>> sorted(catalog_from_types(types).codes("Email Opened"))
        [0]
    """
    require_columns(types, ["event_code", "event_name"], "catalog_from_types")
    by_name: dict[str, set[int]] = {}
    for code, name in types.select("event_code", "event_name").iter_rows():
        if name is not None and code is not None:
            by_name.setdefault(name.strip().casefold(), set()).add(int(code))
    shown = sorted({n for n in types["event_name"].drop_nulls().to_list()})
    return EventCatalog(
        {k: frozenset(v) for k, v in by_name.items()}, tuple(shown), "the activity-type catalog"
    )


def resolve_events(
    events: Events, catalog: EventCatalog | Frame | None = None, *, single: bool = False
) -> list[int]:
    """Event codes and names → the sorted, distinct event codes they mean.

    Args:
        events: a code, a name, or an iterable of them.
        catalog: where names are looked up: an :class:`EventCatalog`, or a frame to build one
            from. Codes need none; a name without a catalog is refused.
        single: the caller takes exactly one event type (the API's ``event=``); a name that
            stands for several codes is refused.

    Raises:
        ValueError: an unknown name (the message lists the known ones), a name with nothing to
            resolve it against, or (with ``single``) several codes.

    Example:
        >>> import lsq_analysis as lsq
        >>> resolve_events(["WhatsApp Message", "audit log", 2001], lsq.load_sample())
        [222, 2001, 3011]
    """
    codes, names = parse_events(events)
    found = set(codes)
    if names:
        if catalog is None:
            raise ValueError(
                f"events: {names[0]!r} is a name, and no activity-type catalog is at hand to "
                "resolve it; pass an event code (client.get_activity_types() lists them) or "
                "give the client or store access to the catalog"
            )
        book = catalog if isinstance(catalog, EventCatalog) else event_catalog(catalog)
        for name in names:
            found.update(book.codes(name))
    if single and len(found) > 1:
        raise ValueError(
            f"events: {as_list(events)!r} stands for several event codes {sorted(found)}; "
            "this call takes one: pass a code"
        )
    return sorted(found)


# ---------------------------------------------------------------------------- time


def check_zone(tz: str) -> str:
    """``tz`` if it is an IANA time zone, else ``ValueError`` with examples.

    Example:
        >>> check_zone("Asia/Kolkata")
        'Asia/Kolkata'
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"tz={tz!r} is not an IANA time zone such as 'UTC', 'Asia/Kolkata' or "
            "'America/New_York'"
        ) from None
    return tz


@overload
def to_utc(value: None, name: str, *, tz: str = "UTC") -> None: ...
@overload
def to_utc(value: dt.datetime | dt.date | str, name: str, *, tz: str = "UTC") -> dt.datetime: ...
@overload
def to_utc(value: TimeBound, name: str, *, tz: str = "UTC") -> dt.datetime | None: ...
def to_utc(value: TimeBound, name: str, *, tz: str = "UTC") -> dt.datetime | None:
    """A time bound as an aware UTC ``datetime``; a wall time or date is read in ``tz``.

    Example:
        >>> to_utc("2025-03-01", "end", tz="Asia/Kolkata").isoformat()
        '2025-02-28T18:30:00+00:00'
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{name}={value!r} is not an ISO date or date-time such as '2025-03-01' or "
                "'2025-03-01T09:30:00+05:30'"
            ) from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return _local(value, tz)
        return value.astimezone(dt.timezone.utc)
    if isinstance(value, dt.date):
        return _local(dt.datetime(value.year, value.month, value.day), tz)
    raise ValueError(f"{name} must be a datetime, a date or an ISO string, not {value!r}")


def _local(wall: dt.datetime, tz: str) -> dt.datetime:
    if tz == "UTC":
        return wall.replace(tzinfo=dt.timezone.utc)
    from zoneinfo import ZoneInfo

    return wall.replace(tzinfo=ZoneInfo(check_zone(tz))).astimezone(dt.timezone.utc)


def window(
    start: TimeBound, end: TimeBound, *, tz: str = "UTC"
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``(start, end)`` in UTC, checked: ``start`` must come before ``end``.

    Example:
        >>> window("2025-03-01", "2025-03-02")[1].isoformat()
        '2025-03-02T00:00:00+00:00'
    """
    lower, upper = to_utc(start, "start", tz=tz), to_utc(end, "end", tz=tz)
    if lower is not None and upper is not None and lower >= upper:
        raise ValueError(
            f"start ({lower.isoformat()}) must be before end ({upper.isoformat()}); "
            "end is exclusive, so a one-day window is start=day, end=next day"
        )
    return lower, upper


_DURATION_UNITS = {
    "ns": dt.timedelta(microseconds=0.001),
    "us": dt.timedelta(microseconds=1),
    "ms": dt.timedelta(milliseconds=1),
    "s": dt.timedelta(seconds=1),
    "m": dt.timedelta(minutes=1),
    "h": dt.timedelta(hours=1),
    "d": dt.timedelta(days=1),
    "w": dt.timedelta(weeks=1),
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d|w)")


def to_timedelta(value: DurationLike, name: str) -> dt.timedelta:
    """Parse ``"30m"``, ``"1h30m"``, ``"7d"``, ``"2w"`` (units ns, us, ms, s, m, h, d, w).

    Example:
        >>> to_timedelta("1h30m", "within")
        datetime.timedelta(seconds=5400)
    """
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION_PART.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return sum((float(n) * _DURATION_UNITS[u] for n, u in parts), dt.timedelta())
    raise ValueError(
        f"{name}={value!r} is not a duration; use a datetime.timedelta or a string such as "
        "'30m', '1h30m', '7d' (units: ns, us, ms, s, m, h, d, w)"
    )


# ---------------------------------------------------------------------------- the filter


def column_names(df: Frame) -> list[str]:
    """The columns of an eager or lazy frame; a LazyFrame's through ``collect_schema()``.

    Example:
        >>> import polars as pl
        >>> column_names(pl.LazyFrame({"lead_id": []}))
        ['lead_id']
    """
    return df.collect_schema().names() if isinstance(df, pl.LazyFrame) else df.columns


def require_columns(df: Frame, columns: Iterable[str], function: str) -> None:
    """``ValueError`` naming the columns of the expanded frame that ``df`` lacks.

    Example:
        >>> import polars as pl
        >>> require_columns(pl.DataFrame({"lead_id": []}), ["lead_id"], "f")
    """
    have = column_names(df)
    missing = [c for c in columns if c not in have]
    if missing:
        raise ValueError(
            f"{function}() needs the expanded activity frame; missing column(s) {missing}. "
            "Build the frame with lsq_analysis.activities_frame()."
        )


def filtered(
    df: Frame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    tz: str = "UTC",
) -> pl.LazyFrame:
    """The lazy form of :func:`filter_activities`: rows without ``created_on`` are dropped.

    Example:
        >>> import lsq_analysis as lsq
        >>> filtered(lsq.load_sample(), events="Audit log").collect().height > 0
        True
    """
    lower, upper = window(start, end, tz=tz)
    lazy = df.lazy().filter(pl.col("created_on").is_not_null())
    if leads is not None:
        # Compared lower-case without lower-casing the column (ten times dearer at 10M rows):
        # the fetch path and the store keep ids lower-case, and a frame built by hand from
        # upper-case ids still matches.
        given = {str(x).strip() for x in as_list(leads)}
        forms = given | {x.lower() for x in given} | {x.upper() for x in given}
        wanted = pl.Series(sorted(forms), dtype=pl.Utf8)
        lazy = lazy.filter(pl.col("lead_id").is_in(wanted.implode()))
    if events is not None:
        codes = resolve_events(events, df)
        lazy = lazy.filter(pl.col("event_code").is_in(pl.Series(codes, dtype=pl.Int32).implode()))
    if lower is not None:
        lazy = lazy.filter(pl.col("created_on") >= lower)
    if upper is not None:
        lazy = lazy.filter(pl.col("created_on") < upper)
    return lazy


def filter_activities(
    df: Frame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    tz: str = "UTC",
) -> pl.DataFrame:
    """The activities of some leads and events within a time window, all columns kept.

    Args:
        df: the expanded activity frame, or a LazyFrame of it (``pl.scan_delta(...)``): the
            filters are pushed down and only the matching rows are collected.
        leads: lead id(s) to keep (compared lower-case).
        events: event code(s) or name(s) to keep.
        start: keep ``created_on >= start``.
        end: keep ``created_on < end``.
        tz: the zone of dates and wall times in ``start``/``end``.

    Returns:
        The matching rows, in the frame's order.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> opened = lsq.filter_activities(df, events="Email Opened", start="2025-03-01")
        >>> set(opened["event_code"]), opened["created_on"].dt.month().min()
        ({0}, 3)
    """
    require_columns(df, ["lead_id", "event_code", "event_name", "created_on"], "filter_activities")
    return filtered(df, leads=leads, events=events, start=start, end=end, tz=tz).collect()


def activity_identity(activity: Mapping[str, object] | str) -> bytes:
    """A short digest of an activity's whole JSON, keys sorted: equal only for identical rows.

    ``Id`` is not unique (an activity and its audit-log rows share it, and distinct audit-log
    rows can share ``Id``, ``EventCode``, ``ModifiedOn`` and ``CreatedOn``), so only the whole
    row identifies an exact duplicate. Paging (a row served twice across pages) and the store
    (a stored row fetched again) both use this one rule. A JSON string is parsed first.

    Example:
        >>> a = activity_identity({"Id": "a", "EventCode": 1})
        >>> a == activity_identity('{"EventCode": 1, "Id": "a"}')
        True
    """
    value = orjson.loads(activity) if isinstance(activity, str) else activity
    raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(raw, digest_size=16).digest()


def single_event(event: Event | None) -> int | str | None:
    """The one event ``event`` names, as a code or a stripped name; None stays None.

    For the API calls that take exactly one event type (``eventCode``): a list, or text
    that holds several events, is refused with an error saying what to pass. A name still
    has to be looked up in the activity-type catalog (:func:`resolve_events` with
    ``single=True``).

    Example:
        >>> single_event("21"), single_event(" Email Opened ")
        (21, 'Email Opened')
    """
    if event is None:
        return None
    codes, names = parse_events(event) if isinstance(event, (int, str)) else ([], [])
    if len(codes) + len(names) != 1:
        raise ValueError(
            f"event must be one event code such as 21 or an activity type's name such as "
            f"'Email Opened', not {event!r} (client.get_activity_types() lists them)."
        )
    return codes[0] if codes else names[0]
