"""The activity timeline: a row per lead (or per event type), a marker per activity.

Three steps, each public so that the explorer draws exactly what :func:`timeline` draws:
:func:`timeline_points` (one row per activity with its hover text), :func:`timeline_spec`
(those points as a plain figure dict, no plotly validation: what a ``go.FigureWidget`` is
updated from) and :func:`timeline` (filters, aggregates above ``max_points``, returns the
``go.Figure``).

Example:
    >>> import lsq_analysis as lsq
    >>> df = lsq.load_sample()
    >>> points = timeline_points(df.head(3), "Asia/Kolkata")
    >>> spec = timeline_spec(points, tz="Asia/Kolkata")
    >>> spec["layout"]["xaxis"]["title"]["text"]
    'Time (Asia/Kolkata)'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import plotly.graph_objects as go
import polars as pl

from ..vocabulary import (
    Events,
    Leads,
    TimeBound,
    check_zone,
    event_labels,
    filtered,
    require_columns,
)
from .style import (
    BUCKET_WORDS,
    BUCKETS,
    HOVER_CHARS,
    MAX_POINTS,
    TEMPLATE,
    TIMELINE_EVENT_ROWS_HOVER,
    TIMELINE_HOVER,
    bucket_hover,
    colors_for,
    empty_spec,
    hover_fields,
    iso_time,
    note_annotation,
    rank_colors,
    time_title,
    timeline_height,
)

__all__ = ["HOVER_BUDGET_BYTES", "timeline", "timeline_points", "timeline_spec"]

HOVER_BUDGET_BYTES = 3_000_000
"""At most this much hover text (expanded fields) goes into a timeline: the rest of 50,000
points takes about 5.5 MB of JSON, so the whole stays under 10 MB."""
FIELDS_LEFT_OUT = "Expanded fields left out of the hover: too many activities"
_CORE = ["lead_id", "activity_id", "event_code", "activity_score", "created_on"]
_BUCKET_US = {"1h": 3_600_000_000, "6h": 21_600_000_000, "1d": 86_400_000_000}
_WEEK_US = 7 * 86_400_000_000
_EPOCH_TO_MONDAY_US = 3 * 86_400_000_000  # 1970-01-01 was a Thursday


# ---------------------------------------------------------------------------- points


def _event_label(labels: pl.DataFrame) -> pl.Expr:
    """The display label of each row's ``event_code``, from an :func:`event_labels` frame."""
    label_of = dict(labels.select("event_code", "event").iter_rows())
    code = pl.col("event_code")
    known = (
        code.replace_strict(label_of, default=None, return_dtype=pl.Utf8)
        if label_of
        else pl.lit(None, dtype=pl.Utf8)
    )
    return (
        pl.when(code.is_null())
        .then(pl.lit("Unknown event"))
        .otherwise(known.fill_null(pl.lit("Event ") + code.cast(pl.Utf8)))
    )


def _points(
    activities: pl.DataFrame, tz: str, labels: pl.DataFrame | None
) -> tuple[pl.DataFrame, bool]:
    """:func:`timeline_points`, and whether the hover budget left the expanded fields out."""
    labels = event_labels(activities) if labels is None else labels
    order = (
        activities.select("lead_id", "created_on")
        .with_row_index("_row")
        .with_columns(pl.col("created_on").min().over("lead_id").alias("_first"))
        .sort(["_first", "lead_id", "created_on"], nulls_last=True, maintain_order=True)
    )
    ordered = activities[order["_row"]]  # sorting the row numbers, not the wide frame
    points = ordered.select(
        "lead_id",
        "event_code",
        _event_label(labels).alias("event"),
        iso_time(pl.col("created_on"), tz).alias("time"),
        pl.col("activity_score").cast(pl.Int64).fill_null(0).alias("score"),
        pl.col("activity_id").fill_null(""),
    )
    limit = HOVER_CHARS
    while True:
        fields = hover_fields(ordered, limit)
        if (fields.str.len_bytes().sum() or 0) <= HOVER_BUDGET_BYTES:
            return points.with_columns(fields), False
        if limit <= 20:
            return points.with_columns(pl.lit("").alias("fields")), True
        limit //= 3


