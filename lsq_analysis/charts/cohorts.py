"""How each cohort of leads converts over the periods after its start: the triangle heatmap.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.charts.cohorts import cohort_chart
    >>> cohort_chart(lsq.load_sample(), event="Payment Received", every="1mo").data[0].type
    'heatmap'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from ..analysis.cohort_conversion import check_every, cohorts, scaled_every
from ..analysis.prepare import segment_keys
from ..vocabulary import Event, Frame, Leads, TimeBound, check_zone
from .style import TEMPLATE, empty_figure, note_annotation, segment_labels, segment_title

__all__ = ["MAX_COHORT_FACETS", "cohort_chart"]

MAX_COHORT_FACETS = 8
"""The most segments :func:`cohort_chart` draws a facet for (those with the most leads)."""

_HOVER = (
    "<b>cohort %{y}</b><br>period %{x}: reached within %{customdata[2]} of the start"
    "<br>%{customdata[0]} of %{customdata[1]} leads (%{text})<extra>%{fullData.name}</extra>"
)
_CALENDAR_UNITS = ("mo", "q", "y")


def _cohort_format(every: str) -> str:
    """How a cohort's start is written: a month for calendar periods, a day, or a time."""
    if every.endswith(_CALENDAR_UNITS):
        return "%Y-%m"
    if every.endswith(("d", "w")):
        return "%Y-%m-%d"
    return "%Y-%m-%d %H:%M"


def _grid(
    part: pl.DataFrame, every: str, periods: int
) -> tuple[list[str], list[list[float | None]], list[list[str]], list[list[list[Any]]]]:
    """y labels, ``z`` shares, texts and hover data of one segment's cohorts (oldest first)."""
    shown = _cohort_format(every)
    rows = part.sort("cohort", "period").partition_by("cohort", maintain_order=True)
    labels, z, text, custom = [], [], [], []
    for rows_of in rows:
        n_leads = int(rows_of["n_leads"][0])
        leads_word = "lead" if n_leads == 1 else "leads"
        labels.append(f"{rows_of['cohort'][0].strftime(shown)} · {n_leads} {leads_word}")
        by_period = dict(zip(rows_of["period"], rows_of.iter_rows(named=True), strict=True))
        shares: list[float | None] = []
        texts: list[str] = []
        data: list[list[Any]] = []
        for k in range(periods):
            row = by_period.get(k)
            share = None if row is None else row["share"]
            shares.append(share)
            texts.append("" if share is None else f"{share:.0%}")
            reached = None if row is None else row["n_reached"]
            data.append([reached, n_leads, scaled_every(every, k + 1)])
        z.append(shares)
        text.append(texts)
        custom.append(data)
    return labels, z, text, custom


def _heatmap(part: pl.DataFrame, every: str, periods: int, name: str) -> go.Heatmap:
    labels, z, text, custom = _grid(part, every, periods)
    return go.Heatmap(
        z=z,
        x=list(range(periods)),
        y=labels,
        text=text,
        texttemplate="%{text}",
        customdata=custom,
        hovertemplate=_HOVER,
        hoverongaps=False,
        coloraxis="coloraxis",
        xgap=1,
        ygap=1,
        name=name,
    )


