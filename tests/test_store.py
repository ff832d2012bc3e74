"""ActivityStore: real Delta tables in tmp_path, read back by the store, polars and DuckDB."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from deltalake import DeltaTable

from lsq_analysis import synthetic_activities
from lsq_analysis.errors import StoreError
from lsq_analysis.frames import activities_frame
from lsq_analysis.samples import sample_responses
from lsq_analysis.store import ActivityStore, V1Store
from lsq_analysis.store.folder import LOCK_FILE
from lsq_analysis.store.tables import Table

Leads = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def leads() -> Leads:
    return synthetic_activities(24, activities=(3, 25), seed=13)


def split(leads: Leads, n: int) -> tuple[Leads, Leads]:
    keys = list(leads)
    return {k: leads[k] for k in keys[:n]}, {k: leads[k] for k in keys[n:]}


def data_files(path: Path) -> dict[str, int]:
    """Every data file the activities and raw tables reference, with its mtime (ns)."""
    return {
        uri: Path(uri).stat().st_mtime_ns
        for table in ("activities", "raw")
        for uri in DeltaTable(str(path / table)).file_uris()
    }


def new_activities(lead: str, seed: int, n: int = 4) -> list[dict[str, Any]]:
    other = next(iter(synthetic_activities(1, activities=(n, n), seed=seed).values()))
    return [{**a, "RelatedProspectId": lead} for a in other]


def test_round_trip_equals_activities_frame(tmp_path: Path, leads: Leads) -> None:
    store = ActivityStore(tmp_path / "s")
    assert store.version == 0
    assert store.frame().equals(activities_frame([]))  # empty store: the core columns
    version = store.write_leads(leads, pages=1)
    assert version == store.version == 1
    expected = activities_frame(leads)
    assert store.frame().equals(expected)
    assert store.scan().collect().equals(expected)
    assert ActivityStore(tmp_path / "s").frame().equals(expected)  # a new object, from disk
    assert store.lead_ids() == sorted(leads)
    fetches = store.fetches()
    assert fetches["n_activities"].to_list() == [len(v) for v in leads.values()]
    assert set(fetches["batch_id"]) == {1} and set(fetches["outcome"]) == {"ok"}
    raw = pl.read_delta(str(tmp_path / "s" / "raw"))
    first = next(iter(leads))
    texts = raw.filter(pl.col("lead_id") == first).sort("position")["activity"]
    assert [orjson.loads(t) for t in texts] == leads[first]  # the JSON as received
    assert repr(store) == f"ActivityStore({str(tmp_path / 's')!r})"


def test_lead_ids_are_canonical(tmp_path: Path, leads: Leads) -> None:
    store = ActivityStore(tmp_path / "s")
    first = next(iter(leads))
    store.write_leads({f" {first.upper()} ": leads[first]})
    assert store.lead_ids() == [first]
    assert store.frame([first.upper()]).height == len(leads[first])
    assert set(store.frame()["lead_id"]) == {first}
    with pytest.raises(ValueError, match="GUID"):
        store.write_leads({"42": []})
    with pytest.raises(ValueError, match="same lead"):
        store.write_leads({first: [], first.upper(): []})
    with pytest.raises(ValueError, match="GUID"):
        store.frame(["not-a-lead"])
    assert store.version == 1  # nothing written by the refused calls


def test_refresh_replaces_a_lead_and_leaves_other_files(tmp_path: Path, leads: Leads) -> None:
    path = tmp_path / "s"
    store = ActivityStore(path)
    first, second = split(leads, 12)
    store.write_leads(first)
    store.write_leads(second)
    before = data_files(path)
    lead, emptied = next(iter(first)), list(first)[1]
    fresh = new_activities(lead, seed=99)
    store.write_leads({lead: fresh, emptied: []})
    after = data_files(path)
    assert before.items() <= after.items()  # every file still referenced, none rewritten
    assert len(after) > len(before)
    rest = {k: v for k, v in first.items() if k not in (lead, emptied)}
    expected = activities_frame({**rest, **second, lead: fresh})  # in the order last written
    assert store.frame().equals(expected)
    assert store.scan().collect().equals(expected)
    assert store.frame([lead]).equals(activities_frame({lead: fresh}))
    assert store.frame([emptied]).height == 0 and emptied in store.lead_ids()
    assert store.frame([lead, "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"]).height == len(fresh)


def test_a_new_data_key_adds_a_column(tmp_path: Path, leads: Leads) -> None:
    store = ActivityStore(tmp_path / "s")
    old, new = split(leads, 20)
    store.write_leads(old)
    lead = next(iter(new))
    acts = copy.deepcopy(new[lead])
    acts[0]["Data"] = [*acts[0].get("Data", []), {"Key": "BrandNewKey", "Value": "hello"}]
    store.write_leads({lead: acts})
    df = store.frame()
    assert "data.BrandNewKey" in df.columns
    table = DeltaTable(str(tmp_path / "s" / "activities"))
    assert "data.BrandNewKey" in pl.Schema(table.schema())
    assert df.filter(pl.col("lead_id") != lead)["data.BrandNewKey"].null_count() == (
        df.height - len(acts)
    )
    assert df.filter(pl.col("data.BrandNewKey").is_not_null())["data.BrandNewKey"].to_list() == [
        "hello"
    ]
    assert df.equals(activities_frame({**old, lead: acts}))


def test_events_by_name_and_code_give_the_same_rows(tmp_path: Path, leads: Leads) -> None:
    store = ActivityStore(tmp_path / "s")
    store.write_leads(leads)
    full = store.frame()
    name, code = full.filter(pl.col("event_code") != 3011).select("event_name", "event_code").row(0)
    by_name = store.frame(events=name)
    assert by_name.height > 0 and set(by_name["event_code"]) == {code}
    assert by_name.equals(store.frame(events=code))
    assert by_name.equals(store.frame(events=str(code)))
    assert (
        store.frame(events=[name, 3011]).height
        == full.filter(pl.col("event_code").is_in([code, 3011])).height
    )
    lead = by_name["lead_id"][0]
    assert store.frame([lead], events=name).equals(store.frame([lead], events=code))
    with pytest.raises(ValueError, match="known names"):
        store.frame(events="No Such Event")


def test_changes_since_a_version_or_a_time(tmp_path: Path, leads: Leads) -> None:
    store = ActivityStore(tmp_path / "s")
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    v1 = store.write_leads(leads)
    time.sleep(0.05)
    between = datetime.now(timezone.utc)
    time.sleep(0.05)
    lead = next(iter(leads))
    acts = copy.deepcopy(leads[lead])
    acts[1]["ActivityScore"] = 999  # the same activity, changed
    added = new_activities(lead, seed=5, n=1)
    v2 = store.write_leads({lead: added + acts})
    changes = store.changes(since=v1)
    assert changes.select("activity_id", "change").rows() == [
        (added[0]["Id"], "added"),
        (acts[1]["Id"], "changed"),
    ]
    assert changes.filter(pl.col("change") == "changed")["activity_score"].to_list() == [999]
    assert store.changes(since=between).equals(changes)
    assert store.changes(since=v2).height == 0
    everything = store.changes(since=start)
    assert everything.height == store.frame().height and set(everything["change"]) == {"added"}
    with pytest.raises(ValueError, match="at version"):
        store.changes(since=v2 + 5)


def test_optimize_keeps_frame_and_drops_superseded_rows(tmp_path: Path, leads: Leads) -> None:
    path = tmp_path / "s"
    store = ActivityStore(path)
    first, second = split(leads, 12)
    v1 = store.write_leads(first)
    store.write_leads(second)
    refreshed = {lead: new_activities(lead, seed=i) for i, lead in enumerate(list(first)[:3])}
    store.write_leads(refreshed)
    df = store.frame()
    stored = pl.read_delta(str(path / "activities")).height
    files = len(data_files(path))
    assert stored > df.height  # the superseded rows are still there
    result = store.optimize()
    assert result.rows_dropped == 2 * (stored - df.height)  # activities and raw
    assert pl.read_delta(str(path / "activities")).height == df.height
    assert pl.read_delta(str(path / "raw")).height == df.height
    assert len(data_files(path)) < files
    assert store.frame().equals(df)
    assert ActivityStore(path).frame().equals(df)
    changes = store.changes(since=v1)  # time travel to before the optimize
    written_since = df.filter(pl.col("lead_id").is_in([*second, *refreshed]))
    assert changes.height == written_since.height
    assert store.optimize().files_replaced == 0  # nothing left to do
    store.optimize(retention=timedelta(0))  # deletes the files of older versions
    with pytest.raises(StoreError, match=r"no longer kept|history from version"):
        store.changes(since=v1)
    assert store.frame().equals(df)


def test_a_second_writer_gets_a_clear_error_then_writes(tmp_path: Path, leads: Leads) -> None:
    path = tmp_path / "s"
    ActivityStore(path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock\n"
            f"lock = FileLock({str(path / LOCK_FILE)!r}); lock.acquire()\n"
            "print('held', flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = ActivityStore(path, lock_timeout=0.3)
        assert store.frame().height == 0  # readers need no lock
        with pytest.raises(StoreError, match="Another process is writing"):
            store.write_leads(leads)
        assert store.version == 0
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the holder exits, releasing the lock
        holder.wait(timeout=20)
    assert store.write_leads(leads) == 1
    holder = subprocess.Popen(  # holds the lock for a moment: a patient writer waits
        [
            sys.executable,
            "-c",
            "import time; from filelock import FileLock\n"
            f"lock = FileLock({str(path / LOCK_FILE)!r}); lock.acquire()\n"
            "print('held', flush=True); time.sleep(0.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.perf_counter()
    assert ActivityStore(path, lock_timeout=30).write_leads(leads) == 2
    assert time.perf_counter() - started > 0.2
    holder.wait(timeout=20)


def test_a_run_killed_between_commits_loses_and_doubles_nothing(
    tmp_path: Path, leads: Leads, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s"
    store = ActivityStore(path)
    first, second = split(leads, 12)
    store.write_leads(first)
    append = Table.append

    def killed(self: Table, frame: pl.DataFrame, **kwargs: Any) -> int:
        if self.spec.name == "fetches":
            raise KeyboardInterrupt  # the data is committed, its fetches row never is
        return append(self, frame, **kwargs)

    monkeypatch.setattr(Table, "append", killed)
    lead = next(iter(first))
    with pytest.raises(KeyboardInterrupt):
        store.write_leads({lead: new_activities(lead, seed=7), **second})
    monkeypatch.undo()
    reopened = ActivityStore(path)
    assert reopened.frame().equals(activities_frame(first))  # the unrecorded batch is unseen
    assert reopened.lead_ids() == sorted(first)
    fresh = new_activities(lead, seed=8)
    reopened.write_leads({lead: fresh, **second})  # the resumed run
    rest = {k: v for k, v in first.items() if k != lead}
    assert reopened.frame().equals(activities_frame({**rest, lead: fresh, **second}))
    stored = pl.read_delta(str(path / "activities"))
    assert stored.height == reopened.frame().height + len(first[lead])  # only the superseded
    assert set(stored["_batch_id"]) == {1, 2}


def test_folders_that_are_not_a_store_or_of_a_newer_version(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(StoreError, match="not an lsq-analysis store"):
        ActivityStore(tmp_path / "other")
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "lsq-store.json").write_text(
        '{"format": "lsq-analysis activity store", '
        '"store_version": 3, "created_by": "lsq-analysis 9.0"}'
    )
    with pytest.raises(StoreError, match=r"lsq-analysis 9\.0 \(store version 3\).*Upgrade"):
        ActivityStore(newer)
    assert sorted(p.name for p in newer.iterdir()) == ["lsq-store.json"]  # left untouched
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        ActivityStore(tmp_path / "file")


def test_polars_reads_the_tables_in_one_line(tmp_path: Path, leads: Leads) -> None:
    path = tmp_path / "s"
    store = ActivityStore(path)
    store.write_leads(leads)
    store.optimize()
    df = store.frame()
    assert pl.read_delta(str(path / "activities")).height == df.height
    assert pl.scan_delta(str(path / "activities")).select(pl.len()).collect().item() == df.height
    assert pl.read_delta(str(path / "fetches")).height == len(leads)


def test_duckdb_reads_the_activities_table(tmp_path: Path, leads: Leads) -> None:
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "s"
    store = ActivityStore(path)
    store.write_leads(leads)
    store.optimize()
    rel = duckdb.from_arrow(DeltaTable(str(path / "activities")).to_pyarrow_dataset())
    assert rel.aggregate("count(*)").fetchall() == [(store.frame().height,)]  # no extension
    try:
        duckdb.sql("LOAD delta")
    except duckdb.Error as err:  # the extension is downloaded on first use: no network here
        pytest.skip(f"DuckDB's delta extension is not installed ({type(err).__name__})")
    sql = f"SELECT count(*) FROM delta_scan('{path / 'activities'}')"
    assert duckdb.sql(sql).fetchall() == [(store.frame().height,)]


# ------------------------------------------------------------------ what fetching needs


def test_failed_fetches_are_rows_of_fetches_and_leave_stored_rows(
    tmp_path: Path, leads: Leads
) -> None:
    store = ActivityStore(tmp_path / "s")
    first, rest = split(leads, 3)
    store.write_leads(first)
    before = store.frame()
    stored, never = next(iter(first)), next(iter(rest))
    version = store.write_leads({}, failed={stored: "ServerError: 500", never: "Timeout"})
    assert version == store.version == 2
    assert store.frame().equals(before)  # a failed refresh keeps what was stored
    assert never not in store and stored in store and len(store) == 3
    rows = store.fetches().filter(pl.col("batch_id") == version)
    assert rows.select("lead_id", "outcome", "error").sort("lead_id").rows() == sorted(
        [(stored, "failed", "ServerError: 500"), (never, "failed", "Timeout")]
    )
    assert store.info()["failed_fetches"] == 2


def test_plan_splits_fresh_stale_missing_in_the_order_given(tmp_path: Path, leads: Leads) -> None:
    store = ActivityStore(tmp_path / "s")
    keys = list(leads)
    old = datetime.now(timezone.utc) - timedelta(days=3)
    store.write_leads({keys[0]: leads[keys[0]]}, fetched_at=old)
    store.write_leads({keys[1]: leads[keys[1]]})
    given = [keys[2], keys[1].upper(), keys[0]]
    assert store.plan(given) == ([keys[1].upper(), keys[0]], [], [keys[2]])
    assert store.plan(given, max_age=timedelta(days=1)) == ([keys[1].upper()], [keys[0]], [keys[2]])
    assert store.plan(given, max_age=0) == ([], [keys[1].upper(), keys[0]], [keys[2]])
    summary = store.stored_leads()
    assert summary["lead_id"].to_list() == sorted(keys[:2])
    assert summary.filter(pl.col("lead_id") == keys[0])["fetched_at"].item() == old


def test_raw_rows_are_the_activities_as_received(tmp_path: Path, leads: Leads) -> None:
    store = ActivityStore(tmp_path / "s")
    store.write_leads(leads)
    lead = next(iter(leads))
    assert store.read_activities(lead) == leads[lead]
    assert store.read_activities("00000000-0000-4000-8000-000000000000") == []
    assert store.scan_raw().select(pl.len()).collect().item() == sum(map(len, leads.values()))
    rows = store.raw_rows([lead])
    assert [orjson.loads(t) for t in rows["activity"]] == leads[lead]
    assert rows["position"].to_list() == list(range(len(leads[lead])))


# ------------------------------------------------------------------ migration from version 1


def _v1_store(path: Path, n: int | None = None) -> tuple[dict[str, list[dict]], V1Store]:
    """A version-1 store of the bundled sample's leads, written by the version-1 code."""
    responses = sample_responses()
    sample = {lead: r["ProspectActivities"] for lead, r in list(responses.items())[:n]}
    old = V1Store(path)
    when = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
    for i, (lead, activities) in enumerate(sample.items()):
        old.write_lead(lead, activities, fetched_at=when + timedelta(minutes=i))
    old.frame()  # the expanded cache, as a version-1 user's folder has it
    return sample, old


