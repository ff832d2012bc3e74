"""The LeadSquared API rules the fake obeys, as plain data and functions: the paths it serves,
the readings of ``Paging.Offset`` and ``RecordCount`` it offers, the rate-limit reply styles,
what a lead id must look like, which rows one ``Retrieve`` page holds, and what the lead, user
and account-wide activity calls share (``ApiError``, 1-based ``PageIndex`` paging, sorting,
UTC ``YYYY-MM-DD HH:MM:SS`` times).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...vocabulary import GUID_PATTERN

RETRIEVE_PATH = "/v2/ProspectActivity.svc/Retrieve"
ACTIVITY_TYPES_PATH = "/v2/ProspectActivity.svc/ActivityTypes.Get"
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"
LEADS_RECENTLY_MODIFIED_PATH = "/v2/LeadManagement.svc/Leads.RecentlyModified"
LEADS_GET_PATH = "/v2/LeadManagement.svc/Leads.Get"
LEADS_QUICK_SEARCH_PATH = "/v2/LeadManagement.svc/Leads.GetByQuickSearch"
LEADS_BY_IDS_PATH = "/v2/LeadManagement.svc/Leads/Retrieve/ByIds"
USERS_PATH = "/v2/UserManagement.svc/Users.Get"
ACTIVITIES_BY_EVENT_PATH = "/v2/ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent"

PAGING_READINGS = ("row", "page0", "page1")
RECORD_COUNT_MEANINGS = ("total", "page")
RATE_LIMIT_STYLES = ("429", "403", "200")
LEAD_RECORD_COUNTS = ("total", "capped", "page")  # Leads.RecentlyModified's RecordCount
LEAD_LAYOUTS = ("flat", "property_list")  # how Leads.Get and quick search send a lead
WINDOW_FIELDS = ("LastModifiedOn", "ModifiedOn")  # what Leads.RecentlyModified filters on

GUID_RE = re.compile(rf"^{GUID_PATTERN}$")  # the one rule, without stripping spaces
DEFAULT_ROW_COUNT = 25  # what the API page says one call returns without paging
DEFAULT_PAGE_SIZE = 100  # PageSize when a lead or account-wide call sends no Paging
MAX_LEADS_PER_WINDOW = 5000  # "The maximum number of leads returned through a single call"
MAX_LEAD_IDS = 10_000  # "You can retrieve a maximum of 10,000 leads" (Leads/Retrieve/ByIds)
ZERO_TIME = "0001-01-01 00:00:00"  # ModifiedOn of an activity never modified
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?\Z", re.ASCII)


class ApiError(Exception):
    """An error reply of the lead, user and account-wide calls: HTTP status and JSON body.

    Example:
        >>> error = ApiError(400, "MXInvalidInputException", "LookupName is not a lead field")
        >>> error.body()["ExceptionType"]
        'MXInvalidInputException'
    """

    def __init__(self, status: int, exception_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.exception_type = exception_type
        self.message = message

    def body(self) -> dict[str, str]:
        """The reply's JSON body, in the real API's error shape."""
        return {
            "Status": "Error",
            "ExceptionType": self.exception_type,
            "ExceptionMessage": self.message,
        }


def invalid(message: str) -> ApiError:
    """A 400 ``MXInvalidInputException`` (the body does not follow the API's rules)."""
    return ApiError(400, "MXInvalidInputException", message)


def missing(message: str) -> ApiError:
    """A 500 ``MXMandatoryAttributeMissingException``, as the error-handling page shows it."""
    return ApiError(500, "MXMandatoryAttributeMissingException", message)


def not_a_number() -> ApiError:
    """What the real (.NET) server answers when it cannot read a number."""
    return ApiError(500, "System.FormatException", "Input string was not in a correct format.")


def parse_time(value: Any) -> datetime | None:
    """A UTC ``YYYY-MM-DD HH:MM:SS`` (or ``.fff``) text as a naive datetime, else None.

    Example:
        >>> parse_time("2025-01-02 03:04:05.000")
        datetime.datetime(2025, 1, 2, 3, 4, 5)
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _TIME_RE.match(text) is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # e.g. month 13
        return None


def window_of(parameter: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """``(FromDate, ToDate)`` of a call's ``Parameter``: both mandatory, UTC, inclusive.

    Example:
        >>> window_of({"FromDate": "2025-01-01 00:00:00", "ToDate": "2025-01-31 23:59:59"})[1]
        datetime.datetime(2025, 1, 31, 23, 59, 59)
    """
    window = []
    for name in ("FromDate", "ToDate"):
        value = parameter.get(name)
        if value in (None, ""):
            raise missing(f"Parameter.{name} is mandatory (UTC, YYYY-MM-DD HH:MM:SS).")
        t = parse_time(value)
        if t is None:
            raise invalid(
                f"Parameter.{name} '{str(value)[:40]}' is not a date in the supported format, "
                "UTC YYYY-MM-DD HH:MM:SS."
            )
        window.append(t)
    return window[0], window[1]


def block(request: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``request[name]`` as a dict (``{}`` when left out); an ``ApiError`` if not an object.

    Example:
        >>> block({"Paging": {"PageIndex": 1}}, "Paging")
        {'PageIndex': 1}
    """
    value = request.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{name} must be an object.")
    return value


def page_slice(request: Mapping[str, Any]) -> tuple[int, int]:
    """``(skip, size)`` from the 1-based ``Paging.PageIndex`` / ``Paging.PageSize``.

    Example:
        >>> page_slice({"Paging": {"PageIndex": 3, "PageSize": "10"}})
        (20, 10)
    """
    paging = block(request, "Paging")
    index = as_int(paging.get("PageIndex", 1))
    size = as_int(paging.get("PageSize", DEFAULT_PAGE_SIZE))
    if index is None or size is None:
        raise not_a_number()
    if index < 1 or size < 1:
        raise invalid(
            "Paging.PageIndex and Paging.PageSize must be 1 or more (PageIndex is 1-based)."
        )
    return (index - 1) * size, size


def sorting_of(
    request: Mapping[str, Any], default: str, columns: Mapping[str, str]
) -> tuple[str, bool]:
    """``(column, descending)`` from ``Sorting``; ``columns`` maps lower-case names to real ones.

    ``Direction`` may be a string or a number: 1 is descending (most recent first), 0 ascending.

    Example:
        >>> sorting_of({"Sorting": {"ColumnName": "createdon", "Direction": "1"}}, "ModifiedOn",
        ...            {"createdon": "CreatedOn", "modifiedon": "ModifiedOn"})
        ('CreatedOn', True)
    """
    sorting = block(request, "Sorting")
    name = str(sorting.get("ColumnName") or default).strip()
    column = columns.get(name.lower())
    if column is None:
        raise invalid(f"Sorting.ColumnName '{name[:60]}' is not a column that can be sorted on.")
    direction = as_int(sorting.get("Direction", 0))
    if direction not in (0, 1):
        raise invalid("Sorting.Direction must be 1 (descending) or 0 (ascending).")
    return column, direction == 1


def as_int(value: Any) -> int | None:
    """``int(value)``, or None when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def one_page(
    rows: list[dict[str, Any]],
    offset: int,
    row_count: int,
    event: int | None = None,
    *,
    paging: str,
    page1_offset_zero: str,
    record_count: str,
    max_page_size: int | None,
) -> dict[str, Any]:
    """The reply to one ``Retrieve`` call over a lead's ``rows`` (see FakeLeadSquared.page_of).

    Example:
        >>> one_page([{"N": 1}, {"N": 2}, {"N": 3}], 2, 2, paging="page1",
        ...          page1_offset_zero="first", record_count="total", max_page_size=None)
        {'RecordCount': 3, 'ProspectActivities': [{'N': 3}]}
    """
    if event is not None:
        rows = [row for row in rows if as_int(row.get("EventCode")) == event]
    size = row_count if max_page_size is None else min(row_count, max_page_size)
    if paging == "row":
        skip = offset
    elif paging == "page0":
        skip = offset * size
    elif offset == 0 and page1_offset_zero == "empty":
        skip = len(rows)
    else:
        skip = max(0, offset - 1) * size
    page = rows[skip : skip + size]
    count = len(rows) if record_count == "total" else len(page)
    return {"RecordCount": count, "ProspectActivities": page}
