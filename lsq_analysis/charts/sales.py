"""How a sales team does: how fast new leads are first touched, and how long leads sit in stages.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.charts.sales import speed_to_lead_chart
    >>> speed_to_lead_chart(lsq.load_sample()).data[0].type
    'bar'
"""

from __future__ import annotations

import graphlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl

from ..analysis.prepare import segment_keys
from ..analysis.stages import stage_velocity
from ..analysis.touches import BusinessHoursLike, speed_to_lead
from ..analysis.touches import business_hours as read_business_hours
from ..vocabulary import DurationLike, Events, Frame, Leads, TimeBound
from .style import (
    PALETTE,
    TEMPLATE,
    empty_figure,
    segment_colors,
    segment_labels,
    segment_title,
)

__all__ = ["speed_to_lead_chart", "stage_velocity_chart"]

_ALL_LEADS = "All leads"
_SPEED_HOVER = (
    "<b>%{x}</b><br>%{customdata[0]} leads captured, %{customdata[1]} touched"
    "<br>median %{customdata[2]} · p90 %{customdata[3]}"
    "<br>within 5 min: %{customdata[4]} · within 1 h: %{customdata[5]}"
    "<br>never touched: %{customdata[6]}<extra></extra>"
)
_STAGE_HOVER = (
    "<b>%{x}</b><br>%{customdata[0]} visits · median %{customdata[1]} · p90 %{customdata[2]}"
    " (finished visits)<br>%{customdata[3]} leads in it now, %{customdata[4]} stuck"
    "<extra>%{fullData.name}</extra>"
)


def _minutes_words(minutes: float | None) -> str:
    if minutes is None:
        return "–"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def _days_words(days: float | None) -> str:
    return "–" if days is None else f"{days:.1f} days"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _whisker(median: pl.Series, p90: pl.Series) -> dict[str, Any]:
    """An error bar from the median bar's top up to the p90."""
    upper = [None if m is None or p is None else p - m for m, p in zip(median, p90, strict=True)]
    return {"type": "data", "symmetric": False, "array": upper, "arrayminus": [0] * len(upper)}


def _segments(
    data: pl.DataFrame, keys: list[str], df: Frame, color_map: Mapping[str, str] | None
) -> tuple[pl.DataFrame, dict[str, str]]:
    """``data`` with ``_segment`` labels, and a colour per label."""
    if not keys:
        return data.with_columns(pl.lit(_ALL_LEADS).alias("_segment")), {_ALL_LEADS: PALETTE[0]}
    colors = segment_colors(df, keys, color_map)
    return data.with_columns(segment_labels(data, keys).alias("_segment")), colors


