"""The LeadSquared API rules the fake obeys, as plain data and functions: the paths it serves,
the readings of ``Paging.Offset`` and ``RecordCount`` it offers, the rate-limit reply styles,
what a lead id must look like, and which rows one ``Retrieve`` page holds.
"""

from __future__ import annotations

import re
from typing import Any

from ...vocabulary import GUID_PATTERN

RETRIEVE_PATH = "/v2/ProspectActivity.svc/Retrieve"
ACTIVITY_TYPES_PATH = "/v2/ProspectActivity.svc/ActivityTypes.Get"
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"

PAGING_READINGS = ("row", "page0", "page1")
RECORD_COUNT_MEANINGS = ("total", "page")
RATE_LIMIT_STYLES = ("429", "403", "200")

GUID_RE = re.compile(rf"^{GUID_PATTERN}$")  # the one rule, without stripping spaces
DEFAULT_ROW_COUNT = 25  # what the API page says one call returns without paging


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
