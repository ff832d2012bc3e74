"""The explorer: the pickers wired to a timeline, a score chart and a table of activities.

The charts module owns every figure: on each pick the explorer selects the activities
(:func:`~lsq_analysis.analysis.selection.select_activities`), asks
:mod:`lsq_analysis.charts` for the figures of them and shows those in its two
``go.FigureWidget`` s, updated in place.

Opened on an :class:`~lsq_analysis.store.ActivityStore`, the explorer does not load the
store: it holds the lead index, the event types and the date bounds (lazy aggregates of
``store.scan()``) and the activities of the leads picked (``store.frame(picked)``, kept per
store version and lead, so picking a lead again reads nothing).

Example:
    >>> import lsq_analysis as lsq
    >>> explorer = lsq.explore(lsq.load_sample())
    >>> sorted(explorer.frames)
    ['activities', 'score', 'table', 'timeline']
"""

from __future__ import annotations

import datetime as dt
import html
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import polars as pl

from ..analysis.selection import activity_table, event_type_counts, select_activities
from ..charts import (
    event_colors,
    score_chart,
    score_points,
    score_spec,
    timeline,
    timeline_points,
    timeline_spec,
)
from ..vocabulary import Frame, as_list, event_labels
from .pickers import DateRangePicker, EventPicker, LeadPicker
from .sources import source_frame, source_store

if TYPE_CHECKING:
    from ..store import ActivityStore

__all__ = ["CACHED_LEADS", "FAST_POINTS", "NAMED_ROWS", "Explorer", "explore"]

FAST_POINTS = 5_000
"""Selections up to this many activities are drawn from the charts' plain figure dicts
(:func:`~lsq_analysis.charts.timeline_spec`, :func:`~lsq_analysis.charts.score_spec`: no
figure is validated twice); bigger ones from the charts' own figures (WebGL and aggregated
when large)."""
NAMED_ROWS = 200
"""The timeline names its lead rows ("Asha Rao · a1111111") up to this many leads (else ids)."""
CACHED_LEADS = 256
"""An explorer on a store keeps the activities of up to this many leads last picked."""


# --------------------------------------------------------------------------- helpers


class _LeadPartition:
    """Each lead's rows, ordered by time, found without scanning or copying the whole frame.

    Only the row order is sorted (lead, then time: two columns), not the wide frame, so there
    is no second copy of the frame; a lead's activities are then a gather of its few row
    numbers.
    """

    def __init__(self, df: pl.DataFrame) -> None:
        self.frame = df
        keys = df.select("lead_id", "created_on").with_row_index("_row")
        # stable: a lead's activities at the same time keep the frame's order
        keys = keys.sort(["lead_id", "created_on"], nulls_last=True, maintain_order=True)
        self.order = keys["_row"]
        runs = keys.group_by("lead_id", maintain_order=True).len()
        offsets = runs["len"].cum_sum() - runs["len"]
        self.slices: dict[str, tuple[int, int]] = dict(
            zip(
                runs["lead_id"].to_list(),
                zip(offsets.to_list(), runs["len"].to_list(), strict=True),
                strict=True,
            )
        )

    def leads(self, lead_ids: Iterable[str]) -> pl.DataFrame:
        rows = [self.order.slice(*self.slices[lead]) for lead in lead_ids if lead in self.slices]
        if not rows:
            return self.frame.clear()
        return self.frame[rows[0] if len(rows) == 1 else pl.concat(rows)]

    def first_lead(self) -> pl.DataFrame:
        return self.frame[self.order.slice(0, 1)]


