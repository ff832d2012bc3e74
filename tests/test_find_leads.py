"""find_leads against the fake server over HTTP, into a real store on disk."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import polars as pl
import pytest

import lsq_analysis as lsq
from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.leads import RESUME_OVERLAP, find_leads, since_moment
from lsq_analysis.store import ActivityStore


def _records(n: int, start: dt.datetime) -> list[dict]:
    out = []
    for i in range(n):
        when = (start + dt.timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S.000")
        out.append({
            "ProspectID": f"00000000-0000-4000-8000-{i:012d}", "FirstName": f"Lead{i}",
            "Source": ("Google Ads", "Referral")[i % 2],
            "ProspectStage": ("Prospect", "Customer")[i % 3 == 0],
            "OwnerId": "", "CreatedOn": when, "ModifiedOn": when, "LastModifiedOn": when,
        })  # fmt: skip
    return out


def test_sample_leads_by_criteria_with_owner_names(tmp_path: Path) -> None:
    with FakeLeadSquared(rate_limit=None) as fake:
        client = fake.client()
        everyone = find_leads(
            client=client, modified_since=dt.timedelta(days=365 * 20), progress=False
        )
        assert sorted(everyone["lead_id"]) == sorted(fake.leads)
        assert everyone["owner_name"].null_count() == 0  # named from the users
        stage = everyone["stage"].drop_nulls()[0]
        source = everyone.filter(pl.col("stage") == stage)["source"].drop_nulls()[0]
        both = find_leads(client=client, stage=stage, source=source, store=tmp_path / "s")
        expected = everyone.filter((pl.col("stage") == stage) & (pl.col("source") == source))
        assert sorted(both["lead_id"]) == sorted(expected["lead_id"])
        store = ActivityStore(tmp_path / "s")
        assert sorted(store.leads()["lead_id"]) == sorted(expected["lead_id"])
        assert store.users().height == len(fake.users())
        # a leads frame is what fetch_activities takes
        frame = lsq.fetch_activities(both, client=client, store=store, progress=False)
        assert set(frame["lead_id"]) <= set(both["lead_id"]) and frame.height > 0


def test_incremental_read_resumes_from_the_watermark(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    records = _records(600, now - dt.timedelta(minutes=700))
    store_path = tmp_path / "s"
    with FakeLeadSquared({}, lead_records=records[:400], max_leads_per_window=150,
                         rate_limit=None) as fake:  # fmt: skip
        first = find_leads(client=fake.client(), store=store_path, modified_since="1d")
    assert first.height == 400
    store = ActivityStore(store_path)
    mark = store.leads_watermark()
    assert mark is not None and mark <= dt.datetime.now(dt.timezone.utc)
    time.sleep(1.1)  # what changes now is after the watermark, to the second
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.000")
    later = [dict(r, ModifiedOn=stamp, LastModifiedOn=stamp) for r in records[400:]]
    changed = dict(records[0], ProspectStage="Customer", ModifiedOn=stamp, LastModifiedOn=stamp)
    time.sleep(1.1)
    with FakeLeadSquared(
        {}, lead_records=[changed, *records[1:400], *later], rate_limit=None
    ) as fake:
        again = find_leads(client=fake.client(), store=store_path)  # no criterion: the mark on
    assert len(again) == 201  # only what changed since the watermark
    leads = ActivityStore(store_path).leads()
    assert leads.height == 600 and leads["lead_id"].n_unique() == 600
    assert leads.filter(pl.col("lead_id") == changed["ProspectID"])["stage"].item() == "Customer"


def test_a_stopped_read_keeps_its_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    records = _records(500, now - dt.timedelta(minutes=600))
    with FakeLeadSquared({}, lead_records=records, max_leads_per_window=100,
                         rate_limit=None) as fake:  # fmt: skip
        client = fake.client()
        real = ActivityStore.update_leads
        calls = []

        def stops_after_two(self: ActivityStore, leads: pl.DataFrame, **kw: object) -> int:
            calls.append(leads.height)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return real(self, leads, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(ActivityStore, "update_leads", stops_after_two)
        with pytest.raises(KeyboardInterrupt):
            find_leads(client=client, store=tmp_path / "s", modified_since="1d")
        monkeypatch.setattr(ActivityStore, "update_leads", real)
        kept = ActivityStore(tmp_path / "s").leads().height
        assert 0 < kept < 500  # the two committed windows
        find_leads(client=client, store=tmp_path / "s")  # resumes from the watermark
    assert ActivityStore(tmp_path / "s").leads().height == 500


def test_bad_input_says_what_to_fix(tmp_path: Path) -> None:
    with FakeLeadSquared(rate_limit=None) as fake:
        with pytest.raises(ValueError, match="say which leads"):
            find_leads(client=fake.client())
        with pytest.raises(ValueError, match="nothing to resume from"):
            find_leads(client=fake.client(), store=tmp_path / "empty")
        with pytest.raises(ValueError, match="lead_id column"):
            lsq.fetch_activities(pl.DataFrame({"id": ["x"]}), client=fake.client())
    assert since_moment("2h") < dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=119)
    assert dt.timedelta(0) < RESUME_OVERLAP


def test_cli_leads_and_fetch_by_modified_since(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lsq_analysis.cli import main

    with FakeLeadSquared(rate_limit=None) as fake:
        monkeypatch.setenv("LSQ_HOST", fake.url)
        monkeypatch.setenv("LSQ_ACCESS_KEY", fake.access_key)
        monkeypatch.setenv("LSQ_SECRET_KEY", fake.secret_key)
        out = tmp_path / "leads.csv"
        assert main(["leads", "--modified-since", "20000d", "--out", str(out), "--no-progress",
                     "--store", str(tmp_path / "s")]) == 0  # fmt: skip
        printed = capsys.readouterr().out
        assert f"Found {len(fake.leads)} leads in" in printed and "stages:" in printed
        assert pl.read_csv(out).height == len(fake.leads)
        stage = pl.read_csv(out)["stage"].drop_nulls()[0]
        assert main(["leads", "--where", f"ProspectStage={stage}", "--out", str(out),
                     "--no-progress"]) == 0  # fmt: skip
        assert set(pl.read_csv(out)["stage"]) == {stage}
        assert main(["leads", "--where", "nonsense", "--out", str(out)]) == 2
        assert "FIELD=VALUE" in capsys.readouterr().err

        acts = tmp_path / "acts.parquet"
        assert main(["fetch", "--leads-modified-since", "20000d", "--store", str(tmp_path / "s"),
                     "--out", str(acts), "--no-progress"]) == 0  # fmt: skip
        printed = capsys.readouterr().out
        assert f"Found {len(fake.leads)} leads modified since 20000d" in printed
        assert pl.read_parquet(acts)["lead_id"].n_unique() == len(fake.leads)
    assert ActivityStore(tmp_path / "s").leads().height == len(fake.leads)
