"""The full fault soak (issue 7): 500 leads under every fault at once, in every paging reading.

For each run the fake LeadSquared serves 500 synthetic leads (0 to 300 activities, pages
capped at 100 rows) with, all at once, 5% transient HTTP 500s, 2% dropped connections, 1%
replies slower than the client's time-out, 1% truncated bodies and rate-limit replies in the
run's style (the client is told a limit twice the server's, so it has to learn the real one
from the server's replies). A first pass fetches into a store with few retries, so that some
leads fail; every lead is then either stored with exactly the server's activities (byte for
byte, in order) or reported failed with its reason and absent from the store. A second pass
over the same store fetches only the failed leads and must complete them. Then new activities
arrive on the server for every lead, and a refresh (``max_age=0``) under the same faults must
leave the store holding exactly the server's activities again.

The default is three runs that together cover each paging reading, each rate-limit style and
both meanings of ``RecordCount``; ``--all`` runs the nine reading x style combinations.

Run from the repo root:

    .venv/bin/python benchmarks/bench_soak.py            # about 3 to 4 minutes
    .venv/bin/python benchmarks/bench_soak.py --leads 100 --all

Example output row (markdown, pasted into docs/reliability.md):

    | row | 429 | total | 500 | 84,731 | 1,702 | 140 | 12 | 2 | 58.1 | 7 | 0.9 | yes |
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from itertools import product
from pathlib import Path

import orjson

from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.fetch import run_fetch
from lsq_analysis.samples import synthetic_activities
from lsq_analysis.store import ActivityStore

FAULTS = {"error_rate": 0.05, "drop_rate": 0.02, "slow_rate": 0.01, "truncate_rate": 0.01}
PAIRED_RUNS = [("row", "429", "total"), ("page0", "403", "page"), ("page1", "200", "total")]


def _exact(activities: list[dict]) -> list[bytes]:
    return [orjson.dumps(a, option=orjson.OPT_SORT_KEYS) for a in activities]


def _verify(
    leads: dict[str, list[dict]], store: ActivityStore, failed: set[str]
) -> tuple[bool, list[str]]:
    """Every lead stored exactly as served, or (if failed) not stored at all."""
    problems = []
    reader = ActivityStore(store.path)  # a new object: the store as another reader sees it
    present, rows = set(reader.lead_ids()), reader.raw_rows()
    fetches = reader.fetches()
    recorded = set(fetches.filter(fetches["outcome"] == "failed")["lead_id"])
    problems += [f"{lead}: failed but not recorded in fetches" for lead in failed - recorded]
    stored: dict[str, list[bytes]] = {}
    for lead, text in zip(rows["lead_id"], rows["activity"], strict=True):
        stored.setdefault(lead, []).append(_exact([orjson.loads(text)])[0])
    for lead, activities in leads.items():
        if lead in failed:
            if lead in present:
                problems.append(f"{lead}: failed but stored as complete")
        elif lead not in present:
            problems.append(f"{lead}: neither stored nor reported failed")
        elif stored.get(lead, []) != _exact(activities):
            problems.append(f"{lead}: stored activities differ from the server's")
    return not problems, problems


def soak_once(
    paging: str,
    style: str,
    record_count: str,
    *,
    n_leads: int,
    server_limit: tuple[int, float],
    first_retries: int,
    timeout: float,
    seed: int,
) -> dict:
    """One soak run (first pass with faults, then the completing re-run); returns its figures.

    Example:
        >>> soak_once("row", "429", "total", n_leads=20, server_limit=(30, 1.0),
        ...           first_retries=1, timeout=0.5, seed=1)["complete"]
        True
    """
    leads = synthetic_activities(n_leads, activities=(0, 300), seed=seed)
    expected = sum(len(v) for v in leads.values())
    options = {
        "max_calls": 2 * server_limit[0],
        "per_seconds": server_limit[1],
        "timeout": timeout,
        "backoff": (0.05, 1.0),
        "page_size": 250,
    }
    with (
        tempfile.TemporaryDirectory() as folder,
        FakeLeadSquared(
            leads,
            paging=paging,
            record_count=record_count,
            max_page_size=100,
            rate_limit=server_limit,
            rate_limit_style=style,
            slow_seconds=timeout * 3,
            seed=seed,
            **FAULTS,
        ) as fake,
    ):
        store = ActivityStore(Path(folder) / "store")
        first = run_fetch(
            list(leads),
            client=fake.client(max_retries=first_retries, **options),
            store=store,
            progress=False,
        )
        server = fake.stats
        failed = set(first.failures["lead_id"])
        ok_first, problems_first = _verify(leads, store, failed)
        reasons = Counter(first.failures["error"])
        sample_reason = first.failures["message"][0] if first.failures.height else ""
        fake.reset_stats()
        second = run_fetch(
            list(leads), client=fake.client(max_retries=8, **options), store=store, progress=False
        )
        ok_second, problems_second = _verify(leads, store, set(second.failures["lead_id"]))
        # new activities arrive on the server; a refresh under the same faults merges them
        newer = synthetic_activities(n_leads, activities=(0, 60), seed=seed + 1000,
                                     start="2025-09-01")  # fmt: skip
        for (lead, activities), new in zip(list(fake.leads.items()), newer.values(), strict=True):
            fake.leads[lead] = [dict(a, RelatedProspectId=lead) for a in new] + activities
        fake.reset_stats()
        third = run_fetch(
            list(leads), client=fake.client(max_retries=8, **options), store=store,
            progress=False, max_age=0,
        )  # fmt: skip
        ok_third, problems_third = _verify(fake.leads, store, set(third.failures["lead_id"]))
        refreshed_expected = sum(len(v) for v in fake.leads.values())
        complete = (
            ok_first
            and ok_second
            and second.failures.height == 0
            and second.frame.height == expected
            and second.fetched == len(failed)
            and ok_third
            and third.failures.height == 0
            and third.frame.height == refreshed_expected
        )
    return {
        "paging": paging,
        "style": style,
        "record_count": record_count,
        "leads": n_leads,
        "activities": expected,
        "first_activities": first.frame.height,
        "calls": first.calls,
        "server_calls": server.calls,
        "retries": first.retries,
        "rate_limited": first.rate_limited,
        "statuses": {str(k): v for k, v in sorted(server.statuses.items())},
        "dropped": server.dropped,
        "slow": server.slow,
        "failed_leads": first.failures.height,
        "failure_reasons": dict(reasons),
        "sample_reason": sample_reason,
        "seconds": round(first.seconds, 1),
        "rerun_calls": second.calls,
        "rerun_seconds": round(second.seconds, 1),
        "rerun_failed": second.failures.height,
        "refresh_new_activities": refreshed_expected - expected,
        "refresh_calls": third.calls,
        "refresh_seconds": round(third.seconds, 1),
        "refresh_failed": third.failures.height,
        "complete": complete,
        "problems": (problems_first + problems_second + problems_third)[:10],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print a markdown table; exit 1 if any run lost or doubled anything.

    Example:
        >>> main(["--leads", "20"])
        0
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=500, help="leads per run (default 500)")
    parser.add_argument("--all", action="store_true", help="all 9 reading x style combinations")
    parser.add_argument("--limit", type=int, default=40, help="server calls per second (40)")
    parser.add_argument("--retries", type=int, default=1, help="first-pass retries (1)")
    parser.add_argument("--timeout", type=float, default=0.5, help="client time-out s (0.5)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    runs = (
        [(p, s, "total" if i % 2 == 0 else "page") for i, (p, s) in enumerate(
            product(("row", "page0", "page1"), ("429", "403", "200")))]
        if args.all
        else PAIRED_RUNS
    )  # fmt: skip
    print(
        f"Fault soak: {args.leads} leads per run, server limit {args.limit}/1s (client told "
        f"{2 * args.limit}/1s), faults {FAULTS}, client time-out {args.timeout}s, "
        f"first-pass retries {args.retries}",
        flush=True,
    )
    header = (
        "| paging | rate-limit style | RecordCount | leads | activities | calls | retries | "
        "rate-limited | failed leads | seconds | re-run calls | re-run seconds | "
        "refresh: new activities, calls, seconds | exactly once |"
    )
    print(header)
    print("|" + "---|" * 14)
    results = []
    started = time.monotonic()
    for i, (paging, style, record_count) in enumerate(runs):
        result = soak_once(
            paging,
            style,
            record_count,
            n_leads=args.leads,
            server_limit=(args.limit, 1.0),
            first_retries=args.retries,
            timeout=args.timeout,
            seed=args.seed + i,
        )
        results.append(result)
        print(
            f"| {paging} | {style} | {record_count} | {result['leads']} | "
            f"{result['activities']:,} | {result['calls']:,} | {result['retries']:,} | "
            f"{result['rate_limited']:,} | {result['failed_leads']} | {result['seconds']} | "
            f"{result['rerun_calls']} | {result['rerun_seconds']} | "
            f"{result['refresh_new_activities']:,}, {result['refresh_calls']}, "
            f"{result['refresh_seconds']} | {'yes' if result['complete'] else 'NO'} |",
            flush=True,
        )
    print(f"\ntotal wall time {time.monotonic() - started:.0f}s")
    for result in results:
        print(
            f"{result['paging']}/{result['style']}: server statuses {result['statuses']}, "
            f"dropped {result['dropped']}, slow {result['slow']}, failure reasons "
            f"{result['failure_reasons']}"
        )
        if result["sample_reason"]:
            print(f"  e.g. {result['sample_reason']}")
        for problem in result["problems"]:
            print(f"  PROBLEM {problem}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["complete"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
