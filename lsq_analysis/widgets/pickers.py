"""The pickers: a lead (typed in, searched, fetched), event types, a range of days.

Each is a thin ipywidgets layer over a headless twin in :mod:`lsq_analysis.analysis.selection`
(:func:`~lsq_analysis.analysis.selection.lead_index` and
:func:`~lsq_analysis.analysis.selection.match_leads`,
:func:`~lsq_analysis.analysis.selection.event_type_counts`,
:func:`~lsq_analysis.analysis.selection.date_bounds`) and has a ``value`` trait to observe.
Given a client, the lead picker also searches the whole account for what is typed, in the
background (:mod:`lsq_analysis.widgets.account_search`).

Example:
    >>> import lsq_analysis as lsq
    >>> picker = EventPicker(lsq.load_sample())
    >>> picker.value = (0,); picker.value
    (0,)
"""

from __future__ import annotations

import datetime as dt
import html
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

import ipywidgets as W
import polars as pl
import traitlets

from ..analysis.selection import date_bounds, event_type_counts, lead_index, match_leads
from ..vocabulary import Frame, as_list
from .account_search import SEARCH_DELAY, AccountSearch, account_options, worth_searching
from .sources import empty_frame, source_frame, source_store

if TYPE_CHECKING:
    import os

    from ..api.client import LeadSquaredClient
    from ..store import ActivityStore

__all__ = ["DateRangePicker", "EventPicker", "LeadPicker", "source_frame", "source_store"]


def _lead_label(row: dict[str, Any]) -> str:
    last = row["last_activity"]
    when = last.strftime("%Y-%m-%d") if isinstance(last, dt.datetime) else "never"
    who = " · ".join(x for x in (row["name"], row["email"]) if x) or "(no name)"
    return f"{row['n_activities']:,} activities · last {when} · {who} · {row['lead_id'][:8]}…"


class _Syncing:
    """A re-entrancy flag: while set, observers ignore the changes the widget makes itself."""

    def __init__(self) -> None:
        self.active = False

    def __enter__(self) -> None:
        self.active = True

    def __exit__(self, *exc: object) -> None:
        self.active = False


def _fetching_text(lead_ids: Sequence[str]) -> str:
    return (
        f"fetching lead {lead_ids[0]}…"
        if len(lead_ids) == 1
        else f"fetching {len(lead_ids)} leads…"
    )


