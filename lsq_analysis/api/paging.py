"""Paging through one lead's activities without guessing how the server pages.

The API page does not say whether ``Offset`` is a row offset, a 0-based or a 1-based page,
whether ``RecordCount`` is the total or this page's count, or how many rows one reply may
carry. This module finds out from the answers and collects every activity exactly once:

* **Reading** (probe): after a first page ``A`` asked at ``Offset=0`` it asks ``Offset=1``
  with ``RowCount=len(A)``. A row offset returns ``A`` shifted by one row, a 0-based page
  returns new rows (or nothing), a 1-based page returns ``A`` again. The answer doubles as
  the next page, so the probe costs at most one call per host.
* **Page cap**: a page shorter than asked followed by a non-empty page means the server caps
  pages at that length; a page as long as asked proves the cap is at least that. Until one of
  them is known, a short page needs one confirming call; after, a short page ends the lead.
* **RecordCount**: it may be the lead's total, this page's count, the rows remaining from
  the offset, a capped total or a has-more hint; the API page does not say. It can end a
  lead only once some reply's RecordCount exceeded its rows (so it is not a page count), and
  then only when the lead's own replies agree on it: the first page already holds all of it,
  or every reply of the lead gave the same count and an earlier lead of the host, whose
  replies also agreed, ended by an empty or short page at a count at least as large (a total
  capped at C is exact below C, and a count that moves is never proven). Until then a lead
  ends only on an empty or short page. Any contradiction (more rows than the count, or the
  count changing between pages of a lead) ends that trust for good.
* **Safety**: a seen-set keyed on each activity's whole JSON yields every activity once (``Id``
  alone is not unique); a non-empty page with nothing new is an error (a server repeating
  itself would otherwise loop forever), and there is a hard cap on calls per lead.

What is learned lives in a :class:`PagingFacts` shared by every thread of one client.

Example:
    >>> facts = PagingFacts()
    >>> for page in iter_lead_pages(fetch, facts, page_size=1000, max_calls=10_000):
    ...     handle(page)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..vocabulary import activity_identity

__all__ = ["PAGING_READINGS", "PagingError", "PagingFacts", "iter_lead_pages"]

PAGING_READINGS = ("row", "page0", "page1")

Page = list[dict[str, Any]]
FetchPage = Callable[[int, int], tuple["int | None", Page]]


class PagingError(Exception):
    """The server's paging answers make no sense (it repeats pages, or never ends)."""


class PagingFacts:
    """What one host's paging has shown so far. Thread-safe; shared by a client's threads.

    Attributes:
        reading: ``"row"``, ``"page0"``, ``"page1"`` or None (not known yet).
        cap: the most rows the server puts in one reply, once known exactly.
        served_max: the longest reply seen (the cap is at least this).
        record_count_is_total: True once a ``RecordCount`` exceeded its own reply's rows
            (so it is not a page count) and nothing has contradicted it since.
        record_count_verified: the largest RecordCount that every reply of one lead agreed on
            and that lead's proven end (an empty or short page) matched exactly; None before.

    Example:
        >>> PagingFacts(reading="page1").reading
        'page1'
    """

    def __init__(self, reading: str | None = None, *, trust_record_count: bool = True) -> None:
        if reading is not None and reading not in PAGING_READINGS:
            raise ValueError(
                f"paging must be one of {', '.join(map(repr, PAGING_READINGS))} or None, "
                f"not {reading!r}"
            )
        self._lock = threading.Lock()
        self.reading = reading
        self.cap: int | None = None
        self.served_max = 0
        self.record_count_is_total = False
        self.record_count_verified: int | None = None
        self._distrusted = not trust_record_count

    def __repr__(self) -> str:
        return (
            f"PagingFacts(reading={self.reading!r}, cap={self.cap}, served_max={self.served_max}, "
            f"record_count_is_total={self.record_count_is_total})"
        )

    def size_for(self, page_size: int) -> int:
        with self._lock:
            return page_size if self.cap is None else min(page_size, self.cap)

    def observe(self, record_count: int | None, rows: int) -> None:
        with self._lock:
            self.served_max = max(self.served_max, rows)
            if record_count is not None and record_count > rows and not self._distrusted:
                self.record_count_is_total = True

    def distrust_record_count(self) -> None:
        """RecordCount contradicted itself (more rows than it, or it changed): never stop by it."""
        with self._lock:
            self._distrusted = True
            self.record_count_is_total = False
            self.record_count_verified = None

    def verify_record_count(self, total: int) -> None:
        """A lead's agreed RecordCount ``total`` matched its rows at its proven end."""
        with self._lock:
            if self.record_count_is_total and not self._distrusted:
                self.record_count_verified = max(self.record_count_verified or 0, total)

    def total_is_proven(self, total: int) -> bool:
        """An agreed count below one proven exact is the total.

        Not one equal to it: a server that caps RecordCount at C answers a lead of more than C
        rows exactly as it answered the lead of C rows that proved C, up to a page boundary.
        """
        with self._lock:
            return self.record_count_verified is not None and total < self.record_count_verified

    def learn_reading(self, reading: str) -> None:
        with self._lock:
            if self.reading is None:
                self.reading = reading

    def learn_cap(self, cap: int) -> None:
        with self._lock:
            if cap >= 1 and (self.cap is None or cap < self.cap):
                self.cap = cap

    def short_page_is_final(self, asked: int) -> bool:
        """A reply shorter than ``asked`` rows ends the lead if the server can serve ``asked``."""
        with self._lock:
            return self.served_max >= asked or (self.cap is not None and self.cap >= asked)

    def total_if_known(self, record_count: int | None) -> int | None:
        with self._lock:
            return record_count if self.record_count_is_total else None


