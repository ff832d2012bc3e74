"""Funnels an analyst can act on (issue 15, item 4): ``funnel(within=)``, ``funnel_leads`` and
``time_to_event_chart``, against a small hand-made frame whose answers were worked out by hand.

The frame (times UTC, March 2025; steps 23 Lead Capture -> 0 Email Opened -> 205 Demo
Scheduled -> 12000 Payment Received):

lead A  (Ads)   1st 09:00 Lead Capture · 1st 10:00 Email Opened · 3rd 09:00 Demo Scheduled ·
                20th 09:00 Payment Received (19 days after its capture)
lead B  (Ads)   2nd 09:00 Lead Capture · 12th 09:00 Email Opened (exactly 10 days after)
lead C  (Web)   4th 09:00 Lead Capture · 4th 12:00 Email Opened
lead D  (Web)   5th 09:00 Email Opened only (never captured)
lead E  (none)  6th 09:00 Lead Capture only

Waits from Lead Capture to Email Opened: A 1 h, C 3 h, B 240 h; E never.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import lsq_analysis as lsq
from lsq_analysis.analysis.funnels import funnel, funnel_leads, step_labels
from lsq_analysis.charts.flows import funnel_chart, time_to_event_chart

UTC = dt.timezone.utc
NAMES = {23: "Lead Capture", 0: "Email Opened", 205: "Demo Scheduled", 12000: "Payment Received"}
STEPS = ["Lead Capture", "Email Opened", "Demo Scheduled", "Payment Received"]
SOURCE = {"A": "Ads", "B": "Ads", "C": "Web", "D": "Web", "E": None}


def t(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=UTC)


ROWS = [
    # lead, code, time; newest first per lead, as the API sends them
    ("A", 12000, t(20)),
    ("A", 205, t(3)),
    ("A", 0, t(1, 10)),
    ("A", 23, t(1)),
    ("B", 0, t(12)),
    ("B", 23, t(2)),
    ("C", 0, t(4, 12)),
    ("C", 23, t(4)),
    ("D", 0, t(5)),
    ("E", 23, t(6)),
]


def make_frame(rows: list[tuple[str, int, dt.datetime]] = ROWS) -> pl.DataFrame:
    """The expanded frame's core columns, plus a ``lead.source`` as ``with_leads`` adds it."""
    return pl.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "activity_id": [f"{r[0]}{i}" for i, r in enumerate(rows)],
            "event_code": pl.Series([r[1] for r in rows], dtype=pl.Int32),
            "event_name": [NAMES[r[1]] for r in rows],
            "type": ["Inbound"] * len(rows),
            "activity_score": pl.Series([1] * len(rows), dtype=pl.Int32),
            "created_on": pl.Series([r[2] for r in rows], dtype=pl.Datetime("us", "UTC")),
            "lead.source": [SOURCE[r[0]] for r in rows],
        }
    )


@pytest.fixture(scope="module")
def df() -> pl.DataFrame:
    return make_frame()


# ---------------------------------------------------------------------------- funnel within


def test_within_drops_the_steps_reached_too_late(df: pl.DataFrame) -> None:
    # no limit: A, B, C, E captured; A, B, C opened; only A booked a demo and paid
    assert funnel(df, STEPS)["n_leads"].to_list() == [4, 3, 1, 1]
    # within 7 days: B opened 10 days after its capture, A paid 19 days after its capture
    windowed = funnel(df, STEPS, within="7d")
    assert windowed["n_leads"].to_list() == [4, 2, 1, 0]
    assert windowed["conversion_from_previous"].to_list() == [1.0, 0.5, 0.5, 0.0]
    # the median wait to the opening is over A (1 h) and C (3 h) only
    assert windowed["median_hours_from_previous"][1] == pytest.approx(2.0)
    assert windowed["median_hours_from_previous"][3] is None


def test_within_takes_a_timedelta_and_keeps_a_step_on_the_limit(df: pl.DataFrame) -> None:
    as_text = funnel(df, STEPS, within="7d")
    assert_frame_equal(funnel(df, STEPS, within=dt.timedelta(days=7)), as_text)
    # B opened exactly 10 days after its capture: "10d" keeps it, 10 days less a minute not
    assert funnel(df, STEPS, within="10d")["n_leads"].to_list()[:2] == [4, 3]
    assert funnel(df, STEPS, within="9d23h59m")["n_leads"].to_list()[:2] == [4, 2]


