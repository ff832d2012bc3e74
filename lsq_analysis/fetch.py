"""Fetch many leads at the account's full rate limit, into one expanded frame.

The API gives one lead per call and allows 2 to 25 calls per 5 seconds, so the rate
limit, not the machine, is the bottleneck. :func:`fetch_activities` keeps that pipe
full: a thread pool runs many leads at once while the client's shared limiter spaces
the calls, pages are expanded as they arrive, a failure stays with its lead, and an
:class:`~lsq_analysis.store.ActivityStore` makes a re-run cost no calls at all.

Example:
    >>> import lsq_analysis as lsq
    >>> df = lsq.fetch_activities(lead_ids, store="lsq-store")
    >>> df.group_by("lead_id").len()
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from .errors import (
    AuthenticationError,
    ConfigurationError,
    FetchError,
    LeadSquaredError,
    ServerError,
)
from .store import ActivityStore, as_max_age, concat_frames
from .store.writer import BATCH_LEADS, BATCH_SECONDS, BatchWriter, stored_identities
from .vocabulary import activity_identity, single_event
from .vocabulary import lead_ids as lead_ids_of

if TYPE_CHECKING:
    from .api.client import LeadSquaredClient

__all__ = ["FetchResult", "FetchWarning", "fetch_activities", "run_fetch"]

ERROR_MODES = ("warn", "raise")
REFRESH_MODES = ("newest", "full")
_FATAL = (AuthenticationError, ConfigurationError)
"""Errors that concern every lead alike (wrong keys, wrong host): the run stops."""


class FetchWarning(UserWarning):
    """Some leads could not be fetched (``errors="warn"``); the message lists them."""


class _Cancelled(Exception):
    """Raised inside a worker when the run was interrupted."""


@dataclass
class FetchResult:
    """Everything a fetch run produced, for callers that want more than the frame.

    Attributes:
        frame: the expanded activities of every lead that could be read, in the order the
            leads were given, each lead's activities in the order the API sent them.
        failures: one row per failed lead: ``lead_id``, ``error`` (class), ``message``.
        leads: distinct leads asked for.
        from_store: leads answered by the store without any call.
        fetched: leads fetched completely from the API.
        refreshed: stale stored leads refreshed (their newest pages, or all with
            ``refresh="full"``).
        calls: API calls made during the run (every attempt, retries included).
        retries: retried calls during the run.
        rate_limited: rate-limit replies seen during the run.
        seconds: wall time of the run.
    """

    frame: pl.DataFrame
    failures: pl.DataFrame
    leads: int = 0
    from_store: int = 0
    fetched: int = 0
    refreshed: int = 0
    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def activities(self) -> int:
        """Rows in the frame."""
        return self.frame.height

    def summary(self) -> str:
        """One line a person reads at the end of a run.

        Example:
            >>> print(result.summary())
            300 leads (0 from the store), 41,210 activities, 612 calls, 0 failed, in 2m 3s
        """
        parts = [f"{self.leads:,} leads ({self.from_store:,} from the store"]
        if self.refreshed:
            parts[0] += f", {self.refreshed:,} refreshed"
        parts[0] += ")"
        parts.append(f"{self.activities:,} activities")
        calls = f"{self.calls:,} calls"
        if self.rate_limited:
            calls += f" ({self.rate_limited:,} rate-limited)"
        parts.append(calls)
        parts.append(f"{self.failures.height:,} failed")
        return ", ".join(parts) + f", in {_duration(self.seconds)}"

    def failure_message(self, shown: int = 10) -> str:
        """What failed, for a person: a count, then up to ``shown`` leads with their errors.

        Example:
            >>> print(result.failure_message(shown=1))
            2 of 300 leads failed; the frame holds the other leads. Run again (with the same
            store) to fetch only what is missing.
              3a6d5ea2-…: ServerError: No reply within 30 s
              … and 1 more (see FetchError.failures)
        """
        lines = [
            f"{self.failures.height} of {self.leads} leads failed; the frame holds the other "
            "leads. Run again (with the same store) to fetch only what is missing."
        ]
        for lead, error, message in self.failures.head(shown).iter_rows():
            lines.append(f"  {lead}: {error}: {message}")
        if self.failures.height > shown:
            lines.append(f"  … and {self.failures.height - shown} more (see FetchError.failures)")
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


def _not_tried(cause: BaseException, lead: str) -> ServerError:
    """The failure of a lead left out because an earlier one found the host unreachable."""
    said = getattr(cause, "message", None) or str(cause)
    return ServerError(f"Not tried, as the host could not be reached: {said}", lead_id=lead)


def _failures_frame(failures: dict[str, BaseException]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "lead_id": list(failures),
            "error": [type(err).__name__ for err in failures.values()],
            "message": [str(err) for err in failures.values()],
        },
        schema={"lead_id": pl.String, "error": pl.String, "message": pl.String},
    )


def _validate_leads(lead_ids: Iterable[str] | str) -> tuple[list[str], int]:
    """GUIDs in the order given, each once; the number of duplicates dropped."""
    if isinstance(lead_ids, (pl.DataFrame, pl.LazyFrame)):  # a leads frame (find_leads)
        names = lead_ids.collect_schema().names()
        if "lead_id" not in names:
            raise ValueError(
                "lead_ids is a frame without a lead_id column; pass a leads frame "
                "(lsq.find_leads, lsq.leads_frame) or a list of lead ids"
            )
        lead_ids = lead_ids.lazy().select("lead_id").collect()["lead_id"].drop_nulls().to_list()
    if isinstance(lead_ids, str):
        lead_ids = [lead_ids]
    try:
        items = list(lead_ids)
    except TypeError:
        raise TypeError(
            f"lead_ids must be a list (or any iterable) of lead ids, not {type(lead_ids).__name__}"
        ) from None
    if not items:
        raise ValueError("lead_ids is empty: give at least one lead id (a GUID).")
    return lead_ids_of(items)


@dataclass
class _LeadOutcome:
    lead: str
    frame: pl.DataFrame | None  # expanded (no store); with a store, the store expands
    activities: list[dict[str, Any]]
    fetched_at: datetime
    pages: int
    complete: bool  # False: only the newest pages, down to activities already stored


def _expand(activities: Sequence[dict[str, Any]] | pl.Series, lead: str) -> pl.DataFrame:
    from .frames import activities_frame

    frame = activities_frame(activities if isinstance(activities, pl.Series) else list(activities))
    if frame.height and frame["lead_id"].null_count():
        frame = frame.with_columns(pl.col("lead_id").fill_null(lead))
    return frame


@dataclass
class _Pages:
    activities: list[dict[str, Any]]
    frames: list[pl.DataFrame]
    complete: bool
    pages: int = 0


def _collect_pages(
    client: LeadSquaredClient,
    lead: str,
    *,
    api_event: int | None,
    stored_keys: set[bytes],
    expand: bool,
    stop: threading.Event,
) -> _Pages:
    """Read a lead's pages, newest first; stop at the first page reaching stored activities."""
    seen: set[bytes] = set()
    out = _Pages([], [], True)
    newest_first = True
    last_created: str | None = None
    pages = client.iter_activity_pages(lead, event=api_event)
    try:
        for page in pages:
            if stop.is_set():
                raise _Cancelled
            out.pages += 1
            new: list[dict[str, Any]] = []
            reached_stored = False
            for activity in page:
                key = activity_identity(activity)
                if key in seen:
                    continue  # an exact duplicate (the whole row) from overlapping pages
                seen.add(key)
                new.append(activity)
                created = activity.get("CreatedOn")
                if isinstance(created, str):
                    if last_created is not None and created > last_created:
                        newest_first = False
                    last_created = created
                if key in stored_keys:
                    reached_stored = True
            out.activities.extend(new)
            if expand and new:
                out.frames.append(_expand(new, lead))  # expand while the next page is on its way
            if reached_stored and newest_first:
                out.complete = False  # the rest of the lead is already stored
                break
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()
    return out


