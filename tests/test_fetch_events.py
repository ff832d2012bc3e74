"""fetch_events and ``lsq-analysis fetch-events``: the account-wide pull of one activity type,
over HTTP to the fake server, merged into Delta stores on disk with the per-lead activities,
without duplicates."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import lsq_analysis as lsq
from lsq_analysis import events as events_module
from lsq_analysis.api import leads as lead_calls
from lsq_analysis.api.client import LeadSquaredClient
from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.errors import FetchError
from lsq_analysis.samples import synthetic_activities
from lsq_analysis.store import ActivityStore
from lsq_analysis.store.events import merge_lead_events
from lsq_analysis.store.records import merge_activities

START = "2000-01-01"


@pytest.fixture(scope="module")
def account() -> dict[str, list[dict[str, Any]]]:
    return synthetic_activities(30, activities=(5, 60), seed=21)


@pytest.fixture()
def fake(account: dict[str, list[dict[str, Any]]]) -> Iterator[FakeLeadSquared]:
    with FakeLeadSquared(account, rate_limit=None) as server:
        yield server


def _common_code(account: dict[str, list[dict[str, Any]]]) -> int:
    codes = pl.Series([int(a["EventCode"]) for acts in account.values() for a in acts])
    return int(codes.filter(codes != 3011).mode().sort()[0])


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("event_code") != 3011).select("activity_id", "event_code")


def test_fetch_events_gives_every_activity_of_the_type_with_the_per_lead_columns(
    fake: FakeLeadSquared, account: dict[str, list[dict[str, Any]]]
) -> None:
    client = fake.client()
    code = _common_code(account)
    per_lead = lsq.fetch_activities(list(account), client=client, progress=False)
    expected = per_lead.filter(pl.col("event_code") == code)
    name = expected["event_name"].mode()[0]

    result = events_module.run_fetch_events(name, START, client=client, progress=False)
    got = result.frame
    assert sorted(got["activity_id"]) == sorted(expected["activity_id"])
    assert set(got["event_code"]) == {code} and set(got["event_name"]) == {name}
    assert sorted(got["lead_id"]) == sorted(expected["lead_id"])
    assert got.schema["created_on"] == per_lead.schema["created_on"]
    pages = -(-expected.height // 1000)
    assert result.calls == 1 + pages  # the catalog, then the pages
    assert f"{expected.height:,} {name!r} activities of" in result.summary()
    # the same call by code, through the public name, needs no catalog look-up by name
    assert lsq.fetch_events(code, START, client=client, progress=False).height == got.height


def test_pulled_leads_are_partial_until_fetched_then_complete_without_duplicates(
    fake: FakeLeadSquared, account: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    client = fake.client()
    code = _common_code(account)
    store = ActivityStore(tmp_path / "store")
    first = events_module.run_fetch_events(code, START, client=client, store=store, progress=False)
    assert first.stored is not None
    pulled_leads = first.frame["lead_id"].unique().to_list()
    assert first.stored.new_leads == len(pulled_leads) == first.stored.leads
    assert first.stored.added == first.frame.height
    stored = store.stored_leads()
    assert not stored["complete"].any() and stored.height == len(pulled_leads)
    assert store.frame().height == first.frame.height
    _, _, missing = store.plan(pulled_leads)
    assert sorted(missing) == sorted(pulled_leads)  # a fetch will complete them

    # the same pull again writes nothing
    version = store.version
    again = events_module.run_fetch_events(code, START, client=client, store=store, progress=False)
    assert again.stored is not None and again.stored.unchanged == first.frame.height
    assert store.version == version

    # the per-lead fetch completes every lead: each activity once
    lsq.fetch_activities(list(account), client=client, store=store, progress=False)
    assert store.stored_leads()["complete"].all()
    full = store.frame()
    total = sum(len(acts) for acts in account.values())
    assert full.height == total
    assert _keys(full).is_duplicated().sum() == 0

    # and a pull after it finds everything there, and keeps the stores' per-lead rows
    version = store.version
    last = events_module.run_fetch_events(code, START, client=client, store=store, progress=False)
    assert last.stored is not None and last.stored.added == last.stored.updated == 0
    assert store.version == version and store.frame().height == total


def test_a_pull_into_a_complete_store_adds_new_activities_and_keeps_the_lead_complete(
    account: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    code = _common_code(account)
    lead = next(lead for lead, acts in account.items() if any(a["EventCode"] == code for a in acts))
    older = {
        k: [a for a in v if not (k == lead and a["EventCode"] == code)] for k, v in account.items()
    }
    store = ActivityStore(tmp_path / "store")
    with FakeLeadSquared(older, rate_limit=None) as before:
        lsq.fetch_activities(list(older), client=before.client(), store=store, progress=False)
    fetched_at = store.stored_leads().filter(pl.col("lead_id") == lead)["fetched_at"][0]
    with FakeLeadSquared(account, rate_limit=None) as now:
        result = events_module.run_fetch_events(
            code, START, client=now.client(), store=store, progress=False
        )
    new = sum(1 for a in account[lead] if a["EventCode"] == code)
    assert result.stored is not None and (result.stored.added, result.stored.leads) == (new, 1)
    row = store.stored_leads().filter(pl.col("lead_id") == lead)
    assert row["complete"][0] and row["fetched_at"][0] == fetched_at
    assert store.frame(lead).height == len(account[lead])
    # newest first, as the API sends a lead's activities
    created = store.frame(lead)["created_on"]
    assert created.is_sorted(descending=True)


def test_the_later_modified_copy_wins_and_ties_keep_the_stored_one() -> None:
    stored = [
        {"Id": "A", "EventCode": 21, "CreatedOn": "2025-01-03 00:00:00",
         "ModifiedOn": "2025-01-03 00:00:00", "Note": "stored"},
        {"Id": "B", "EventCode": 21, "CreatedOn": "2025-01-01 00:00:00",
         "ModifiedOn": "2025-01-05 00:00:00", "Note": "stored"},
        {"Id": "B", "EventCode": 3011, "CreatedOn": "2025-01-01 00:00:00",
         "ModifiedOn": "2025-01-05 00:00:00", "Note": "log"},
    ]  # fmt: skip
    pulled = [
        {"Id": "a", "EventCode": "21", "CreatedOn": "2025-01-03 00:00:00",
         "ModifiedOn": "2025-01-04 00:00:00", "Note": "newer"},
        {"Id": "B", "EventCode": 21, "CreatedOn": "2025-01-01 00:00:00",
         "ModifiedOn": "2025-01-05 00:00:00", "Note": "same time"},
        {"Id": "C", "EventCode": 21, "CreatedOn": "2025-01-02 00:00:00",
         "ModifiedOn": "0001-01-01 00:00:00", "Note": "new"},
    ]  # fmt: skip
    merged, added, updated, unchanged = merge_lead_events(stored, pulled)
    assert (added, updated, unchanged) == (1, 1, 1)
    assert [(a["Id"], a["Note"]) for a in merged] == [
        ("a", "newer"), ("C", "new"), ("B", "stored"), ("B", "log")
    ]  # fmt: skip


def test_a_refresh_replaces_the_pulled_copy_of_an_activity_at_the_boundary_second() -> None:
    pulled_copy = {"Id": "X", "EventCode": 21, "CreatedOn": "2025-01-02 00:00:00",
                   "ActivityFields": {"Status": "Active"}}  # fmt: skip
    per_lead = {"Id": "X", "EventCode": 21, "CreatedOn": "2025-01-02 00:00:00",
                "Data": {"Status": "Active"}}  # fmt: skip
    older = {"Id": "Y", "EventCode": 21, "CreatedOn": "2025-01-01 00:00:00"}
    merged = merge_activities([pulled_copy, older], [per_lead], complete=False)
    assert merged == [per_lead, older]


def test_a_failure_part_way_keeps_what_came_before_it(
    account: dict[str, list[dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _common_code(account)
    monkeypatch.setattr(lead_calls, "_EVENT_PAGE", 10)  # many pages
    monkeypatch.setattr(events_module, "COMMIT_ACTIVITIES", 10)  # a commit per page
    store = ActivityStore(tmp_path / "store")
    fake = FakeLeadSquared(account, rate_limit=None).start()

    class ServerGoesAway(LeadSquaredClient):
        def activities_by_event_raw(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            for index, page in enumerate(super().activities_by_event_raw(*args, **kwargs)):
                yield page
                if index == 2:
                    fake.stop()  # the next page finds nobody listening

    client = ServerGoesAway(fake.url, fake.access_key, fake.secret_key, max_retries=0, timeout=2)
    try:
        with pytest.raises(FetchError, match="Run it again") as caught:
            events_module.run_fetch_events(code, START, client=client, store=store, progress=False)
    finally:
        fake.stop()
    assert caught.value.frame.height == 30
    assert store.frame().height == 30  # the three pages fetched are stored
    assert fake.access_key not in str(caught.value)
    with FakeLeadSquared(account, rate_limit=None) as back:  # run again: it goes on
        result = events_module.run_fetch_events(
            code, START, client=back.client(), store=store, progress=False
        )
    assert result.stored is not None and result.stored.unchanged == 30
    assert store.frame().height == result.frame.height
    assert _keys(store.frame()).is_duplicated().sum() == 0


def test_bad_input_is_refused_before_any_call(fake: FakeLeadSquared) -> None:
    client = fake.client()
    with pytest.raises(ValueError, match="not before end"):
        lsq.fetch_events(21, "2026-12-01", "2026-11-01", client=client, progress=False)
    assert fake.stats.calls == 0
    with pytest.raises(ValueError, match=r"(?i)no such|unknown|known") as caught:
        lsq.fetch_events("Phone Cal", START, client=client, progress=False)
    assert "Email Opened" in str(caught.value) or "known" in str(caught.value).lower()
    with pytest.raises(ValueError, match="not before end"):
        next(client.activities_by_event_raw("Email Opened", "2026-12-01", "2026-11-01"))


def test_activities_by_event_takes_a_name(
    fake: FakeLeadSquared, account: dict[str, list[dict[str, Any]]]
) -> None:
    client = fake.client()
    code = _common_code(account)
    by_code = client.activities_by_event(code, START)
    name = by_code["event_name"][0]
    assert (
        client.activities_by_event(name, START)["activity_id"].to_list()
        == by_code["activity_id"].to_list()
    )


def test_cli_fetch_events_stores_and_writes_with_a_summary(
    account: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    code = _common_code(account)
    with FakeLeadSquared(account, rate_limit=None) as fake:
        env = {
            **os.environ,
            "LSQ_HOST": fake.url,
            "LSQ_ACCESS_KEY": fake.access_key,
            "LSQ_SECRET_KEY": fake.secret_key,
        }
        name = fake.client().activities_by_event(code, START)["event_name"][0]
        run = subprocess.run(
            [sys.executable, "-m", "lsq_analysis", "fetch-events", "--event", name,
             "--since", START, "--store", "st", "--out", "calls.csv"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        n = sum(1 for acts in account.values() for a in acts if a["EventCode"] == code)
        assert f"Fetched {n:,} {name!r} activities" in run.stdout
        assert "the store gained" in run.stdout and f"Wrote {n:,} rows" in run.stdout
        assert f"{name} activities" in run.stderr  # the progress bar
        assert pl.read_csv(tmp_path / "calls.csv").height == n
        assert ActivityStore(tmp_path / "st").frame().height == n
        for text in (run.stdout, run.stderr):
            assert fake.secret_key not in text and fake.access_key not in text

        nowhere = subprocess.run(
            [sys.executable, "-m", "lsq_analysis", "fetch-events", "--event", name,
             "--since", "7d"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert nowhere.returncode == 2 and "--store DIR, --out FILE" in nowhere.stderr
        unknown = subprocess.run(
            [sys.executable, "-m", "lsq_analysis", "fetch-events", "--event", "No Such Type",
             "--since", "7d", "--store", "st"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert unknown.returncode == 2 and "No Such Type" in unknown.stderr
