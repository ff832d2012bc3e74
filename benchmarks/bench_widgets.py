"""Explorer redraw time on one million activities (issue 6).

Builds ~1M synthetic activities (``synthetic_activities`` → ``activities_frame``), opens the
explorer on them, then times what a user does: pick another lead, pick one event type, narrow
the dates, and type in the lead search. Each time is from setting the picker's value to the
figures' data being updated in place (the observers run synchronously, so the value assignment
returns when the timeline, the score chart and the table are redrawn). Without a browser no
message leaves the kernel; the browser journey (tests/test_browser.py) covers rendering.

Target: a pick redraws within 100 ms. Baseline in the same run: building the two figures from
scratch as new FigureWidgets, from the unpartitioned frame.

Usage: .venv/bin/python benchmarks/bench_widgets.py [--leads 6700] [--picks 30]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time

import plotly.graph_objects as go
import polars as pl

from lsq_analysis import activities_frame, synthetic_activities
from lsq_analysis.charts import score_chart, timeline
from lsq_analysis.widgets import explore, find_leads


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def _row(name: str, times: list[float]) -> str:
    times = sorted(times)
    p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
    return f"| {name:<44} | {_ms(statistics.median(times))} | {_ms(p90)} | {_ms(times[-1])} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=6700, help="synthetic leads (~150 each)")
    parser.add_argument("--picks", type=int, default=30, help="picks timed per kind")
    args = parser.parse_args()

    started = time.perf_counter()
    raw = synthetic_activities(args.leads, seed=1)
    df = activities_frame(raw)
    del raw
    gc.collect()
    print(
        f"frame: {df.height:,} activities, {df['lead_id'].n_unique():,} leads, "
        f"{df.width} columns, built in {time.perf_counter() - started:.1f}s"
    )

    started = time.perf_counter()
    explorer = explore(df)
    print(f"explore(df): {time.perf_counter() - started:.2f}s (index, partition, first figures)")

    rng = random.Random(0)
    leads = df["lead_id"].unique().sort().to_list()
    codes = explorer.event_picker.codes
    first, last = explorer.date_picker.bounds
    picks: dict[str, list[float]] = {
        "pick another lead": [],
        "pick one event type": [],
        "pick all event types": [],
        "pick two leads": [],
        "narrow the dates": [],
        "type in the lead search (index of all leads)": [],
        "baseline: new FigureWidgets from the whole frame": [],
    }
    sizes = []
    for _ in range(args.picks):
        lead = rng.choice(leads)
        t = time.perf_counter()
        explorer.lead_picker.value = (lead,)
        picks["pick another lead"].append(time.perf_counter() - t)
        sizes.append(explorer.frames["activities"].height)

        t = time.perf_counter()
        explorer.event_picker.value = (rng.choice(codes),)
        picks["pick one event type"].append(time.perf_counter() - t)

        t = time.perf_counter()
        explorer.event_picker.select_all()
        picks["pick all event types"].append(time.perf_counter() - t)

        t = time.perf_counter()
        explorer.lead_picker.value = (lead, rng.choice(leads))
        picks["pick two leads"].append(time.perf_counter() - t)

        day = first + (last - first) * rng.random() * 0.5
        t = time.perf_counter()
        explorer.date_picker.value = (day, None)
        picks["narrow the dates"].append(time.perf_counter() - t)
        explorer.date_picker.value = (None, None)

        t = time.perf_counter()
        find_leads(explorer.lead_picker.index, lead[rng.randrange(0, 30) :][:6])
        picks["type in the lead search (index of all leads)"].append(time.perf_counter() - t)

        t = time.perf_counter()
        one = df.filter(pl.col("lead_id") == lead)
        go.FigureWidget(timeline(one))
        go.FigureWidget(score_chart(one))
        picks["baseline: new FigureWidgets from the whole frame"].append(time.perf_counter() - t)

    print(
        f"\n{args.picks} picks per kind; a picked lead has {statistics.median(sizes):.0f} "
        f"activities (median), {max(sizes)} at most\n"
    )
    print("| change (1M activities) | median ms | p90 ms | max ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, times in picks.items():
        print(_row(name, times))
    worst = max(
        statistics.median(t) for n, t in picks.items() if not n.startswith(("baseline", "type"))
    )
    verdict = "met" if worst <= 0.100 else "MISSED"
    print(
        f"\ntarget 100 ms per pick (median of the slowest kind): {worst * 1000:.1f} ms, {verdict}"
    )


if __name__ == "__main__":
    main()