class LeadPicker(W.VBox):  # type: ignore[misc]  # ipywidgets ships no types: VBox is Any
    """Find a lead among thousands by typing part of its id, name or e-mail, and pick it.

    Each candidate shows its activity count and last activity. Given a client (and optionally
    a store), typing a full lead id that is not loaded yet fetches that lead and adds it: in a
    background thread, so the notebook stays usable while the call waits on the rate limit
    (the status line says what is happening; :meth:`wait` blocks until it is done). Other
    text matching fewer than ``account_below`` loaded leads is also searched in the account
    (``client.quick_search``) once typing pauses: in the background too
    (:class:`~lsq_analysis.widgets.account_search.AccountSearch`; :meth:`wait_search`). Its
    candidates join the list, labelled name · email · stage · owner · source ("not fetched"
    until they are); picking one fetches it like a typed id. The headless twins are
    :func:`lead_index` + :func:`match_leads`, and
    :func:`~lsq_analysis.widgets.account_search.account_options` for the account's leads.

    Args:
        source: An expanded frame, an :class:`~lsq_analysis.ActivityStore`, or a
            :class:`~lsq_analysis.LeadSquaredClient` (then the picker starts empty and fetches
            the leads typed in). A store is not loaded: the index comes from lazy aggregates
            of its ``scan()``, and leads typed in are fetched into it.
        client: A client used to fetch leads typed by id that are not loaded yet.
        store: Passed to ``fetch_activities`` when fetching (a path or ActivityStore); when
            ``source`` is an ActivityStore, fetches go into ``source`` instead.
        multiple: Pick several leads (``.value`` is a tuple) instead of one (a str or None).
        value: The lead(s) picked at the start.
        limit: How many candidates to list at most.
        progress: Show a progress bar while :meth:`fetch` runs (typed ids fetched in the
            background report in the status line instead).
        background: Fetch typed lead ids, and search the account, in background threads
            (False: the typing waits, and the account is searched at each key).
        account_below: With a client, search the account when fewer loaded leads than this
            match the text typed (0: never).
        search_delay: Seconds without typing before the text is sent to the account.

    Attributes:
        value: The picked lead id (``multiple=False``) or tuple of ids.
        frame: The activities the picker knows (grows when leads are fetched): a DataFrame,
            or for an ActivityStore its ``scan()``, a LazyFrame (scanned again after a fetch).
        source_store: The ActivityStore the picker reads, or None (it holds a frame).
        candidates: The frame of loaded leads listed right now (from :func:`match_leads`).
        account: The :class:`~lsq_analysis.widgets.account_search.AccountSearch` (with a
            client), or None.
        account_candidates: The frame of the account's leads found for the text shown (from
            :func:`~lsq_analysis.widgets.account_search.account_candidates`), or None.

    Example:
        >>> import lsq_analysis as lsq
        >>> df = lsq.load_sample()
        >>> picker = LeadPicker(df)
        >>> picker.search.value = df["lead_id"][0][:8]
        >>> picker.value = df["lead_id"][0]
        >>> picker.value == df["lead_id"][0]
        True
    """

    value = traitlets.Any(None)
    frame_version = traitlets.Int(0)

    def __init__(
        self,
        source: object = None,
        *,
        client: object = None,
        store: object = None,
        multiple: bool = False,
        value: str | Sequence[str] | None = None,
        limit: int = 50,
        progress: bool = True,
        background: bool = True,
        account_below: int = 5,
        search_delay: float = SEARCH_DELAY,
    ) -> None:
        self.source_store = source_store(source)
        frame: Frame | None
        if self.source_store is not None:
            frame = self.source_store.scan()
            store = self.source_store  # what is fetched must be what the scan reads
        else:
            frame = source_frame(source)
        if frame is None and source is not None and hasattr(source, "get_lead_activities"):
            client = client or source
        self.frame: Frame = frame if frame is not None else empty_frame()
        self.client = client
        self.store = store
        self.multiple = multiple
        self.limit = limit
        self.progress = progress
        self.background = background
        self._fetcher: ThreadPoolExecutor | None = None
        self._fetching: Future[None] | None = None
        self.index = lead_index(self.frame)
        self._known: set[str] | None = None  # the index's lead ids, lower-case, when asked
        self.candidates = self.index.head(0)
        self.account_candidates: pl.DataFrame | None = None
        self._from_account: list[tuple[str, str]] = []  # (label, lead) listed from the account
        self.account_below = account_below
        self.account = (
            AccountSearch(
                client, on_answer=self._show_candidates, delay=search_delay, background=background
            )
            if hasattr(client, "quick_search")
            else None
        )
        self._syncing = _Syncing()
        self._lock = threading.RLock()  # the list is redrawn from the search and fetch threads
        placeholder = "type part of a lead id, name or e-mail"
        if self.account is not None:
            placeholder = "type a name, e-mail or phone (searched in the account too)"
        if client is not None:
            placeholder += " (or a full lead id to fetch it)"
        self.search = W.Text(placeholder=placeholder, continuous_update=True)
        self.search.layout.width = "100%"
        select_type = W.SelectMultiple if multiple else W.Select
        self.options = select_type(options=[], rows=8)
        self.options.layout.width = "100%"
        self.status = W.HTML()
        self.output = W.Output()
        self.search.add_class("lsq-lead-search")
        self.options.add_class("lsq-lead-options")
        self.status.add_class("lsq-lead-status")
        super().__init__(children=[self.search, self.options, self.status, self.output])
        self.add_class("lsq-lead-picker")
        self.layout.width = "100%"
        self.search.observe(self._on_search, "value")
        self.options.observe(self._on_options, "value")
        if value is not None:
            self.value = tuple(as_list(value)) if multiple else value
        elif multiple:
            self.value = ()
        self._show_candidates()

    # what the user does ------------------------------------------------------------------
    def _on_search(self, change: dict[str, Any]) -> None:
        query = change["new"].strip()
        if self.client is not None and query and query.lower() not in self._known_ids():
            from ..api.client import validate_lead_id

            try:
                lead_id = validate_lead_id(query)
            except ValueError:
                lead_id = None  # not a whole lead id (yet): just search
            if lead_id is not None and lead_id.lower() not in self._known_ids():
                if self.account is not None:
                    self.account.schedule(None)
                self._fetch_typed([lead_id])
                return
        self._show_candidates()
        if self.account is not None:
            wanted = self.candidates.height < self.account_below and worth_searching(query)
            self.account.schedule(query if wanted else None)
            self._show_status()

    def _fetch_typed(self, lead_ids: list[str]) -> None:
        if not self.background:
            self.fetch(lead_ids)
            return
        if self._fetcher is None:  # one at a time, in the order typed
            self._fetcher = ThreadPoolExecutor(1, thread_name_prefix="lsq-lead-picker")
        self.status.value = f"<small>{html.escape(_fetching_text(lead_ids))}</small>"
        self._fetching = self._fetcher.submit(self._fetch_reporting, lead_ids)

    def _fetch_reporting(self, lead_ids: list[str]) -> None:
        try:
            self.fetch(lead_ids, progress=False)
        except Exception as error:  # nobody waits on this thread: the status line tells
            message = f"{type(error).__name__}: {error}"
            self.status.value = f"<small>could not fetch: {html.escape(message)}</small>"

    def wait(self, timeout: float | None = None) -> None:
        """Block until the lead ids typed so far have been fetched (for scripts and tests).

        Example:
            >>> picker.search.value = "6f1c1d2e-0b5c-4c3e-9d1a-2f0e7c9b8a71"  # doctest: +SKIP
            >>> picker.wait(); picker.value  # doctest: +SKIP
        """
        if self._fetching is not None:
            self._fetching.result(timeout)

    def wait_search(self, timeout: float | None = None) -> None:
        """Block until the account search of the text typed last is answered (for tests).

        No-op without a client. Raises ``TimeoutError`` when ``timeout`` seconds pass first.

        Example:
            >>> picker.search.value = "farhan"; picker.wait_search(10)  # doctest: +SKIP
            >>> picker.account_candidates["name"].to_list()  # doctest: +SKIP
            ['Farhan Qureshi']
        """
        if self.account is not None:
            self.account.wait(timeout)

    def _on_options(self, change: dict[str, Any]) -> None:
        with self._lock:  # the list redrawn on another thread is no pick
            if self._syncing.active:
                return
        new = change["new"]
        picks = tuple(as_list(new))
        known = self._known_ids()
        unfetched = [p for p in picks if p.lower() not in known] if self.client else []
        if self.multiple:
            # keep picked leads that the current search hides; the list shows them all anyway
            self.value = tuple(p for p in picks if p not in unfetched)
        elif new is not None and not unfetched:
            self.value = new
        if unfetched:  # an account's lead: fetched, then picked
            self._fetch_typed(unfetched)

    @traitlets.validate("value")
    def _validate_value(self, proposal: dict[str, Any]) -> object:
        value = proposal["value"]
        if self.multiple:
            return tuple(dict.fromkeys(as_list(value)))
        if isinstance(value, (list, tuple)):
            if len(value) > 1:
                raise traitlets.TraitError("this LeadPicker picks one lead: pass multiple=True")
            value = value[0] if value else None
        return value

    @traitlets.observe("value")
    def _on_value(self, change: dict[str, Any]) -> None:
        self._show_candidates()

    # what it shows ---------------------------------------------------------------------------
    def _picked(self) -> tuple[str, ...]:
        return tuple(as_list(self.value))

    def _known_ids(self) -> set[str]:
        if self._known is None:  # once per index, not once per key typed
            self._known = {lead.lower() for lead in self.index["lead_id"].to_list()}
        return self._known

    def _set_index(self, index: pl.DataFrame) -> None:
        self.index = index
        self._known = None

    def _show_candidates(self) -> None:
        with self._lock:
            query = self.search.value
            self.candidates = match_leads(self.index, query, limit=self.limit)
            rows = {row["lead_id"]: row for row in self.candidates.iter_rows(named=True)}
            picked = [p for p in self._picked() if p not in rows]
            if picked:  # picked leads stay listed (and selected) whatever the search
                extra = self.index.filter(pl.col("lead_id").is_in(picked))
                rows = {row["lead_id"]: row for row in extra.iter_rows(named=True)} | rows
            options = [(_lead_label(row), lead) for lead, row in rows.items()]
            found = self.account.answer(query) if self.account and query.strip() else None
            self.account_candidates = found
            self._from_account = []
            if found is not None:  # the account's other leads, after the loaded ones
                self._from_account = account_options(
                    found, self.index, listed=rows.keys(), limit=self.limit
                )
                options += self._from_account
            with self._syncing:
                self.options.options = options
                listed = {lead for _, lead in options}
                if self.multiple:
                    self.options.value = tuple(p for p in self._picked() if p in listed)
                else:
                    self.options.value = self.value if self.value in listed else None
            self._show_status()

    def _show_status(self) -> None:
        query = self.search.value
        matched = self.candidates.height
        total = self.index.height
        text = f"{total:,} leads" if not query.strip() else f"{matched:,} of {total:,}"
        if matched >= self.limit:
            text += f" (first {self.limit} listed: type more to narrow)"
        note = self.account.note(query) if self.account is not None else ""
        if note:
            text += f" · {note}"
        elif self.account_candidates is not None:
            more = len(self._from_account)
            unfetched = sum(label.startswith("not fetched") for label, _ in self._from_account)
            text += f" · {more:,} more in the account" if more else " · no more in the account"
            if unfetched:
                text += f" ({unfetched:,} not fetched: pick one to fetch it)"
        self.status.value = f"<small>{html.escape(text)}</small>"

    # fetching -------------------------------------------------------------------------------
    def fetch(self, lead_ids: Sequence[str], *, progress: bool | None = None) -> pl.DataFrame:
        """Fetch leads through the client, add them to the picker and pick them.

        Args:
            lead_ids: Lead ids (GUIDs).
            progress: Show a progress bar (default: the picker's ``progress``).

        Returns:
            The fetched activities (possibly empty). Errors are shown in the picker's status
            line, never raised, and never include a key.

        Example:
            >>> picker = LeadPicker(client=client)  # doctest: +SKIP
            >>> picker.fetch(["6f1c1d2e-..."]).height  # doctest: +SKIP
        """
        from ..errors import LeadSquaredError
        from ..fetch import fetch_activities

        if self.client is None:
            raise ValueError("this LeadPicker has no client to fetch with: pass client=")
        self.status.value = f"<small>{html.escape(_fetching_text(lead_ids))}</small>"
        try:
            with self.output:
                fetched = fetch_activities(
                    list(lead_ids),
                    client=cast("LeadSquaredClient", self.client),  # checked not None above
                    store=cast("ActivityStore | str | os.PathLike[str] | None", self.store),
                    progress=self.progress if progress is None else progress,
                    errors="raise",
                )
        except LeadSquaredError as error:
            self.status.value = f"<small>could not fetch: {html.escape(str(error))}</small>"
            return empty_frame()
        self.add(fetched)
        known = {lead.lower(): lead for lead in self.index["lead_id"].to_list()}
        found = [known[lead.lower()] for lead in lead_ids if lead.lower() in known]
        # the id typed is done, so the box clears before the pick shows; anything typed since stays
        if self.search.value.strip().lower() in {lead.lower() for lead in lead_ids}:
            self.search.value = ""
        if found:
            self.value = (
                tuple(dict.fromkeys([*self._picked(), *found])) if self.multiple else found[0]
            )
        self._show_candidates()
        missing = [lead for lead in lead_ids if lead.lower() not in known]
        if missing:
            self.status.value = (
                f"<small>no activities for {html.escape(', '.join(missing))}</small>"
            )
        return fetched

    def add(self, df: pl.DataFrame) -> None:
        """Add activities (e.g. newly fetched leads) to what the picker knows.

        A picker on an ActivityStore reads the store again instead (the activities were
        fetched into it): see :meth:`reload`.

        Example:
            >>> picker.add(more_activities)  # doctest: +SKIP
        """
        if df.is_empty():
            return
        if self.source_store is not None:
            self.reload()
            return
        frame = cast("pl.DataFrame", self.frame)  # a picker not on a store holds a DataFrame
        known = frame.filter(~pl.col("lead_id").is_in(df["lead_id"].unique().to_list()))
        self.frame = pl.concat([known, df], how="diagonal_relaxed")
        self._set_index(lead_index(self.frame))
        self.frame_version += 1
        self._show_candidates()

    def reload(self) -> None:
        """Scan the store again (after a write) and index its leads; no-op without a store.

        Example:
            >>> store.write_leads(more); picker.reload()  # doctest: +SKIP
        """
        if self.source_store is None:
            return
        self.frame = self.source_store.scan()
        self._set_index(lead_index(self.frame))
        self.frame_version += 1
        self._show_candidates()


