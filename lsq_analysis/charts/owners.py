"""What each person does: activities per owner and period, as stacked bars or a line per owner.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.charts.owners import owner_activity_chart
    >>> owner_activity_chart(lsq.load_sample(), every="1mo").layout.barmode
    'stack'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import plotly.graph_objects as go
import polars as pl

from ..analysis.cohort_conversion import check_every
from ..analysis.owners import owner_activity
from ..vocabulary import Events, Frame, Leads, TimeBound, check_zone
from .style import (
    BUCKET_WORDS,
    SEGMENT_PALETTE,
    TEMPLATE,
    empty_figure,
    iso_time,
    note_annotation,
    time_title,
)

__all__ = ["MAX_OWNERS", "owner_activity_chart"]

MAX_OWNERS = 15
"""The most owners :func:`owner_activity_chart` draws by default (those with the most)."""

_HOVER = (
    "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d %H:%M}<br>%{customdata[0]} activities on "
    "%{customdata[1]} leads%{customdata[2]}<extra></extra>"
)
_KINDS = ("bar", "line")


def _top_types(frame: pl.DataFrame, types: list[str], most: int = 3) -> list[str]:
    """Per row: ``"<br>Phone Call 12 · Email 4"``, its commonest event types (or ``""``)."""
    out = []
    for counts in frame.select(types).iter_rows():
        best = sorted(
            ((n, label) for n, label in zip(counts, types, strict=True) if n),
            key=lambda item: (-item[0], item[1]),
        )[:most]
        out.append("<br>" + " · ".join(f"{label} {n}" for n, label in best) if best else "")
    return out


def owner_activity_chart(
    df: Frame,
    *,
    every: str = "1w",
    events: Events = None,
    users: pl.DataFrame | pl.LazyFrame | Iterable[Mapping[str, Any]] | None = None,
    measure: str = "n_activities",
    kind: Literal["bar", "line"] = "bar",
    max_owners: int = MAX_OWNERS,
    exclude_creators: str | Iterable[str] = ("System",),
    tz: str = "UTC",
    leads: Leads = None,
    start: TimeBound = None,
    end: TimeBound = None,
    title: str | None = None,
) -> go.Figure:
    """What each owner did per period (:func:`~lsq_analysis.analysis.owners.owner_activity`).

    Args:
        df: the expanded activity frame, eager or lazy.
        every, events, users, exclude_creators, tz, leads, start, end: as in
            :func:`~lsq_analysis.analysis.owners.owner_activity` (with ``users``, owners are
            named by their user record).
        measure: the column drawn: ``"n_activities"``, ``"n_leads"`` or an event type's
            column (its label, such as ``"Phone Call"``).
        kind: ``"bar"``, bars per period stacked by owner; ``"line"``, a line per owner.
        max_owners: draw the owners with the most ``measure`` in all, this many at most (a
            note says how many are left out).
        title: replaces the default title.

    Returns:
        One trace per owner (``bar``, stacked, or ``scatter`` lines), the most active first:
        ``x`` the starts of every period with activity (ISO times in ``tz``), ``y`` the
        measure (0 in a period the owner did nothing), ``customdata``
        rows of (activities, leads, the commonest event types); ``trace.name`` the owner
        (with the first characters of its user id when two owners share a name),
        ``trace.meta == {"owner": name, "owner_id": id or None}``. Colours go by the owners'
        sorted order, so an owner keeps its colour while filtering by dates or events. x axis
        ``"Time (<tz>)"``. A frame without an owner's activity gives an empty figure with a
        note.

    Raises:
        ValueError: as :func:`~lsq_analysis.analysis.owners.owner_activity`, or a ``measure``
            that is not one of its columns, a ``kind`` other than ``"bar"``/``"line"``, a
            ``max_owners`` below 1.

    Example:
        >>> import lsq_analysis as lsq
        >>> from lsq_analysis.charts.owners import owner_activity_chart
        >>> fig = owner_activity_chart(lsq.load_sample(), every="1mo", kind="line")
        >>> fig.data[0].type, fig.data[0].name
        ('scatter', 'Rahul Verma')
    """
    check_zone(tz)
    every = check_every(every, "owner_activity_chart")
    if kind not in _KINDS:
        raise ValueError(f"owner_activity_chart(): kind must be 'bar' or 'line', not {kind!r}")
    if isinstance(max_owners, bool) or not isinstance(max_owners, int) or max_owners < 1:
        raise ValueError(
            f"owner_activity_chart(): max_owners must be a whole number from 1, not {max_owners!r}"
        )
    data = owner_activity(
        df,
        every=every,
        events=events,
        users=users,
        exclude_creators=exclude_creators,
        tz=tz,
        leads=leads,
        start=start,
        end=end,
    )
    fixed = ("owner", "owner_id", "period")
    types = [c for c in data.columns if c not in (*fixed, "n_activities", "n_leads")]
    word = (
        "activities" if measure == "n_activities" else "leads" if measure == "n_leads" else measure
    )
    if measure in fixed or (measure not in data.columns and data.height > 0):
        raise ValueError(
            f"owner_activity_chart(): measure={measure!r} is not a column of owner_activity(); "
            f"use 'n_activities', 'n_leads' or an event type: {types}"
        )
    axis = word[:1].upper() + word[1:]
    heading = title or f"{axis} per owner per {BUCKET_WORDS.get(every, every)}"
    if data.height == 0:
        return empty_figure(heading, time_title(tz), axis)
    # an owner is (name, id): colours by sorted owner, drawing order by total, most first
    owners = data.select("owner", "owner_id").unique().sort("owner", "owner_id", nulls_last=True)
    color = {key: SEGMENT_PALETTE[i % len(SEGMENT_PALETTE)] for i, key in enumerate(owners.rows())}
    shared = owners.filter(pl.len().over("owner") > 1)["owner"].to_list()
    totals = (
        data.group_by("owner", "owner_id")
        .agg(pl.col(measure).sum().alias("_total"))
        .sort(["_total", "owner", "owner_id"], descending=[True, False, False], nulls_last=True)
    )
    drawn = totals.head(max_owners).select("owner", "owner_id").rows()
    # every drawn owner over every period, 0 where it did nothing (a line drops to 0)
    counts = ["n_activities", "n_leads", *types]
    grid = (
        pl.DataFrame(drawn, schema={"owner": pl.Utf8, "owner_id": pl.Utf8}, orient="row")
        .join(data.select("period").unique(), how="cross")
        .join(data, on=list(fixed), how="left", nulls_equal=True)
        .with_columns(pl.col(counts).fill_null(0))
        .with_columns(iso_time(pl.col("period"), tz).alias("_x"))
    )
    traces: list[go.Bar | go.Scatter] = []
    for owner, owner_id in drawn:
        part = grid.filter(
            (pl.col("owner") == owner)
            & (pl.col("owner_id").is_null() if owner_id is None else pl.col("owner_id") == owner_id)
        ).sort("period")
        name = f"{owner} ({owner_id[:8]})" if owner in shared and owner_id else owner
        custom = list(
            zip(part["n_activities"], part["n_leads"], _top_types(part, types), strict=True)
        )
        common: dict[str, Any] = {
            "x": part["_x"].to_list(),
            "y": part[measure].to_list(),
            "customdata": custom,
            "hovertemplate": _HOVER,
            "name": name,
            "meta": {"owner": owner, "owner_id": owner_id},
        }
        if kind == "bar":
            traces.append(go.Bar(marker={"color": color[(owner, owner_id)]}, **common))
        else:
            traces.append(
                go.Scatter(mode="lines+markers", line={"color": color[(owner, owner_id)]}, **common)
            )
    fig = go.Figure(traces)
    if totals.height > len(drawn):
        fig.add_annotation(
            note_annotation(
                f"the {len(drawn)} owners with the most {word} of {totals.height}; "
                f"{totals.height - len(drawn)} not shown"
            )
        )
    fig.update_layout(
        title=heading,
        xaxis_title=time_title(tz),
        xaxis_type="date",
        yaxis_title=axis,
        legend_title_text="Owner",
        template=TEMPLATE,
        **({"barmode": "stack"} if kind == "bar" else {}),
    )
    return fig
