"""The rows of a store file, and the frame helpers the store and fetching share.

A store file holds one row per activity, in the order the API sent them (:data:`RAW_SCHEMA`):
``position``, ``activity_id``, ``event_code``, ``created_on`` and ``modified_on`` (as the
API wrote them), ``activity`` (the activity's JSON, exactly as received) and ``fetched_at``
(UTC). :func:`raw_rows` makes those rows from the API's dicts; :func:`merge_refreshed`
merges the newest pages of a lead into what was stored for it.

Example:
    >>> from datetime import datetime, timezone
    >>> rows = raw_rows([{"Id": "a", "EventCode": "21"}], datetime.now(timezone.utc))
    >>> rows["event_code"].to_list()
    [21]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import polars as pl

from ..vocabulary import LOG_EVENT_CODE, activity_identity, is_lead_id

__all__ = [
    "RAW_SCHEMA",
    "Key",
    "LeadRecord",
    "activity_key",
    "as_max_age",
    "concat_frames",
    "drop_empty_extras",
    "merge_activities",
    "merge_refreshed",
    "normalise_lead",
    "raw_rows",
    "take_leads",
]

RAW_SCHEMA: dict[str, pl.DataType] = {
    "position": pl.Int32(),
    "activity_id": pl.String(),
    "event_code": pl.Int32(),
    "created_on": pl.String(),
    "modified_on": pl.String(),
    "activity": pl.String(),
    "fetched_at": pl.Datetime("us", "UTC"),
}
"""The columns of a store file, in order, with their types."""
Key = tuple[str, int]
"""An activity's (lower-case ``Id``, ``EventCode``): see :func:`activity_key`."""


@dataclass(frozen=True)
class LeadRecord:
    """What the store knows about one complete lead.

    Attributes:
        lead_id: the lead (lower-case GUID).
        fetched_at: when the lead was last fetched completely (UTC).
        activities: how many activities are stored for it.
        token: identifies the file's current version (inode, mtime, size).
    """

    lead_id: str
    fetched_at: datetime
    activities: int
    token: str


def normalise_lead(lead_id: str) -> str:
    """The canonical (stripped, lower-case) form of a lead id, or ``ValueError``.

    Example:
        >>> normalise_lead(" 3A6D5EA2-400E-4A2F-A728-FBFA0B0C1DDF ")
        '3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf'
    """
    text = str(lead_id).strip()
    if not is_lead_id(text):
        raise ValueError(f"{lead_id!r} is not a lead id (a GUID like 3a6d5ea2-400e-…)")
    return text.lower()


def as_max_age(max_age: float | timedelta | None) -> timedelta | None:
    """``max_age`` (None, a timedelta or seconds) as a timedelta, or ``ValueError``.

    Example:
        >>> as_max_age(90)
        datetime.timedelta(seconds=90)
    """
    if max_age is None or isinstance(max_age, timedelta):
        return max_age
    if isinstance(max_age, (int, float)) and not isinstance(max_age, bool) and max_age >= 0:
        return timedelta(seconds=float(max_age))
    raise ValueError(
        f"max_age must be None, a timedelta or a number of seconds >= 0, not {max_age!r}"
    )


