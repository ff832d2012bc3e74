"""The lead calls of the fake, as functions of the lead records and the request body.

* ``Leads.RecentlyModified``: leads whose ``LastModifiedOn`` (or ``ModifiedOn``) falls in
  ``[FromDate, ToDate]`` (both inclusive), sorted, at most ``cap`` (5,000) per window: the first
  ``cap`` in the requested order are paged, the rest never come back; ``RecordCount`` is the
  window's total, the capped total or the page's count. ``LeadPropertyList`` layout; the
  ``ProspectID``, ``ProspectAutoId`` and ``OwnerId`` attributes and ``CanUpdate`` are always sent.
* ``Leads.Get``: ``LookupName`` ``SqlOperator`` ``LookupValue``, a bare array, ``[]`` when
  nothing matches.
* ``Leads.GetByQuickSearch``: ``key`` in the name, email or phone, a bare array.
* ``Leads/Retrieve/ByIds``: the leads of up to 10,000 ids in ``{"RecordCount", "Leads"}``.

Values are compared the way SQL Server does: case-insensitively, numbers as numbers, times as
times, and a null never matches. Columns are schema names in any case, sent back in the
schema's spelling; a column no lead has is left out. Errors are :class:`ApiError`.

Example:
    >>> records = [{"ProspectID": "a", "ProspectAutoId": "1", "FirstName": "Asha"}]
    >>> leads_get(records, {"Parameter": {"LookupName": "firstname", "LookupValue": "asha"}})
    [{'ProspectID': 'a', 'ProspectAutoId': '1', 'FirstName': 'Asha'}]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .leads import LEAD_FIELDS
from .rules import (
    MAX_LEAD_IDS,
    MAX_LEADS_PER_WINDOW,
    block,
    invalid,
    missing,
    page_slice,
    parse_time,
    sorting_of,
    window_of,
)

__all__ = [
    "SQL_OPERATORS",
    "by_ids",
    "leads_get",
    "matches",
    "property_list",
    "quick_search",
    "recently_modified",
    "schema_of",
]

SQL_OPERATORS = ("=", "LIKE", ">", "<", "<=", ">=", "<>")
"""The ``SqlOperator`` values of ``Leads.Get`` (``IN``, in one old revision only, is refused)."""

_ALWAYS_SENT = ("ProspectID", "ProspectAutoId", "OwnerId")  # sent by RecentlyModified unasked
Record = Mapping[str, Any]


def schema_of(records: Sequence[Record]) -> dict[str, str]:
    """Lower-case schema name -> its spelling, for every field a lead of ``records`` has.

    Example:
        >>> schema_of([{"mx_City": "Pune"}])["mx_city"]
        'mx_City'
    """
    schema = {name.lower(): name for name in LEAD_FIELDS}
    for record in records:
        for name in record:
            schema.setdefault(str(name).lower(), str(name))
    return schema


def _columns(request: Mapping[str, Any], schema: Mapping[str, str]) -> list[str] | None:
    """The known columns of ``Columns.Include_CSV`` in its order, or None when not sent."""
    text = block(request, "Columns").get("Include_CSV")
    if text is None or not str(text).strip():
        return None
    out: list[str] = []
    for name in str(text).split(","):
        column = schema.get(name.strip().lower())
        if column is not None and column not in out:
            out.append(column)
    return out


def _select(record: Record, columns: Sequence[str] | None) -> dict[str, Any]:
    if columns is None:
        return dict(record)
    return {column: record.get(column) for column in columns}


def property_list(record: Record) -> dict[str, list[dict[str, Any]]]:
    """A flat lead record in the ``LeadPropertyList`` layout.

    Example:
        >>> property_list({"FirstName": "Asha"})
        {'LeadPropertyList': [{'Attribute': 'FirstName', 'Value': 'Asha', 'Fields': None}]}
    """
    return {
        "LeadPropertyList": [
            {"Attribute": name, "Value": value, "Fields": None} for name, value in record.items()
        ]
    }


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _sorted(records: Sequence[Record], column: str, descending: bool) -> list[Record]:
    """Sorted on ``column`` (numbers as numbers; nulls first ascending), ties by AutoId."""
    values = [record.get(column) for record in records]
    numeric = all(_number(v) is not None for v in values if v is not None)

    def key(value: Any) -> tuple[int, Any]:
        if value is None:
            return (0, 0)
        return (1, _number(value) if numeric else str(value).casefold())

    by_auto = sorted(records, key=lambda r: _number(r.get("ProspectAutoId")) or 0.0)
    return sorted(by_auto, key=lambda r: key(r.get(column)), reverse=descending)


def _like(pattern: str) -> re.Pattern[str]:
    parts = ("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def matches(value: Any, operator: str, target: str) -> bool:
    """Whether a lead's ``value`` satisfies ``value <operator> target`` as SQL Server reads it.

    Example:
        >>> matches("12", ">", "9"), matches("Asha", "LIKE", "as%"), matches(None, "<>", "x")
        (True, True, False)
    """
    if value is None:
        return False
    if operator == "LIKE":
        return _like(target).fullmatch(str(value)) is not None
    left: Any = str(value).casefold()
    right: Any = target.casefold()
    numbers = _number(value), _number(target)
    times = parse_time(value), parse_time(target)
    if numbers[0] is not None and numbers[1] is not None:
        left, right = numbers
    elif times[0] is not None and times[1] is not None:
        left, right = times
    if operator == "=":
        return bool(left == right)
    if operator == "<>":
        return bool(left != right)
    if operator == ">":
        return bool(left > right)
    if operator == "<":
        return bool(left < right)
    if operator == ">=":
        return bool(left >= right)
    return bool(left <= right)


def _object_type(request: Mapping[str, Any], records: Sequence[Record]) -> list[Record]:
    """The top-level ``Attribute``/``Value`` filter (``LeadType`` = ``OT_n``), when leads have it.

    An account without object types has no ``LeadType`` field; the filter is then ignored.
    """
    attribute, value = request.get("Attribute"), request.get("Value")
    if not attribute or value is None:
        return list(records)
    name = schema_of(records).get(str(attribute).lower())
    if name is None or not any(name in r for r in records):
        return list(records)
    return [r for r in records if matches(r.get(name), "=", str(value))]


def recently_modified(
    records: Sequence[Record],
    request: Mapping[str, Any],
    *,
    cap: int = MAX_LEADS_PER_WINDOW,
    record_count: str = "total",
    window_field: str = "LastModifiedOn",
) -> dict[str, Any]:
    """The reply to ``Leads.RecentlyModified``: ``{"RecordCount": n, "Leads": [...]}``.

    Example:
        >>> recently_modified([{"ProspectID": "a", "LastModifiedOn": "2025-01-02 00:00:00.000"}],
        ...     {"Parameter": {"FromDate": "2025-01-01 00:00:00", "ToDate": "2025-01-03 00:00:00"},
        ...      "Columns": {"Include_CSV": "ProspectID"}})["RecordCount"]
        1
    """
    start, end = window_of(block(request, "Parameter"))
    schema = schema_of(records)
    columns = _columns(request, schema)
    column, descending = sorting_of(request, window_field, schema)
    skip, size = page_slice(request)
    inside = []
    for record in _object_type(request, records):
        t = parse_time(record.get(window_field))
        if t is not None and start <= t <= end:
            inside.append(record)
    kept = _sorted(inside, column, descending)[:cap]
    page = kept[skip : skip + min(size, cap)]
    out = []
    for record in page:
        flat = _select(record, columns)
        for name in _ALWAYS_SENT:
            flat.setdefault(name, record.get(name))
        flat["CanUpdate"] = "true"
        out.append(property_list(flat))
    count = {"total": len(inside), "capped": len(kept), "page": len(out)}[record_count]
    return {"RecordCount": count, "Leads": out}


def _laid_out(records: Sequence[dict[str, Any]], layout: str) -> list[dict[str, Any]]:
    if layout == "property_list":
        return [property_list(record) for record in records]
    return list(records)


def leads_get(
    records: Sequence[Record], request: Mapping[str, Any], *, layout: str = "flat"
) -> list[dict[str, Any]]:
    """The reply to ``Leads.Get``: a bare array of the matching leads' requested columns.

    Example:
        >>> where = {"LookupName": "Score", "LookupValue": "20", "SqlOperator": ">"}
        >>> leads_get([{"ProspectID": "a", "Score": "12"}], {"Parameter": where})
        []
    """
    parameter = block(request, "Parameter")
    lookup = parameter.get("LookupName")
    if lookup in (None, ""):
        raise missing("Parameter.LookupName is mandatory.")
    schema = schema_of(records)
    name = schema.get(str(lookup).strip().lower())
    if name is None:
        raise invalid(
            f"'{str(lookup)[:60]}' is not a lead field. Use a schema name (LeadsMetaData)."
        )
    operator = str(parameter.get("SqlOperator") or "=").strip().upper()
    if operator not in SQL_OPERATORS:
        raise invalid(
            f"SqlOperator '{operator[:20]}' is not supported; "
            f"use one of {', '.join(SQL_OPERATORS)}."
        )
    value = parameter.get("LookupValue")
    if value is None:
        raise missing("Parameter.LookupValue is mandatory.")
    columns = _columns(request, schema)
    column, descending = sorting_of(request, "ProspectAutoId", schema)
    skip, size = page_slice(request)
    found = [
        r for r in _object_type(request, records) if matches(r.get(name), operator, str(value))
    ]
    page = _sorted(found, column, descending)[skip : skip + size]
    return _laid_out([_select(record, columns) for record in page], layout)


def quick_search(
    records: Sequence[Record], key: str, *, layout: str = "flat"
) -> list[dict[str, Any]]:
    """The reply to ``Leads.GetByQuickSearch?key=``: leads with ``key`` in name, email or phone.

    Case-insensitive substring; a blank key finds nothing. Oldest lead first, every field.

    Example:
        >>> quick_search([{"ProspectID": "a", "FirstName": "Asha", "LastName": "Rao"}], "HA R")
        [{'ProspectID': 'a', 'FirstName': 'Asha', 'LastName': 'Rao'}]
    """
    needle = key.strip().casefold()
    if not needle:
        return []
    found = []
    for record in records:
        first, last = record.get("FirstName") or "", record.get("LastName") or ""
        texts = [first, last, f"{first} {last}"]
        texts += [record.get(name) for name in ("EmailAddress", "Phone", "Mobile")]
        if any(needle in str(text).casefold() for text in texts if text):
            found.append(record)
    return _laid_out([dict(r) for r in _sorted(found, "ProspectAutoId", False)], layout)


def by_ids(
    records: Sequence[Record], request: Mapping[str, Any], *, id_key: str | None = "ProspectID"
) -> dict[str, Any]:
    """The reply to ``Leads/Retrieve/ByIds``: ``{"RecordCount": found, "Leads": [flat, ...]}``.

    Leads come in the order of ``LeadIds``; ids that match no lead are skipped. ``id_key``:
    the key of the id column (``"ProspectID"``, or ``"ProspectId"``), or None to leave the id
    columns out, as the docs' examples do.

    Example:
        >>> ask = {"SearchParameters": {"LeadIds": ["A"]}, "Columns": {"Include_CSV": "FirstName"}}
        >>> by_ids([{"ProspectID": "a", "FirstName": "Asha"}], ask)
        {'RecordCount': 1, 'Leads': [{'FirstName': 'Asha'}]}
    """
    ids = block(request, "SearchParameters").get("LeadIds")
    if ids is None or ids == []:
        raise missing("SearchParameters.LeadIds is mandatory.")
    if not isinstance(ids, list):
        raise invalid("SearchParameters.LeadIds must be an array of lead ids.")
    if len(ids) > MAX_LEAD_IDS:
        raise invalid(
            f"You can retrieve a maximum of {MAX_LEAD_IDS:,} leads; {len(ids):,} ids sent."
        )
    schema = schema_of(records)
    columns = _columns(request, schema)
    if columns is None:
        raise missing("Columns.Include_CSV is mandatory.")
    skip, size = page_slice(request)
    by_id = {str(r.get("ProspectID") or "").lower(): r for r in records}
    found: dict[str, Record] = {}
    for lead_id in ids:
        record = by_id.get(str(lead_id).strip().lower())
        if record is not None:
            found.setdefault(str(lead_id).strip().lower(), record)
    out = []
    for record in list(found.values())[skip : skip + size]:
        flat = _select(record, columns)
        if id_key is None:
            flat.pop("ProspectID", None)
            flat.pop("ProspectAutoId", None)
        elif id_key != "ProspectID" and "ProspectID" in flat:
            flat = {id_key if k == "ProspectID" else k: v for k, v in flat.items()}
        out.append(flat)
    return {"RecordCount": len(found), "Leads": out}