class _LeadPaging:
    """The per-lead bookkeeping: calls made, rows seen, what the RecordCounts said."""

    def __init__(self, fetch: FetchPage, facts: PagingFacts, max_calls: int) -> None:
        self.fetch = fetch
        self.facts = facts
        self.max_calls = max_calls
        self.calls = 0
        self.seen: set[bytes] = set()
        self.record_count: int | None = None
        self.replies = 0
        self.agreed = True  # every reply of this lead gave the same RecordCount
        self.ended_by_count = False

    def call(self, offset: int, row_count: int) -> Page:
        if self.calls >= self.max_calls:
            raise PagingError(
                f"stopped after {self.calls} calls for one lead (the limit); the server kept "
                "sending new pages"
            )
        self.calls += 1
        record_count, rows = self.fetch(offset, row_count)
        self.facts.observe(record_count, len(rows))
        if self.replies and record_count != self.record_count and self.agreed:
            # A total is the same on every page: a count that changes is something else
            # (rows remaining, a has-more hint, a page count).
            self.agreed = False
            self.facts.distrust_record_count()
        self.replies += 1
        self.record_count = record_count
        return rows

    def fresh(self, rows: Page) -> Page:
        new = []
        for row in rows:
            key = activity_identity(row)
            if key not in self.seen:
                self.seen.add(key)
                new.append(row)
        return new

    def complete(self) -> bool:
        """True when the replies show every row of the lead is in (no call needed to check)."""
        total = self.facts.total_if_known(self.record_count)
        if total is None or not self.agreed:
            return False
        if len(self.seen) > total:
            # More rows than the "total" (say it leaves out audit-log rows): stop trusting it.
            self.facts.distrust_record_count()
            return False
        if len(self.seen) != total:
            return False
        # One reply holding all of it, or replies agreeing on a count no larger than one an
        # earlier lead proved exact (a has-more hint or rows-remaining count never agrees).
        done = self.replies == 1 or self.facts.total_is_proven(total)
        self.ended_by_count = done
        return done


def _same(left: Page, right: Page) -> bool:
    return len(left) == len(right) and all(
        activity_identity(a) == activity_identity(b) for a, b in zip(left, right, strict=False)
    )


def _offset(reading: str, position: int, size: int) -> int:
    if reading == "row":
        return position
    index = position // size
    return index + 1 if reading == "page1" else index


