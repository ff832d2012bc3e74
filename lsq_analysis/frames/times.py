"""Date texts -> UTC datetimes: the API's usual form (:data:`API_TIME`) on the fast path and,
for a column that form does not cover, the other known forms (ISO 8601 with or without a zone,
converted to UTC, and ``4/4/2025 4:39:47 PM``); texts still unread become null with one
:class:`UserWarning` per column (:func:`warn_unread`), the ``0001-01-01`` sentinel null."""

from __future__ import annotations

import warnings

import polars as pl

from .schema import UTC_US
from .text import to_text

ZERO_DATE_YEAR = 1  # .NET DateTime.MinValue (0001-01-01 00:00:00) means "unknown"

API_TIME = "%Y-%m-%d %H:%M:%S"
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%m/%d/%Y %I:%M:%S %p")


def time_expr(name: str, fallback: bool) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    parsed = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    if fallback:
        parsed = pl.coalesce(
            parsed, *(text.str.strptime(pl.Datetime("us"), f, strict=False) for f in _TIME_FORMATS)
        )
    zero = parsed.dt.year() <= ZERO_DATE_YEAR
    return pl.when(zero.not_()).then(parsed).dt.replace_time_zone("UTC").alias(name)


# column -> (how many non-empty date texts could not be read, the first of them)
Unread = dict[str, tuple[int, str]]


def warn_unread(unread: Unread) -> None:
    """One :class:`UserWarning` per date column that had texts in an unknown format."""
    for name, (count, example) in unread.items():
        warnings.warn(
            f"{name}: {count} value{'s' if count != 1 else ''} in an unknown date format "
            f"became null, e.g. {example!r}",
            UserWarning,
            stacklevel=3,  # the caller of activities_frame
        )


# ISO 8601 with a zone ("Z", "+05:30", "+0530"), after "Z" -> "+00:00" and " " -> "T"
_ZONED_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")


_NAIVE_FORMATS = (*_TIME_FORMATS, "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")


def _naive_expr(name: str) -> pl.Expr:
    """Text in one of :data:`_NAIVE_FORMATS` -> naive datetime (null where it is in none)."""
    text = pl.col(name)
    return pl.coalesce(
        *(text.str.strptime(pl.Datetime("us"), f, strict=False) for f in _NAIVE_FORMATS)
    )


def _zoned_expr(name: str) -> pl.Expr:
    """ISO 8601 text with a zone -> naive UTC (null where the text is not of that form)."""
    text = (
        pl.col(name)
        .str.replace(r"[Zz]$", "+00:00")
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) (\d)", "${1}T${2}")
    )
    zoned = [text.str.strptime(UTC_US, f, strict=False) for f in _ZONED_FORMATS]
    return pl.coalesce(*zoned).dt.replace_time_zone(None)


def parse_times(s: pl.Series, unread: Unread | None = None) -> pl.Series:
    """Date texts in any known form -> UTC datetimes, the 0001-01-01 sentinel as null.

    The slow way, for a column the API's usual form did not cover: only the texts that form
    misses are read again, in the other forms, and only those still missed as ISO 8601 with a
    zone. Non-empty texts that still cannot be read (not the sentinel, which reads as year 1)
    are counted in ``unread`` under the column's name, with the first as an example.
    """
    text = to_text(s).str.strip_chars()
    out = text.str.strptime(pl.Datetime("us"), API_TIME, strict=False)
    for again in (_naive_expr, _zoned_expr):
        missed = (out.is_null() & (text != "")).fill_null(False).arg_true()
        if not len(missed):
            break
        rest = pl.DataFrame({"t": text.gather(missed)})
        out = out.scatter(missed, rest.select(again("t")).to_series())
    else:
        missed = (out.is_null() & (text != "")).fill_null(False).arg_true()
        if len(missed) and unread is not None:
            count, example = unread.get(str(s.name), (0, text[missed[0]]))
            unread[str(s.name)] = (count + len(missed), example)
    out = out.set((out.dt.year() <= ZERO_DATE_YEAR).fill_null(False), None)
    return out.dt.replace_time_zone("UTC").alias(s.name)
