"""How leads move through events: a funnel of steps, how long one step takes, and which event
follows which.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.charts.flows import time_to_event_chart, transition_chart
    >>> fig = transition_chart(lsq.load_sample(), limit=5)
    >>> fig.data[0].type
    'sankey'
    >>> time_to_event_chart(lsq.load_sample(), "Lead Capture", "Email Opened").data[0].type
    'histogram'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl

from ..analysis import funnel, transitions
from ..analysis.funnels import step_labels, time_to_event
from ..analysis.prepare import segment_keys
from ..vocabulary import DurationLike, Event, Events, Frame, Leads, TimeBound
from .style import (
    PALETTE,
    TEMPLATE,
    colors_for,
    empty_figure,
    note_annotation,
    segment_colors,
    segment_labels,
    segment_title,
)

__all__ = ["funnel_chart", "time_to_event_chart", "transition_chart"]


def funnel_chart(
    df: Frame,
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
        df: the expanded activity frame, eager or lazy.
        steps: the funnel's events in order (codes or names; a step may be a list of events).
        within: optional time limit from the first step to each later one (``"7d"``, a
            ``datetime.timedelta``), as in :func:`~lsq_analysis.analysis.funnel`; the title
            says so.
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


# ---------------------------------------------------------------------------- time to event

_UNITS: dict[str, tuple[float, str]] = {
    # unit -> (how many of it in an hour, its short name)
    "minutes": (60.0, "min"),
    "hours": (1.0, "h"),
    "days": (1 / 24, "days"),
}


def _unit_of(unit: str, hours: pl.Series) -> str:
    """``unit`` checked; ``"auto"`` picks minutes, hours or days by the waits' p90."""
    if unit not in (*_UNITS, "auto"):
        raise ValueError(
            f"time_to_event_chart(): unit={unit!r} is not a unit; use 'auto', 'minutes', "
            "'hours' or 'days'"
        )
    if unit != "auto":
        return unit
    if hours.len() == 0:
        return "hours"
    p90 = float(hours.quantile(0.9, "linear"))  # type: ignore[arg-type]
    return "minutes" if p90 < 2 else "hours" if p90 < 72 else "days"


def _amount(value: float, unit: str) -> str:
    """``value`` (in ``unit``) as short text: ``"45 min"``, ``"3.2 h"``, ``"2.5 days"``."""
    short = _UNITS[unit][1]
    return f"{value:.0f} {short}" if unit == "minutes" else f"{value:.1f} {short}"


