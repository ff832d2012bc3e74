"""The Delta Lake store (ActivityStore) at account scale, against the version-1 layout
(V1Store, the store before issue 13) in the same run.

Synthetic leads of 20 activities each (``synthetic_activities(n, activities=(20, 20))``),
generated batch by batch as a fetch would hand them over, then:

1. **write** them with ``ActivityStore.write_leads`` in batches of ``--batch`` leads (500):
   seconds per lead, amortised (generating the activities is outside the clock);
2. **frame()** of everything, each time from a new ``ActivityStore`` object (median of 3);
3. **frame([one lead])**: 20 random leads, median (the same store object, as a notebook
   would hold it);
4. **refresh 1%**: write 1% of the leads again (new activities, batches of ``--batch``),
   then ``frame()``; three rounds (other leads each time), the median counts; the data files
   referenced before must all still be referenced after (nothing of other leads rewritten);
5. **optimize()**, then ``frame()`` again: the same frame, fewer files.

Baselines in the same run, at smaller sizes where they are too slow (the output says so):

* ``V1Store`` (one Parquet file per lead plus the expanded cache) at ``--old-leads``;
* the alternative design: ``activities`` partitioned by 64 lead-hash buckets, a refresh as
  ``delete`` of the leads' rows then ``append`` (no superseded rows, nothing to skip on
  read), at ``--alt-leads``; its ``num_copied_rows`` counts rows of other leads rewritten.

Peak memory (RSS, sampled by psutil every 20 ms) is printed per step and for the run.

Run from the repo root:
    .venv/bin/python benchmarks/bench_store.py                  # 100,000 leads (about 6 min)
    .venv/bin/python benchmarks/bench_store.py --leads 20000    # smaller
    .venv/bin/python benchmarks/bench_store.py --skip-old --skip-alt
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import psutil
from deltalake import DeltaTable, write_deltalake

from lsq_analysis import synthetic_activities
from lsq_analysis.frames import activities_frame
from lsq_analysis.store import ActivityStore, V1Store

WRITE_MS_PER_LEAD = 2.0
FRAME_ALL_S = 3.0
FRAME_ONE_MS = 100.0
REFRESH_TOTAL_S = 10.0
REFRESH_VS_READ = 3.0
REFRESH_ROUNDS = 3
BUCKETS = 64


class Peak:
    """Peak RSS of this process, sampled in a thread; ``step()`` starts a new step's peak."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.run_peak = self.step_peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            rss = self.proc.memory_info().rss
            self.step_peak = max(self.step_peak, rss)
            self.run_peak = max(self.run_peak, rss)

    def step(self) -> None:
        self.step_peak = self.proc.memory_info().rss

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


PEAK: Peak | None = None
ROWS: list[tuple[str, str, str, str]] = []  # (design, step, figure, peak MB)
VERDICTS: list[tuple[bool, str]] = []


@contextmanager
def step() -> Iterator[None]:
    assert PEAK is not None
    PEAK.step()
    yield


def record(design: str, name: str, figure: str) -> None:
    assert PEAK is not None
    ROWS.append((design, name, figure, f"{PEAK.step_peak / 2**20:,.0f}"))
    print(f"  {design:<28} {name:<44} {figure}", flush=True)


def verdict(ok: bool, text: str) -> None:
    VERDICTS.append((ok, text))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def batches(n: int, size: int, seed: int) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Synthetic leads, ``size`` at a time (each batch its own seed: ids never repeat)."""
    for i, start in enumerate(range(0, n, size)):
        yield synthetic_activities(min(size, n - start), activities=(20, 20), seed=seed + i)


def refreshed(leads: list[str], seed: int) -> dict[str, list[dict[str, Any]]]:
    """New activities for existing leads: another synthetic lead's, re-addressed."""
    fresh = synthetic_activities(len(leads), activities=(20, 20), seed=seed)
    out: dict[str, list[dict[str, Any]]] = {}
    for lead, acts in zip(leads, fresh.values(), strict=True):
        out[lead] = [{**a, "RelatedProspectId": lead} for a in acts]
    return out


