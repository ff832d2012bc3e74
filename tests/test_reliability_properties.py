"""Property tests (hypothesis): the paging logic and the parser never lose or double an activity.

* Paging, in memory: any number of activities, any paging reading, either meaning of
  ``RecordCount``, any server cap, any page size asked, several leads sharing what the
  client learned about the host (as one client's leads do), the reading told or not.
* Paging and fetching over loopback: one fake server for the whole module, its paging
  settings and leads changed between examples; a fresh client per example.
* Parser: any mix of activity shapes (keys missing, junk types, Data and ActivityFields of
  any keys, text with HTML references and non-ASCII) gives one row per activity, in order,
  by every input route (list of dicts, mapping lead -> activities, the store's JSON strings).
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.api.paging import PagingFacts, iter_lead_pages
from lsq_analysis.fetch import fetch_activities
from lsq_analysis.frames import activities_frame, drop_duplicate_activities

# Hypothesis feeds junk dates on purpose; the parser's warning about them is expected here
# (tests/test_reliability_bad_input.py checks that warning itself).
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*values? in an unknown date format became null:UserWarning"
)

READINGS = ("row", "page0", "page1")
GUIDS = [f"0000{i:04x}-0000-4000-8000-{i:012x}" for i in range(1, 9)]


# --------------------------------------------------------------------------- a paging server
def _server_page(
    rows: list[dict], offset: int, row_count: int, reading: str, record_count: str, cap: int | None
) -> tuple[int, list[dict]]:
    """One reply of a server with the given reading, RecordCount meaning and cap."""
    size = row_count if cap is None else min(row_count, cap)
    skip = {"row": offset, "page0": offset * size, "page1": max(0, offset - 1) * size}[reading]
    page = rows[skip : skip + size]
    return (len(rows) if record_count == "total" else len(page)), page


def _lead_rows(n: int, lead: int, collide: bool) -> list[dict]:
    """``n`` distinct activities; with ``collide`` they share Id, EventCode and times."""
    return [
        {
            "Id": "same" if collide else f"a{lead}-{i}",
            "EventCode": 3011 if collide else i % 5,
            "CreatedOn": "2025-04-04 12:10:25",
            "ModifiedOn": "0001-01-01 00:00:00",
            "Data": [{"Key": "NewData", "Value": f'{{"Status":"s{lead}-{i}"}}'}],
        }
        for i in range(n)
    ]


@settings(max_examples=500, deadline=None)
@given(
    counts=st.lists(st.integers(0, 130), min_size=1, max_size=4),
    reading=st.sampled_from(READINGS),
    record_count=st.sampled_from(("total", "page")),
    cap=st.one_of(st.none(), st.integers(1, 60)),
    page_size=st.integers(1, 80),
    told=st.booleans(),
    collide=st.booleans(),
)
def test_paging_returns_every_activity_exactly_once(
    counts: list[int],
    reading: str,
    record_count: str,
    cap: int | None,
    page_size: int,
    told: bool,
    collide: bool,
) -> None:
    facts = PagingFacts(reading if told else None)  # shared by the leads, as in one client
    for lead, n in enumerate(counts):
        rows = _lead_rows(n, lead, collide)
        calls = []

        def fetch(
            offset: int, row_count: int, rows: list[dict] = rows, calls: list = calls
        ) -> tuple[int, list[dict]]:
            calls.append((offset, row_count))
            return _server_page(rows, offset, row_count, reading, record_count, cap)

        got = [a for page in iter_lead_pages(fetch, facts, page_size=page_size, max_calls=10_000)
               for a in page]  # fmt: skip
        note(f"lead {lead}: n={n} calls={calls} facts={facts!r}")
        assert got == rows  # every activity, once, in the server's order
        per_page = min(page_size, cap) if cap else page_size
        # bounded: the pages needed, plus a probe and the confirmation of a short page
        assert len(calls) <= 2 * -(-n // per_page) + 4, calls


# What else RecordCount could mean: the API page does not say. "total" and "page" are the two
# readings the client is built for; a server could as well send the rows remaining from the
# offset, a total capped at some value, a has-more hint, nothing, zero, or a string.
OTHER_RECORD_COUNTS = {
    "none": lambda n, skip, page: None,
    "zero": lambda n, skip, page: 0,
    "string_total": lambda n, skip, page: str(n),
    "remaining_from_offset": lambda n, skip, page: max(0, n - skip),
    "total_capped_at_100": lambda n, skip, page: min(n, 100),
    "page_plus_one_if_more": lambda n, skip, page: len(page) + (skip + len(page) < n),
}


def _odd_count_page(rows, offset, row_count, reading, meaning, cap):
    size = row_count if cap is None else min(row_count, cap)
    skip = {"row": offset, "page0": offset * size, "page1": max(0, offset - 1) * size}[reading]
    page = rows[skip : skip + size]
    count = OTHER_RECORD_COUNTS[meaning](len(rows), skip, page)
    return (int(count) if isinstance(count, str) else count), page


@settings(max_examples=300, deadline=None)
@given(
    counts=st.lists(st.integers(0, 130), min_size=1, max_size=4),
    reading=st.sampled_from(READINGS),
    meaning=st.sampled_from(sorted(OTHER_RECORD_COUNTS)),
    cap=st.one_of(st.none(), st.integers(1, 60)),
    page_size=st.integers(1, 80),
)
def test_paging_survives_other_record_count_meanings(
    counts: list[int], reading: str, meaning: str, cap: int | None, page_size: int
) -> None:
    facts = PagingFacts()
    for lead, n in enumerate(counts):
        rows = _lead_rows(n, lead, collide=False)

        def fetch(offset: int, row_count: int, rows: list[dict] = rows) -> tuple:
            return _odd_count_page(rows, offset, row_count, reading, meaning, cap)

        got = [a for page in iter_lead_pages(fetch, facts, page_size=page_size, max_calls=10_000)
               for a in page]  # fmt: skip
        note(f"lead {lead}: n={n} got={len(got)} facts={facts!r}")
        assert got == rows


# --------------------------------------------------------------------------- over loopback
@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeLeadSquared]:
    with FakeLeadSquared({GUIDS[0]: []}, rate_limit=None) as fake:
        yield fake


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    counts=st.lists(st.integers(0, 90), min_size=1, max_size=5),
    reading=st.sampled_from(READINGS),
    record_count=st.sampled_from(("total", "page")),
    cap=st.one_of(st.none(), st.integers(1, 40)),
    page_size=st.integers(1, 60),
)
def test_fetch_over_loopback_returns_every_activity_exactly_once(
    shared_fake: FakeLeadSquared,
    counts: list[int],
    reading: str,
    record_count: str,
    cap: int | None,
    page_size: int,
) -> None:
    leads = {GUIDS[i]: _lead_rows(n, i, collide=False) for i, n in enumerate(counts)}
    shared_fake.leads = leads
    shared_fake.paging, shared_fake.record_count, shared_fake.max_page_size = (
        reading,
        record_count,
        cap,
    )
    client = shared_fake.client(page_size=page_size, max_calls=1000, per_seconds=1.0)
    for lead, rows in leads.items():
        assert client.get_lead_activities(lead) == rows
    frame = fetch_activities(list(leads), client=client, progress=False)
    assert frame.height == sum(counts)
    for lead, rows in leads.items():
        part = frame.filter(pl.col("lead_id") == lead)
        assert part["activity_id"].to_list() == [r["Id"] for r in rows]


def test_fetch_keeps_distinct_log_rows_that_share_id_event_and_times(
    shared_fake: FakeLeadSquared,
) -> None:
    rows = _lead_rows(4, 0, collide=True)  # WhatsApp status changes: sent, delivered, read...
    shared_fake.leads = {GUIDS[0]: rows}
    shared_fake.paging, shared_fake.record_count, shared_fake.max_page_size = "row", "total", 2
    client = shared_fake.client(max_calls=1000, per_seconds=1.0)
    assert client.get_lead_activities(GUIDS[0]) == rows  # the client keeps all four
    frame = fetch_activities([GUIDS[0]], client=client, progress=False)
    assert frame["data.NewData"].to_list() == [r["Data"][0]["Value"] for r in rows]


def test_store_and_refresh_keep_distinct_log_rows_that_share_id_event_and_times(
    shared_fake: FakeLeadSquared, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from lsq_analysis.store import ActivityStore

    rows = _lead_rows(4, 0, collide=True)
    shared_fake.leads = {GUIDS[0]: rows}
    shared_fake.paging, shared_fake.record_count, shared_fake.max_page_size = "row", "total", 2
    client = shared_fake.client(max_calls=1000, per_seconds=1.0)
    store = ActivityStore(tmp_path_factory.mktemp("collide") / "store")
    fetch_activities([GUIDS[0]], client=client, store=store, progress=False)
    newer = _lead_rows(3, 9, collide=True)  # three more status changes, in the same second
    shared_fake.leads = {GUIDS[0]: newer + rows}
    again = fetch_activities([GUIDS[0]], client=client, store=store, progress=False, max_age=0)
    expected = [r["Data"][0]["Value"] for r in newer + rows]
    assert again["data.NewData"].to_list() == expected
    assert store.frame()["data.NewData"].to_list() == expected
    assert store.read_activities(GUIDS[0]) == newer + rows


def test_drop_duplicate_activities_keeps_distinct_rows_that_share_the_keys() -> None:
    rows = _lead_rows(4, 0, collide=True)
    frame = drop_duplicate_activities(activities_frame(rows + rows[:1]))
    assert frame["data.NewData"].to_list() == [r["Data"][0]["Value"] for r in rows]


# --------------------------------------------------------------------------- the parser
_KEY = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,11}", fullmatch=True)
_PLAIN = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)
_TEXT = st.one_of(
    _PLAIN,
    st.sampled_from(["&#x1F447; hi", "caf\u00e9 &amp; bar", '{"IsAsync" : False}', "", " "]),
)
_JUNK = st.one_of(st.none(), st.integers(-(2**40), 2**40), st.booleans(), _TEXT, st.floats())
_DATES = st.sampled_from(
    ["2025-04-04 12:10:25", "0001-01-01 00:00:00", "4/4/2025 4:39:47 PM", "", "garbage", None]
)


@st.composite
def activity(draw: st.DrawFn, index: int) -> dict:
    act: dict = {"Id": f"id-{index}"}  # a distinct id marks each input row
    act["EventCode"] = draw(st.one_of(st.integers(0, 13000), st.sampled_from(["21", None, "x"])))
    if draw(st.booleans()):
        act["EventName"] = draw(_TEXT)
    if draw(st.booleans()):
        act["CreatedOn"] = draw(_DATES)
    if draw(st.booleans()):
        act["ModifiedOn"] = draw(_DATES)
    if draw(st.booleans()):
        act["ActivityScore"] = draw(_JUNK)
    if draw(st.booleans()):
        act["Data"] = draw(
            st.one_of(
                st.lists(st.fixed_dictionaries({"Key": _KEY, "Value": _TEXT}), max_size=5),
                st.just([]),
                st.none(),
            )
        )
    if draw(st.booleans()):
        act["ActivityFields"] = draw(
            st.one_of(st.dictionaries(_KEY, st.one_of(_TEXT, st.none()), max_size=5), st.none())
        )
    for key in draw(st.lists(_KEY, max_size=3)):  # unknown top-level keys of any value
        act.setdefault(key, draw(_JUNK))
    return act


@st.composite
def activity_lists(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(0, 25))
    return [draw(activity(i)) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(acts=activity_lists())
def test_parser_gives_one_row_per_activity_in_order_by_every_route(acts: list[dict]) -> None:
    frame = activities_frame(acts)
    assert frame.height == len(acts)
    assert frame["activity_id"].to_list() == [a["Id"] for a in acts]

    # the store's route: one JSON string per activity
    stored = activities_frame(pl.Series([orjson.dumps(a).decode() for a in acts], dtype=pl.String))
    assert stored.height == len(acts)
    assert stored["activity_id"].to_list() == frame["activity_id"].to_list()

    # a mapping lead -> activities fills lead_id, keeps every row
    by_lead = activities_frame({GUIDS[1]: acts[: len(acts) // 2], GUIDS[2]: acts[len(acts) // 2 :]})
    assert by_lead["activity_id"].to_list() == frame["activity_id"].to_list()
    assert by_lead["lead_id"].to_list() == [GUIDS[1]] * (len(acts) // 2) + [GUIDS[2]] * (
        len(acts) - len(acts) // 2
    )

    # plain Data values come through unchanged (first value of a key in an activity)
    for row, act in enumerate(acts):
        seen: set[str] = set()
        for pair in act.get("Data") or []:
            key, value = pair["Key"], pair["Value"]
            if key in seen:
                continue  # a key repeated in one activity: the frame keeps the first value
            seen.add(key)
            if "&" in value or not value.strip():
                continue  # decoded or nulled on purpose
            column = f"data.{key}"
            assert column in frame.columns, column
            assert frame[column][row] in (value, value.strip()), (column, row)


@settings(max_examples=60, deadline=None)
@given(acts=activity_lists(), repeats=st.lists(st.integers(0, 24), max_size=10))
def test_drop_duplicates_removes_only_the_repeats(acts: list[dict], repeats: list[int]) -> None:
    doubled = acts + [acts[i] for i in repeats if i < len(acts)]  # paging overlap
    frame = drop_duplicate_activities(activities_frame(doubled))
    assert frame["activity_id"].to_list() == [a["Id"] for a in acts]


# --------------------------------------------------------------------------- threads sharing facts
def _paging_server(rows: list[dict], reading: str, record_count: str, cap: int):
    def fetch(offset: int, row_count: int) -> tuple[int, list[dict]]:
        return _server_page(rows, offset, row_count, reading, record_count, cap)

    return fetch


@pytest.mark.parametrize("record_count", ["total", "page"])
@pytest.mark.parametrize("reading", READINGS)
def test_a_lead_started_before_another_learned_the_cap_is_complete(
    reading: str, record_count: str
) -> None:
    """The interleaving of two threads of one client, made deterministic: lead A's first
    (capped) page arrives, then lead B is paged to the end (the client learns the reading and
    the cap of 17), then lead A goes on. A must still get all of its 50 activities."""
    facts = PagingFacts()
    lead_a = _lead_rows(50, 1, collide=False)
    lead_b = _lead_rows(50, 2, collide=False)
    pages_a = iter_lead_pages(
        _paging_server(lead_a, reading, record_count, 17), facts, page_size=1000, max_calls=100
    )
    got = list(next(pages_a))
    for _ in iter_lead_pages(
        _paging_server(lead_b, reading, record_count, 17), facts, page_size=1000, max_calls=100
    ):
        pass
    assert facts.cap == 17
    for page in pages_a:
        got.extend(page)
    assert got == lead_a


def test_threads_sharing_one_client_get_every_activity() -> None:
    """Many threads calling get_lead_activities on one fresh client (paging not known yet)."""
    from concurrent.futures import ThreadPoolExecutor

    leads = {guid: _lead_rows(20 + 13 * i, i, collide=False) for i, guid in enumerate(GUIDS)}
    for reading in READINGS:
        with FakeLeadSquared(
            leads, paging=reading, max_page_size=17, rate_limit=None, latency=(0.0, 0.01)
        ) as fake:
            client = fake.client(max_calls=1000, per_seconds=1.0)
            with ThreadPoolExecutor(len(leads)) as pool:
                results = dict(zip(leads, pool.map(client.get_lead_activities, leads), strict=True))
        for lead, rows in leads.items():
            assert len(results[lead]) == len(rows), (reading, lead)
            assert results[lead] == rows


def test_a_capped_record_count_after_a_lead_of_exactly_the_cap() -> None:
    facts = PagingFacts()
    for lead, n in enumerate((100, 120)):
        rows = _lead_rows(n, lead, collide=False)

        def fetch(offset: int, row_count: int, rows: list[dict] = rows) -> tuple:
            return _odd_count_page(rows, offset, row_count, "row", "total_capped_at_100", None)

        got = [a for page in iter_lead_pages(fetch, facts, page_size=50, max_calls=100)
               for a in page]  # fmt: skip
        assert got == rows, (n, len(got))