class EventPicker(W.VBox):  # type: ignore[misc]  # ipywidgets ships no types: VBox is Any
    """Pick event types (several at once), each listed with its number of activities.

    The headless twin is :func:`event_type_counts`.

    Args:
        df: The expanded activity frame, eager or lazy (e.g. ``ActivityStore.scan()``: only
            the counts are collected).
        value: Event codes picked at the start; every type when left out.

    Attributes:
        value: The picked event codes, a tuple of ints.
        counts: The frame listed (from :func:`event_type_counts`).

    Example:
        >>> import lsq_analysis as lsq
        >>> picker = EventPicker(lsq.load_sample())
        >>> picker.select_none(); picker.value
        ()
        >>> picker.value = (0,); picker.value
        (0,)
    """

    value = traitlets.Tuple()

    def __init__(self, df: Frame, *, value: Iterable[int] | None = None) -> None:
        self.counts = event_type_counts(df)
        self.codes: tuple[int, ...] = tuple(int(c) for c in self.counts["event_code"])
        self._names = dict(zip(self.codes, self.counts["event_name"].to_list(), strict=True))
        self._syncing = _Syncing()
        self.options = W.SelectMultiple(options=[], rows=min(12, max(3, len(self.codes))))
        self.options.layout.width = "100%"
        self.all_button = W.Button(description="All", layout=W.Layout(width="60px"))
        self.none_button = W.Button(description="None", layout=W.Layout(width="60px"))
        self.status = W.HTML()
        self.options.add_class("lsq-event-options")
        self.all_button.add_class("lsq-event-all")
        self.none_button.add_class("lsq-event-none")
        super().__init__(
            children=[W.HBox([self.all_button, self.none_button, self.status]), self.options]
        )
        self.add_class("lsq-event-picker")
        self.layout.width = "100%"
        self.all_button.on_click(lambda _: self.select_all())
        self.none_button.on_click(lambda _: self.select_none())
        self.options.observe(self._on_options, "value")
        self.set_counts(self.counts)
        self.value = self.codes if value is None else tuple(int(v) for v in value)

    def set_frame(self, df: Frame) -> None:
        """List the event types of another frame (e.g. after leads were added), keeping picks.

        If every type was picked, the new types are picked too.

        Example:
            >>> picker.set_frame(bigger_frame)  # doctest: +SKIP
        """
        had_all = set(self.value) == set(self.codes)
        self.counts = event_type_counts(df)
        self.codes = tuple(int(c) for c in self.counts["event_code"])
        self._names = dict(zip(self.codes, self.counts["event_name"].to_list(), strict=True))
        self.options.rows = min(12, max(3, len(self.codes)))
        picked = self.codes if had_all else tuple(v for v in self.value if v in self.codes)
        self.set_counts(self.counts)
        self.value = picked

    def select_all(self) -> None:
        """Pick every event type."""
        self.value = self.codes

    def select_none(self) -> None:
        """Pick no event type."""
        self.value = ()

    def set_counts(self, counts: pl.DataFrame) -> None:
        """Relabel the list with other counts (e.g. those of the picked leads), keeping the picks.

        Every event type of the original frame stays listed; types missing from ``counts`` show 0.

        Example:
            >>> picker.set_counts(event_type_counts(one_lead))  # doctest: +SKIP
        """
        by_code = dict(
            zip(counts["event_code"].to_list(), counts["n_activities"].to_list(), strict=True)
        )
        options = [
            (f"{self._names[code]} ({code}) — {by_code.get(code, 0):,}", code)
            for code in self.codes
        ]
        with self._syncing:
            self.options.options = options
            self.options.value = tuple(v for v in self.value if v in self.codes)

    def _on_options(self, change: dict[str, Any]) -> None:
        if not self._syncing.active:
            self.value = tuple(change["new"])

    @traitlets.validate("value")
    def _validate_value(self, proposal: dict[str, Any]) -> tuple[int, ...]:
        return tuple(dict.fromkeys(int(v) for v in proposal["value"]))

    @traitlets.observe("value")
    def _on_value(self, change: dict[str, Any]) -> None:
        with self._syncing:
            self.options.value = tuple(v for v in change["new"] if v in self.codes)
        self.status.value = f"<small>{len(change['new'])} of {len(self.codes)} event types</small>"