def chunks(mapping: dict[str, Any], size: int) -> Iterator[dict[str, Any]]:
    keys = list(mapping)
    for start in range(0, len(keys), size):
        yield {k: mapping[k] for k in keys[start : start + size]}


def referenced(path: Path) -> set[str]:
    return {
        uri for table in ("activities", "raw") for uri in DeltaTable(str(path / table)).file_uris()
    }


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# ---------------------------------------------------------------------------- new store


def bench_delta(root: Path, args: argparse.Namespace) -> dict[str, float]:
    name = f"ActivityStore, {args.leads:,} leads"
    path = root / "delta"
    store = ActivityStore(path)
    leads: list[str] = []
    spent = 0.0
    with step():
        for batch in batches(args.leads, args.batch, args.seed):
            leads.extend(batch)
            took, _ = timed(lambda b=batch: store.write_leads(b))
            spent += took
        per_lead = spent / args.leads * 1000
        record(name, f"write, batches of {args.batch}", f"{spent:.1f} s, {per_lead:.2f} ms/lead")
    verdict(
        per_lead <= WRITE_MS_PER_LEAD,
        f"write as fetched (batches of {args.batch}) <= {WRITE_MS_PER_LEAD} ms per lead: "
        f"{per_lead:.2f} ms",
    )
    n_rows = args.leads * 20
    files = len(DeltaTable(str(path / "activities")).file_uris())

    def frame_all() -> float:
        times = []
        for _ in range(3):
            took, df = timed(lambda: ActivityStore(path).frame())
            assert df.height == n_rows, (df.height, n_rows)
            times.append(took)
            del df
        return statistics.median(times)

    with step():
        read = frame_all()
        record(name, f"frame() of {n_rows:,} rows ({files} files in activities)", f"{read:.2f} s")
    verdict(read <= FRAME_ALL_S, f"frame() of everything <= {FRAME_ALL_S} s: {read:.2f} s")

    rng = random.Random(args.seed)
    picks = rng.sample(leads, 20)

    def frame_one(on: ActivityStore) -> float:
        times = []
        for lead in picks:
            took, df = timed(lambda lead=lead: on.frame([lead]))
            assert df.height == 20
            times.append(took)
        return statistics.median(times) * 1000

    with step():
        one = frame_one(store)
        record(name, "frame([one lead]), median of 20", f"{one:.1f} ms")
    verdict(one <= FRAME_ONE_MS, f"frame([one lead]) <= {FRAME_ONE_MS:.0f} ms: {one:.1f} ms")

    before = referenced(path)
    n_again = max(1, args.leads // 100)
    totals: list[tuple[float, float]] = []
    with step():
        for round_ in range(REFRESH_ROUNDS):  # three rounds of 1%, each of other leads
            again = refreshed(rng.sample(leads, n_again), args.seed + 10_000_000 + round_)
            t_write = 0.0
            for part in chunks(again, args.batch):
                took, _ = timed(lambda p=part: store.write_leads(p))
                t_write += took
            t_read, df = timed(store.frame)
            totals.append((t_write, t_read))
            assert df.height == n_rows
            lead = next(iter(again))
            assert df.filter(pl.col("lead_id") == lead)["activity_id"].to_list() == [
                a["Id"] for a in again[lead]
            ]
        t_write, t_read = sorted(totals, key=sum)[len(totals) // 2]
        total = t_write + t_read
        each = ", ".join(f"{w + r:.2f}" for w, r in totals)
        record(
            name,
            f"refresh {n_again:,} leads (1%) + frame(), median of {REFRESH_ROUNDS}",
            f"{t_write:.2f} s + {t_read:.2f} s = {total:.2f} s ({total / read:.2f}x a read; "
            f"each: {each} s)",
        )
    lost = before - referenced(path)
    record(name, "data files rewritten by the refreshes", f"{len(lost)} of {len(before)}")
    verdict(
        total <= REFRESH_TOTAL_S,
        f"refresh 1% then frame() <= {REFRESH_TOTAL_S:.0f} s in all: {total:.2f} s",
    )
    verdict(
        t_read <= REFRESH_VS_READ * read,
        f"frame() after the refresh <= {REFRESH_VS_READ:.0f}x an unchanged read: "
        f"{t_read:.2f} s, {t_read / read:.2f}x",
    )
    verdict(
        total <= REFRESH_VS_READ * read,
        f"refresh and frame() together <= {REFRESH_VS_READ:.0f}x an unchanged read: "
        f"{total:.2f} s, {total / read:.2f}x",
    )
    verdict(not lost, f"a refresh rewrites no other lead's files: {len(lost)} rewritten")

    with step():
        t_opt, result = timed(store.optimize)
        record(
            name,
            "optimize()",
            f"{t_opt:.1f} s: {result.rows_dropped:,} rows dropped, {result.files_replaced} "
            f"files -> {result.files_written}",
        )
        t_after, after = timed(lambda: ActivityStore(path).frame())
        same = after.equals(df)
        record(name, "frame() after optimize()", f"{t_after:.2f} s, same frame: {same}")
        one_after = frame_one(ActivityStore(path))
        record(name, "frame([one lead]) after optimize()", f"{one_after:.1f} ms")
    verdict(same, "optimize() keeps frame() equal")
    record(name, "size on disk", f"{size_mb(path):,.0f} MB")
    return {"read": read, "one": one, "write_ms": per_lead}


# ---------------------------------------------------------------------------- baselines


def bench_old(root: Path, args: argparse.Namespace) -> None:
    n = args.old_leads
    name = f"V1Store, {n:,} leads"
    if n < args.leads:
        print(f"  (V1Store at {n:,} leads, not {args.leads:,}: it writes one file per lead)")
    store = V1Store(root / "old")
    leads: list[str] = []
    with step():
        spent = 0.0
        for batch in batches(n, args.batch, args.seed):
            leads.extend(batch)
            for lead, acts in batch.items():
                took, _ = timed(lambda lead=lead, acts=acts: store.write_lead(lead, acts))
                spent += took
        record(name, "write, one lead at a time", f"{spent:.1f} s, {spent / n * 1000:.2f} ms/lead")
    with step():
        first, _ = timed(lambda: V1Store(root / "old").frame())
        record(name, "first frame() (builds the cache)", f"{first:.2f} s")
        read, _ = timed(lambda: V1Store(root / "old").frame())
        record(name, "frame(), nothing changed", f"{read:.2f} s")
    rng = random.Random(args.seed)
    with step():
        picks = rng.sample(leads, 5)
        one = statistics.median(timed(lambda lead=lead: store.frame([lead]))[0] for lead in picks)
        record(name, "frame([one lead]), median of 5", f"{one * 1000:.1f} ms")
    again = refreshed(rng.sample(leads, max(1, n // 100)), args.seed + 10_000_000)
    with step():
        t_write = sum(timed(lambda x=x: store.write_lead(*x))[0] for x in again.items())
        t_read, _ = timed(store.frame)
        record(
            name,
            f"refresh {len(again):,} leads (1%) + frame()",
            f"{t_write:.2f} s + {t_read:.2f} s = {t_write + t_read:.2f} s",
        )


def bench_buckets(root: Path, args: argparse.Namespace) -> None:
    """The alternative: 64 lead-hash partitions, a refresh = delete the leads' rows + append."""
    n = args.alt_leads
    name = f"buckets + delete/append, {n:,}"
    path = str(root / "buckets")

    def expanded(batch: dict[str, list[dict[str, Any]]]) -> pl.DataFrame:
        keys = [lead for lead, acts in batch.items() for _ in acts]
        df = activities_frame(batch).with_columns(pl.Series("lead_id", keys))
        return df.with_columns(
            bucket=pl.col("lead_id").str.slice(0, 8).str.to_integer(base=16) % BUCKETS
        )

    leads: list[str] = []
    with step():
        spent = 0.0
        for batch in batches(n, args.batch, args.seed):
            leads.extend(batch)
            took, _ = timed(
                lambda b=batch: write_deltalake(
                    path,
                    expanded(b).to_arrow(compat_level=pl.CompatLevel.oldest()),
                    mode="append",
                    partition_by=["bucket"],
                    schema_mode="merge",
                )
            )
            spent += took
        files = len(DeltaTable(path).file_uris())
        figure = f"{spent:.1f} s, {spent / n * 1000:.2f} ms/lead, {files:,} files"
        record(name, f"write, batches of {args.batch}", figure)
    with step():
        read, _ = timed(lambda: pl.read_delta(path))
        record(name, "read everything", f"{read:.2f} s")
    rng = random.Random(args.seed)
    again = refreshed(rng.sample(leads, max(1, n // 100)), args.seed + 10_000_000)
    with step():
        t_write = 0.0
        copied = removed = 0
        for part in chunks(again, args.batch):
            new = expanded(part)
            buckets = ", ".join(str(b) for b in sorted(set(new["bucket"])))
            ids = ", ".join(f"'{lead}'" for lead in part)

            def refresh(new: pl.DataFrame = new, buckets: str = buckets, ids: str = ids) -> Any:
                dt = DeltaTable(path)
                metrics = dt.delete(f"bucket IN ({buckets}) AND lead_id IN ({ids})")
                write_deltalake(
                    path,
                    new.to_arrow(compat_level=pl.CompatLevel.oldest()),
                    mode="append",
                    partition_by=["bucket"],
                    schema_mode="merge",
                )
                return metrics

            took, metrics = timed(refresh)
            t_write += took
            copied += int(metrics.get("num_copied_rows", 0))
            removed += int(metrics.get("num_removed_files", 0))
        t_read, _ = timed(lambda: pl.read_delta(path))
        record(
            name,
            f"refresh {len(again):,} leads (1%) + read",
            f"{t_write:.2f} s + {t_read:.2f} s = {t_write + t_read:.2f} s",
        )
        record(
            name,
            "rows of other leads rewritten by the refresh",
            f"{copied:,} of {n * 20:,} ({removed} files replaced)",
        )


# ---------------------------------------------------------------------------- main


def main() -> None:
    global PEAK
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="leads per write (500)")
    parser.add_argument("--old-leads", type=int, default=None, help="V1Store size")
    parser.add_argument("--alt-leads", type=int, default=None, help="bucketed design size")
    parser.add_argument("--skip-old", action="store_true")
    parser.add_argument("--skip-alt", action="store_true")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", type=Path, default=None, help="write the stores here")
    args = parser.parse_args()
    args.old_leads = args.old_leads or min(args.leads, 5_000)
    args.alt_leads = args.alt_leads or min(args.leads, 20_000)
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_store_"))
    root.mkdir(parents=True, exist_ok=True)
    PEAK = Peak()
    load = os.getloadavg()
    print(
        f"bench_store: {args.leads:,} leads x 20 activities, batches of {args.batch}; "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} at the start; stores in {root}"
    )
    try:
        bench_delta(root, args)
        if not args.skip_old:
            bench_old(root, args)
        if not args.skip_alt:
            bench_buckets(root, args)
    finally:
        PEAK.stop()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print("| design | step | figure | peak RSS (MB) |")
    print("| --- | --- | --- | ---: |")
    for row in ROWS:
        print("| " + " | ".join(row) + " |")
    print()
    print(f"peak RSS of the run: {PEAK.run_peak / 2**20:,.0f} MB; load average at the end "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    for ok, text in VERDICTS:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")


if __name__ == "__main__":
    main()
