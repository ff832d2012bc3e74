"""What the explorer shows of single activities: a clicked point's fields, a drag's days, a table.

Headless twins first: :func:`activity_fields` (the fields of one activity, as the panel under
the timeline lists them) and :func:`drag_dates` (the days a drag across the timeline picks);
then :class:`FrameTable`, a table that sorts and filters (an ``itables`` DataTable widget: a
click on a column header sorts by it, the box above searches every column, the boxes under
each column filter it).

Example:
    >>> import lsq_analysis as lsq
    >>> df = lsq.load_sample()
    >>> fields = activity_fields(df, df["activity_id"][0])
    >>> fields.columns
    ['field', 'value']
    >>> drag_dates(("2025-03-02 10:00", "2025-03-04 18:30"))
    (datetime.date(2025, 3, 2), datetime.date(2025, 3, 4))
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import ipywidgets as W
import polars as pl
from itables.widget import ITable

from ..vocabulary import Frame, check_zone

__all__ = [
    "FIELD_CHARS",
    "TABLE_CHARS",
    "FrameTable",
    "activity_fields",
    "drag_dates",
    "fields_html",
    "table_frame",
]

TABLE_CHARS = 300
"""A table cell shows at most this many characters of a value (the fields panel shows it all)."""
FIELD_CHARS = 20_000
"""The fields panel shows at most this many characters of one value."""

_FRACTION = re.compile(r"(\.\d{6})\d+")
_TABLE_LAYOUT = {  # not itables' default layout: that one hides the search box on short tables
    "topStart": "search",
    "topEnd": "pageLength",
    "bottomStart": "info",
    "bottomEnd": "paging",
}


# ---------------------------------------------------------------- headless twins


def _text(value: object, tz: str) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(tz))
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def activity_fields(df: Frame, activity_id: str, *, tz: str = "UTC") -> pl.DataFrame:
    """The fields of one activity: each column of its row that holds a value.

    What the explorer lists when a point of the timeline is clicked: the activity's own
    columns (``created_on``, ``lead_id``, ``event_code``, ``event_name``, ...) and every
    expanded ``data.*`` / ``fields.*`` column that is neither null nor empty, in the frame's
    column order.

    Args:
        df: The expanded activity frame (eager or lazy); only the activity's row is read.
        activity_id: The activity's ``activity_id`` (the timeline's points carry it in their
            ``customdata``).
        tz: Time zone the times are written in.

    Returns:
        ``field`` and ``value`` (both strings; times as ``"2025-03-01 15:30:00+05:30"``); no
        rows when no activity has that id (the first one when several do).

    Raises:
        ValueError: If ``df`` has no ``activity_id`` column, or ``tz`` is not a time zone.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> fields = activity_fields(df, df["activity_id"][0])
        >>> fields.filter(pl.col("field") == "activity_id")["value"].item() == df["activity_id"][0]
        True
    """
    check_zone(tz)
    if "activity_id" not in df.collect_schema().names():
        raise ValueError("activity_fields needs an activity_id column: pass the activity frame")
    row = df.lazy().filter(pl.col("activity_id") == activity_id).head(1).collect()
    pairs = (
        []
        if row.is_empty()
        else [
            (name, _text(value, tz))
            for name, value in row.row(0, named=True).items()
            if value is not None and value != ""
        ]
    )
    return pl.DataFrame(
        {"field": [p[0] for p in pairs], "value": [p[1] for p in pairs]},
        schema={"field": pl.Utf8, "value": pl.Utf8},
    )


def _moment(value: object, zone: dt.tzinfo) -> dt.datetime:
    """A time on the timeline's x axis: plotly's date string (wall clock in the axis' zone),
    milliseconds since the epoch, or a datetime; as an aware datetime."""
    if isinstance(value, bool):
        raise ValueError(f"not a time of the timeline: {value!r}")
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
    elif isinstance(value, str):
        text = _FRACTION.sub(r"\1", value.strip().replace(" ", "T", 1))  # plotly: 4 digits
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"not a time of the timeline: {value!r} (expected e.g. '2025-03-01 10:30:00')"
            ) from None
    else:
        raise ValueError(f"not a time of the timeline: {value!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def drag_dates(x_range: Sequence[object], tz: str = "UTC") -> tuple[dt.date, dt.date]:
    """The days a drag across the timeline spans: what the explorer's date range becomes.

    Args:
        x_range: The two ends of the x axis range the drag left, as plotly sends them:
            date strings read as wall-clock times in ``tz`` (``"2025-03-01 10:23:45.1234"``),
            milliseconds since the epoch, or datetimes (naive ones in ``tz``); either order.
        tz: The time zone the timeline's axis is drawn in.

    Returns:
        ``(first, last)``: the UTC days (the date picker's days) of the earlier and the later
        end, both included.

    Raises:
        ValueError: If ``x_range`` is not two times, or ``tz`` is not a time zone.

    Example:
        >>> drag_dates(("2025-03-02 03:00", "2025-03-01 12:00"), "Asia/Kolkata")
        (datetime.date(2025, 3, 1), datetime.date(2025, 3, 1))
    """
    check_zone(tz)
    if isinstance(x_range, str | bytes) or len(x_range) != 2:
        raise ValueError(f"x_range must be the two ends of the axis range, not {x_range!r}")
    zone = ZoneInfo(tz)
    first, last = sorted(_moment(v, zone).astimezone(dt.timezone.utc) for v in x_range)
    return first.date(), last.date()


def fields_html(fields: pl.DataFrame, *, title: str = "") -> str:
    """The fields panel's HTML: ``title`` over a table of :func:`activity_fields`.

    Example:
        >>> "<table" in fields_html(pl.DataFrame({"field": ["a"], "value": ["1"]}))
        True
    """
    heading = f"<div class='lsq-fields-title'><b>{html.escape(title)}</b></div>" if title else ""
    if fields.is_empty():
        return heading + "<div class='lsq-fields-note'>No fields to show.</div>"
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:12px;vertical-align:top'>"
        f"{html.escape(field)}</th><td style='white-space:pre-wrap;word-break:break-word'>"
        f"{html.escape(value if len(value) <= FIELD_CHARS else value[: FIELD_CHARS - 1] + '…')}"
        "</td></tr>"
        for field, value in fields.iter_rows()
    )
    return (
        f"{heading}<div style='max-height:320px;overflow:auto'>"
        "<table class='lsq-fields-table' style='font-size:12px;border-collapse:collapse'>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def table_frame(
    table: pl.DataFrame, *, tz: str = "UTC", max_chars: int = TABLE_CHARS
) -> pl.DataFrame:
    """What a :class:`FrameTable` sends to the page: times in ``tz``, long text shortened.

    Example:
        >>> table_frame(pl.DataFrame({"a": ["x" * 500]}))["a"].str.len_chars().item()
        300
    """
    check_zone(tz)
    cut = max(1, max_chars - 1)
    columns = []
    for name, dtype in table.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            columns.append(column.dt.convert_time_zone(tz))
        elif dtype == pl.Utf8:
            columns.append(
                pl.when(column.str.len_chars() > max_chars)
                .then(column.str.slice(0, cut) + "…")
                .otherwise(column)
                .alias(name)
            )
        else:
            columns.append(column)
    return table.select(columns)


# ---------------------------------------------------------------- the table widget


class FrameTable(W.VBox):  # type: ignore[misc]  # ipywidgets ships no types: VBox is Any
    """A frame as a table that sorts and filters, with a line saying how many rows.

    An ``itables`` DataTable widget (``itables.widget.ITable``): a click on a column header
    sorts by that column (again: the other way), the box above the table searches every
    column, the box under each column filters that column, and the rows come a page at a
    time. Keep the frame small (the explorer sends at most ``max_table_rows`` activities):
    every row goes to the page.

    Args:
        empty: The note shown when the frame has no rows.
        page_length: Rows per page.

    Attributes:
        grid: The ``ITable`` widget.
        note: The line above it.
        frame: The frame shown (as sent: see :func:`table_frame`).

    Example:
        >>> table = FrameTable()
        >>> table.show(pl.DataFrame({"a": [2, 1]}))
        >>> table.frame["a"].to_list()
        [2, 1]
    """

    def __init__(self, *, empty: str = "Nothing to show.", page_length: int = 25) -> None:
        self.empty = empty
        self.options: dict[str, Any] = {
            "layout": _TABLE_LAYOUT,
            "pageLength": page_length,
            "lengthMenu": [10, 25, 50, 100, 200],
            "order": [],  # the frame's own order until a header is clicked
            "scrollX": True,
            "footer": True,
            "column_filters": "footer",
            "show_dtypes": False,
            "maxBytes": 0,  # never downsampled: the callers keep their frames small
            "classes": "display nowrap compact cell-border",
        }
        self.frame = pl.DataFrame()
        self.note = W.HTML()
        self.grid = ITable(self.frame, **self.options)
        self.note.add_class("lsq-table-note")
        self.grid.add_class("lsq-grid")
        super().__init__(children=[self.note, self.grid])

    def show(self, frame: pl.DataFrame, *, note: str | None = None, tz: str = "UTC") -> None:
        """Show ``frame`` (times in ``tz``, long values shortened), ``note`` above it (the
        ``empty`` note when the frame has no rows and no note is given).

        Example:
            >>> FrameTable().show(pl.DataFrame({"a": [1]}), note="1 row")
        """
        self.frame = table_frame(frame, tz=tz)
        self.grid.update(self.frame, **self.options)
        if frame.is_empty() and note is None:
            note = self.empty
        self.note.value = "" if note is None else f"<small>{html.escape(note)}</small>"
        self.grid.layout.display = "none" if frame.is_empty() else None
