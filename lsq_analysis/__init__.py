"""lsq-analysis: LeadSquared lead activities as polars frames, plotly charts and widgets.

Example:
    >>> import lsq_analysis as lsq
    >>> df = lsq.load_sample()
    >>> lsq.timeline(df, leads=df["lead_id"][0])
"""

from importlib.metadata import PackageNotFoundError, version

from .analysis import (
    activity_heatmap_data,
    event_counts,
    event_labels,
    funnel,
    gaps,
    lead_summary,
    score_by_event,
    score_over_time,
    sessions,
    time_to_event,
    transitions,
)
from .charts import (
    activity_heatmap,
    event_colors,
    event_mix,
    funnel_chart,
    score_chart,
    timeline,
    transition_chart,
)
from .client import LeadSquaredClient, validate_lead_id
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
from .fake_server import FakeLeadSquared
from .fetch import fetch_activities
from .frames import (
    activities_frame,
    activity_types_frame,
    change_log,
    drop_duplicate_activities,
    event_view,
    fields_long,
)
from .samples import load_sample, sample_activity_types, sample_responses, synthetic_activities
from .store import ActivityStore
from .widgets import DateRangePicker, EventPicker, LeadPicker, explore

try:
    __version__ = version("lsq-analysis")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "ActivityStore",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "DateRangePicker",
    "EventPicker",
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
    "activity_heatmap_data",
    "activity_types_frame",
    "change_log",
    "drop_duplicate_activities",
    "event_colors",
    "event_counts",
    "event_labels",
    "event_mix",
    "event_view",
    "explore",
    "fetch_activities",
    "fields_long",
    "funnel",
    "funnel_chart",
    "gaps",
    "lead_summary",
    "load_sample",
    "sample_activity_types",
    "sample_responses",
    "score_by_event",
    "score_chart",
    "score_over_time",
    "sessions",
    "synthetic_activities",
    "time_to_event",
    "timeline",
    "transition_chart",
    "transitions",
    "validate_lead_id",
]
