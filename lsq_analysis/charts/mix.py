"""What the activities are made of: the mix of event types, and when in the week they happen.

Example:
    >>> import lsq_analysis as lsq
    >>> fig = event_mix(lsq.load_sample())
    >>> fig.layout.xaxis.title.text
    'Activities'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

from ..analysis import activity_heatmap, event_counts
from ..analysis.prepare import segment_keys
from ..vocabulary import Events, Leads, TimeBound, check_zone, event_labels
from .style import (
    BUCKET_WORDS,
    TEMPLATE,
    colors_for,
    empty_figure,
    iso_time,
    segment_labels,
    segment_title,
    time_title,
)

__all__ = ["activity_heatmap_chart", "event_mix"]


def event_mix(
    df: pl.DataFrame,
    every: str | None = None,
    *,
    by: str | Sequence[str] | None = None,
    normalize: bool = False,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    tz: str = "UTC",
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """The mix of event types: totals, or stacked per time bucket.

    Args:
        df: the expanded activity frame.
        every: ``None`` for one horizontal bar per event type (total activities); a bucket
            (``"1d"``, ``"1w"``, ``"1mo"``) for stacked bars over time.
        by: segment column(s) (``"lead.source"`` after :func:`lsq_analysis.with_leads`): one
            facet per segment (side by side without ``every``, stacked rows with it), each
            activity under its own row's value as in
            :func:`~lsq_analysis.analysis.event_counts`; the facet titles are the segments'
            labels (``"(no value)"`` for null), in sorted order.
        normalize: with ``every``, show each bucket's shares (percent) instead of counts.
        leads, events, start, end, tz, color_map, title: see :mod:`lsq_analysis.charts`.

    Returns:
        One ``bar`` trace per event type (:mod:`lsq_analysis.charts`), per facet with ``by``
        (the colours stay the event types'). Without ``every``: x ``"Activities"``, y
        ``"Event type"``; with it: x ``"Time (<tz>)"``, y ``"Activities"`` (or ``"Share of
        activities (%)"``).

    Example:
        >>> import lsq_analysis as lsq
        >>> fig = lsq.event_mix(lsq.load_sample(), every="1w", tz="Asia/Kolkata")
        >>> fig.layout.barmode
        'stack'
        >>> [a.text for a in lsq.event_mix(lsq.load_sample(), by="type").layout.annotations]
        ['Inbound', 'Information', 'Logs', 'Outbound']
    """
    check_zone(tz)
    keys = segment_keys(df, by, "event_mix")
    colors = colors_for(df, color_map)
    labels = event_labels(df)
    counts = event_counts(
        df,
        by=[*keys, "event_code", "event"],
        every=every,
        tz=tz,
        leads=leads,
        events=events,
        start=start,
        end=end,
    )
    order = labels.filter(pl.col("event_code").is_in(counts["event_code"].unique().implode()))
    label_order = order["event"].to_list()
    code_of = dict(zip(order["event"], order["event_code"], strict=True))
    facets: dict[str, Any] = {}
    n_facets = 1
    if keys:
        counts = counts.with_columns(segment_labels(counts, keys).alias("_segment"))
        segments = counts["_segment"].unique(maintain_order=True).to_list()  # sorted by keys
        n_facets = len(segments)
        facets = {
            "facet_col" if every is None else "facet_row": "_segment",
            "category_orders": {"_segment": segments},
        }
        if every is None:
            facets["facet_col_wrap"] = min(n_facets, 4)
    if every is None:
        heading = title or "Event mix"
        y_title = "Event type"
        if counts.height == 0:
            return empty_figure(heading, "Activities", "Event type")
        fig = px.bar(
            counts,
            x="n_activities",
            y="event",
            color="event",
            orientation="h",
            category_orders={"event": label_order, **facets.pop("category_orders", {})},
            color_discrete_map=colors,
            **facets,
        )
        fig.update_traces(hovertemplate="<b>%{y}</b><br>%{x} activities<extra></extra>")
        rows = -(-n_facets // 4)
        fig.update_layout(
            title=heading,
            xaxis_title="Activities",
            yaxis_title="Event type",
            showlegend=False,
            height=max(320, 120 + 24 * len(label_order) * rows),
        )
    else:
        word = BUCKET_WORDS.get(every, every)
        heading = title or f"Event mix per {word}"
        y_title = "Share of activities (%)" if normalize else "Activities"
        if counts.height == 0:
            return empty_figure(heading, time_title(tz), y_title)
        counts = counts.with_columns(iso_time(pl.col("created_on"), tz).alias("time"))
        fig = px.bar(
            counts,
            x="time",
            y="n_activities",
            color="event",
            category_orders={"event": label_order, **facets.pop("category_orders", {})},
            color_discrete_map=colors,
            **facets,
        )
        if keys:
            fig.update_layout(height=max(450, 100 + 220 * n_facets))
        fig.update_traces(
            hovertemplate=(
                "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d %H:%M}<br>%{y} activities<extra></extra>"
            )
        )
        fig.update_layout(
            title=heading,
            xaxis_title=time_title(tz),
            xaxis_type="date",
            yaxis_title=y_title,
            barmode="stack",
            barnorm="percent" if normalize else None,
            legend_title_text="Event type",
        )
    for trace in fig.data:
        trace.meta = {"event_code": int(code_of[trace.name])}
    if keys:  # facet titles: the segment's label, not "_segment=<label>"
        fig.for_each_annotation(lambda note: note.update(text=note.text.split("=", 1)[-1]))
        names = {"n_activities": y_title if every else "Activities", "event": "Event type"}
        for axis in [*fig.select_xaxes(), *fig.select_yaxes()]:
            if axis.title.text in names:
                axis.title.text = names[axis.title.text]
        fig.update_layout(meta={"segments": segment_title(keys)})
    fig.update_layout(template=TEMPLATE)
    return fig


def activity_heatmap_chart(
    df: pl.DataFrame,
    *,
    tz: str = "UTC",
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    colorscale: str = "Blues",
    title: str | None = None,
) -> go.Figure:
    """Activities by weekday (rows, Monday on top) and hour of day (columns) in ``tz``.

    Args:
        df: the expanded activity frame.
        tz: the time zone whose weekday and hour are counted (named in the axis title).
        colorscale: a plotly colour scale name.
        leads, events, start, end, title: see :mod:`lsq_analysis.charts`.

    Returns:
        One ``heatmap`` trace: ``z`` 7 x 24 counts (from
        :func:`~lsq_analysis.analysis.activity_heatmap`), ``x`` hours 0-23, ``y``
        ``"Mon"`` ... ``"Sun"``; x axis ``"Hour of day (<tz>)"``, y axis ``"Weekday"``.

    Example:
        >>> import lsq_analysis as lsq
        >>> fig = lsq.activity_heatmap_chart(lsq.load_sample(), tz="Asia/Kolkata")
        >>> len(fig.data[0].z), len(fig.data[0].z[0])
        (7, 24)
    """
    grid = activity_heatmap(df, tz=tz, leads=leads, events=events, start=start, end=end)
    z = grid["n_activities"].to_numpy().reshape(7, 24)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(24)),
            y=grid["weekday_name"].unique(maintain_order=True).to_list(),
            colorscale=colorscale,
            colorbar={"title": {"text": "Activities"}},
            hovertemplate="%{y} %{x}:00–%{x}:59<br>%{z} activities<extra></extra>",
            name="activities",
        )
    )
    fig.update_layout(
        title=title or f"Activity by weekday and hour ({tz}; {int(z.sum()):,} activities)",
        xaxis_title=f"Hour of day ({tz})",
        yaxis_title="Weekday",
        template=TEMPLATE,
    )
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(autorange="reversed")
    return fig
