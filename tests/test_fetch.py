"""fetch_activities against the fake server over loopback: concurrency within the limit,
order, per-lead failures, the store (re-run, refresh, crash and resume)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.errors import AuthenticationError, FetchError
from lsq_analysis.fetch import FetchWarning, fetch_activities, run_fetch
from lsq_analysis.samples import synthetic_activities
from lsq_analysis.store import ActivityStore

BROKEN = ["0badbad0-0000-4000-8000-000000000001", "0badbad0-0000-4000-8000-000000000002"]


def _client(fake: FakeLeadSquared):
    """A client for the fake; with no server limit, no client limit to speak of either."""
    return fake.client() if fake.rate_limit else fake.client(max_calls=1000, per_seconds=1.0)


def _leads(n: int, seed: int, low: int = 1, high: int = 80) -> dict[str, list[dict]]:
    return synthetic_activities(n, activities=(low, high), seed=seed)


def _ids(frame: pl.DataFrame, lead: str) -> list[tuple[str, int]]:
    part = frame.filter(pl.col("lead_id") == lead)
    return list(zip(part["activity_id"], part["event_code"], strict=True))


def _expected(activities: list[dict]) -> list[tuple[str, int]]:
    return [(a["Id"], a["EventCode"]) for a in activities]


def _assert_every_activity_once(frame: pl.DataFrame, leads: dict[str, list[dict]]) -> None:
    assert frame.height == sum(len(v) for v in leads.values())
    for lead, activities in leads.items():
        assert _ids(frame, lead) == _expected(activities), lead


def test_many_leads_every_activity_once_in_order_within_the_limit() -> None:
    leads = _leads(16, seed=1)
    order = sorted(leads, reverse=True)  # not the server's order
    with FakeLeadSquared(
        leads, max_page_size=30, rate_limit=(15, 0.5), latency=(0.01, 0.04)
    ) as fake:
        df = fetch_activities(order, client=_client(fake), progress=False)
        stats = fake.stats
    _assert_every_activity_once(df, leads)
    assert df["lead_id"].unique(maintain_order=True).to_list() == order
    assert stats.statuses.get(429, 0) == 0
    assert stats.max_calls_in_window(0.5) <= 15


def test_leads_stay_complete_while_the_client_learns_the_page_cap() -> None:
    """Small leads first (the warm-up learns the paging reading but not the page cap), then
    many leads longer than the server's cap of 30 rows, started staggered by the limit: the
    cap is learned while other leads are in flight. Before the pager's fix (79a6069),
    ``_paging.short_page_is_final`` ended those leads after their first page (seen here:
    1,743 of 1,888 activities)."""
    leads = {
        **_leads(3, seed=21, low=3, high=10),
        **_leads(30, seed=22, low=40, high=90),
    }
    with FakeLeadSquared(
        leads, max_page_size=30, rate_limit=(15, 0.5), latency=(0.01, 0.03)
    ) as fake:
        df = fetch_activities(list(leads), client=fake.client(), progress=False)
    _assert_every_activity_once(df, leads)


def test_leads_run_concurrently_so_the_rate_limit_sets_the_pace() -> None:
    leads = _leads(30, seed=2, low=1, high=20)  # one page each
    latency = 0.2
    with FakeLeadSquared(leads, rate_limit=(20, 1.0), latency=(latency, latency)) as fake:
        started = time.monotonic()
        result = run_fetch(list(leads), client=_client(fake), progress=False)
        elapsed = time.monotonic() - started
        stats = fake.stats
    _assert_every_activity_once(result.frame, leads)
    assert result.calls == stats.calls >= 30
    # one call after another would take calls x latency; the limit admits 20 per second
    # (a few warm-up leads go one at a time while the client learns the paging)
    assert elapsed < stats.calls * latency / 2.5, (elapsed, stats.calls)
    assert stats.max_calls_in_window(1.0) <= 20
    assert stats.statuses.get(429, 0) == 0


def _with_broken(leads: dict[str, list[dict]]) -> dict[str, list]:
    # a reply whose ProspectActivities holds a non-object: the client refuses it for that
    # lead only (ResponseFormatError, not retried)
    return {**leads, **{lead: ["not an activity"] for lead in BROKEN}}


def test_failed_leads_warn_once_and_lose_nothing_else() -> None:
    leads = _leads(6, seed=3)
    asked = [BROKEN[0], *leads, BROKEN[1]]
    with (
        FakeLeadSquared(_with_broken(leads), rate_limit=None) as fake,
        pytest.warns(FetchWarning) as caught,
    ):
        df = fetch_activities(asked, client=_client(fake), progress=False)
    assert len([w for w in caught if issubclass(w.category, FetchWarning)]) == 1
    text = str(caught[0].message)
    assert "2 of 8 leads failed" in text
    assert BROKEN[0] in text and BROKEN[1] in text and "ResponseFormatError" in text
    _assert_every_activity_once(df, leads)


def test_failed_leads_raise_with_frame_and_failures() -> None:
    leads = _leads(4, seed=4)
    with (
        FakeLeadSquared(_with_broken(leads), rate_limit=None) as fake,
        pytest.raises(FetchError) as info,
    ):
        fetch_activities([*leads, *BROKEN], client=_client(fake), progress=False, errors="raise")
    err = info.value
    _assert_every_activity_once(err.frame, leads)
    assert err.failures.columns == ["lead_id", "error", "message"]
    assert sorted(err.failures["lead_id"]) == sorted(BROKEN)
    assert set(err.failures["error"]) == {"ResponseFormatError"}
    assert all(err.failures["message"].str.len_chars() > 0)


def test_bad_input_is_refused_before_any_call() -> None:
    leads = _leads(2, seed=5)
    lead = next(iter(leads))
    with FakeLeadSquared(leads, rate_limit=None) as fake:
        client = _client(fake)
        with pytest.raises(ValueError, match="empty"):
            fetch_activities([], client=client, progress=False)
        with pytest.raises(ValueError, match=r"2 of 3 lead ids are not GUIDs: 'nope', 42"):
            fetch_activities([lead, "nope", 42], client=client, progress=False)  # type: ignore[list-item]
        with pytest.raises(ValueError, match="errors must be one of"):
            fetch_activities([lead], client=client, errors="ignore")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="event must be one event code"):
            fetch_activities([lead], client=client, event=["Page Visit", 21])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_age"):
            fetch_activities([lead], client=client, max_age=-5)
        assert fake.stats.calls == 0
        with pytest.warns(UserWarning, match="1 duplicate lead id"):
            df = fetch_activities([lead, lead.upper()], client=client, progress=False)
    assert _ids(df, lead) == _expected(leads[lead])


def test_wrong_keys_stop_the_run_with_the_authentication_error() -> None:
    leads = _leads(5, seed=6)
    with FakeLeadSquared(leads, rate_limit=None) as fake:
        from lsq_analysis.api.client import LeadSquaredClient

        client = LeadSquaredClient(fake.url, "u$rTESTACCESSKEYwrong", "TESTSECRET$wrong")
        with pytest.raises(AuthenticationError):
            fetch_activities(list(leads), client=client, progress=False)


def test_event_filter_with_and_without_store(tmp_path: Path) -> None:
    leads = _leads(5, seed=7)
    code = leads[next(iter(leads))][0]["EventCode"]
    expected = {lead: [a for a in acts if a["EventCode"] == code] for lead, acts in leads.items()}
    with FakeLeadSquared(leads, rate_limit=None) as fake:
        plain = fetch_activities(list(leads), client=_client(fake), event=code, progress=False)
        stored = fetch_activities(
            list(leads), client=_client(fake), event=code, store=tmp_path, progress=False
        )
    _assert_every_activity_once(plain, expected)
    assert stored.equals(plain.select(stored.columns))
    _assert_every_activity_once(stored, expected)


def test_store_rerun_costs_no_call_and_refresh_fetches_only_new(tmp_path: Path) -> None:
    leads = _leads(6, seed=8, low=60, high=90)  # 3 pages of 30 at most
    target = next(iter(leads))
    with FakeLeadSquared(leads, max_page_size=30, rate_limit=None) as fake:
        client = _client(fake)
        first = fetch_activities(list(leads), client=client, store=tmp_path, progress=False)
        _assert_every_activity_once(first, leads)

        calls = fake.stats.calls
        again = fetch_activities(list(leads), client=client, store=tmp_path, progress=False)
        assert fake.stats.calls == calls, "a re-run over the store makes no call"
        assert again.equals(first)

        # five new activities arrive on one lead (newest first, like the API)
        newest = fake.leads[target][0]["CreatedOn"]
        new = [
            {
                **fake.leads[target][i],
                "Id": f"00000000-0000-4000-9000-00000000000{i}",
                "CreatedOn": newest.replace(newest[:4], "2026"),
                "ModifiedOn": "2026-01-01 00:00:00",
            }
            for i in range(5)
        ]
        fake.leads[target][:0] = new
        calls = fake.stats.calls
        refreshed = run_fetch([target], client=client, store=tmp_path, max_age=0, progress=False)
        assert refreshed.refreshed == 1
        assert fake.stats.calls - calls == 1, "only the newest page is fetched"
        assert _ids(refreshed.frame, target) == _expected(fake.leads[target])

        # the store as a whole: every lead once, the refreshed one with its new activities
        everything = ActivityStore(tmp_path).frame(list(leads))
        _assert_every_activity_once(everything, {**leads, target: fake.leads[target]})


def test_refresh_reads_every_page_when_the_order_is_not_newest_first(tmp_path: Path) -> None:
    leads = _leads(1, seed=14, low=70, high=80)
    (lead,) = leads
    oldest_first = {lead: leads[lead][::-1]}
    with FakeLeadSquared(oldest_first, max_page_size=30, rate_limit=None) as fake:
        client = _client(fake)
        fetch_activities([lead], client=client, store=tmp_path, progress=False)
        newest = {
            **fake.leads[lead][-1],
            "Id": "00000000-0000-4000-9000-000000000001",
            "CreatedOn": "2026-01-01 00:00:00",
            "ModifiedOn": "2026-01-01 00:00:00",
        }
        fake.leads[lead].append(newest)  # this server lists oldest first: new ones come last
        calls = fake.stats.calls
        df = fetch_activities([lead], client=client, store=tmp_path, max_age=0, progress=False)
        assert fake.stats.calls - calls == 3, "no early stop: every page is read"
    assert _ids(df, lead) == _expected(fake.leads[lead])


def test_full_refresh_sees_an_edit_to_an_older_activity(tmp_path: Path) -> None:
    leads = _leads(1, seed=16, low=70, high=80)
    (lead,) = leads
    with FakeLeadSquared(leads, max_page_size=30, rate_limit=None) as fake:
        client = _client(fake)
        fetch_activities([lead], client=client, store=tmp_path, progress=False)
        stored = ActivityStore(tmp_path).read_activities(lead)
        oldest = fake.leads[lead][-1]  # on the last of three pages
        fake.leads[lead][-1] = {**oldest, "ModifiedOn": "2026-02-02 00:00:00", "ActivityScore": 99}

        calls = fake.stats.calls
        newest = run_fetch([lead], client=client, store=tmp_path, max_age=0, progress=False)
        assert fake.stats.calls - calls == 1, "the newest page only: the edit is not seen"
        assert newest.refreshed == 1
        assert ActivityStore(tmp_path).read_activities(lead) == stored

        calls = fake.stats.calls
        full = run_fetch(
            [lead], client=client, store=tmp_path, max_age=0, refresh="full", progress=False
        )
        assert fake.stats.calls - calls == 3, "every page again"
        assert (full.refreshed, full.fetched) == (1, 0)
        assert ActivityStore(tmp_path).read_activities(lead) == fake.leads[lead]  # edit stored
        assert full.frame["activity_score"].to_list()[-1] == 99
        assert _ids(full.frame, lead) == _expected(fake.leads[lead])

        with pytest.raises(ValueError, match="refresh must be one of 'newest', 'full'"):
            fetch_activities([lead], client=client, refresh="modified", progress=False)  # type: ignore[arg-type]


def _log_rows(lead: str, n: int) -> list[dict]:
    """Audit-log rows of one WhatsApp message: same Id, EventCode, times; only Data differs."""
    return [
        {"Id": "5c92870f-a337-458f-8be1-0e2458513051", "EventCode": 3011, "EventName":
         "WhatsApp Message", "Type": "Logs", "CreatedOn": "2025-04-04 12:10:25",
         "ModifiedOn": "0001-01-01 00:00:00", "RelatedProspectId": lead,
         "Data": [{"Key": "NewData", "Value": f'{{"Status":"{status}"}}'}]}
        for status in ["sent", "delivered", "read", "replied"][:n]
    ]  # fmt: skip


def test_distinct_log_rows_sharing_id_event_and_times_are_all_kept(tmp_path: Path) -> None:
    lead = "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"
    (synthetic,) = _leads(1, seed=15, low=8, high=8).values()
    older = [{**a, "RelatedProspectId": lead} for a in synthetic if a["CreatedOn"] < "2025-04-04"]
    rows = _log_rows(lead, 4) + older  # newest first
    with FakeLeadSquared({lead: rows}, max_page_size=3, rate_limit=None) as fake:
        client = _client(fake)
        plain = fetch_activities([lead], client=client, progress=False)
        assert plain.height == len(rows)
        assert plain["data.NewData"].head(4).to_list() == [r["Data"][0]["Value"] for r in rows[:4]]
        fetch_activities([lead], client=client, store=tmp_path, progress=False)
        newest = {**rows[0], "Id": "00000000-0000-4000-9000-000000000009",
                  "EventCode": 21, "CreatedOn": "2025-05-01 00:00:00"}  # fmt: skip
        fake.leads[lead].insert(0, newest)  # the first page now ends inside the log rows
        refreshed = fetch_activities([lead], client=client, store=tmp_path, max_age=0,
                                     progress=False)  # fmt: skip
    assert refreshed.height == len(rows) + 1
    assert ActivityStore(tmp_path).read_activities(lead) == [newest, *rows]


def test_a_write_cut_between_its_commits_is_ignored_then_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that reached ``raw`` and ``activities`` but not ``fetches`` (killed between
    commits) does not count: reads keep the lead's last complete rows, and a refresh
    stores the lead once."""
    from lsq_analysis.store.tables import Table

    leads = _leads(3, seed=13)
    a, b, _ = leads
    with FakeLeadSquared(leads, rate_limit=None) as fake:
        fetch_activities(list(leads), client=_client(fake), store=tmp_path, progress=False)
        store = ActivityStore(tmp_path)
        real_append = Table.append

        def killed_before_fetches(self: Table, frame: pl.DataFrame, **kw: Any) -> int:
            if self.spec.name == "fetches":
                raise KeyboardInterrupt
            return real_append(self, frame, **kw)

        monkeypatch.setattr(Table, "append", killed_before_fetches)
        with pytest.raises(KeyboardInterrupt):
            store.write_leads({b: leads[b][:1], a: []})
        monkeypatch.setattr(Table, "append", real_append)
        assert ActivityStore(tmp_path).read_activities(b) == leads[b]
        df = fetch_activities(
            list(leads), client=_client(fake), store=tmp_path, progress=False, max_age=0
        )
    _assert_every_activity_once(df, leads)
    assert ActivityStore(tmp_path).read_activities(b) == leads[b]
    assert ActivityStore(tmp_path).frame().height == sum(map(len, leads.values()))