def _fetch_lead(
    client: LeadSquaredClient,
    lead: str,
    *,
    api_event: int | None,
    stored_keys: set[bytes] | None,
    expand: bool,
    stop: threading.Event,
) -> _LeadOutcome:
    """Fetch one lead's pages (with ``stored_keys``, only the newest ones: down to the first
    page that reaches an activity already stored); the store is written by the caller."""
    fetched_at = datetime.now(timezone.utc)
    pages = _collect_pages(
        client,
        lead,
        api_event=api_event,
        stored_keys=stored_keys or set(),
        expand=expand,
        stop=stop,
    )
    frame = None
    if expand:
        # No frames.drop_duplicate_activities here: exact duplicates (whole activities equal)
        # are gone already, and distinct audit-log rows of one activity logged in the same
        # second share Id, EventCode and both times, so nothing looser than whole rows may go.
        frame = concat_frames(pages.frames) if pages.frames else _expand([], lead)
    return _LeadOutcome(lead, frame, pages.activities, fetched_at, pages.pages, pages.complete)


_WARM_UP_LEADS = 3
"""Leads fetched one at a time at most, while the client learns the server's paging."""
_KEYS_AT_ONCE = 200
"""Stale leads whose stored activities one store read brings, for a newest-pages refresh."""


def _keep_what_was_fetched(
    writer: BatchWriter | None,
    pending: dict[Future[_LeadOutcome], str],
    finished: Any,
) -> None:
    """On the way out of a stopped run: commit the leads already fetched (those waiting for
    their batch, and any that finished meanwhile). A failing commit is not allowed to hide
    the error that stopped the run; the leads it held are fetched again next time."""
    if writer is None:
        return
    for future, lead in list(pending.items()):
        if future.done() and not future.cancelled() and future.exception() is None:
            finished(lead, future.result())
    try:
        writer.flush()
    except Exception as err:  # the original error is what the user must see
        warnings.warn(f"Could not store the last leads fetched: {err}", UserWarning, stacklevel=3)