def iter_lead_pages(
    fetch: FetchPage, facts: PagingFacts, *, page_size: int, max_calls: int
) -> Iterator[Page]:
    """Yield one lead's activities page by page, each activity exactly once.

    Args:
        fetch: ``fetch(offset, row_count) -> (RecordCount or None, activities)``: one call.
        facts: what is known about the host's paging; updated as answers come in.
        page_size: the ``RowCount`` to ask for (lowered to the server's cap once it shows).
        max_calls: the hard limit on calls for this lead.

    Raises:
        PagingError: the server repeated a page or never stopped sending new ones.

    Example:
        >>> pages = list(iter_lead_pages(fetch, PagingFacts(), page_size=100, max_calls=1000))
    """
    lead = _LeadPaging(fetch, facts, max_calls)
    yield from _lead_pages(lead, facts, page_size)
    # A RecordCount below what the lead held (say it leaves out audit-log rows) would have
    # ended a later lead too early: from now on only short or empty pages end a lead.
    if lead.record_count is not None and len(lead.seen) > lead.record_count:
        facts.distrust_record_count()
    elif (
        not lead.ended_by_count
        and lead.agreed
        and lead.replies >= 2
        and lead.record_count == len(lead.seen)
    ):
        # The lead's end was proven by an empty or short page, exactly at the count every
        # reply agreed on: later leads may stop at their agreed count without that last call.
        facts.verify_record_count(lead.record_count)


def _lead_pages(lead: _LeadPaging, facts: PagingFacts, page_size: int) -> Iterator[Page]:
    size = facts.size_for(page_size)
    reading = facts.reading
    position = 0
    confirming: int | None = None  # the length of a short page whose cap is being confirmed

    if reading is None:
        first = lead.call(0, size)
        if not first:
            if lead.complete() or facts.reading in ("row", "page0"):
                return
            if facts.reading is None:
                # A 1-based server may answer Offset 0 with nothing: ask page 1 once (per host).
                if not lead.call(1, size):
                    return
                facts.learn_reading("page1")
            reading = "page1"  # the loop below asks page 1 again, now knowing the reading
    if reading is None:
        new = lead.fresh(first)
        if new:
            yield new
        if lead.complete():
            return
        length = len(first)
        size = max(size, length)  # a server that ignores RowCount and sends more
        short_first = length < size
        if short_first:
            if facts.short_page_is_final(size):
                return
            total = facts.total_if_known(lead.record_count)
            if total is not None and total > length:
                facts.learn_cap(length)  # RecordCount says more rows exist: the page was capped
            size = length
        second = lead.call(1, size)
        new = lead.fresh(second)
        if new:
            yield new
        if size == 1:
            # One row per page: a row offset and a 0-based page are the same thing.
            if _same(second, first):
                reading = "page1"
                facts.learn_reading(reading)
                position = 1
                confirming = 1 if short_first else None
            else:
                if not second or lead.complete():
                    return
                if short_first:
                    facts.learn_cap(1)
                reading = "row"
                if facts.cap == 1:
                    facts.learn_reading(reading)
                position = 2
        elif _same(second, first):
            reading = "page1"
            facts.learn_reading(reading)
            position = length
            confirming = size if short_first else None
        elif second[: length - 1] and _same(second[: length - 1], first[1:]):
            reading = "row"
            facts.learn_reading(reading)
            position = 1 + len(second)
            if len(second) < size or lead.complete():
                return
            if short_first:
                facts.learn_cap(size)  # the short first page had more rows after it
        else:
            reading = "page0"
            facts.learn_reading(reading)
            if short_first and second:
                facts.learn_cap(size)  # the short first page had more rows after it
            if not second or len(second) < size or lead.complete():
                return
            position = 2 * size

    while not lead.complete():
        rows = lead.call(_offset(reading, position, size), size)
        new = lead.fresh(rows)
        if new:
            yield new
        if not rows:
            return
        if confirming is not None:
            facts.learn_cap(confirming)  # a short page was followed by more rows
            confirming = None
        if not new:
            raise PagingError(
                f"the server sent the same rows again (Offset={_offset(reading, position, size)}, "
                f"RowCount={size}); its paging is not one this client understands"
            )
        position += len(rows)
        if len(rows) >= size:
            size = len(rows)  # a server that ignores RowCount and sends more
            continue
        if facts.short_page_is_final(size) or lead.complete():
            return
        if reading != "row" and position % len(rows) != 0:
            return  # cannot ask a page of this length here; the cap is at least what was served
        # A short page from a server whose cap is unknown: one call tells whether it was capped.
        confirming = size = len(rows)