def _event_code(value: Any) -> int | None:
    """The API's ``EventCode`` as stored: an Int32, or None for anything else (never raises)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**31) <= value < 2**31 else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return _event_code(int(value.strip()))
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def raw_rows(activities: Sequence[Mapping[str, Any]], fetched_at: datetime) -> pl.DataFrame:
    """Raw activities (dicts as the API sent them) as rows of a store file.

    Example:
        >>> from datetime import datetime, timezone
        >>> raw_rows([{"Id": "a", "EventCode": 21}], datetime.now(timezone.utc)).height
        1
    """
    return pl.DataFrame(
        {
            "position": list(range(len(activities))),
            "activity_id": [_text(a.get("Id")) for a in activities],
            "event_code": [_event_code(a.get("EventCode")) for a in activities],
            "created_on": [_text(a.get("CreatedOn")) for a in activities],
            "modified_on": [_text(a.get("ModifiedOn")) for a in activities],
            "activity": [orjson.dumps(a).decode() for a in activities],
            "fetched_at": [fetched_at] * len(activities),
        },
        schema=RAW_SCHEMA,
    )


def activity_key(activity: Mapping[str, Any]) -> Key | None:
    """(lower-case ``Id``, ``EventCode``) of an activity in the per-lead shape; None for an
    audit-log row (its ``Id`` is that of the activity it logs) or one without both.

    Example:
        >>> activity_key({"Id": "AB-1", "EventCode": "21"})
        ('ab-1', 21)
    """
    ident, code = activity.get("Id"), activity.get("EventCode")
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        code = int(code)
    if not isinstance(ident, str) or not ident or not isinstance(code, int):
        return None
    return None if code == LOG_EVENT_CODE else (ident.strip().lower(), code)


def merge_refreshed(stored: pl.DataFrame, fetched: pl.DataFrame, *, complete: bool) -> pl.DataFrame:
    """Merge the newest pages of a lead into what was stored for it.

    ``fetched`` holds the activities of the pages just fetched (newest first, exact
    duplicates already removed); ``complete`` says whether those pages cover the whole
    lead. A complete fetch replaces what was stored. Otherwise the fetched pages cover
    every activity created at or after their oldest ``created_on``: stored activities
    older than that are kept (with their first ``fetched_at``), stored ones at that very
    second are kept unless fetched again (compared as whole rows), and stored ones newer
    than that which the API no longer lists in those pages are replaced by what it lists.

    Example:
        >>> merged = merge_refreshed(stored_rows, newest_page_rows, complete=False)
    """
    if complete or stored.height == 0:
        out = fetched
    elif fetched.height == 0:
        out = stored
    else:
        boundary = fetched["created_on"].drop_nulls().min()
        fetched_ids = {activity_identity(text) for text in fetched["activity"]}
        keep = [
            (created is None or boundary is None or created <= boundary)
            and activity_identity(text) not in fetched_ids
            for created, text in zip(stored["created_on"], stored["activity"], strict=True)
        ]
        kept = stored.filter(pl.Series(keep, dtype=pl.Boolean))
        out = pl.concat([fetched.select(list(RAW_SCHEMA)), kept.select(list(RAW_SCHEMA))])
    return out.with_columns(pl.int_range(pl.len(), dtype=pl.Int32).alias("position")).select(
        list(RAW_SCHEMA)
    )


def merge_activities(
    stored: Sequence[Mapping[str, Any]],
    fetched: Sequence[Mapping[str, Any]],
    *,
    complete: bool,
) -> list[Mapping[str, Any]]:
    """A lead's activities after a refresh: the newest pages merged into what was stored.

    ``fetched`` holds the activities of the pages just fetched (newest first, exact
    duplicates already removed); ``complete`` says whether those pages cover the whole
    lead. A complete fetch replaces what was stored. Otherwise the fetched pages cover
    every activity created at or after their oldest ``CreatedOn``: stored activities older
    than that are kept, stored ones at that very second are kept unless fetched again
    (compared as whole activities, or by :func:`activity_key`: an account-wide pull's copy
    of an activity differs from the per-lead one), and stored ones newer than that which the API no
    longer lists in those pages are replaced by what it lists.

    Example:
        >>> old, new = {"Id": "a", "CreatedOn": "2025-01"}, {"Id": "b", "CreatedOn": "2025-02"}
        >>> [a["Id"] for a in merge_activities([old], [new], complete=False)]
        ['b', 'a']
    """
    if complete or not stored:
        return list(fetched)
    if not fetched:
        return list(stored)
    created = [_text(a.get("CreatedOn")) for a in fetched]
    boundary = min((c for c in created if c is not None), default=None)
    fetched_ids = {activity_identity(a) for a in fetched}
    fetched_keys = {key for a in fetched if (key := activity_key(a)) is not None}
    kept = [
        a
        for a in stored
        if ((c := _text(a.get("CreatedOn"))) is None or boundary is None or c <= boundary)
        and activity_identity(a) not in fetched_ids
        and activity_key(a) not in fetched_keys
    ]
    return [*fetched, *kept]


def take_leads(
    frame: pl.DataFrame,
    leads: Sequence[str],
    starts: Mapping[str, int],
    counts: Mapping[str, LeadRecord] | Mapping[str, int],
) -> pl.DataFrame:
    """The rows of ``leads``, in order: each ``counts[lead]`` rows from ``starts[lead]``.

    Example:
        >>> frame = pl.DataFrame({"n": [0, 1, 2, 3]})
        >>> take_leads(frame, ["b", "a"], {"a": 0, "b": 2}, {"a": 2, "b": 2})["n"].to_list()
        [2, 3, 0, 1]
    """
    spans = []
    for lead in leads:
        count = counts[lead]
        spans.append((starts[lead], count.activities if isinstance(count, LeadRecord) else count))
    runs: list[list[int]] = []  # [start, length], adjacent spans merged
    for start, n in spans:
        if runs and runs[-1][0] + runs[-1][1] == start:
            runs[-1][1] += n
        elif n:
            runs.append([start, n])
    if len(runs) == 1 and runs[0] == [0, frame.height]:
        return frame  # already exactly these rows in this order
    if not runs:
        return frame.clear()
    # Zero-copy slices stacked without a copy: much cheaper than a gather of every column.
    return pl.concat([frame.slice(start, n) for start, n in runs], rechunk=False)


def concat_frames(pieces: list[pl.DataFrame]) -> pl.DataFrame:
    """Stack expanded frames whose extra columns differ, in the frames module's column order.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> concat_frames([df.head(2), df.tail(3)]).height
        5
    """
    pieces = [p for p in pieces if p.width]
    if not pieces:
        from ..frames import activities_frame

        return activities_frame([])
    if len(pieces) == 1:
        return pieces[0]
    out = pl.concat(pieces, how="diagonal_relaxed")
    from ..frames import column_order

    return out.select(column_order(out.columns))


def drop_empty_extras(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop expanded columns that hold nothing in these rows (the core columns stay).

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> drop_empty_extras(df.head(1)).width <= df.width
        True
    """
    from ..frames import CORE_SCHEMA

    empty = [
        name
        for name, count in zip(frame.columns, frame.null_count().row(0), strict=True)
        if name not in CORE_SCHEMA and count == frame.height
    ]
    return frame.drop(empty) if empty else frame
