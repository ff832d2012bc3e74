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
from datetime import datetime, timedelta, timezone
from typing import Any

from .catalog import EVENT_BY_CODE, EVENT_TYPES, CustomField, EventType, activity_types
from .people import (
    CAMPAIGNS,
    COURSES,
    EMAIL_DOMAINS,
    ESCAPED_SURROGATES,
    FIRST_NAMES,
    INTAKES,
    LAST_NAMES,
    MESSAGES,
    NOTE_LINES,
    PAGES,
    PLACES,
    SOURCES,
    STAGES,
    USERS,
    Lead,
    guid,
    iso_time,
    long_note,
    make_lead,
    us_time,
)

# The tables and the catalog live in people.py and catalog.py; their names stay here too.
__all__ = [
    "CAMPAIGNS",
    "COURSES",
    "EMAIL_DOMAINS",
    "ESCAPED_SURROGATES",
    "EVENT_BY_CODE",
    "EVENT_TYPES",
    "FIRST_NAMES",
    "INTAKES",
    "LAST_NAMES",
    "MESSAGES",
    "NOTE_LINES",
    "PAGES",
    "PLACES",
    "SOURCES",
    "STAGES",
    "USERS",
    "ZERO_DATE",
    "CustomField",
    "EventType",
    "activity_types",
    "generate",
]

# The events drawn at random (a lead's first activity is always its Lead Capture, 23).
_RANDOM_EVENTS = [e for e in EVENT_TYPES if e.weight > 0 and e.code != 23]
_WEIGHTS = [e.weight for e in _RANDOM_EVENTS]
_CUM_WEIGHTS = [sum(_WEIGHTS[: i + 1]) for i in range(len(_WEIGHTS))]
_TOTAL_WEIGHT = _CUM_WEIGHTS[-1]
_LAST = len(_CUM_WEIGHTS) - 1
ZERO_DATE = "0001-01-01 00:00:00"


# --------------------------------------------------------------------------- one activity


def _base(rng: random.Random, lead: Lead, e: EventType, t: datetime, act_id: str) -> dict[str, Any]:
    return {
        "Id": act_id,
        "EventCode": e.code,
        "EventName": e.name,
        "ActivityScore": e.score,
        "CreatedOn": iso_time(t),
        "ActivityType": e.activity_type,
        "IsEmailType": e.code == 2001,
        "Type": e.type,
        "SessionId": act_id if e.activity_type == 2 else guid(rng),
        "TrackLocation": 0,
        "Latitude": 0,
        "Longitude": 0,
        "RelatedProspectId": lead.lead_id,
    }


def _system_data(
    rng: random.Random, lead: Lead, e: EventType, row: dict[str, Any]
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
        comment = json.dumps({"ActionType": "500", "Id": guid(rng)}, separators=(",", ":"))
        return [
            {"Key": "PreviousStage", "Value": previous_stage},
            {"Key": "CurrentStage", "Value": STAGES[lead.stage]},
            {"Key": "Comment", "Value": comment if rng.random() < 0.8 else ""},
        ]
    return []


def _custom(rng: random.Random, lead: Lead, e: EventType, t: datetime, row: dict[str, Any]) -> None:
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
        "CreatedOn": us_time(t),
        "ModifiedOn": us_time(modified),
        "CreatedBy": creator[0],
        "ModifiedBy": creator[0],
        "Owner": lead.owner[0],
        "Status": rng.choice(("Active", "Active", "Won", "sent", "FAILED")),
    }
    if e.code == 203 or rng.random() < 0.1:
        fields["ActivityEvent_Note"] = (
            long_note(rng) if rng.random() < 0.3 else rng.choice(NOTE_LINES)
        )
    for f in e.custom_fields:
        value = f.make(rng, lead, t)
        if value or rng.random() < 0.5:  # empty custom fields are sometimes left out
            fields[f.schema_name] = value
    if rng.random() < 0.05:  # a few rows carry only some fields
        fields = {k: v for k, v in fields.items() if k in ("Status", "Owner", "mx_Custom_1")}
    row["ActivityFields"] = fields
    row["ModifiedOn"] = iso_time(modified)


def _log_of(rng: random.Random, lead: Lead, parent: dict[str, Any], t: datetime) -> dict[str, Any]:
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
            iso_time(t) if parent["EventCode"] == 222 else fields["mx_Custom_1"] + " (updated)"
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
        {"Key": "EventTime", "Value": us_time(t)},
    ]
    row["ModifiedOn"] = ZERO_DATE if rng.random() < 0.5 else iso_time(t)
    return row


def _activity(rng: random.Random, lead: Lead, e: EventType, t: datetime) -> dict[str, Any]:
    row = _base(rng, lead, e, t, guid(rng))
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
    lead = make_lead(rng)
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
