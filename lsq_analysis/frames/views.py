"""Views of an activities frame: one event type's rows with only the columns it uses, typed
(:func:`event_view`), the expanded columns in long form (:func:`fields_long`), and the
audit-log rows decoded into one row per changed field (:func:`change_log`).

Each takes a DataFrame or a LazyFrame (a Delta table's ``pl.scan_delta(...)``) and collects
only the rows and columns it shows."""

from __future__ import annotations

from typing import Any

import polars as pl

from ..vocabulary import (
    LOG_EVENT_CODE,
    Frame,
    catalog_from_types,
    column_names,
    event_catalog,
    event_code,
    resolve_events,
)
from .expand import activity_types_frame
from .schema import CORE_SCHEMA, UTC_US
from .shapes import loads
from .text import decode_text, null_series, to_text, value_text
from .times import parse_times

_KEEP_IN_VIEW = (
    "lead_id",
    "activity_id",
    "event_code",
    "event_name",
    "activity_score",
    "created_on",
    "modified_on",
)
_INT_RE = r"^[+-]?(0|[1-9][0-9]{0,17})$"
_DEC_RE = r"^[+-]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p")


def _typed(s: pl.Series) -> pl.Series:
    """A string column -> booleans, integers, decimals or UTC datetimes if every value parses."""
    values = s.drop_nulls()
    if s.dtype != pl.String or values.len() == 0:
        return s
    stripped = s.str.strip_chars()
    low = stripped.str.to_lowercase()
    if low.drop_nulls().is_in(["true", "false"]).all():
        return (low == "true").alias(s.name)
    if stripped.drop_nulls().str.contains(_INT_RE).all():
        return stripped.cast(pl.Int64).alias(s.name)
    if stripped.drop_nulls().str.contains(_DEC_RE).all():
        return stripped.cast(pl.Float64).alias(s.name)
    if stripped.drop_nulls().str.contains(r"^\d").all():
        parsed = null_series(s.name, len(s), pl.Datetime("us"))
        for fmt in _DATE_FORMATS:
            parsed = parsed.fill_null(stripped.str.strptime(pl.Datetime("us"), fmt, strict=False))
        if parsed.null_count() == s.null_count():
            return parsed.dt.replace_time_zone("UTC")
        if stripped.drop_nulls().str.contains(r"^\d{4}-\d{2}-\d{2}$").all():
            return stripped.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    return s


def _event_code(df: Frame, event: int | str, types: Any) -> int:
    if not isinstance(event, (int, str)) or isinstance(event, bool):
        raise TypeError(f"event must be an event code (int) or name (str), got {event!r}")
    code = event_code(event)
    if code is not None:  # a code needs no catalog: the frame's names are not read
        return code
    catalog = _catalog(types)
    book = catalog_from_types(catalog) if catalog is not None else event_catalog(df)
    return resolve_events(event, book, single=True)[0]


def _catalog(types: Any) -> pl.DataFrame | None:
    if types is None:
        return None
    if isinstance(types, pl.DataFrame):
        return types
    return activity_types_frame(list(types))


def _event_rows(df: Frame, code: int) -> pl.DataFrame:
    """The rows of ``code``: the core columns of a view and the others holding a value there."""
    columns = column_names(df)
    if "event_code" not in columns:
        return df.clear() if isinstance(df, pl.DataFrame) else df.clear().collect()
    if isinstance(df, pl.DataFrame):
        rows = df.filter(pl.col("event_code") == code)
        keep = [
            c
            for c in rows.columns
            if c in _KEEP_IN_VIEW or rows.get_column(c).null_count() < rows.height
        ]
        return rows.select(keep)
    # lazily: first which columns hold a value in these rows (an aggregate, streamed), then
    # only those are collected, never the frame's empty columns
    lazy = df.filter(pl.col("event_code") == code)
    optional = [c for c in columns if c not in _KEEP_IN_VIEW]
    used = lazy.select(pl.col(optional).is_not_null().any()).collect().row(0) if optional else ()
    holding = {c for c, any_value in zip(optional, used, strict=True) if any_value}
    return lazy.select([c for c in columns if c in _KEEP_IN_VIEW or c in holding]).collect()


