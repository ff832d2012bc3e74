"""lsq-analysis: LeadSquared lead activities as polars frames, plotly charts and widgets.

Example:
    >>> import lsq_analysis as lsq
    >>> df = lsq.load_sample()
    >>> lsq.timeline(df, leads=df["lead_id"][0])

The names below are imported on first use, so ``import lsq_analysis.frames`` (or a script
that only fetches) does not pay for plotly and ipywidgets.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "ConfigurationError": "errors",
    "FetchError": "errors",
    "LeadSquaredError": "errors",
    "NotFoundError": "errors",
    "RateLimitError": "errors",
    "ResponseFormatError": "errors",
    "ServerError": "errors",
    "StoreError": "errors",
    "LeadSquaredClient": "api.client",
    "validate_lead_id": "api.client",
    "FakeLeadSquared": "api.fake.server",
    "fetch_activities": "fetch",
    "fetch_events": "events",
    "ActivityStore": "store",
    "activities_frame": "frames",
    "activity_types_frame": "frames",
    "change_log": "frames",
    "drop_duplicate_activities": "frames",
    "event_view": "frames",
    "fields_long": "frames",
    "leads_frame": "frames",
    "users_frame": "frames",
    "with_leads": "frames",
    "load_sample": "samples",
    "load_sample_leads": "samples",
    "load_sample_users": "samples",
    "sample_activity_types": "samples",
    "sample_responses": "samples",
    "synthetic_activities": "samples",
    "activity_heatmap": "analysis",
    "event_counts": "analysis",
    "event_labels": "analysis",
    "funnel": "analysis",
    "gaps": "analysis",
    "lead_summary": "analysis",
    "score_by_event": "analysis",
    "score_over_time": "analysis",
    "sessions": "analysis",
    "time_to_event": "analysis",
    "transitions": "analysis",
    "activity_table": "analysis",
    "date_bounds": "analysis",
    "event_type_counts": "analysis",
    "match_leads": "analysis",
    "find_leads": "leads",
    "lead_index": "analysis",
    "select_activities": "analysis",
    "filter_activities": "vocabulary",
    "cohorts": "analysis",
    "funnel_leads": "analysis",
    "owner_activity": "analysis",
    "paths": "analysis",
    "stage_durations": "analysis",
    "stage_velocity": "analysis",
    "stuck_leads": "analysis",
    "first_touch": "analysis",
    "speed_to_lead": "analysis",
    "cohort_chart": "charts",
    "time_to_event_chart": "charts",
    "owner_activity_chart": "charts",
    "paths_chart": "charts",
    "use_notebook_renderer": "charts",
    "speed_to_lead_chart": "charts",
    "stage_velocity_chart": "charts",
    "activity_heatmap_chart": "charts",
    "event_colors": "charts",
    "event_mix": "charts",
    "funnel_chart": "charts",
    "score_chart": "charts",
    "timeline": "charts",
    "transition_chart": "charts",
    "DateRangePicker": "widgets",
    "EventPicker": "widgets",
    "Explorer": "widgets",
    "LeadPicker": "widgets",
    "explore": "widgets",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time see __getattr__
    from .analysis import (
        activity_heatmap,
        cohorts,
        event_counts,
        event_labels,
        first_touch,
        funnel,
        funnel_leads,
        gaps,
        lead_summary,
        owner_activity,
        paths,
        score_by_event,
        score_over_time,
        sessions,
        speed_to_lead,
        stage_durations,
        stage_velocity,
        stuck_leads,
        time_to_event,
        transitions,
    )
    from .analysis.selection import (
        activity_table,
        date_bounds,
        event_type_counts,
        lead_index,
        match_leads,
        select_activities,
    )
    from .api.client import (
        LeadSquaredClient,
        validate_lead_id,
    )
    from .api.fake.server import (
        FakeLeadSquared,
    )
    from .charts import (
        activity_heatmap_chart,
        cohort_chart,
        event_colors,
        event_mix,
        funnel_chart,
        owner_activity_chart,
        paths_chart,
        score_chart,
        speed_to_lead_chart,
        stage_velocity_chart,
        time_to_event_chart,
        timeline,
        transition_chart,
        use_notebook_renderer,
    )
    from .errors import (
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        FetchError,
        LeadSquaredError,
        NotFoundError,
        RateLimitError,
        ResponseFormatError,
        ServerError,
        StoreError,
    )
    from .fetch import (
        fetch_activities,
    )
    from .frames import (
        activities_frame,
        activity_types_frame,
        change_log,
        drop_duplicate_activities,
        event_view,
        fields_long,
        leads_frame,
        users_frame,
        with_leads,
    )
    from .leads import find_leads
    from .samples import (
        load_sample,
        load_sample_leads,
        load_sample_users,
        sample_activity_types,
        sample_responses,
        synthetic_activities,
    )
    from .store import (
        ActivityStore,
    )
    from .vocabulary import filter_activities
    from .widgets import (
        DateRangePicker,
        EventPicker,
        Explorer,
        LeadPicker,
        explore,
    )

try:
    __version__ = version("lsq-analysis")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lsq_analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "ActivityStore",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "DateRangePicker",
    "EventPicker",
    "Explorer",
    "FakeLeadSquared",
    "FetchError",
    "LeadPicker",
    "LeadSquaredClient",
    "LeadSquaredError",
    "NotFoundError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "StoreError",
    "__version__",
    "activities_frame",
    "activity_heatmap",
    "activity_heatmap_chart",
    "activity_table",
    "activity_types_frame",
    "change_log",
    "cohort_chart",
    "cohorts",
    "date_bounds",
    "drop_duplicate_activities",
    "event_colors",
    "event_counts",
    "event_labels",
    "event_mix",
    "event_type_counts",
    "event_view",
    "explore",
    "fetch_activities",
    "fetch_events",
    "fields_long",
    "filter_activities",
    "find_leads",
    "first_touch",
    "funnel",
    "funnel_chart",
    "funnel_leads",
    "gaps",
    "lead_index",
    "lead_summary",
    "leads_frame",
    "load_sample",
    "load_sample_leads",
    "load_sample_users",
    "match_leads",
    "owner_activity",
    "owner_activity_chart",
    "paths",
    "paths_chart",
    "sample_activity_types",
    "sample_responses",
    "score_by_event",
    "score_chart",
    "score_over_time",
    "select_activities",
    "sessions",
    "speed_to_lead",
    "speed_to_lead_chart",
    "stage_durations",
    "stage_velocity",
    "stage_velocity_chart",
    "stuck_leads",
    "synthetic_activities",
    "time_to_event",
    "time_to_event_chart",
    "timeline",
    "transition_chart",
    "transitions",
    "use_notebook_renderer",
    "users_frame",
    "validate_lead_id",
    "with_leads",
]
