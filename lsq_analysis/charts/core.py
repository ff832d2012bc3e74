"""Plotly figures of lead activities, in the plotly-express manner.

Every function takes the expanded activity frame plus options and returns a
``plotly.graph_objects.Figure``; none calls ``.show()``. Polars frames go to plotly express
as they are (no pandas); :func:`timeline` builds its traces from polars columns itself (at
50,000 points plotly express spent about 0.35 s deep-copying arrays, direct traces 0.05 s).
The numbers behind each figure come from :mod:`lsq_analysis.analysis`.

Shared parameters, described once:

* ``leads``, ``events``, ``start``, ``end``: the filters of :mod:`lsq_analysis.analysis`
  (lead ids; event codes or names; ``created_on >= start`` and ``< end``).
* ``tz``: IANA time zone the times are shown in (``"UTC"`` by default); it is named in the
  time axis title. Times are sent as ISO strings carrying that zone's offset
  (``"2025-03-03T14:30:00+05:30"``); plotly.js draws a date string at its wall-clock time, so
  the axis reads in ``tz``.
* ``color_map``: event label -> CSS colour, to keep colours fixed across figures (for example
  ``event_colors(full_frame)`` while plotting a filtered part). By default each event type of
  ``df`` gets a colour by its code's rank in ``df``, so filtering through the ``leads`` /
  ``events`` / ``start`` / ``end`` arguments keeps the colours.
* ``max_points``: the most points a figure draws one by one (50,000 by default). Above it,
  :func:`timeline` switches to WebGL markers aggregated per lead, event type and time bucket,
  and :func:`score_chart` resamples per time bucket (WebGL if still above); the title says
  so. The other figures are aggregates by nature. A figure of a million activities builds in
  well under 2 s with JSON well under 10 MB (``benchmarks/bench_charts.py``).
* ``title``: replaces the default title.

Trace structure (stable, for ``go.FigureWidget(fig)`` updated in place with
``batch_update``):

* :func:`timeline`: one trace per event type present, ordered by event code; ``trace.name``
  is the label, ``trace.meta == {"event_code": code}``, ``x`` ISO times, ``y`` lead ids,
  ``customdata`` rows of (score, activity id, hover fields). Up to ``max_points`` activities
  they are ``scatter`` traces, one marker per activity; above, ``scattergl`` traces, one
  marker per lead, event type and bucket (``customdata`` rows of (count,), marker size by
  count) and ``layout.meta == {"aggregated": True, "bucket": "1d", "leads": [...]}``. Only
  the trace *type* changes at the threshold; a widget built below it keeps ``scatter``.
* :func:`score_chart`: ``kind="cumulative"``: one trace per lead, highest total score first
  (``scatter`` lines, ``scattergl`` above ``max_points``), ``trace.name`` the lead id,
  ``trace.meta == {"lead_id": id}``. ``kind="by_event"``: a single ``bar`` trace.
* :func:`event_mix`: one ``bar`` trace per event type, ordered by code, with the same
  ``meta``.
* :func:`activity_heatmap`: one ``heatmap`` trace; :func:`funnel_chart`: one ``funnel``
  trace; :func:`transition_chart`: one ``sankey`` trace.

Static images: ``fig.write_image("chart.png")`` (or ``.svg``, ``.pdf``; ``width=``,
``height=``, ``scale=``) uses kaleido, which drives a Chromium: it finds ``/usr/bin/chromium``
by itself; ``BROWSER_PATH=/usr/bin/chromium`` names it explicitly. Never
``playwright install`` or ``kaleido.get_chrome()`` here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

from ..analysis import core as analysis
from ..analysis.core import (
    DurationLike,
    Event,
    Events,
    Leads,
    TimeBound,
    event_labels,
)

__all__ = [
    "activity_heatmap",
    "event_colors",
    "event_mix",
    "funnel_chart",
    "score_chart",
    "timeline",
    "transition_chart",
]

MAX_POINTS = 50_000
"""Default point count above which a figure switches to WebGL and aggregates."""
PALETTE: tuple[str, ...] = tuple(px.colors.qualitative.Dark24 + px.colors.qualitative.Light24)
"""Event-type colours, given out in event-code order."""
HOVER_BUDGET_BYTES = 3_000_000
"""At most this much hover text (expanded fields) goes into a timeline: the rest of 50,000
points takes about 5.5 MB of JSON, so the whole stays under 10 MB."""
_BUCKETS = ("1h", "6h", "1d", "1w", "1mo")
_BUCKET_WORDS = {"1h": "hour", "6h": "6 hours", "1d": "day", "1w": "week", "1mo": "month"}
_BUCKET_US = {"1h": 3_600_000_000, "6h": 21_600_000_000, "1d": 86_400_000_000}
_WEEK_US = 7 * 86_400_000_000
_EPOCH_TO_MONDAY_US = 3 * 86_400_000_000  # 1970-01-01 was a Thursday


# ---------------------------------------------------------------------------- helpers


def event_colors(df: pl.DataFrame) -> dict[str, str]:
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
    labels = event_labels(df)["event"].to_list()
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _colors(df: pl.DataFrame, color_map: Mapping[str, str] | None) -> dict[str, str]:
    colors = event_colors(df)
    if color_map:
        colors.update(color_map)
    return colors


def _time_title(tz: str) -> str:
    return f"Time ({tz})"


def _note(fig: go.Figure, text: str) -> None:
    """A grey note under the title (used to say a figure is aggregated or trimmed)."""
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0,
        y=1.0,
        yanchor="bottom",
        xanchor="left",
        showarrow=False,
        font={"size": 11, "color": "#666"},
        name="note",
    )


def _empty(title: str, x_title: str, y_title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title=title, xaxis_title=x_title, yaxis_title=y_title, template="plotly_white"
    )
    fig.add_annotation(
        text="No activities match",
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        name="empty",
    )
    return fig


def _iso(expr: pl.Expr, tz: str) -> pl.Expr:
    """Times as ISO strings in ``tz`` with their UTC offset (``2025-03-03T14:30:00+05:30``).

    plotly.js places a date string at its wall-clock time and ignores the offset, so the axis
    reads in ``tz`` while the figure's data still says which zone it is in.
    """
    return expr.dt.convert_time_zone(tz).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")


def _escape(expr: pl.Expr) -> pl.Expr:
    return (
        expr.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all("\r\n", " ", literal=True)
        .str.replace_all("\n", " ", literal=True)
    )


def _hover_fields(frame: pl.DataFrame, limit: int) -> pl.Expr:
    """One string per row: ``key: value`` lines of the row's non-empty expanded fields.

    Expanded fields are the ``data.*`` and ``fields.*`` columns (strings in the expanded frame;
    a typed one, as in an ``event_view``, is shown as text).
    """
    expanded = [
        c
        for c in frame.columns
        if (c.startswith("data.") or c.startswith("fields."))
        and frame[c].null_count() < frame.height
    ]
    if not expanded:
        return pl.lit("", dtype=pl.Utf8)
    parts = []
    for column in expanded:
        value = pl.col(column)
        if frame.schema[column] != pl.Utf8:
            value = value.cast(pl.Utf8)
        short = (
            pl.when(value.str.len_chars() > limit)
            .then(value.str.slice(0, limit) + pl.lit("…"))
            .otherwise(value)
        )
        parts.append(
            pl.when(value.is_not_null() & (value.str.strip_chars() != ""))
            .then(pl.lit(f"{column}: ") + _escape(short))
            .otherwise(None)
        )
    return pl.concat_str(parts, separator="<br>", ignore_nulls=True).fill_null("")


def _bucket_key(bucket: str, wall: pl.Expr) -> pl.Expr:
    """An integer naming the ``bucket`` (one of ``_BUCKETS``) of a naive wall-clock time."""
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
        return keyed.select(key.n_unique()).item()

    day = _BUCKETS.index("1d")
    chosen = len(_BUCKETS) - 1
    if points(_BUCKETS[day]) <= max_points:
        chosen = day
        while chosen > 0 and points(_BUCKETS[chosen - 1]) <= max_points:
            chosen -= 1
    else:
        for i in range(day + 1, len(_BUCKETS)):
            if points(_BUCKETS[i]) <= max_points:
                chosen = i
                break
    bucket = _BUCKETS[chosen]
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


def _largest(leads: pl.DataFrame, key: str, limit: int) -> list[str]:
    return leads.sort([key, "lead_id"], descending=[True, False]).head(limit)["lead_id"].to_list()


# ---------------------------------------------------------------------------- timeline

_CORE_FOR_TIMELINE = ["lead_id", "activity_id", "event_code", "activity_score", "created_on"]


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
        leads, events, start, end, tz, max_points, color_map, title: see the module notes.
        rows: ``"lead"`` (one row per lead) or ``"event"`` (one row per event type: the
            readable view of one lead's journey; up to ``max_points``, above it rows are
            leads).

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
    analysis._check_zone(tz)
    if rows not in ("lead", "event"):
        raise ValueError(f"rows must be 'lead' or 'event', not {rows!r}")
    analysis._require(df, [*_CORE_FOR_TIMELINE, "event_name"], "timeline")
    colors = _colors(df, color_map)
    labels = event_labels(df)
    selected = analysis._filter_lazy(df, leads, events, start, end)
    # narrow first: a wide frame of a million rows is expensive to copy
    picked = selected.select(_CORE_FOR_TIMELINE).collect()
    heading = title or "Activity timeline"
    if picked.height == 0:
        return _empty(heading, _time_title(tz), "Lead")
    lead_order = (
        picked.group_by("lead_id")
        .agg(pl.col("created_on").min().alias("first"))
        .sort(["first", "lead_id"])["lead_id"]
        .to_list()
    )
    by_event = rows == "event" and picked.height <= max_points
    if picked.height <= max_points:
        wide = selected.sort(["lead_id", "created_on"], maintain_order=True).collect()
        points, dropped = _timeline_points(wide, tz)
        traces = _event_traces(
            points,
            labels,
            colors,
            webgl=False,
            # with one row per event type, y no longer names the lead: customdata does
            customdata=["score", "activity_id", "fields", *(["lead_id"] if by_event else [])],
            hovertemplate=(
                "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d %H:%M:%S}"
                f"<br>lead {'%{customdata[3]}' if by_event else '%{y}'}"
                "<br>score %{customdata[0]} · activity %{customdata[1]}"
                "<br>%{customdata[2]}<extra></extra>"
            ),
            marker={"size": 9, "opacity": 0.85, "line": {"width": 0.5, "color": "white"}},
            rows=rows,
        )
        fig = go.Figure(traces)
        fig.update_layout(title=heading)
        if dropped:
            _note(fig, "Expanded fields left out of the hover: too many activities")
    else:
        fig = _timeline_aggregated(picked, labels, lead_order, colors, tz, max_points, heading)
        lead_order = list(fig.layout.meta["leads"])
    categories = [trace.name for trace in fig.data][::-1] if by_event else lead_order
    fig.update_layout(
        xaxis_title=_time_title(tz),
        xaxis_type="date",
        yaxis_title="Event type" if by_event else "Lead",
        legend_title_text="Event type",
        template="plotly_white",
        height=_timeline_height(len(categories), len(fig.data)),
    )
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=categories)
    return fig


def _timeline_height(rows: int, legend_entries: int) -> int:
    """Pixels for a timeline: each row readable and the whole legend in view (320 to 900).

    Example:
        >>> _timeline_height(1, 18)  # one lead, 18 event types in the legend
        740
    """
    return max(320, min(900, max(140 + 26 * rows, 200 + 30 * legend_entries)))


def _timeline_points(wide: pl.DataFrame, tz: str) -> tuple[pl.DataFrame, bool]:
    """One row per activity with its hover text, within the hover budget."""
    limit = 120
    while True:
        points = wide.select(
            "lead_id",
            "event_code",
            _iso(pl.col("created_on"), tz).alias("time"),
            pl.col("activity_score").cast(pl.Int64).fill_null(0).alias("score"),
            pl.col("activity_id").fill_null(""),
            _hover_fields(wide, limit).alias("fields"),
        )
        size = points["fields"].str.len_bytes().sum() or 0
        if size <= HOVER_BUDGET_BYTES:
            return points, False
        if limit <= 20:
            return points.with_columns(pl.lit("").alias("fields")), True
        limit //= 3


def _event_traces(
    points: pl.DataFrame,
    labels: pl.DataFrame,
    colors: Mapping[str, str],
    *,
    webgl: bool,
    customdata: list[str],
    hovertemplate: str,
    marker: dict,
    rows: str = "lead",
) -> list[go.Scatter | go.Scattergl]:
    """One marker trace per event code present in ``points`` (columns time, lead_id, ...).

    ``rows="event"`` puts each trace on its own row (``y`` the event label), else ``y`` is the
    lead id.
    """
    trace_type = go.Scattergl if webgl else go.Scatter
    label_of = dict(labels.iter_rows())
    traces = []
    parts = points.partition_by("event_code", as_dict=True)
    for (code,) in sorted(parts, key=lambda key: (key[0] is None, key[0] or 0)):
        part = parts[(code,)]
        label = "Unknown event" if code is None else label_of.get(code, f"Event {code}")
        style = dict(marker)
        style["color"] = colors.get(label, "#888")
        if "size" in part.columns:
            style["size"] = part["size"].to_numpy()
        traces.append(
            trace_type(
                x=part["time"].to_numpy(),
                y=[label] * part.height if rows == "event" else part["lead_id"].to_numpy(),
                mode="markers",
                name=label,
                legendgroup=label,
                marker=style,
                customdata=part.select(customdata).to_numpy(),
                hovertemplate=hovertemplate,
                meta={"event_code": None if code is None else int(code)},
            )
        )
    return traces


def _timeline_aggregated(
    picked: pl.DataFrame,
    labels: pl.DataFrame,
    lead_order: list[str],
    colors: Mapping[str, str],
    tz: str,
    max_points: int,
    heading: str,
) -> go.Figure:
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
        _iso(pl.col("created_on"), tz).alias("time"),
    ).sort(["lead_id", "created_on"])
    word = _BUCKET_WORDS[bucket]
    traces = _event_traces(
        points,
        labels,
        colors,
        webgl=True,
        customdata=["count"],
        hovertemplate=(
            f"<b>%{{fullData.name}}</b><br>{word} of %{{x|%Y-%m-%d %H:%M}}<br>lead %{{y}}"
            "<br>%{customdata[0]} activities<extra></extra>"
        ),
        marker={"opacity": 0.7, "sizemode": "diameter"},
    )
    fig = go.Figure(traces)
    fig.update_layout(
        title=f"{heading} (aggregated per lead, event type and {word})",
        meta={"leads": shown, "aggregated": True, "bucket": bucket},
    )
    _note(
        fig,
        f"{picked.height:,} activities drawn as {points.height:,} WebGL markers, one per lead, "
        f"event type and {word}, sized by count{trimmed}",
    )
    return fig


# ---------------------------------------------------------------------------- scores


def score_chart(
    df: pl.DataFrame,
    kind: str = "cumulative",
    every: str | None = None,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    tz: str = "UTC",
    max_leads: int = 50,
    max_points: int = MAX_POINTS,
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
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
        max_leads: for ``"cumulative"``, draw at most this many leads, the highest total
            scores first (the title says when leads were left out).
        leads, events, start, end, tz, max_points, color_map, title: see the module notes.

    Returns:
        ``"cumulative"``: one trace per lead (module notes), x ``"Time (<tz>)"``, y
        ``"Cumulative score"``. ``"by_event"``: one horizontal ``bar`` trace, x ``"Total
        activity score"``, y ``"Event type"``.

    Raises:
        ValueError: an unknown ``kind``.

    Example:
        >>> import lsq_analysis as lsq
        >>> fig = lsq.score_chart(lsq.load_sample(), max_leads=3, tz="Asia/Kolkata")
        >>> len(fig.data), fig.layout.xaxis.title.text
        (3, 'Time (Asia/Kolkata)')
    """
    if kind == "by_event":
        return _score_by_event_chart(df, leads, events, start, end, color_map, title)
    if kind != "cumulative":
        raise ValueError(f"kind={kind!r} is not one of 'cumulative', 'by_event'")
    analysis._check_zone(tz)
    heading = title or "Cumulative activity score"
    picked = (
        analysis._filter_lazy(df, leads, events, start, end)
        .select("lead_id", "created_on", pl.col("activity_score").cast(pl.Int64).fill_null(0))
        .collect()
    )
    if picked.height == 0:
        return _empty(heading, _time_title(tz), "Cumulative score")
    totals = picked.group_by("lead_id").agg(pl.col("activity_score").sum().alias("total"))
    notes = []
    chosen = _largest(totals, "total", max_leads)
    if len(chosen) < totals.height:
        picked = picked.filter(pl.col("lead_id").is_in(pl.Series(chosen).implode()))
        notes.append(f"the {len(chosen):,} highest-scoring of {totals.height:,} leads")
    if every is None and picked.height > max_points:
        local = picked.select("lead_id", pl.col("created_on").dt.convert_time_zone(tz))
        for every in _BUCKETS:  # the loop leaves `every` at the first bucket that fits
            buckets = pl.struct("lead_id", pl.col("created_on").dt.truncate(every))
            if local.select(buckets.n_unique()).item() <= max_points:
                break
        notes.append(f"resampled per {_BUCKET_WORDS[every]}")
    elif every is not None:
        heading = f"{heading} (per {_BUCKET_WORDS.get(every, every)})"
    # labels come from the whole frame, so they match the other figures
    scores = analysis.score_over_time(
        df, every=every, tz=tz, leads=chosen, events=events, start=start, end=end
    )
    webgl = scores.height > max_points
    hover = (
        "<b>%{customdata[0]}</b><br>%{x|%Y-%m-%d %H:%M:%S}<br>score %{customdata[1]:+d}"
        "<br>cumulative %{y}<extra>%{fullData.name}</extra>"
    )
    if every is None:
        custom = ["event", "activity_score"]
    else:
        scores = scores.with_columns(
            (pl.col("n_activities").cast(pl.Utf8) + " activities").alias("what")
        )
        custom = ["what", "score"]
    scores = scores.with_columns(_iso(pl.col("created_on"), tz).alias("time"))
    fig = px.line(
        scores,
        x="time",
        y="cumulative_score",
        color="lead_id",
        category_orders={"lead_id": chosen},
        custom_data=custom,
        line_shape="hv",
        markers=scores.height <= 5_000,
        render_mode="webgl" if webgl else "svg",
    )
    fig.update_traces(hovertemplate=hover)
    for trace in fig.data:
        trace.meta = {"lead_id": trace.name}
    if notes:
        heading = f"{heading} ({'; '.join(notes)})"
        _note(fig, f"{picked.height:,} activities; showing " + "; ".join(notes))
    fig.update_layout(
        title=heading,
        xaxis_title=_time_title(tz),
        xaxis_type="date",
        yaxis_title="Cumulative score",
        legend_title_text="Lead",
        template="plotly_white",
    )
    return fig


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
    scores = analysis.score_by_event(df, leads=leads, events=events, start=start, end=end)
    if scores.height == 0:
        return _empty(heading, "Total activity score", "Event type")
    colors = _colors(df, color_map)
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
        template="plotly_white",
        height=max(320, 120 + 24 * scores.height),
    )
    return fig