def speed_to_lead_chart(
    df: Frame,
    *,
    by: str | Sequence[str] | None = None,
    capture_events: Events = None,
    touch_events: Events = None,
    exclude_creators: str | Iterable[str] = ("System",),
    business_hours: BusinessHoursLike | None = None,
    leads: Leads = None,
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Minutes from capture to first touch per segment (:func:`~lsq_analysis.analysis.touches.
    speed_to_lead`): a bar at the median, a whisker up to the p90.

    Args:
        df: the expanded activity frame, eager or lazy.
        by: segment column(s) (``"lead.owner_name"``, ``"lead.source"`` after
            :func:`lsq_analysis.with_leads`): one bar per segment.
        capture_events, touch_events, exclude_creators, business_hours, leads: as in
            :func:`~lsq_analysis.analysis.touches.speed_to_lead`.
        color_map: with ``by``, segment label -> CSS colour, over
            :func:`~lsq_analysis.charts.style.segment_colors` of ``df``.
        title: replaces the default title.

    Returns:
        One ``bar`` trace per segment (without ``by``: one, named ``"All leads"``), in segment
        order: ``x`` the segment's label, ``y`` the median minutes to first touch (of the
        touched leads), ``error_y`` up to the p90; the hover gives the leads captured and
        touched, the median and p90, the shares touched within 5 minutes and within an hour
        and never touched. With ``by``, ``trace.meta == {"segment": {column: value}}``, the
        colour of :func:`~lsq_analysis.charts.style.segment_colors`. y axis ``"Minutes to
        first touch"`` (``"Business minutes ..."`` with ``business_hours``). A frame without
        a captured lead gives an empty figure with a note.

    Raises:
        ValueError: as :func:`~lsq_analysis.analysis.touches.speed_to_lead`.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.charts.sales import speed_to_lead_chart
        >>> fig = speed_to_lead_chart(lsq.load_sample(), by="data.CurrentOwner")
        >>> fig.layout.yaxis.title.text
        'Minutes to first touch'
    """
    keys = segment_keys(df, by, "speed_to_lead_chart")
    opening = None if business_hours is None else read_business_hours(business_hours)
    data = speed_to_lead(
        df,
        by=keys or None,
        capture_events=capture_events,
        touch_events=touch_events,
        exclude_creators=exclude_creators,
        business_hours=opening,
        leads=leads,
    ).filter(pl.col("n_leads") > 0)
    y_title = ("Business minutes" if opening else "Minutes") + " to first touch"
    heading = title or "Speed to lead: minutes from capture to first touch (median, whisker to p90)"
    if opening:
        heading = title or heading.replace("minutes", "business minutes", 1)
    if data.height == 0:
        return empty_figure(heading, segment_title(keys) or "Leads", y_title)
    data, colors = _segments(data, keys, df, color_map)
    traces = []
    for row in data.iter_rows(named=True):
        label = row["_segment"]
        trace = go.Bar(
            x=[label],
            y=[row["median_minutes"]],
            error_y=_whisker(pl.Series([row["median_minutes"]]), pl.Series([row["p90_minutes"]])),
            customdata=[
                [
                    row["n_leads"],
                    row["n_touched"],
                    _minutes_words(row["median_minutes"]),
                    _minutes_words(row["p90_minutes"]),
                    _share(row["within_5m"]),
                    _share(row["within_1h"]),
                    _share(row["never"]),
                ]
            ],
            hovertemplate=_SPEED_HOVER,
            marker={"color": colors.get(label, PALETTE[0])},
            name=label,
        )
        if keys:
            trace.meta = {"segment": {key: row[key] for key in keys}}
        traces.append(trace)
    fig = go.Figure(traces)
    fig.update_layout(
        title=heading,
        xaxis_title=segment_title(keys) or "Leads",
        yaxis_title=y_title,
        showlegend=bool(keys),
        template=TEMPLATE,
    )
    if keys:
        fig.update_layout(legend_title_text=segment_title(keys))
    return fig


def _journey_order(data: pl.DataFrame, keys: list[str]) -> list[str]:
    """The stages of ``data`` in one order that keeps each segment's (all being parts of
    the journey order of :func:`~lsq_analysis.analysis.stages.stage_velocity`)."""
    if not keys:
        return data["stage"].to_list()
    after: dict[str, list[str]] = {}
    for part in data.partition_by(keys, maintain_order=True):
        chain = part["stage"].to_list()
        for stage in chain:
            after.setdefault(stage, [])
        for before, stage in itertools.pairwise(chain):
            after[stage].append(before)
    return list(graphlib.TopologicalSorter(after).static_order())


def stage_velocity_chart(
    df: Frame,
    *,
    by: str | Sequence[str] | None = None,
    stuck_after: DurationLike = "30d",
    as_of: TimeBound = None,
    final_stages: str | Iterable[str] = (),
    leads: Leads = None,
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Days per stage (:func:`~lsq_analysis.analysis.stages.stage_velocity`): bars at the median
    of the finished visits with a whisker up to the p90, and the stuck leads marked above.

    Args:
        df: the expanded activity frame, eager or lazy.
        by: segment column(s) (``"lead.owner_name"`` after :func:`lsq_analysis.with_leads`):
            grouped bars, one trace per segment.
        stuck_after, as_of, final_stages, leads: as in
            :func:`~lsq_analysis.analysis.stages.stage_velocity`.
        color_map: with ``by``, segment label -> CSS colour, over
            :func:`~lsq_analysis.charts.style.segment_colors` of ``df``.
        title: replaces the default title.

    Returns:
        Per segment (without ``by``: once, named ``"All leads"``), in segment order, a ``bar``
        trace (``x`` the stages in journey order, ``y`` the median days, ``error_y`` up to the
        p90) and a ``scatter`` trace of the stuck leads on the right-hand axis (``y2``: how
        many, shown as text; ``trace.name`` ``"<segment> · stuck"``, out of the legend but in
        the bar's ``legendgroup``). Hovers give the visits, median, p90, leads in the stage
        and stuck. With ``by``, both traces carry ``meta == {"segment": {column: value}}``.
        x axis ``"Stage"``, y axis ``"Days in stage"``. A frame without stage changes gives
        an empty figure with a note.

    Raises:
        ValueError: as :func:`~lsq_analysis.analysis.stages.stage_velocity`.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.charts.sales import stage_velocity_chart
        >>> fig = stage_velocity_chart(lsq.load_sample(), stuck_after="30d")
        >>> [trace.type for trace in fig.data]
        ['bar', 'scatter']
    """
    keys = segment_keys(df, by, "stage_velocity_chart")
    data = stage_velocity(
        df,
        by=keys or None,
        stuck_after=stuck_after,
        as_of=as_of,
        final_stages=final_stages,
        leads=leads,
    )
    heading = title or f"Days in each stage (median, whisker to p90; stuck: over {stuck_after})"
    if data.height == 0:
        return empty_figure(heading, "Stage", "Days in stage")
    stages = _journey_order(data, keys)
    data, colors = _segments(data, keys, df, color_map)
    traces: list[go.Bar | go.Scatter] = []
    for part in data.partition_by("_segment", maintain_order=True):
        label = part["_segment"][0]
        color = colors.get(label, PALETTE[0])
        hover = [
            [n, _days_words(m), _days_words(p), c, s]
            for n, m, p, c, s in part.select(
                "n_visits", "median_days", "p90_days", "n_current", "n_stuck"
            ).iter_rows()
        ]
        meta = {"segment": part.select(keys).row(0, named=True)} if keys else None
        bar = go.Bar(
            x=part["stage"].to_list(),
            y=part["median_days"].to_list(),
            error_y=_whisker(part["median_days"], part["p90_days"]),
            customdata=hover,
            hovertemplate=_STAGE_HOVER,
            marker={"color": color},
            name=label,
            legendgroup=label,
            meta=meta,
        )
        stuck = go.Scatter(
            x=part["stage"].to_list(),
            y=part["n_stuck"].to_list(),
            yaxis="y2",
            mode="markers+text",
            text=[f"{n} stuck" if n else "" for n in part["n_stuck"]],
            textposition="top center",
            marker={"symbol": "diamond", "size": 9, "color": color},
            customdata=hover,
            hovertemplate=_STAGE_HOVER,
            name=f"{label} · stuck",
            legendgroup=label,
            showlegend=False,
            meta=meta,
        )
        traces += [bar, stuck]
    fig = go.Figure(traces)
    fig.update_layout(
        title=heading,
        xaxis={"title": {"text": "Stage"}, "categoryorder": "array", "categoryarray": stages},
        yaxis_title="Days in stage",
        yaxis2={
            "title": {"text": f"Leads stuck (over {stuck_after})"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
        barmode="group",
        showlegend=bool(keys),
        template=TEMPLATE,
    )
    if keys:
        fig.update_layout(legend_title_text=segment_title(keys))
    return fig
