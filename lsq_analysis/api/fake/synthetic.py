"""Deterministic generator of realistic LeadSquared activities (private; see samples.py).

Every activity it makes has the shape of a real "Get Activities of a Lead" response row,
including the quirks of real responses (../shared/api/real-world-responses.md): audit-log rows
(EventCode 3011) sharing ``Id`` with the activity they record and carrying its name in
``EventName``, the ``0001-01-01 00:00:00`` ``ModifiedOn`` sentinel, top-level keys present on
some rows only, missing ``ActivityFields``, empty ``Data``, JSON inside strings, a Python
literal that only looks like JSON, US-format dates, HTML character references, surrogate pairs,
long multi-line notes with URLs, and ``mx_Custom_N`` meaning different things per event type.

All people, companies, ids and texts are invented.
"""

from __future__ import annotations

import json
import random
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

# --------------------------------------------------------------------------- invented people

_FIRST_NAMES_TEXT = (
    "Aarav Ananya Vihaan Diya Ishaan Meera Kabir Saanvi Rohan Tara Nikhil Leela Arjun Kavya "
    "Dev Nisha Aditya Riya Farhan Zoya Samuel Grace Mateo Lucia Oliver Amara Kenji Yuki Omar "
    "Layla Tomasz Ingrid Chidi Ngozi Pedro Sofia Elif Emre Hana Jonas"
)
_LAST_NAMES_TEXT = (
    "Raman Mehta Kapoor Iyer Banerjee Kulkarni Chandra Desai Fernandes Pillai Sethi Qureshi "
    "Okafor Lindqvist Novak Moreau Santos Takahashi Haddad Kowalski Adeyemi Larsen Costa Yilmaz"
)
FIRST_NAMES = tuple(_FIRST_NAMES_TEXT.split())
LAST_NAMES = tuple(_LAST_NAMES_TEXT.split())
EMAIL_DOMAINS = ("mailbox.test", "example.com", "example.org", "inbox.example.net")
PLACES = (
    ("12 Lake View Road", "Pune", "Maharashtra", "India"),
    ("4 Residency Lane", "Bengaluru", "Karnataka", "India"),
    ("88 Marine Drive", "Mumbai", "Maharashtra", "India"),
    ("17 Park Street", "Kolkata", "West Bengal", "India"),
    ("230 Anna Salai", "Chennai", "Tamil Nadu", "India"),
    ("9 Sector 21", "Gurugram", "Haryana", "India"),
    ("5 Harbour Street", "Dubai", "Dubai", "United Arab Emirates"),
    ("71 Orchard Way", "Singapore", "Singapore", "Singapore"),
    ("310 King Street W", "Toronto", "Ontario", "Canada"),
    ("22 Collins Street", "Melbourne", "Victoria", "Australia"),
)
# Sales users of the invented account: (user id, name). Fixed, so every seed shares them.
_user_rng = random.Random(20250101)
USERS = tuple(
    (
        "{:08x}-{:04x}-11e7-{:04x}-0a{:010x}".format(  # noqa: UP032
            _user_rng.getrandbits(32),
            _user_rng.getrandbits(16),
            0x8000 | _user_rng.getrandbits(12),
            _user_rng.getrandbits(40),
        ),
        name,
    )
    for name in (
        "Priya Raman",
        "Karan Malhotra",
        "Sneha Joshi",
        "Rahul Verma",
        "Anjali Nair",
        "Vikram Rao",
        "Deepa Menon",
        "Imran Sheikh",
    )
)
COURSES = (
    "MBA in Business Analytics",
    "MSc Data Science",
    "BBA Digital Marketing",
    "PG Diploma in Product Management",
    "BTech Computer Science",
    "Executive Certificate in Finance",
)
INTAKES = ("Jan 2025", "Jul 2025", "Sep 2025", "Jan 2026")
STAGES = ("Prospect", "Contacted", "Qualified", "Application Started", "Enrolled")
CAMPAIGNS = (
    ("Spring Open House", "b1d3a7f2-5c11-4e0b-9a3e-7d61c2a0f001"),
    ("Scholarship Deadline Reminder", "b1d3a7f2-5c11-4e0b-9a3e-7d61c2a0f002"),
    ("Webinar Invite: Careers in Data", "b1d3a7f2-5c11-4e0b-9a3e-7d61c2a0f003"),
    ("Fee Waiver \u2013 Last Week", "b1d3a7f2-5c11-4e0b-9a3e-7d61c2a0f004"),
)
PAGES = (
    ("Programs | Example University", "https://www.example.edu/programs"),
    ("MSc Data Science - Fees", "https://www.example.edu/programs/msc-data-science/fees"),
    ("Scholarships", "https://www.example.edu/scholarships?utm_source=newsletter"),
    ("Apply Now", "https://apply.example.edu/start"),
    ("Campus Life", "https://www.example.edu/campus"),
)
SOURCES = ("Google Ads", "Organic Search", "Facebook", "Referral", "Walk-in", "Webinar")
# HTML character references and non-BMP characters, as real WhatsApp texts carry them.
MESSAGES = (
    "&#x1D406;&#x1D41E;&#x1D42D; 20% off&#xA0;the application fee this week &#x1F447;",
    "Hi! Is the Sep intake still open?&#xA0;Thanks",
    "\U0001d5db\U0001d5f2\U0001d5f9\U0001d5f9\U0001d5fc, your counselling call is confirmed "
    "\U0001f44d",
    "Reminder: webinar today at 6 PM &#x1F4C5; join via https://meet.example.com/abc-defg-hij",
    "Can you share the fee structure &amp; scholarship details?",
    "",
)
# A literal escape sequence inside a decoded string (text JSON-encoded twice upstream).
ESCAPED_SURROGATES = "\\ud835\\udc06ood morning! Brochure attached."
NOTE_LINES = (
    "Discussed program structure, fees and the scholarship test.",
    "Lead asked for the brochure; sent https://www.example.edu/brochure.pdf",
    "Prefers calls after 6 PM IST. Parent will join the next call.",
    "Follow up next week about the education loan (see https://loans.example.com/partner?id=42).",
    "Shared alumni stories: https://www.example.edu/alumni/stories#data",
    "Concerned about work experience requirement; explained the waiver process.",
    "Will upload 10th/12th mark sheets and ID proof by Friday.",
)