# ---------------------------------------------------------------------------- event mix


def event_mix(
    df: pl.DataFrame,
    every: str | None = None,
    *,
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
        normalize: with ``every``, show each bucket's shares (percent) instead of counts.
        leads, events, start, end, tz, color_map, title: see the module notes.

    Returns:
        One ``bar`` trace per event type (module notes). Without ``every``: x ``"Activities"``,
        y ``"Event type"``; with it: x ``"Time (<tz>)"``, y ``"Activities"`` (or ``"Share of
        activities (%)"``).

    Example:
        >>> import lsq_analysis as lsq
        >>> fig = lsq.event_mix(lsq.load_sample(), every="1w", tz="Asia/Kolkata")
        >>> fig.layout.barmode
        'stack'
    """
    analysis._check_zone(tz)
    colors = _colors(df, color_map)
    labels = event_labels(df)
    counts = analysis.event_counts(
        df,
        by=["event_code", "event"],
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
    if every is None:
        heading = title or "Event mix"
        if counts.height == 0:
            return _empty(heading, "Activities", "Event type")
        fig = px.bar(
            counts,
            x="count",
            y="event",
            color="event",
            orientation="h",
            category_orders={"event": label_order},
            color_discrete_map=colors,
        )
        fig.update_traces(hovertemplate="<b>%{y}</b><br>%{x} activities<extra></extra>")
        fig.update_layout(
            title=heading,
            xaxis_title="Activities",
            yaxis_title="Event type",
            showlegend=False,
            height=max(320, 120 + 24 * counts.height),
        )
    else:
        word = _BUCKET_WORDS.get(every, every)
        heading = title or f"Event mix per {word}"
        y_title = "Share of activities (%)" if normalize else "Activities"
        if counts.height == 0:
            return _empty(heading, _time_title(tz), y_title)
        counts = counts.with_columns(_iso(pl.col("created_on"), tz).alias("time"))
        fig = px.bar(
            counts,
            x="time",
            y="count",
            color="event",
            category_orders={"event": label_order},
            color_discrete_map=colors,
        )
        fig.update_traces(
            hovertemplate=(
                "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d %H:%M}<br>%{y} activities<extra></extra>"
            )
        )
        fig.update_layout(
            title=heading,
            xaxis_title=_time_title(tz),
            xaxis_type="date",
            yaxis_title=y_title,
            barmode="stack",
            barnorm="percent" if normalize else None,
            legend_title_text="Event type",
        )
    for trace in fig.data:
        trace.meta = {"event_code": int(code_of[trace.name])}
    fig.update_layout(template="plotly_white")
    return fig


# ---------------------------------------------------------------------------- heatmap


def activity_heatmap(
    df: pl.DataFrame,
    tz: str = "UTC",
    *,
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
        leads, events, start, end, title: see the module notes.

    Returns:
        One ``heatmap`` trace: ``z`` 7 x 24 counts (from
        :func:`~lsq_analysis.analysis.activity_heatmap_data`), ``x`` hours 0-23, ``y``
        ``"Mon"`` ... ``"Sun"``; x axis ``"Hour of day (<tz>)"``, y axis ``"Weekday"``.

    Example:
        >>> import lsq_analysis as lsq
        >>> fig = lsq.activity_heatmap(lsq.load_sample(), tz="Asia/Kolkata")
        >>> len(fig.data[0].z), len(fig.data[0].z[0])
        (7, 24)
    """
    grid = analysis.activity_heatmap_data(df, tz, leads=leads, events=events, start=start, end=end)
    z = grid["count"].to_numpy().reshape(7, 24)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(24)),
            y=list(analysis.WEEKDAY_NAMES),
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
        template="plotly_white",
    )
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(autorange="reversed")
    return fig


