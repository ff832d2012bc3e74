"""The leads and users of a fake account, derived from the activities it serves.

A lead record is what ``Leads.Get`` sends (a flat dict of strings or None, lead times with
``.000`` milliseconds), made to agree with the lead's activities: the name and email its Lead
Capture, emails and forms carry, the source and campaign of its Lead Capture, the stage its
last stage change ends in, the owner its last assignment (or its newest activity) names, the
score its activity scores add up to, ``CreatedOn`` its capture and ``LastModifiedOn`` its
newest activity. What the activities do not say is invented, the same for the same seed and
lead. Users are the invented account's team plus anyone the activities name. All people, ids
and texts are invented.

Example:
    >>> from lsq_analysis.samples import synthetic_activities
    >>> activities = synthetic_activities(3, activities=(20, 40), seed=1)
    >>> leads = synthetic_leads(activities, seed=1)
    >>> sorted(lead["ProspectID"] for lead in leads) == sorted(activities)
    True
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .people import CAMPAIGNS, COURSES, FIRST_NAMES, LAST_NAMES, PLACES, SOURCES, STAGES, USERS
from .rules import ZERO_TIME, as_int, parse_time

__all__ = [
    "FIRST_AUTO_ID",
    "LEAD_FIELDS",
    "LeadBook",
    "lead_record",
    "synthetic_leads",
    "synthetic_users",
    "user_email",
    "user_for",
]

FIRST_AUTO_ID = 1001  # ProspectAutoId of the first lead created
LEAD_FIELDS = (
    "ProspectID",
    "ProspectAutoId",
    "FirstName",
    "LastName",
    "EmailAddress",
    "Company",
    "Origin",
    "Phone",
    "Mobile",
    "Source",
    "SourceMedium",
    "SourceCampaign",
    "DoNotEmail",
    "DoNotCall",
    "ProspectStage",
    "Score",
    "EngagementScore",
    "TotalVisits",
    "OwnerId",
    "OwnerIdEmailAddress",
    "CreatedOn",
    "ModifiedOn",
    "LastModifiedOn",
    "mx_City",
    "mx_State",
    "mx_Country",
    "mx_Course",
)
"""Every field of a generated lead record, in the order it is sent."""

_MEDIUM = {
    "Google Ads": "cpc",
    "Organic Search": "organic",
    "Facebook": "social",
    "Referral": "referral",
    "Webinar": "email",
}
_ORIGINS = ("Landing Page", "Quick Add Form", "API", "Import")
_USER_DOMAIN = "example.edu"
_USER_NAMESPACE = uuid.UUID("6f1c2b9e-3d4a-4e5f-8a7b-0c1d2e3f4a5b")
_INACTIVE_USER = ("3f0b6a2c-7d1e-11e7-9c4a-0a5e2b7c9d10", "Ritu Ahuja")  # left the account
_KNOWN_BY_ID = {user_id: name for user_id, name in USERS}
_KNOWN_BY_NAME = {name.casefold(): user_id for user_id, name in USERS}
_LEAD_CHANGES = frozenset((23, 202, 3001, 3002))  # events that change the lead's own fields
_LOGS = 3011
_NOT_USERS = frozenset(("", "system"))


def user_email(name: str) -> str:
    """The invented work email of a user of the fake account.

    Example:
        >>> user_email("Priya Raman")
        'priya.raman@example.edu'
    """
    local = ".".join(part.lower() for part in name.split() if part)
    return f"{local or 'user'}@{_USER_DOMAIN}"


def user_for(user_id: str | None = None, name: str | None = None) -> tuple[str, str]:
    """``(id, name)`` of a user known by id, by name or both: the same answer every time.

    A user of the invented team is found by either; anyone else gets an id made from the name
    (a GUID) or a name made from the id (invented).

    Example:
        >>> user_for(name="Priya Raman") == user_for(user_for(name="Priya Raman")[0])
        True
    """
    if user_id and user_id.lower() in _KNOWN_BY_ID:
        return user_id.lower(), _KNOWN_BY_ID[user_id.lower()]
    if name and name.strip().casefold() in _KNOWN_BY_NAME:
        return _KNOWN_BY_NAME[name.strip().casefold()], name.strip()
    if user_id and name:
        return user_id.lower(), name.strip()
    if name:
        return str(uuid.uuid5(_USER_NAMESPACE, name.strip().casefold())), name.strip()
    rng = random.Random(f"user:{user_id}")
    return str(user_id or "").lower(), f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _data(row: Mapping[str, Any]) -> dict[str, str]:
    data = row.get("Data")
    if not isinstance(data, list):
        return {}
    return {
        str(item["Key"]): str(item.get("Value") or "")
        for item in data
        if isinstance(item, Mapping) and item.get("Key") is not None
    }


def _fields(row: Mapping[str, Any]) -> dict[str, str]:
    fields = row.get("ActivityFields")
    if not isinstance(fields, Mapping):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in fields.items()}


def _lead_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") + ".000"


def _newest_first(activities: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    rows = [row for row in activities if isinstance(row, Mapping)]
    dated = [(parse_time(row.get("CreatedOn")) or datetime.min, i) for i, row in enumerate(rows)]
    return [rows[i] for _, i in sorted(dated, key=lambda item: (item[0], -item[1]), reverse=True)]


class _Facts:
    """What a lead's activities say about the lead, newest fact first."""

    def __init__(self, activities: Sequence[Mapping[str, Any]]) -> None:
        self.first: str | None = None
        self.last: str | None = None
        self.email: str | None = None
        self.phone: str | None = None
        self.source: str | None = None
        self.campaign: str | None = None
        self.stage: str | None = None
        self.owner: tuple[str, str] | None = None
        self.place: tuple[str | None, str | None, str | None] | None = None
        self.captured_place = False
        self.course: str | None = None
        self.created: datetime | None = None
        self.changed: datetime | None = None
        self.touched: datetime | None = None
        self.score = 0
        self.engagement = 0
        self.visits = 0
        self.unsubscribed = False
        self.users: set[tuple[str, str]] = set()
        rows = _newest_first(activities)
        for row in rows:
            self._read(row)
        if self.created is None and rows:
            self.created = parse_time(rows[-1].get("CreatedOn"))

    def _read(self, row: Mapping[str, Any]) -> None:
        code = as_int(row.get("EventCode"))
        created = parse_time(row.get("CreatedOn"))
        modified = parse_time(row.get("ModifiedOn")) if row.get("ModifiedOn") != ZERO_TIME else None
        for t in (created, modified):
            if t is not None and (self.touched is None or t > self.touched):
                self.touched = t
        data, fields = _data(row), _fields(row)
        self._read_users(code, data, fields)
        if code == _LOGS:
            return
        self.score += as_int(row.get("ActivityScore")) or 0
        self.engagement += int(str(row.get("Type")) == "Inbound")
        self.visits += int(code == 2)
        self.unsubscribed |= code == 8
        if code in _LEAD_CHANGES and created is not None and self.changed is None:
            self.changed = created
        if code in (23, 2001) and data.get("FullName") and self.first is None:
            self.first, _, last = data["FullName"].strip().partition(" ")
            self.last = last or None
        if code == 202 and fields.get("mx_Custom_1") and self.first is None:
            self.first, self.last = fields["mx_Custom_1"], fields.get("mx_Custom_2") or None
        if code in (23, 2001) and data.get("EmailAddress") and self.email is None:
            self.email = data["EmailAddress"]
        if code == 202 and fields.get("mx_Custom_3") and self.email is None:
            self.email = fields["mx_Custom_3"]
        phone = fields.get("mx_Custom_4") if code == 202 else fields.get("mx_Custom_3")
        if code in (202, 222) and phone and self.phone is None:
            self.phone = phone
        if code in (201, 206) and fields.get("mx_Custom_1") and self.course is None:
            self.course = fields["mx_Custom_1"]
        if code == 23:
            self.created = created
            self.source = self.source or data.get("Source") or None
            self.campaign = self.campaign or data.get("SourceCampaign") or None
            if row.get("City"):  # the capture's place wins over a form's city
                self.place = (str(row.get("City")), row.get("State"), row.get("Country"))
                self.captured_place = True
        if code == 202 and fields.get("mx_Custom_6") and not self.captured_place:
            self.place = self.place or (fields["mx_Custom_6"], None, None)
        if code == 3002 and data.get("CurrentStage") and self.stage is None:
            self.stage = data["CurrentStage"]
        if self.owner is None:
            if code == 3001 and data.get("CurrentOwner"):
                self.owner = user_for(name=data["CurrentOwner"])
            elif fields.get("Owner"):
                self.owner = user_for(fields["Owner"])
            elif code == 2001 and data.get("FromUserName"):
                self.owner = user_for(name=data["FromUserName"])

    def _read_users(self, code: int | None, data: dict[str, str], fields: dict[str, str]) -> None:
        names = [data.get(k, "") for k in ("PreviousOwner", "CurrentOwner", "FromUserName")]
        if code == _LOGS:
            names.append(data.get("CreatedBy", ""))
        creator = data.get("CreatedByName", "")
        if fields.get("CreatedBy"):
            self.users.add(user_for(fields["CreatedBy"], creator or None))
        else:
            names.append(creator)
        if code == 3001:
            names.append(data.get("CreatedBy", ""))
        for name in names:
            if name.strip().casefold() not in _NOT_USERS:
                self.users.add(user_for(name=name))
        for key in ("Owner", "ModifiedBy"):
            if fields.get(key):
                self.users.add(user_for(fields[key]))


