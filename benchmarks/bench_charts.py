"""Time each analysis function and each chart on about a million synthetic activities.

Builds the frame the way a user would (``synthetic_activities`` -> ``activities_frame``), then
times every function of ``lsq_analysis.analysis`` and every chart of ``lsq_analysis.charts``
(median of ``--repeat`` runs after one warm-up run on the bundled sample), and the size and
serialisation time of each figure's JSON (``fig.to_json()``). Targets (issue 5): each analysis
function under 1 s; each chart under 2 s to build *and* serialise, with JSON under 10 MB.

Run from the repo root, alone (2 shared cores):

    .venv/bin/python benchmarks/bench_charts.py            # ~1M activities
    .venv/bin/python benchmarks/bench_charts.py --leads 700  # ~100k, a quick look
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable

import polars as pl

import lsq_analysis as lsq
from lsq_analysis import analysis as an
from lsq_analysis import charts as ch

ANALYSIS_TARGET_S = 1.0
CHART_TARGET_S = 2.0
CHART_TARGET_MB = 10.0


def build_frame(n_leads: int, seed: int) -> tuple[pl.DataFrame, float, float]:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=6_667, help="synthetic leads (0-300 each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per item (median shown)")
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    sys.exit(main())