# ---------------------------------------------------------------------------- funnel


def funnel_chart(
    df: pl.DataFrame,
    steps: Sequence[Event | Sequence[Event]],
    within: DurationLike | None = None,
    *,
    leads: Leads = None,
    events: Events = None,
    start: TimeBound = None,
    end: TimeBound = None,
    title: str | None = None,
) -> go.Figure:
    """Leads reaching each step in order (:func:`~lsq_analysis.analysis.funnel`), as a funnel.

    Args:
        df: the expanded activity frame.
        steps: the funnel's events in order (codes or names; a step may be a list of events).
        within: optional time limit from the first step (``"30d"``...).
        leads, events, start, end, title: see the module notes.

    Returns:
        One ``funnel`` trace: ``y`` the numbered step labels (``"1. Lead Capture"``), ``x``
        the number of leads; the text shows the share of the first and previous step, the
        hover the median time from the previous step. y axis ``"Step"``.

    Example:
        >>> import lsq_analysis as lsq
        >>> steps = ["Lead Capture", "Email Opened"]
        >>> fig = lsq.funnel_chart(lsq.load_sample(), steps, within="30d")
        >>> list(fig.data[0].y)
        ['1. Lead Capture', '2. Email Opened']
    """
    data = analysis.funnel(df, steps, within, leads=leads, events=events, start=start, end=end)
    names = [f"{k}. {label}" for k, label in zip(data["step"], data["event"], strict=True)]
    median = [
        "" if h is None else f"<br>median {_duration_words(h)} after the previous step"
        for h in data["median_hours_from_previous"]
    ]
    fig = go.Figure(
        go.Funnel(
            y=names,
            x=data["n_leads"].to_numpy(),
            textinfo="value+percent initial+percent previous",
            customdata=median,
            hovertemplate="<b>%{y}</b><br>%{x} leads%{customdata}<extra></extra>",
            marker={"color": PALETTE[0]},
            name="leads",
        )
    )
    heading = title or "Funnel" + (f" (each step within {within} of the first)" if within else "")
    fig.update_layout(
        title=heading, yaxis_title="Step", xaxis_title="Leads", template="plotly_white"
    )
    return fig


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
    top: int = 25,
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
        top: draw the ``top`` most frequent transitions (the title says how many there are).
        leads, events, start, end, color_map, title: see the module notes.

    Returns:
        One ``sankey`` trace. Nodes: the "from" events (labelled ``"<event>"``) then the
        "to" events (labelled ``"→ <event>"``); links: ``source``, ``target``, ``value`` (the
        count), most frequent first.

    Example:
        >>> import lsq_analysis as lsq
        >>> fig = lsq.transition_chart(lsq.load_sample(), top=10)
        >>> len(fig.data[0].link.value) <= 10
        True
    """
    colors = _colors(df, color_map)
    data = analysis.transitions(df, leads=leads, events=events, start=start, end=end)
    total = data.height
    data = data.head(top)
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
                "value": data["count"].to_list(),
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
        template="plotly_white",
    )
    return fig