def _paging_known(client: LeadSquaredClient) -> bool:
    """True once the client's pager knows the paging reading and when a lead is complete."""
    facts = getattr(client, "paging", None)
    if facts is None or not hasattr(facts, "reading"):
        return True  # nothing to learn (or a client that pages differently)
    known_end = getattr(facts, "cap", None) is not None or getattr(
        facts, "record_count_is_total", False
    )
    return facts.reading is not None and bool(known_end)


def _default_workers(client: LeadSquaredClient) -> int:
    # A sliding window admits a burst of max_calls at once: one worker per call in a
    # window keeps the pipe full whatever the latency; a few more cover slow replies.
    max_calls = int(getattr(client, "max_calls", 25) or 25)
    return max(4, min(64, max_calls + 2))


def _stats(client: Any) -> tuple[int, int, int]:
    stats = getattr(client, "stats", None)
    if stats is None:
        return 0, 0, 0

    def get(name: str) -> int:
        value = stats.get(name, 0) if isinstance(stats, dict) else getattr(stats, name, 0)
        return int(value or 0)

    return get("calls"), get("retries"), get("rate_limited")


def run_fetch(
    lead_ids: Iterable[str] | str,
    *,
    client: LeadSquaredClient | None = None,
    event: int | str | None = None,
    store: ActivityStore | str | os.PathLike[str] | None = None,
    progress: bool = True,
    max_age: float | timedelta | None = None,
    max_workers: int | None = None,
    refresh: Literal["newest", "full"] = "newest",
    batch_leads: int = BATCH_LEADS,
    batch_seconds: float = BATCH_SECONDS,
) -> FetchResult:
    """Fetch leads and report everything about the run, without warning or raising for
    per-lead failures (see :func:`fetch_activities` for the arguments).

    Args:
        max_workers: leads in flight at once (default: the client's ``max_calls`` + 2).
        batch_leads, batch_seconds: with a store, fetched leads are committed every
            ``batch_leads`` leads or ``batch_seconds`` seconds, whichever comes first.

    Returns:
        A :class:`FetchResult` with the frame, the failures and the run's figures.

    Raises:
        ValueError: no lead ids, lead ids that are not GUIDs, a bad event or max_age.
        AuthenticationError, ConfigurationError: wrong keys or host (every lead would fail).
        StoreError: the store folder cannot be used.
        KeyboardInterrupt: re-raised after cancelling what had not started.

    Example:
        >>> result = run_fetch(lead_ids, store="lsq-store", progress=False)
        >>> print(result.summary())
    """
    started = time.monotonic()
    if refresh not in REFRESH_MODES:
        raise ValueError(
            f"refresh must be one of {', '.join(map(repr, REFRESH_MODES))}, not {refresh!r}"
        )
    leads, duplicates = _validate_leads(lead_ids)
    code = single_event(event)
    max_age = as_max_age(max_age)
    notes: list[str] = []
    if duplicates:
        notes.append(f"{duplicates} duplicate lead id(s) dropped; each lead is fetched once.")
        warnings.warn(notes[-1], UserWarning, stacklevel=3)
    if store is not None and not isinstance(store, ActivityStore):
        store = ActivityStore(store, progress=progress)
    if client is None:
        from .api.client import LeadSquaredClient

        client = LeadSquaredClient()
    calls0, retries0, limited0 = _stats(client)
    if isinstance(code, str):  # a name: one call for the activity-type catalog
        code = client.event_code(code)

    if store is not None:
        fresh, stale, missing = store.plan(leads, max_age)
    else:
        fresh, stale, missing = [], [], list(leads)
    stale_set = set(stale)
    todo_set = stale_set | set(missing)
    todo = [lead for lead in leads if lead in todo_set]
    # The store keeps whole leads; an event filter is applied to what it returns.
    api_event = None if store is not None else code
    newest_only = refresh == "newest" and store is not None
    writer = (
        BatchWriter(store, max_leads=batch_leads, max_seconds=batch_seconds)
        if store is not None
        else None
    )

    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(leads),
        initial=len(fresh),
        unit="lead",
        desc="Fetching leads",
        disable=not progress,
        dynamic_ncols=True,
    )
    outcomes: dict[str, _LeadOutcome] = {}
    failures: dict[str, BaseException] = {}
    activities = 0

    def postfix() -> None:
        bar.set_postfix_str(f"{activities:,} activities, {len(failures)} failed", refresh=False)

    def finished(lead: str, outcome: _LeadOutcome) -> None:
        nonlocal activities
        activities += len(outcome.activities)
        if writer is None:
            outcomes[lead] = outcome
            return
        outcomes[lead] = _LeadOutcome(lead, None, [], outcome.fetched_at, outcome.pages, True)
        writer.add(
            lead,
            outcome.activities,
            fetched_at=outcome.fetched_at,
            pages=outcome.pages,
            complete=outcome.complete,
        )

    def failed(lead: str, err: BaseException) -> None:
        failures[lead] = err
        if writer is not None:
            writer.fail(lead, f"{type(err).__name__}: {err}")

    postfix()
    stop = threading.Event()
    workers = max(1, max_workers or _default_workers(client))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lsq-fetch")
    fatal: BaseException | None = None
    queue = deque(todo)
    pending: dict[Future[_LeadOutcome], str] = {}
    keys: dict[str, set[bytes]] = {}
    try:
        warmed = 0
        unreachable = False

        def submit(lead: str) -> None:
            stored_keys = None
            if newest_only and store is not None and lead in stale_set:
                if lead not in keys:  # the next stale leads' stored activities, in one read
                    ahead = [x for x in islice(queue, 4 * _KEYS_AT_ONCE) if x in stale_set]
                    keys.update(stored_identities(store, [lead, *ahead[:_KEYS_AT_ONCE]]))
                stored_keys = keys.pop(lead, set())
            future = executor.submit(
                _fetch_lead,
                client,
                lead,
                api_event=api_event,
                stored_keys=stored_keys,
                expand=writer is None,
                stop=stop,
            )
            pending[future] = lead

        in_flight = 4 * workers  # enough to keep every worker busy; the queue stays lazy
        while queue or pending:
            if queue and (warmed >= _WARM_UP_LEADS or _paging_known(client)):
                while queue and len(pending) < in_flight:
                    submit(queue.popleft())
            elif queue and not pending:
                # Warm-up: one lead at a time until the client knows how the server pages,
                # so that concurrent leads do not each probe (and race to learn) it.
                submit(queue.popleft())
                warmed += 1
            timeout = writer.due_in() if writer is not None else None
            done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                lead = pending.pop(future)
                try:
                    outcome = future.result()
                except _FATAL as err:
                    fatal = err
                    failed(lead, err)
                except _Cancelled:
                    continue
                except Exception as err:  # any failure stays with its lead
                    failed(lead, err)
                    if isinstance(err, LeadSquaredError) and err.unreachable and not unreachable:
                        # The host could not be reached even after the retries: every
                        # lead not started yet would wait as long for the same answer.
                        unreachable = True
                        skipped = [queue.popleft() for _ in range(len(queue))]
                        skipped += [pending.pop(f) for f in list(pending) if f.cancel()]
                        for other in skipped:
                            failed(other, _not_tried(err, other))
                        bar.update(len(skipped))
                else:
                    finished(lead, outcome)
                bar.update(1)
                postfix()
            if writer is not None:
                writer.flush_if_due()
            if fatal is not None:
                break
    except BaseException:
        stop.set()
        executor.shutdown(wait=False, cancel_futures=True)
        bar.close()
        _keep_what_was_fetched(writer, pending, finished)
        raise
    if fatal is not None:
        stop.set()
        executor.shutdown(wait=False, cancel_futures=True)
        bar.close()
        _keep_what_was_fetched(writer, pending, finished)
        raise fatal
    executor.shutdown(wait=True)

    if store is not None and writer is not None:
        writer.flush()
        frame = store.frame(leads, events=code)  # leads that failed and were never stored: none
    else:
        frame = concat_frames(
            [f for lead in leads if lead in outcomes if (f := outcomes[lead].frame) is not None]
            or [_expand([], "")]
        )
    if code is not None and store is None and frame.height:
        frame = frame.filter(pl.col("event_code") == code)
    bar.set_postfix_str(f"{frame.height:,} activities, {len(failures)} failed")
    bar.close()

    if code is not None and frame.height == 0 and len(failures) < len(leads):
        notes.append(
            f"No activity has event code {code} in these {len(leads)} lead(s); "
            "client.get_activity_types() lists the account's event codes."
        )
        warnings.warn(notes[-1], UserWarning, stacklevel=3)

    calls1, retries1, limited1 = _stats(client)
    return FetchResult(
        frame=frame,
        failures=_failures_frame(failures),
        leads=len(leads),
        from_store=len(fresh),
        fetched=sum(1 for lead in outcomes if lead not in stale_set),
        refreshed=sum(1 for lead in outcomes if lead in stale_set),
        calls=calls1 - calls0,
        retries=retries1 - retries0,
        rate_limited=limited1 - limited0,
        seconds=time.monotonic() - started,
        notes=notes,
    )


