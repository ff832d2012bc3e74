"""Account-wide activities of one event type, merged into what the store holds per lead.

An account-wide pull (``RetrieveByActivityEvent``) brings some activities of many leads; a
per-lead fetch brings all of one lead's. Both land in the same lead's rows without
duplicates: an activity of the pulled type is the pair (``Id``, ``EventCode``) (unique for
every code but the audit log's, which a pull never brings), and the version with the later
``ModifiedOn`` wins, the stored one on a tie (a per-lead fetch's JSON, which the next refresh
compares whole, is kept rather than the pull's reshaped item). A lead the store held
completely stays complete, with its ``fetched_at`` (its other activities are as old as that);
a lead it did not hold becomes ``partial``: read like the others, fetched in full by the
next ``fetch_activities``. A lead whose activities the pull did not change is not written
again, so a pull repeated over the same window writes nothing.

Example:
    >>> merged = merge_event_activities(store, client_items)
    >>> merged.added, merged.updated, merged.new_leads
    (957, 3, 40)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
import polars as pl

from ..vocabulary import lead_id, to_utc
from .activity_store import ActivityStore
from .records import Key, activity_key

__all__ = ["EventMerge", "merge_event_activities", "merge_lead_events"]


@dataclass(frozen=True)
class EventMerge:
    """What :func:`merge_event_activities` did.

    Attributes:
        version: the store's version after the write (unchanged when nothing changed).
        leads: leads written (their activities changed).
        new_leads: of those, leads the store held no activity of before (now ``partial``).
        added: activities the store did not hold.
        updated: stored activities replaced by a later-modified version.
        unchanged: activities the store already held as they are (or newer).
    """

    version: int
    leads: int
    new_leads: int
    added: int
    updated: int
    unchanged: int


def _modified(activity: Mapping[str, Any]) -> datetime:
    """``ModifiedOn`` (or, never modified, ``CreatedOn``) as a UTC moment; the oldest
    moment when neither reads as one."""
    for key in ("ModifiedOn", "CreatedOn"):
        value = activity.get(key)
        if isinstance(value, str) and value and not value.startswith("0001-01-01"):
            try:
                moment = to_utc(value, key)
            except ValueError:
                continue
            if moment is not None:
                return moment
    return datetime.min.replace(tzinfo=timezone.utc)


def _created(activity: Mapping[str, Any]) -> str:
    value = activity.get("CreatedOn")
    return value if isinstance(value, str) else ""


def merge_lead_events(
    stored: Sequence[Mapping[str, Any]], pulled: Sequence[Mapping[str, Any]]
) -> tuple[list[Mapping[str, Any]], int, int, int]:
    """One lead's activities with the pulled ones merged in: (activities newest first,
    added, updated, unchanged).

    Stored activities keep their order; an added one goes before the first stored activity
    created before it (``CreatedOn``, as the API writes it).

    Example:
        >>> old = {"Id": "a", "EventCode": 21, "CreatedOn": "2025-01-01 10:00:00",
        ...        "ModifiedOn": "2025-01-01 10:00:00"}
        >>> new = {**old, "ModifiedOn": "2025-01-02 09:00:00"}
        >>> other = {"Id": "b", "EventCode": 21, "CreatedOn": "2025-01-03 08:00:00"}
        >>> rows, added, updated, unchanged = merge_lead_events([old], [new, other])
        >>> [r["Id"] for r in rows], added, updated, unchanged
        (['b', 'a'], 1, 1, 0)
    """
    out: list[Mapping[str, Any]] = list(stored)
    where: dict[Key, int] = {}
    for index, activity in enumerate(out):
        key = activity_key(activity)
        if key is not None:
            where.setdefault(key, index)
    added: list[Mapping[str, Any]] = []
    updated = unchanged = 0
    for activity in pulled:
        key = activity_key(activity)
        found = where.get(key) if key is not None else None
        if found is None:
            if key is not None:
                where[key] = -1 - len(added)  # a pulled duplicate of a pulled one
            added.append(activity)
        elif found < 0:
            if _modified(activity) > _modified(added[-1 - found]):  # modified during the pull
                added[-1 - found] = activity
        elif _modified(activity) > _modified(out[found]):
            out[found] = activity
            updated += 1
        else:
            unchanged += 1
    for activity in sorted(added, key=_created, reverse=True):
        created = _created(activity)
        spot = next((i for i, a in enumerate(out) if _created(a) < created), len(out))
        out.insert(spot, activity)
    return out, len(added), updated, unchanged


def merge_event_activities(
    store: ActivityStore,
    activities: Iterable[Mapping[str, Any]],
    *,
    fetched_at: datetime | None = None,
) -> EventMerge:
    """Merge account-wide activities (per-lead shape, each with ``RelatedProspectId``) into
    ``store`` in one write, as the module describes.

    Raises:
        ValueError: an activity without a lead id that is a GUID (the message names it).

    Example:
        >>> merge_event_activities(store, [as_lead_activity(i) for i in page]).added
        250
    """
    by_lead: dict[str, list[Mapping[str, Any]]] = {}
    for activity in activities:
        related = activity.get("RelatedProspectId")
        try:
            lead = lead_id(related)
        except ValueError:
            raise ValueError(
                f"An account-wide activity (Id {activity.get('Id')!r}) has RelatedProspectId "
                f"{related!r}, not a lead id; nothing of this pull was stored"
            ) from None
        by_lead.setdefault(lead, []).append(activity)
    if not by_lead:
        return EventMerge(store.version, 0, 0, 0, 0, 0)
    known = store.stored_leads().filter(pl.col("lead_id").is_in(list(by_lead)))
    state = {row["lead_id"]: row for row in known.iter_rows(named=True)}
    rows = store.raw_rows(list(state)).sort("lead_id", "position", maintain_order=True)
    stored: dict[str, list[Any]] = {}
    for lead, text in zip(rows["lead_id"], rows["activity"], strict=True):
        stored.setdefault(lead, []).append(orjson.loads(text))
    now = fetched_at or datetime.now(timezone.utc)
    mapping: dict[str, list[Mapping[str, Any]]] = {}
    when: dict[str, datetime] = {}
    pages: dict[str, int] = {}
    partial: list[str] = []
    added = updated = unchanged = new = 0
    for lead, pulled in by_lead.items():
        merged, n_added, n_updated, n_same = merge_lead_events(stored.get(lead, []), pulled)
        added, updated, unchanged = added + n_added, updated + n_updated, unchanged + n_same
        if not n_added and not n_updated:
            continue
        mapping[lead] = merged
        known_lead = state.get(lead)
        if known_lead is not None and known_lead["complete"]:
            when[lead] = known_lead["fetched_at"]
            if known_lead["pages"] is not None:
                pages[lead] = int(known_lead["pages"])
        else:
            when[lead] = now
            partial.append(lead)
            new += known_lead is None
    version = store.write_leads(mapping, fetched_at=when, pages=pages, partial=partial)
    return EventMerge(version, len(mapping), new, added, updated, unchanged)
