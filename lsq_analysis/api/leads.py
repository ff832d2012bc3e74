"""The lead, user and account-wide activity calls of :class:`~lsq_analysis.LeadSquaredClient`.

:class:`LeadCalls` is mixed into the client: each call goes through the client's one request
path (keys in headers, the shared rate limiter, retries, typed errors), and returns the
records as the API sent them (``*_raw``) or as typed frames
(:func:`~lsq_analysis.frames.leads_frame`, :func:`~lsq_analysis.frames.users_frame`).

What the docs leave open is met both ways (``../shared/api/leads-and-users.md``):

* ``Leads.RecentlyModified`` returns at most :data:`WINDOW_CAP` leads a call. Whether that caps
  a page or the whole paged window is not said, so a window that yields that many is split in
  two and each half read again (leads seen twice are kept once, the latest record).
* ``Leads.Get`` pages until a page comes back short (it sends no ``RecordCount``).
* Every lead call accepts either layout (flat objects or ``LeadPropertyList`` pairs), bare or
  in an envelope.

Example:
    >>> client = LeadSquaredClient()
    >>> leads = client.leads_modified("2026-11-01", "2026-12-01")
    >>> leads.group_by("source").len()
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import ResponseFormatError
from ..vocabulary import TimeBound, lead_ids, to_utc

__all__ = [
    "BY_IDS_CHUNK",
    "DEFAULT_LEAD_COLUMNS",
    "LEAD_OPERATORS",
    "LEAD_PATHS",
    "WINDOW_CAP",
    "LeadCalls",
    "as_lead_activity",
]

LEAD_PATHS = {
    "modified": "/v2/LeadManagement.svc/Leads.RecentlyModified",
    "search": "/v2/LeadManagement.svc/Leads.Get",
    "quick": "/v2/LeadManagement.svc/Leads.GetByQuickSearch",
    "by_ids": "/v2/LeadManagement.svc/Leads/Retrieve/ByIds",
    "users": "/v2/UserManagement.svc/Users.Get",
    "by_event": "/v2/ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent",
}
"""The endpoints these calls use."""
WINDOW_CAP = 5_000
"""The most leads ``Leads.RecentlyModified`` returns for one call (documented)."""
BY_IDS_CHUNK = 1_000
"""Lead ids per ``Leads/Retrieve/ByIds`` call (the docs allow 10,000; clients send 1,000)."""
LEAD_OPERATORS = ("=", "LIKE", ">", "<", "<=", ">=", "<>")
"""``SqlOperator`` values ``Leads.Get`` documents."""
DEFAULT_LEAD_COLUMNS = (
    "ProspectID,FirstName,LastName,EmailAddress,Phone,Mobile,Source,SourceMedium,"
    "SourceCampaign,ProspectStage,OwnerId,OwnerIdEmailAddress,Score,EngagementScore,"
    "CreatedOn,ModifiedOn"
)
"""The fields asked for when ``columns=`` is not given: those of the leads frame."""
_PAGE = 1_000  # leads per page
_EVENT_PAGE = 1_000  # account-wide activities per page
_API_TIME = "%Y-%m-%d %H:%M:%S"


def _schema_name(name: str, what: str) -> str:
    """A leads-frame column (``"stage"``) as its schema name; a schema name as it is."""
    from ..frames.leads import LEAD_FIELD_NAMES  # here: the client alone does not load frames

    text = str(name).strip()
    if text in LEAD_FIELD_NAMES:
        return LEAD_FIELD_NAMES[text]
    if not text or not text.replace("_", "").isalnum():
        raise ValueError(
            f"{what}: {name!r} is not a lead field's schema name (letters, digits and _, "
            "such as 'ProspectStage' or 'mx_City') nor a leads-frame column "
            f"({', '.join(LEAD_FIELD_NAMES)})"
        )
    return text


def _columns_csv(columns: Sequence[str] | str | None) -> str:
    if columns is None:
        return DEFAULT_LEAD_COLUMNS
    names = [c.strip() for c in ([columns] if isinstance(columns, str) else columns)]
    names = [_schema_name(n, "columns") for part in names for n in part.split(",") if n.strip()]
    if not any(n.lower() == "prospectid" for n in names):
        names.insert(0, "ProspectID")  # the frame is keyed by it
    return ",".join(n.strip() for n in names)


def _warn_unreturned(records: Sequence[dict[str, Any]], csv: str, asked: object) -> None:
    """Warn about asked-for fields no lead came back with: most likely not a field of the
    account (the API drops unknown names silently). The leads fetched are kept."""
    if asked is None or not records:
        return
    seen: set[str] = set()
    for record in records:
        pairs = record.get("LeadPropertyList")
        if isinstance(pairs, list):
            seen.update(str(p.get("Attribute", "")).lower() for p in pairs if isinstance(p, dict))
        seen.update(str(key).lower() for key in record)
    missing = [name for name in csv.split(",") if name.lower() not in seen]
    if missing:
        warnings.warn(
            f"columns: no lead came back with {missing}; check the schema names (LeadSquared's "
            "LeadsMetaData.Get, or Settings > Lead Fields, lists them; custom ones start with "
            "mx_). The leads fetched are kept.",
            UserWarning,
            stacklevel=3,
        )


def _window(start: TimeBound, end: TimeBound, what: str) -> tuple[dt.datetime, dt.datetime]:
    begin = to_utc(start, "start") if start is not None else None
    finish = to_utc(end, "end") if end is not None else dt.datetime.now(dt.timezone.utc)
    if begin is None:
        raise ValueError(f"{what}: start is required (a datetime, or a date such as '2026-11-01')")
    if begin >= finish:
        raise ValueError(
            f"{what}: start {begin.isoformat()} is not before end {finish.isoformat()}; "
            "give the earlier moment first"
        )
    return begin, finish


def _api_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime(_API_TIME)


def _lead_records(payload: Any, what: str) -> tuple[list[dict[str, Any]], int | None]:
    """The records of a lead reply (bare array or envelope) and its ``RecordCount``."""
    if isinstance(payload, list):
        records, count = payload, None
    elif isinstance(payload, dict) and isinstance(payload.get("Leads", []), list):
        records, raw_count = payload.get("Leads") or [], payload.get("RecordCount")
        count = int(str(raw_count).strip()) if str(raw_count).strip().isdigit() else None
    else:
        raise ResponseFormatError(f"{what} did not answer with a list of leads", status=200)
    if not all(isinstance(r, dict) for r in records):
        raise ResponseFormatError(f"{what} answered with a lead that is not an object", status=200)
    return records, count


class LeadCalls:
    """Lead, user and account-wide activity calls (mixed into the client)."""

    if TYPE_CHECKING:  # the client's one request path

        def _request(
            self,
            method: str,
            path: str,
            *,
            query: dict[str, str] | None = None,
            body: Any = None,
            lead_id: str | None = None,
            describe: str,
        ) -> Any: ...

        def get_activity_types(self) -> pl.DataFrame: ...

        def event_code(self, event: int | str | None) -> int | None: ...

    # ------------------------------------------------------------------ users
    def get_users_raw(self) -> list[dict[str, Any]]:
        """Every user of the account (``Users.Get``) as the API sends them.

        Example:
            >>> client.get_users_raw()[0]["ID"]
            'abc1d2ef-3g0h-45i6-j0kl-07m89o1pq2r3'
        """
        payload = self._request("GET", LEAD_PATHS["users"], describe="Users.Get")
        if not isinstance(payload, list) or not all(isinstance(u, dict) for u in payload):
            raise ResponseFormatError("Users.Get did not answer with a list of users", status=200)
        return payload

    def get_users(self) -> pl.DataFrame:
        """Every user of the account as a users frame (:func:`~lsq_analysis.frames.users_frame`).

        Example:
            >>> client.get_users().select("user_id", "name", "is_active").head(2)
        """
        from ..frames import users_frame

        return users_frame(self.get_users_raw())

    # ------------------------------------------------------------------ leads
    def quick_search_raw(self, text: str) -> list[dict[str, Any]]:
        """Leads matching ``text`` (``Leads.GetByQuickSearch``), as the API sends them.

        Example:
            >>> client.quick_search_raw("asha")[0]["FirstName"]
            'Asha'
        """
        key = str(text).strip()
        if not key:
            raise ValueError("quick_search: give some text to search for (a name, email, phone)")
        payload = self._request(
            "GET", LEAD_PATHS["quick"], query={"key": key}, describe="Leads.GetByQuickSearch"
        )
        return _lead_records(payload, "Leads.GetByQuickSearch")[0]

    def quick_search(self, text: str) -> pl.DataFrame:
        """Leads matching ``text`` in the account, as a leads frame (``[]`` -> no rows).

        Example:
            >>> client.quick_search("example.com").height
            3
        """
        from ..frames import leads_frame

        return leads_frame(self.quick_search_raw(text))

    def search_leads(
        self,
        field: str,
        value: object,
        *,
        op: str = "=",
        columns: Sequence[str] | str | None = None,
    ) -> pl.DataFrame:
        """Leads whose ``field`` compares with ``value`` (``Leads.Get``), every page.

        Args:
            field: a lead field's schema name, e.g. ``"ProspectStage"`` or ``"mx_City"``.
            value: what to compare with (a date as ``YYYY-MM-DD HH:MM:SS`` UTC).
            op: one of :data:`LEAD_OPERATORS`.
            columns: the fields to fetch (default :data:`DEFAULT_LEAD_COLUMNS`).

        Example:
            >>> client.search_leads("ProspectStage", "Customer").height
            12
        """
        from ..frames import leads_frame

        operator = str(op).strip().upper()
        if operator not in LEAD_OPERATORS:
            raise ValueError(f"op must be one of {', '.join(LEAD_OPERATORS)}, not {op!r}")
        name = _schema_name(field, "field")
        shown = value.strftime(_API_TIME) if isinstance(value, dt.datetime) else str(value)
        csv = _columns_csv(columns)
        body = {
            "Parameter": {"LookupName": name, "LookupValue": shown, "SqlOperator": operator},
            "Columns": {"Include_CSV": csv},
            "Sorting": {"ColumnName": "CreatedOn", "Direction": "1"},
        }
        records, _ = self._paged_leads(LEAD_PATHS["search"], body, "Leads.Get", _PAGE)
        _warn_unreturned(records, csv, columns)
        return leads_frame(records)

    def get_leads_by_ids(
        self, ids: Sequence[str], *, columns: Sequence[str] | str | None = None
    ) -> pl.DataFrame:
        """These leads (``Leads/Retrieve/ByIds``, :data:`BY_IDS_CHUNK` ids a call).

        Raises:
            ValueError: an id that is not a GUID (all of them named, before any call).

        Example:
            >>> client.get_leads_by_ids(lead_ids).height == len(lead_ids)
            True
        """
        from ..frames import leads_frame

        wanted, _ = lead_ids(ids)
        csv = _columns_csv(columns)
        records: list[dict[str, Any]] = []
        for start in range(0, len(wanted), BY_IDS_CHUNK):
            chunk = wanted[start : start + BY_IDS_CHUNK]
            body = {"SearchParameters": {"LeadIds": chunk}, "Columns": {"Include_CSV": csv}}
            what = f"Leads/Retrieve/ByIds {len(chunk)} ids"
            records += self._paged_leads(LEAD_PATHS["by_ids"], body, what, BY_IDS_CHUNK)[0]
        _warn_unreturned(records, csv, columns)
        return leads_frame(records)

    def leads_modified_windows(
        self, start: TimeBound, end: TimeBound = None, *, columns: Sequence[str] | str | None = None
    ) -> Iterator[tuple[dt.datetime, dt.datetime, list[dict[str, Any]]]]:
        """``(window start, window end, records)`` of every lead modified in ``[start, end)``,
        oldest window first (so a caller that stores each may resume from the last end).

        A window whose answer reaches :data:`WINDOW_CAP` leads, or holds fewer than its
        ``RecordCount`` says, is split in two and each half read again (down to one second),
        so no lead is cut off by the cap.

        Example:
            >>> sum(len(records) for *_, records in client.leads_modified_windows("2026-11-01"))
            12093
        """
        begin, finish = _window(start, end, "leads_modified")
        csv = _columns_csv(columns)
        todo = [(begin, finish)]
        while todo:
            low, high = todo.pop()
            records, total = self._modified_window(low, high, csv)
            cut = len(records) >= WINDOW_CAP or (total is not None and total > len(records))
            if cut and high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0) if middle.microsecond else middle
                todo += [(middle, high), (low, middle)]  # the older half first
                continue
            yield low, high, records

    def _modified_window(
        self, low: dt.datetime, high: dt.datetime, csv: str
    ) -> tuple[list[dict[str, Any]], int | None]:
        last = high - dt.timedelta(seconds=1)  # ToDate is inclusive, to the second
        body = {
            "Parameter": {"FromDate": _api_time(low), "ToDate": _api_time(max(low, last))},
            "Columns": {"Include_CSV": csv},
            "Sorting": {"ColumnName": "ModifiedOn", "Direction": "1"},
        }
        what = f"Leads.RecentlyModified {_api_time(low)}..{_api_time(last)}"
        return self._paged_leads(LEAD_PATHS["modified"], body, what, _PAGE, cap=WINDOW_CAP)

    def _paged_leads(
        self, path: str, body: dict[str, Any], what: str, size: int, *, cap: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Every page of one lead query (until a short page or ``cap``), and
        the ``RecordCount`` the last page sent."""
        records: list[dict[str, Any]] = []
        count: int | None = None
        for index in range(1, 1_000_000):
            paged = {**body, "Paging": {"PageIndex": index, "PageSize": size}}
            payload = self._request("POST", path, body=paged, describe=f"{what} page {index}")
            page, count = _lead_records(payload, what.split(" ")[0])
            records.extend(page)
            # a short page ends it (RecordCount is not a stop: some calls send a page's count)
            if len(page) < size or (cap is not None and len(records) >= cap):
                break
        return records, count

    def leads_modified(
        self, start: TimeBound, end: TimeBound = None, *, columns: Sequence[str] | str | None = None
    ) -> pl.DataFrame:
        """Every lead modified in ``[start, end)`` (default end: now), as a leads frame.

        ``Leads.RecentlyModified`` filters on ``LastModifiedOn``, which also moves when a
        related record changes, so it may list more leads than the web app's "Modified On".

        Raises:
            ValueError: no start, or a start that is not before the end.

        Example:
            >>> client.leads_modified("2026-11-25", "2026-12-02")["stage"].value_counts()
        """
        from ..frames import leads_frame

        parts = self.leads_modified_windows(start, end, columns=columns)
        records = [record for *_, records in parts for record in records]
        _warn_unreturned(records, _columns_csv(columns), columns)
        return leads_frame(records)

    # ------------------------------------------------------------------ account-wide
    def activities_by_event_raw(
        self, event: int | str, start: TimeBound, end: TimeBound = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of every activity of one event type modified in ``[start, end)``,
        account-wide (``CustomActivity/RetrieveByActivityEvent``), as the API sends them (flat
        items). ``event`` is a code or an activity type's name (:meth:`event_code`).

        Raises:
            ValueError: an unknown event name (the message lists the account's), or a window
                whose start is not before its end; both before any page is asked for.

        Example:
            >>> next(client.activities_by_event_raw(21, "2026-11-01"))[0]["ActivityEvent"]
            '21'
        """
        begin, finish = _window(start, end, "activities_by_event")
        code = self.event_code(event)
        if code is None:
            raise ValueError("activities_by_event: give the event type, a code or a name")
        last = finish - dt.timedelta(seconds=1)
        seen = 0
        for index in range(1, 10_000_000):
            body = {
                "Parameter": {
                    "FromDate": _api_time(begin),
                    "ToDate": _api_time(max(begin, last)),
                    "ActivityEvent": code,
                    "RemoveEmptyValue": False,
                },
                "Paging": {"PageIndex": index, "PageSize": _EVENT_PAGE},
                "Sorting": {"ColumnName": "ModifiedOn", "Direction": 0},
            }
            payload = self._request(
                "POST",
                LEAD_PATHS["by_event"],
                body=body,
                describe=f"RetrieveByActivityEvent {code} page {index}",
            )
            if not isinstance(payload, dict) or not isinstance(payload.get("List", []), list):
                raise ResponseFormatError(
                    "RetrieveByActivityEvent did not answer with a List of activities", status=200
                )
            page = [item for item in payload.get("List") or [] if isinstance(item, dict)]
            seen += len(page)
            if page:
                yield page
            total = payload.get("RecordCount")
            if len(page) < _EVENT_PAGE or (isinstance(total, int) and seen >= total):
                break

    def activities_by_event(
        self, event: int | str, start: TimeBound, end: TimeBound = None
    ) -> pl.DataFrame:
        """Every activity of one event type (a code or a name) modified in ``[start, end)``,
        account-wide, as the expanded frame of the per-lead call (:func:`as_lead_activity`
        maps the flat items).

        Example:
            >>> client.activities_by_event(21, "2026-11-01").select("lead_id", "event_name")
        """
        from ..frames import activities_frame

        names = dict(self.get_activity_types().select("event_code", "event_name").iter_rows())
        items = [
            as_lead_activity(item, names)
            for page in self.activities_by_event_raw(event, start, end)
            for item in page
        ]
        return activities_frame(items)


_TOP_KEYS = {  # flat item key -> the per-lead activity's key
    "ProspectActivityId": "Id",
    "RelatedProspectId": "RelatedProspectId",
    "ActivityEvent": "EventCode",
    "ActivityType": "ActivityType",
    "ActivityScore": "ActivityScore",
    "CreatedOn": "CreatedOn",
    "ModifiedOn": "ModifiedOn",
    "EventName": "EventName",
}


def as_lead_activity(item: dict[str, Any], names: dict[int, str] | None = None) -> dict[str, Any]:
    """A ``RetrieveByActivityEvent`` item in the per-lead call's shape: its own keys on top
    (``Id``, ``EventCode`` as a number, ``EventName`` from ``names``), every other key
    (``Status``, ``CreatedBy``, ``mx_Custom_N``, ``ActivityEvent_Note``) under
    ``ActivityFields``, where the per-lead call puts the activity's fields.

    Example:
        >>> as_lead_activity({"ProspectActivityId": "a", "ActivityEvent": "21", "Status": "Active"})
        {'Id': 'a', 'EventCode': 21, 'ActivityFields': {'Status': 'Active'}}
    """
    out: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for key, value in item.items():
        if key in _TOP_KEYS:
            out[_TOP_KEYS[key]] = value
        else:
            fields[key] = value
    code = out.get("EventCode")
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        out["EventCode"] = int(code)
    if names and "EventName" not in out and isinstance(out.get("EventCode"), int):
        name = names.get(out["EventCode"])
        if name is not None:
            out["EventName"] = name
    if fields:
        out["ActivityFields"] = fields
    return out