def fetch_activities(
    lead_ids: Iterable[str] | str,
    *,
    client: LeadSquaredClient | None = None,
    event: int | str | None = None,
    store: ActivityStore | str | os.PathLike[str] | None = None,
    progress: bool = True,
    errors: Literal["warn", "raise"] = "warn",
    max_age: float | timedelta | None = None,
    max_workers: int | None = None,
    refresh: Literal["newest", "full"] = "newest",
    batch_leads: int = BATCH_LEADS,
    batch_seconds: float = BATCH_SECONDS,
) -> pl.DataFrame:
    """Fetch the activities of many leads at the account's rate limit, as one frame.

    Leads run concurrently; the client's limiter (shared by all threads) keeps the calls
    within the plan's limit, so the limit and not the round trips sets the pace. Pages
    are expanded as they arrive and exact paging duplicates (identical rows) removed.

    Args:
        lead_ids: lead ids (GUIDs), or a leads frame (``find_leads``: its ``lead_id``).
            Duplicates are fetched once (with a warning).
        client: a :class:`~lsq_analysis.LeadSquaredClient` (default: one from ``LSQ_*``
            variables or ``.env``).
        event: only this activity event code (e.g. ``21``). With a store, whole leads are
            fetched and stored and the filter applies to what is returned, so that the
            store can answer for any event code later.
        store: an :class:`~lsq_analysis.ActivityStore` or its folder. Stored leads cost no
            call; fetched leads are committed in batches (every ``batch_leads`` leads or
            ``batch_seconds`` seconds, whichever comes first, and when the run ends or
            stops), so a run killed at any moment loses only the leads of its last few
            seconds, and the next run fetches just what is missing. Failed leads are
            recorded in the store's ``fetches`` table (outcome ``"failed"``).
        progress: show a progress bar (a widget in Jupyter, text in a terminal).
        errors: ``"warn"``: return what was fetched and warn once, listing failed leads;
            ``"raise"``: raise :class:`~lsq_analysis.FetchError` carrying ``.frame`` and
            ``.failures`` (``lead_id``, ``error``, ``message``). When the host cannot be
            reached even after a lead's retries, the leads not started yet are not tried
            (they fail with the same message) instead of each waiting out its retries.
        max_age: stored leads older than this (seconds or a timedelta) are refreshed;
            None: stored leads never expire.
        max_workers: leads in flight at once (default: the client's ``max_calls`` + 2).
        refresh: how a stale lead is refreshed. ``"newest"``: only its newest pages, down to
            the first activity already stored (the API lists newest first and has no
            "modified since" filter, so an edit to an older activity is not seen);
            ``"full"``: every page again, replacing what is stored (edits and deletions on
            the server are then seen, at the cost of a full fetch).
        batch_leads: with a store, leads per commit at most (default 500).
        batch_seconds: with a store, seconds a fetched lead waits for its commit at most.

    Returns:
        One expanded frame (see ``frames.activities_frame``): the leads in the order given,
        each lead's activities in the order the API sent them (newest first).

    Raises:
        ValueError: empty ``lead_ids``, ids that are not GUIDs, a bad ``event``, ``errors``,
            ``refresh`` or ``max_age``.
        FetchError: with ``errors="raise"``, when any lead failed.
        AuthenticationError, ConfigurationError: wrong keys or host.
        StoreError: the store folder cannot be used.

    Example:
        >>> df = fetch_activities(["3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"], store="lsq-store")
        >>> df.select("lead_id", "event_name", "created_on").head(3)
    """
    if errors not in ERROR_MODES:
        raise ValueError(
            f"errors must be one of {', '.join(map(repr, ERROR_MODES))}, not {errors!r}"
        )
    result = run_fetch(
        lead_ids,
        client=client,
        event=event,
        store=store,
        progress=progress,
        max_age=max_age,
        max_workers=max_workers,
        refresh=refresh,
        batch_leads=batch_leads,
        batch_seconds=batch_seconds,
    )
    if result.failures.height:
        message = result.failure_message()
        if errors == "raise":
            raise FetchError(message, frame=result.frame, failures=result.failures)
        warnings.warn(message, FetchWarning, stacklevel=2)
    return result.frame
