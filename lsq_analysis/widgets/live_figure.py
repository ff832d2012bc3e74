"""A ``go.FigureWidget`` that shows figure after figure in place, sending only what changed.

The explorer's timeline and score chart are each one :class:`LiveFigure`: built once, then
given each new figure (a ``go.Figure`` or a plain figure dict such as
:func:`~lsq_analysis.charts.timeline_spec` returns).

Example:
    >>> import plotly.graph_objects as go
    >>> live = LiveFigure("my-chart")
    >>> live.show(go.Figure(go.Bar(x=["a"], y=[1])))
    >>> live.widget.data[0].type
    'bar'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go

__all__ = ["LiveFigure"]

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


class LiveFigure:
    """A ``go.FigureWidget`` that shows figure after figure in place, one batch per redraw.

    Trace ``i`` of each figure (a ``go.Figure`` or a plain figure dict) is written into the
    widget's trace ``i``; more are added when needed, the rest are hidden and emptied. Only
    what changed since the last figure is sent, and what that one set and this one does not is
    cleared, so the widget shows exactly the new figure. Trace types stay those of the
    first figure (a ``scattergl`` figure's properties fit ``scatter`` traces): it is made
    for figures of one structure, such as the timeline's.

    Args:
        css_class: A CSS class put on the widget (tests and pages find it by it).

    Attributes:
        widget: The ``go.FigureWidget``.
        trace_hooks: Called with each trace added to the widget (e.g. to wire its clicks).

    Example:
        >>> live = LiveFigure("lsq-example")
        >>> live.show({"data": [{"type": "scatter", "x": [1], "y": [2]}], "layout": {}})
        >>> list(live.widget.data[0].x)
        [1]
    """

    def __init__(self, css_class: str) -> None:
        self.widget = go.FigureWidget()
        self.widget.add_class(css_class)
        self._traces: list[dict[str, Any]] = []  # the properties each trace was sent last
        self._layout: dict[str, Any] = {}
        self._templated = False
        self.trace_hooks: list[Callable[[Any], None]] = []

    def _add_traces(self, data: list[dict[str, Any]]) -> None:
        widget = self.widget
        had = len(widget.data)
        widget.add_traces([{"type": t.get("type", "scatter")} for t in data[had:]])
        self._traces += [{} for _ in range(len(widget.data) - len(self._traces))]
        for trace in widget.data[had:]:
            for hook in self.trace_hooks:
                hook(trace)

    def show(self, figure: go.Figure | dict[str, Any]) -> None:
        """Make the widget show ``figure`` (a ``go.Figure`` or a plain figure dict).

        Example:
            >>> live.show(go.Figure())  # doctest: +SKIP
        """
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
            self._add_traces(data)
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
