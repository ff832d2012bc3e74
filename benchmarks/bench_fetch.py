"""Fetching at the plan's rate limit, and re-reading a big store (issue 4).

Part 1, against the fake server (latency 100-300 ms per call, pages capped at 100 rows,
leads of 1 to 300 activities, so 1 to 3 pages each), once per plan limit:

* ``fetch_activities``: leads concurrently, the client's shared limiter pacing the calls;
* the way public scripts do it, in the same run: one lead after another, one call at a
  time (the same client, so the same retries and limiter, in a plain loop).

For each it prints the calls, the span from the first to the last call (the fake's own
arrival times), calls per second, the share of the limit used
(calls / (limit x span / window + limit)), rate-limit replies seen and activities fetched
versus expected (each lead's activities compared one by one with the server's).

Part 2: a store holding 1M activities, built directly from synthetic activities (no
network), then read back by ``fetch_activities(..., store=...)`` and ``store.frame()``:
calls made (must be 0) and seconds (target: under 1 s).

Part 3: the account-wide pull (``fetch_events`` into a store, ``RetrieveByActivityEvent``)
against per-lead fetching of the same activities: for the five most common event codes of
``--account-leads`` synthetic leads, the calls each way and the activities per call, and
whether both ways hold the same activity ids.

Run from the repo root (it takes minutes by nature: 600 calls at 5 calls/s is 2 minutes):
    .venv/bin/python benchmarks/bench_fetch.py                 # everything
    .venv/bin/python benchmarks/bench_fetch.py --part store    # only the 1M store
    .venv/bin/python benchmarks/bench_fetch.py --no-baseline   # skip the one-at-a-time runs
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl

from lsq_analysis import ActivityStore, activities_frame, fetch_events, synthetic_activities
from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.fetch import fetch_activities, run_fetch

LATENCY = (0.1, 0.3)
PAGE_CAP = 100
TARGET_SHARE = 0.97


def share_of_limit(call_times: tuple[float, ...], limit: int, window: float) -> float:
    """calls / (limit x span / window + limit), span from the first to the last call."""
    if not call_times:
        return 0.0
    span = call_times[-1] - call_times[0]
    return len(call_times) / (limit * span / window + limit)


def attainable_share(calls: int, limit: int) -> float:
    """The most of :func:`share_of_limit` any client can reach with ``calls`` calls.

    A sliding window admits at most ``limit`` calls in any ``[t, t + window)``, so ``calls``
    calls span at least ``window x (ceil(calls / limit) - 1)`` and the formula's denominator
    is at least ``limit x ceil(calls / limit)``: 606 calls at 25 per window can reach
    606 / 625 = 97.0% at best, 601 calls only 601 / 625 = 96.2%.

    Example:
        >>> round(attainable_share(606, 25), 4)
        0.9696
    """
    return calls / (limit * math.ceil(calls / limit)) if calls else 0.0


def exactly_once(got: dict[str, list[tuple[str, int]]], leads: dict[str, list[dict]]) -> bool:
    return all(got.get(lead, []) == [(a["Id"], a["EventCode"]) for a in acts]
               for lead, acts in leads.items())  # fmt: skip


def _ids_by_lead(frame: pl.DataFrame) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for lead, aid, code in frame.select("lead_id", "activity_id", "event_code").iter_rows():
        out.setdefault(lead, []).append((aid, code))
    return out


def run_way(way: str, leads: dict[str, list[dict]], limit: int, window: float) -> dict:
    with FakeLeadSquared(
        leads, max_page_size=PAGE_CAP, rate_limit=(limit, window), latency=LATENCY, seed=1
    ) as fake:
        client = fake.client()
        started = time.monotonic()
        if way == "fetch_activities":
            result = run_fetch(list(leads), client=client, progress=False)
            frame, failed = result.frame, result.failures.height
        else:  # one lead after another, one call at a time
            frames, failed = [], 0
            for lead in leads:
                try:
                    frames.append(activities_frame(client.get_lead_activities(lead)))
                except Exception:
                    failed += 1
            frame = pl.concat(frames, how="diagonal_relaxed")
        wall = time.monotonic() - started
        stats = fake.stats
    times = stats.call_times
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    expected = sum(len(v) for v in leads.values())
    return {
        "way": way,
        "limit": f"{limit}/{window:g}s",
        "leads": len(leads),
        "calls": stats.calls,
        "span_s": round(span, 1),
        "calls_per_s": round(stats.calls / span, 2) if span else 0.0,
        "share_of_limit": f"{share_of_limit(times, limit, window):.1%}",
        "attainable": f"{attainable_share(len(times), limit):.1%}",
        "rate_limited": stats.statuses.get(int(fake.rate_limit_style), 0)
        if stats.rate_limited
        else 0,
        "rate_limited_share": f"{stats.rate_limited / max(1, stats.calls):.1%}",
        "activities": f"{frame.height:,} / {expected:,}",
        "exactly_once": exactly_once(_ids_by_lead(frame), leads) and failed == 0,
        "wall_s": round(wall, 1),
    }


def part_rate(args: argparse.Namespace) -> None:
    rows = []
    cases = [(25, 5.0, args.leads), (5, 5.0, args.slow_leads)]
    for limit, window, n in cases:
        leads = synthetic_activities(n, activities=(1, 3 * PAGE_CAP), seed=42)
        pages = sum(max(1, -(-len(v) // PAGE_CAP)) for v in leads.values())
        print(f"\n{n} leads, {pages} pages, limit {limit} per {window:g}s, latency {LATENCY} s")
        ways = ["fetch_activities"] + ([] if args.no_baseline else ["one at a time"])
        for way in ways:
            row = run_way(way, leads, limit, window)
            print("  ", row, flush=True)
            rows.append(row)
    print()
    with pl.Config(tbl_rows=20, tbl_cols=20, tbl_width_chars=200, fmt_str_lengths=40):
        print(pl.DataFrame(rows))
    print()
    for row in rows:
        if row["way"] != "fetch_activities":
            continue
        share = float(row["share_of_limit"].rstrip("%")) / 100
        limited = float(row["rate_limited_share"].rstrip("%")) / 100
        _verdict(
            share >= TARGET_SHARE,
            f"{row['limit']}: share of the limit >= {TARGET_SHARE:.0%}: {row['share_of_limit']}"
            f" (the most any client can reach with {row['calls']} calls: {row['attainable']})",
        )
        _verdict(limited <= 0.01, f"{row['limit']}: rate-limit replies <= 1% of calls: "
                 f"{row['rate_limited_share']}")  # fmt: skip
        _verdict(row["exactly_once"], f"{row['limit']}: every activity exactly once")


def _verdict(ok: bool, text: str) -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {text}")


def build_store(path: Path, n_activities: int) -> tuple[list[str], float]:
    """Write synthetic leads straight into a store (no network), 500 leads a commit as a
    fetch commits them."""
    started = time.monotonic()
    store = ActivityStore(path)
    leads: list[str] = []
    total, chunk = 0, 0
    while total < n_activities:
        batch = synthetic_activities(500, activities=(0, 600), seed=1000 + chunk)
        chunk += 1
        kept: dict[str, list] = {}
        for lead, acts in batch.items():
            if total >= n_activities:
                break
            kept[lead] = acts[: n_activities - total]
            leads.append(lead)
            total += len(kept[lead])
        store.write_leads(kept)
        del batch, kept
        gc.collect()
    print(
        f"built a store of {total:,} activities in {len(leads):,} leads in "
        f"{time.monotonic() - started:.1f}s"
    )
    return leads, time.monotonic() - started


def part_store(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        leads, _ = build_store(root / "store", args.store_activities)
        size = sum(p.stat().st_size for p in (root / "store").rglob("*") if p.is_file())
        print(f"store size on disk: {size / 1e6:,.0f} MB")
        with FakeLeadSquared({}, rate_limit=(25, 5.0)) as fake:
            client = fake.client()
            times = []
            for attempt in (1, 2, 3):
                started = time.monotonic()
                result = run_fetch(leads, client=client, store=root / "store", progress=False)
                took = time.monotonic() - started
                times.append(took)
                print(
                    f"second run #{attempt}: fetch_activities over the store: "
                    f"{result.frame.height:,} activities x {result.frame.width} columns, "
                    f"{fake.stats.calls} calls (client {result.calls}), {took:.2f}s"
                )
                del result
                gc.collect()
            shuffled = leads[:]
            random.Random(0).shuffle(shuffled)
            started = time.monotonic()
            result = run_fetch(shuffled, client=client, store=root / "store", progress=False)
            print(
                f"second run, leads in another order: {result.frame.height:,} activities, "
                f"{fake.stats.calls} calls, {time.monotonic() - started:.2f}s"
            )
            del result
            store = ActivityStore(root / "store")
            for attempt in (1, 2):
                started = time.monotonic()
                frame = store.frame()
                print(f"store.frame() #{attempt}: {frame.height:,} rows, "
                      f"{time.monotonic() - started:.2f}s")  # fmt: skip
                del frame
            code = store.scan().select("event_code").head(1).collect().item()
            started = time.monotonic()
            n = store.scan().filter(pl.col("event_code") == code).select(pl.len()).collect().item()
            print(f"store.scan() filtered to one event ({code}): {n:,} rows, "
                  f"{time.monotonic() - started:.2f}s")  # fmt: skip
            print()
            _verdict(fake.stats.calls == 0, f"second runs: 0 API calls: {fake.stats.calls}")
            _verdict(
                min(times) < 1.0,
                f"second run under 1 s for {args.store_activities:,} stored activities: "
                f"best {min(times):.2f}s, median {sorted(times)[1]:.2f}s",
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def part_account(args: argparse.Namespace) -> None:
    leads = synthetic_activities(args.account_leads, activities=(1, 300), seed=31)
    with FakeLeadSquared(leads, max_page_size=100, rate_limit=None) as fake:
        client = fake.client()
        started = time.monotonic()
        per_lead = fetch_activities(list(leads), client=client, progress=False)
        per_lead_calls, per_lead_s = client.stats.calls, time.monotonic() - started
        codes = (
            per_lead.filter(pl.col("event_code") != 3011)["event_code"]
            .value_counts(sort=True)
            .head(5)["event_code"]
            .to_list()
        )
        wanted = per_lead.filter(pl.col("event_code").is_in(codes))
        account = fake.client()
        root = Path(tempfile.mkdtemp(prefix="lsq-bench-events-"))
        try:
            store = ActivityStore(root / "store")
            started = time.monotonic()
            frames = [
                fetch_events(int(c), "2000-01-01", "2100-01-01", client=account, store=store,
                             progress=False)
                for c in codes
            ]  # fmt: skip
            pulled = pl.concat(frames, how="diagonal_relaxed")
            account_calls, account_s = account.stats.calls, time.monotonic() - started
            stored = store.frame()
        finally:
            shutil.rmtree(root, ignore_errors=True)
    same = sorted(pulled["activity_id"]) == sorted(wanted["activity_id"])
    stored_same = sorted(stored["activity_id"]) == sorted(wanted["activity_id"])
    print(f"\naccount-wide pull, {args.account_leads:,} leads, event codes {codes}:")
    print("| way | calls | activities | activities per call | seconds |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| per lead (every activity, then filtered) | {per_lead_calls:,} | {wanted.height:,} "
          f"| {wanted.height / per_lead_calls:.1f} | {per_lead_s:.1f} |")  # fmt: skip
    per_call = pulled.height / max(1, account_calls)
    print(f"| fetch_events into a store (5 codes, pages of 1,000) | {account_calls:,} | "
          f"{pulled.height:,} | {per_call:.1f} | {account_s:.1f} |")  # fmt: skip
    _verdict(same, "the account-wide pull holds the same activities as per-lead fetching")
    _verdict(stored_same, "the store holds each pulled activity once, the same ids")
    _verdict(account_calls < per_lead_calls, "the account-wide pull needs fewer calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "rate", "store", "account"), default="all")
    parser.add_argument("--account-leads", type=int, default=2_000)
    parser.add_argument("--leads", type=int, default=300, help="leads at 25 calls per 5 s")
    parser.add_argument("--slow-leads", type=int, default=60, help="leads at 5 calls per 5 s")
    parser.add_argument("--no-baseline", action="store_true", help="skip one-at-a-time runs")
    parser.add_argument("--store-activities", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.part in ("all", "rate"):
        part_rate(args)
    if args.part in ("all", "store"):
        part_store(args)
    if args.part in ("all", "account"):
        part_account(args)


if __name__ == "__main__":
    main()