class _StoreLeads:
    """The picked leads' activities, read from a store only for leads not read before.

    Each lead's rows (``store.frame([lead])``, in the store's order) are kept under the
    store's version and the lead, the last :data:`CACHED_LEADS` leads at most; they have the
    columns of the store's scan (``schema``), so a pick shows the same frame as the explorer
    on ``store.frame()``.
    """

    def __init__(self, store: ActivityStore, schema: pl.Schema) -> None:
        self.store = store
        self.schema = schema
        self.cache: OrderedDict[tuple[int, str], pl.DataFrame] = OrderedDict()

    def _aligned(self, df: pl.DataFrame) -> pl.DataFrame:
        """``df`` with every column of the scan, in its order (empty ones as nulls)."""
        have = set(df.columns)
        columns = [
            pl.col(c) if c in have else pl.lit(None, dtype).alias(c)
            for c, dtype in self.schema.items()
        ]
        newer = [c for c in df.columns if c not in self.schema]  # written since the scan
        return df.select(*columns, *newer)

    def leads(self, lead_ids: Iterable[str]) -> pl.DataFrame:
        version = self.store.version  # a write since (a fetch, another process) reads again
        wanted = list(dict.fromkeys(lead_ids))
        found = {
            lead: self.cache[version, lead] for lead in wanted if (version, lead) in self.cache
        }
        missing = [lead for lead in wanted if lead not in found]
        if missing:  # one read for all of them
            read = self._aligned(self.store.frame(missing))
            parts = read.partition_by("lead_id", as_dict=True, maintain_order=True)
            found |= {lead: parts.get((lead,), read.clear()) for lead in missing}
        for lead in wanted:  # the newest picks stay longest
            self.cache[version, lead] = found[lead]
            self.cache.move_to_end((version, lead))
        while len(self.cache) > CACHED_LEADS:
            self.cache.popitem(last=False)
        if not wanted:
            return pl.DataFrame(schema=self.schema)
        frames = [found[lead] for lead in wanted]
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def _table_html(table: pl.DataFrame, *, total: int, max_chars: int = 160) -> str:
    """An HTML table of ``table`` (values escaped and shortened), with a line saying how many."""
    if table.is_empty():
        return "<div class='lsq-table-note'>No activities match the pickers.</div>"
    shown = table.height
    note = f"{total:,} activities" + (f" (newest {shown:,} shown)" if shown < total else "")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = []
    for row in table.iter_rows():
        cells = []
        for value in row:
            if value is None:
                text = ""
            elif isinstance(value, dt.datetime):
                text = value.strftime("%Y-%m-%d %H:%M:%S")
            else:
                text = str(value)
            short = text if len(text) <= max_chars else text[: max_chars - 1] + "…"
            cells.append(f"<td title='{html.escape(text[:1000])}'>{html.escape(short)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<div class='lsq-table-note'>{note}</div>"
        "<div style='max-height:320px;overflow:auto'>"
        "<table class='lsq-activity-table' "
        "style='font-size:12px;border-collapse:collapse;white-space:nowrap'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _lead_names(index: pl.DataFrame, leads: Sequence[str]) -> dict[str, str]:
    """Lead id -> "name · 1a2b3c4d" (or the e-mail) for the leads the data names."""
    return {
        lead: f"{name or email} · {lead[:8]}"
        for lead, name, email in index.filter(pl.col("lead_id").is_in(list(leads)))
        .select("lead_id", "name", "email")
        .iter_rows()
        if name or email
    }


_HIDDEN: dict[str, Any] = {
    "x": [],
    "y": [],
    "customdata": None,
    "visible": False,
    "showlegend": False,
}


def _same(new: object, old: object) -> bool:
    """Whether ``new`` is what was sent before (data arrays are always sent again)."""
    if isinstance(new, np.ndarray) or isinstance(old, np.ndarray):
        return False
    try:
        return bool(new == old)
    except (TypeError, ValueError):  # a dict holding arrays
        return False


def _changes(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """What turns ``old`` (the properties sent last) into ``new``: the values that changed,
    and ``None`` for each key ``old`` set and ``new`` lacks (also one level into dicts)."""
    update: dict[str, Any] = dict.fromkeys(key for key in old if key not in new)
    for key, value in new.items():
        before = old.get(key)
        if _same(value, before):
            continue
        if isinstance(value, dict) and isinstance(before, dict) and key != "meta":
            value = {**dict.fromkeys(before.keys() - value.keys()), **value}  # meta is a value
        update[key] = value
    return update


def _apply(target: Any, update: dict[str, Any]) -> None:
    """Write ``update`` (from :func:`_changes`) into a trace or layout of a FigureWidget.

    ``update`` leaves arrays of objects (``annotations``, ``shapes``) as they are when given
    None or ``[]``, so what is cleared is assigned instead.
    """
    cleared = {k for k, v in update.items() if v is None or (isinstance(v, list | tuple) and not v)}
    target.update({k: v for k, v in update.items() if k not in cleared})
    for key in cleared:
        target[key] = update[key]


class _LiveFigure:
    """A ``go.FigureWidget`` that shows figure after figure in place, one batch per redraw.

    Trace ``i`` of each figure (a ``go.Figure`` or a plain figure dict) is written into the
    widget's trace ``i``; more are added when needed, the rest are hidden and emptied. Only
    what changed since the last figure is sent, and what that one set and this one does not is
    cleared, so the widget shows exactly the new figure.
    """

    def __init__(self, css_class: str) -> None:
        self.widget = go.FigureWidget()
        self.widget.add_class(css_class)
        self._traces: list[dict[str, Any]] = []  # the properties each trace was sent last
        self._layout: dict[str, Any] = {}
        self._templated = False

    def show(self, figure: go.Figure | dict[str, Any]) -> None:
        if isinstance(figure, go.Figure):
            data = [trace.to_plotly_json() for trace in figure.data]
            layout = figure.layout.to_plotly_json()
        else:
            data, layout = figure["data"], dict(figure["layout"])
        template = layout.pop("template", None)
        widget = self.widget
        if template is not None and not self._templated:
            widget.layout.template = template  # once: a template takes long to validate
            self._templated = True
        if len(data) > len(widget.data):
            widget.add_traces(
                [{"type": t.get("type", "scatter")} for t in data[len(widget.data) :]]
            )
            self._traces += [{} for _ in range(len(widget.data) - len(self._traces))]
        with widget.batch_update():
            for index, trace in enumerate(widget.data):
                sent = self._traces[index]
                if index < len(data):
                    props = {k: v for k, v in data[index].items() if k not in ("type", "uid")}
                    props.setdefault("visible", True)
                    _apply(trace, _changes(props, sent))
                    self._traces[index] = props
                elif sent.get("visible") is not False:
                    trace.update(_HIDDEN)
                    hidden = {**sent, **_HIDDEN}
                    self._traces[index] = {k: v for k, v in hidden.items() if v is not None}
            _apply(widget.layout, _changes(layout, self._layout))
            self._layout = layout


# --------------------------------------------------------------------------- the explorer


class Explorer(W.VBox):  # type: ignore[misc]  # ipywidgets ships no types: VBox is Any
    """Lead, event-type and date pickers wired to a timeline, a score chart and a table.

    Built by :func:`explore`. The row order by lead and time is computed once, so a lead's
    activities are a gather of its own rows, whatever the size of the frame. On an
    :class:`~lsq_analysis.store.ActivityStore` nothing but the lead index, the event types,
    the date bounds and the picked leads' activities is held: a lead's activities are read
    from the store when it is first picked (``store.frame([lead])``). On each pick the
    charts module draws the selection (:func:`~lsq_analysis.charts.timeline_spec` and
    :func:`~lsq_analysis.charts.score_spec`, or above :data:`FAST_POINTS` activities
    :func:`~lsq_analysis.charts.timeline` and :func:`~lsq_analysis.charts.score_chart`) and
    the two ``go.FigureWidget`` s, built once, take the new figures in place, in one
    ``batch_update`` each.

    Attributes:
        lead_picker, event_picker, date_picker: The pickers.
        store: The ActivityStore the explorer reads, or None (it holds a frame).
        figures: ``{"timeline": FigureWidget, "score": FigureWidget}``.
        frames: ``{"activities": what is shown, "timeline": timeline_points(...),
            "score": score_points(...), "table": the table's frame}``.
        last_redraw_seconds: How long the last redraw took.

    Example:
        >>> import lsq_analysis as lsq
        >>> explorer = lsq.explore(lsq.load_sample())
        >>> explorer.event_picker.value = (0,)
        >>> set(explorer.frames["activities"]["event_code"]) <= {0}
        True
    """

    def __init__(
        self,
        df: object,
        *,
        leads: str | Sequence[str] | None = None,
        events: Iterable[int] | None = None,
        multiple: bool = True,
        client: object = None,
        tz: str = "UTC",
        max_table_rows: int = 200,
    ) -> None:
        self.store = source_store(df)
        if self.store is not None:  # read lazily: the picker scans it, fetches go into it
            self.lead_picker = LeadPicker(self.store, client=client, multiple=multiple)
        else:
            frame = source_frame(df)
            if frame is None:
                raise TypeError(
                    "explore() takes an activity frame or an ActivityStore, "
                    f"not {type(df).__name__}"
                )
            # leads typed in and fetched go into the store-like object given, if any
            store = None if isinstance(df, (pl.DataFrame, pl.LazyFrame)) else df
            self.lead_picker = LeadPicker(frame, client=client, store=store, multiple=multiple)
        self.tz = tz
        self.max_table_rows = max_table_rows
        source = self.lead_picker.frame  # the frame, or the store's scan
        if leads is None:
            leads = self.lead_picker.index["lead_id"].head(1).to_list()
        self.lead_picker.value = tuple(as_list(leads)) if multiple else as_list(leads)[0]
        self.event_picker = EventPicker(source, value=events)
        self.date_picker = DateRangePicker(source)
        self.frames: dict[str, pl.DataFrame] = {}
        self.last_redraw_seconds = 0.0
        self.status = W.HTML()
        self.table = W.HTML()
        self.status.add_class("lsq-explorer-status")
        self.table.add_class("lsq-table")
        self._live = {
            "timeline": _LiveFigure("lsq-timeline"),
            "score": _LiveFigure("lsq-score-chart"),
        }
        self.figures: dict[str, go.FigureWidget] = {k: v.widget for k, v in self._live.items()}
        self._use_frame(source)
        self.refresh()
        left = W.VBox(
            [
                W.HTML("<b>Leads</b>"),
                self.lead_picker,
                W.HTML("<b>Event types</b>"),
                self.event_picker,
            ],
            layout=W.Layout(width="36%", min_width="300px"),
        )
        right = W.VBox(
            [self.figures["timeline"], self.figures["score"]], layout=W.Layout(width="64%")
        )
        super().__init__(
            children=[self.date_picker, W.HBox([left, right]), self.status, self.table]
        )
        self.add_class("lsq-explorer")
        self._redrawing = threading.RLock()
        self.lead_picker.observe(self._on_pick, "value")
        self.lead_picker.observe(self._on_frame, "frame_version")
        self.event_picker.observe(self._on_pick, "value")
        self.date_picker.observe(self._on_pick, "value")

    def _use_frame(self, source: Frame) -> None:
        """Partition the frame (or read the store's leads as picked); fix each event type's
        colour and name across picks."""
        self._lead_rows: _LeadPartition | _StoreLeads
        if self.store is not None:
            self._lead_rows = _StoreLeads(self.store, source.collect_schema())
        else:
            frame = source if isinstance(source, pl.DataFrame) else source.collect()
            self._lead_rows = _LeadPartition(frame)
        self._colors = event_colors(source)
        self._labels = event_labels(source)

    def _on_frame(self, change: dict[str, Any]) -> None:
        # a lead typed in arrives on the picker's fetch thread: one redraw at a time
        with self._redrawing:
            source = self.lead_picker.frame  # a store's scan: scanned again after the fetch
            self._use_frame(source)
            self.date_picker.set_frame(source)
            self.event_picker.set_frame(source)  # new leads may bring new event types
            self.refresh()

    def _on_pick(self, change: dict[str, Any]) -> None:
        with self._redrawing:
            self.refresh()

    def refresh(self) -> None:
        """Redraw the charts and the table for the current picks.

        Example:
            >>> explorer.refresh()  # doctest: +SKIP
        """
        started = time.perf_counter()
        leads = as_list(self.lead_picker.value)
        picked = self._lead_rows.leads(leads)
        self.event_picker.set_counts(event_type_counts(picked))
        start, last_day = self.date_picker.value
        # the picker's "to" day is included: the window ends at the next midnight
        end = None if last_day is None else last_day + dt.timedelta(days=1)
        activities = select_activities(picked, events=self.event_picker.value, start=start, end=end)
        points = timeline_points(activities, self.tz, labels=self._labels)
        scores = score_points(activities, self.tz)
        names = _lead_names(self.lead_picker.index, leads)
        row_names = names if len(leads) <= NAMED_ROWS else None
        # one lead: a row per event type (its journey reads top to bottom)
        rows = "event" if activities["lead_id"].n_unique() == 1 else "lead"
        if activities.height <= FAST_POINTS:
            title = f"Activity timeline ({activities.height:,} activities)"
            self._live["timeline"].show(
                timeline_spec(
                    points,
                    tz=self.tz,
                    colors=self._colors,
                    rows=rows,
                    title=title,
                    lead_names=row_names,
                )
            )
            self._live["score"].show(score_spec(scores, tz=self.tz, lead_names=names))
        else:
            self._live["timeline"].show(
                timeline(
                    activities, tz=self.tz, color_map=self._colors, rows=rows, lead_names=row_names
                )
            )
            self._live["score"].show(score_chart(activities, tz=self.tz, lead_names=names))
        self.frames = {"activities": activities, "timeline": points, "score": scores}
        self._show(activities, time.perf_counter() - started)

    def _show(self, activities: pl.DataFrame, seconds: float) -> None:
        table = activity_table(activities, max_rows=self.max_table_rows)
        self.frames["table"] = table
        self.table.value = _table_html(table, total=activities.height)
        self.last_redraw_seconds = seconds
        leads = len(as_list(self.lead_picker.value))
        self.status.value = (
            f"<small>{activities.height:,} activities of {leads} lead(s), "
            f"{len(self.event_picker.value)} event type(s); redrawn in {seconds * 1000:.0f} ms"
            "</small>"
        )


def explore(
    df: object,
    *,
    leads: str | Sequence[str] | None = None,
    events: Iterable[int] | None = None,
    multiple: bool = True,
    client: object = None,
    tz: str = "UTC",
) -> Explorer:
    """Explore activities: pick leads, event types and days; see a timeline, scores and fields.

    Args:
        df: The expanded activity frame, or an ActivityStore (not loaded: the explorer holds
            its lead index, event types and date bounds, and the picked leads' activities).
        leads: The lead(s) shown first; the most active lead when left out.
        events: The event codes shown first; every type when left out.
        multiple: Let the lead picker pick several leads.
        client: A client, so that typing a lead id not loaded yet fetches it (into the
            store, when ``df`` is one).
        tz: Time zone of the charts' time axes.

    Returns:
        An :class:`Explorer` widget (display it as a cell's last expression).

    Example:
        >>> import lsq_analysis as lsq
        >>> explorer = lsq.explore(lsq.load_sample())
        >>> sorted(explorer.figures)
        ['score', 'timeline']
    """
    return Explorer(df, leads=leads, events=events, multiple=multiple, client=client, tz=tz)
