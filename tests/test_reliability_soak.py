"""Fault soak at a reduced size (the full 500-lead run is ``benchmarks/bench_soak.py``).

A real fetch over loopback against the fake server with, all at once, 5% transient 500s,
2% dropped connections, 1% replies slower than the client's time-out, 1% truncated bodies
and rate-limit replies (the client is told a limit twice the server's, so it must learn the
server's from its replies), in each paging reading and each rate-limit style. Every activity
of every lead arrives exactly once (the stored raw activities equal the server's, in order),
or the lead is reported failed with its reason and is absent from the store; a re-run over
the same store fetches only those leads and completes them; and after new activities arrive
on the server, a refresh (``max_age=0``) under the same faults stores exactly the server's.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.fetch import run_fetch
from lsq_analysis.samples import synthetic_activities
from lsq_analysis.store import ActivityStore

N_LEADS = 36
SERVER_LIMIT = (20, 1.0)  # the burst after the warm-up always exceeds it
FAULTS = {
    "error_rate": 0.05,
    "drop_rate": 0.02,
    "slow_rate": 0.01,
    "truncate_rate": 0.01,
}
TIMEOUT = 0.4
SLOW_SECONDS = 1.0  # longer than the client's time-out
TRANSIENT = {"ServerError", "ResponseFormatError", "RateLimitError"}

# (paging reading, rate-limit style, RecordCount meaning, retries in the first pass)
SOAKS = [
    ("row", "429", "total", 1),
    ("page0", "403", "page", 0),
    ("page1", "200", "total", 1),
]


def _exact(activities: list[dict]) -> list[bytes]:
    return [orjson.dumps(a, option=orjson.OPT_SORT_KEYS) for a in activities]


def _check_every_lead(
    leads: dict[str, list[dict]], store: ActivityStore, frame: pl.DataFrame, failed: set[str]
) -> None:
    counts = dict(frame.group_by("lead_id").len().iter_rows())
    for lead, activities in leads.items():
        if lead in failed:
            assert lead not in store, f"failed lead {lead} was stored as complete"
            assert counts.get(lead, 0) == 0
            continue
        assert lead in store, lead
        # exactly once, in the server's order, byte for byte
        assert _exact(store.read_activities(lead)) == _exact(activities), lead
        assert counts.get(lead, 0) == len(activities), lead


@pytest.mark.parametrize(("paging", "style", "record_count", "retries"), SOAKS)
def test_fault_soak_every_activity_once_or_reported_then_rerun_completes(
    tmp_path: Path, paging: str, style: str, record_count: str, retries: int
) -> None:
    leads = synthetic_activities(N_LEADS, activities=(0, 120), seed=11)
    with FakeLeadSquared(
        leads,
        paging=paging,
        record_count=record_count,
        max_page_size=40,
        rate_limit=SERVER_LIMIT,
        rate_limit_style=style,
        slow_seconds=SLOW_SECONDS,
        seed=7,
        **FAULTS,
    ) as fake:
        options = {
            "max_calls": 2 * SERVER_LIMIT[0],  # too high: the server's replies must lower it
            "per_seconds": SERVER_LIMIT[1],
            "timeout": TIMEOUT,
            "backoff": (0.02, 0.2),
            "page_size": 100,
        }
        store = ActivityStore(tmp_path / "store")
        first = run_fetch(
            list(leads), client=fake.client(max_retries=retries, **options), store=store,
            progress=False,
        )  # fmt: skip
        statuses = dict(fake.stats.statuses)
        failed = set(first.failures["lead_id"])
        for lead, error, message in first.failures.iter_rows():
            assert error in TRANSIENT, (lead, error, message)
            assert message and lead in message  # the reason names the lead
        _check_every_lead(leads, store, first.frame, failed)
        # each fault kind really happened
        assert statuses.get(500, 0) > 0 and fake.stats.dropped + fake.stats.slow > 0
        limited = statuses.get(int(style), 0) if style != "200" else fake.stats.rate_limited
        assert fake.stats.rate_limited > 0 and limited > 0, statuses
        if retries == 0:
            assert failed, "with no retries some leads must fail under these faults"

        fake.reset_stats()
        second = run_fetch(
            list(leads), client=fake.client(max_retries=8, **options), store=store,
            progress=False,
        )  # fmt: skip
        assert second.failures.height == 0, second.failures.to_dicts()
        assert second.from_store == len(leads) - len(failed)
        assert second.fetched == len(failed)
        if not failed:
            assert fake.stats.calls == 0
        _check_every_lead(leads, store, second.frame, set())
        assert second.frame.height == sum(len(v) for v in leads.values())
        assert store.frame().height == second.frame.height

        # new activities arrive on the server; a refresh under the same faults merges them
        newer = synthetic_activities(N_LEADS, activities=(0, 50), seed=12, start="2025-09-01")
        for (lead, activities), new in zip(list(fake.leads.items()), newer.values(), strict=True):
            fake.leads[lead] = [dict(a, RelatedProspectId=lead) for a in new] + activities
        fake.reset_stats()
        third = run_fetch(
            list(leads), client=fake.client(max_retries=8, **options), store=store,
            progress=False, max_age=0,
        )  # fmt: skip
        assert third.failures.height == 0, third.failures.to_dicts()
        assert third.refreshed == len(leads)
        _check_every_lead(fake.leads, store, third.frame, set())
    print(
        f"\nsoak {paging}/{style}/{record_count}: first pass {first.calls} calls, "
        f"{first.retries} retries, {first.rate_limited} rate-limited, "
        f"{first.failures.height} failed leads, {first.seconds:.1f}s; re-run "
        f"{second.calls} calls, {second.seconds:.1f}s; refresh {third.calls} calls, "
        f"{third.seconds:.1f}s"
    )


def test_refresh_replaces_a_recently_modified_activity_and_never_doubles_one(
    tmp_path: Path,
) -> None:
    """An activity edited on the server (new ModifiedOn and fields) after it was stored."""
    import copy

    leads = synthetic_activities(1, activities=(120, 120), seed=11)
    lead = next(iter(leads))
    with FakeLeadSquared(leads, max_page_size=30, rate_limit=None) as fake:
        client = fake.client(max_calls=1000, per_seconds=1.0)
        store = ActivityStore(tmp_path / "store")
        run_fetch([lead], client=client, store=store, progress=False)
        served = fake.leads[lead]
        before = copy.deepcopy(served)
        for index in (2, 100):  # one on the newest page, one deep in the lead
            edited = copy.deepcopy(served[index])
            edited["ModifiedOn"] = "2025-12-01 10:00:00"
            edited["ActivityFields"] = {**(edited.get("ActivityFields") or {}), "Status": "Won"}
            served[index] = edited
        refreshed = run_fetch([lead], client=client, store=store, progress=False, max_age=0)
    stored = store.read_activities(lead)
    assert len(stored) == len(served) == refreshed.frame.height  # nothing doubled or lost
    assert stored[2] == served[2]  # the edit on the newest page is picked up
    # by design a refresh reads only the newest pages: an older edit waits for a full fetch
    assert stored[100] == before[100]
    assert [a["Id"] for a in stored] == [a["Id"] for a in served]


def test_two_clients_sharing_one_accounts_limit_both_complete() -> None:
    """Two notebooks on one account: each client keeps to the plan's limit, together they
    exceed it, so the server refuses calls (200-style replies) and both must still finish."""
    import threading

    leads = synthetic_activities(30, activities=(0, 90), seed=4)
    ids = list(leads)
    parts = {"a": ids[:20], "b": ids[10:]}
    results: dict[str, tuple] = {}
    with FakeLeadSquared(
        leads, max_page_size=40, rate_limit=(20, 1.0), rate_limit_style="200", seed=1
    ) as fake:

        def run(name: str) -> None:
            client = fake.client(max_calls=20, per_seconds=1.0, backoff=(0.05, 0.5))
            results[name] = (run_fetch(parts[name], client=client, progress=False), client.stats)

        threads = [threading.Thread(target=run, args=(name,)) for name in parts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        refused = fake.stats.rate_limited
    assert refused > 0  # together they did exceed the account's limit
    for name, part in parts.items():
        result, _stats = results[name]
        assert result.failures.height == 0, result.failures.to_dicts()
        for lead in part:
            got = result.frame.filter(pl.col("lead_id") == lead)["activity_id"].to_list()
            assert got == [a["Id"] for a in leads[lead]], lead
