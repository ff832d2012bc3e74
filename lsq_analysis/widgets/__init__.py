"""Interactive pickers and the explorer, for JupyterLab.

Each widget is a thin layer over a headless twin, a plain function returning the data behind
it, so its logic is tested without a browser (STYLE.md point 5). The twins live with the
analyses and the charts, and are re-exported here:

| widget | headless twin |
| --- | --- |
| :class:`LeadPicker` | :func:`lead_index`, :func:`match_leads`; for the account's leads (given a
  client, searched in the background by :class:`AccountSearch`) :func:`account_candidates`,
  :func:`account_options` |
| :class:`EventPicker` | :func:`event_type_counts` |
| :class:`DateRangePicker` | :func:`date_bounds` |
| :class:`Explorer` (:func:`explore`) | :func:`select_activities`, :func:`activity_table`,
  :func:`timeline_points`, :func:`score_points`; its ``.frames`` and ``.figures`` hold what
  it shows; a clicked point's fields :func:`activity_fields`, a drag's dates
  :func:`drag_dates` |
| :class:`SalesTab` | :func:`lsq_analysis.first_touch`, :func:`lsq_analysis.stage_durations`,
  :func:`lsq_analysis.speed_to_lead_chart`, :func:`lsq_analysis.stage_velocity_chart` |

The modules: ``pickers`` (the three pickers), ``account_search`` (the lead picker's debounced
search of the account), ``sources`` (what a widget is opened on), ``activity_view`` (the
clicked activity's fields and the sortable, filterable activity table, an ``itables``
widget), ``sales_tab`` (speed to lead and stages of the picked leads), ``live_figure`` (a
figure widget updated in place) and ``explorer``. Every widget carries a CSS class of its own
(``lsq-lead-picker``, ``lsq-event-picker``, ``lsq-date-range``, ``lsq-explorer``,
``lsq-timeline``, ``lsq-score-chart``, ``lsq-table``, ``lsq-activity-fields``,
``lsq-explorer-tabs``).

Example:
    >>> import lsq_analysis as lsq
    >>> explorer = lsq.explore(lsq.load_sample())  # doctest: +SKIP
    >>> explorer  # in a notebook cell: pickers, timeline, score chart, table  # doctest: +SKIP
"""

from ..analysis.selection import (
    activity_table,
    date_bounds,
    event_type_counts,
    lead_index,
    match_leads,
    select_activities,
)
from ..charts import score_points, timeline_points
from .account_search import AccountSearch, account_candidates, account_options
from .activity_view import activity_fields, drag_dates
from .explorer import Explorer, explore
from .pickers import DateRangePicker, EventPicker, LeadPicker
from .sales_tab import SalesTab

__all__ = [
    "AccountSearch",
    "DateRangePicker",
    "EventPicker",
    "Explorer",
    "LeadPicker",
    "SalesTab",
    "account_candidates",
    "account_options",
    "activity_fields",
    "activity_table",
    "date_bounds",
    "drag_dates",
    "event_type_counts",
    "explore",
    "lead_index",
    "match_leads",
    "score_points",
    "select_activities",
    "timeline_points",
]
