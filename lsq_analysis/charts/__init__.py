"""Plotly figures of lead activities, in the plotly-express manner.

Every function takes the expanded activity frame plus options and returns a
``plotly.graph_objects.Figure``; none calls ``.show()``. Polars frames go to plotly as they
are (no pandas); the timeline and the score chart build their traces from polars columns
themselves. The numbers behind each figure come from :mod:`lsq_analysis.analysis`.

The modules: ``style`` (palette, hover text and templates, times, heights, notes),
``timelines`` (the timeline and its points), ``scores`` (the score chart and its points),
``mix`` (event_mix, activity_heatmap_chart), ``flows`` (funnel_chart, time_to_event_chart,
transition_chart), ``sales`` (speed_to_lead_chart, stage_velocity_chart), ``cohorts``
(cohort_chart), ``paths`` (paths_chart), ``owners`` (owner_activity_chart) and ``rendering``
(use_notebook_renderer: figures that survive a notebook's HTML export, offline). The
charts own every figure: the explorer (:mod:`lsq_analysis.widgets`) shows
:func:`timeline_spec` / :func:`score_spec` (plain figure dicts of :func:`timeline_points` /
:func:`score_points`) or the figures themselves, and computes none of it.

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
  so. The other figures are aggregates by nature. A figure's JSON stays under 10 MB
  (``benchmarks/bench_charts.py`` measures it on a million activities).
* ``title``: replaces the default title.
* ``by``: segment column(s) of the frame (``"lead.source"`` once :func:`lsq_analysis.with_leads`
  has joined the leads) on :func:`funnel_chart` (a funnel trace per segment),
  :func:`score_chart` (a line per segment) and :func:`event_mix` (a facet per segment). A
  segment keeps its colour in every figure of the frame (:func:`segment_colors`, the null
  segment grey and named ``"(no value)"``).

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
  (``scatter`` lines, ``scattergl`` above ``max_points``), ``trace.name`` the lead id (or its
  ``lead_names`` entry), ``trace.meta == {"lead_id": id}``. ``kind="by_event"``: a single
  ``bar`` trace. With ``by``: one trace per segment, ``trace.name`` its label,
  ``trace.meta == {"segment": {column: value}}``.
* :func:`event_mix`: one ``bar`` trace per event type, ordered by code, with the same
  ``meta`` (with ``by``: per facet).
* :func:`activity_heatmap_chart`: one ``heatmap`` trace; :func:`funnel_chart`: one ``funnel``
  trace (with ``by``: one per segment, named and ``meta`` as the score chart's);
  :func:`transition_chart`: one ``sankey`` trace.

Static images: ``fig.write_image("chart.png")`` (or ``.svg``, ``.pdf``; ``width=``,
``height=``, ``scale=``) uses kaleido, which drives a Chromium: it finds ``/usr/bin/chromium``
by itself; ``BROWSER_PATH=/usr/bin/chromium`` names it explicitly. Never
``playwright install`` or ``kaleido.get_chrome()`` here.

Example:
    >>> import lsq_analysis as lsq
    >>> df = lsq.load_sample()
    >>> fig = lsq.timeline(df, leads=df["lead_id"][0], tz="Asia/Kolkata")
    >>> fig.layout.yaxis.title.text
    'Lead'
"""

from .cohorts import cohort_chart
from .flows import funnel_chart, time_to_event_chart, transition_chart
from .mix import activity_heatmap_chart, event_mix
from .owners import owner_activity_chart
from .paths import paths_chart
from .rendering import use_notebook_renderer
from .sales import speed_to_lead_chart, stage_velocity_chart
from .scores import score_chart, score_points, score_spec
from .style import MAX_POINTS, PALETTE, event_colors, segment_colors
from .timelines import timeline, timeline_points, timeline_spec

__all__ = [
    "MAX_POINTS",
    "PALETTE",
    "activity_heatmap_chart",
    "cohort_chart",
    "event_colors",
    "event_mix",
    "funnel_chart",
    "owner_activity_chart",
    "paths_chart",
    "score_chart",
    "score_points",
    "score_spec",
    "segment_colors",
    "speed_to_lead_chart",
    "stage_velocity_chart",
    "time_to_event_chart",
    "timeline",
    "timeline_points",
    "timeline_spec",
    "transition_chart",
    "use_notebook_renderer",
]
