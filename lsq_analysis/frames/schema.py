"""The core columns of the expanded frame and the API keys behind them: :data:`CORE_SCHEMA`
(names and types, in order), the API key of each core column, which keys hold integers,
decimals or booleans, and the key that carries a mapping's lead id through the readers."""

from __future__ import annotations

import polars as pl

UTC_US = pl.Datetime("us", "UTC")

#: The core columns, in order, with their types.
CORE_SCHEMA: dict[str, pl.DataType] = {
    "lead_id": pl.String(),
    "activity_id": pl.String(),
    "event_code": pl.Int32(),
    "event_name": pl.String(),
    "activity_type": pl.Int32(),
    "type": pl.String(),
    "activity_score": pl.Int32(),
    "created_on": UTC_US,
    "modified_on": UTC_US,
    "is_email_type": pl.Boolean(),
    "email_type": pl.String(),
    "session_id": pl.String(),
    "track_location": pl.Int32(),
    "latitude": pl.Float64(),
    "longitude": pl.Float64(),
    "address": pl.String(),
    "city": pl.String(),
    "state": pl.String(),
    "country": pl.String(),
}

# API key -> core column
CORE_KEYS: dict[str, str] = {
    "RelatedProspectId": "lead_id",
    "Id": "activity_id",
    "EventCode": "event_code",
    "EventName": "event_name",
    "ActivityType": "activity_type",
    "Type": "type",
    "ActivityScore": "activity_score",
    "CreatedOn": "created_on",
    "ModifiedOn": "modified_on",
    "IsEmailType": "is_email_type",
    "EmailType": "email_type",
    "SessionId": "session_id",
    "TrackLocation": "track_location",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "Address": "address",
    "City": "city",
    "State": "state",
    "Country": "country",
}
INT_KEYS = frozenset({"EventCode", "ActivityType", "ActivityScore", "TrackLocation"})
FLOAT_KEYS = frozenset({"Latitude", "Longitude"})
BOOL_KEYS = frozenset({"IsEmailType"})
LEAD_KEY = "__lsq_lead__"  # carries a mapping's lead id through the parser
