"""The lead picker's search of the whole account: debounced quick searches in the background.

What a user types in :class:`~lsq_analysis.widgets.LeadPicker` is first looked up among the
loaded leads (:func:`~lsq_analysis.analysis.selection.match_leads`). Given a client, when few
loaded leads match, the text is also sent to the account (``client.quick_search``) once the
user pauses typing (:data:`SEARCH_DELAY`): on a background thread, one search at a time,
through the client's rate limiter, so the kernel never waits on it. The answer is turned into
candidates (:func:`account_candidates`: name, e-mail, stage, owner, source; owners named from
``client.get_users()``, asked once) and labelled for the picker's list (:func:`account_options`).

Example:
    >>> leads = pl.DataFrame({"lead_id": ["6c4b3467-4666-4630-a4d3-e7d6454db8a6"],
    ...     "first_name": ["Farhan"], "last_name": ["Qureshi"], "email": ["f@q.test"],
    ...     "stage": ["Enrolled"], "owner_name": ["Sneha Joshi"], "source": ["Facebook"]})
    >>> account_label(account_candidates(leads).row(0, named=True))
    'not fetched · Farhan Qureshi · f@q.test · Enrolled · Sneha Joshi · Facebook · 6c4b3467…'
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl

__all__ = [
    "CACHED_SEARCHES",
    "MIN_SEARCH_CHARS",
    "SEARCH_DELAY",
    "AccountSearch",
    "account_candidates",
    "account_label",
    "account_options",
    "worth_searching",
]

SEARCH_DELAY = 0.3
"""Seconds without typing before the text is sent to the account (typing again restarts it)."""
MIN_SEARCH_CHARS = 2
"""Shorter texts are not sent to the account (they would match most of it)."""
CACHED_SEARCHES = 32
"""The answers of this many texts last searched are kept (typing back needs no new call)."""


def account_candidates(leads: pl.DataFrame, users: pl.DataFrame | None = None) -> pl.DataFrame:
    """What the picker lists of leads found in the account: one row per lead.

    Args:
        leads: A leads frame (``client.quick_search(text)``,
            :func:`~lsq_analysis.frames.leads_frame`).
        users: A users frame (``client.get_users()``) naming the owners the API did not name.

    Returns:
        Columns ``lead_id`` (lower case), ``name`` (first and last), ``email``, ``stage``,
        ``owner`` (name, else e-mail), ``source``; in the account's order.

    Example:
        >>> account_candidates(pl.DataFrame({"lead_id": ["A1"], "first_name": ["Asha"]})).row(0)
        ('a1', 'Asha', None, None, None, None)
    """
    from ..frames import leads_frame

    if users is not None and "owner_id" in leads.columns:
        leads = leads_frame(leads, users=users)
    have = set(leads.columns)

    def text(*names: str) -> pl.Expr:
        present = [pl.col(n).cast(pl.String).str.strip_chars() for n in names if n in have]
        cleaned = [pl.when(c != "").then(c) for c in present]
        return pl.coalesce(cleaned) if cleaned else pl.lit(None, pl.String)

    parts = [pl.col(n).cast(pl.String) for n in ("first_name", "last_name") if n in have]
    name = pl.concat_str(parts, separator=" ", ignore_nulls=True) if parts else pl.lit(None)
    name = name.cast(pl.String).str.strip_chars()
    return leads.select(
        pl.col("lead_id").cast(pl.String).str.strip_chars().str.to_lowercase(),
        pl.when(name != "").then(name).alias("name"),
        text("email").alias("email"),
        text("stage").alias("stage"),
        text("owner_name", "owner_email").alias("owner"),
        text("source").alias("source"),
    ).unique("lead_id", keep="first", maintain_order=True)


def account_label(row: Mapping[str, Any], *, activities: int | None = None) -> str:
    """A candidate's label: name · email · stage · owner · source, and whether it is fetched.

    Args:
        row: A row of :func:`account_candidates`.
        activities: Its number of activities when it is loaded; None: not fetched yet.

    Example:
        >>> account_label({"lead_id": "a1b2c3d4-e5", "name": "Asha", "email": None,
        ...                "stage": "Prospect", "owner": None, "source": None}, activities=3)
        '3 activities · Asha · no e-mail · Prospect · no owner · no source · a1b2c3d4…'
    """
    state = "not fetched" if activities is None else f"{activities:,} activities"
    fields = (
        row.get("name") or "(no name)",
        row.get("email") or "no e-mail",
        row.get("stage") or "no stage",
        row.get("owner") or "no owner",
        row.get("source") or "no source",
    )
    return " · ".join((state, *fields)) + f" · {str(row['lead_id'])[:8]}…"


def account_options(
    candidates: pl.DataFrame,
    index: pl.DataFrame,
    *,
    listed: Collection[str] = (),
    limit: int = 50,
) -> list[tuple[str, str]]:
    """``(label, lead id)`` for the account's candidates not ``listed`` already, at most ``limit``.

    A candidate already loaded (in ``index``, a :func:`~lsq_analysis.analysis.lead_index`) is
    given the index's id and its number of activities; the others are labelled "not fetched".

    Example:
        >>> found = pl.DataFrame({"lead_id": ["a1"], "name": ["Asha"], "email": [None],
        ...     "stage": [None], "owner": [None], "source": [None]})
        >>> index = pl.DataFrame({"lead_id": ["A1"], "n_activities": [4]})
        >>> account_options(found, index)
        [('4 activities · Asha · no e-mail · no stage · no owner · no source · a1…', 'A1')]
    """
    if candidates.is_empty():
        return []
    wanted = candidates["lead_id"].to_list()
    loaded = index.filter(pl.col("lead_id").str.to_lowercase().is_in(wanted))
    known = {
        lead.lower(): (lead, n) for lead, n in loaded.select("lead_id", "n_activities").iter_rows()
    }
    taken = {lead.lower() for lead in listed}
    options = []
    for row in candidates.iter_rows(named=True):
        lead, n = known.get(row["lead_id"], (row["lead_id"], None))
        if lead.lower() in taken:
            continue
        taken.add(lead.lower())
        options.append((account_label(row, activities=n), lead))
    return options[:limit]


_ID_PART = re.compile(r"(?=.*[0-9])(?=.*[a-f])[0-9a-f-]+|[0-9a-f]{8}-[0-9a-f-]*")


def worth_searching(text: str) -> bool:
    """Whether ``text`` is worth sending to the account's quick search (names, e-mails, phones).

    Not: shorter than :data:`MIN_SEARCH_CHARS`, or a lead id or part of one (hex digits with
    letters and digits, or a first group and a dash), which the quick search does not look at.

    Example:
        >>> [worth_searching(t) for t in ("farhan", "98450", "6c4b3467", "f", "bad")]
        [True, True, False, False, True]
    """
    key = text.strip().lower()
    return len(key) >= MIN_SEARCH_CHARS and _ID_PART.fullmatch(key) is None


def _search_key(text: str) -> str:
    return " ".join(text.split()).lower()


def _error_text(error: Exception) -> str:
    from ..errors import LeadSquaredError

    # the client's errors never hold a key; anything else is named by its type
    return str(error) if isinstance(error, LeadSquaredError) else f"{type(error).__name__}: {error}"


class AccountSearch:
    """Quick searches of the account for a lead picker: debounced, in the background.

    :meth:`schedule` is called on each key typed. The text is sent after ``delay`` seconds
    without typing, on one background thread (one search in flight at a time, each through
    the client's rate limiter); only the answer to the latest text is kept for showing, and
    ``on_answer`` is called (on that thread) when it arrives. The account's users are asked
    once, with the first search, to name the owners. Nothing raised there escapes: a failure
    is kept as a note (:meth:`note`) naming the error (the client's errors never hold a key).

    Args:
        client: A :class:`~lsq_analysis.LeadSquaredClient` (``quick_search``, ``get_users``).
        on_answer: Called with no argument when the latest text's answer (or failure) is in.
        delay: The pause, in seconds, before a text is sent.
        background: False: :meth:`schedule` searches at once and waits for the answer.

    Attributes:
        searches: How many quick searches were sent.
        users: The account's users frame once asked (None before, or if that failed).

    Example:
        >>> search = AccountSearch(client, on_answer=lambda: None)  # doctest: +SKIP
        >>> search.schedule("farhan"); search.wait(5); search.answer("farhan")  # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any,
        *,
        on_answer: Callable[[], object],
        delay: float = SEARCH_DELAY,
        background: bool = True,
    ) -> None:
        self.client = client
        self.on_answer = on_answer
        self.delay = delay
        self.background = background
        self.searches = 0
        self.users: pl.DataFrame | None = None
        self._users_asked = False
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._seq = 0
        self._key: str | None = None  # the text the picker shows (normalised), if searched
        self._timer: threading.Timer | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._answers: OrderedDict[str, pl.DataFrame] = OrderedDict()
        self._failure: tuple[str, str] | None = None  # (text, what went wrong)

    def schedule(self, text: str | None) -> None:
        """Search the account for ``text`` after the pause (None, or blank: search nothing).

        Typing again before the pause ends restarts it; a text answered before is not sent
        again.

        Example:
            >>> search.schedule("far"); search.schedule("farhan")  # doctest: +SKIP
            >>> search.wait(10); search.searches  # one search, for "farhan"  # doctest: +SKIP
            1
        """
        key = _search_key(text) if text is not None else ""
        with self._lock:
            self._seq += 1
            seq = self._seq
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._key = key or None
            if not key or key in self._answers:
                self._idle.set()
                return
            self._idle.clear()
            if self.background:
                self._timer = threading.Timer(self.delay, self._due, (seq, key))
                self._timer.daemon = True
                self._timer.start()
                return
        self._run(seq, key)

    def answer(self, text: str) -> pl.DataFrame | None:
        """The candidates (:func:`account_candidates`) found for ``text``, if it was answered.

        Example:
            >>> search.answer("farhan")["name"].to_list()  # doctest: +SKIP
            ['Farhan Qureshi']
        """
        with self._lock:
            return self._answers.get(_search_key(text))

    def note(self, text: str) -> str:
        """What the search of ``text`` is at: searching, failed, or "" (answered or not asked).

        Example:
            >>> search.schedule("farhan"); search.note("farhan")  # doctest: +SKIP
            'searching the account…'
        """
        key = _search_key(text)
        with self._lock:
            if not key or key != self._key or key in self._answers:
                return ""
            if self._failure is not None and self._failure[0] == key:
                return f"could not search the account: {self._failure[1]}"
            return "searching the account…"

    def wait(self, timeout: float | None = None) -> None:
        """Block until the latest text's search is answered (or failed): for scripts and tests.

        Raises:
            TimeoutError: It was not answered within ``timeout`` seconds.

        Example:
            >>> search.schedule("farhan"); search.wait(timeout=10)  # doctest: +SKIP
        """
        if not self._idle.wait(timeout):
            raise TimeoutError(f"the account search did not finish within {timeout} s")

    # on the timer's and the worker's threads -----------------------------------------------
    def _latest(self, seq: int) -> bool:
        with self._lock:
            return seq == self._seq

    def _due(self, seq: int, key: str) -> None:
        with self._lock:
            if seq != self._seq:  # typed again since
                return
            self._timer = None
            if self._worker is None:  # one search at a time, in the order the pauses came
                self._worker = ThreadPoolExecutor(1, thread_name_prefix="lsq-account-search")
            self._worker.submit(self._run, seq, key)

    def _run(self, seq: int, key: str) -> None:
        try:
            with self._lock:
                if seq != self._seq:  # typed again while the search before was running
                    return
                answered = key in self._answers  # by a search that was running meanwhile
            if not answered:
                self._search(key)
            if self._latest(seq):
                self.on_answer()
        except Exception as error:  # showing it failed: keep the reason, never raise here
            with self._lock:
                self._failure = (key, _error_text(error))
        finally:
            with self._lock:
                if seq == self._seq:
                    self._idle.set()

    def _search(self, key: str) -> None:
        """Ask the account; keep the answer (the latest :data:`CACHED_SEARCHES`) or the failure."""
        try:
            self.searches += 1
            found = self.client.quick_search(key)
            candidates = account_candidates(found, self._owners())
        except Exception as error:  # nobody waits on this thread: the note tells
            with self._lock:
                self._failure = (key, _error_text(error))
            return
        with self._lock:
            self._answers[key] = candidates
            self._answers.move_to_end(key)
            while len(self._answers) > CACHED_SEARCHES:
                self._answers.popitem(last=False)
            if self._failure is not None and self._failure[0] == key:
                self._failure = None

    def _owners(self) -> pl.DataFrame | None:
        if not self._users_asked:  # once: the owners do not change while one types
            self._users_asked = True
            try:
                self.users = self.client.get_users()
            except Exception:  # the candidates are shown without owner names
                self.users = None
        return self.users