def test_within_with_segments_adds_up(df: pl.DataFrame) -> None:
    per = funnel(df, STEPS, within="7d", by="lead.source")
    # Ads: A and B captured, only A opened in time; Web: C; no source: E
    assert per.filter(pl.col("step") == 2).select("lead.source", "n_leads").rows() == [
        ("Ads", 1),
        ("Web", 1),
        (None, 0),
    ]
    assert per.group_by("step").agg(pl.col("n_leads").sum()).sort("step")["n_leads"].to_list() == [
        4,
        2,
        1,
        0,
    ]


@pytest.mark.parametrize(
    ("within", "message"),
    [
        (dt.timedelta(days=-1), "negative"),
        ("1 week", "not a duration"),
        ("1mo", "not a duration"),
        (7, "not a duration"),
    ],
)
def test_within_errors_say_what_to_give(df: pl.DataFrame, within: object, message: str) -> None:
    for run in (funnel, lambda f, s, within: funnel_leads(f, s, step=2, within=within)):
        with pytest.raises(ValueError, match=message):
            run(df, STEPS, within=within)  # type: ignore[operator]


def test_funnel_chart_within(df: pl.DataFrame) -> None:
    fig = funnel_chart(df, STEPS, within="7d")
    assert list(fig.data[0].x) == [4, 2, 1, 0]
    assert "within 7d" in fig.layout.title.text
    lazy = funnel_chart(df.lazy(), STEPS, within="7d")
    assert list(lazy.data[0].x) == [4, 2, 1, 0]


# ---------------------------------------------------------------------------- funnel_leads


def test_dropped_leads_by_name_and_by_number(df: pl.DataFrame) -> None:
    lost = funnel_leads(df, STEPS, step="Email Opened", within="7d")
    # B opened too late (10 days), E never opened; D was never captured
    assert lost.columns == [
        "lead_id",
        "first_step_at",
        "previous_step_at",
        "step_at",
        "last_step",
        "last_event",
        "last_step_at",
    ]
    assert lost.rows() == [
        ("B", t(2), t(2), None, 1, "Lead Capture", t(2)),
        ("E", t(6), t(6), None, 1, "Lead Capture", t(6)),
    ]
    assert_frame_equal(funnel_leads(df, STEPS, step=2, within="7d"), lost)
    assert_frame_equal(funnel_leads(df, STEPS, step="email opened", within="7d"), lost)
    # without a limit only E dropped out there
    assert funnel_leads(df, STEPS, step=2)["lead_id"].to_list() == ["E"]
    # before the demo: B and C opened and stopped
    demo = funnel_leads(df, STEPS, step="Demo Scheduled")
    assert demo.select("lead_id", "previous_step_at", "last_step_at").rows() == [
        ("B", t(12), t(12)),
        ("C", t(4, 12), t(4, 12)),
    ]
    assert demo["last_event"].to_list() == ["Email Opened", "Email Opened"]


def test_a_late_last_step_makes_a_dropped_lead(df: pl.DataFrame) -> None:
    # A booked its demo 2 days in but paid 19 days in: within 7 days it stopped at the demo
    late = funnel_leads(df, STEPS, step=4, within="7d")
    assert late.rows() == [("A", t(1), t(3), None, 3, "Demo Scheduled", t(3))]
    assert funnel_leads(df, STEPS, step=4).height == 0


def test_reached_leads(df: pl.DataFrame) -> None:
    opened = funnel_leads(df, STEPS, step="Email Opened", dropped=False)
    assert opened.rows() == [
        ("A", t(1), t(1), t(1, 10), 4, "Payment Received", t(20)),
        ("B", t(2), t(2), t(12), 2, "Email Opened", t(12)),
        ("C", t(4), t(4), t(4, 12), 2, "Email Opened", t(4, 12)),
    ]
    # the first step: every captured lead, with no step before it
    captured = funnel_leads(df, STEPS, step=1, dropped=False)
    assert captured["lead_id"].to_list() == ["A", "B", "C", "E"]
    assert captured["previous_step_at"].to_list() == [None] * 4
    assert captured["step_at"].to_list() == [t(1), t(2), t(4), t(6)]


def test_funnel_leads_match_the_funnel_counts(df: pl.DataFrame) -> None:
    for within in (None, "7d"):
        counts = funnel(df, STEPS, within=within)["n_leads"].to_list()
        for k in range(1, len(STEPS) + 1):
            reached = funnel_leads(df, STEPS, step=k, dropped=False, within=within)
            assert reached.height == counts[k - 1]
            if k > 1:
                lost = funnel_leads(df, STEPS, step=k, within=within)
                assert lost.height == counts[k - 2] - counts[k - 1]