def _guid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _iso(t: datetime) -> str:  # t.strftime("%Y-%m-%d %H:%M:%S"), twice as fast
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def _us(t: datetime) -> str:
    hour = t.hour % 12 or 12
    noon = "PM" if t.hour >= 12 else "AM"
    return f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d}:{t.second:02d} {noon}"


def _long_note(rng: random.Random) -> str:
    lines = [rng.choice(NOTE_LINES) for _ in range(rng.randint(14, 22))]
    return "\n".join(f"{i + 1}. {line}" for i, line in enumerate(lines))


# --------------------------------------------------------------------------- the lead


@dataclass
class _Lead:
    lead_id: str
    first: str
    last: str
    email: str
    phone: str
    place: tuple[str, str, str, str]
    owner: tuple[str, str]
    course: str
    stage: int = 0
    auto_id: int = 0
    loggable: list[dict[str, Any]] = field(default_factory=list)


def _make_lead(rng: random.Random) -> _Lead:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
    return _Lead(
        lead_id=_guid(rng),
        first=first,
        last=last,
        email=email,
        phone=f"+91-9{rng.randint(100000000, 999999999)}",
        place=rng.choice(PLACES),
        owner=rng.choice(USERS),
        course=rng.choice(COURSES),
        auto_id=rng.randint(10_000, 90_000),
    )


# --------------------------------------------------------------------------- event types


@dataclass(frozen=True)
class CustomField:
    """One ``mx_Custom_N`` of a custom activity type, as the catalog describes it."""

    schema_name: str
    display_name: str
    data_type: str
    make: Callable[[random.Random, _Lead, datetime], str]


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
    schema: str, display: str, dtype: str, make: Callable[[random.Random, _Lead, datetime], str]
) -> CustomField:
    return CustomField(schema, display, dtype, make)


