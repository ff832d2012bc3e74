"""Time each analysis function and each chart on synthetic activities.

Two parts (``--part``):

- ``core`` (the default, issue 5): builds about a million activities the way a user would
  (``synthetic_activities`` -> ``activities_frame``), then times every function of
  ``lsq_analysis.analysis`` and every chart of ``lsq_analysis.charts`` of that issue (median of
  ``--repeat`` runs after one warm-up run on the bundled sample), and the size and
  serialisation time of each figure's JSON (``fig.to_json()``). Targets: each analysis
  function under 1 s; each chart under 2 s to build *and* serialise, with JSON under 10 MB.
- ``sales`` (issue 15): the sales functions (speed to lead, stages, cohorts, paths, owners,
  funnels with ``within=``, time to event) and their charts at 10,000,000 activities, each
  given a LazyFrame (``pl.scan_parquet``). About 1M activities are generated once and copied
  ``--copies`` times with distinct lead and activity ids (still GUID-shaped: the copy number
  replaces the first hex digits), with ``lead.source`` and ``lead.owner_name`` joined by
  ``with_leads``, and written to one Parquet file (plus the first copy alone, for the
  baseline), in a child process. Each function runs in a subprocess of its own, so that
  its peak RSS (``VmHWM``) is its own: one warm-up run, then the median of ``--repeat``
  runs. Baseline in the same run: the same call on the 1M file (same code path, a tenth of
  the rows: how it scales). Targets: each <= 2 s (a chart: build plus ``to_json``) and
  peak RSS <= 4 GB (``MEMORY_TARGET_GB`` of bench_store_scale.py). A child whose RSS
  passes ``--kill-above`` GB is stopped (and fails), so that a function that reads
  everything cannot starve the machine.
- ``all``: both.

Run from the repo root, alone (2 shared cores):

    .venv/bin/python benchmarks/bench_charts.py                 # core, ~1M activities
    .venv/bin/python benchmarks/bench_charts.py --leads 700     # core, ~100k, a quick look
    .venv/bin/python benchmarks/bench_charts.py --part sales    # sales, 10M activities
    .venv/bin/python benchmarks/bench_charts.py --part sales --keep /tmp/sales  # keep files
    .venv/bin/python benchmarks/bench_charts.py --part sales --reuse /tmp/sales # skip build
    .venv/bin/python benchmarks/bench_charts.py --part sales --sales-leads 300 --copies 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
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

ANALYSIS_TARGET_S = 1.0
CHART_TARGET_S = 2.0
CHART_TARGET_MB = 10.0
SALES_TARGET_S = 2.0
MEMORY_TARGET_GB = 4.0  # the store issue's target (bench_store_scale.py)
GB = 1e9


def build_frame(n_leads: int, seed: int) -> tuple[pl.DataFrame, float, float]:
    import lsq_analysis as lsq

    started = time.perf_counter()
    raw = lsq.synthetic_activities(n_leads, seed=seed)
    generated = time.perf_counter()
    frame = lsq.activities_frame(raw)
    built = time.perf_counter()
    del raw
    gc.collect()
    return frame, generated - started, built - generated


def timed(function: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Median wall seconds, median CPU seconds (all threads) and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def run_core(args: argparse.Namespace) -> int:
    """The issue-5 part: every analysis function and chart on one eager ~1M frame."""
    import lsq_analysis as lsq
    from lsq_analysis import analysis as an
    from lsq_analysis import charts as ch

    df, generate_s, frame_s = build_frame(args.leads, args.seed)
    print(
        f"frame: {df.height:,} activities of {df['lead_id'].n_unique():,} leads, "
        f"{df.width} columns, {df.estimated_size('mb'):.0f} MB "
        f"(synthetic_activities {generate_s:.1f} s, activities_frame {frame_s:.1f} s)"
    )
    summary = an.lead_summary(df)
    top = summary["lead_id"][0]
    five = summary["lead_id"].head(5).to_list()
    common = an.score_by_event(df).sort("n_activities", descending=True)["event"].to_list()
    steps = ["Lead Capture", "Email Opened", common[0] if common[0] != "Email Opened" else 2001]

    analyses: list[tuple[str, Callable[[pl.DataFrame], object]]] = [
        ("score_over_time", lambda d: an.score_over_time(d)),
        ("score_over_time every=1d", lambda d: an.score_over_time(d, every="1d")),
        ("score_by_event", lambda d: an.score_by_event(d)),
        ("event_counts", lambda d: an.event_counts(d)),
        ("event_counts by event, 1w", lambda d: an.event_counts(d, by=["event"], every="1w")),
        ("lead_summary", lambda d: an.lead_summary(d)),
        ("gaps", lambda d: an.gaps(d)),
        ("funnel (3 steps)", lambda d: an.funnel(d, steps)),
        ("funnel (3 steps, within=30d)", lambda d: an.funnel(d, steps, within="30d")),
        ("time_to_event", lambda d: an.time_to_event(d, "Lead Capture", "Email Opened")),
        ("sessions", lambda d: an.sessions(d)),
        ("transitions", lambda d: an.transitions(d)),
        (
            "activity_heatmap Asia/Kolkata",
            lambda d: an.activity_heatmap(d, tz="Asia/Kolkata"),
        ),
    ]
    charts: list[tuple[str, Callable[[pl.DataFrame], object]]] = [
        ("timeline (all leads)", lambda d: ch.timeline(d)),
        ("timeline (1 lead)", lambda d: ch.timeline(d, leads=top)),
        (
            "timeline (5 leads, Asia/Kolkata)",
            lambda d: ch.timeline(d, leads=five, tz="Asia/Kolkata"),
        ),
        ("score_chart (all leads)", lambda d: ch.score_chart(d)),
        ("score_chart (5 leads)", lambda d: ch.score_chart(d, leads=five)),
        ("score_chart kind=by_event", lambda d: ch.score_chart(d, kind="by_event")),
        ("event_mix", lambda d: ch.event_mix(d)),
        ("event_mix every=1w", lambda d: ch.event_mix(d, every="1w")),
        ("activity_heatmap_chart", lambda d: ch.activity_heatmap_chart(d)),
        ("funnel_chart", lambda d: ch.funnel_chart(d, steps)),
        ("transition_chart", lambda d: ch.transition_chart(d)),
    ]

    sample = lsq.load_sample()  # warm-up: imports, first-call costs
    for _, run in analyses + charts:
        run(sample)

    failures = 0
    print(f"load average before (1 / 5 / 15 min): {load_average()}")
    print(f"\n| analysis ({df.height:,} activities) | seconds | CPU s | rows out | target < 1 s |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, run in analyses:
        seconds, cpu, result = timed(lambda run=run: run(df), args.repeat)
        ok = seconds < ANALYSIS_TARGET_S
        failures += not ok
        rows = result.height if isinstance(result, pl.DataFrame) else "-"
        print(f"| {name} | {seconds:.3f} | {cpu:.3f} | {rows:,} | {'ok' if ok else 'MISSED'} |")

    print(
        f"\n| chart ({df.height:,} activities) | build s | CPU s | to_json s | JSON MB | traces "
        "| points | target < 2 s, < 10 MB | title |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for name, run in charts:
        seconds, cpu, fig = timed(lambda run=run: run(df), args.repeat)
        started = time.perf_counter()
        text = fig.to_json()
        json_s = time.perf_counter() - started
        megabytes = len(text.encode()) / 1e6
        points = sum(
            len(getattr(t, "x", None) if getattr(t, "x", None) is not None else ())
            for t in fig.data
        )
        ok = seconds + json_s < CHART_TARGET_S and megabytes < CHART_TARGET_MB
        failures += not ok
        title = (fig.layout.title.text or "").replace("|", "/")
        print(
            f"| {name} | {seconds:.3f} | {cpu:.3f} | {json_s:.3f} | {megabytes:.2f} "
            f"| {len(fig.data)} | {points:,} | {'ok' if ok else 'MISSED'} | {title} |"
        )
    print(f"\nload average after: {load_average()}")
    print(f"{failures} target(s) missed")
    return 1 if failures else 0


# ------------------------------------------------------------------ part "sales" (issue 15)

FUNNEL_STEPS = [
    "Lead Capture",
    "Phone Call",
    "Demo Scheduled",
    "Application Submitted",
    "Payment Received",
]
BUSINESS_HOURS = ("09:00", "18:00", "Mon-Sat", "Asia/Kolkata")

# key -> (label, "analysis" or "chart", call on the package and a LazyFrame)
SalesCall = Callable[[Any, pl.LazyFrame], Any]
SALES_CASES: dict[str, tuple[str, str, SalesCall]] = {
    "first_touch": ("first_touch", "analysis", lambda lsq, f: lsq.first_touch(f)),
    "speed_to_lead": ("speed_to_lead", "analysis", lambda lsq, f: lsq.speed_to_lead(f)),
    "speed_to_lead_source": (
        "speed_to_lead by=lead.source",
        "analysis",
        lambda lsq, f: lsq.speed_to_lead(f, by="lead.source"),
    ),
    "speed_to_lead_owner": (
        "speed_to_lead by=lead.owner_name",
        "analysis",
        lambda lsq, f: lsq.speed_to_lead(f, by="lead.owner_name"),
    ),
    "speed_to_lead_hours": (
        "speed_to_lead business_hours=09:00-18:00 Mon-Sat Asia/Kolkata",
        "analysis",
        lambda lsq, f: lsq.speed_to_lead(f, business_hours=BUSINESS_HOURS),
    ),
    "stage_durations": ("stage_durations", "analysis", lambda lsq, f: lsq.stage_durations(f)),
    "stage_velocity": ("stage_velocity", "analysis", lambda lsq, f: lsq.stage_velocity(f)),
    "stuck_leads": ("stuck_leads", "analysis", lambda lsq, f: lsq.stuck_leads(f)),
    "cohorts": (
        "cohorts event=Payment Received, start_event=Lead Capture, 1mo x 6",
        "analysis",
        lambda lsq, f: lsq.cohorts(
            f, event="Payment Received", start_event="Lead Capture", every="1mo", periods=6
        ),
    ),
    "paths": (
        "paths start=Lead Capture, steps=4, top=8",
        "analysis",
        lambda lsq, f: lsq.paths(f, start="Lead Capture", steps=4, top=8),
    ),
    "owner_activity": (
        "owner_activity every=1w",
        "analysis",
        lambda lsq, f: lsq.owner_activity(f, every="1w"),
    ),
    "funnel": (
        "funnel (5 steps, within=30d)",
        "analysis",
        lambda lsq, f: lsq.funnel(f, FUNNEL_STEPS, within="30d"),
    ),
    "funnel_leads": (
        "funnel_leads step=Payment Received (dropped), within=30d",
        "analysis",
        lambda lsq, f: lsq.funnel_leads(f, FUNNEL_STEPS, step="Payment Received", within="30d"),
    ),
    "time_to_event": (
        "time_to_event Lead Capture -> Payment Received",
        "analysis",
        lambda lsq, f: lsq.time_to_event(f, "Lead Capture", "Payment Received"),
    ),
    "speed_to_lead_chart": (
        "speed_to_lead_chart by=lead.source",
        "chart",
        lambda lsq, f: lsq.speed_to_lead_chart(f, by="lead.source"),
    ),
    "stage_velocity_chart": (
        "stage_velocity_chart",
        "chart",
        lambda lsq, f: lsq.stage_velocity_chart(f),
    ),
    "cohort_chart": (
        "cohort_chart (as cohorts)",
        "chart",
        lambda lsq, f: lsq.cohort_chart(
            f, event="Payment Received", start_event="Lead Capture", every="1mo", periods=6
        ),
    ),
    "paths_chart": (
        "paths_chart (as paths)",
        "chart",
        lambda lsq, f: lsq.paths_chart(f, start="Lead Capture", steps=4, top=8),
    ),
    "owner_activity_chart": (
        "owner_activity_chart every=1w",
        "chart",
        lambda lsq, f: lsq.owner_activity_chart(f, every="1w"),
    ),
    "time_to_event_chart": (
        "time_to_event_chart (as time_to_event)",
        "chart",
        lambda lsq, f: lsq.time_to_event_chart(f, "Lead Capture", "Payment Received"),
    ),
    "funnel_chart": (
        "funnel_chart (as funnel, within=30d)",
        "chart",
        lambda lsq, f: lsq.funnel_chart(f, FUNNEL_STEPS, within="30d"),
    ),
}


def _peak_rss() -> int:
    """This process's peak RSS so far, in bytes.

    ``VmHWM`` of ``/proc/self/status`` where there is one: ``ru_maxrss`` of a child starts at
    its parent's peak at the fork, which would count the parent's frame here.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def child_sales(key: str, path: str, repeat: int) -> dict[str, Any]:
    """In a fresh process: one warm-up run of case ``key`` on ``scan_parquet(path)``, then
    ``repeat`` timed runs (a chart's time includes ``fig.to_json()``)."""
    import lsq_analysis as lsq
    import lsq_analysis.analysis  # imported outside the clock

    _, kind, call = SALES_CASES[key]
    if kind == "chart":
        import lsq_analysis.charts  # plotly too
    start_rss = _rss()

    def once() -> dict[str, Any]:
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        out = call(lsq, pl.scan_parquet(path))
        built = time.perf_counter() - wall
        run: dict[str, Any] = {"build": built, "json": 0.0}
        if kind == "chart":
            started = time.perf_counter()
            text = out.to_json()
            run["json"] = time.perf_counter() - started
            run["mb"] = len(text.encode()) / 1e6
            run["out"] = len(out.data)
        else:
            run["out"] = out.height
        run["seconds"] = time.perf_counter() - wall
        run["cpu"] = time.process_time() - cpu
        return run

    first = once()
    runs = [once() for _ in range(repeat)]
    result: dict[str, Any] = {
        name: statistics.median(r[name] for r in runs)
        for name in ("seconds", "build", "json", "cpu")
    }
    result.update(
        first=first["seconds"],
        out=runs[-1]["out"],
        mb=runs[-1].get("mb"),
        start_rss=start_rss,
        peak_rss=_peak_rss(),
    )
    return result


