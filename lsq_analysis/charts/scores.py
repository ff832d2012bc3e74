"""Activity scores: each lead's cumulative score over time, or the score of each event type.

As with the timeline, the cumulative chart comes in steps the explorer reuses:
:func:`score_points` (each lead's running total after each activity), :func:`score_spec`
(those points as a plain figure dict) and :func:`score_chart` (the ``go.Figure``, with
filters, a cap on leads and resampling).

Example:
    >>> import lsq_analysis as lsq
    >>> spec = score_spec(score_points(lsq.load_sample().head(5)))
    >>> spec["layout"]["yaxis"]["title"]["text"]
    'Cumulative score'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import plotly.graph_objects as go
import polars as pl

from ..analysis import score_by_event, score_over_time
from ..analysis.prepare import segment_keys
from ..vocabulary import Events, Leads, TimeBound, check_zone, filtered
from .style import (
    BUCKET_WORDS,
    BUCKETS,
    LEAD_PALETTE,
    MAX_POINTS,
    SCORE_HOVER,
    TEMPLATE,
    colors_for,
    empty_figure,
    empty_spec,
    iso_time,
    note_annotation,
    segment_colors,
    segment_labels,
    segment_title,
    time_title,
)

__all__ = ["MARKERS_UP_TO", "score_chart", "score_points", "score_spec"]

MARKERS_UP_TO = 5_000
"""Score lines carry a marker per point up to this many points in all."""


def score_points(activities: pl.DataFrame, tz: str = "UTC") -> pl.DataFrame:
    """Each lead's cumulative score after each activity (the score chart's headless twin).

    A thin layer over :func:`lsq_analysis.analysis.score_over_time`.

    Returns:
        ``lead_id``, ``time`` (ISO in ``tz``), ``event``, ``activity_score``,
        ``cumulative_score``, by lead and time.

    Example:
        >>> import lsq_analysis as lsq
        >>> score_points(lsq.load_sample().head(5))["cumulative_score"].is_sorted()
        True
    """
    if activities.is_empty():
        return pl.DataFrame(
            schema={
                "lead_id": pl.String,
                "time": pl.String,
                "event": pl.String,
                "activity_score": pl.Int64,
                "cumulative_score": pl.Int64,
            }
        )
    scores = score_over_time(activities)
    return scores.select(
        "lead_id",
        iso_time(pl.col("created_on"), tz).alias("time"),
        "event",
        pl.col("activity_score").cast(pl.Int64).fill_null(0),
        pl.col("cumulative_score").cast(pl.Int64),
    )


def _lines(
    scores: pl.DataFrame,
    order: list[str],
    *,
    custom: list[str],
    lead_names: Mapping[str, str] | None,
    webgl: bool,
) -> list[dict[str, Any]]:
    """One step line (a plain trace dict) per lead of ``order`` present in ``scores``."""
    parts = scores.partition_by("lead_id", as_dict=True)
    names = lead_names or {}
    mode = "lines+markers" if scores.height <= MARKERS_UP_TO else "lines"
    traces: list[dict[str, Any]] = []
    for lead in order:
        part = parts.get((lead,))
        if part is None:
            continue
        color = LEAD_PALETTE[len(traces) % len(LEAD_PALETTE)]
        traces.append(
            {
                "type": "scattergl" if webgl else "scatter",
                "mode": mode,
                "x": part["time"].to_numpy(),
                "y": part["cumulative_score"].to_numpy(),
                "customdata": part.select(custom).to_numpy(),
                "name": names.get(lead, lead),
                "legendgroup": lead,
                "showlegend": True,
                "line": {"color": color, "shape": "hv"},
                "marker": {"color": color},
                "hovertemplate": SCORE_HOVER,
                "meta": {"lead_id": lead},
            }
        )
    return traces


def _layout(tz: str, title: str, notes: list[str]) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": time_title(tz)}, "type": "date"},
        "yaxis": {"title": {"text": "Cumulative score"}},
        "legend": {"title": {"text": "Lead"}},
        "template": TEMPLATE,
        "annotations": [note_annotation(text) for text in notes],
    }


def score_spec(
    points: pl.DataFrame,
    *,
    tz: str = "UTC",
    title: str | None = None,
    lead_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The cumulative score chart of :func:`score_points` as a plain figure dict.

    ``go.Figure(spec)`` is the figure; the explorer updates its ``go.FigureWidget`` from the
    dicts directly. Traces and layout are those of :func:`score_chart` (``kind="cumulative"``),
    every lead drawn, the highest total first.

    Args:
        points: from :func:`score_points`.
        tz: the zone the points' times are in (named in the axis title).
        title: the title (``"Cumulative activity score"`` by default).
        lead_names: lead id -> its name in the legend (``trace.meta`` keeps the id).

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample().head(5)
        >>> [t["meta"]["lead_id"] for t in score_spec(score_points(df))["data"]] == [
        ...     df["lead_id"][0]]
        True
    """
    heading = title or "Cumulative activity score"
    if points.height == 0:
        return empty_spec(heading, time_title(tz), "Cumulative score")
    totals = points.group_by("lead_id", maintain_order=True).agg(
        pl.col("cumulative_score").last().alias("total")
    )
    order = totals.sort(["total", "lead_id"], descending=[True, False])["lead_id"].to_list()
    traces = _lines(
        points,
        order,
        custom=["event", "activity_score"],
        lead_names=lead_names,
        webgl=points.height > MAX_POINTS,
    )
    return {"data": traces, "layout": _layout(tz, heading, [])}


