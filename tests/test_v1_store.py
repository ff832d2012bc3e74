"""V1Store (the version-1 layout, kept to migrate from and measure against): layout, atomic
writes, versioning, the expanded cache, refresh merging."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from lsq_analysis.errors import StoreError
from lsq_analysis.samples import sample_responses
from lsq_analysis.store.records import merge_refreshed, raw_rows
from lsq_analysis.store.v1_folder import STORE_VERSION
from lsq_analysis.store.v1_store import V1Store


@pytest.fixture(scope="module")
def sample() -> dict[str, list[dict]]:
    responses = sample_responses()
    return {lead: r["ProspectActivities"] for lead, r in list(responses.items())[:4]}


def _activity(i: int, created: str, modified: str | None = None, code: int = 21) -> dict:
    return {
        "Id": f"00000000-0000-4000-8000-{i:012d}",
        "EventCode": code,
        "EventName": "Page Visit",
        "CreatedOn": created,
        "ModifiedOn": modified or created,
        "RelatedProspectId": "11111111-2222-4333-8444-555555555555",
        "Data": [{"Key": "Note", "Value": f"n{i}"}],
    }


def test_layout_is_hive_partitioned_and_scannable_by_polars(tmp_path: Path, sample) -> None:
    store = V1Store(tmp_path / "s")
    for lead, acts in sample.items():
        record = store.write_lead(lead, acts)
        assert record.activities == len(acts)
    marker = json.loads((tmp_path / "s" / "lsq-store.json").read_text())
    assert marker["store_version"] == STORE_VERSION
    raw = pl.scan_parquet(
        str(tmp_path / "s" / "raw" / "**" / "*.parquet"), hive_partitioning=True
    ).collect()
    assert raw.height == sum(len(a) for a in sample.values())
    assert set(raw["lead_id"]) == set(sample)
    assert raw.schema["fetched_at"] == pl.Datetime("us", "UTC")
    # every activity is kept exactly as the API sent it, in the API's order
    for lead, acts in sample.items():
        assert store.read_activities(lead) == acts
    assert store.lead_ids() == sorted(sample)
    assert store.scan_raw().select(pl.len()).collect().item() == raw.height


def test_frame_and_scan_equal_expanding_the_raw_activities(tmp_path: Path, sample) -> None:
    from lsq_analysis.frames import activities_frame

    store = V1Store(tmp_path)
    for lead, acts in sample.items():
        store.write_lead(lead, acts)
    frame = store.frame()
    expected = pl.concat(
        [activities_frame(sample[lead]) for lead in sorted(sample)], how="diagonal_relaxed"
    )
    assert frame.height == expected.height
    assert (
        frame.sort("lead_id", "activity_id", "event_code", "modified_on")
        .select(expected.columns)
        .equals(expected.sort("lead_id", "activity_id", "event_code", "modified_on"))
    )
    assert store.scan().collect().equals(frame)
    # a subset in a given order, and an event filter
    leads = sorted(sample)[::-1][:2]
    part = store.frame(leads)
    assert part["lead_id"].unique(maintain_order=True).to_list() == leads
    code = int(frame["event_code"][0])
    assert store.frame(event=code)["event_code"].unique().to_list() == [code]


def test_event_may_be_a_name_resolved_against_what_is_stored(tmp_path: Path, sample) -> None:
    store = V1Store(tmp_path)
    for lead, acts in sample.items():
        store.write_lead(lead, acts)
    by_name = store.frame(event="Email Opened")
    assert by_name.height > 0 and by_name["event_code"].unique().to_list() == [0]
    assert by_name.equals(store.frame(event=0))
    assert store.frame(event=" email opened ").equals(by_name)  # any case, spaces stripped
    assert store.frame(event="Audit log").equals(store.frame(event=3011))
    # the name of a type, not the audit-log rows that carry the same name (code 3011)
    assert store.frame(event="WhatsApp Message")["event_code"].unique().to_list() == [222]
    leads = sorted(sample)[:2]
    assert store.frame(leads, event="Email Opened").equals(store.frame(leads, event="0"))
    with pytest.raises(ValueError, match="no event type named 'Email Opend'") as caught:
        store.frame(event="Email Opend")
    assert "'Email Opened'" in str(caught.value) and "'WhatsApp Message'" in str(caught.value)


def test_cache_is_rebuilt_for_leads_written_since(tmp_path: Path, sample) -> None:
    leads = sorted(sample)
    store = V1Store(tmp_path)
    store.write_lead(leads[0], sample[leads[0]])
    assert store.frame().height == len(sample[leads[0]])
    # another process (or a killed run) wrote a lead without touching the cache
    V1Store(tmp_path).write_lead(leads[1], sample[leads[1]])
    assert store.frame().height == len(sample[leads[0]]) + len(sample[leads[1]])
    # a lead rewritten with fewer activities: its old rows leave the cache
    store.write_lead(leads[0], sample[leads[0]][:3])
    assert store.frame([leads[0]]).height == 3
    # a deleted lead leaves the cache too
    os.unlink(store.lead_path(leads[1]))
    assert set(store.frame()["lead_id"]) == {leads[0]}


def test_frame_of_leads_in_any_order(tmp_path: Path, sample) -> None:
    store = V1Store(tmp_path)
    for lead, acts in sample.items():
        store.write_lead(lead, acts)
    order = list(sample)
    store.update_cache(order=order)  # the cache now holds the leads in this order

    def ids(frame: pl.DataFrame) -> list[tuple[str, str, int]]:
        return list(frame.select("lead_id", "activity_id", "event_code").iter_rows())

    def expected(leads: list[str]) -> list[tuple[str, str, int]]:
        return [(lead, a["Id"], a["EventCode"]) for lead in leads for a in sample[lead]]

    for leads in (order, order[1:3], order[::-1], [order[2], order[0]], []):
        assert ids(store.frame(leads)) == expected(leads), leads
    assert ids(store.frame([order[1], order[1].upper()])) == expected([order[1]])
    missing = "99999999-2222-4333-8444-555555555555"
    assert ids(store.frame([missing, order[0]])) == expected([order[0]])
    assert ids(store.frame()) == expected(order)


def test_index_from_another_cache_version_is_not_trusted(tmp_path: Path, sample) -> None:
    a, b = sorted(sample)[:2]
    store = V1Store(tmp_path)
    store.write_lead(a, sample[a])
    store.write_lead(b, sample[b])
    store.update_cache(order=[a, b])
    stale_index = (tmp_path / "cache" / "index.parquet").read_bytes()
    store.update_cache(order=[b, a])
    store.write_lead(b, sample[b][:2])
    store.update_cache(order=[b, a])
    # a run killed after writing the cache but before its index leaves an older index
    (tmp_path / "cache" / "index.parquet").write_bytes(stale_index)
    assert store.frame([a]).height == len(sample[a])
    assert store.frame([b]).height == 2


def test_damaged_cache_is_rebuilt_from_raw(tmp_path: Path, sample) -> None:
    lead = sorted(sample)[0]
    store = V1Store(tmp_path)
    store.write_lead(lead, sample[lead])
    expected = store.frame()
    (tmp_path / "cache" / "expanded.parquet").write_bytes(b"not parquet")
    assert store.frame().equals(expected)


def test_partial_leads_are_not_complete(tmp_path: Path, sample) -> None:
    lead = sorted(sample)[0]
    store = V1Store(tmp_path)
    # what a process killed mid-write leaves: a lead folder without its file, and a
    # half-written temporary file of a process that is gone
    (tmp_path / "raw" / f"lead_id={lead}").mkdir()
    dead = tmp_path / "tmp" / "999999999-deadbeef.parquet.tmp"
    dead.write_bytes(b"PAR1 half written")
    store = V1Store(tmp_path)
    assert not dead.exists(), "temporary files of dead processes are removed on open"
    assert lead not in store
    assert store.lead_ids() == []
    assert store.plan([lead]) == ([], [], [lead])
    assert store.frame().height == 0


def test_plan_splits_fresh_stale_missing(tmp_path: Path, sample) -> None:
    a, b, c = sorted(sample)[:3]
    store = V1Store(tmp_path)
    old = datetime.now(timezone.utc) - timedelta(days=2)
    store.write_lead(a, sample[a], fetched_at=old)
    store.write_lead(b, sample[b])
    assert store.plan([a, b, c]) == ([a, b], [], [c])
    assert store.plan([a, b, c], max_age=timedelta(days=1)) == ([b], [a], [c])
    assert store.plan([a, b, c], max_age=0) == ([], [a, b], [c])
    record = store.record(a)
    assert record is not None and record.fetched_at == old
    leads = store.leads()
    assert leads.columns == ["lead_id", "fetched_at", "n_activities"]
    assert leads.filter(pl.col("lead_id") == a)["n_activities"].item() == len(sample[a])
    with pytest.raises(ValueError, match="max_age"):
        store.plan([a], max_age=-1)


def test_foreign_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match=r"not an lsq-analysis store.*notes\.txt"):
        V1Store(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_store_being_created_by_another_process_opens(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    for sub in ("raw", "cache", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / ".lsq-store.json.4242-abc.tmp").write_text("{")  # its marker, not yet in place
    assert V1Store(folder).lead_ids() == []
    assert json.loads((folder / "lsq-store.json").read_text())["store_version"] == STORE_VERSION
    (tmp_path / "other" / "raw").mkdir(parents=True)
    (tmp_path / "other" / "data.csv").write_text("x")
    with pytest.raises(StoreError, match=r"holds 'data\.csv'"):
        V1Store(tmp_path / "other")


def test_foreign_entry_in_raw_is_refused(tmp_path: Path) -> None:
    store = V1Store(tmp_path)
    (tmp_path / "raw" / "export.csv").write_text("x")
    with pytest.raises(StoreError, match=r"foreign entry 'export\.csv'"):
        store.frame()


def test_foreign_marker_and_other_versions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "lsq-store.json").write_text("{not json")
    with pytest.raises(StoreError, match="not an lsq-analysis store marker"):
        V1Store(tmp_path)
    V1Store(tmp_path / "s")
    marker = tmp_path / "s" / "lsq-store.json"
    body = json.loads(marker.read_text())
    marker.write_text(json.dumps({**body, "store_version": STORE_VERSION + 1}))
    with pytest.raises(StoreError, match="Upgrade lsq-analysis"):
        V1Store(tmp_path / "s")
    marker.write_text(json.dumps({**body, "store_version": 0, "created_by": "lsq-analysis 0.0.1"}))
    with pytest.raises(StoreError, match=r"lsq-analysis 0\.0\.1.*new folder"):
        V1Store(tmp_path / "s")


def test_unwritable_or_wrong_paths_give_clear_errors(tmp_path: Path) -> None:
    a_file = tmp_path / "file.parquet"
    a_file.write_bytes(b"x")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        V1Store(a_file)
    with pytest.raises(StoreError, match="Choose a folder you can write to"):
        V1Store(a_file / "store")  # a folder below a file cannot exist
    with pytest.raises(StoreError, match="Choose a folder you can write to"):
        V1Store("/proc/lsq-store")  # a read-only file system (even for root)


def test_damaged_lead_file_names_the_file(tmp_path: Path, sample) -> None:
    lead = sorted(sample)[0]
    store = V1Store(tmp_path)
    store.write_lead(lead, sample[lead])
    store.lead_path(lead).write_bytes(b"garbage")
    with pytest.raises(StoreError, match=r"activities\.parquet.*Delete it and fetch the lead"):
        store.read_lead(lead)


def test_lead_ids_must_be_guids(tmp_path: Path) -> None:
    store = V1Store(tmp_path)
    with pytest.raises(ValueError, match="not a lead id"):
        store.write_lead("../../etc", [])
    assert "../x" not in store


def test_merge_refreshed_keeps_everything_once() -> None:
    now = datetime.now(timezone.utc)
    earlier = now - timedelta(days=1)
    old = [
        _activity(3, "2025-01-03 10:00:00"),
        _activity(2, "2025-01-02 10:00:00"),  # two rows in the same second
        _activity(20, "2025-01-02 10:00:00"),
        _activity(1, "2025-01-01 10:00:00"),
    ]
    stored = raw_rows(old, earlier)
    # the newest page now: two new activities, #3 modified since, and #2 at the boundary
    page = [
        _activity(5, "2025-01-05 10:00:00"),
        _activity(4, "2025-01-04 10:00:00"),
        _activity(3, "2025-01-03 10:00:00", modified="2025-01-06 09:00:00"),
        _activity(2, "2025-01-02 10:00:00"),
    ]
    merged = merge_refreshed(stored, raw_rows(page, now), complete=False)
    ids = [a[-2:] for a in merged["activity_id"]]
    assert ids == ["05", "04", "03", "02", "20", "01"]
    assert merged["position"].to_list() == list(range(6))
    assert merged.filter(pl.col("activity_id").str.ends_with("03"))["modified_on"].item() == (
        "2025-01-06 09:00:00"
    )
    kept = merged.filter(pl.col("activity_id").str.ends_with("01"))["fetched_at"].item()
    assert kept == earlier
    # a complete fetch replaces what was stored
    full = merge_refreshed(stored, raw_rows(page[:2], now), complete=True)
    assert full.height == 2