def timeline_points(
    activities: pl.DataFrame, tz: str = "UTC", *, labels: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per activity, as the timeline draws it (its headless twin).

    Hover text stays within :data:`HOVER_BUDGET_BYTES`: long values are cut shorter the more
    activities there are, and left out (``fields`` empty) when even short ones do not fit.

    Args:
        activities: the activities to draw (e.g. from
            :func:`~lsq_analysis.analysis.selection.select_activities`).
        tz: the time zone of the ``time`` strings.
        labels: the :func:`~lsq_analysis.vocabulary.event_labels` to name events by (those of
            a bigger frame keep the names of a part); by default those of ``activities``.

    Returns:
        ``lead_id``, ``event_code``, ``event`` (its label), ``time`` (ISO in ``tz``),
        ``score``, ``activity_id``, ``fields`` (hover text of the non-empty expanded fields);
        leads by first activity, each lead's activities oldest first.

    Example:
        >>> import lsq_analysis as lsq
        >>> timeline_points(lsq.load_sample().head(3)).columns[:4]
        ['lead_id', 'event_code', 'event', 'time']
    """
    return _points(activities, tz, labels)[0]


# ---------------------------------------------------------------------------- the figure


def _marker_traces(
    points: pl.DataFrame,
    colors: Mapping[str, str],
    *,
    webgl: bool,
    customdata: list[str],
    hovertemplate: str,
    marker: dict[str, Any],
    by_event: bool = False,
) -> list[dict[str, Any]]:
    """One marker trace (a plain dict) per event code of ``points``, ordered by code.

    ``points`` has ``lead_id``, ``event_code``, ``event``, ``time``, the ``customdata``
    columns and optionally ``size``. ``by_event`` puts each trace on its own row (``y`` the
    event label), else ``y`` is the lead id.
    """
    traces = []
    parts = points.partition_by("event_code", as_dict=True)
    for (code,) in sorted(parts, key=lambda key: (key[0] is None, key[0] or 0)):
        part = parts[(code,)]
        label = part["event"][0]
        style = dict(marker, color=colors.get(label, "#888"))
        if "size" in part.columns:
            style["size"] = part["size"].to_numpy()
        traces.append(
            {
                "type": "scattergl" if webgl else "scatter",
                "x": part["time"].to_numpy(),
                "y": [label] * part.height if by_event else part["lead_id"].to_numpy(),
                "mode": "markers",
                "name": label,
                "legendgroup": label,
                "marker": style,
                "customdata": part.select(customdata).to_numpy(),
                "hovertemplate": hovertemplate,
                "meta": {"event_code": None if code is None else int(code)},
            }
        )
    return traces


def _layout(
    traces: list[dict[str, Any]],
    *,
    tz: str,
    title: str,
    leads: list[str],
    by_event: bool,
    lead_names: Mapping[str, str] | None,
    notes: list[str],
) -> dict[str, Any]:
    categories = [trace["name"] for trace in traces][::-1] if by_event else leads
    yaxis = {
        "title": {"text": "Event type" if by_event else "Lead"},
        "type": "category",
        "categoryorder": "array",
        "categoryarray": categories,
        "tickmode": "auto",
    }
    if lead_names and not by_event:  # the rows stay keyed by lead id (hover, clicks)
        names = [lead_names.get(lead, lead) for lead in categories]
        yaxis.update(tickmode="array", tickvals=categories, ticktext=names)
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": time_title(tz)}, "type": "date"},
        "yaxis": yaxis,
        "legend": {"title": {"text": "Event type"}},
        "template": TEMPLATE,
        "height": timeline_height(len(categories), len(traces)),
        "annotations": [note_annotation(text) for text in notes],
    }


def timeline_spec(
    points: pl.DataFrame,
    *,
    tz: str = "UTC",
    colors: Mapping[str, str] | None = None,
    rows: str = "lead",
    title: str | None = None,
    lead_names: Mapping[str, str] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The timeline of :func:`timeline_points` as a plain figure dict, a marker per activity.

    ``go.Figure(spec)`` is the figure; the explorer updates its ``go.FigureWidget`` from the
    dicts directly. Traces and layout are those of :func:`timeline` up to ``max_points``.

    Args:
        points: from :func:`timeline_points`.
        tz: the zone the points' times are in (named in the axis title).
        colors: event label -> colour (:func:`~lsq_analysis.charts.event_colors` of the whole
            frame keeps colours fixed); by default by the rank of the codes in ``points``.
        rows: ``"lead"`` or ``"event"`` (one row per event type).
        title: the title (``"Activity timeline"`` by default).
        lead_names: lead id -> the label of its row (the id stays the row's value).
        note: a grey note under the title.

    Returns:
        ``{"data": [one trace dict per event type], "layout": {...}}``.

    Example:
        >>> import lsq_analysis as lsq
        >>> spec = timeline_spec(timeline_points(lsq.load_sample().head(5)), rows="event")
        >>> spec["layout"]["yaxis"]["title"]["text"]
        'Event type'
    """
    if rows not in ("lead", "event"):
        raise ValueError(f"rows must be 'lead' or 'event', not {rows!r}")
    heading = title or "Activity timeline"
    if points.height == 0:
        return empty_spec(heading, time_title(tz), "Lead")
    if colors is None:
        order = points.select("event_code", "event").unique().sort("event_code", nulls_last=True)
        colors = rank_colors(order["event"].to_list())
    by_event = rows == "event"
    traces = _marker_traces(
        points,
        colors,
        webgl=False,
        # with one row per event type, y no longer names the lead: customdata does
        customdata=["score", "activity_id", "fields", *(["lead_id"] if by_event else [])],
        hovertemplate=TIMELINE_EVENT_ROWS_HOVER if by_event else TIMELINE_HOVER,
        marker={"size": 9, "opacity": 0.85, "line": {"width": 0.5, "color": "white"}},
        by_event=by_event,
    )
    leads = points["lead_id"].unique(maintain_order=True).to_list()
    layout = _layout(
        traces,
        tz=tz,
        title=heading,
        leads=leads,
        by_event=by_event,
        lead_names=lead_names,
        notes=[note] if note else [],
    )
    return {"data": traces, "layout": layout}


def timeline(
    df: pl.DataFrame,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    tz: str = "UTC",
    max_points: int = MAX_POINTS,
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
    rows: str = "lead",
    lead_names: Mapping[str, str] | None = None,
) -> go.Figure:
    """Each lead's activities on a time axis, one row per lead, coloured by event type.

    Up to ``max_points`` activities: one marker per activity, whose hover shows the event,
    time, lead, score, activity id and every non-empty expanded field (``data.*``,
    ``fields.*``; long values shortened, about 3 MB of such text at most). Above: WebGL
    markers, one per lead, event type and time bucket (the finest of hour, 6 hours, day, week,
    month that keeps within ``max_points``), sized by count; if even monthly buckets exceed
    ``max_points``, only the most active leads are drawn. The title and a note say so.

    Args:
        df: the expanded activity frame.
        leads, events, start, end, tz, max_points, color_map, title: see
            :mod:`lsq_analysis.charts`.
        rows: ``"lead"`` (one row per lead) or ``"event"`` (one row per event type: the
            readable view of one lead's journey; up to ``max_points``, above it rows are
            leads).
        lead_names: lead id -> the label shown for its row (``"Asha Rao · 3a6d5ea2"``); the
            rows stay keyed by lead id.

    Returns:
        One trace per event type present, ordered by event code (``scatter``, or
        ``scattergl`` when aggregated); ``trace.name`` the event label, ``trace.meta`` =
        ``{"event_code": code}``, ``y`` the lead ids (leads ordered by first activity; with
        ``rows="event"`` the event label), ``x`` ISO times in ``tz``. x axis
        ``"Time (<tz>)"``, y axis ``"Lead"`` (``"Event type"``).

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> fig = lsq.timeline(df, leads=df["lead_id"][0], tz="Asia/Kolkata")
        >>> fig.layout.xaxis.title.text
        'Time (Asia/Kolkata)'
    """
    check_zone(tz)
    if rows not in ("lead", "event"):
        raise ValueError(f"rows must be 'lead' or 'event', not {rows!r}")
    require_columns(df, [*_CORE, "event_name"], "timeline")
    colors = colors_for(df, color_map)
    labels = event_labels(df)
    selected = filtered(df, leads=leads, events=events, start=start, end=end)
    # narrow first: a wide frame of a million rows is expensive to copy
    picked = selected.select(_CORE).collect()
    heading = title or "Activity timeline"
    if picked.height <= max_points:
        points, dropped = _points(selected.collect(), tz, labels)
        spec = timeline_spec(
            points,
            tz=tz,
            colors=colors,
            rows=rows,
            title=heading,
            lead_names=lead_names,
            note=FIELDS_LEFT_OUT if dropped else None,
        )
    else:
        spec = _aggregated_spec(picked, labels, colors, tz, max_points, heading, lead_names)
    return go.Figure(spec)


# ---------------------------------------------------------------------------- aggregation


def _bucket_key(bucket: str, wall: pl.Expr) -> pl.Expr:
    """An integer naming the ``bucket`` (one of ``BUCKETS``) of a naive wall-clock time."""
    if bucket == "1mo":
        return wall.dt.year().cast(pl.Int64) * 12 + wall.dt.month().cast(pl.Int64)
    if bucket == "1w":  # Monday-aligned, like polars' truncate("1w")
        return (wall.dt.epoch("us") + _EPOCH_TO_MONDAY_US) // _WEEK_US
    return wall.dt.epoch("us") // _BUCKET_US[bucket]


def _aggregate(
    frame: pl.DataFrame, ids: list[str], tz: str, max_points: int
) -> tuple[str, pl.DataFrame]:
    """Count rows per ``ids`` and time bucket, with the finest bucket giving <= max_points.

    Tries buckets from a day towards an hour while they fit, or towards a month while they
    do not (counting distinct hashed keys is cheap); the coarsest, a month, is used if none
    fits. Returns the bucket and a frame of ``ids``, ``created_on`` (bucket start, in ``tz``)
    and ``count``.
    """
    keyed = frame.select(
        *ids,
        pl.col("created_on").dt.convert_time_zone(tz),
        # a 64-bit hash names each combination of ids: cheaper than ranking strings, and
        # a collision needs ~4 billion distinct combinations to become likely
        pl.struct(ids).hash().alias("_group"),
    ).with_columns(pl.col("created_on").dt.replace_time_zone(None).alias("_wall"))

    def points(bucket: str) -> int:
        key = pl.struct("_group", _bucket_key(bucket, pl.col("_wall"))).hash()
        return cast("int", keyed.select(key.n_unique()).item())  # n_unique is a UInt32

    day = BUCKETS.index("1d")
    chosen = len(BUCKETS) - 1
    if points(BUCKETS[day]) <= max_points:
        chosen = day
        while chosen > 0 and points(BUCKETS[chosen - 1]) <= max_points:
            chosen -= 1
    else:
        for i in range(day + 1, len(BUCKETS)):
            if points(BUCKETS[i]) <= max_points:
                chosen = i
                break
    bucket = BUCKETS[chosen]
    counts = (
        keyed.group_by("_group", _bucket_key(bucket, pl.col("_wall")).alias("_bucket"))
        .agg(
            *[pl.col(c).first() for c in ids],
            pl.col("created_on").min().dt.truncate(bucket),
            pl.len().cast(pl.Int64).alias("count"),
        )
        .drop("_group", "_bucket")
    )
    return bucket, counts


def _aggregated_spec(
    picked: pl.DataFrame,
    labels: pl.DataFrame,
    colors: Mapping[str, str],
    tz: str,
    max_points: int,
    heading: str,
    lead_names: Mapping[str, str] | None,
) -> dict[str, Any]:
    lead_order = (
        picked.group_by("lead_id")
        .agg(pl.col("created_on").min().alias("first"))
        .sort(["first", "lead_id"])["lead_id"]
        .to_list()
    )
    bucket, counts = _aggregate(picked, ["lead_id", "event_code"], tz, max_points)
    shown = lead_order
    trimmed = ""
    if counts.height > max_points:
        per_lead = counts.group_by("lead_id").agg(
            pl.len().alias("points"), pl.col("count").sum().alias("activities")
        )
        per_lead = per_lead.sort(["activities", "lead_id"], descending=[True, False])
        fits = (pl.col("points").cum_sum() <= max_points) | (pl.int_range(pl.len()) == 0)
        keep = per_lead.filter(fits)["lead_id"]
        counts = counts.filter(pl.col("lead_id").is_in(keep.implode()))
        kept = set(keep.to_list())
        shown = [lead for lead in lead_order if lead in kept]
        trimmed = f"; only the {len(shown):,} most active of {len(lead_order):,} leads"
    points = counts.with_columns(
        (4 + 3 * pl.col("count").cast(pl.Float64).sqrt()).clip(upper_bound=30).alias("size"),
        iso_time(pl.col("created_on"), tz).alias("time"),
        _event_label(labels).alias("event"),
    ).sort(["lead_id", "created_on"])
    word = BUCKET_WORDS[bucket]
    traces = _marker_traces(
        points,
        colors,
        webgl=True,
        customdata=["count"],
        hovertemplate=bucket_hover(word),
        marker={"opacity": 0.7, "sizemode": "diameter"},
    )
    note = (
        f"{picked.height:,} activities drawn as {points.height:,} WebGL markers, one per lead, "
        f"event type and {word}, sized by count{trimmed}"
    )
    layout = _layout(
        traces,
        tz=tz,
        title=f"{heading} (aggregated per lead, event type and {word})",
        leads=shown,
        by_event=False,
        lead_names=lead_names,
        notes=[note],
    )
    layout["meta"] = {"leads": shown, "aggregated": True, "bucket": bucket}
    return {"data": traces, "layout": layout}