def score_chart(
    df: pl.DataFrame,
    kind: str = "cumulative",
    every: str | None = None,
    *,
    by: str | Sequence[str] | None = None,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    tz: str = "UTC",
    limit: int = 50,
    max_points: int = MAX_POINTS,
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
    lead_names: Mapping[str, str] | None = None,
) -> go.Figure:
    """Cumulative activity score per lead over time, or total score by event type.

    Args:
        df: the expanded activity frame.
        kind: ``"cumulative"`` (a step line per lead, from
            :func:`~lsq_analysis.analysis.score_over_time`) or ``"by_event"`` (one bar per
            event type, from :func:`~lsq_analysis.analysis.score_by_event`).
        every: for ``"cumulative"``, resample per bucket (``"1d"``, ``"1w"``...) instead of one
            point per activity. Chosen automatically (and said in the title) when the points
            would exceed ``max_points``.
        by: for ``"cumulative"``, segment column(s) (``"lead.source"`` after
            :func:`lsq_analysis.with_leads`): one line per segment instead of per lead, the
            segment's cumulative score (summed over its leads, as
            :func:`~lsq_analysis.analysis.score_over_time` with ``by``), coloured by
            :func:`~lsq_analysis.charts.style.segment_colors` of ``df``.
        limit: for ``"cumulative"``, draw at most this many leads (with ``by``: segments),
            the highest total scores first (the title says when some were left out).
        lead_names: for ``"cumulative"`` without ``by``, lead id -> its name in the legend.
        color_map: for ``"by_event"``, event label -> colour; with ``by``, segment label ->
            colour.
        leads, events, start, end, tz, max_points, title: see :mod:`lsq_analysis.charts`.

    Returns:
        ``"cumulative"``: one trace per lead (:mod:`lsq_analysis.charts`), x ``"Time (<tz>)"``,
        y ``"Cumulative score"``; with ``by`` one per segment, highest total first,
        ``trace.name`` the segment's label (``"(no value)"`` for null) and ``trace.meta ==
        {"segment": {column: value}}``. ``"by_event"``: one horizontal ``bar`` trace, x
        ``"Total activity score"``, y ``"Event type"``.

    Raises:
        ValueError: an unknown ``kind``, ``by`` with ``kind="by_event"``, or a ``by`` column
            the frame lacks.

    Example:
        >>> import lsq_analysis as lsq
        >>> fig = lsq.score_chart(lsq.load_sample(), limit=3, tz="Asia/Kolkata")
        >>> len(fig.data), fig.layout.xaxis.title.text
        (3, 'Time (Asia/Kolkata)')
        >>> [t.name for t in lsq.score_chart(lsq.load_sample(), by="type", limit=2).data]
        ['Inbound', 'Outbound']
    """
    if kind not in ("cumulative", "by_event"):
        raise ValueError(f"kind={kind!r} is not one of 'cumulative', 'by_event'")
    if kind == "by_event":
        if by is not None:
            raise ValueError("score_chart(): by= draws segments with kind='cumulative' only")
        return _score_by_event_chart(df, leads, events, start, end, color_map, title)
    check_zone(tz)
    heading = title or "Cumulative activity score"
    if by is not None:
        keys = segment_keys(df, by, "score_chart")
        colors = segment_colors(df, keys, color_map)
        window = _Window(leads, events, start, end, tz, every, max_points)
        return _segment_chart(df, keys, colors, window, limit, heading)
    picked = (
        filtered(df, leads=leads, events=events, start=start, end=end)
        .select("lead_id", "created_on", pl.col("activity_score").cast(pl.Int64).fill_null(0))
        .collect()
    )
    if picked.height == 0:
        return empty_figure(heading, time_title(tz), "Cumulative score")
    totals = picked.group_by("lead_id").agg(pl.col("activity_score").sum().alias("total"))
    notes = []
    ranked = totals.sort(["total", "lead_id"], descending=[True, False]).head(limit)
    chosen: list[str] = ranked["lead_id"].to_list()
    if len(chosen) < totals.height:
        picked = picked.filter(pl.col("lead_id").is_in(pl.Series(chosen).implode()))
        notes.append(f"the {len(chosen):,} highest-scoring of {totals.height:,} leads")
    if every is None and picked.height > max_points:
        local = picked.select("lead_id", pl.col("created_on").dt.convert_time_zone(tz))
        for every in BUCKETS:  # the loop leaves `every` at the first bucket that fits
            buckets = pl.struct("lead_id", pl.col("created_on").dt.truncate(every))
            if local.select(buckets.n_unique()).item() <= max_points:
                break
        notes.append(f"resampled per {BUCKET_WORDS[cast(str, every)]}")  # the loop ran
    elif every is not None:
        heading = f"{heading} (per {BUCKET_WORDS.get(every, every)})"
    # labels come from the whole frame, so they match the other figures
    scores = score_over_time(
        df, every=every, tz=tz, leads=chosen, events=events, start=start, end=end
    )
    if every is None:
        custom = ["event", "activity_score"]
    else:
        scores = scores.with_columns(
            (pl.col("n_activities").cast(pl.Utf8) + " activities").alias("what")
        )
        custom = ["what", "score"]
    scores = scores.with_columns(iso_time(pl.col("created_on"), tz).alias("time"))
    traces = _lines(
        scores, chosen, custom=custom, lead_names=lead_names, webgl=scores.height > max_points
    )
    note = [f"{picked.height:,} activities; showing " + "; ".join(notes)] if notes else []
    if notes:
        heading = f"{heading} ({'; '.join(notes)})"
    return go.Figure({"data": traces, "layout": _layout(tz, heading, note)})