def event_view(df: Frame, event: int | str, types: Any = None) -> pl.DataFrame:
    """One event type's rows, only the columns it uses, each column typed where it can be.

    A string column becomes Boolean when all its values are ``True``/``False``, Int64 when all
    are integers (no leading zeros, so phone numbers and codes stay strings), Float64 when all
    are decimals, and Datetime (UTC) when all are ``YYYY-MM-DD HH:MM:SS`` or
    ``M/D/YYYY h:mm:ss AM`` dates. With a catalog, ``fields.mx_Custom_N`` columns are named by
    the type's display names (``fields.mx_Custom_1`` -> ``Course``,
    ``fields.mx_Custom_3.Status`` -> ``Documents.Status``).

    Args:
        df: An activities frame, eager or lazy: a LazyFrame is read for this event's rows
            only, first for which columns hold a value, then for those columns.
        event: An event code (``201``) or an event type's name (``"Course Interested"``,
            matched without regard to case; ``"Logs"`` is 3011).
        types: Optional catalog: :func:`activity_types_frame`'s frame or the raw list.

    Returns:
        The view's rows in the frame's order.

    Raises:
        ValueError: if the name matches no event type, or several codes.
        TypeError: if ``event`` is neither an int nor a str.

    Example:
        >>> from lsq_analysis import load_sample, sample_activity_types
        >>> view = event_view(load_sample(), 205, types=sample_activity_types())
        >>> view["Amount"].dtype
        Float64
    """
    code = _event_code(df, event, types)
    rows = _event_rows(df, code)
    typed = [s if s.name in CORE_SCHEMA else _typed(s) for s in rows.get_columns()]
    out = pl.DataFrame(typed) if typed else rows
    catalog = _catalog(types)
    if catalog is not None:
        match = catalog.filter(pl.col("event_code") == code)
        if match.height:
            names = {
                f["schema_name"]: f["display_name"]
                for f in (match["custom_fields"].to_list()[0] or [])
                if f["schema_name"] and f["display_name"] and f["schema_name"].startswith("mx_")
            }
            rename: dict[str, str] = {}
            taken = set(out.columns)
            for col in out.columns:
                parts = col.split(".", 2)
                if parts[0] != "fields" or len(parts) < 2 or parts[1] not in names:
                    continue
                new = names[parts[1]] + ("." + parts[2] if len(parts) > 2 else "")
                if new in taken:
                    new = f"fields.{new}"
                if new not in taken:
                    rename[col] = new
                    taken.add(new)
            out = out.rename(rename)
    return out


def fields_long(df: Frame) -> pl.DataFrame:
    """The expanded columns in long form: one row per activity per key that has a value.

    Args:
        df: An activities frame, eager or lazy (a LazyFrame is collected for the expanded
            columns and ``lead_id``, ``activity_id``, ``event_code`` only).

    Returns:
        Columns ``lead_id``, ``activity_id``, ``event_code``, ``source`` (``"data"`` or
        ``"fields"``), ``key`` (``"Status"``, ``"mx_Custom_1"``, ``"mx_Custom_1.Status"``) and
        ``value`` (string); activities in the frame's order, keys in column order.

    Example:
        >>> from lsq_analysis import load_sample
        >>> long = fields_long(load_sample())
        >>> long.filter(pl.col("key") == "EmailAddress")["value"].n_unique() > 10
        True
    """
    columns = column_names(df)
    index: list[str] = [c for c in ("lead_id", "activity_id", "event_code") if c in columns]
    expanded = [c for c in columns if c.startswith(("data.", "fields."))]
    schema = {
        "lead_id": pl.String,
        "activity_id": pl.String,
        "event_code": pl.Int32,
        "source": pl.String,
        "key": pl.String,
        "value": pl.String,
    }
    if not expanded:
        return pl.DataFrame(schema=schema)
    if isinstance(df, pl.LazyFrame):
        df = df.select(index + expanded).collect()
    if df.height == 0:
        return pl.DataFrame(schema=schema)
    # column by column, nulls dropped first: an unpivot of the whole wide frame would hold
    # rows x columns cells (tens of millions for a big frame) before dropping them
    pieces = []
    width = len(expanded)
    for i, name in enumerate(expanded):
        col = df.get_column(name)
        if col.dtype != pl.String:
            col = to_text(col)
        rows = col.is_not_null().arg_true()
        if rows.len() == 0:
            continue
        source, key = name.split(".", 1)
        pieces.append(
            pl.DataFrame(
                {
                    "__order": rows.cast(pl.UInt64) * width + i,
                    "source": pl.repeat(source, rows.len(), dtype=pl.String, eager=True),
                    "key": pl.repeat(key, rows.len(), dtype=pl.String, eager=True),
                    "value": col.gather(rows),
                }
            )
        )
    if not pieces:
        return pl.DataFrame(schema=schema)
    long = pl.concat(pieces, rechunk=False).sort("__order")
    rows = (long.get_column("__order") // width).cast(pl.UInt32)
    heads = df.select(index).gather(rows) if index else pl.DataFrame()
    out = pl.concat([heads, long.drop("__order")], how="horizontal")
    for name, dtype in schema.items():
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype).alias(name))
    return out.select([pl.col(n).cast(t) for n, t in schema.items()])