def _custom_object(rng: random.Random, lead: _Lead, t: datetime) -> str:
    files = ",".join(f"{rng.getrandbits(32):08x}.png" for _ in range(rng.randint(1, 3)))
    obj = {
        "mx_CustomObject_1": files,
        "ModifiedByName": lead.owner[1] + " ",
        "ModifiedOn": _iso(t),
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
                lambda r, lead, t: _iso(t - timedelta(seconds=r.randint(60, 2000))),
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
                lambda r, lead, t: _us(t + timedelta(days=r.randint(1, 9), hours=r.randint(0, 8))),
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
            _f("mx_Custom_3", "Paid On", "DateTime", lambda r, lead, t: _iso(t)),
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
            _f("mx_Custom_1", "Sent At", "DateTime", lambda r, lead, t: _iso(t)),
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
            _f("mx_Custom_3", "Attended On", "DateTime", lambda r, lead, t: _us(t)),
            _f(
                "mx_Custom_9",
                "Feedback",
                "LargeText",
                lambda r, lead, t: _long_note(r) if r.random() < 0.4 else r.choice(NOTE_LINES),
            ),
        ),
    ),
    EventType(8, "Email Unsubscribed", 0, "Inbound", -10, "Inbound", 0.004),
)
EVENT_BY_CODE = {e.code: e for e in EVENT_TYPES}
_RANDOM_EVENTS = [e for e in EVENT_TYPES if e.weight > 0 and e.code != 23]
_WEIGHTS = [e.weight for e in _RANDOM_EVENTS]
_CUM_WEIGHTS = [sum(_WEIGHTS[: i + 1]) for i in range(len(_WEIGHTS))]
_TOTAL_WEIGHT = _CUM_WEIGHTS[-1]
_LAST = len(_CUM_WEIGHTS) - 1
ZERO_DATE = "0001-01-01 00:00:00"


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


# --------------------------------------------------------------------------- one activity


def _base(
    rng: random.Random, lead: _Lead, e: EventType, t: datetime, act_id: str
) -> dict[str, Any]:
    return {
        "Id": act_id,
        "EventCode": e.code,
        "EventName": e.name,
        "ActivityScore": e.score,
        "CreatedOn": _iso(t),
        "ActivityType": e.activity_type,
        "IsEmailType": e.code == 2001,
        "Type": e.type,
        "SessionId": act_id if e.activity_type == 2 else _guid(rng),
        "TrackLocation": 0,
        "Latitude": 0,
        "Longitude": 0,
        "RelatedProspectId": lead.lead_id,
    }


def _system_data(
    rng: random.Random, lead: _Lead, e: EventType, row: dict[str, Any]
) -> list[dict[str, Any]]:
    code = e.code
    if code in (0, 1, 8):
        name, cid = rng.choice(CAMPAIGNS)
        data = [
            {"Key": "EmailCampaignName", "Value": name},
            {"Key": "EmailCampaignId", "Value": cid},
        ]
        if code == 1:
            data.append({"Key": "Url", "Value": rng.choice(PAGES)[1]})
        return data if rng.random() > 0.04 else []
    if code == 2:
        title, url = rng.choice(PAGES)
        return [
            {"Key": "PageTitle", "Value": title},
            {"Key": "PageUrl", "Value": url},
            {"Key": "TimeSpent", "Value": str(rng.randint(3, 900))},
            {
                "Key": "Referrer",
                "Value": rng.choice(("", "https://www.google.com/", "https://t.co/x1")),
            },
        ]
    if code == 23:
        row.update(zip(("Address", "City", "State", "Country"), lead.place, strict=True))
        return [
            {"Key": "Source", "Value": rng.choice(SOURCES)},
            {"Key": "SourceCampaign", "Value": rng.choice(CAMPAIGNS)[0]},
            {"Key": "CreatedByName", "Value": "System"},
            {"Key": "FullName", "Value": f"{lead.first} {lead.last}"},
            {"Key": "EmailAddress", "Value": lead.email},
        ]
    if code == 2001:
        row["EmailType"] = "Email Campaign" if rng.random() < 0.7 else "One to One"
        subject = rng.choice(CAMPAIGNS)[0]
        return [
            {"Key": "FullName", "Value": f"{lead.first} {lead.last}"},
            {"Key": "EmailAddress", "Value": lead.email},
            {"Key": "Subject", "Value": f"{lead.first}, {subject}"},
            {"Key": "FromUserName", "Value": lead.owner[1]},
        ]
    if code == 3001:
        previous = lead.owner
        lead.owner = rng.choice([u for u in USERS if u != previous])
        data = [
            {"Key": "PreviousOwner", "Value": previous[1]},
            {"Key": "CurrentOwner", "Value": lead.owner[1]},
            {"Key": "CreatedBy", "Value": rng.choice(USERS)[1]},
        ]
        return data if rng.random() > 0.1 else []
    if code == 3002:
        previous_stage = STAGES[lead.stage]
        lead.stage = min(lead.stage + 1, len(STAGES) - 1)
        comment = json.dumps({"ActionType": "500", "Id": _guid(rng)}, separators=(",", ":"))
        return [
            {"Key": "PreviousStage", "Value": previous_stage},
            {"Key": "CurrentStage", "Value": STAGES[lead.stage]},
            {"Key": "Comment", "Value": comment if rng.random() < 0.8 else ""},
        ]
    return []