def test_funnel_leads_with_segments_and_code_steps(df: pl.DataFrame) -> None:
    out = funnel_leads(df, [23, 0, [205, 12000]], step=3, by="lead.source")
    assert out.columns[:3] == ["lead_id", "lead.source", "first_step_at"]
    assert out.select("lead_id", "lead.source", "last_event").rows() == [
        ("B", "Ads", "Email Opened"),
        ("C", "Web", "Email Opened"),
    ]
    # a step of several events is named by its label
    assert step_labels(df, [23, 0, [205, 12000]])[2] == "Demo Scheduled / Payment Received"
    assert_frame_equal(
        funnel_leads(df, [23, 0, [205, 12000]], step="Demo Scheduled / Payment Received"),
        funnel_leads(df, [23, 0, [205, 12000]], step=3),
    )


@pytest.mark.parametrize(
    ("step", "dropped", "message"),
    [
        (1, True, "is the first step"),
        ("Lead Capture", True, "is the first step"),
        (0, True, "not a step of this funnel"),
        (5, False, "not a step of this funnel"),
        ("Webinar Attended", True, "not a step of this funnel"),
        ("", True, "not a step of this funnel"),
        (True, True, "not a step"),
        ([2], True, "not a step"),
    ],
)
def test_funnel_leads_errors(df: pl.DataFrame, step: object, dropped: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        funnel_leads(df, STEPS, step=step, dropped=dropped)  # type: ignore[arg-type]
    if "first step" not in message:
        assert "1 'Lead Capture'" in str(error.value)  # the steps are listed


def test_funnel_leads_repeated_step_needs_a_number(df: pl.DataFrame) -> None:
    steps = ["Lead Capture", "Email Opened", "Email Opened"]
    with pytest.raises(ValueError, match=r"names steps \[2, 3\]"):
        funnel_leads(df, steps, step="Email Opened")
    # A, B and C each opened once after their capture: all stopped before a second opening
    assert funnel_leads(df, steps, step=3)["lead_id"].to_list() == ["A", "B", "C"]


@pytest.mark.parametrize(
    "run",
    [
        lambda f: funnel(f, STEPS, within="7d", by="lead.source"),
        lambda f: funnel_leads(f, STEPS, step="Email Opened", within="7d"),
        lambda f: funnel_leads(f, STEPS, step=2, dropped=False, by="lead.source"),
        lambda f: funnel_leads(f, STEPS, step=3, leads=["A", "B"], start="2025-03-02"),
    ],
)
def test_lazy_frames_give_the_same_answer(df: pl.DataFrame, run) -> None:
    assert_frame_equal(run(df.lazy()), run(df))


# ---------------------------------------------------------------------------- the chart


def test_time_to_event_chart_marks_median_and_p90(df: pl.DataFrame) -> None:
    fig = time_to_event_chart(df, "Lead Capture", "Email Opened", unit="hours")
    (trace,) = fig.data
    assert trace.type == "histogram"
    assert sorted(trace.x) == pytest.approx([1.0, 3.0, 240.0])
    # waits 1, 3, 240 h: median 3 h; p90 at rank 0.9 * 2 = 1.8: 3 + 0.8 * (240 - 3) = 192.6 h
    median, p90 = fig.layout.shapes
    assert (median.x0, median.x1) == pytest.approx((3.0, 3.0))
    assert (p90.x0, p90.x1) == pytest.approx((192.6, 192.6))
    assert (median.yref, median.y0, median.y1) == ("paper", 0, 1)
    assert median.name == "median (3.0 h)" and p90.name == "p90 (192.6 h)"
    assert median.showlegend and p90.showlegend
    assert median.line.dash != p90.line.dash
    assert trace.meta == {"median": pytest.approx(3.0), "p90": pytest.approx(192.6)}
    labels = {a.name: a.text for a in fig.layout.annotations}
    assert labels["median"] == "median (3.0 h)" and labels["p90"] == "p90 (192.6 h)"
    assert labels["note"] == "3 of 4 leads with Lead Capture went on to Email Opened"
    assert fig.layout.meta == {"unit": "hours", "n_started": 4, "n_reached": 3}
    assert fig.layout.xaxis.title.text == "Hours from Lead Capture to Email Opened"
    assert fig.layout.yaxis.title.text == "Leads"


def test_time_to_event_chart_picks_a_unit(df: pl.DataFrame) -> None:
    # the p90 is 192.6 h, over 3 days: days
    fig = time_to_event_chart(df, 23, 0)
    assert fig.layout.meta["unit"] == "days"
    assert [s.x0 for s in fig.layout.shapes] == pytest.approx([3 / 24, 192.6 / 24])
    assert [s.name for s in fig.layout.shapes] == ["median (0.1 days)", "p90 (8.0 days)"]
    # A and C only (1 h and 3 h): p90 2.8 h, hours; A alone (1 h): minutes
    assert time_to_event_chart(df, 23, 0, leads=["A", "C"]).layout.meta["unit"] == "hours"
    alone = time_to_event_chart(df, 23, 0, leads="A")
    assert alone.layout.meta["unit"] == "minutes"
    assert [s.x0 for s in alone.layout.shapes] == pytest.approx([60.0, 60.0])
    assert alone.layout.shapes[0].name == "median (60 min)"


def test_time_to_event_chart_one_trace_per_segment(df: pl.DataFrame) -> None:
    fig = time_to_event_chart(df, "Lead Capture", "Email Opened", by="lead.source", unit="hours")
    # Ads: A 1 h, B 240 h (median 120.5, p90 1 + 0.9 * 239 = 216.1); Web: C 3 h; E never opened
    assert [trace.name for trace in fig.data] == ["Ads", "Web"]
    assert [trace.meta["segment"] for trace in fig.data] == [
        {"lead.source": "Ads"},
        {"lead.source": "Web"},
    ]
    assert [s.name for s in fig.layout.shapes] == [
        "Ads: median (120.5 h)",
        "Ads: p90 (216.1 h)",
        "Web: median (3.0 h)",
        "Web: p90 (3.0 h)",
    ]
    assert [s.x0 for s in fig.layout.shapes] == pytest.approx([120.5, 216.1, 3.0, 3.0])
    assert [s.legendgroup for s in fig.layout.shapes] == ["Ads", "Ads", "Web", "Web"]
    # each segment's lines take its histogram's colour; the bars share their bins
    assert fig.layout.shapes[0].line.color == fig.data[0].marker.color
    assert fig.data[0].xbins.size == fig.data[1].xbins.size
    assert fig.layout.barmode == "overlay"
    assert fig.layout.legend.title.text == "lead.source"


def test_time_to_event_chart_lazy_empty_and_errors(df: pl.DataFrame) -> None:
    eager = time_to_event_chart(df, 23, 0, by="lead.source")
    lazy = time_to_event_chart(df.lazy(), 23, 0, by="lead.source")
    assert [s.x0 for s in lazy.layout.shapes] == [s.x0 for s in eager.layout.shapes]
    empty = time_to_event_chart(df, "Lead Capture", "Payment Received", leads=["B", "C"])
    assert empty.data == () and empty.layout.meta["n_reached"] == 0
    texts = [a.text for a in empty.layout.annotations]
    assert texts == [
        "No lead went on to Payment Received",
        "0 of 2 leads with Lead Capture went on to Payment Received",
    ]
    with pytest.raises(ValueError, match="not a unit"):
        time_to_event_chart(df, 23, 0, unit="weeks")
    with pytest.raises(ValueError, match="bins"):
        time_to_event_chart(df, 23, 0, bins=0)
    with pytest.raises(ValueError, match="with_leads"):
        time_to_event_chart(df, 23, 0, by="lead.owner_name")


# ---------------------------------------------------------------------------- synthetic data

SYNTHETIC_STEPS = [23, 0, 203, 222]


@settings(max_examples=15, deadline=None)
@given(
    n_leads=st.integers(0, 25),
    most=st.integers(0, 60),
    seed=st.integers(0, 10_000),
    within=st.sampled_from([None, "1h", "3d", "30d"]),
    k=st.integers(2, 4),
)
def test_synthetic_accounts_never_crash(
    n_leads: int, most: int, seed: int, within: str | None, k: int
) -> None:
    df = lsq.activities_frame(lsq.synthetic_activities(n_leads, activities=(0, most), seed=seed))
    if df.height == 0:
        return
    counts = funnel(df, SYNTHETIC_STEPS, within=within)
    for share in ("conversion_from_previous", "conversion_from_first"):
        assert counts[share].drop_nulls().is_between(0, 1).all()
    n = counts["n_leads"].to_list()
    lost = funnel_leads(df, SYNTHETIC_STEPS, step=k, within=within)
    reached = funnel_leads(df, SYNTHETIC_STEPS, step=k, dropped=False, within=within)
    assert lost.height == n[k - 2] - n[k - 1] and reached.height == n[k - 1]
    assert (lost["last_step"] == k - 1).all() and (reached["last_step"] >= k).all()
    assert set(lost["lead_id"]).isdisjoint(reached["lead_id"])
    fig = time_to_event_chart(df, 23, 0)
    for trace in fig.data:
        assert trace.meta["median"] <= trace.meta["p90"]
