"""The explorer's "Speed to lead & stages" tab: how fast the picked leads were first touched
and how long they sat in each stage.

Its headless twins are the analyses themselves:
:func:`~lsq_analysis.analysis.touches.first_touch` and
:func:`~lsq_analysis.analysis.stages.stage_durations` (the two tables), drawn by
:func:`~lsq_analysis.charts.sales.speed_to_lead_chart` and
:func:`~lsq_analysis.charts.sales.stage_velocity_chart`. They are imported when the tab is
first drawn, so the explorer opens without them.

The tab reads the picked leads' whole history, whatever the event-type and date pickers
say: a first touch is measured from the lead's capture, and a stage lasts from the change
into it, so neither can be cut to the events or days picked.

Example:
    >>> import lsq_analysis as lsq
    >>> tab = SalesTab()
    >>> tab.set_activities(lsq.load_sample(), draw=False)
    >>> tab.stale
    True
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W
import plotly.graph_objects as go
import polars as pl

from ..charts.style import message_spec
from .activity_view import FrameTable

__all__ = ["SalesTab"]

_TABLES = {
    "first_touch": 'No picked lead has a capture event ("Lead Capture").',
    "stage_durations": "No stage changes (code 3002) among the picked leads' activities.",
}
_CHARTS = {"speed_to_lead": "Speed to lead", "stage_velocity": "Stage velocity"}


class SalesTab(W.VBox):  # type: ignore[misc]  # ipywidgets ships no types: VBox is Any
    """First touch and stage durations of the picked leads, with their two charts.

    The explorer hands it the picked leads' activities on every pick
    (:meth:`set_activities`); it draws them only while it is the tab shown (or when
    :meth:`draw` is called), and once per pick.

    Args:
        tz: Time zone the tables' times are shown in.

    Attributes:
        frames: ``{"first_touch": first_touch(...), "stage_durations": stage_durations(...)}``
            of the last draw (a part that could not be computed is left out).
        figures: ``{"speed_to_lead": FigureWidget, "stage_velocity": FigureWidget}`` of the
            last draw (each draw makes them anew).
        tables: The two :class:`~lsq_analysis.widgets.activity_view.FrameTable` s.
        status: A line saying what was drawn, or what could not be and why.
        stale: Whether the activities changed since the last draw.

    Example:
        >>> import lsq_analysis as lsq
        >>> tab = SalesTab()
        >>> tab.set_activities(lsq.load_sample())  # doctest: +SKIP
        >>> sorted(tab.frames)  # doctest: +SKIP
        ['first_touch', 'stage_durations']
    """

    def __init__(self, *, tz: str = "UTC") -> None:
        self.tz = tz
        self.activities: pl.DataFrame | None = None
        self.names: Mapping[str, str] = {}
        self.stale = True
        self.frames: dict[str, pl.DataFrame] = {}
        self.status = W.HTML()
        self.tables = {
            name: FrameTable(empty=empty, page_length=10) for name, empty in _TABLES.items()
        }
        # each draw makes its charts anew (they differ in axes and traces from lead to lead,
        # and are drawn only when the tab is opened): a box holds each
        self.figures: dict[str, go.FigureWidget] = {}
        self._boxes = {name: W.Box(layout=W.Layout(width="100%")) for name in _CHARTS}
        self.status.add_class("lsq-sales-status")
        self.tables["first_touch"].add_class("lsq-first-touch")
        self.tables["stage_durations"].add_class("lsq-stage-durations")
        super().__init__(
            children=[
                self.status,
                W.HTML("<b>First touch</b> (minutes from capture to the first touch by a person)"),
                self.tables["first_touch"],
                self._boxes["speed_to_lead"],
                W.HTML("<b>Stage durations</b> (one row per lead per stage visit)"),
                self.tables["stage_durations"],
                self._boxes["stage_velocity"],
            ]
        )
        self.add_class("lsq-sales-tab")

    def set_activities(
        self, df: pl.DataFrame, *, names: Mapping[str, str] | None = None, draw: bool = True
    ) -> None:
        """Take the picked leads' activities; draw them now if ``draw`` (the tab is shown).

        Args:
            df: The picked leads' activities (all of them: see the module's note).
            names: Lead id -> the name shown beside it in the tables.
            draw: Draw now; otherwise at the next :meth:`draw`.

        Example:
            >>> tab.set_activities(picked, draw=False)  # doctest: +SKIP
        """
        self.activities = df
        self.names = dict(names or {})
        self.stale = True
        if draw:
            self.draw()

    def _named(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with a ``lead`` column (the lead's name) after ``lead_id``."""
        if "lead_id" not in frame.columns or not self.names:
            return frame
        lead = pl.col("lead_id").replace_strict(self.names, default=None, return_dtype=pl.Utf8)
        columns = frame.columns
        at = columns.index("lead_id") + 1
        return frame.with_columns(lead.alias("lead")).select(
            *columns[:at], "lead", *[c for c in columns[at:] if c != "lead"]
        )

    def _put(self, name: str, figure: go.Figure | dict[str, Any]) -> None:
        """Show ``figure`` as the chart ``name``, closing the widget it replaces."""
        widget = go.FigureWidget(figure)
        widget.add_class(f"lsq-{name.replace('_', '-')}-chart")
        old = self.figures.get(name)
        self.figures[name] = widget
        self._boxes[name].children = (widget,)
        if old is not None:
            old.close()

    def draw(self) -> None:
        """Compute the tables and charts of the activities given, unless already drawn.

        Example:
            >>> tab.draw()  # doctest: +SKIP
        """
        if not self.stale or self.activities is None:
            return
        try:
            from ..analysis.stages import stage_durations
            from ..analysis.touches import first_touch
            from ..charts.sales import speed_to_lead_chart, stage_velocity_chart
        except ImportError as error:
            self.status.value = (
                f"<small>Speed to lead and stages need {html.escape(str(error.name))}, "
                "which this installation lacks.</small>"
            )
            return
        df = self.activities
        problems: list[str] = []
        self.frames = {}
        analyses: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {
            "first_touch": first_touch,
            "stage_durations": stage_durations,
        }
        for name, analysis in analyses.items():
            try:
                self.frames[name] = analysis(df)
            except ValueError as error:
                problems.append(f"{name}: {error}")
                self.tables[name].show(pl.DataFrame(), note=str(error))
                continue
            self.tables[name].show(self._named(self.frames[name]), tz=self.tz)
        charts: dict[str, Callable[[pl.DataFrame], go.Figure]] = {
            "speed_to_lead": speed_to_lead_chart,
            "stage_velocity": stage_velocity_chart,
        }
        for name, chart in charts.items():
            try:
                figure: go.Figure | dict[str, Any] = chart(df)
            except ValueError as error:
                problems.append(f"{_CHARTS[name]}: {error}")
                figure = message_spec(_CHARTS[name], str(error))
            self._put(name, figure)
        self.stale = False
        leads = df["lead_id"].n_unique() if "lead_id" in df.columns else 0
        text = f"{leads} lead(s), {df.height:,} activities (every event type and day)"
        if problems:
            text += "; not drawn: " + "; ".join(problems)
        self.status.value = f"<small>{html.escape(text)}</small>"