def _custom(
    rng: random.Random, lead: _Lead, e: EventType, t: datetime, row: dict[str, Any]
) -> None:
    creator = rng.choice(USERS)
    row["Data"] = [
        {"Key": "CreatedByName", "Value": creator[1]},
        {"Key": "EventName", "Value": e.name},
        {"Key": "NotableEventDescription", "Value": rng.choice(("", "", "Lets begin", e.name))},
        {"Key": "HasAttachments", "Value": "True" if e.code in (164, 206) else "False"},
    ]
    lead.auto_id += rng.randint(1, 40)
    modified = t + timedelta(minutes=rng.randint(0, 90))
    fields: dict[str, str] = {
        "ProspectActivityAutoId": str(lead.auto_id),
        "CreatedOn": _us(t),
        "ModifiedOn": _us(modified),
        "CreatedBy": creator[0],
        "ModifiedBy": creator[0],
        "Owner": lead.owner[0],
        "Status": rng.choice(("Active", "Active", "Won", "sent", "FAILED")),
    }
    if e.code == 203 or rng.random() < 0.1:
        fields["ActivityEvent_Note"] = (
            _long_note(rng) if rng.random() < 0.3 else rng.choice(NOTE_LINES)
        )
    for f in e.custom_fields:
        value = f.make(rng, lead, t)
        if value or rng.random() < 0.5:  # empty custom fields are sometimes left out
            fields[f.schema_name] = value
    if rng.random() < 0.05:  # a few rows carry only some fields
        fields = {k: v for k, v in fields.items() if k in ("Status", "Owner", "mx_Custom_1")}
    row["ActivityFields"] = fields
    row["ModifiedOn"] = _iso(modified)


def _log_of(rng: random.Random, lead: _Lead, parent: dict[str, Any], t: datetime) -> dict[str, Any]:
    """An audit-log row (3011) recording a change to ``parent``: same Id, parent's name."""
    e = EVENT_BY_CODE[3011]
    row = _base(rng, lead, e, t, parent["Id"])
    row["EventName"] = parent["EventName"]
    fields = parent.get("ActivityFields") or {}
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    if "Status" in fields and rng.random() < 0.6:
        old["Status"] = fields["Status"]
        new["Status"] = rng.choice(("sent", "delivered", "FAILED", "Won"))
    if rng.random() < 0.5 and "mx_Custom_1" in fields:
        old["mx_Custom_1"] = fields["mx_Custom_1"]
        new["mx_Custom_1"] = (
            _iso(t) if parent["EventCode"] == 222 else fields["mx_Custom_1"] + " (updated)"
        )
    if not old or rng.random() < 0.2:
        other = rng.choice(USERS)
        old["Owner"] = fields.get("Owner", lead.owner[0])
        new["Owner"] = other[0]
    creator = rng.choice(USERS)[1]
    row["Data"] = [
        {"Key": "Event", "Value": "Update"},
        {"Key": "OldData", "Value": json.dumps(old, separators=(",", ":"))},
        {"Key": "NewData", "Value": json.dumps(new, separators=(",", ":"))},
        {"Key": "CreatedBy", "Value": creator},
        {"Key": "Notes", "Value": '{"IsAsync" : False}'},
        {"Key": "EventTime", "Value": _us(t)},
    ]
    row["ModifiedOn"] = ZERO_DATE if rng.random() < 0.5 else _iso(t)
    return row


