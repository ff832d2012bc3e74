"""Segments everywhere (issue #14, item 4): ``by=`` on the analyses and the charts over them.

Each analysis is run with ``by=`` a plain column of the activity frame and a ``lead.``
attribute joined by ``with_leads``: eager and lazy agree, the segments add up to the
unsegmented answer, null segments are kept, and a missing column is a clear ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import lsq_analysis as lsq
from lsq_analysis.charts.style import NO_SEGMENT_COLOR, NO_VALUE, segment_colors

SAMPLE = lsq.load_sample()
IDS = sorted(SAMPLE["lead_id"].unique().to_list())
SOURCES = ("Google Ads", "Facebook", "Website")
# 20 of the 25 leads get a source (3 segments); the other 5 are the null segment
LEADS = lsq.leads_frame(
    [
        {
            "ProspectID": lead.upper(),
            "Source": SOURCES[i % 3],
            "ProspectStage": "Prospect" if i % 2 else "Customer",
        }
        for i, lead in enumerate(IDS[:20])
    ]
)
WITH_LEADS = lsq.with_leads(SAMPLE, LEADS)
STEPS = ["Lead Capture", "Email Opened", "Payment Received"]


def source_of(lead: str) -> str | None:
    return SOURCES[IDS.index(lead) % 3] if IDS.index(lead) < 20 else None


Run = Callable[[pl.DataFrame | pl.LazyFrame], pl.DataFrame]

RUNS: list[tuple[str, Run]] = [
    ("event_counts source", lambda f: lsq.event_counts(f, by=["lead.source", "event"])),
    ("event_counts type", lambda f: lsq.event_counts(f, by="type", every="1mo")),
    ("lead_summary source", lambda f: lsq.lead_summary(f, by="lead.source")),
    ("lead_summary two", lambda f: lsq.lead_summary(f, by=["lead.source", "data.CurrentStage"])),
    ("score_over_time source", lambda f: lsq.score_over_time(f, by="lead.source")),
    ("score_over_time weekly", lambda f: lsq.score_over_time(f, every="1w", by="type")),
    ("funnel source", lambda f: lsq.funnel(f, STEPS, by="lead.source")),
    ("funnel within", lambda f: lsq.funnel(f, STEPS, "30d", by=["lead.stage", "lead.source"])),
    ("funnel type", lambda f: lsq.funnel(f, STEPS, by="type", events=[23, 0, 12002, 205])),
    ("time_to_event source", lambda f: lsq.time_to_event(f, 23, 0, by="lead.source")),
    ("time_to_event type", lambda f: lsq.time_to_event(f, 23, "Payment Received", by="type")),
]


@pytest.mark.parametrize(("label", "run"), RUNS, ids=[label for label, _ in RUNS])
def test_eager_and_lazy_agree(label: str, run: Run, tmp_path: Any) -> None:
    eager = run(WITH_LEADS)
    assert eager.height
    assert_frame_equal(run(WITH_LEADS.lazy()), eager)
    path = tmp_path / "sample.parquet"
    SAMPLE.write_parquet(path)
    assert_frame_equal(run(lsq.with_leads(pl.scan_parquet(path), LEADS)), eager)


# ---------------------------------------------------------------------------- event_counts


def test_event_counts_by_a_lead_attribute_keeps_the_null_segment() -> None:
    counts = lsq.event_counts(WITH_LEADS, by="lead.source")
    assert counts["lead.source"].to_list() == [*sorted(SOURCES), None]
    assert counts["n_activities"].sum() == SAMPLE.height
    expected = SAMPLE.group_by(pl.col("lead_id").map_elements(source_of, pl.Utf8)).len()
    assert dict(expected.rows()) == dict(counts.rows())


# ---------------------------------------------------------------------------- lead_summary


def test_lead_summary_adds_the_segment_after_lead_id() -> None:
    plain = lsq.lead_summary(WITH_LEADS)
    both = lsq.lead_summary(WITH_LEADS, by=["lead.source", "lead.stage"])
    assert both.columns[:3] == ["lead_id", "lead.source", "lead.stage"]
    assert_frame_equal(both.drop("lead.source", "lead.stage"), plain)  # rows unchanged
    assert {lead: source for lead, source in both.select("lead_id", "lead.source").rows()} == {
        lead: source_of(lead) for lead in IDS
    }
    assert both["lead.source"].null_count() == 5


def test_lead_summary_takes_the_latest_non_null_value() -> None:
    summary = lsq.lead_summary(SAMPLE, by="data.CurrentStage")
    expected = (
        SAMPLE.filter(pl.col("data.CurrentStage").is_not_null())
        .sort("created_on", maintain_order=True)
        .group_by("lead_id")
        .agg(pl.col("data.CurrentStage").last())
    )
    got = dict(summary.select("lead_id", "data.CurrentStage").rows())
    assert dict(expected.rows()) == {k: v for k, v in got.items() if v is not None}
    assert sum(v is None for v in got.values()) == summary.height - expected.height


# ---------------------------------------------------------------------------- score_over_time


def test_score_over_time_per_segment_adds_up_to_the_total() -> None:
    plain = lsq.score_over_time(WITH_LEADS, every="1w")
    per = lsq.score_over_time(WITH_LEADS, every="1w", by="lead.source")
    assert per.columns == [
        "lead.source",
        "created_on",
        "n_leads",
        "n_activities",
        "score",
        "cumulative_score",
    ]
    assert per["lead.source"].unique(maintain_order=True).to_list() == [*sorted(SOURCES), None]
    weekly = (
        plain.group_by("created_on").agg(pl.col("score", "n_activities").sum()).sort("created_on")
    )
    summed = per.group_by("created_on").agg(pl.col("score", "n_activities").sum())
    summed = summed.sort("created_on")
    assert_frame_equal(summed, weekly)
    final = per.group_by("lead.source").agg(pl.col("cumulative_score").last())
    totals = lsq.lead_summary(WITH_LEADS, by="lead.source").group_by("lead.source")
    assert dict(final.rows()) == dict(totals.agg(pl.col("total_score").sum()).rows())


def test_score_over_time_per_activity_runs_per_segment() -> None:
    per = lsq.score_over_time(WITH_LEADS, by="lead.source")
    assert per.columns[:3] == ["lead.source", "lead_id", "created_on"]
    assert per.height == SAMPLE.height
    assert (
        per["lead.source"].null_count() == SAMPLE.filter(pl.col("lead_id").is_in(IDS[20:])).height
    )
    for part in per.partition_by("lead.source"):
        assert part["created_on"].is_sorted()
        assert part["cumulative_score"].to_list() == part["activity_score"].cum_sum().to_list()


def test_score_over_time_by_lead_id_is_the_per_lead_answer() -> None:
    plain = lsq.score_over_time(SAMPLE, every="1d")
    by_lead = lsq.score_over_time(SAMPLE, every="1d", by="lead_id")
    assert_frame_equal(by_lead.drop("n_leads"), plain.sort("lead_id", "created_on"))
    per_activity = lsq.score_over_time(SAMPLE, by="lead_id")
    assert_frame_equal(per_activity, lsq.score_over_time(SAMPLE))


# ---------------------------------------------------------------------------- funnel


@pytest.mark.parametrize("within", [None, "30d"])
def test_funnel_segments_add_up_to_the_overall_funnel(within: str | None) -> None:
    plain = lsq.funnel(WITH_LEADS, STEPS, within)
    per = lsq.funnel(WITH_LEADS, STEPS, within, by="lead.source")
    assert per.columns == ["lead.source", *plain.columns]
    assert per.height == 4 * len(STEPS)
    assert per["lead.source"].unique(maintain_order=True).to_list() == [*sorted(SOURCES), None]
    summed = per.group_by("step").agg(pl.col("n_leads").sum()).sort("step")
    assert summed["n_leads"].to_list() == plain["n_leads"].to_list()
    for part in per.partition_by("lead.source"):
        assert part["step"].to_list() == [1, 2, 3]
        assert part["event"].to_list() == plain["event"].to_list()
        n = part["n_leads"].to_list()
        assert part["conversion_from_first"].to_list() == pytest.approx([k / n[0] for k in n])


def test_funnel_per_segment_is_the_funnel_of_its_leads() -> None:
    per = lsq.funnel(WITH_LEADS, STEPS, by="lead.source")
    for source in (*SOURCES, None):
        mine = [lead for lead in IDS if source_of(lead) == source]
        alone = lsq.funnel(SAMPLE, STEPS, leads=mine)
        part = per.filter(pl.col("lead.source").eq_missing(source)).drop("lead.source")
        assert_frame_equal(part, alone)


def unsubscribed_or_not() -> pl.DataFrame:
    """The sample with ``lead.stage`` "Never" for the leads that never unsubscribed (code 8)."""
    unsubscribed = set(SAMPLE.filter(pl.col("event_code") == 8)["lead_id"])
    stages = [
        {"ProspectID": lead, "ProspectStage": "Left" if lead in unsubscribed else "Never"}
        for lead in IDS
    ]
    return lsq.with_leads(SAMPLE, lsq.leads_frame(stages))


def test_funnel_lists_a_segment_that_never_did_step_one() -> None:
    per = lsq.funnel(unsubscribed_or_not(), [8, 0], by="lead.stage")
    assert per["lead.stage"].to_list() == ["Left", "Left", "Never", "Never"]
    assert per["n_leads"].to_list()[2:] == [0, 0]
    assert per["conversion_from_first"].to_list()[2:] == [None, None]


# ---------------------------------------------------------------------------- time_to_event


def test_time_to_event_carries_each_leads_segment() -> None:
    plain = lsq.time_to_event(WITH_LEADS, "Lead Capture", "Email Opened")
    per = lsq.time_to_event(WITH_LEADS, "Lead Capture", "Email Opened", by="lead.source")
    assert per.columns == ["lead_id", "lead.source", *plain.columns[1:]]
    assert_frame_equal(per.drop("lead.source"), plain)
    assert [source_of(lead) for lead in per["lead_id"]] == per["lead.source"].to_list()
    assert per["lead.source"].null_count() == 5


# ---------------------------------------------------------------------------- errors


CALLS: list[tuple[str, Callable[[str], object]]] = [
    ("event_counts", lambda by: lsq.event_counts(SAMPLE, by=by)),
    ("lead_summary", lambda by: lsq.lead_summary(SAMPLE, by=by)),
    ("score_over_time", lambda by: lsq.score_over_time(SAMPLE, by=by)),
    ("funnel", lambda by: lsq.funnel(SAMPLE, STEPS, by=by)),
    ("time_to_event", lambda by: lsq.time_to_event(SAMPLE, 23, 0, by=by)),
    ("funnel_chart", lambda by: lsq.funnel_chart(SAMPLE, STEPS, by=by)),
    ("score_chart", lambda by: lsq.score_chart(SAMPLE, by=by)),
    ("event_mix", lambda by: lsq.event_mix(SAMPLE, by=by)),
]


@pytest.mark.parametrize(("function", "call"), CALLS, ids=[f for f, _ in CALLS])
def test_a_missing_by_column_is_named(function: str, call: Callable[[str], object]) -> None:
    with pytest.raises(ValueError, match=r"lead\.source.*with_leads") as error:
        call("lead.source")
    assert str(error.value).startswith(f"{function}()")
    with pytest.raises(ValueError, match="no_such_column") as error:
        call("no_such_column")
    assert "with_leads" not in str(error.value)


def test_a_by_column_may_not_be_an_output_column() -> None:
    with pytest.raises(ValueError, match=r"lead_id.*output"):
        lsq.lead_summary(SAMPLE, by="lead_id")
    with pytest.raises(ValueError, match=r"created_on.*output"):
        lsq.score_over_time(SAMPLE, by="created_on")
    with pytest.raises(ValueError, match="kind='cumulative'"):
        lsq.score_chart(SAMPLE, kind="by_event", by="type")


def test_by_none_or_empty_is_the_unsegmented_answer() -> None:
    assert_frame_equal(lsq.funnel(SAMPLE, STEPS, by=[]), lsq.funnel(SAMPLE, STEPS))
    assert_frame_equal(lsq.lead_summary(SAMPLE, by=None), lsq.lead_summary(SAMPLE))


def test_a_filter_that_keeps_nothing() -> None:
    none = {"leads": "nobody"}
    assert lsq.lead_summary(WITH_LEADS, by="lead.source", **none).height == 0
    assert lsq.score_over_time(WITH_LEADS, by="lead.source", **none).height == 0
    assert lsq.score_over_time(WITH_LEADS, every="1d", by="lead.source", **none).height == 0
    assert lsq.funnel(WITH_LEADS, STEPS, by="lead.source", **none).height == 0
    assert lsq.time_to_event(WITH_LEADS, 23, 0, by="lead.source", **none).height == 0
    assert lsq.funnel_chart(WITH_LEADS, STEPS, by="lead.source", **none).data == ()
    assert lsq.score_chart(WITH_LEADS, by="lead.source", **none).data == ()


# ---------------------------------------------------------------------------- charts


def test_segment_colors_are_fixed_per_frame_and_grey_for_no_value() -> None:
    colors = segment_colors(WITH_LEADS, "lead.source")
    assert list(colors) == [*sorted(SOURCES), NO_VALUE]
    assert colors[NO_VALUE] == NO_SEGMENT_COLOR
    assert len(set(colors.values())) == 4
    assert segment_colors(WITH_LEADS, "lead.source", {"Website": "#000"})["Website"] == "#000"


def test_funnel_chart_one_trace_per_segment() -> None:
    fig = lsq.funnel_chart(WITH_LEADS, STEPS, by="lead.source")
    data = lsq.funnel(WITH_LEADS, STEPS, by="lead.source")
    colors = segment_colors(WITH_LEADS, "lead.source")
    assert [t.type for t in fig.data] == ["funnel"] * 4
    assert [t.name for t in fig.data] == [*sorted(SOURCES), NO_VALUE]
    for trace, part in zip(fig.data, data.partition_by("lead.source"), strict=True):
        assert list(trace.x) == part["n_leads"].to_list()
        assert list(trace.y) == ["1. Lead Capture", "2. Email Opened", "3. Payment Received"]
        assert trace.marker.color == colors[trace.name]
        assert trace.meta == {"segment": {"lead.source": part["lead.source"][0]}}
    assert fig.layout.legend.title.text == "lead.source"
    # a filtered figure keeps each segment's colour
    google = lsq.funnel_chart(WITH_LEADS, STEPS, by="lead.source", leads=IDS[:3])
    assert {t.name: t.marker.color for t in google.data} == {
        source: colors[source] for source in SOURCES
    }


def test_funnel_chart_leaves_out_segments_without_step_one() -> None:
    fig = lsq.funnel_chart(unsubscribed_or_not(), [8, 0], by="lead.stage")
    assert [t.name for t in fig.data] == ["Left"]


def test_score_chart_one_line_per_segment() -> None:
    fig = lsq.score_chart(WITH_LEADS, by="lead.source")
    colors = segment_colors(WITH_LEADS, "lead.source")
    totals = dict(
        lsq.lead_summary(WITH_LEADS, by="lead.source")
        .group_by("lead.source")
        .agg(pl.col("total_score").sum())
        .rows()
    )
    ranked = sorted(totals, key=lambda s: -totals[s])
    assert [t.name for t in fig.data] == [NO_VALUE if s is None else s for s in ranked]
    for trace in fig.data:
        source = trace.meta["segment"]["lead.source"]
        assert trace.y[-1] == totals[source]
        assert trace.line.color == colors[trace.name]
    assert fig.layout.legend.title.text == "lead.source"
    top = lsq.score_chart(WITH_LEADS, by="lead.source", limit=2)
    assert len(top.data) == 2 and "segments" in top.layout.title.text
    auto = lsq.score_chart(WITH_LEADS, by="lead.source", max_points=200)
    assert "resampled per" in auto.layout.title.text
    assert sum(len(t.x) for t in auto.data) <= 200
    weekly = lsq.score_chart(WITH_LEADS, by="lead.source", every="1w")
    assert "per week" in weekly.layout.title.text
    assert [t.y[-1] for t in weekly.data] == [t.y[-1] for t in fig.data]


def test_event_mix_one_facet_per_segment() -> None:
    fig = lsq.event_mix(WITH_LEADS, by="lead.source")
    assert [a.text for a in fig.layout.annotations] == [*sorted(SOURCES), NO_VALUE]
    assert sum(sum(t.x) for t in fig.data) == SAMPLE.height
    colors = lsq.event_colors(WITH_LEADS)
    assert all(t.marker.color == colors[t.name] for t in fig.data)
    assert all("event_code" in t.meta for t in fig.data)
    weekly = lsq.event_mix(WITH_LEADS, every="1mo", by="lead.source")
    assert weekly.layout.barmode == "stack"
    assert sum(sum(t.y) for t in weekly.data) == SAMPLE.height
    assert weekly.layout.yaxis.title.text == "Activities"
