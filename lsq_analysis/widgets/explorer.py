"""The explorer: the pickers wired to a timeline, a score chart and a table of activities.

The timeline answers back: clicking a point lists that activity's fields under the chart
(:func:`~lsq_analysis.widgets.activity_view.activity_fields`), and dragging across it (a zoom,
or a box selection) sets the date range to the days dragged over
(:func:`~lsq_analysis.widgets.activity_view.drag_dates`), which filters everything again. The
table sorts and filters (:class:`~lsq_analysis.widgets.activity_view.FrameTable`); its
neighbouring tab shows speed to lead and stage durations of the picked leads
(:class:`~lsq_analysis.widgets.sales_tab.SalesTab`).

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
from .activity_view import FrameTable, activity_fields, drag_dates, fields_html
from .live_figure import LiveFigure
from .pickers import DateRangePicker, EventPicker, LeadPicker
from .sales_tab import SalesTab
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

_FIELDS_HINT = (
    "<small class='lsq-fields-hint'>Click a point of the timeline to list its fields; "
    "drag across the timeline to pick those days.</small>"
)


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


def _lead_names(index: pl.DataFrame, leads: Sequence[str]) -> dict[str, str]:
    """Lead id -> "name · 1a2b3c4d" (or the e-mail) for the leads the data names."""
    return {
        lead: f"{name or email} · {lead[:8]}"
        for lead, name, email in index.filter(pl.col("lead_id").is_in(list(leads)))
        .select("lead_id", "name", "email")
        .iter_rows()
        if name or email
    }


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

    The timeline acts back: a click on a point lists that activity's fields under it
    (:meth:`show_activity`); a drag across it (a zoom, or a box selection) sets the date
    range to the days dragged over (:meth:`select_range`). Under the charts, two tabs: the
    newest ``max_table_rows`` activities in a table that sorts and filters, and speed to lead
    and stage durations of the picked leads (drawn when that tab is opened).

    Attributes:
        lead_picker, event_picker, date_picker: The pickers.
        store: The ActivityStore the explorer reads, or None (it holds a frame).
        figures: ``{"timeline": FigureWidget, "score": FigureWidget}``.
        frames: ``{"activities": what is shown, "timeline": timeline_points(...),
            "score": score_points(...), "table": the table's frame}``, and ``"fields"``
            (:func:`~lsq_analysis.widgets.activity_view.activity_fields`) while a clicked
            activity is listed.
        table: The activity table (a :class:`~lsq_analysis.widgets.activity_view.FrameTable`).
        fields: The panel listing the clicked activity's fields.
        clicked: The ``activity_id`` listed there, or None.
        sales: The speed-to-lead and stages tab (:class:`~lsq_analysis.widgets.sales_tab.SalesTab`).
        tabs: The two tabs (``tabs.selected_index`` 1 shows ``sales``).
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
        self.clicked: str | None = None
        self._redrawing = threading.RLock()
        self.status = W.HTML()
        self.table = FrameTable(empty="No activities match the pickers.")
        self.fields = W.HTML(_FIELDS_HINT)
        self.sales = SalesTab(tz=tz)
        self.tabs = W.Tab(children=[self.table, self.sales])
        self.tabs.titles = ("Activities", "Speed & stages")
        self.status.add_class("lsq-explorer-status")
        self.table.add_class("lsq-table")
        self.fields.add_class("lsq-activity-fields")
        self.tabs.add_class("lsq-explorer-tabs")
        self._live = {
            "timeline": LiveFigure("lsq-timeline"),
            "score": LiveFigure("lsq-score-chart"),
        }
        self._live["timeline"].trace_hooks.append(self._wire_trace)
        self.figures: dict[str, go.FigureWidget] = {k: v.widget for k, v in self._live.items()}
        # a drag (zoom or pan) in the page reaches the kernel as plotly's relayout message;
        # only the page sends it (the kernel's own layout changes are not echoed back)
        self.figures["timeline"].observe(self._on_relayout, "_js2py_relayout")
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
            [self.figures["timeline"], self.fields, self.figures["score"]],
            layout=W.Layout(width="64%"),
        )
        super().__init__(children=[self.date_picker, W.HBox([left, right]), self.status, self.tabs])
        self.add_class("lsq-explorer")
        self.lead_picker.observe(self._on_pick, "value")
        self.lead_picker.observe(self._on_frame, "frame_version")
        self.event_picker.observe(self._on_pick, "value")
        self.date_picker.observe(self._on_pick, "value")
        self.tabs.observe(self._on_tab, "selected_index")

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

    def _on_tab(self, change: dict[str, Any]) -> None:
        if change["new"] == 1:
            with self._redrawing:
                self.sales.draw()

    # ------------------------------------------------------------ the timeline acting back

    def _wire_trace(self, trace: Any) -> None:
        trace.on_click(self._on_click)
        trace.on_selection(self._on_selection)

    def _on_click(self, trace: Any, points: Any, state: Any) -> None:
        """plotly's click callback: every trace is called, the clicked one with the point."""
        if not points.point_inds or trace.customdata is None:
            return
        row = trace.customdata[points.point_inds[0]]
        meta = self.figures["timeline"].layout.meta
        if isinstance(meta, dict) and meta.get("aggregated"):
            count = int(row[0])
            many = f"{count:,} activit{'y' if count == 1 else 'ies'}"
            self.fields.value = (
                f"<small>This marker stands for {many} of one lead and event "
                f"type in one {html.escape(str(meta.get('bucket', 'period')))}: pick fewer "
                "leads or days (drag across the timeline) to see each.</small>"
            )
            return
        with self._redrawing:
            self.show_activity(str(row[1]))

    def show_activity(self, activity_id: str) -> pl.DataFrame:
        """List an activity's fields under the timeline, as a click on its point does.

        Args:
            activity_id: The activity's id (one of those shown).

        Returns:
            Its fields (:func:`~lsq_analysis.widgets.activity_view.activity_fields`), also kept
            in ``frames["fields"]``; no rows if no activity shown has that id.

        Example:
            >>> import lsq_analysis as lsq
            >>> explorer = lsq.explore(lsq.load_sample())
            >>> first = explorer.frames["activities"]["activity_id"][0]
            >>> fields = dict(explorer.show_activity(first).iter_rows())
            >>> fields["activity_id"] == first
            True
        """
        shown = self.frames.get("activities", pl.DataFrame(schema={"activity_id": pl.Utf8}))
        fields = activity_fields(shown, activity_id, tz=self.tz)
        if fields.is_empty():
            self.clicked = None
            self.frames.pop("fields", None)
            self.fields.value = _FIELDS_HINT
            return fields
        self.clicked = activity_id
        self.frames["fields"] = fields
        value = dict(fields.iter_rows())
        lead = value.get("lead_id", "")
        name = _lead_names(self.lead_picker.index, [lead]).get(lead, lead)
        title = " · ".join(
            part for part in (value.get("event_name"), value.get("created_on"), name) if part
        )
        self.fields.value = fields_html(fields, title=title)
        return fields

    def _on_relayout(self, change: dict[str, Any]) -> None:
        message = change["new"]
        data = message.get("relayout_data") if isinstance(message, dict) else None
        if not isinstance(data, dict):
            return
        x_range = data.get("xaxis.range")
        if x_range is None:
            x_range = [data.get("xaxis.range[0]"), data.get("xaxis.range[1]")]
        if not isinstance(x_range, list | tuple) or len(x_range) != 2 or None in x_range:
            return  # not a change of the time axis (a zoom of the rows, an autorange, ...)
        self._select_dragged(x_range)

    def _on_selection(self, trace: Any, points: Any, selector: Any) -> None:
        x_range = getattr(selector, "xrange", None)  # a box selection (not a lasso)
        if x_range is not None and len(x_range) == 2:
            self._select_dragged(x_range)

    def _select_dragged(self, x_range: Sequence[object]) -> None:
        try:
            self.select_range(x_range)
        except ValueError:  # not times (an axis of another type): the dates stay
            return

    def select_range(self, x_range: Sequence[object]) -> tuple[dt.date, dt.date]:
        """Set the date range to the days of a stretch of the timeline, as a drag across it does.

        The timeline is then drawn for those days, its axis fitted to them again.

        Args:
            x_range: The two ends, as the timeline's x axis gives them (see
                :func:`~lsq_analysis.widgets.activity_view.drag_dates`): wall-clock times in
                the explorer's ``tz``.

        Returns:
            The ``(first, last)`` days now picked.

        Raises:
            ValueError: If ``x_range`` is not two times.

        Example:
            >>> import lsq_analysis as lsq
            >>> explorer = lsq.explore(lsq.load_sample())
            >>> explorer.select_range(("2025-03-02 10:00", "2025-03-04 18:00"))
            (datetime.date(2025, 3, 2), datetime.date(2025, 3, 4))
            >>> explorer.date_picker.value == _
            True
        """
        days = drag_dates(x_range, self.tz)
        with self._redrawing:
            self.date_picker.value = days  # redraws (if the days changed)
            widget = self.figures["timeline"]
            with widget.batch_update():  # fit the axis to what is now drawn
                widget.layout.xaxis.range = None
                widget.layout.xaxis.autorange = True
                widget.layout.selections = None
                for trace in widget.data:
                    trace.selectedpoints = None
        return days

    # ------------------------------------------------------------ drawing

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
        if self.clicked is not None:  # still listed while it is shown
            self.show_activity(self.clicked)
        self.sales.set_activities(picked, names=names, draw=self.tabs.selected_index == 1)
        self._show(activities, time.perf_counter() - started)

    def _show(self, activities: pl.DataFrame, seconds: float) -> None:
        table = activity_table(activities, max_rows=self.max_table_rows)
        self.frames["table"] = table
        total = activities.height
        shown = table.height
        note = f"{total:,} activities" + (f" (newest {shown:,} shown)" if shown < total else "")
        self.table.show(table, note=None if table.is_empty() else note, tz=self.tz)
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