def _activity(rng: random.Random, lead: _Lead, e: EventType, t: datetime) -> dict[str, Any]:
    row = _base(rng, lead, e, t, _guid(rng))
    if e.custom_fields:
        _custom(rng, lead, e, t, row)
    else:
        row["Data"] = _system_data(rng, lead, e, row)
        if e.code in (0, 3001, 3002) and rng.random() < 0.6:
            row["ModifiedOn"] = ZERO_DATE
        else:
            row["ModifiedOn"] = row["CreatedOn"]
        if e.code == 2 and rng.random() < 0.3:  # located page visits
            row["TrackLocation"] = 1
            row["Latitude"] = round(rng.uniform(8, 30), 6)
            row["Longitude"] = round(rng.uniform(70, 90), 6)
            row["City"] = lead.place[1]
            row["Country"] = lead.place[3]
    # key order of real rows: Data, then ActivityFields, then ModifiedOn last
    modified = row.pop("ModifiedOn")
    data = row.pop("Data")
    fields = row.pop("ActivityFields", None)
    row["Data"] = data
    if fields is not None:
        row["ActivityFields"] = fields
    row["ModifiedOn"] = modified
    return row


def _lead_activities(
    rng: random.Random, n: int, start: datetime, seconds: int
) -> tuple[str, list[dict[str, Any]]]:
    lead = _make_lead(rng)
    if n <= 0:
        return lead.lead_id, []
    times = sorted(rng.randrange(seconds) for _ in range(n))
    rows: list[dict[str, Any]] = []
    first = start + timedelta(seconds=times[0])
    rows.append(_activity(rng, lead, EVENT_BY_CODE[23], first))
    i = 1
    while i < n:
        t = start + timedelta(seconds=times[i])
        # what rng.choices(_RANDOM_EVENTS, cum_weights=_CUM_WEIGHTS) does, without its overhead
        e = _RANDOM_EVENTS[bisect(_CUM_WEIGHTS, rng.random() * _TOTAL_WEIGHT, 0, _LAST)]
        row = _activity(rng, lead, e, t)
        rows.append(row)
        i += 1
        logged = e.custom_fields and i < n and rng.random() < 0.3
        if e.custom_fields and not logged:
            lead.loggable.append(row)  # may get its (single) audit-log row later
        if logged:
            # the audit log of this change, a little later (never after the window)
            lt = min(
                t + timedelta(seconds=rng.randint(5, 3600)), start + timedelta(seconds=seconds)
            )
            rows.append(_log_of(rng, lead, row, lt))
            i += 1
            if i < n and lead.loggable and rng.random() < 0.2:
                # a log row for another activity at the very same second
                other = lead.loggable.pop(rng.randrange(len(lead.loggable)))
                rows.append(_log_of(rng, lead, other, lt))
                i += 1
    # newest first, as the API sends them; ties keep generation order reversed
    rows.reverse()
    rows.sort(key=lambda r: r["CreatedOn"], reverse=True)
    return lead.lead_id, rows


def generate(
    n_leads: int,
    *,
    activities: tuple[int, int] = (0, 300),
    seed: int = 0,
    start: str = "2025-01-01",
    days: int = 180,
) -> dict[str, list[dict[str, Any]]]:
    """Lead id -> raw activities newest first; see samples.synthetic_activities."""
    lo, hi = activities
    if lo < 0 or hi < lo:
        raise ValueError(
            f"activities must be (low, high) with 0 <= low <= high, got {activities!r}"
        )
    if days <= 0:
        raise ValueError(f"days must be positive, got {days!r}")
    rng = random.Random(seed)
    begin = datetime.strptime(start, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    out: dict[str, list[dict[str, Any]]] = {}
    for _ in range(n_leads):
        lead_id, rows = _lead_activities(rng, rng.randint(lo, hi), begin, days * 86400)
        out[lead_id] = rows
    return out