class DateRangePicker(W.HBox):  # type: ignore[misc]  # ipywidgets ships no types: HBox is Any
    """Pick a range of days (UTC, both ends included); "All dates" clears it.

    The headless twin is :func:`date_bounds`.

    Args:
        df: The expanded activity frame (sets the bounds shown), eager or lazy.
        value: ``(start, end)`` dates; ``None`` at either end means open.

    Attributes:
        value: ``(start, end)``, each a ``datetime.date`` or ``None``.

    Example:
        >>> import datetime as dt, lsq_analysis as lsq
        >>> picker = DateRangePicker(lsq.load_sample())
        >>> picker.value = (dt.date(2025, 3, 1), None)
        >>> picker.start.value
        datetime.date(2025, 3, 1)
    """

    value = traitlets.Tuple((None, None))

    def __init__(
        self, df: Frame, *, value: tuple[dt.date | None, dt.date | None] = (None, None)
    ) -> None:
        self._syncing = _Syncing()
        self.start = W.DatePicker(description="from", layout=W.Layout(width="220px"))
        self.end = W.DatePicker(description="to", layout=W.Layout(width="220px"))
        self.clear_button = W.Button(description="All dates", layout=W.Layout(width="90px"))
        self.status = W.HTML()
        self.set_frame(df)
        self.start.add_class("lsq-date-start")
        self.end.add_class("lsq-date-end")
        self.clear_button.add_class("lsq-date-all")
        super().__init__(children=[self.start, self.end, self.clear_button, self.status])
        self.add_class("lsq-date-range")
        self.start.observe(self._on_dates, "value")
        self.end.observe(self._on_dates, "value")
        self.clear_button.on_click(lambda _: setattr(self, "value", (None, None)))
        self.value = tuple(value)

    def set_frame(self, df: Frame) -> None:
        """Show the span of another frame (e.g. after leads were added); the range stays.

        Example:
            >>> picker.set_frame(bigger_frame)  # doctest: +SKIP
        """
        self.bounds = date_bounds(df)
        first, last = self.bounds
        span = f"activities from {first} to {last} (UTC)" if first else "no activities"
        self.status.value = f"<small>{span}</small>"

    def _on_dates(self, change: dict[str, Any]) -> None:
        if not self._syncing.active:
            self.value = (self.start.value, self.end.value)

    @traitlets.validate("value")
    def _validate_value(self, proposal: dict[str, Any]) -> tuple[dt.date | None, dt.date | None]:
        start, end = proposal["value"]
        start = start.date() if isinstance(start, dt.datetime) else start
        end = end.date() if isinstance(end, dt.datetime) else end
        if start is not None and end is not None and start > end:
            raise traitlets.TraitError(f"the range starts ({start}) after it ends ({end})")
        return (start, end)

    @traitlets.observe("value")
    def _on_value(self, change: dict[str, Any]) -> None:
        with self._syncing:
            self.start.value, self.end.value = change["new"]