def lead_record(
    lead_id: str,
    activities: Sequence[Mapping[str, Any]],
    *,
    auto_id: int = FIRST_AUTO_ID,
    seed: int = 0,
) -> dict[str, str | None]:
    """The lead record (``Leads.Get`` shape) that agrees with a lead's activities.

    Example:
        >>> record = lead_record("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf", [], auto_id=1016)
        >>> record["ProspectAutoId"], record["ProspectStage"]
        ('1016', 'Prospect')
    """
    record, _ = _derive(lead_id, activities, auto_id=auto_id, seed=seed)
    return record


def _derive(
    lead_id: str, activities: Sequence[Mapping[str, Any]], *, auto_id: int, seed: int
) -> tuple[dict[str, str | None], set[tuple[str, str]]]:
    facts = _Facts(activities)
    rng = random.Random(f"{seed}:lead:{lead_id.lower()}")
    first = facts.first or rng.choice(FIRST_NAMES)
    last = facts.last if facts.first else rng.choice(LAST_NAMES)
    number = rng.randint(10, 99)
    email = facts.email or f"{first.lower()}.{(last or 'lead').lower()}{number}@example.com"
    phone = facts.phone or f"+91-9{rng.randint(100000000, 999999999)}"
    source = facts.source or rng.choice(SOURCES)
    campaign = facts.campaign or (rng.choice(CAMPAIGNS)[0] if rng.random() < 0.7 else None)
    owner = facts.owner or rng.choice(USERS)
    place = facts.place or rng.choice(PLACES)[1:]
    created = facts.created or datetime(2025, 1, 1) + timedelta(seconds=rng.randrange(86400 * 180))
    changed = max(facts.changed or created, created)
    touched = max(facts.touched or changed, changed)
    record: dict[str, str | None] = {
        "ProspectID": lead_id.lower(),
        "ProspectAutoId": str(auto_id),
        "FirstName": first,
        "LastName": last,
        "EmailAddress": email,
        "Company": None,
        "Origin": rng.choice(_ORIGINS),
        "Phone": phone,
        "Mobile": phone if rng.random() < 0.6 else None,
        "Source": source,
        "SourceMedium": _MEDIUM.get(source),
        "SourceCampaign": campaign,
        "DoNotEmail": "1" if facts.unsubscribed else "0",
        "DoNotCall": "0",
        "ProspectStage": facts.stage or STAGES[0],
        "Score": str(facts.score),
        "EngagementScore": str(facts.engagement),
        "TotalVisits": str(facts.visits) if facts.visits else None,
        "OwnerId": owner[0],
        "OwnerIdEmailAddress": user_email(owner[1]),
        "CreatedOn": _lead_time(created),
        "ModifiedOn": _lead_time(changed),
        "LastModifiedOn": _lead_time(touched),
        "mx_City": place[0],
        "mx_State": place[1],
        "mx_Country": place[2],
        "mx_Course": facts.course or (rng.choice(COURSES) if rng.random() < 0.5 else None),
    }
    return record, facts.users | {user_for(*owner)}


