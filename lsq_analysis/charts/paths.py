"""What leads do next, step by step from a start event: the paths as a Sankey.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.charts.paths import paths_chart
    >>> paths_chart(lsq.load_sample(), start="Lead Capture", steps=2).data[0].type
    'sankey'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import polars as pl

from ..analysis.next_events import OTHER_EVENT, paths
from ..vocabulary import Event, Events, Frame, Leads
from .style import NO_SEGMENT_COLOR, TEMPLATE, colors_for, empty_figure

__all__ = ["paths_chart", "paths_nodes"]


def paths_nodes(moves: pl.DataFrame) -> pl.DataFrame:
    """The Sankey nodes of :func:`~lsq_analysis.analysis.next_events.paths`' rows, in drawing order.

    A node is one event at one step (step 0 is the start). Nodes are ordered by step, then
    by the leads at that node (most first), then by label, ``"other"`` last of its step; the
    order depends on the counts only, never on the frame's row order.

    Returns:
        ``step``, ``event``, ``n_leads`` (leads at that node), ``node`` (its index, 0 ...).

    Example:
        >>> moves = pl.DataFrame({"step": [1, 1], "from_event": ["A", "A"],
        ...                       "to_event": ["C", "B"], "n_leads": [1, 1]})
        >>> paths_nodes(moves).rows()
        [(0, 'A', 2, 0), (1, 'B', 1, 1), (1, 'C', 1, 2)]
    """
    starts = (
        moves.filter(pl.col("step") == 1)
        .group_by(pl.col("from_event").alias("event"))
        .agg(pl.col("n_leads").sum())
        .with_columns(pl.lit(0, dtype=pl.Int64).alias("step"))
    )
    ends = moves.group_by("step", pl.col("to_event").alias("event")).agg(pl.col("n_leads").sum())
    return (
        pl.concat([starts.select("step", "event", "n_leads"), ends], how="vertical_relaxed")
        .with_columns((pl.col("event") == OTHER_EVENT).alias("_other"))
        .sort(["step", "_other", "n_leads", "event"], descending=[False, False, True, False])
        .drop("_other")
        .with_row_index("node")
        .select("step", "event", "n_leads", pl.col("node").cast(pl.Int64))
    )


def _faded(color: str, alpha: float = 0.35) -> str:
    """A ``#rrggbb`` colour as a see-through ``rgba(...)`` (others unchanged)."""
    if len(color) == 7 and color.startswith("#"):
        red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgba({red}, {green}, {blue}, {alpha})"
    return color


def paths_chart(
    df: Frame,
    *,
    start: Event | Sequence[Event] | None = None,
    steps: int = 4,
    top: int = 8,
    leads: Leads = None,
    events: Events = None,
    color_map: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """What leads do after ``start`` (:func:`~lsq_analysis.analysis.paths`), as a Sankey.

    Args:
        df: the expanded activity frame, eager or lazy.
        start, steps, top, leads, events: as in :func:`~lsq_analysis.analysis.next_events.paths`
            (``start`` is the event the paths start from, ``None`` each lead's first activity).
        color_map: event label -> CSS colour (see :mod:`lsq_analysis.charts`); ``"other"``
            is grey.
        title: replaces the default title.

    Returns:
        One ``sankey`` trace. Nodes (:func:`paths_nodes`): one per step and event, by step
        (the start's events at step 0), then most leads, then label, ``"other"`` last;
        ``node.label`` the event, ``node.customdata`` ``[step, leads]``, coloured by event
        type. Links: one per row of :func:`~lsq_analysis.analysis.next_events.paths`, in its
        order, ``source``/``target`` node indices, ``value`` the leads, ``customdata`` the
        step. ``trace.meta == {"steps": steps, "top": top}``. A frame where no lead has a
        start gives an empty figure with a note.

    Raises:
        ValueError: as :func:`~lsq_analysis.analysis.next_events.paths`.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.charts.paths import paths_chart
        >>> fig = paths_chart(lsq.load_sample(), start="Lead Capture", steps=3, top=4)
        >>> fig.data[0].node.label[0], sum(fig.data[0].link.value) == 25 * 3
        ('Lead Capture', True)
    """
    moves = paths(df, start=start, steps=steps, top=top, leads=leads, events=events)
    after = "each lead's first activity" if start is None else "the start event"
    heading = title or f"What leads do next: {steps} events after {after} (top {top} per step)"
    if moves.height == 0:
        return empty_figure(heading, "Step", "Event")
    colors = colors_for(df, color_map)
    colors.setdefault(OTHER_EVENT, NO_SEGMENT_COLOR)
    nodes = paths_nodes(moves)
    index = {(s, e): n for s, e, n in nodes.select("step", "event", "node").iter_rows()}
    source = [index[(s - 1, e)] for s, e in moves.select("step", "from_event").iter_rows()]
    target = [index[(s, e)] for s, e in moves.select("step", "to_event").iter_rows()]
    node_colors = [colors.get(e, NO_SEGMENT_COLOR) for e in nodes["event"]]
    # fixed places: a column per step, its nodes top to bottom in node order
    share = pl.col("n_leads") / pl.col("n_leads").sum().over("step")
    last_step = max(int(moves["step"].max()), 1)  # type: ignore[arg-type]
    places = nodes.select(
        (0.001 + 0.998 * pl.col("step") / last_step).alias("x"),
        (0.001 + 0.998 * (share.cum_sum().over("step") - share / 2)).alias("y"),
    )
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": nodes["event"].to_list(),
                "color": node_colors,
                "x": places["x"].to_list(),
                "y": places["y"].to_list(),
                "customdata": nodes.select("step", "n_leads").rows(),
                "hovertemplate": (
                    "<b>%{label}</b><br>step %{customdata[0]}: %{customdata[1]} leads"
                    "<extra></extra>"
                ),
                "pad": 12,
            },
            link={
                "source": source,
                "target": target,
                "value": moves["n_leads"].to_list(),
                "color": [_faded(node_colors[t]) for t in target],
                "customdata": moves["step"].to_list(),
                "hovertemplate": (
                    "step %{customdata}: %{source.label} → %{target.label}<br>%{value} leads"
                    "<extra></extra>"
                ),
            },
            meta={"steps": steps, "top": top},
            name="paths",
        )
    )
    fig.update_layout(title=heading, template=TEMPLATE)
    return fig
