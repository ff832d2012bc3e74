"""Raw LeadSquared activities -> one typed polars row per activity, every field expanded:
``shapes`` (what a caller may pass, into chunks of JSON lines) -> ``readers`` (a chunk into
Arrow columns) -> ``expand`` and ``times`` (the expanded frame) -> ``views`` (event views, long
form, the change log); ``schema`` and ``text`` hold the core columns and shared helpers."""

from .expand import (
    activities_frame,
    activity_types_frame,
    column_order,
    drop_duplicate_activities,
)
from .leads import LEAD_COLUMNS, USER_COLUMNS, leads_frame, users_frame, with_leads
from .schema import CORE_SCHEMA
from .views import change_log, event_view, fields_long

__all__ = [
    "CORE_SCHEMA",
    "LEAD_COLUMNS",
    "USER_COLUMNS",
    "activities_frame",
    "activity_types_frame",
    "change_log",
    "column_order",
    "drop_duplicate_activities",
    "event_view",
    "fields_long",
    "leads_frame",
    "users_frame",
    "with_leads",
]
