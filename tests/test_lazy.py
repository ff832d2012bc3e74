"""Every analysis, selection and view takes a LazyFrame and answers as for the DataFrame.

Issue #13 (data bigger than memory): a Delta table's ``pl.scan_delta(...)`` is passed where
a DataFrame was. Each public function whose first argument is the activity frame is run
here on the bundled sample, eager and lazy (``df.lazy()`` and a Parquet scan), and the
answers must be equal. A PerformanceWarning is an error: resolving a LazyFrame's schema
through ``.columns`` or ``.schema`` would read its metadata again on every call.

The last tests scan the sample through an IO source that records the columns each read
asks for, with a 10 kB column added: the analyses never read it, nor the whole frame.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.io.plugins import register_io_source
from polars.testing import assert_frame_equal

import lsq_analysis as lsq
from lsq_analysis.vocabulary import Frame

SAMPLE = lsq.load_sample()
LEAD = SAMPLE["lead_id"][0]
OTHER = SAMPLE["lead_id"][-1]
TYPES = lsq.sample_activity_types()
BIG = "data.big"

Call = Callable[[Frame], Any]
SOURCES = lsq.leads_frame(  # three segments for by=; the other leads have no source (null)
    [
        {"ProspectID": lead, "Source": source}
        for lead, source in zip(
            SAMPLE["lead_id"].unique(maintain_order=True)[:3],
            ["Google Ads", "Facebook", "Website"],
            strict=True,
        )
    ]
)


def sourced(f: Frame) -> Frame:
    """The frame with ``lead.source`` joined (lazy stays lazy), for the by= cases."""
    return lsq.with_leads(f, SOURCES, columns=["source"])


# (function, label, call): every public function taking the frame, with its options
CASES: list[tuple[str, str, Call]] = [
    ("event_counts", "default", lambda f: lsq.event_counts(f)),
    (
        "event_counts",
        "labels weekly in a zone",
        lambda f: lsq.event_counts(f, by=["event"], every="1w", tz="Asia/Kolkata"),
    ),
    (
        "event_counts",
        "filtered",
        lambda f: lsq.event_counts(
            f, by="lead_id", events=["Email Opened", 3011], start="2025-03-01", end="2025-05-01"
        ),
    ),
    (
        "with_leads",
        "two attributes",
        lambda f: pl.LazyFrame.collect(  # lazy in, lazy out: a join to read on from
            lsq.with_leads(
                f.lazy(),
                lsq.leads_frame([{"ProspectID": LEAD, "Source": "Google Ads"}]),
                columns=["source"],
            )
        ),
    ),
    (
        "event_counts",
        "by a lead attribute",
        lambda f: lsq.event_counts(sourced(f), by=["lead.source", "event"], every="1mo"),
    ),
    ("lead_summary", "default", lambda f: lsq.lead_summary(f)),
    ("lead_summary", "by a column", lambda f: lsq.lead_summary(f, by="data.CurrentStage")),
    (
        "lead_summary",
        "by a lead attribute",
        lambda f: lsq.lead_summary(sourced(f), by=["lead.source", "type"], start="2025-02-01"),
    ),
    ("lead_summary", "now", lambda f: lsq.lead_summary(f, now="2025-07-01", tz="Asia/Kolkata")),
    (
        "lead_summary",
        "filtered",
        lambda f: lsq.lead_summary(f, leads=[LEAD, OTHER], events="Email Opened"),
    ),
    ("lead_summary", "from a date", lambda f: lsq.lead_summary(f, start="2025-03-01")),
    ("score_over_time", "default", lambda f: lsq.score_over_time(f)),
    (
        "score_over_time",
        "daily",
        lambda f: lsq.score_over_time(f, every="1d", tz="Asia/Kolkata", events=[0, 205]),
    ),
    ("score_over_time", "by a column", lambda f: lsq.score_over_time(f, by="type")),
    (
        "score_over_time",
        "weekly by a lead attribute",
        lambda f: lsq.score_over_time(sourced(f), every="1w", by="lead.source", tz="Asia/Kolkata"),
    ),
    ("score_by_event", "default", lambda f: lsq.score_by_event(f)),
    ("score_by_event", "window", lambda f: lsq.score_by_event(f, end="2025-04-01")),
    ("activity_heatmap", "zone", lambda f: lsq.activity_heatmap(f, tz="Asia/Kolkata")),
    ("gaps", "default", lambda f: lsq.gaps(f)),
    ("gaps", "events", lambda f: lsq.gaps(f, events=["WhatsApp Message", "Phone Call"])),
    ("transitions", "default", lambda f: lsq.transitions(f)),
    ("transitions", "leads", lambda f: lsq.transitions(f, leads=[LEAD, OTHER])),
    ("sessions", "1h", lambda f: lsq.sessions(f, gap="1h")),
    ("sessions", "filtered", lambda f: lsq.sessions(f, events="Email Opened", start="2025-02-01")),
    ("funnel", "names", lambda f: lsq.funnel(f, ["Lead Capture", "Email Opened"], within="30d")),
    (
        "funnel",
        "codes and lists",
        lambda f: lsq.funnel(f, [23, [0, "Email Link Clicked"], 205], events=[23, 0, 1, 205]),
    ),
    (
        "funnel",
        "by a column",
        lambda f: lsq.funnel(f, ["Lead Capture", "Email Opened"], by="type", leads=[LEAD, OTHER]),
    ),
    (
        "funnel",
        "by a lead attribute",
        lambda f: lsq.funnel(sourced(f), [23, 0, 205], within="30d", by="lead.source"),
    ),
    ("time_to_event", "names", lambda f: lsq.time_to_event(f, "Lead Capture", "Email Opened")),
    (
        "time_to_event",
        "by a lead attribute",
        lambda f: lsq.time_to_event(sourced(f), 23, 0, by=["lead.source", "data.CurrentStage"]),
    ),
    (
        "time_to_event",
        "filtered",
        lambda f: lsq.time_to_event(f, 23, "Payment Received", start="2025-02-01"),
    ),
    ("select_activities", "default", lambda f: lsq.select_activities(f)),
    (
        "select_activities",
        "filtered",
        lambda f: lsq.select_activities(f, leads=LEAD, events=["Email Opened", "Audit log"]),
    ),
    ("filter_activities", "default", lambda f: lsq.filter_activities(f, start="2025-03-01")),
    ("filter_activities", "events", lambda f: lsq.filter_activities(f, events="Logs")),
    ("activity_table", "default", lambda f: lsq.activity_table(f)),
    ("activity_table", "all rows", lambda f: lsq.activity_table(f, max_rows=None)),
    ("lead_index", "default", lambda f: lsq.lead_index(f)),
    ("match_leads", "activity frame", lambda f: lsq.match_leads(f, LEAD[:6])),
    ("match_leads", "blank", lambda f: lsq.match_leads(f, limit=7)),
    ("event_type_counts", "default", lambda f: lsq.event_type_counts(f)),
    ("date_bounds", "default", lambda f: lsq.date_bounds(f)),
    ("event_labels", "default", lambda f: lsq.event_labels(f)),
    ("event_view", "code", lambda f: lsq.event_view(f, 205)),
    ("event_view", "name and catalog", lambda f: lsq.event_view(f, "Payment Received", TYPES)),
    ("event_view", "audit log", lambda f: lsq.event_view(f, "Logs")),
    ("event_view", "no rows", lambda f: lsq.event_view(f, 999)),
    ("fields_long", "default", lambda f: lsq.fields_long(f)),
    ("change_log", "default", lambda f: lsq.change_log(f)),
    ("first_touch", "default", lambda f: lsq.first_touch(f)),
    (
        "speed_to_lead",
        "office hours by a lead attribute",
        lambda f: lsq.speed_to_lead(
            sourced(f),
            by="lead.source",
            business_hours=("09:00", "18:00", "Mon-Sat", "Asia/Kolkata"),
        ),
    ),
    ("stage_durations", "as of", lambda f: lsq.stage_durations(f, as_of="2025-05-01")),
    ("stage_velocity", "by a column", lambda f: lsq.stage_velocity(f, by="type")),
    ("stuck_leads", "14d", lambda f: lsq.stuck_leads(f, stuck_after="14d")),
    (
        "cohorts",
        "weekly by a lead attribute",
        lambda f: lsq.cohorts(
            sourced(f), event="Payment Received", start_event=23, every="1w", by="lead.source"
        ),
    ),
    ("paths", "from the capture", lambda f: lsq.paths(f, start="Lead Capture", steps=3, top=4)),
    ("owner_activity", "weekly", lambda f: lsq.owner_activity(f, every="1w")),
    (
        "funnel_leads",
        "dropped within",
        lambda f: lsq.funnel_leads(f, [23, 0, 205], step=3, within="60d"),
    ),
    (
        "funnel_leads",
        "reached",
        lambda f: lsq.funnel_leads(f, [23, "Demo Scheduled"], step=2, dropped=False),
    ),
]

# functions of these layers taking the frame first that are no analysis or view of it
NOT_VIEWS = {"drop_duplicate_activities"}  # builds the frame from fetched pages


def assert_same(eager: object, lazy: object) -> None:
    if isinstance(eager, pl.DataFrame):
        assert isinstance(lazy, pl.DataFrame), type(lazy)
        assert_frame_equal(lazy, eager)
    else:
        assert lazy == eager


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lazy") / "sample.parquet"
    SAMPLE.write_parquet(path)
    return path


@pytest.fixture(params=["lazy", "parquet"])
def lazy_sample(request: pytest.FixtureRequest, parquet: Path) -> pl.LazyFrame:
    return SAMPLE.lazy() if request.param == "lazy" else pl.scan_parquet(parquet)


@pytest.fixture
def no_schema_resolution() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", pl.exceptions.PerformanceWarning)
        yield


def test_every_public_function_taking_the_frame_is_checked() -> None:
    layers = ("lsq_analysis.analysis", "lsq_analysis.frames", "lsq_analysis.vocabulary")
    taking_frame = set()
    for name in lsq.__all__:
        obj = getattr(lsq, name)
        module = inspect.getmodule(obj)
        if not inspect.isfunction(obj) or module is None or not module.__name__.startswith(layers):
            continue
        first = next(iter(inspect.signature(obj).parameters), None)
        if first in ("df", "index"):
            taking_frame.add(name)
    assert taking_frame - NOT_VIEWS == {function for function, _, _ in CASES}


@pytest.mark.parametrize(
    ("function", "label", "call"), CASES, ids=[f"{f}-{x}" for f, x, _ in CASES]
)
@pytest.mark.usefixtures("no_schema_resolution")
def test_lazy_frame_gives_the_dataframe_answer(
    function: str, label: str, call: Call, lazy_sample: pl.LazyFrame
) -> None:
    assert_same(call(SAMPLE), call(lazy_sample))


@pytest.mark.usefixtures("no_schema_resolution")
def test_match_leads_takes_a_lazy_index() -> None:
    index = lsq.lead_index(SAMPLE)
    for query in ("", LEAD[:8].upper(), "example", "nobody at all"):
        assert_same(
            lsq.match_leads(index, query, limit=5), lsq.match_leads(index.lazy(), query, limit=5)
        )
        assert_same(lsq.match_leads(index, query), lsq.match_leads(index.lazy(), query))


@pytest.mark.usefixtures("no_schema_resolution")
def test_empty_lazy_frames() -> None:
    empty = SAMPLE.clear()
    assert lsq.date_bounds(empty.lazy()) == lsq.date_bounds(empty) == (None, None)
    for call in (lsq.lead_summary, lsq.event_counts, lsq.fields_long, lsq.change_log):
        assert_same(call(empty), call(empty.lazy()))
    assert_same(lsq.event_view(empty, 205), lsq.event_view(empty.lazy(), 205))
    assert_same(lsq.activity_table(empty), lsq.activity_table(empty.lazy()))


# --------------------------------------------------------------------------- pushdown


def recorded_scan(df: pl.DataFrame) -> tuple[pl.LazyFrame, list[list[str] | None]]:
    """A LazyFrame over ``df`` whose reads record the columns asked for (None: all)."""
    reads: list[list[str] | None] = []

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        reads.append(with_columns)
        out = df if predicate is None else df.filter(predicate)
        out = out if with_columns is None else out.select(with_columns)
        yield out if n_rows is None else out.head(n_rows)

    return register_io_source(source, schema=df.schema), reads


WIDE = SAMPLE.with_columns(pl.lit("x" * 10_000).alias(BIG))

# the calls whose answer needs no expanded column: they must never read the 10 kB one
NARROW = [
    case
    for case in CASES
    if case[0]
    not in {
        "select_activities",
        "filter_activities",
        "activity_table",
        "event_view",
        "fields_long",
        "with_leads",
    }
]


@pytest.mark.parametrize(
    ("function", "label", "call"), NARROW, ids=[f"{f}-{x}" for f, x, _ in NARROW]
)
@pytest.mark.usefixtures("no_schema_resolution")
def test_only_the_columns_used_are_read(function: str, label: str, call: Call) -> None:
    lazy, reads = recorded_scan(WIDE)
    assert_same(call(WIDE), call(lazy))
    assert reads, "the frame was never read"
    assert None not in reads, f"{function} read every column"
    assert all(r is not None and BIG not in r for r in reads), f"{function} read {BIG}"


@pytest.mark.usefixtures("no_schema_resolution")
def test_lead_summary_and_event_counts_read_few_columns() -> None:
    lazy, reads = recorded_scan(WIDE)
    lsq.lead_summary(lazy)
    lsq.event_counts(lazy)
    wanted = {"lead_id", "created_on", "event_code", "event_name", "activity_score"}
    assert reads and all(r is not None and set(r) <= wanted for r in reads), reads
    # lead_summary: the labels and the answer (the default `now` costs no read of its own);
    # event_counts by lead and event: the answer only
    assert len(reads) == 3


@pytest.mark.usefixtures("no_schema_resolution")
def test_views_collect_only_the_columns_they_show() -> None:
    lazy, reads = recorded_scan(WIDE)
    view = lsq.event_view(lazy, 205)
    assert reads[-1] is not None and set(reads[-1]) == set(view.columns)
    assert len(view.columns) < len(WIDE.columns) / 2
    reads.clear()
    log = lsq.change_log(lazy)
    assert log.height and reads[-1] is not None and BIG not in reads[-1]
    decoded = {"event_code", "lead_id", "activity_id", "event_name", "created_on"}
    assert set(reads[-1]) <= decoded | {"data.OldData", "data.NewData", "data.EventTime"}
    reads.clear()
    lsq.fields_long(lazy)
    shown = {"lead_id", "activity_id", "event_code"}
    assert reads and all(
        r is not None and all(c in shown or c.startswith(("data.", "fields.")) for c in r)
        for r in reads
    ), reads
