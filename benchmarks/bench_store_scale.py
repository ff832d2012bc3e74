"""The store at ten million activities: ``lead_summary`` on the lazy scan, ``explore(store)``.

Builds an :class:`~lsq_analysis.store.ActivityStore` of ``--leads`` synthetic leads of 20
activities each (500,000 leads: 10,000,000 activities), written with ``write_leads`` in
batches of ``--batch`` leads (generating the activities is outside the clock), then measures,
each in a fresh subprocess so that its peak RSS (``ru_maxrss``) is its own:

1. ``lead_summary(store.scan())``: peak RSS and seconds (only the summary is collected).
   Baseline: ``lead_summary(store.frame())`` (the whole store read into memory first).
2. ``explore(store)``: seconds to open (lead index, event types and date bounds from lazy
   aggregates of the scan), then ``--picks`` picker changes, each setting
   ``explorer.lead_picker.value`` to another random lead and timing until the assignment
   returns (the observers run synchronously, so ``explorer.frames`` is updated by then; the
   script checks it holds that lead). Then the same leads picked again (read from the
   explorer's cache). Baseline: the same on ``explore(store.frame())``, run only when the
   machine has the memory for it (``--skip-frame`` skips it).

Targets: the peak RSS of (1) <= 4 GB; the median pick of (2) <= 200 ms.

Usage (from the repo root):
    .venv/bin/python benchmarks/bench_store_scale.py                      # 500,000 leads
    .venv/bin/python benchmarks/bench_store_scale.py --keep /tmp/scale    # keep the store
    .venv/bin/python benchmarks/bench_store_scale.py --reuse /tmp/scale   # skip building
    .venv/bin/python benchmarks/bench_store_scale.py --keep /tmp/scale --build-only
    .venv/bin/python benchmarks/bench_store_scale.py --leads 20000 --picks 5   # small
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import psutil

MEMORY_TARGET_GB = 4.0
PICK_TARGET_MS = 200.0
ACTIVITIES_PER_LEAD = 20
GB = 1e9


# ---------------------------------------------------------------------------- children


def _peak_rss() -> int:
    """This process's peak RSS so far, in bytes (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


def child_summary(path: str, source: str) -> dict[str, Any]:
    """``lead_summary`` of the store's lazy scan (``source="scan"``) or of its frame."""
    from lsq_analysis.analysis import lead_summary
    from lsq_analysis.store import ActivityStore

    store = ActivityStore(path, progress=False)
    start_rss = _rss()
    started = time.perf_counter()
    summary = lead_summary(store.scan() if source == "scan" else store.frame())
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": summary.height,
        "start_rss": start_rss,
        "peak_rss": _peak_rss(),
    }


def child_explore(path: str, source: str, picks: int, seed: int) -> dict[str, Any]:
    """Open the explorer on the store (``source="store"``) or on its frame; time the picks."""
    from lsq_analysis.store import ActivityStore
    from lsq_analysis.widgets import explore

    store = ActivityStore(path, progress=False)
    leads = store.lead_ids()
    rng = random.Random(seed)
    picked = rng.sample(leads, picks)
    reads: list[int | None] = []  # the leads of each store.frame() call (None: every lead)
    frame = store.frame

    def recording(leads: Any = None, **kwargs: Any) -> pl.DataFrame:
        reads.append(None if leads is None else len(leads))
        return frame(leads, **kwargs)

    store.frame = recording  # type: ignore[method-assign]  # counts the explorer's reads
    start_rss = _rss()
    load_seconds = 0.0
    target: object = store
    if source == "frame":
        started = time.perf_counter()
        target = store.frame()
        load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    explorer = explore(target)
    open_seconds = time.perf_counter() - started
    open_rss = _rss()

    def pick_all() -> list[float]:
        times = []
        for lead in picked:
            started = time.perf_counter()
            explorer.lead_picker.value = (lead,)
            times.append(time.perf_counter() - started)
            shown = explorer.frames["activities"]
            assert shown["lead_id"].unique().to_list() == [lead], lead
            assert shown.height == ACTIVITIES_PER_LEAD, shown.height
            assert explorer.frames["table"].height > 0
        return times

    opened_reads = list(reads)
    first = pick_all()
    first_reads = reads[len(opened_reads) :]
    explorer.lead_picker.value = (leads[0],)  # away from the last pick, so each is a change
    before_again = len(reads)
    again = pick_all()
    again_reads = reads[before_again:]
    held = explorer.frames["activities"].schema == pl.Schema(store.scan().collect_schema())
    return {
        "load_seconds": load_seconds,
        "open_seconds": open_seconds,
        "picks": first,
        "picks_again": again,
        "same_columns_as_scan": held,
        "reads_whole_store": sum(1 for n in reads if n is None),
        "reads_on_picks": len(first_reads),
        "leads_read_on_picks": sum(n or 0 for n in first_reads),
        "reads_on_picks_again": len(again_reads),
        "start_rss": start_rss,
        "open_rss": open_rss,
        "peak_rss": _peak_rss(),
    }


