"""The fake's account-wide activity call, ``CustomActivity/RetrieveByActivityEvent``.

Its items are the very activities the per-lead ``Retrieve`` serves, of one event code, made
flat the way the account-wide call sends them: ``ProspectActivityId`` (the activity's ``Id``),
``RelatedProspectId``, ``ActivityType`` and ``ActivityEvent`` as strings, ``Status``, every
``mx_Custom_N`` of the activity (custom field sets stay JSON strings), ``CreatedOn``,
``CreatedBy``, ``CreatedByEmailAddress``, ``CreatedByName``, ``ModifiedOn``, ``ModifiedBy``,
``ModifiedByName`` and ``ActivityEvent_Note``. The window ``[FromDate, ToDate]`` (inclusive)
filters on ``ModifiedOn``; an activity never modified (``0001-01-01 00:00:00``) counts, and is
sent, with its ``CreatedOn``. Audit-log rows (3011) are not activities of the event they log.

Example:
    >>> rows = {"3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf": [{"Id": "x", "EventCode": 201,
    ...     "CreatedOn": "2025-01-02 00:00:00", "ModifiedOn": "2025-01-02 00:05:00"}]}
    >>> reply = by_activity_event(rows, {"Parameter": {"FromDate": "2025-01-01 00:00:00",
    ...     "ToDate": "2025-01-03 00:00:00", "ActivityEvent": 201}})
    >>> reply["RecordCount"], reply["List"][0]["ProspectActivityId"]
    (1, 'x')
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .rules import (
    ZERO_TIME,
    as_int,
    block,
    missing,
    not_a_number,
    page_slice,
    parse_time,
    sorting_of,
    window_of,
)

__all__ = ["account_item", "by_activity_event", "custom_fields_of", "modified_on"]

_SORTABLE = {"modifiedon": "ModifiedOn", "createdon": "CreatedOn"}
_CUSTOM = re.compile(r"^mx_Custom_(\d+)$")
_EMPTY = (None, "")


def _natural(name: str) -> tuple[int, str]:
    found = _CUSTOM.match(name)
    return (int(found.group(1)), name) if found else (10**6, name)


def custom_fields_of(catalog: Sequence[Mapping[str, Any]], event: int) -> list[str]:
    """The ``mx_`` schema names the activity-type catalog lists for ``event``.

    Example:
        >>> props = json.dumps({"FormMetaData": [{"SchemaName": "mx_Custom_1"}]})
        >>> custom_fields_of([{"ActivityEvent": 201, "ActivityProperties": props}], 201)
        ['mx_Custom_1']
    """
    for entry in catalog:
        if not isinstance(entry, Mapping) or as_int(entry.get("ActivityEvent")) != event:
            continue
        props = entry.get("ActivityProperties")
        try:
            meta = json.loads(props).get("FormMetaData") if isinstance(props, str) else None
        except (ValueError, AttributeError):
            meta = None
        if not isinstance(meta, list):
            return []
        names = [str(m.get("SchemaName")) for m in meta if isinstance(m, Mapping)]
        return sorted({n for n in names if n.startswith("mx_")}, key=_natural)
    return []


def modified_on(row: Mapping[str, Any]) -> str:
    """The ``ModifiedOn`` the account-wide call sends and filters on: ``CreatedOn`` if never.

    Example:
        >>> modified_on({"CreatedOn": "2025-01-02 00:00:00", "ModifiedOn": "0001-01-01 00:00:00"})
        '2025-01-02 00:00:00'
    """
    value = row.get("ModifiedOn")
    if value in _EMPTY or value == ZERO_TIME:
        return str(row.get("CreatedOn") or "")
    return str(value)


def _pairs(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    data = row.get("Data")
    if not isinstance(data, list):
        return []
    return [
        (str(d["Key"]), "" if d.get("Value") is None else str(d["Value"]))
        for d in data
        if isinstance(d, Mapping) and d.get("Key") is not None
    ]


def account_item(
    lead_id: str,
    row: Mapping[str, Any],
    *,
    users: Sequence[Mapping[str, Any]] = (),
    custom_fields: Sequence[str] = (),
    remove_empty: bool = False,
) -> dict[str, Any]:
    """One per-lead activity as a ``RetrieveByActivityEvent`` item (see the module doc).

    ``custom_fields`` (the catalog's) are sent empty when the activity lacks them, unless
    ``remove_empty``, which drops every empty ``mx_`` field and note.

    Example:
        >>> item = account_item("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf", {"Id": "x",
        ...     "EventCode": 201, "ActivityType": 2, "ActivityFields": {"mx_Custom_1": "MBA"}})
        >>> item["ActivityEvent"], item["ActivityType"], item["mx_Custom_1"]
        ('201', '2', 'MBA')
    """
    raw_fields = row.get("ActivityFields")
    fields = {
        str(k): "" if v is None else str(v)
        for k, v in (raw_fields.items() if isinstance(raw_fields, Mapping) else ())
    }
    pairs = _pairs(row)
    data = dict(pairs)
    by_id = {str(u.get("ID") or u.get("UserId") or "").lower(): u for u in users}
    by_name = {
        f"{u.get('FirstName', '')} {u.get('LastName', '')}".strip().casefold(): u for u in users
    }
    creator = by_id.get(fields.get("CreatedBy", "").lower())
    creator_name = data.get("CreatedByName") or (
        data.get("CreatedBy") if row.get("EventCode") == 3001 else ""
    )
    if creator is None and creator_name:
        creator = by_name.get(creator_name.strip().casefold())
    modifier = by_id.get(fields.get("ModifiedBy", "").lower()) or creator

    def name_of(user: Mapping[str, Any] | None) -> str:
        return f"{user.get('FirstName', '')} {user.get('LastName', '')}".strip() if user else ""

    item: dict[str, Any] = {
        "ProspectActivityId": row.get("Id"),
        "RelatedProspectId": row.get("RelatedProspectId") or lead_id,
        "ActivityType": "" if row.get("ActivityType") is None else str(row.get("ActivityType")),
        "ActivityEvent": "" if row.get("EventCode") is None else str(row.get("EventCode")),
        "Status": fields.get("Status") or "Active",
    }
    names = {*custom_fields, *(k for k in fields if k.startswith("mx_"))}
    for name in sorted(names, key=_natural):
        item[name] = fields.get(name, "")
    if "ActivityEvent_Note" in fields:
        note = fields["ActivityEvent_Note"]
    elif fields or not pairs:
        note = ""
    else:  # a system activity: its data as the Key{=}Value{next} blob clients have seen
        note = "{next}".join(f"{key}{{=}}{value}" for key, value in pairs)
        note = "{keyvalueinfo}" + note if as_int(row.get("EventCode")) == 23 else note
    item.update(
        {
            "CreatedOn": row.get("CreatedOn"),
            "CreatedBy": str((creator or {}).get("ID") or fields.get("CreatedBy") or ""),
            "CreatedByEmailAddress": str((creator or {}).get("EmailAddress") or ""),
            "CreatedByName": creator_name or name_of(creator),
            "ModifiedOn": modified_on(row),
            "ModifiedBy": str((modifier or {}).get("ID") or fields.get("ModifiedBy") or ""),
            "ModifiedByName": name_of(modifier) or creator_name,
            "ActivityEvent_Note": note,
        }
    )
    if remove_empty:
        for name in [k for k, v in item.items() if v in _EMPTY]:
            if name.startswith("mx_") or name == "ActivityEvent_Note":
                del item[name]
    return item


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def by_activity_event(
    activities_by_lead: Mapping[str, Sequence[Mapping[str, Any]]],
    request: Mapping[str, Any],
    *,
    catalog: Sequence[Mapping[str, Any]] = (),
    users: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The reply to ``RetrieveByActivityEvent``: ``{"RecordCount": window total, "List": page}``.

    Sorted on ``ModifiedOn`` (or ``CreatedOn``), oldest first unless ``Direction`` is 1, ties
    by activity id; ``RecordCount`` is the window's total on every page.
    """
    parameter = block(request, "Parameter")
    start, end = window_of(parameter)
    if parameter.get("ActivityEvent") in _EMPTY:
        raise missing("Parameter.ActivityEvent is mandatory (the activity event code).")
    event = as_int(parameter.get("ActivityEvent"))
    if event is None:
        raise not_a_number()
    remove_empty = _truthy(parameter.get("RemoveEmptyValue", False))
    column, descending = sorting_of(request, "ModifiedOn", _SORTABLE)
    skip, size = page_slice(request)
    inside: list[tuple[datetime, str, str, Mapping[str, Any]]] = []
    for lead_id, rows in activities_by_lead.items():
        for row in rows:
            code = row.get("EventCode")
            if (code if isinstance(code, int) else as_int(code)) != event:
                continue
            t = parse_time(modified_on(row))
            if t is None or not start <= t <= end:
                continue
            key = t if column == "ModifiedOn" else parse_time(row.get("CreatedOn")) or t
            inside.append((key, str(row.get("Id") or ""), lead_id, row))
    inside.sort(key=lambda found: (found[0], found[1]), reverse=descending)
    fields = custom_fields_of(catalog, event)
    page = [
        account_item(lead_id, row, users=users, custom_fields=fields, remove_empty=remove_empty)
        for _, _, lead_id, row in inside[skip : skip + size]
    ]
    return {"RecordCount": len(inside), "List": page}