_CHILD = """
import sys
from lsq_analysis.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigkill_mid_run_then_resume_loses_and_doubles_nothing(tmp_path: Path) -> None:
    leads = _leads(30, seed=9, low=20, high=90)
    store_dir = tmp_path / "store"
    leads_file = tmp_path / "leads.txt"
    leads_file.write_text("\n".join(leads))
    with FakeLeadSquared(
        leads, max_page_size=20, rate_limit=(12, 0.5), latency=(0.03, 0.08)
    ) as fake:
        env = {
            **os.environ,
            "LSQ_HOST": fake.url,
            "LSQ_ACCESS_KEY": fake.access_key,
            "LSQ_SECRET_KEY": fake.secret_key,
        }
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, "fetch", "--leads-file", str(leads_file),
             "--store", str(store_dir), "--out", str(tmp_path / "out.parquet"),
             "--rate-limit", "12/0.5", "--no-progress", "--batch-leads", "4"],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        reader = ActivityStore(store_dir)
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline and child.poll() is None:
                if len(reader) >= 8:  # two batches committed
                    break
                time.sleep(0.02)  # polling the store (there is no event to await)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL

        store = ActivityStore(store_dir)
        stored = store.lead_ids()
        assert 8 <= len(stored) < len(leads), "killed part way"
        for lead in stored:  # a lead in the store is complete, never half of it
            assert store.read_activities(lead) == leads[lead]

        calls = fake.stats.calls
        result = run_fetch(list(leads), client=_client(fake), store=store_dir, progress=False)
        assert result.from_store == len(stored)
        assert result.fetched == len(leads) - len(stored)
        assert fake.stats.calls - calls >= len(leads) - len(stored)
    assert result.failures.height == 0
    _assert_every_activity_once(result.frame, leads)
    assert ActivityStore(store_dir).frame().height == result.frame.height


def test_event_by_name_is_looked_up_in_the_catalog_and_fetches_the_same_rows() -> None:
    leads = _leads(4, seed=17)
    code = leads[next(iter(leads))][0]["EventCode"]
    with FakeLeadSquared(leads, rate_limit=None) as fake:
        client = _client(fake)
        types = client.get_activity_types()
        names = types.filter(pl.col("event_code") == code)["event_name"].to_list()
        assert len(names) == 1, "the bundled catalog names the synthetic codes once"
        by_code = fetch_activities(list(leads), client=_client(fake), event=code, progress=False)
        by_name = fetch_activities(list(leads), client=client, event=names[0], progress=False)
        assert by_name.equals(by_code) and by_code.height > 0
        assert client.event_code(names[0].upper()) == code  # any case, catalog kept
        calls = fake.stats.calls
        with pytest.raises(ValueError, match=r"no event type named 'Page Vist'.*known names"):
            fetch_activities(list(leads), client=client, event="Page Vist", progress=False)
        assert fake.stats.calls == calls, "an unknown name stops the run before any call"
