"""The activity-type catalog of the invented account: each event type with its score,
direction and weight, its custom ``mx_Custom_N`` fields and how their values are invented, and
the ``ActivityTypes.Get`` reply that describes them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .people import (
    ESCAPED_SURROGATES,
    INTAKES,
    MESSAGES,
    NOTE_LINES,
    USERS,
    Lead,
    iso_time,
    long_note,
    us_time,
)

# --------------------------------------------------------------------------- event types


@dataclass(frozen=True)
class CustomField:
    """One ``mx_Custom_N`` of a custom activity type, as the catalog describes it."""

    schema_name: str
    display_name: str
    data_type: str
    make: Callable[[random.Random, Lead, datetime], str]


@dataclass(frozen=True)
class EventType:
    """One activity type: how the catalog lists it and how often it happens."""

    code: int
    name: str
    activity_type: int
    type: str
    score: int
    direction: str
    weight: float
    custom_fields: tuple[CustomField, ...] = ()


def _f(
    schema: str, display: str, dtype: str, make: Callable[[random.Random, Lead, datetime], str]
) -> CustomField:
    return CustomField(schema, display, dtype, make)


def _custom_object(rng: random.Random, lead: Lead, t: datetime) -> str:
    files = ",".join(f"{rng.getrandbits(32):08x}.png" for _ in range(rng.randint(1, 3)))
    obj = {
        "mx_CustomObject_1": files,
        "ModifiedByName": lead.owner[1] + " ",
        "ModifiedOn": iso_time(t),
        "Status": rng.choice(("", "Pending", "Verified")),
    }
    return json.dumps(obj, separators=(",", ":"))


EVENT_TYPES: tuple[EventType, ...] = (
    EventType(0, "Email Opened", 0, "Inbound", 1, "Inbound", 0.17),
    EventType(1, "Email Link Clicked", 0, "Inbound", 2, "Inbound", 0.05),
    EventType(2, "Page Visited on Website", 1, "Inbound", 1, "Inbound", 0.13),
    EventType(23, "Lead Capture", 1, "Inbound", 5, "Inbound", 0.005),
    EventType(2001, "EmailSent", 3, "Outbound", 0, "Outbound", 0.14),
    EventType(3001, "LeadAssigned", 26, "Information", 0, "Information", 0.025),
    EventType(3002, "StageChange", 26, "Information", 0, "Information", 0.04),
    EventType(3011, "Logs", 101, "Logs", 0, "Information", 0.0),
    EventType(
        201,
        "Course Interested",
        2,
        "Inbound",
        5,
        "Inbound",
        0.06,
        (
            _f("mx_Custom_1", "Course", "String", lambda r, lead, t: lead.course),
            _f("mx_Custom_2", "Intake", "String", lambda r, lead, t: r.choice(INTAKES)),
            _f(
                "mx_Custom_3",
                "Fee Quoted",
                "Number",
                lambda r, lead, t: str(r.randint(2, 60) * 230),
            ),
            _f(
                "mx_Custom_4",
                "Scholarship Wanted",
                "Boolean",
                lambda r, lead, t: r.choice(("True", "False")),
            ),
        ),
    ),
    EventType(
        202,
        "08 Registration Form Filled",
        2,
        "Inbound",
        10,
        "Inbound",
        0.025,
        (
            _f("mx_Custom_1", "First Name", "String", lambda r, lead, t: lead.first),
            _f("mx_Custom_2", "Last Name", "String", lambda r, lead, t: lead.last),
            _f("mx_Custom_3", "Email", "Email", lambda r, lead, t: lead.email),
            _f("mx_Custom_4", "Mobile Number", "Phone", lambda r, lead, t: lead.phone),
            _f(
                "mx_Custom_5",
                "Date of Birth",
                "Date",
                lambda r, lead, t: (
                    f"{r.randint(1985, 2006)}-{r.randint(1, 12):02d}-"
                    f"{r.randint(1, 28):02d} 00:00:00"
                ),
            ),
            _f("mx_Custom_6", "City", "String", lambda r, lead, t: lead.place[1]),
        ),
    ),
    EventType(
        203,
        "Phone Call",
        2,
        "Outbound",
        3,
        "Outbound",
        0.08,
        (
            _f("mx_Custom_1", "Duration (s)", "Number", lambda r, lead, t: str(r.randint(0, 1800))),
            _f(
                "mx_Custom_2",
                "Outcome",
                "Dropdown",
                lambda r, lead, t: r.choice(("Connected", "No Answer", "Busy", "Call Back Later")),
            ),
            _f(
                "mx_Custom_3",
                "Call Start",
                "DateTime",
                lambda r, lead, t: iso_time(t - timedelta(seconds=r.randint(60, 2000))),
            ),
        ),
    ),
    EventType(
        204,
        "Demo Scheduled",
        2,
        "Outbound",
        8,
        "Outbound",
        0.03,
        (
            _f(
                "mx_Custom_1",
                "Demo At",
                "DateTime",
                lambda r, lead, t: us_time(
                    t + timedelta(days=r.randint(1, 9), hours=r.randint(0, 8))
                ),
            ),
            _f("mx_Custom_2", "Counsellor", "String", lambda r, lead, t: r.choice(USERS)[1]),
            _f(
                "mx_Custom_3", "Mode", "Dropdown", lambda r, lead, t: r.choice(("Online", "Campus"))
            ),
        ),
    ),
    EventType(
        205,
        "Payment Received",
        2,
        "Inbound",
        25,
        "Inbound",
        0.015,
        (
            _f(
                "mx_Custom_1",
                "Amount",
                "Decimal",
                lambda r, lead, t: f"{r.randint(50, 3000) * 5}.{r.choice(('00', '50', '99'))}",
            ),
            _f(
                "mx_Custom_2",
                "Currency",
                "String",
                lambda r, lead, t: r.choice(("INR", "USD", "AED")),
            ),
            _f("mx_Custom_3", "Paid On", "DateTime", lambda r, lead, t: iso_time(t)),
            _f(
                "mx_Custom_4",
                "Transaction Id",
                "String",
                lambda r, lead, t: f"TXN{r.randint(10**9, 10**10 - 1)}",
            ),
            _f(
                "mx_Custom_5",
                "Refundable",
                "Boolean",
                lambda r, lead, t: r.choice(("True", "False")),
            ),
        ),
    ),
    EventType(
        206,
        "Application Submitted",
        2,
        "Inbound",
        15,
        "Inbound",
        0.02,
        (
            _f("mx_Custom_1", "Program", "String", lambda r, lead, t: lead.course),
            _f(
                "mx_Custom_2",
                "Application Number",
                "Number",
                lambda r, lead, t: str(r.randint(100000, 999999)),
            ),
            _f("mx_Custom_3", "Documents", "CustomObject", _custom_object),
        ),
    ),
    EventType(
        222,
        "WhatsApp Message",
        2,
        "Inbound",
        2,
        "Inbound",
        0.08,
        (
            _f("mx_Custom_1", "Sent At", "DateTime", lambda r, lead, t: iso_time(t)),
            _f(
                "mx_Custom_2",
                "Message",
                "String",
                lambda r, lead, t: r.choice(MESSAGES) if r.random() > 0.03 else ESCAPED_SURROGATES,
            ),
            _f("mx_Custom_3", "Phone", "Phone", lambda r, lead, t: lead.phone),
        ),
    ),
    EventType(
        164,
        "Custom Object Activity",
        2,
        "Inbound",
        0,
        "Inbound",
        0.02,
        (_f("mx_Custom_1", "Uploaded Files", "CustomObject", _custom_object),),
    ),
    EventType(
        12000,
        "Webinar Attended",
        2,
        "Inbound",
        10,
        "Inbound",
        0.025,
        (
            _f(
                "mx_Custom_1",
                "Webinar",
                "String",
                lambda r, lead, t: r.choice(
                    ("Careers in Data", "Life on Campus", "Financing Your Degree")
                ),
            ),
            _f(
                "mx_Custom_2",
                "Minutes Attended",
                "Number",
                lambda r, lead, t: str(r.randint(3, 95)),
            ),
            _f("mx_Custom_3", "Attended On", "DateTime", lambda r, lead, t: us_time(t)),
            _f(
                "mx_Custom_9",
                "Feedback",
                "LargeText",
                lambda r, lead, t: long_note(r) if r.random() < 0.4 else r.choice(NOTE_LINES),
            ),
        ),
    ),
    EventType(8, "Email Unsubscribed", 0, "Inbound", -10, "Inbound", 0.004),
)
EVENT_BY_CODE = {e.code: e for e in EVENT_TYPES}


def activity_types() -> list[dict[str, Any]]:
    """The activity-type catalog (``ActivityTypes.Get`` shape) of the invented account."""
    out = []
    for e in sorted(EVENT_TYPES, key=lambda e: e.code):
        meta = [
            {"SchemaName": f.schema_name, "DisplayName": f.display_name, "DataType": f.data_type}
            for f in e.custom_fields
        ]
        if e.custom_fields:
            meta.append({"SchemaName": "Status", "DisplayName": "Status", "DataType": "Dropdown"})
            meta.append(
                {
                    "SchemaName": "ActivityEvent_Note",
                    "DisplayName": "Notes",
                    "DataType": "LargeText",
                }
            )
        props = {"FormMetaData": meta, "IsEditable": bool(e.custom_fields)}
        out.append(
            {
                "ActivityEvent": e.code,
                "ActivityEventName": e.name,
                "Score": e.score,
                "Direction": e.direction,
                "ActivityProperties": json.dumps(props, separators=(",", ":")),
            }
        )
    return out