def time_to_event_chart(
    df: Frame,
    from_event: Event | Sequence[Event],
    to_event: Event | Sequence[Event],
    *,
    by: str | Sequence[str] | None = None,
    unit: str = "auto",
    bins: int = 30,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """How long leads take from one event to the next (:func:`~lsq_analysis.analysis.
    time_to_event`): a histogram of the waits, with the median and the p90 marked.

    Only the leads that went on to ``to_event`` have a wait; a note under the title says
    how many of the leads with ``from_event`` did. The median and p90 are the waits'
    quantiles with linear interpolation (``Series.quantile(q, "linear")``).

    Args:
        df: the expanded activity frame, eager or lazy.
        from_event: event code(s) or name(s) that start the clock (each lead's first).
        to_event: event code(s) or name(s) that stop it (the first after ``from_event``).
        by: segment column(s) (``"lead.source"`` after :func:`lsq_analysis.with_leads`): one
            histogram per segment, overlaid, each with its own median and p90 lines.
        unit: ``"minutes"``, ``"hours"``, ``"days"``, or ``"auto"`` (the default: minutes when
            the p90 of all waits is under 2 hours, hours under 3 days, days beyond).
        bins: the number of bars between 0 and the longest wait (shared by the segments).
        color_map: with ``by``, segment label -> CSS colour, over
            :func:`~lsq_analysis.charts.style.segment_colors` of ``df``.
        leads, events, start, end, title: see :mod:`lsq_analysis.charts`.

    Returns:
        One ``histogram`` trace (with ``by``: one per segment that has a wait, in segment
        order, ``trace.name`` its label and the colour of
        :func:`~lsq_analysis.charts.style.segment_colors`): ``x`` the waits in ``unit``, the
        bars counting leads. ``trace.meta`` holds ``{"median": m, "p90": p}`` (with ``by``
        also ``"segment": {column: value}``). Per trace, two vertical line shapes at the
        median (dashed) and the p90 (dotted), in the legend as ``"median (3.2 h)"`` and
        ``"p90 (10.4 h)"`` (with ``by``, prefixed by the segment's label, in its
        ``legendgroup``); without ``by`` they are also labelled on the chart.
        ``layout.meta == {"unit": unit, "n_started": ..., "n_reached": ...}``. x axis
        ``"<Unit> from <from_event> to <to_event>"``, y axis ``"Leads"``. No wait at all
        gives an empty figure saying that no lead went on to ``to_event``.

    Raises:
        ValueError: ``unit`` or ``bins`` invalid, or as
            :func:`~lsq_analysis.analysis.time_to_event`.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.charts.flows import time_to_event_chart
        >>> fig = time_to_event_chart(lsq.load_sample(), "Lead Capture", "Email Opened")
        >>> [shape.name.split(" ")[0] for shape in fig.layout.shapes]
        ['median', 'p90']
    """
    keys = segment_keys(df, by, "time_to_event_chart")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"time_to_event_chart(): bins must be a whole number from 1, not {bins!r}")
    waits = time_to_event(
        df, from_event, to_event, by=keys or None, leads=leads, events=events, start=start, end=end
    )
    first, then = step_labels(df, [from_event, to_event])
    reached = waits.filter(pl.col("hours").is_not_null())
    unit = _unit_of(unit, reached["hours"])
    x_title = f"{unit.capitalize()} from {first} to {then}"
    heading = title or f"Time from {first} to {then} (median and p90 marked)"
    counts = {"unit": unit, "n_started": waits.height, "n_reached": reached.height}
    note = f"{reached.height} of {waits.height} leads with {first} went on to {then}"
    if reached.height == 0:
        fig = empty_figure(heading, x_title, "Leads")
        fig.layout.annotations[0].text = f"No lead went on to {then}"
        fig.add_annotation(note_annotation(note))
        fig.update_layout(meta=counts)
        return fig
    per_hour, _ = _UNITS[unit]
    reached = reached.with_columns((pl.col("hours") * per_hour).alias("_wait"))
    longest = float(reached["_wait"].max())  # type: ignore[arg-type]
    size = longest / bins if longest > 0 else 1 / bins
    if keys:
        reached = reached.with_columns(segment_labels(reached, keys).alias("_segment"))
        reached = reached.sort(keys, nulls_last=True, maintain_order=True)
        colors = segment_colors(df, keys, color_map)
        parts = reached.partition_by("_segment", maintain_order=True)
    else:
        colors = {}
        parts = [reached.with_columns(pl.lit("Leads").alias("_segment"))]
    fig = go.Figure()
    annotations = [note_annotation(note)]
    for part in parts:
        label = part["_segment"][0]
        color = colors.get(label, PALETTE[0])
        median = float(part["_wait"].quantile(0.5, "linear"))  # type: ignore[arg-type]
        p90 = float(part["_wait"].quantile(0.9, "linear"))  # type: ignore[arg-type]
        meta: dict[str, Any] = {"median": median, "p90": p90}
        if keys:
            meta["segment"] = part.select(keys).row(0, named=True)
        fig.add_trace(
            go.Histogram(
                x=part["_wait"].to_numpy(),
                xbins={"start": 0, "size": size},
                autobinx=False,
                name=label,
                marker={"color": color},
                opacity=0.6 if keys else 0.85,
                hovertemplate=f"<b>%{{x}}</b> {_UNITS[unit][1]}<br>%{{y}} leads"
                + ("<extra>%{fullData.name}</extra>" if keys else "<extra></extra>"),
                meta=meta,
                legendgroup=label,
            )
        )
        prefix = f"{label}: " if keys else ""
        for what, value, dash in (("median", median, "dash"), ("p90", p90, "dot")):
            words = f"{what} ({_amount(value, unit)})"
            fig.add_shape(
                type="line",
                x0=value,
                x1=value,
                xref="x",
                y0=0,
                y1=1,
                yref="paper",
                line={"color": "#333" if not keys else color, "dash": dash, "width": 2},
                name=prefix + words,
                showlegend=True,
                legendgroup=label,
            )
            if not keys:
                annotations.append(
                    {
                        "text": words,
                        "x": value,
                        "xref": "x",
                        "y": 0.98 if what == "median" else 0.9,
                        "yref": "paper",
                        "xanchor": "left",
                        "showarrow": False,
                        "font": {"size": 11, "color": "#333"},
                        "name": what,
                    }
                )
    layout: dict[str, Any] = {"legend_title_text": segment_title(keys)} if keys else {}
    fig.update_layout(
        title=heading,
        xaxis_title=x_title,
        yaxis_title="Leads",
        barmode="overlay",
        bargap=0.05,
        showlegend=True,
        template=TEMPLATE,
        meta=counts,
        annotations=annotations,
        **layout,
    )
    return fig


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