@dataclass(frozen=True)
class _Window:
    """The selection and resampling options of one score chart."""

    leads: Leads
    events: Events
    start: TimeBound
    end: TimeBound
    tz: str
    every: str | None
    max_points: int


def _segment_chart(
    df: pl.DataFrame,
    keys: list[str],
    colors: Mapping[str, str],
    window: _Window,
    limit: int,
    heading: str,
) -> go.Figure:
    """score_chart with ``by``: one cumulative line per segment (see there)."""
    tz, every = window.tz, window.every
    picked = (
        filtered(df, leads=window.leads, events=window.events, start=window.start, end=window.end)
        .select(*keys, "created_on", pl.col("activity_score").cast(pl.Int64).fill_null(0))
        .collect()
    )
    if picked.height == 0:
        return empty_figure(heading, time_title(tz), "Cumulative score")
    picked = picked.with_columns(segment_labels(picked, keys).alias("_segment"))
    totals = picked.group_by("_segment").agg(pl.col("activity_score").sum().alias("total"))
    ranked = totals.sort(["total", "_segment"], descending=[True, False]).head(limit)
    chosen: list[str] = ranked["_segment"].to_list()
    notes = []
    if len(chosen) < totals.height:
        picked = picked.filter(pl.col("_segment").is_in(pl.Series(chosen).implode()))
        notes.append(f"the {len(chosen):,} highest-scoring of {totals.height:,} segments")
    if every is None and picked.height > window.max_points:
        local = picked.select("_segment", pl.col("created_on").dt.convert_time_zone(tz))
        for every in BUCKETS:  # the loop leaves `every` at the first bucket that fits
            buckets = pl.struct("_segment", pl.col("created_on").dt.truncate(every))
            if local.select(buckets.n_unique()).item() <= window.max_points:
                break
        notes.append(f"resampled per {BUCKET_WORDS[cast(str, every)]}")  # the loop ran
    elif every is not None:
        heading = f"{heading} (per {BUCKET_WORDS.get(every, every)})"
    scores = score_over_time(
        df,
        every=every,
        by=keys,
        tz=tz,
        leads=window.leads,
        events=window.events,
        start=window.start,
        end=window.end,
    )
    scores = scores.with_columns(
        segment_labels(scores, keys).alias("_segment"),
        iso_time(pl.col("created_on"), tz).alias("time"),
    ).filter(pl.col("_segment").is_in(pl.Series(chosen, dtype=pl.Utf8).implode()))
    if every is None:
        custom = ["event", "activity_score"]
    else:
        scores = scores.with_columns(
            pl.format("{} activities of {} leads", "n_activities", "n_leads").alias("what")
        )
        custom = ["what", "score"]
    webgl = scores.height > window.max_points
    mode = "lines+markers" if scores.height <= MARKERS_UP_TO else "lines"
    parts = scores.partition_by("_segment", as_dict=True)
    traces: list[dict[str, Any]] = []
    for label in chosen:
        part = parts.get((label,))
        if part is None:
            continue
        color = colors.get(label, LEAD_PALETTE[len(traces) % len(LEAD_PALETTE)])
        traces.append(
            {
                "type": "scattergl" if webgl else "scatter",
                "mode": mode,
                "x": part["time"].to_numpy(),
                "y": part["cumulative_score"].to_numpy(),
                "customdata": part.select(custom).to_numpy(),
                "name": label,
                "legendgroup": label,
                "showlegend": True,
                "line": {"color": color, "shape": "hv"},
                "marker": {"color": color},
                "hovertemplate": SCORE_HOVER,
                "meta": {"segment": part.select(keys).row(0, named=True)},
            }
        )
    note = [f"{picked.height:,} activities; showing " + "; ".join(notes)] if notes else []
    if notes:
        heading = f"{heading} ({'; '.join(notes)})"
    layout = _layout(tz, heading, note)
    layout["legend"] = {"title": {"text": segment_title(keys)}}
    return go.Figure({"data": traces, "layout": layout})