def run_child(args: list[str]) -> dict[str, Any]:
    """Run this script as a child measuring one thing; its last output line is JSON."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------------------- building


def build(path: Path, n_leads: int, batch: int, seed: int) -> dict[str, float]:
    """Write ``n_leads`` synthetic leads into a new store at ``path``, ``batch`` at a time."""
    from lsq_analysis import synthetic_activities
    from lsq_analysis.store import ActivityStore

    store = ActivityStore(path, progress=False)
    generating = writing = 0.0
    written = 0
    for i, first in enumerate(range(0, n_leads, batch)):
        started = time.perf_counter()
        leads = synthetic_activities(
            min(batch, n_leads - first), activities=(ACTIVITIES_PER_LEAD,) * 2, seed=seed + i
        )
        generating += time.perf_counter() - started
        started = time.perf_counter()
        store.write_leads(leads)
        writing += time.perf_counter() - started
        written += len(leads)
        if i % 10 == 9 or written == n_leads:
            print(
                f"  built {written:,} of {n_leads:,} leads: writing {writing:.0f} s, "
                f"generating {generating:.0f} s (outside the clock)",
                flush=True,
            )
    return {"write_seconds": writing, "generate_seconds": generating}


def size_on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------- the report


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def _gb(n: float) -> str:
    return f"{n / GB:.2f}"


def _median_max(times: list[float]) -> str:
    return f"median {_ms(statistics.median(times))} ms, max {_ms(max(times))} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--leads", type=int, default=500_000, help="leads of 20 activities")
    parser.add_argument("--batch", type=int, default=5_000, help="leads per write_leads call")
    parser.add_argument("--picks", type=int, default=20, help="picker changes timed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="build the store in DIR and keep it")
    parser.add_argument("--reuse", type=Path, help="use the store already built in DIR")
    parser.add_argument("--skip-frame", action="store_true", help="no explore(frame) baseline")
    parser.add_argument("--build-only", action="store_true", help="build (with --keep), stop")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, path, source, *rest = args.child
        if kind == "summary":
            result = child_summary(path, source)
        else:
            result = child_explore(path, source, int(rest[0]), int(rest[1]))
        print(json.dumps(result))
        return

    load_before = os.getloadavg()
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{when}; load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    temporary = None
    built: dict[str, float] = {}
    if args.reuse:
        path = args.reuse
        print(f"reusing the store in {path}")
    else:
        if args.keep:
            path = args.keep
            if path.exists():
                sys.exit(f"{path} exists: pass --reuse {path}, or remove it")
        else:
            temporary = Path(tempfile.mkdtemp(prefix="lsq-scale-"))
            path = temporary / "store"
        if args.build_only and not args.keep:
            sys.exit("--build-only needs --keep DIR")
        print(f"building {args.leads:,} leads x {ACTIVITIES_PER_LEAD} in {path}")
        built = build(path, args.leads, args.batch, args.seed)
        if args.build_only:
            print(json.dumps(built))
            return
    try:
        report(path, args, built, load_before, when)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def report(
    path: Path,
    args: argparse.Namespace,
    built: dict[str, float],
    load_before: tuple[float, float, float],
    when: str,
) -> None:
    from lsq_analysis.store import ActivityStore

    store = ActivityStore(path, progress=False)
    info = store.info()
    activities, n_leads = int(info["activities"]), int(info["leads"])
    print(
        f"store: {n_leads:,} leads, {activities:,} activities, "
        f"{info['tables']['activities']['files']} files in activities, "
        f"{size_on_disk(path) / 2**20:,.0f} MB on disk, version {info['version']}"
    )
    del store
    rows: list[tuple[str, str, str]] = []
    verdicts: list[tuple[bool, str]] = []

    def measure(name: str, child: list[str]) -> dict[str, Any]:
        print(f"  {name} ...", flush=True)
        return run_child(child)

    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "scan": lambda: measure("lead_summary(store.scan())", ["summary", str(path), "scan"]),
        "frame": lambda: measure("lead_summary(store.frame())", ["summary", str(path), "frame"]),
    }
    lazy = steps["scan"]()
    rows.append(
        (
            "lead_summary(store.scan())",
            f"{_gb(lazy['peak_rss'])} GB peak RSS (at start {_gb(lazy['start_rss'])} GB)",
            f"{lazy['seconds']:.2f} s, {lazy['rows']:,} leads",
        )
    )
    verdicts.append(
        (
            lazy["peak_rss"] <= MEMORY_TARGET_GB * GB,
            f"peak memory of lead_summary(store.scan()) at {activities:,} activities "
            f"<= {MEMORY_TARGET_GB:.0f} GB: {_gb(lazy['peak_rss'])} GB",
        )
    )
    eager = steps["frame"]()
    rows.append(
        (
            "baseline: lead_summary(store.frame())",
            f"{_gb(eager['peak_rss'])} GB peak RSS (at start {_gb(eager['start_rss'])} GB)",
            f"{eager['seconds']:.2f} s (reading the frame included)",
        )
    )

    seed = str(args.seed)
    on_store = measure("explore(store)", ["explore", str(path), "store", str(args.picks), seed])
    rows += explore_rows("explore(store)", on_store)
    median = statistics.median(on_store["picks"])
    verdicts.append(
        (
            median <= PICK_TARGET_MS / 1000,
            f"explore(store) at {activities:,} activities, picker change -> figures' data "
            f"<= {PICK_TARGET_MS:.0f} ms (median of {args.picks}): {_ms(median)} ms",
        )
    )
    verdicts.append(
        (
            bool(on_store["same_columns_as_scan"]),
            "explore(store) shows every column of the store (same as explore(store.frame()))",
        )
    )
    verdicts.append(
        (
            on_store["reads_whole_store"] == 0
            and on_store["leads_read_on_picks"] == args.picks
            and on_store["reads_on_picks_again"] == 0,
            f"explore(store) never reads the whole store: store.frame() calls without leads "
            f"{on_store['reads_whole_store']}; {on_store['reads_on_picks']} reads of "
            f"{on_store['leads_read_on_picks']} leads for {args.picks} picks; "
            f"{on_store['reads_on_picks_again']} reads when picked again",
        )
    )

    # the frame baseline holds the frame and the explorer's row order: about the
    # lead_summary(frame) peak, plus the figures; run it only with room to spare
    available = psutil.virtual_memory().available
    if args.skip_frame:
        rows.append(("baseline: explore(store.frame())", "skipped (--skip-frame)", ""))
    elif eager["peak_rss"] * 1.5 > available:
        rows.append(
            (
                "baseline: explore(store.frame())",
                f"not run: needs about {_gb(eager['peak_rss'] * 1.5)} GB, "
                f"{_gb(available)} GB available",
                "",
            )
        )
    else:
        on_frame = measure(
            "explore(store.frame())", ["explore", str(path), "frame", str(args.picks), seed]
        )
        rows += explore_rows("baseline: explore(store.frame())", on_frame)

    load_after = os.getloadavg()
    print()
    print(
        f"{when}; {n_leads:,} leads, {activities:,} activities; "
        f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM; "
        f"load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end"
    )
    if built:
        per_lead = built["write_seconds"] / n_leads * 1000
        print(
            f"built with write_leads in batches of {args.batch:,}: "
            f"{built['write_seconds']:.0f} s writing ({per_lead:.2f} ms/lead), "
            f"{built['generate_seconds']:.0f} s generating (outside the clock)"
        )
    print()
    print(f"| step ({activities:,} activities) | memory | time |")
    print("| --- | --- | --- |")
    for name, memory, seconds in rows:
        print(f"| {name} | {memory} | {seconds} |")
    print()
    for ok, text in verdicts:
        print(f"{'PASS' if ok else 'FAIL'} {text}")


def explore_rows(name: str, result: dict[str, Any]) -> list[tuple[str, str, str]]:
    picks = len(result["picks"])
    opened = f"{result['open_seconds']:.2f} s"
    if result["load_seconds"]:
        opened += f" (after {result['load_seconds']:.2f} s reading the frame)"
    return [
        (
            f"{name}: open",
            f"{_gb(result['open_rss'])} GB RSS after (at start {_gb(result['start_rss'])} GB)",
            opened,
        ),
        (
            f"{name}: {picks} picker changes (another random lead)",
            f"{_gb(result['peak_rss'])} GB peak RSS of the process (opening included)",
            _median_max(result["picks"]),
        ),
        (
            f"{name}: the same {picks} leads picked again",
            "",
            _median_max(result["picks_again"]),
        ),
    ]


if __name__ == "__main__":
    main()