def cohort_chart(
    df: Frame,
    *,
    event: Event | Sequence[Event],
    every: str = "1mo",
    periods: int = 6,
    start_event: Event | Sequence[Event] | None = None,
    by: str | Sequence[str] | None = None,
    as_of: TimeBound = None,
    tz: str = "UTC",
    leads: Leads = None,
    colorscale: str = "Blues",
    title: str | None = None,
) -> go.Figure:
    """The share of each cohort that reached ``event`` by each period
    (:func:`~lsq_analysis.analysis.cohort_conversion.cohorts`), as the triangle heatmap.

    Args:
        df: the expanded activity frame, eager or lazy.
        event, every, periods, start_event, as_of, tz, leads: as in
            :func:`~lsq_analysis.analysis.cohort_conversion.cohorts`.
        by: segment column(s) (``"lead.source"`` after :func:`lsq_analysis.with_leads`): one
            facet (a heatmap, stacked top to bottom) per segment, in segment order; above
            :data:`MAX_COHORT_FACETS` segments, those with the most leads, and a note says
            how many are left out.
        colorscale: a plotly colour scale name (shares from 0 to 100 %).
        title: replaces the default title.

    Returns:
        One ``heatmap`` trace per facet (without ``by``: one, named ``"leads"``): ``y`` the
        cohorts, oldest on top (``"2025-01 · 25 leads"``; a day for ``"1d"``/``"1w"``
        periods), ``x`` the periods ``0 ... periods - 1``, ``z`` the shares (``None``, a
        blank cell, where the cohort is too young), ``text`` the share in percent (``""``
        when blank), ``customdata`` per cell (reached, leads, the time allowed such as
        ``"2mo"``). The traces share ``layout.coloraxis`` (0 to 1). With ``by``,
        ``trace.name`` is the segment's label (``"(no value)"`` for null), ``trace.meta ==
        {"segment": {column: value}}`` and each facet is titled by it. A frame without a
        started lead gives an empty figure with a note.

    Raises:
        ValueError: as :func:`~lsq_analysis.analysis.cohort_conversion.cohorts`.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.charts.cohorts import cohort_chart
        >>> fig = cohort_chart(lsq.load_sample(), event="Payment Received", every="1mo",
        ...                    periods=3, start_event="Lead Capture")
        >>> list(fig.data[0].x), fig.data[0].text[0]
        ([0, 1, 2], ['12%', '24%', '44%'])
    """
    check_zone(tz)
    every = check_every(every, "cohort_chart")
    keys = segment_keys(df, by, "cohort_chart")
    data = cohorts(
        df,
        event=event,
        every=every,
        periods=periods,
        start_event=start_event,
        by=keys or None,
        as_of=as_of,
        tz=tz,
        leads=leads,
    )
    heading = title or f"Cohorts per {every}: share that reached the event by each period"
    x_title = f"Period since the start ({every} each)"
    y_title = f"Cohort ({tz})"
    if data.height == 0:
        return empty_figure(heading, x_title, y_title)
    notes: list[str] = []
    if not keys:
        traces = [_heatmap(data, every, periods, "leads")]
        fig = go.Figure(traces)
        n_rows = data["cohort"].n_unique()
        fig.update_layout(xaxis_title=x_title, yaxis_title=y_title)
        fig.update_yaxes(autorange="reversed")
    else:
        data = data.with_columns(segment_labels(data, keys).alias("_segment"))
        parts = data.partition_by("_segment", maintain_order=True)
        if len(parts) > MAX_COHORT_FACETS:
            sizes = [int(p.filter(pl.col("period") == 0)["n_leads"].sum()) for p in parts]
            ranked = sorted(range(len(parts)), key=lambda i: -sizes[i])[:MAX_COHORT_FACETS]
            notes.append(
                f"{len(parts) - MAX_COHORT_FACETS} of {len(parts)} segments not shown "
                "(those with the fewest leads)"
            )
            parts = [parts[i] for i in sorted(ranked)]
        counts = [p["cohort"].n_unique() for p in parts]
        fig = make_subplots(
            rows=len(parts),
            cols=1,
            shared_xaxes=True,
            subplot_titles=[p["_segment"][0] for p in parts],
            row_heights=[float(n) for n in counts],
            vertical_spacing=min(0.08, 0.3 / len(parts)),
        )
        for row, part in enumerate(parts, start=1):
            trace = _heatmap(part, every, periods, part["_segment"][0])
            trace.meta = {"segment": part.select(keys).row(0, named=True)}
            fig.add_trace(trace, row=row, col=1)
            fig.update_yaxes(autorange="reversed", row=row, col=1)
        n_rows = sum(counts) + 2 * len(parts)
        fig.update_xaxes(title_text=x_title, row=len(parts), col=1)
        fig.update_layout(meta={"segments": segment_title(keys)})
    fig.update_xaxes(tickmode="linear", dtick=1)
    if notes:
        fig.add_annotation(note_annotation("; ".join(notes)))
    fig.update_layout(
        title=heading,
        coloraxis={
            "colorscale": colorscale,
            "cmin": 0,
            "cmax": 1,
            "colorbar": {"title": {"text": "Reached"}, "tickformat": ".0%"},
        },
        height=max(320, min(1600, 160 + 30 * n_rows)),
        template=TEMPLATE,
    )
    return fig
