"""How leads move through events: a funnel of steps, and which event follows which.

Example:
    >>> import lsq_analysis as lsq
    >>> fig = transition_chart(lsq.load_sample(), limit=5)
    >>> fig.data[0].type
    'sankey'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl

from ..analysis import funnel, transitions
from ..analysis.prepare import segment_keys
from ..vocabulary import DurationLike, Event, Events, Leads, TimeBound
from .style import (
    PALETTE,
    TEMPLATE,
    colors_for,
    segment_colors,
    segment_labels,
    segment_title,
)

__all__ = ["funnel_chart", "transition_chart"]


def funnel_chart(
    df: pl.DataFrame,
    steps: Sequence[Event | Sequence[Event]],
    within: DurationLike | None = None,
    *,
    by: str | Sequence[str] | None = None,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Leads reaching each step in order (:func:`~lsq_analysis.analysis.funnel`), as a funnel.

    Args:
        df: the expanded activity frame.
        steps: the funnel's events in order (codes or names; a step may be a list of events).
        within: optional time limit from the first step (``"30d"``...).
        by: segment column(s) (``"lead.source"`` after :func:`lsq_analysis.with_leads`): one
            funnel trace per segment, each lead in its segment as
            :func:`~lsq_analysis.analysis.funnel` puts it. Segments whose leads never did
            step 1 are left out.
        color_map: with ``by``, segment label -> CSS colour, over
            :func:`~lsq_analysis.charts.style.segment_colors` of ``df``.
        leads, events, start, end, title: see :mod:`lsq_analysis.charts`.

    Returns:
        One ``funnel`` trace: ``y`` the numbered step labels (``"1. Lead Capture"``), ``x``
        the number of leads; the text shows the share of the first and previous step, the
        hover the median time from the previous step. y axis ``"Step"``. With ``by``: one
        such trace per segment, in segment order, ``trace.name`` the segment's label
        (``"(no value)"`` for null), ``trace.meta == {"segment": {column: value}}``, the
        colour of :func:`~lsq_analysis.charts.style.segment_colors`.

    Example:
        >>> import lsq_analysis as lsq
        >>> steps = ["Lead Capture", "Email Opened"]
        >>> fig = lsq.funnel_chart(lsq.load_sample(), steps, within="30d")
        >>> list(fig.data[0].y)
        ['1. Lead Capture', '2. Email Opened']
        >>> [t.name for t in lsq.funnel_chart(lsq.load_sample(), steps, by="type").data]
        ['Inbound', 'Information', 'Logs', 'Outbound']
    """
    keys = segment_keys(df, by, "funnel_chart")
    colors = segment_colors(df, keys, color_map) if keys else {}
    data = funnel(df, steps, within, by=by, leads=leads, events=events, start=start, end=end)
    heading = title or "Funnel" + (f" (each step within {within} of the first)" if within else "")
    layout: dict[str, Any] = {}
    if not keys:
        traces = [_funnel_trace(data, "leads", PALETTE[0], segment=False)]
    else:
        data = data.with_columns(segment_labels(data, keys).alias("_segment"))
        traces = []
        for part in data.partition_by("_segment", maintain_order=True):
            if part["n_leads"][0] == 0:
                continue
            label = part["_segment"][0]
            trace = _funnel_trace(part, label, colors.get(label, PALETTE[0]), segment=True)
            trace.meta = {"segment": part.select(keys).row(0, named=True)}
            trace.legendgroup = label
            traces.append(trace)
        layout["legend_title_text"] = segment_title(keys)
    fig = go.Figure(traces)
    fig.update_layout(
        title=heading, yaxis_title="Step", xaxis_title="Leads", template=TEMPLATE, **layout
    )
    return fig


def _funnel_trace(data: pl.DataFrame, name: str, color: str, *, segment: bool) -> go.Funnel:
    """One funnel of :func:`~lsq_analysis.analysis.funnel`'s rows (a segment's: its name in
    the hover)."""
    names = [f"{k}. {label}" for k, label in zip(data["step"], data["event"], strict=True)]
    median = [
        "" if h is None else f"<br>median {_duration_words(h)} after the previous step"
        for h in data["median_hours_from_previous"]
    ]
    return go.Funnel(
        y=names,
        x=data["n_leads"].to_numpy(),
        textinfo="value+percent initial+percent previous",
        customdata=median,
        hovertemplate="<b>%{y}</b><br>%{x} leads%{customdata}"
        + ("<extra>%{fullData.name}</extra>" if segment else "<extra></extra>"),
        marker={"color": color},
        name=name,
    )


def _duration_words(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


# ---------------------------------------------------------------------------- transitions


def transition_chart(
    df: pl.DataFrame,
    *,
    limit: int = 25,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Which event follows which (:func:`~lsq_analysis.analysis.transitions`), as a Sankey.

    Args:
        df: the expanded activity frame.
        limit: draw the ``limit`` most frequent transitions (the title says how many there are).
        leads, events, start, end, color_map, title: see :mod:`lsq_analysis.charts`.

    Returns:
        One ``sankey`` trace. Nodes: the "from" events (labelled ``"<event>"``) then the
        "to" events (labelled ``"→ <event>"``); links: ``source``, ``target``, ``value`` (the
        count), most frequent first.

    Example:
        >>> import lsq_analysis as lsq
        >>> fig = lsq.transition_chart(lsq.load_sample(), limit=10)
        >>> len(fig.data[0].link.value) <= 10
        True
    """
    colors = colors_for(df, color_map)
    data = transitions(df, leads=leads, events=events, start=start, end=end)
    total = data.height
    data = data.head(limit)
    sources = list(dict.fromkeys(data["from_event"].to_list()))
    targets = list(dict.fromkeys(data["to_event"].to_list()))
    node_labels = sources + [f"→ {t}" for t in targets]
    index_from = {e: i for i, e in enumerate(sources)}
    index_to = {e: len(sources) + i for i, e in enumerate(targets)}
    fig = go.Figure(
        go.Sankey(
            node={
                "label": node_labels,
                "color": [colors.get(e, "#888") for e in sources + targets],
                "pad": 12,
            },
            link={
                "source": [index_from[e] for e in data["from_event"]],
                "target": [index_to[e] for e in data["to_event"]],
                "value": data["n_transitions"].to_list(),
                "customdata": [f"{s:.0%}" for s in data["share"]],
                "hovertemplate": (
                    "%{source.label} → %{target.label}<br>%{value} times"
                    " (%{customdata} of what follows %{source.label})<extra></extra>"
                ),
            },
            name="transitions",
        )
    )
    shown = f"top {data.height} of {total}" if total > data.height else f"all {total}"
    fig.update_layout(
        title=title or f"Next event after each event ({shown} transitions)",
        template=TEMPLATE,
    )
    return fig