def _by_creation(activities_by_lead: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """The lead ids, oldest Lead Capture (or first activity) first: the order of AutoIds."""
    first: dict[str, datetime] = {}
    for lead_id, rows in activities_by_lead.items():
        times = [parse_time(row.get("CreatedOn")) for row in rows if isinstance(row, Mapping)]
        first[lead_id] = min((t for t in times if t is not None), default=datetime.max)
    return sorted(first, key=lambda lead_id: (first[lead_id], lead_id.lower()))


def synthetic_leads(
    activities_by_lead: Mapping[str, Sequence[Mapping[str, Any]]], seed: int = 0
) -> list[dict[str, str | None]]:
    """One lead record per lead, agreeing with its activities (``ProspectAutoId`` order).

    Args:
        activities_by_lead: lead id -> its raw activities (``synthetic_activities`` output).
        seed: what the activities do not say (phones, origins, ...) is drawn from it.

    Example:
        >>> leads = synthetic_leads({"3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf": []})
        >>> leads[0]["ProspectAutoId"], leads[0]["CreatedOn"].endswith(".000")
        ('1001', True)
    """
    return [
        lead_record(lead_id, activities_by_lead[lead_id], auto_id=FIRST_AUTO_ID + i, seed=seed)
        for i, lead_id in enumerate(_by_creation(activities_by_lead))
    ]


def _user_row(index: int, user_id: str, name: str, active: bool = True) -> dict[str, Any]:
    first, _, last = name.partition(" ")
    row: dict[str, Any] = {
        "ID": user_id,
        "FirstName": first,
        "LastName": last,
        "EmailAddress": user_email(name),
        "Role": ("Administrator", "Sales_Manager")[index] if index < 2 else "Sales_User",
        "StatusCode": 0 if active else 1,
        "MemberOfGroups": ["Admissions", "North"] if index % 2 else ["Admissions"],
        "Tag": "Counsellor" if index % 4 == 3 else None,
        "IsPhoneCallAgent": index % 3 == 1,
    }
    if index % 3 == 2:
        del row["MemberOfGroups"]  # the API leaves keys out of some users
    return row


def _users_from(seen: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    team = [*USERS, _INACTIVE_USER]
    known = {user_id for user_id, _ in team}
    others = sorted({user for user in seen if user[0] and user[0] not in known})
    rows = [_user_row(i, *user) for i, user in enumerate(USERS)]
    rows.append(_user_row(len(USERS), *_INACTIVE_USER, active=False))
    rows.extend(_user_row(len(rows) + i, *user) for i, user in enumerate(others))
    return rows


def synthetic_users(
    activities_by_lead: Mapping[str, Sequence[Mapping[str, Any]]],
    leads: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The users (``Users.Get`` shape) of an account: its team and anyone its data names.

    The invented team (one of them deactivated, ``StatusCode`` 1), every user the activities
    name (owners, creators, senders) and the owner of every lead in ``leads``.

    Example:
        >>> users = synthetic_users({})
        >>> sorted(users[0])[:3], users[0]["StatusCode"]
        (['EmailAddress', 'FirstName', 'ID'], 0)
    """
    seen: set[tuple[str, str]] = set()
    for lead_id, rows in activities_by_lead.items():
        seen |= _derive(lead_id, rows, auto_id=0, seed=0)[1]
    for lead in leads:
        if lead.get("OwnerId"):
            seen.add(user_for(str(lead["OwnerId"])))
    return _users_from(seen)


class LeadBook:
    """The lead records and users a fake serves, kept in step with the activities it serves.

    Records given up front are served as given; every other lead with activities gets a
    generated record (regenerated when its activity list is replaced or grows), with the next
    ``ProspectAutoId``. Thread-safe.

    Example:
        >>> book = LeadBook(seed=0)
        >>> book.records({"3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf": []})[0]["ProspectAutoId"]
        '1001'
    """

    def __init__(
        self,
        seed: int = 0,
        records: Iterable[Mapping[str, Any]] | None = None,
        users: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._given: dict[str, dict[str, Any]] = {}
        for record in records or ():
            key = str(record.get("ProspectID") or record.get("ProspectId") or "").lower()
            if not key:
                raise ValueError("every lead record needs its ProspectID")
            self._given[key] = dict(record)
        self._users = [dict(user) for user in users] if users is not None else None
        autos = [as_int(r.get("ProspectAutoId")) for r in self._given.values()]
        self._next_auto = max([a for a in autos if a is not None], default=FIRST_AUTO_ID - 1) + 1
        self._auto: dict[str, int] = {}
        self._made: dict[str, tuple[tuple[int, int], dict[str, Any], set[tuple[str, str]]]] = {}

    def records(
        self, activities_by_lead: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Every lead record: the given ones, then one per other lead with activities."""
        with self._lock:
            return [*self._given.values(), *self._sync(activities_by_lead)]

    def users(
        self, activities_by_lead: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> list[dict[str, Any]]:
        """The users: as given, else the team, everyone the activities name and every owner."""
        with self._lock:
            made = self._sync(activities_by_lead)
            if self._users is not None:
                return self._users
            seen: set[tuple[str, str]] = set()
            for lead_id in activities_by_lead:
                if lead_id.lower() in self._made:
                    seen |= self._made[lead_id.lower()][2]
            for record in [*self._given.values(), *made]:
                if record.get("OwnerId"):
                    seen.add(user_for(str(record["OwnerId"])))
            return _users_from(seen)

    def _sync(
        self, activities_by_lead: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> list[dict[str, Any]]:
        """The generated records of the leads with activities, (re)made where they changed."""
        wanted = {
            lead_id.lower(): rows
            for lead_id, rows in activities_by_lead.items()
            if lead_id.lower() not in self._given
        }
        fresh = [k for k in wanted if k not in self._auto]
        for lead_id in _by_creation({k: wanted[k] for k in fresh}):
            self._auto[lead_id] = self._next_auto
            self._next_auto += 1
        out = []
        for lead_id, rows in wanted.items():
            signature = (id(rows), len(rows))
            made = self._made.get(lead_id)
            if made is None or made[0] != signature:
                record, users = _derive(lead_id, rows, auto_id=self._auto[lead_id], seed=self.seed)
                made = (signature, record, users)
                self._made[lead_id] = made
            out.append(made[1])
        return out
