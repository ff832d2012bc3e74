"""Every activity of one type in the account, in a window: the account-wide pull.

:func:`fetch_events` asks ``CustomActivity/RetrieveByActivityEvent`` for the activities of
one event type modified in a window (a few calls for thousands of activities, where fetching
lead by lead costs a call or more per lead), maps its flat items to the per-lead shape
(:func:`lsq_analysis.api.leads.as_lead_activity`) and returns the frame
:func:`lsq_analysis.fetch_activities` would give for them. With a store, they are merged
into each lead's stored activities without duplicates
(:mod:`lsq_analysis.store.events`), committed every few seconds as pages arrive: a pull that
fails or is stopped keeps what it committed, and the same pull run again writes nothing new.

Example:
    >>> import lsq_analysis as lsq
    >>> calls = lsq.fetch_events("Phone Call", "30d", store="lsq-store")
    >>> calls.group_by("lead_id").len().height   # leads that had a call
    412
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from tqdm.auto import tqdm

from .errors import FetchError, LeadSquaredError
from .frames import activities_frame
from .leads import since_moment
from .store import ActivityStore
from .store.events import EventMerge, merge_event_activities
from .store.records import Key, activity_key
from .vocabulary import Event, TimeBound, catalog_from_types, resolve_events

if TYPE_CHECKING:
    from .api.client import LeadSquaredClient

__all__ = [
    "COMMIT_ACTIVITIES",
    "COMMIT_SECONDS",
    "EventsResult",
    "fetch_events",
    "run_fetch_events",
]

COMMIT_SECONDS = 5.0
"""With a store, the longest pulled activities wait for their commit (seconds)."""
COMMIT_ACTIVITIES = 5_000
"""With a store, the most pulled activities that wait for their commit."""


@dataclass(frozen=True)
class EventsResult:
    """What :func:`run_fetch_events` fetched and stored.

    Attributes:
        frame: the expanded frame of the activities pulled (each once).
        event: the event code pulled; ``event_name`` its name.
        start, end: the window of ``ModifiedOn`` (``end`` exclusive), UTC.
        calls: API calls made (the catalog look-up included).
        seconds: how long it took.
        stored: what the store gained (None without a store).
    """

    frame: pl.DataFrame
    event: int
    event_name: str
    start: dt.datetime
    end: dt.datetime
    calls: int
    seconds: float
    stored: EventMerge | None

    def summary(self) -> str:
        """One line for a person.

        Example:
            >>> result.summary()
            "957 'Phone Call' activities of 412 leads in 3 calls (2.1 s); ..."
        """
        leads = self.frame["lead_id"].n_unique() if self.frame.height else 0
        line = (
            f"{self.frame.height:,} {self.event_name!r} activities of {leads:,} leads in "
            f"{self.calls:,} calls ({self.seconds:.1f} s)"
        )
        if self.stored is not None:
            s = self.stored
            line += (
                f"; the store gained {s.added:,}, updated {s.updated:,} and already had "
                f"{s.unchanged:,}; {s.new_leads:,} leads are new to it (partial until "
                "fetched per lead)"
            )
        return line


def _calls(client: Any) -> int:
    stats = getattr(client, "stats", None)
    value = stats.get("calls", 0) if isinstance(stats, Mapping) else getattr(stats, "calls", 0)
    return int(value or 0)


def _moment(value: TimeBound | dt.timedelta | str | None, what: str) -> dt.datetime | None:
    return None if value is None else since_moment(value, what)


def _pending_merge(a: EventMerge | None, b: EventMerge) -> EventMerge:
    if a is None:
        return b
    return EventMerge(
        b.version,
        a.leads + b.leads,
        a.new_leads + b.new_leads,
        a.added + b.added,
        a.updated + b.updated,
        a.unchanged + b.unchanged,
    )


def run_fetch_events(
    event: Event,
    start: TimeBound | dt.timedelta | str,
    end: TimeBound | dt.timedelta | str | None = None,
    *,
    client: LeadSquaredClient | None = None,
    store: ActivityStore | str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> EventsResult:
    """:func:`fetch_events`, returning the figures too (:class:`EventsResult`).

    Example:
        >>> print(run_fetch_events("Phone Call", "30d", store="lsq-store").summary())
    """
    started = time.monotonic()
    begin = _moment(start, "start")
    finish = _moment(end, "end") or dt.datetime.now(dt.timezone.utc)
    if begin is None or begin >= finish:
        shown = begin.isoformat() if begin else start
        raise ValueError(
            f"fetch_events: start {shown} is not before end {finish.isoformat()}; give the "
            "earlier moment first (e.g. start='30d' for the last 30 days)"
        )
    if client is None:
        from .api.client import LeadSquaredClient

        client = LeadSquaredClient()
    if store is not None and not isinstance(store, ActivityStore):
        store = ActivityStore(Path(store))
    calls_before = _calls(client)
    types = client.get_activity_types()
    code = resolve_events(event, catalog_from_types(types), single=True)[0]
    names = dict(types.select("event_code", "event_name").iter_rows())
    name = str(names.get(code, event))

    from .api.leads import as_lead_activity

    pulled: dict[Key, dict[str, Any]] = {}  # each activity once; a later page's copy wins
    loose: list[dict[str, Any]] = []  # activities without an Id (kept, never merged)
    waiting: list[dict[str, Any]] = []
    stored: EventMerge | None = None
    last_commit = time.monotonic()

    def commit() -> None:
        nonlocal stored, waiting, last_commit
        if isinstance(store, ActivityStore) and waiting:
            stored = _pending_merge(stored, merge_event_activities(store, waiting))
        waiting, last_commit = [], time.monotonic()

    bar = tqdm(desc=f"{name} activities", unit=" activities", disable=not progress, leave=False)
    try:
        for page in client.activities_by_event_raw(code, begin, finish):
            for item in page:
                activity = as_lead_activity(item, names)
                key = activity_key(activity)
                if key is None:
                    loose.append(activity)
                else:
                    pulled[key] = activity
                waiting.append(activity)
            bar.update(len(page))
            due = time.monotonic() - last_commit >= COMMIT_SECONDS
            if due or len(waiting) >= COMMIT_ACTIVITIES:
                commit()
        commit()
    except (LeadSquaredError, KeyboardInterrupt) as err:
        commit()  # what came before the failure is kept
        if isinstance(err, KeyboardInterrupt):
            raise
        frame = activities_frame([*pulled.values(), *loose])
        kept = " (those are stored)" if store is not None else ""
        raise FetchError(
            f"fetch_events stopped after {frame.height:,} {name!r} activities{kept}: {err}. "
            "Run it again to go on: activities already stored are not stored twice. "
            "The error's .frame holds what was fetched.",
            frame=frame,
            failures=pl.DataFrame(
                {"lead_id": [None], "error": [type(err).__name__], "message": [str(err)]},
                schema={"lead_id": pl.String, "error": pl.String, "message": pl.String},
            ),
        ) from err
    finally:
        bar.close()
    return EventsResult(
        frame=activities_frame([*pulled.values(), *loose]),
        event=code,
        event_name=name,
        start=begin,
        end=finish,
        calls=_calls(client) - calls_before,
        seconds=time.monotonic() - started,
        stored=stored,
    )


def fetch_events(
    event: Event,
    start: TimeBound | dt.timedelta | str,
    end: TimeBound | dt.timedelta | str | None = None,
    *,
    client: LeadSquaredClient | None = None,
    store: ActivityStore | str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> pl.DataFrame:
    """Every activity of one type modified in ``[start, end)``, account-wide.

    Args:
        event: the event type: a code (``21``) or its name (``"Phone Call"``), looked up in
            the account's activity-type catalog.
        start: the window's start: a datetime, a date (``"2026-11-01"``), or an age
            (``"30d"``, ``"12h"``, a ``timedelta``) before now.
        end: its end (exclusive); default now.
        client: the client to use (default: one from ``LSQ_*`` settings).
        store: an :class:`~lsq_analysis.store.ActivityStore` (or its folder) to merge the
            activities into: no activity is stored twice, the later-modified copy wins,
            leads the store held completely stay complete, and leads it did not hold are
            stored as ``partial`` (a later ``fetch_activities`` fetches them in full).
        progress: show a progress bar.

    Returns:
        The expanded frame (the columns of :func:`~lsq_analysis.fetch_activities`), each
        activity once. The window is on ``ModifiedOn``: an activity created before
        ``start`` and modified in the window is there.

    Raises:
        ValueError: an unknown event name (the message lists the account's names), a name
            of several types, or a window whose start is not before its end.
        FetchError: a call failed after its retries; what was fetched before is in
            ``.frame`` (and committed to the store).

    Example:
        >>> import lsq_analysis as lsq
        >>> with lsq.FakeLeadSquared() as fake:
        ...     calls = lsq.fetch_events("Email Opened", "2000-01-01", client=fake.client())
        >>> set(calls["event_name"])
        {'Email Opened'}
    """
    return run_fetch_events(event, start, end, client=client, store=store, progress=progress).frame