def run_sales_child(key: str, path: Path, repeat: int, kill_above_gb: float) -> dict[str, Any]:
    """Run one case in a subprocess; stop it if its RSS passes ``kill_above_gb``."""
    import psutil

    load = os.getloadavg()[0]
    command = [sys.executable, __file__, "--child", key, str(path), str(repeat)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        watched = psutil.Process(child.pid)
        seen, killed, started = 0, False, time.monotonic()
        while child.poll() is None:
            try:
                seen = max(seen, watched.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            if seen > kill_above_gb * GB or time.monotonic() - started > 900:
                child.kill()
                killed = True
            time.sleep(0.05)
        child.wait()
        out.seek(0)
        err.seek(0)
        lines = out.read().strip().splitlines()
        if child.returncode != 0 or not lines:
            if killed:
                why = (
                    f"stopped at {seen / GB:.1f} GB RSS or 900 s (--kill-above {kill_above_gb} GB)"
                )
            else:
                tail = err.read().strip().splitlines()
                why = tail[-1] if tail else f"exit status {child.returncode}"
            return {"error": why, "peak_rss": seen, "load": load}
    result = dict(json.loads(lines[-1]))
    result["load"] = load
    result["sampled_rss"] = seen  # the parent's view, every 50 ms: a check on peak_rss
    return result


def build_sales(directory: Path, n_leads: int, copies: int, seed: int) -> dict[str, Any]:
    """Write ``1x.parquet`` (one synthetic set) and ``{copies}x.parquet`` into ``directory``."""
    import lsq_analysis as lsq

    started = time.perf_counter()
    raw = lsq.synthetic_activities(n_leads, seed=seed)
    generated = time.perf_counter()
    df = lsq.activities_frame(raw)
    expanded = time.perf_counter()
    del raw
    gc.collect()
    # each lead's source (its capture's data.Source) and owner (its latest data.CurrentOwner)
    leads = (
        df.sort("created_on")
        .group_by("lead_id")
        .agg(
            pl.col("data.Source").drop_nulls().first().alias("source"),
            pl.col("data.CurrentOwner").drop_nulls().last().alias("owner_name"),
        )
    )
    df = lsq.with_leads(df, leads, columns=["source", "owner_name"])
    width = len(f"{copies - 1:x}")
    for column in ("lead_id", "activity_id"):
        if df[column].str.slice(width).n_unique() != df[column].n_unique():
            sys.exit(f"{column}s clash once their first {width} characters are replaced")

    def copy(k: int) -> pl.LazyFrame:
        prefix = f"{k:0{width}x}"
        return df.lazy().with_columns(
            (pl.lit(prefix) + pl.col(c).str.slice(width)).alias(c)
            for c in ("lead_id", "activity_id")
        )

    directory.mkdir(parents=True, exist_ok=True)
    one, many = directory / "1x.parquet", directory / f"{copies}x.parquet"
    copy(0).sink_parquet(one)
    pl.concat([copy(k) for k in range(copies)]).sink_parquet(many)
    written = time.perf_counter()
    meta = {
        "seed": seed,
        "n_leads": n_leads,
        "copies": copies,
        "one": {"path": one.name, "rows": df.height, "leads": df["lead_id"].n_unique()},
        "many": {
            "path": many.name,
            "rows": df.height * copies,
            "leads": df["lead_id"].n_unique() * copies,
        },
        "columns": df.width,
        "generate_s": generated - started,
        "expand_s": expanded - generated,
        "write_s": written - expanded,
        "mb_on_disk": {p.name: p.stat().st_size / 2**20 for p in (one, many)},
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def run_sales(args: argparse.Namespace) -> int:
    """The issue-15 part: each sales function at 10M activities on a LazyFrame."""
    import psutil

    load_before = os.getloadavg()
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{when}; load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    temporary = None
    if args.reuse:
        directory = args.reuse
        meta = json.loads((directory / "meta.json").read_text())
        print(f"reusing {directory}")
    else:
        if args.keep:
            directory = args.keep
            if directory.exists():
                sys.exit(f"{directory} exists: pass --reuse {directory}, or remove it")
        else:
            temporary = Path(tempfile.mkdtemp(prefix="lsq-sales-"))
            directory = temporary
        print(f"building {args.sales_leads:,} leads x {args.copies} copies in {directory}")
        # in a child, so that this process stays small while the measured ones run
        build_args = [str(directory), str(args.sales_leads), str(args.copies), str(args.seed)]
        subprocess.run([sys.executable, __file__, "--build", *build_args], check=True)
        meta = json.loads((directory / "meta.json").read_text())
    try:
        return report_sales(directory, meta, args, load_before, when, psutil)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _count(n: int) -> str:
    """10,000,000 -> "10M", 84,546 -> "85k"."""
    return f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


def report_sales(
    directory: Path,
    meta: dict[str, Any],
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    when: str,
    psutil: Any,
) -> int:
    one, many = meta["one"], meta["many"]
    print(
        f"files: {many['rows']:,} activities of {many['leads']:,} leads "
        f"({meta['copies']} copies of synthetic_activities({meta['n_leads']:,}, "
        f"seed={meta['seed']})), {meta['columns']} columns; "
        + ", ".join(f"{name} {mb:,.0f} MB" for name, mb in meta["mb_on_disk"].items())
        + f"; built in {meta['generate_s']:.0f} s generating + {meta['expand_s']:.0f} s "
        f"activities_frame + {meta['write_s']:.0f} s writing"
    )
    keys = list(SALES_CASES) if not args.only else args.only.split(",")
    unknown = [k for k in keys if k not in SALES_CASES]
    if unknown:
        sys.exit(f"--only: unknown case(s) {unknown}; choose from {', '.join(SALES_CASES)}")
    big_n, small_n = _count(many["rows"]), _count(one["rows"])
    results: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
    for key in keys:
        print(f"  {SALES_CASES[key][0]} ...", flush=True)
        big = run_sales_child(key, directory / many["path"], args.repeat, args.kill_above)
        small = (
            None
            if args.skip_baseline
            else run_sales_child(key, directory / one["path"], args.repeat, args.kill_above)
        )
        results[key] = (big, small)
        if "error" in big:
            print(f"    {big_n}: {big['error']}", flush=True)
        else:
            print(
                f"    {big_n}: {big['seconds']:.2f} s, {big['peak_rss'] / GB:.2f} GB peak "
                f"({big['sampled_rss'] / GB:.2f} GB seen from outside)"
                + (
                    ""
                    if small is None or "error" in small
                    else f"; {small_n}: {small['seconds']:.2f} s"
                ),
                flush=True,
            )
    load_after = os.getloadavg()

    print()
    print(
        f"{when}; {many['rows']:,} activities of {many['leads']:,} leads in one Parquet file, "
        f"{meta['columns']} columns, read with pl.scan_parquet; baseline {one['rows']:,} "
        f"activities ({one['leads']:,} leads, the first copy alone); {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM; load average "
        f"{load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end; median of "
        f"{args.repeat} runs after a warm-up, each function in a fresh process"
    )
    print()
    print(
        f"| function ({many['rows']:,} activities, LazyFrame) | seconds | first run s | CPU s "
        f"| peak RSS GB | out | {small_n}: seconds | {small_n}: peak RSS GB | {big_n} / {small_n} "
        f"time | load | "
        f"<= {SALES_TARGET_S:.0f} s, <= {MEMORY_TARGET_GB:.0f} GB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    verdicts: list[tuple[bool, str]] = []
    for key, (big, small) in results.items():
        label, kind, _ = SALES_CASES[key]
        if small is None:
            base = ["skipped", "", ""]
        elif "error" in small:
            base = [small["error"].replace("|", "/"), "", ""]
        else:
            base = [f"{small['seconds']:.3f}", f"{small['peak_rss'] / GB:.2f}", ""]
        if "error" in big:
            ok = False
            cells = [big["error"].replace("|", "/"), "", "", f"{big['peak_rss'] / GB:.2f}", ""]
            text = f"{big['error']}"
        else:
            ok = big["seconds"] <= SALES_TARGET_S and big["peak_rss"] <= MEMORY_TARGET_GB * GB
            out = (
                f"{big['out']} trace(s), {big['mb']:.2f} MB JSON ({big['json']:.3f} s to_json)"
                if kind == "chart"
                else f"{big['out']:,} rows"
            )
            cells = [
                f"{big['seconds']:.3f}",
                f"{big['first']:.3f}",
                f"{big['cpu']:.3f}",
                f"{big['peak_rss'] / GB:.2f}",
                out,
            ]
            if small is not None and "error" not in small and small["seconds"] > 0:
                base[2] = f"{big['seconds'] / small['seconds']:.1f}x"
            text = (
                f"{big['seconds']:.2f} s"
                + (" (build + to_json)" if kind == "chart" else "")
                + f", peak RSS {big['peak_rss'] / GB:.2f} GB"
            )
        verdicts.append(
            (
                ok,
                f"{label} at {many['rows']:,} activities (LazyFrame) <= {SALES_TARGET_S:.0f} s "
                f"and <= {MEMORY_TARGET_GB:.0f} GB: {text}",
            )
        )
        print(
            f"| {label} | "
            + " | ".join(cells + base)
            + f" | {big['load']:.1f} | {'ok' if ok else 'MISSED'} |"
        )
    print()
    for ok, text in verdicts:
        print(f"{'PASS' if ok else 'FAIL'} {text}")
    missed = sum(not ok for ok, _ in verdicts)
    print(f"{missed} target(s) missed")
    return 1 if missed else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        key, path, repeat = argv[1:4]
        print(json.dumps(child_sales(key, path, int(repeat))))
        return 0
    if argv[:1] == ["--build"]:
        directory, n_leads, copies, seed = argv[1:5]
        build_sales(Path(directory), int(n_leads), int(copies), int(seed))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=("core", "sales", "all"), default="core")
    parser.add_argument("--leads", type=int, default=6_667, help="core: synthetic leads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per item (median shown)")
    parser.add_argument(
        "--sales-leads", type=int, default=6_667, help="sales: synthetic leads per copy"
    )
    parser.add_argument("--copies", type=int, default=10, help="sales: copies of those leads")
    parser.add_argument("--keep", type=Path, help="sales: build the files in DIR and keep them")
    parser.add_argument("--reuse", type=Path, help="sales: use the files built in DIR")
    parser.add_argument("--only", help="sales: comma-separated case keys (default: all)")
    parser.add_argument("--skip-baseline", action="store_true", help="sales: no 1M runs")
    parser.add_argument(
        "--kill-above", type=float, default=8.0, help="sales: stop a child above this RSS (GB)"
    )
    args = parser.parse_args(argv)
    failures = 0
    if args.part in ("core", "all"):
        failures += run_core(args)
    if args.part in ("sales", "all"):
        if args.part == "all":
            print()
        failures += run_sales(args)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