def _json_object(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        obj = loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def change_log(df: Frame) -> pl.DataFrame:
    """Decode the audit-log rows (EventCode 3011) into one row per changed field.

    ``OldData``/``NewData`` hold JSON objects of the changed fields (``{"Status":"sent"}``);
    a field in only one of them gets null on the other side. ``event_name`` is the name of the
    changed activity type, ``changed_at`` the log row's ``created_on`` (its ``EventTime`` when
    that is missing).

    Args:
        df: An activities frame, eager or lazy: only the audit-log rows and the columns
            decoded here are collected.

    Returns:
        Columns ``lead_id``, ``activity_id``, ``changed_at`` (Datetime UTC), ``event_name``,
        ``field``, ``old``, ``new`` (strings), in the frame's order.

    Example:
        >>> from lsq_analysis import load_sample
        >>> log = change_log(load_sample())
        >>> set(log["field"]) >= {"Status", "Owner"}
        True
    """
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "lead_id": pl.String,
        "activity_id": pl.String,
        "changed_at": UTC_US,
        "event_name": pl.String,
        "field": pl.String,
        "old": pl.String,
        "new": pl.String,
    }
    columns = column_names(df)
    if "event_code" not in columns:
        return pl.DataFrame(schema=schema)
    used = ("lead_id", "activity_id", "event_name", "created_on", "data.EventTime")
    logs = (
        df.lazy()
        .filter(pl.col("event_code") == LOG_EVENT_CODE)
        .select([c for c in (*used, "data.OldData", "data.NewData") if c in columns])
        .collect()
    )
    if logs.height == 0:
        return pl.DataFrame(schema=schema)
    cols = {}
    for name in ("lead_id", "activity_id", "event_name", "data.OldData", "data.NewData"):
        cols[name] = (
            logs.get_column(name)
            if name in logs.columns
            else pl.repeat(None, logs.height, dtype=pl.String, eager=True)
        )
    changed = logs.get_column("created_on") if "created_on" in logs.columns else None
    if "data.EventTime" in logs.columns:
        event_time = parse_times(logs.get_column("data.EventTime"))
        changed = event_time if changed is None else changed.fill_null(event_time)
    if changed is None:
        changed = pl.repeat(None, logs.height, dtype=UTC_US, eager=True)
    out: dict[str, list[Any]] = {name: [] for name in schema}
    rows = zip(
        cols["lead_id"].to_list(),
        cols["activity_id"].to_list(),
        changed.to_list(),
        cols["event_name"].to_list(),
        cols["data.OldData"].to_list(),
        cols["data.NewData"].to_list(),
        strict=True,
    )
    for lead, act, when, name, old_text, new_text in rows:
        old = _json_object(old_text) or {}
        new = _json_object(new_text) or {}
        for field in dict.fromkeys([*new, *old]):
            out["lead_id"].append(lead)
            out["activity_id"].append(act)
            out["changed_at"].append(when)
            out["event_name"].append(name)
            out["field"].append(str(field))
            old_value, new_value = value_text(old.get(field)), value_text(new.get(field))
            out["old"].append(decode_text(old_value) if old_value else None)
            out["new"].append(decode_text(new_value) if new_value else None)
    return pl.DataFrame(out, schema=schema)
