"""The look every figure shares: colours, hover text and templates, times, heights, notes.

Each rule is written here once; the figure modules and the explorer (which shows their
figures in place) take it from here.

Example:
    >>> import datetime as dt, polars as pl
    >>> from lsq_analysis.charts.style import iso_time, timeline_height
    >>> times = pl.DataFrame({"t": [dt.datetime(2025, 3, 3, 9, tzinfo=dt.timezone.utc)]})
    >>> times.select(iso_time(pl.col("t"), "Asia/Kolkata")).item()
    '2025-03-03T14:30:00+05:30'
    >>> timeline_height(rows=3, legend_entries=2)
    320
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

from ..analysis.prepare import segment_keys
from ..vocabulary import Frame, event_labels

__all__ = [
    "BUCKETS",
    "BUCKET_WORDS",
    "HOVER_CHARS",
    "LEAD_PALETTE",
    "MAX_POINTS",
    "NO_SEGMENT_COLOR",
    "NO_VALUE",
    "PALETTE",
    "SCORE_HOVER",
    "SEGMENT_PALETTE",
    "TEMPLATE",
    "TIMELINE_EVENT_ROWS_HOVER",
    "TIMELINE_HOVER",
    "bucket_hover",
    "colors_for",
    "empty_figure",
    "empty_spec",
    "escape_html",
    "event_colors",
    "hover_fields",
    "iso_time",
    "message_spec",
    "note_annotation",
    "rank_colors",
    "segment_colors",
    "segment_labels",
    "segment_title",
    "time_title",
    "timeline_height",
]

MAX_POINTS = 50_000
"""Default point count above which a figure switches to WebGL and aggregates."""
PALETTE: tuple[str, ...] = tuple(px.colors.qualitative.Dark24 + px.colors.qualitative.Light24)
"""Event-type colours, given out in event-code order."""
LEAD_PALETTE: tuple[str, ...] = tuple(px.colors.qualitative.Plotly)
"""Lead colours (the score chart's lines), given out in the order the leads are drawn."""
SEGMENT_PALETTE: tuple[str, ...] = tuple(px.colors.qualitative.D3)
"""Segment colours (``by=``), given out in the order of the frame's sorted segment values."""
NO_SEGMENT_COLOR = "#9e9e9e"
"""The colour of the null segment (no value in any ``by`` column)."""
NO_VALUE = "(no value)"
"""How a legend names a null segment value."""
TEMPLATE = "plotly_white"
"""The plotly template of every figure."""
HOVER_CHARS = 120
"""Expanded field values longer than this are shortened in the hover (then marked "…")."""
_LINE = "\x1f"  # joins a hover's lines until the text is escaped
BUCKETS = ("1h", "6h", "1d", "1w", "1mo")
"""The time buckets figures aggregate into, finest first."""
BUCKET_WORDS = {"1h": "hour", "6h": "6 hours", "1d": "day", "1w": "week", "1mo": "month"}
"""How titles and hovers name each bucket."""

TIMELINE_HOVER = (
    "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d %H:%M:%S}<br>lead %{y}"
    "<br>score %{customdata[0]} · activity %{customdata[1]}<br>%{customdata[2]}<extra></extra>"
)
"""Hover of a timeline marker (one per activity) on a row per lead; ``customdata`` is
(score, activity id, expanded fields)."""
TIMELINE_EVENT_ROWS_HOVER = TIMELINE_HOVER.replace("lead %{y}", "lead %{customdata[3]}")
"""The same on a row per event type: ``y`` is the event, the lead moves to ``customdata[3]``."""
SCORE_HOVER = (
    "<b>%{customdata[0]}</b><br>%{x|%Y-%m-%d %H:%M:%S}<br>score %{customdata[1]:+d}"
    "<br>cumulative %{y}<extra>%{fullData.name}</extra>"
)
"""Hover of a cumulative-score point; ``customdata`` is (what happened, score it added)."""


def bucket_hover(word: str) -> str:
    """Hover of an aggregated timeline marker (``customdata`` is (count,)) per ``word`` bucket.

    Example:
        >>> bucket_hover("day").split("<br>")[1]
        'day of %{x|%Y-%m-%d %H:%M}'
    """
    return (
        f"<b>%{{fullData.name}}</b><br>{word} of %{{x|%Y-%m-%d %H:%M}}<br>lead %{{y}}"
        "<br>%{customdata[0]} activities<extra></extra>"
    )


# ---------------------------------------------------------------------------- colours


def rank_colors(labels: Sequence[str]) -> dict[str, str]:
    """A colour for each label, by its position (labels in event-code order).

    Example:
        >>> rank_colors(["Email Opened", "Lead Capture"])["Email Opened"] == PALETTE[0]
        True
    """
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def event_colors(df: Frame) -> dict[str, str]:
    """A colour for each event type of the frame, by the rank of its code.

    Args:
        df: the expanded activity frame.

    Returns:
        Event label -> CSS colour; pass it as ``color_map=`` to keep colours fixed while
        plotting parts of the frame.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> colors = lsq.event_colors(df)
        >>> fig = lsq.timeline(df, leads=df["lead_id"][0], color_map=colors)
        >>> fig.data[0].marker.color == colors[fig.data[0].name]
        True
    """
    return rank_colors(event_labels(df)["event"].to_list())


def colors_for(df: Frame, color_map: Mapping[str, str] | None) -> dict[str, str]:
    """:func:`event_colors` of ``df``, with ``color_map`` taking precedence.

    Example:
        >>> import lsq_analysis as lsq
        >>> colors_for(lsq.load_sample(), {"Audit log": "#000"})["Audit log"]
        '#000'
    """
    colors = event_colors(df)
    if color_map:
        colors.update(color_map)
    return colors


def segment_labels(frame: pl.DataFrame, keys: Sequence[str]) -> pl.Series:
    """One legend label per row: its ``keys`` values as text, joined by " · " (null shown as
    :data:`NO_VALUE`).

    Example:
        >>> rows = pl.DataFrame({"lead.source": ["Ads", None], "lead.stage": ["New", "Won"]})
        >>> segment_labels(rows, ["lead.source", "lead.stage"]).to_list()
        ['Ads · New', '(no value) · Won']
    """
    if not keys:
        return pl.Series("segment", [""] * frame.height, dtype=pl.Utf8)
    parts = [pl.col(key).cast(pl.Utf8).fill_null(NO_VALUE) for key in keys]
    return frame.select(pl.concat_str(parts, separator=" · ").alias("segment")).to_series()


def segment_title(keys: Sequence[str]) -> str:
    """The legend title of segments by ``keys``.

    Example:
        >>> segment_title(["lead.source", "lead.stage"])
        'lead.source · lead.stage'
    """
    return " · ".join(keys)


def segment_colors(
    df: Frame, by: str | Sequence[str], color_map: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A colour for each segment of the frame (label of :func:`segment_labels` -> colour).

    Colours go by the rank of the segment among all the frame's values, sorted, so a segment
    keeps its colour in every figure of the frame, filtered or not; the null segment is
    grey (:data:`NO_SEGMENT_COLOR`). ``color_map`` entries take precedence.

    Raises:
        ValueError: ``df`` lacks a ``by`` column (a ``lead.`` one: call ``with_leads`` first).

    Example:
        >>> import lsq_analysis as lsq
        >>> colors = segment_colors(lsq.load_sample(), "type")
        >>> list(colors.values())[0] == SEGMENT_PALETTE[0]
        True
    """
    keys = segment_keys(df, by, "segment_colors")
    values = df.lazy().select(keys).unique().collect().sort(keys, nulls_last=True)
    no_value = values.select(pl.all_horizontal(pl.all().is_null())).to_series()
    colors: dict[str, str] = {}
    rank = 0
    for label, empty in zip(segment_labels(values, keys), no_value, strict=True):
        if empty:
            colors[label] = NO_SEGMENT_COLOR
        else:
            colors[label] = SEGMENT_PALETTE[rank % len(SEGMENT_PALETTE)]
            rank += 1
    if color_map:
        colors.update(color_map)
    return colors


# ---------------------------------------------------------------------------- text


def time_title(tz: str) -> str:
    """The title of a time axis shown in ``tz``.

    Example:
        >>> time_title("Asia/Kolkata")
        'Time (Asia/Kolkata)'
    """
    return f"Time ({tz})"


def iso_time(expr: pl.Expr, tz: str) -> pl.Expr:
    """Times as ISO strings in ``tz`` with their UTC offset (``2025-03-03T14:30:00+05:30``).

    plotly.js places a date string at its wall-clock time and ignores the offset, so the axis
    reads in ``tz`` while the figure's data still says which zone it is in.

    Example:
        >>> import datetime as dt
        >>> times = pl.DataFrame({"t": [dt.datetime(2025, 3, 3, 9, tzinfo=dt.timezone.utc)]})
        >>> times.select(iso_time(pl.col("t"), "UTC")).item()
        '2025-03-03T09:00:00+00:00'
    """
    return expr.dt.convert_time_zone(tz).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")


def escape_html(expr: pl.Expr) -> pl.Expr:
    """Text made safe for a plotly hover: ``& < >`` escaped, line breaks turned into spaces.

    Example:
        >>> pl.select(escape_html(pl.lit("<b>a</b> & b"))).item()
        '&lt;b&gt;a&lt;/b&gt; &amp; b'
    """
    return (
        expr.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all("\r\n", " ", literal=True)
        .str.replace_all("\n", " ", literal=True)
    )


def hover_fields(frame: pl.DataFrame, limit: int = HOVER_CHARS) -> pl.Series:
    """One string per row: ``key: value`` lines of the row's non-empty expanded fields.

    Expanded fields are the ``data.*`` and ``fields.*`` columns (strings in the expanded frame;
    a typed one, as in an ``event_view``, is shown as text). Values are cut to ``limit``
    characters (marked "…"), blank ones left out, and the text is HTML-escaped.

    Example:
        >>> rows = pl.DataFrame({"data.Note": ["a < b", None], "fields.Status": ["Won", ""]})
        >>> hover_fields(rows).to_list()
        ['data.Note: a &lt; b<br>fields.Status: Won', '']
    """
    expanded = [c for c in frame.columns if c.startswith(("data.", "fields."))]
    if expanded and frame.height:
        nulls = frame.select(pl.col(expanded).null_count()).row(0)
        expanded = [c for c, n in zip(expanded, nulls, strict=True) if n < frame.height]
    if not expanded or not frame.height:
        return pl.Series("fields", [""] * frame.height, dtype=pl.Utf8)
    # one long row per field: a handful of expressions, whatever the number of columns
    value = pl.col("value")
    ellipsis = pl.when(value.str.len_chars() > limit).then(pl.lit("…")).otherwise(pl.lit(""))
    lines = (
        frame.select(pl.col(expanded).cast(pl.Utf8))
        .with_row_index("_row")
        .unpivot(index="_row", variable_name="field")
        .filter(value.str.strip_chars() != "")
        .group_by("_row", maintain_order=True)
        .agg((pl.col("field") + ": " + value.str.slice(0, limit) + ellipsis).str.join(_LINE))
    )
    rows = pl.DataFrame({"_row": pl.int_range(frame.height, dtype=pl.UInt32, eager=True)})
    # escaped once, joined: the line breaks go in after
    text = escape_html(pl.col("field")).str.replace_all(_LINE, "<br>", literal=True)
    joined = rows.join(lines, on="_row", how="left", maintain_order="left")
    return joined.select(text.fill_null("").alias("fields")).to_series()


# ---------------------------------------------------------------------------- layout


def timeline_height(rows: int, legend_entries: int) -> int:
    """Pixels for a timeline: each row readable and the whole legend in view (320 to 900).

    Example:
        >>> timeline_height(1, 18)  # one lead, 18 event types in the legend
        740
    """
    return max(320, min(900, max(140 + 26 * rows, 200 + 30 * legend_entries)))


def note_annotation(text: str) -> dict[str, Any]:
    """A grey note under the title (a figure is aggregated or trimmed), as a layout annotation.

    Example:
        >>> note_annotation("resampled per day")["name"]
        'note'
    """
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": 1.0,
        "yanchor": "bottom",
        "xanchor": "left",
        "showarrow": False,
        "font": {"size": 11, "color": "#666"},
        "name": "note",
    }


def message_spec(title: str, text: str) -> dict[str, Any]:
    """A figure (plain dict) without traces or axes that says ``text``: a chart that could not
    be drawn for the data, such as an analysis that raised ``ValueError``.

    Example:
        >>> message_spec("Stage velocity", "No stage changes")["layout"]["annotations"][0]["text"]
        'No stage changes'
    """
    return {
        "data": [],
        "layout": {
            "title": {"text": title},
            "template": TEMPLATE,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [
                {
                    "text": html.escape(text),
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "showarrow": False,
                    "name": "empty",
                }
            ],
        },
    }


def empty_spec(title: str, x_title: str, y_title: str) -> dict[str, Any]:
    """The figure (as a plain dict) of a selection without activities: axes and a message.

    Example:
        >>> empty_spec("Event mix", "Activities", "Event type")["data"]
        []
    """
    return {
        "data": [],
        "layout": {
            "title": {"text": title},
            "xaxis": {"title": {"text": x_title}},
            "yaxis": {"title": {"text": y_title}},
            "template": TEMPLATE,
            "annotations": [
                {
                    "text": "No activities match",
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "showarrow": False,
                    "name": "empty",
                }
            ],
        },
    }


def empty_figure(title: str, x_title: str, y_title: str) -> go.Figure:
    """:func:`empty_spec` as a figure.

    Example:
        >>> empty_figure("Event mix", "Activities", "Event type").layout.annotations[0].text
        'No activities match'
    """
    return go.Figure(empty_spec(title, x_title, y_title))
