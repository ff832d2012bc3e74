"""The paging logic alone, against the fake server's own paging rules (no HTTP, so it can
try thousands of combinations): every reading x RecordCount meaning x page cap x page size x
lead sizes, and servers that skip by the RowCount asked rather than the capped one."""

from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.api.paging import PagingError, PagingFacts, iter_lead_pages


def rows_for(lead: int, size: int) -> list[dict]:
    # Pairs of rows share an Id (an activity and its audit-log entry), as in real replies.
    return [
        {"Id": str(uuid.UUID(int=(lead << 32) + k // 2)), "EventCode": 222 if k % 2 else 3011}
        for k in range(size)
    ]


class PageCounter:
    """fetch(offset, row_count) over one lead of a fake, counting calls."""

    def __init__(self, fake: FakeLeadSquared, lead_id: str, skip_by_asked: bool) -> None:
        self.fake, self.lead_id, self.skip_by_asked = fake, lead_id, skip_by_asked
        self.calls = 0

    def __call__(self, offset: int, row_count: int) -> tuple[int | None, list[dict]]:
        self.calls += 1
        fake = self.fake
        if self.skip_by_asked and fake.paging != "row" and fake.max_page_size is not None:
            # A server that skips Offset * RowCount (as asked) but returns only `cap` rows.
            rows = fake.leads[self.lead_id]
            skip = (offset if fake.paging == "page0" else max(0, offset - 1)) * row_count
            page = rows[skip : skip + min(row_count, fake.max_page_size)]
            count = len(rows) if fake.record_count == "total" else len(page)
            return count, page
        reply = fake.page_of(self.lead_id, offset, row_count)
        return reply["RecordCount"], reply["ProspectActivities"]


def collect(fetch: PageCounter, facts: PagingFacts, page_size: int) -> list[dict]:
    got: list[dict] = []
    for page in iter_lead_pages(fetch, facts, page_size=page_size, max_calls=5_000):
        assert page, "an empty page is never yielded"
        got.extend(page)
    return got


@settings(max_examples=400, deadline=None)
@given(
    paging=st.sampled_from(["row", "page0", "page1", "page1-strict"]),
    record_count=st.sampled_from(["total", "page"]),
    cap=st.one_of(st.none(), st.integers(1, 40)),
    page_size=st.integers(1, 60),
    sizes=st.lists(st.integers(0, 130), min_size=1, max_size=6),
    skip_by_asked=st.booleans(),
)
def test_every_activity_exactly_once_in_order_with_bounded_calls(
    paging: str,
    record_count: str,
    cap: int | None,
    page_size: int,
    sizes: list[int],
    skip_by_asked: bool,
) -> None:
    leads = {str(uuid.UUID(int=i + 1)): rows_for(i + 1, n) for i, n in enumerate(sizes)}
    paging, _, strict = paging.partition("-")  # page1-strict: Offset 0 answers nothing
    fake = FakeLeadSquared(
        leads,
        paging=paging,
        page1_offset_zero="empty" if strict else "first",
        record_count=record_count,
        max_page_size=cap,
        rate_limit=None,
    )
    effective = page_size if cap is None else min(page_size, cap)
    facts = PagingFacts()
    for lead_id, rows in leads.items():
        fetch = PageCounter(fake, lead_id, skip_by_asked)
        assert collect(fetch, facts, page_size) == rows
        # learning costs a few calls at most: the probe and one confirming call
        assert fetch.calls <= math.ceil(len(rows) / effective) + 3
    if facts.reading is not None and effective > 1:
        assert facts.reading == paging
    if facts.cap is not None:
        assert facts.cap == cap

    # Once the host is known, no call is wasted.
    if facts.reading is not None and facts.short_page_is_final(facts.size_for(page_size)):
        size = facts.size_for(page_size)
        for lead_id, rows in leads.items():
            fetch = PageCounter(fake, lead_id, skip_by_asked)
            assert collect(fetch, facts, page_size) == rows
            pages = max(1, math.ceil(len(rows) / size))
            if facts.record_count_is_total and facts.total_is_proven(len(rows)):
                assert fetch.calls == pages
            elif facts.record_count_is_total:
                # the largest proven count may be a cap: its lead ends on an empty or
                # short page, one more call when it fills its last page exactly
                assert fetch.calls == len(rows) // size + 1 or fetch.calls == pages
            else:
                assert fetch.calls == len(rows) // size + 1


@pytest.mark.parametrize("paging", ["row", "page0", "page1"])
def test_told_reading_needs_no_probe(paging: str) -> None:
    lead_id = str(uuid.UUID(int=7))
    fake = FakeLeadSquared({lead_id: rows_for(7, 45)}, paging=paging, rate_limit=None)
    facts = PagingFacts(paging)
    facts.learn_cap(1000)
    fetch = PageCounter(fake, lead_id, False)
    assert collect(fetch, facts, 10) == rows_for(7, 45)
    assert fetch.calls == 5


def test_record_count_total_stops_without_an_extra_call() -> None:
    first, second, third = (str(uuid.UUID(int=n)) for n in (3, 4, 5))
    leads = {first: rows_for(3, 30), second: rows_for(4, 20), third: rows_for(5, 30)}
    fake = FakeLeadSquared(leads, record_count="total", rate_limit=None)
    facts = PagingFacts("row")
    fetch = PageCounter(fake, first, False)
    assert len(collect(fetch, facts, 10)) == 30
    # RecordCount 30 > 10 rows says it is no page count, but a total capped at 30 would read
    # the same: the empty 4th page proves 30 exact (tests/test_reliability_properties.py).
    assert fetch.calls == 4
    assert facts.record_count_verified == 30
    fetch = PageCounter(fake, second, False)
    assert len(collect(fetch, facts, 10)) == 20
    assert fetch.calls == 2  # a count below one proven exact ends the lead
    fetch = PageCounter(fake, third, False)
    assert len(collect(fetch, facts, 10)) == 30
    assert fetch.calls == 4  # a count equal to the proven one may be a cap: confirm the end


def test_a_server_repeating_the_same_page_forever_is_an_error_not_a_hang() -> None:
    page = rows_for(1, 10)
    calls = []

    def same_page(offset: int, row_count: int) -> tuple[int | None, list[dict]]:
        calls.append(offset)
        return 10, page

    with pytest.raises(PagingError, match="same rows again"):
        list(iter_lead_pages(same_page, PagingFacts(), page_size=10, max_calls=1000))
    assert len(calls) == 3  # A, the probe (A again: "page1"), then page 2 is A again


def test_a_server_that_never_ends_stops_at_the_call_limit() -> None:
    def endless(offset: int, row_count: int) -> tuple[int | None, list[dict]]:
        return None, [{"Id": f"{offset}-{k}"} for k in range(row_count)]

    with pytest.raises(PagingError, match="stopped after 50 calls"):
        list(iter_lead_pages(endless, PagingFacts("page0"), page_size=5, max_calls=50))


def test_identical_looking_pair_with_shared_id_is_kept() -> None:
    # an activity and its audit-log entry share Id and CreatedOn: both are kept
    pair = [
        {"Id": "a", "EventCode": 222, "CreatedOn": "2025-04-04 12:10:25"},
        {"Id": "a", "EventCode": 3011, "CreatedOn": "2025-04-04 12:10:25"},
    ]
    pages = list(
        iter_lead_pages(lambda o, r: (2, pair if o == 0 else []), PagingFacts("row"), page_size=5,
                        max_calls=10)
    )  # fmt: skip
    assert pages == [pair]


@pytest.mark.parametrize("paging", ["row", "page0", "page1"])
@pytest.mark.parametrize("known_reading", [False, True])
def test_facts_learned_by_another_thread_during_a_call(paging: str, known_reading: bool) -> None:
    # Another thread learns the cap while this one waits for a page it asked 1000 rows for.
    lead_id = str(uuid.UUID(int=11))
    fake = FakeLeadSquared({lead_id: rows_for(11, 12)}, paging=paging, max_page_size=4)
    facts = PagingFacts(paging if known_reading else None)
    inner = PageCounter(fake, lead_id, False)

    def fetch(offset: int, row_count: int) -> tuple[int | None, list[dict]]:
        reply = inner(offset, row_count)
        facts.learn_cap(4)
        facts.learn_reading(paging)
        facts.observe(None, 4)
        return reply

    assert collect(fetch, facts, 1000) == rows_for(11, 12)  # type: ignore[arg-type]


def test_a_server_sending_more_rows_than_asked() -> None:
    rows = rows_for(5, 23)

    def fixed_pages_of_10(offset: int, row_count: int) -> tuple[int | None, list[dict]]:
        return None, rows[offset * 10 : offset * 10 + 10]  # 0-based pages of 10, RowCount ignored

    for page_size in (3, 10, 1000):
        got = list(iter_lead_pages(fixed_pages_of_10, PagingFacts(), page_size=page_size,
                                   max_calls=50))  # fmt: skip
        assert [row for page in got for row in page] == rows


def test_a_record_count_below_what_a_lead_holds_is_never_trusted_again() -> None:
    # RecordCount that leaves out the audit-log rows (EventCode 3011): it undercounts.
    def server(rows: list[dict]):
        def fetch(offset: int, row_count: int) -> tuple[int | None, list[dict]]:
            counted = sum(1 for row in rows if row["EventCode"] != 3011)
            return counted, rows[offset : offset + row_count]

        return fetch

    facts = PagingFacts("row")
    facts.learn_cap(10)
    first = rows_for(1, 30)  # RecordCount 15 > 10 rows "proves" a total; 20 rows disprove it
    assert collect(server(first), facts, 10) == first  # type: ignore[arg-type]
    assert not facts.record_count_is_total
    second = rows_for(2, 40)  # RecordCount 20 would stop it after two pages
    assert collect(server(second), facts, 10) == second  # type: ignore[arg-type]
    assert not facts.record_count_is_total
    untrusting = PagingFacts("row", trust_record_count=False)
    untrusting.observe(100, 10)
    assert not untrusting.record_count_is_total
