"""Analysis of the expanded activity frame: pure functions, eager or lazy frame in, DataFrame out.

Every function takes the expanded frame built by :func:`lsq_analysis.activities_frame` (one row
per activity), as a DataFrame or as a LazyFrame (a Delta table's ``pl.scan_delta(...)``,
``ActivityStore.scan()``): the result is the same, and a LazyFrame is read only for the
columns and rows the answer needs (filters and column selection are pushed down; the
aggregation runs lazily and is collected once). The functions share these optional filters:

* ``leads``: one lead id or an iterable of them; only their activities are used.
* ``events``: one event or an iterable of events. An event is an event code (``222``, or the
  string ``"222"``) or an event name (``"WhatsApp Message"``). Names are matched against the
  display label of each code (see :func:`event_labels`) and against the ``event_name`` of
  non-log rows, so ``"WhatsApp Message"`` selects code 222 and not the audit-log rows (code
  3011) that carry the same name. ``"Audit log"`` or ``"Logs"`` select code 3011. An unknown
  name raises ``ValueError`` listing the known ones.
* ``start`` / ``end``: a ``datetime``, ``date`` or ISO string; ``created_on >= start`` and
  ``created_on < end`` (``end`` is exclusive). A value without a time zone is taken as UTC.

Segments: ``event_counts``, ``lead_summary``, ``score_over_time``, ``funnel`` and
``time_to_event`` take ``by=``, one or more columns of the frame, ``lead.<attribute>`` ones
included once :func:`lsq_analysis.with_leads` has joined the leads. Where the answer is per
lead (``lead_summary``, ``funnel``, ``time_to_event``) a lead's segment is its latest non-null
value among its selected activities, so each lead counts once; where it counts activities
(``event_counts``, ``score_over_time``) each activity counts under its own value. A null value
is a segment of its own, sorted last. A ``by`` column the frame lacks raises ``ValueError``.

Times are ``created_on`` (UTC). Rows without ``created_on`` are ignored. Within a lead,
activities are ordered by ``created_on``; ties keep the frame's order. An event type is
identified by ``event_code``, because audit-log rows (code 3011) carry the name of the
activity type they changed in ``event_name``; output columns named ``event`` hold the display
label of a code (its most common name, ``"Audit log"`` for 3011; unique per code).

:func:`time_to_event` takes its two events positionally (``time_to_event(df, "Lead Capture",
"Email Opened")``); its ``start=`` / ``end=`` keywords are the date filters, as everywhere.

The modules: ``scores`` (score_over_time, score_by_event), ``counts`` (event_counts,
lead_summary, activity_heatmap), ``sequences`` (gaps, transitions, sessions),
``funnels`` (funnel, funnel_leads, time_to_event), ``touches`` (first_touch, speed_to_lead),
``stages`` (stage_durations, stage_velocity, stuck_leads), ``cohort_conversion`` (cohorts),
``next_events`` (paths),
``owners`` (owner_activity), ``selection`` (the pickers' headless twins: lead_index,
match_leads, select_activities, ...) and ``prepare`` (the helpers they share). No function
here plots or does HTTP; :mod:`lsq_analysis.charts` draws their results.

Example:
    >>> import lsq_analysis as lsq
    >>> from lsq_analysis.analysis import lead_summary
    >>> lead_summary(lsq.load_sample()).height
    25
"""

from ..vocabulary import LOG_EVENT_CODE, LOG_EVENT_LABEL, event_labels, filter_activities
from .cohort_conversion import cohorts
from .counts import WEEKDAY_NAMES, activity_heatmap, event_counts, lead_summary
from .funnels import funnel, funnel_leads, time_to_event
from .next_events import paths
from .owners import owner_activity
from .scores import score_by_event, score_over_time
from .selection import (
    activity_table,
    date_bounds,
    event_type_counts,
    lead_index,
    match_leads,
    select_activities,
)
from .sequences import gaps, sessions, transitions
from .stages import stage_durations, stage_velocity, stuck_leads
from .touches import first_touch, speed_to_lead

__all__ = [
    "LOG_EVENT_CODE",
    "LOG_EVENT_LABEL",
    "WEEKDAY_NAMES",
    "activity_heatmap",
    "activity_table",
    "cohorts",
    "date_bounds",
    "event_counts",
    "event_labels",
    "event_type_counts",
    "filter_activities",
    "first_touch",
    "funnel",
    "funnel_leads",
    "gaps",
    "lead_index",
    "lead_summary",
    "match_leads",
    "owner_activity",
    "paths",
    "score_by_event",
    "score_over_time",
    "select_activities",
    "sessions",
    "speed_to_lead",
    "stage_durations",
    "stage_velocity",
    "stuck_leads",
    "time_to_event",
    "transitions",
]