def _score_by_event_chart(
    df: pl.DataFrame,
    leads: Leads,
    events: Events,
    start: TimeBound,
    end: TimeBound,
    color_map: Mapping[str, str] | None,
    title: str | None,
) -> go.Figure:
    heading = title or "Activity score by event type"
    scores = score_by_event(df, leads=leads, events=events, start=start, end=end)
    if scores.height == 0:
        return empty_figure(heading, "Total activity score", "Event type")
    colors = colors_for(df, color_map)
    scores = scores.sort(["total_score", "event_code"], descending=[False, True])
    fig = go.Figure(
        go.Bar(
            x=scores["total_score"].to_numpy(),
            y=scores["event"].to_list(),
            orientation="h",
            marker={"color": [colors.get(e, "#888") for e in scores["event"]]},
            customdata=scores.select("n_activities", "n_leads", "mean_score").to_numpy(),
            hovertemplate=(
                "<b>%{y}</b><br>total score %{x}<br>%{customdata[0]} activities of "
                "%{customdata[1]} leads<br>mean %{customdata[2]:.2f}<extra></extra>"
            ),
            name="total score",
        )
    )
    fig.update_layout(
        title=heading,
        xaxis_title="Total activity score",
        yaxis_title="Event type",
        template=TEMPLATE,
        height=max(320, 120 + 24 * scores.height),
    )
    return fig
