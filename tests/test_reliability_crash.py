"""Crash and resume: ``lsq-analysis fetch --store`` killed with SIGKILL at random points.

A real subprocess (the command line, keys from the environment) fetches from the fake
server running in this process, writing to an :class:`~lsq_analysis.ActivityStore` (Delta
tables) in batches of a few leads. It is killed with SIGKILL when the server has seen a
random number of calls (so the kill lands anywhere: between calls, while pages are expanded,
between the commits of one batch, while ``--out`` is written). After every kill the store
opens, every stored lead holds exactly the server's activities, and the expanded frame, the
raw rows and the ``fetches`` table agree. A final run finishes the job, and its frame equals
that of a run that was never interrupted.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.samples import synthetic_activities
from lsq_analysis.store import ActivityStore

N_LEADS = 24
SEED = int(os.environ.get("LSQ_CRASH_SEED", "20261127"))
SORT = ["lead_id", "activity_id", "event_code", "created_on"]


@pytest.fixture(scope="module")
def leads() -> dict[str, list[dict]]:
    return synthetic_activities(N_LEADS, activities=(0, 90), seed=5)


@pytest.fixture
def fake(leads):
    with FakeLeadSquared(
        leads, max_page_size=30, rate_limit=(20, 1.0), latency=(0.005, 0.03), seed=3
    ) as server:
        yield server


def _env(fake: FakeLeadSquared) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LSQ_HOST=fake.url,
        LSQ_ACCESS_KEY=fake.access_key,
        LSQ_SECRET_KEY=fake.secret_key,
        PYTHONUNBUFFERED="1",
    )
    return env


def _start(fake: FakeLeadSquared, work: Path, store: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lsq_analysis", "fetch", "--leads-file", str(work / "leads.txt"),
         "--store", str(store), "--out", str(out), "--no-progress", "--rate-limit", "20/1",
         "--workers", "6", "--batch-leads", "3", "--batch-seconds", "0.3"],
        env=_env(fake), cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _run_to_end(fake: FakeLeadSquared, work: Path, store: Path, out: Path) -> str:
    proc = _start(fake, work, store, out)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr.decode()
    return stdout.decode()


def _kill_after_calls(fake: FakeLeadSquared, proc: subprocess.Popen, calls: int) -> bool:
    """SIGKILL the fetch once the server has seen ``calls`` calls; False if it ended first."""
    deadline = time.monotonic() + 60
    while fake.stats.calls < calls:
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the fetch stopped calling"
        time.sleep(0.002)  # polling the server's call counter (there is no event to await)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return True


def _assert_store_sound(store_path: Path, leads: dict[str, list[dict]]) -> int:
    """The store opens and every lead in it is complete and exact; returns leads stored."""
    store = ActivityStore(store_path)  # raises StoreError on a damaged marker or layout
    stored = store.lead_ids()
    for lead in stored:
        raw = store.read_activities(lead)
        assert [orjson.dumps(a) for a in raw] == [orjson.dumps(a) for a in leads[lead]], lead
    expected = sum(len(leads[lead]) for lead in stored)
    assert store.scan_raw().select(pl.len()).collect().item() == expected
    frame = store.frame()
    assert frame.height == expected
    assert sorted(set(frame["lead_id"])) == sorted(lead for lead in stored if leads[lead])
    ok = store.fetches().filter(pl.col("outcome") == "ok")
    assert sorted(set(ok["lead_id"])) == stored  # a lead counts once its rows are committed
    return len(stored)


def _same_frame(left: pl.DataFrame, right: pl.DataFrame) -> None:
    assert sorted(left.columns) == sorted(right.columns)
    columns = sorted(left.columns)
    assert_frame_equal(left.select(columns).sort(SORT), right.select(columns).sort(SORT))


def test_sigkill_at_random_points_never_corrupts_and_resume_equals_uninterrupted(
    tmp_path: Path, fake: FakeLeadSquared, leads: dict[str, list[dict]]
) -> None:
    (tmp_path / "leads.txt").write_text("".join(f"{lead}\n" for lead in leads))
    _run_to_end(fake, tmp_path, tmp_path / "reference-store", tmp_path / "reference.parquet")
    reference = pl.read_parquet(tmp_path / "reference.parquet")
    full_calls = fake.stats.calls
    assert reference.height == sum(len(v) for v in leads.values())

    rng = random.Random(SEED)
    store = tmp_path / "store"
    out = tmp_path / "out.parquet"
    kills, progress, stored = 0, [], 0
    while kills < 4 and stored < len(leads) - 2:
        fake.reset_stats()
        proc = _start(fake, tmp_path, store, out)
        # a random point of what is left to do: the remaining leads' share of the calls
        left = max(1, round(full_calls * (len(leads) - stored) / len(leads)))
        point = rng.randint(1, max(1, left * 4 // 5))
        if _kill_after_calls(fake, proc, point):
            kills += 1
        stored = _assert_store_sound(store, leads)
        progress.append((point, stored))
    assert kills >= 3, progress
    assert any(stored for _, stored in progress), "no kill landed after a lead was stored"

    fake.reset_stats()
    summary = _run_to_end(fake, tmp_path, store, out)
    # leads stored before the kills cost nothing: the summary counts them as from the store
    assert f"{len(leads)} leads ({progress[-1][1]} from the store" in summary, summary
    assert _assert_store_sound(store, leads) == len(leads)
    _same_frame(pl.read_parquet(out), reference)
    _same_frame(ActivityStore(store).frame(), ActivityStore(tmp_path / "reference-store").frame())
    print(f"\ncrash seed {SEED}: kill points (calls, leads stored after) {progress}")


def test_sigkill_after_the_last_call_while_writing_then_resume(
    tmp_path: Path, fake: FakeLeadSquared, leads: dict[str, list[dict]]
) -> None:
    """Killed once every call was answered: while the last batch or --out is written."""
    (tmp_path / "leads.txt").write_text("".join(f"{lead}\n" for lead in leads))
    _run_to_end(fake, tmp_path, tmp_path / "reference-store", tmp_path / "reference.parquet")
    full_calls = fake.stats.calls
    reference = pl.read_parquet(tmp_path / "reference.parquet")

    store, out = tmp_path / "store", tmp_path / "out.parquet"
    fake.reset_stats()
    proc = _start(fake, tmp_path, store, out)
    killed = _kill_after_calls(fake, proc, full_calls)
    stored = _assert_store_sound(store, leads)
    fake.reset_stats()
    _run_to_end(fake, tmp_path, store, out)
    assert _assert_store_sound(store, leads) == len(leads)
    _same_frame(pl.read_parquet(out), reference)
    print(f"\nkilled after the last call: {killed}, leads already stored: {stored}")


def test_two_processes_fetching_into_one_store_lose_and_double_nothing(
    tmp_path: Path, fake: FakeLeadSquared, leads: dict[str, list[dict]]
) -> None:
    """Two notebooks or jobs sharing a store folder, with overlapping leads, at once."""
    ids = list(leads)
    (tmp_path / "a.txt").write_text("\n".join(ids[:16]))
    (tmp_path / "b.txt").write_text("\n".join(ids[8:]))
    ActivityStore(tmp_path / "store")  # created beforehand (see the next test for why)
    env = _env(fake)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lsq_analysis",
                "fetch",
                "--leads-file",
                str(tmp_path / name),
                "--store",
                str(tmp_path / "store"),
                "--out",
                str(tmp_path / f"{name}.parquet"),
                "--no-progress",
                "--rate-limit",
                "30/1",
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("a.txt", "b.txt")
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr.decode()
    assert _assert_store_sound(tmp_path / "store", leads) == len(leads)
    for name, part in (("a.txt", ids[:16]), ("b.txt", ids[8:])):
        frame = pl.read_parquet(tmp_path / f"{name}.parquet")
        assert frame.height == sum(len(leads[lead]) for lead in part)


def test_a_store_another_process_is_creating_opens(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    for sub in ("raw", "activities"):  # what the creating process has made so far
        (folder / sub).mkdir(parents=True)
    store = ActivityStore(folder)
    assert store.lead_ids() == []
    store.write_leads(synthetic_activities(2, activities=(1, 3), seed=1))
    assert len(ActivityStore(folder)) == 2


def test_sigkill_during_a_refresh_leaves_each_lead_old_or_new_never_mixed(
    tmp_path: Path, fake: FakeLeadSquared, leads: dict[str, list[dict]]
) -> None:
    """Killed while stale leads are refreshed (only their newest pages fetched and merged)."""
    (tmp_path / "leads.txt").write_text("".join(f"{lead}\n" for lead in leads))
    store, out = tmp_path / "store", tmp_path / "out.parquet"
    _run_to_end(fake, tmp_path, store, out)
    old = {lead: list(activities) for lead, activities in leads.items()}
    newer = synthetic_activities(len(leads), activities=(1, 40), seed=6, start="2025-09-01")
    new = {
        lead: [dict(a, RelatedProspectId=lead) for a in extra] + old[lead]
        for lead, extra in zip(leads, newer.values(), strict=True)
    }
    fake.leads = {lead: list(activities) for lead, activities in new.items()}
    fake.reset_stats()
    _run_to_end(fake, tmp_path, tmp_path / "reference-store", tmp_path / "reference.parquet")
    refresh_calls = fake.stats.calls

    rng = random.Random(SEED)
    refresh = [
        sys.executable, "-m", "lsq_analysis", "fetch", "--leads-file", str(tmp_path / "leads.txt"),
        "--store", str(store), "--out", str(out), "--no-progress", "--rate-limit", "20/1",
        "--workers", "6", "--max-age", "0s", "--batch-leads", "3", "--batch-seconds", "0.3",
    ]  # fmt: skip
    outcomes, remaining = [], len(leads)
    for _ in range(3):
        fake.reset_stats()
        proc = subprocess.Popen(
            refresh, env=_env(fake), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        left = max(1, refresh_calls * remaining * 3 // (4 * len(leads)))
        killed = _kill_after_calls(fake, proc, rng.randint(1, left))
        opened = ActivityStore(store)
        states = []
        for lead in leads:
            stored = [orjson.dumps(a) for a in opened.read_activities(lead)]
            if stored == [orjson.dumps(a) for a in new[lead]]:
                states.append("new")
            else:
                assert stored == [orjson.dumps(a) for a in old[lead]], f"{lead} is mixed"
                states.append("old")
        assert opened.frame().height == sum(
            len(new[lead] if state == "new" else old[lead])
            for lead, state in zip(leads, states, strict=True)
        )
        outcomes.append((killed, states.count("new")))
        remaining = states.count("old")
    assert sum(killed for killed, _ in outcomes) >= 2, outcomes
    fake.reset_stats()
    proc = subprocess.run(
        refresh, env=_env(fake), cwd=tmp_path, capture_output=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    for lead in leads:
        assert ActivityStore(store).read_activities(lead) == new[lead]
    _same_frame(pl.read_parquet(out), pl.read_parquet(tmp_path / "reference.parquet"))
    print(f"\nrefresh kills (killed, leads already new): {outcomes}")


def test_a_reader_sees_whole_batches_while_fetch_writes(
    tmp_path: Path, fake: FakeLeadSquared, leads: dict[str, list[dict]]
) -> None:
    """A notebook reading the store while `lsq-analysis fetch --store` commits batches into
    it: every read is one consistent snapshot (whole leads, never part of one), and what it
    sees only grows."""
    (tmp_path / "leads.txt").write_text("".join(f"{lead}\n" for lead in leads))
    store_path = tmp_path / "store"
    reader = ActivityStore(store_path)  # created beforehand, as a notebook would have it
    proc = _start(fake, tmp_path, store_path, tmp_path / "out.parquet")
    seen: list[int] = []
    while proc.poll() is None or not seen or seen[-1] < len(leads):
        frame = reader.frame()  # one snapshot; lead_ids() after it can only hold more
        ids = reader.lead_ids()
        by_lead = frame.group_by("lead_id").len()
        assert set(by_lead["lead_id"]) <= set(ids)
        for lead, n in by_lead.iter_rows():
            assert n == len(leads[lead]), f"{lead}: {n} of {len(leads[lead])} activities"
        assert not seen or len(ids) >= seen[-1]
        seen.append(len(ids))
        if proc.poll() is not None and len(ids) < len(leads):
            break
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr.decode()
    assert len(set(seen)) >= 3, seen  # several batches were seen come in
    assert _assert_store_sound(store_path, leads) == len(leads)
