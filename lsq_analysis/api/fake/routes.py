"""The lead, user and account-wide activity routes of the fake: path -> what answers it.

Each route takes the fake (its options and data, :class:`LeadBackend`), the query parameters
(names in lower case) and the JSON body (``{}`` for a GET), and returns the reply's payload or
raises :class:`~lsq_analysis.api.fake.rules.ApiError`. The handler has checked the keys, the
rate limit and the faults before a route runs, as for every other path.

Example:
    >>> route = LEAD_ROUTES[("GET", USERS_PATH.lower())]
    >>> users = route(fake, {}, {})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from .account_activities import by_activity_event
from .lead_queries import by_ids, leads_get, quick_search, recently_modified
from .rules import (
    ACTIVITIES_BY_EVENT_PATH,
    LEADS_BY_IDS_PATH,
    LEADS_GET_PATH,
    LEADS_QUICK_SEARCH_PATH,
    LEADS_RECENTLY_MODIFIED_PATH,
    USERS_PATH,
)

__all__ = ["LEAD_ROUTES", "LeadBackend", "Route"]


class LeadBackend(Protocol):
    """What the lead routes read from the fake they serve (a FakeLeadSquared)."""

    leads: dict[str, list[dict[str, Any]]]
    lead_layout: str
    lead_record_count: str
    lead_window_field: str
    max_leads_per_window: int
    by_ids_id_key: str | None

    def lead_records(self) -> list[dict[str, Any]]: ...

    def users(self) -> list[dict[str, Any]]: ...

    def activity_types(self) -> list[dict[str, Any]]: ...


Route = Callable[[LeadBackend, Mapping[str, str], Mapping[str, Any]], Any]


def _recently_modified(
    fake: LeadBackend, query: Mapping[str, str], request: Mapping[str, Any]
) -> Any:
    return recently_modified(
        fake.lead_records(),
        request,
        cap=fake.max_leads_per_window,
        record_count=fake.lead_record_count,
        window_field=fake.lead_window_field,
    )


def _leads_get(fake: LeadBackend, query: Mapping[str, str], request: Mapping[str, Any]) -> Any:
    return leads_get(fake.lead_records(), request, layout=fake.lead_layout)


def _quick_search(fake: LeadBackend, query: Mapping[str, str], request: Mapping[str, Any]) -> Any:
    return quick_search(fake.lead_records(), query.get("key", ""), layout=fake.lead_layout)


def _by_ids(fake: LeadBackend, query: Mapping[str, str], request: Mapping[str, Any]) -> Any:
    return by_ids(fake.lead_records(), request, id_key=fake.by_ids_id_key)


def _users(fake: LeadBackend, query: Mapping[str, str], request: Mapping[str, Any]) -> Any:
    return fake.users()


def _by_event(fake: LeadBackend, query: Mapping[str, str], request: Mapping[str, Any]) -> Any:
    users: Sequence[Mapping[str, Any]] = fake.users()
    return by_activity_event(fake.leads, request, catalog=fake.activity_types(), users=users)


LEAD_ROUTES: dict[tuple[str, str], Route] = {
    ("POST", LEADS_RECENTLY_MODIFIED_PATH.lower()): _recently_modified,
    ("POST", LEADS_GET_PATH.lower()): _leads_get,
    ("GET", LEADS_QUICK_SEARCH_PATH.lower()): _quick_search,
    ("POST", LEADS_BY_IDS_PATH.lower()): _by_ids,
    ("GET", USERS_PATH.lower()): _users,
    ("POST", ACTIVITIES_BY_EVENT_PATH.lower()): _by_event,
}
"""(method, lower-case path) -> the route answering it."""