def test_a_version_1_store_of_the_sample_is_migrated_on_first_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old"
    sample, old = _v1_store(path)
    old_leads = old.leads()
    store = ActivityStore(path)  # migrates, with a progress bar
    assert "Migrating the store to Delta tables" in capsys.readouterr().err
    assert json.loads((path / "lsq-store.json").read_text())["store_version"] == 2
    assert sorted(p.name for p in path.iterdir()) == [
        "activities", "fetches", "lsq-store.json", "lsq-store.lock", "raw"
    ]  # fmt: skip
    assert store.lead_ids() == sorted(sample)
    for lead, activities in sample.items():
        assert store.read_activities(lead) == activities  # byte for byte, in order
    in_order = [a for lead in sorted(sample) for a in sample[lead]]  # one batch, leads sorted
    assert store.frame().equals(activities_frame(in_order))
    assert store.stored_leads().select("lead_id", "fetched_at", "n_activities").equals(old_leads)
    assert ActivityStore(path).version == store.version  # opened again: nothing migrated again


def test_a_migration_killed_half_way_is_redone_on_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lsq_analysis.store import migrate

    path = tmp_path / "old"
    sample, _ = _v1_store(path, n=12)
    monkeypatch.setattr(migrate, "MIGRATION_BATCH", 5)
    calls = []
    real = ActivityStore._write_migrated

    def dies_on_the_second_batch(self: ActivityStore, batch: Any, when: Any) -> None:
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(self, batch, when)

    monkeypatch.setattr(ActivityStore, "_write_migrated", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        ActivityStore(path, progress=False)
    assert json.loads((path / "lsq-store.json").read_text())["store_version"] == 1
    assert (path / "v1" / "raw").is_dir() and (path / "fetches").is_dir()  # half way
    monkeypatch.setattr(ActivityStore, "_write_migrated", real)
    store = ActivityStore(path, progress=False)
    assert store.lead_ids() == sorted(sample)
    assert store.fetches().height == len(sample)  # each lead once: the half-written tables went
    assert all(store.read_activities(lead) == acts for lead, acts in sample.items())
    assert not (path / "v1").exists()


def test_an_unreadable_version_1_lead_file_is_named_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "old"
    sample, old = _v1_store(path, n=4)
    broken = sorted(sample)[1]
    old.lead_path(broken).write_bytes(b"not parquet")
    with pytest.warns(UserWarning, match=rf"1 lead file.*{broken}"):
        store = ActivityStore(path, progress=False)
    assert store.lead_ids() == sorted(set(sample) - {broken})
    left = sorted(p.name for p in (path / "v1" / "raw").iterdir())
    assert left == [f"lead_id={broken}"]  # only the file that could not be read stays


def test_changes_with_nothing_changed_is_empty_with_its_columns(
    tmp_path: Path, leads: Leads
) -> None:
    store = ActivityStore(tmp_path / "s")
    store.write_leads(leads)
    none = store.changes(since=store.version)
    assert none.height == 0 and none.columns[-1] == "change"
    store.write_leads(dict(list(leads.items())[:2]))  # written again, unchanged
    assert store.changes(since=1).height == 0


def test_optimize_keeps_fetches_to_the_retention_window(tmp_path: Path, leads: Leads) -> None:
    """A store refreshed daily for months must not read an ever longer fetches table: past
    the retention window each lead keeps only its state then (and its last failure)."""
    store = ActivityStore(tmp_path / "s")
    for _ in range(3):
        store.write_leads(leads)
    store.write_leads({}, failed={next(iter(leads)): "ServerError: 500"})
    before, first = store.frame(), store.version
    assert store.fetches().height == 3 * len(leads) + 1
    result = store.optimize(retention=timedelta(0))
    assert result.fetches_dropped == 2 * len(leads)
    fetches = store.fetches()
    assert fetches.height == len(leads) + 1 and fetches["outcome"].value_counts().height == 2
    assert ActivityStore(tmp_path / "s").frame().equals(before)
    with pytest.raises(StoreError, match="kept the store's history from version"):
        store.changes(since=1)
    assert store.changes(since=first).height == 0  # from the horizon on: exact
    assert store.optimize(retention=timedelta(0)).fetches_dropped == 0  # nothing more to drop


# ------------------------------------------------------------------ leads and users tables


def test_leads_table_merges_by_latest_modified_on_and_keeps_a_watermark(tmp_path: Path) -> None:
    from lsq_analysis.frames import leads_frame, users_frame
    from lsq_analysis.samples import load_sample_leads, load_sample_users

    store = ActivityStore(tmp_path / "s")
    assert store.leads().height == 0 and store.leads_watermark() is None
    records = load_sample_leads()
    first = leads_frame(records[:20])
    until = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert store.update_leads(first, until=until) == 20
    assert store.leads_watermark() == until
    changed = dict(records[0], ProspectStage="Customer", ModifiedOn="2030-01-01 00:00:00.000")
    older = dict(records[1], ProspectStage="Stale", ModifiedOn="2000-01-01 00:00:00.000")
    newer = leads_frame([changed, older, *records[20:]]).with_columns(
        pl.lit("Pune").alias("mx_NewField")  # a field first seen now becomes a column
    )
    later = datetime(2026, 12, 2, tzinfo=timezone.utc)
    assert store.update_leads(newer, until=later) == len(records)
    leads = ActivityStore(tmp_path / "s").leads()
    assert leads.height == len(records) and leads["lead_id"].n_unique() == len(records)
    by_id = {r["lead_id"]: r for r in leads.iter_rows(named=True)}
    assert by_id[first["lead_id"][0]]["stage"] == "Customer"  # the newer record won
    assert by_id[first["lead_id"][1]]["stage"] == first["stage"][1]  # the older one did not
    assert leads.filter(pl.col("mx_NewField") == "Pune").height == len(records) - 20 + 2 - 1
    assert store.leads_watermark() == later
    assert pl.read_delta(str(tmp_path / "s" / "leads")).height == len(records)  # any engine

    users = users_frame(load_sample_users())
    assert store.update_users(users) == users.height
    assert store.update_users(users.head(2)) == 2  # replaced, not appended
    assert store.users().select("user_id", "name").equals(users.head(2).select("user_id", "name"))
    info = store.info()
    assert info["tables"]["leads"]["rows"] == len(records) and info["tables"]["users"]["rows"] == 2
