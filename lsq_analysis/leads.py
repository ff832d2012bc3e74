"""Finding the leads to study in the account, and keeping them in the store.

:func:`find_leads` asks the account for leads (modified or created since a moment, matching a
text, or with given field values), names their owners from the users, and with a store keeps
them in its ``leads`` table. With a store and no criterion it reads incrementally: the leads
modified since the store's watermark (where the last read ended), window by window, each
window committed as it arrives, so a read that is stopped resumes where it stopped.

Example:
    >>> import lsq_analysis as lsq
    >>> leads = lsq.find_leads(store="lsq-store", modified_since="7d")
    >>> lsq.fetch_activities(leads, store="lsq-store")   # a leads frame works as the ids
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from .frames import leads_frame
from .frames.leads import LEAD_FIELD_NAMES
from .store import ActivityStore
from .vocabulary import TimeBound, to_utc

if TYPE_CHECKING:
    from .api.client import LeadSquaredClient

__all__ = ["FIELD_NAMES", "RESUME_OVERLAP", "find_leads", "since_moment"]

FIELD_NAMES: Mapping[str, str] = LEAD_FIELD_NAMES
"""Leads-frame column -> the API's schema name, for ``find_leads(stage="Customer")``; any
other keyword is taken as a schema name itself (``mx_City="Pune"``)."""
RESUME_OVERLAP = dt.timedelta(minutes=5)
"""How far before the watermark an incremental read starts (a lead modified while the last
read ran is read again rather than missed; the store keeps each lead once)."""


def since_moment(value: TimeBound | dt.timedelta | str, what: str = "since") -> dt.datetime:
    """A moment from a datetime, a date text, a timedelta ago, or an age text ago (``"7d"``,
    ``"12h"``, ``"30m"``, ``"90s"``).

    Example:
        >>> since_moment("1d") < dt.datetime.now(dt.timezone.utc)
        True
    """
    now = dt.datetime.now(dt.timezone.utc)
    if isinstance(value, dt.timedelta):
        return now - value
    if isinstance(value, str):
        age = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value.lower())
        if age:
            unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
            return now - dt.timedelta(**{unit: float(age.group(1))})
    moment = to_utc(value, what)
    if moment is None:
        raise ValueError(f"{what}: give a moment, e.g. '2026-11-01' or '7d'")
    return moment


def find_leads(
    *,
    client: LeadSquaredClient | None = None,
    store: ActivityStore | str | os.PathLike[str] | None = None,
    modified_since: TimeBound | dt.timedelta | str = None,
    created_since: TimeBound | dt.timedelta | str = None,
    search: str | None = None,
    columns: list[str] | None = None,
    progress: bool = True,
    **field_filters: Any,
) -> pl.DataFrame:
    """Leads of the account as a leads frame, owners named; kept in the store's ``leads``.

    Criteria combine (a lead must meet all of them): ``modified_since`` (``Leads.RecentlyModified``
    windows, split at the API's cap), ``created_since`` and each field filter (``Leads.Get``),
    ``search`` (quick search over names, emails and phones). With a store and no criterion,
    the leads modified since the store's watermark (an incremental, resumable read).

    Args:
        client: a client (default: one from the ``LSQ_*`` settings).
        store: an :class:`~lsq_analysis.ActivityStore` or its folder: the leads and the users
            are kept in it; each ``modified_since`` window is committed as it arrives.
        modified_since, created_since: a datetime, a date text, a timedelta or an age such
            as ``"7d"``.
        search: text for the account's quick search.
        columns: the lead fields to fetch (schema names; default: the leads frame's).
        progress: show a progress bar over the ``modified_since`` windows' leads.
        **field_filters: ``stage="Customer"``, ``source="Google Ads"`` (leads-frame names,
            see :data:`FIELD_NAMES`) or schema names (``mx_City="Pune"``).

    Raises:
        ValueError: no criterion and no store watermark to resume from; a bad moment.

    Example:
        >>> find_leads(modified_since="30d", stage="Customer").height
        41
    """
    from .api.client import LeadSquaredClient

    client = client or LeadSquaredClient()
    if store is not None and not isinstance(store, ActivityStore):
        store = ActivityStore(store)
    since = None if modified_since is None else since_moment(modified_since, "modified_since")
    if (
        since is None
        and created_since is None
        and search is None
        and not field_filters
        and store is not None
    ):
        mark = store.leads_watermark()
        if mark is None:
            raise ValueError(
                "find_leads: this store holds no leads yet, so there is nothing to resume from; "
                "say which leads, e.g. modified_since='30d'"
            )
        since = mark - RESUME_OVERLAP
    if since is None and created_since is None and search is None and not field_filters:
        raise ValueError(
            "find_leads: say which leads: modified_since=, created_since=, search= or a field "
            "such as stage='Customer'"
        )
    users = _users(client, store)
    parts: list[pl.DataFrame] = []
    if since is not None:
        from tqdm.auto import tqdm

        found = []
        bar = tqdm(unit="lead", desc="Reading leads", disable=not progress, dynamic_ncols=True)
        try:
            for _, high, records in client.leads_modified_windows(since, None, columns=columns):
                part = leads_frame(records, users=users)
                if store is not None:
                    store.update_leads(part, until=high)  # committed: a stop resumes here
                found.append(part)
                bar.update(part.height)
        finally:
            bar.close()
        parts.append(pl.concat(found, how="diagonal_relaxed") if found else leads_frame([]))
    if created_since is not None:
        moment = since_moment(created_since, "created_since")
        parts.append(client.search_leads("CreatedOn", moment, op=">=", columns=columns))
    if search is not None:
        parts.append(client.quick_search(search))
    for name, value in field_filters.items():
        parts.append(client.search_leads(FIELD_NAMES.get(name, name), value, columns=columns))
    result = leads_frame(parts[0], users=users)
    for other in parts[1:]:
        result = result.filter(pl.col("lead_id").is_in(other["lead_id"].implode()))
    if store is not None and (since is None or len(parts) > 1):
        store.update_leads(result)
    return result


def _users(client: LeadSquaredClient, store: ActivityStore | None) -> pl.DataFrame:
    """The account's users: from the store when it has them, else asked for (and stored)."""
    if store is not None:
        kept = store.users()
        if kept.height:
            return kept
    users = client.get_users()
    if store is not None:
        store.update_users(users)
    return users
