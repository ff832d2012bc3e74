"""analysis.py against a small hand-made frame whose answers were worked out by hand.

The frame (times UTC; rows listed newest first per lead, as the API sends them):

lead A  2025-03-03 (Mon) 09:00  23    Lead Capture        score 5   a1
        2025-03-03       09:10  0     Email Opened        score 1   a2
        2025-03-03       09:50  3011  "WhatsApp Message"  score 0   a3  (audit log, same Id)
        2025-03-03       09:50  222   WhatsApp Message    score 3   a3
        2025-03-05 (Wed) 10:00  12000 Payment Done        score 50  a5
lead B  2025-03-04 (Tue) 08:00  0     Email Opened        score 1   b1
        2025-03-04       09:00  23    Lead Capture        score 5   b2
        2025-03-10 (Mon) 09:00  0     Email Opened        score 1   b3
lead C  2025-03-06 (Thu) 23:50  2001  EmailSent           score 0   c1
        2025-03-07 (Fri) 00:10  0     Email Opened        score 1   c2

In frame order the 3011 row of lead A comes before its 222 twin (same time): ties keep the
frame's order, so A's sorted order is a1, a2, a3(3011), a3(222), a5.
"""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsq_analysis import analysis as an
from lsq_analysis.vocabulary import resolve_events

UTC = dt.timezone.utc


def t(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=UTC)


ROWS = [
    # lead, id, code, name, type, score, time
    ("A", "a5", 12000, "Payment Done", "Inbound", 50, t(5, 10)),
    ("A", "a3", 3011, "WhatsApp Message", "Logs", 0, t(3, 9, 50)),
    ("A", "a3", 222, "WhatsApp Message", "Inbound", 3, t(3, 9, 50)),
    ("A", "a2", 0, "Email Opened", "Inbound", 1, t(3, 9, 10)),
    ("A", "a1", 23, "Lead Capture", "Inbound", 5, t(3, 9)),
    ("B", "b3", 0, "Email Opened", "Inbound", 1, t(10, 9)),
    ("B", "b2", 23, "Lead Capture", "Inbound", 5, t(4, 9)),
    ("B", "b1", 0, "Email Opened", "Inbound", 1, t(4, 8)),
    ("C", "c2", 0, "Email Opened", "Inbound", 1, t(7, 0, 10)),
    ("C", "c1", 2001, "EmailSent", "Outbound", 0, t(6, 23, 50)),
]


def make_frame(rows: list[tuple] = ROWS) -> pl.DataFrame:
    """A frame with the expanded frame's core columns and a few expanded ones."""
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(7)]
    lead, ident, code, name, kind, score, when = columns
    n = len(rows)
    return pl.DataFrame(
        {
            "lead_id": lead,
            "activity_id": ident,
            "event_code": pl.Series(code, dtype=pl.Int32),
            "event_name": name,
            "activity_type": pl.Series(code, dtype=pl.Int32),
            "type": kind,
            "activity_score": pl.Series(score, dtype=pl.Int32),
            "created_on": pl.Series(when, dtype=pl.Datetime("us", "UTC")),
            "modified_on": pl.Series([None] * n, dtype=pl.Datetime("us", "UTC")),
            "is_email_type": [c == 2001 for c in code],
            "data.FullName": ["Asha Rao" if c in (0, 2001) else None for c in code],
            "fields.Status": ["Won" if c == 12000 else None for c in code],
        }
    )


@pytest.fixture(scope="module")
def df() -> pl.DataFrame:
    return make_frame()


def hours(h: float = 0, m: float = 0) -> float:
    return h + m / 60


# ---------------------------------------------------------------------------- labels, filters


def test_event_labels_use_codes_and_name_the_audit_log(df: pl.DataFrame) -> None:
    labels = dict(an.event_labels(df).iter_rows())
    assert labels == {
        0: "Email Opened",
        23: "Lead Capture",
        222: "WhatsApp Message",
        2001: "EmailSent",
        3011: "Audit log",
        12000: "Payment Done",
    }


def test_event_label_is_the_most_common_name_of_a_code() -> None:
    rows = [
        ("A", "x1", 5, "Old name", "Inbound", 0, t(1, 1)),
        ("A", "x2", 5, "New name", "Inbound", 0, t(1, 2)),
        ("A", "x3", 5, "New name", "Inbound", 0, t(1, 3)),
        ("A", "x4", 6, None, "Inbound", 0, t(1, 4)),
    ]
    assert dict(an.event_labels(make_frame(rows)).iter_rows()) == {5: "New name", 6: "Event 6"}


def test_event_labels_are_unique() -> None:
    rows = [
        ("A", "x1", 205, "Webinar", "Inbound", 0, t(1, 1)),
        ("A", "x2", 12000, "Webinar", "Inbound", 0, t(1, 2)),
        ("A", "x3", 3011, "Webinar", "Logs", 0, t(1, 3)),
    ]
    frame = make_frame(rows)
    labels = dict(an.event_labels(frame).iter_rows())
    assert labels == {205: "Webinar (205)", 12000: "Webinar (12000)", 3011: "Audit log"}
    assert resolve_events("Webinar", frame) == [205, 12000]
    assert resolve_events("webinar (12000)", frame) == [12000]


def test_event_names_select_codes_not_audit_log_twins(df: pl.DataFrame) -> None:
    assert resolve_events("WhatsApp Message", df) == [222]
    assert resolve_events(["audit log", "2001", 0], df) == [0, 2001, 3011]
    picked = an.filter_activities(df, events="WhatsApp Message")
    assert picked["event_code"].to_list() == [222]
    assert an.filter_activities(df, events="Logs")["event_code"].to_list() == [3011]
    assert sorted(an.filter_activities(df, events=[0])["activity_id"]) == ["a2", "b1", "b3", "c2"]


def test_unknown_event_name_lists_the_known_ones(df: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"no event type named 'Webinar'.*'Email Opened'"):
        an.filter_activities(df, events="Webinar")


def test_time_filters_start_inclusive_end_exclusive(df: pl.DataFrame) -> None:
    picked = an.filter_activities(df, start="2025-03-05", end=dt.date(2025, 3, 7))
    assert sorted(picked["activity_id"]) == ["a5", "c1"]
    # an aware bound is converted: 05:40 in Kolkata is 00:10 UTC, so c2 is kept from there
    late = an.filter_activities(df, start="2025-03-07T05:40:00+05:30")
    assert sorted(late["activity_id"]) == ["b3", "c2"]
    with pytest.raises(ValueError, match="not an ISO date"):
        an.filter_activities(df, start="yesterday")


def test_lead_filter_and_missing_columns(df: pl.DataFrame) -> None:
    assert an.filter_activities(df, leads="C").height == 2
    assert an.filter_activities(df, leads=["A", "C"]).height == 7
    with pytest.raises(ValueError, match=r"missing column\(s\) \['activity_score'\]"):
        an.score_by_event(df.drop("activity_score"))


# ---------------------------------------------------------------------------- scores


def test_score_over_time_per_activity(df: pl.DataFrame) -> None:
    out = an.score_over_time(df)
    assert out.columns == [
        "lead_id",
        "created_on",
        "event_code",
        "event",
        "activity_score",
        "cumulative_score",
    ]
    a = out.filter(pl.col("lead_id") == "A")
    assert a["event_code"].to_list() == [23, 0, 3011, 222, 12000]
    assert a["cumulative_score"].to_list() == [5, 6, 6, 9, 59]
    assert a["event"].to_list()[2] == "Audit log"
    assert out.filter(pl.col("lead_id") == "B")["cumulative_score"].to_list() == [1, 6, 7]
    assert out.filter(pl.col("lead_id") == "C")["cumulative_score"].to_list() == [0, 1]


def test_score_over_time_daily_buckets_follow_the_time_zone(df: pl.DataFrame) -> None:
    daily = an.score_over_time(df, every="1d")
    assert daily.select("lead_id", "n_activities", "score", "cumulative_score").rows() == [
        ("A", 4, 9, 9),
        ("A", 1, 50, 59),
        ("B", 2, 6, 6),
        ("B", 1, 1, 7),
        ("C", 1, 0, 0),
        ("C", 1, 1, 1),
    ]
    assert daily["created_on"][0] == t(3, 0)
    # in Kolkata (UTC+5:30) both of C's activities fall on 7 March
    kolkata = an.score_over_time(df, every="1d", tz="Asia/Kolkata", leads="C")
    assert kolkata.select("n_activities", "score", "cumulative_score").rows() == [(2, 1, 1)]
    assert str(kolkata["created_on"].dtype.time_zone) == "Asia/Kolkata"
    assert kolkata["created_on"][0].isoformat() == "2025-03-07T00:00:00+05:30"


def test_score_with_event_filter_counts_only_those_events(df: pl.DataFrame) -> None:
    out = an.score_over_time(df, events=["Lead Capture", "Payment Done"], leads="A")
    assert out["cumulative_score"].to_list() == [5, 55]


def test_score_by_event(df: pl.DataFrame) -> None:
    out = an.score_by_event(df)
    assert out.select("event_code", "event", "n_activities", "n_leads", "total_score").rows() == [
        (12000, "Payment Done", 1, 1, 50),
        (23, "Lead Capture", 2, 2, 10),
        (0, "Email Opened", 4, 3, 4),
        (222, "WhatsApp Message", 1, 1, 3),
        (2001, "EmailSent", 1, 1, 0),
        (3011, "Audit log", 1, 1, 0),
    ]
    assert out["mean_score"].to_list() == [50.0, 5.0, 1.0, 3.0, 0.0, 0.0]
    assert out["share_of_score"][0] == pytest.approx(50 / 67)
    assert out["share_of_score"].sum() == pytest.approx(1.0)


# ---------------------------------------------------------------------------- counts


def test_event_counts_default_keeps_audit_rows_apart(df: pl.DataFrame) -> None:
    out = an.event_counts(df)
    assert out.columns == ["lead_id", "event_code", "event_name", "n_activities"]
    assert out.rows() == [
        ("A", 0, "Email Opened", 1),
        ("A", 23, "Lead Capture", 1),
        ("A", 222, "WhatsApp Message", 1),
        ("A", 3011, "WhatsApp Message", 1),
        ("A", 12000, "Payment Done", 1),
        ("B", 0, "Email Opened", 2),
        ("B", 23, "Lead Capture", 1),
        ("C", 0, "Email Opened", 1),
        ("C", 2001, "EmailSent", 1),
    ]


def test_event_counts_by_label_and_week(df: pl.DataFrame) -> None:
    out = an.event_counts(df, by=["event"], every="1w")
    weekly = {(e, w.date().isoformat()): n for e, w, n in out.rows()}
    assert weekly == {
        ("Audit log", "2025-03-03"): 1,
        ("Email Opened", "2025-03-03"): 3,
        ("Email Opened", "2025-03-10"): 1,
        ("EmailSent", "2025-03-03"): 1,
        ("Lead Capture", "2025-03-03"): 2,
        ("Payment Done", "2025-03-03"): 1,
        ("WhatsApp Message", "2025-03-03"): 1,
    }
    with pytest.raises(ValueError, match="unknown column"):
        an.event_counts(df, by=["nope"])


# ---------------------------------------------------------------------------- leads


def test_lead_summary_numbers_and_engagement_order(df: pl.DataFrame) -> None:
    out = an.lead_summary(df)
    assert out["lead_id"].to_list() == ["A", "B", "C"]
    rows = {r["lead_id"]: r for r in out.iter_rows(named=True)}
    a, b, c = rows["A"], rows["B"], rows["C"]
    assert (a["first_activity"], a["last_activity"]) == (t(3, 9), t(5, 10))
    assert (a["n_activities"], a["n_event_types"], a["total_score"]) == (5, 5, 59)
    assert a["days_active"] == 2
    assert a["span_days"] == pytest.approx(2 + 1 / 24)
    assert (a["last_event_code"], a["last_event"]) == (12000, "Payment Done")
    # "now" defaults to the frame's latest activity: B's 10 March 09:00
    assert a["days_since_last"] == pytest.approx(4 + 23 / 24)
    assert (b["n_activities"], b["n_event_types"], b["total_score"]) == (3, 2, 7)
    assert b["days_since_last"] == 0.0
    assert b["last_event"] == "Email Opened"
    assert c["days_active"] == 2  # 6 and 7 March in UTC
    assert c["span_days"] == pytest.approx(20 / 1440)
    assert c["days_since_last"] == pytest.approx(3 + (8 + 50 / 60) / 24)


def test_lead_summary_now_and_time_zone(df: pl.DataFrame) -> None:
    out = an.lead_summary(df, now="2025-03-11T09:00:00Z", tz="Asia/Kolkata")
    rows = {r["lead_id"]: r for r in out.iter_rows(named=True)}
    assert rows["B"]["days_since_last"] == pytest.approx(1.0)
    assert rows["C"]["days_active"] == 1  # both on 7 March in Kolkata


# ---------------------------------------------------------------------------- sequences


def test_gaps_pairs_consecutive_activities(df: pl.DataFrame) -> None:
    out = an.gaps(df)
    assert out.height == 7  # (5 - 1) + (3 - 1) + (2 - 1)
    assert out.select("lead_id", "from_event_code", "to_event_code").rows() == [
        ("A", 23, 0),
        ("A", 0, 3011),
        ("A", 3011, 222),
        ("A", 222, 12000),
        ("B", 0, 23),
        ("B", 23, 0),
        ("C", 2001, 0),
    ]
    assert out["gap_hours"].to_list() == pytest.approx(
        [hours(0, 10), hours(0, 40), 0.0, 48 + 10 / 60, 1.0, 144.0, hours(0, 20)]
    )
    assert out["gap"][0] == dt.timedelta(minutes=10)
    assert out.row(1, named=True)["to_event"] == "Audit log"


def test_transitions_counts_shares_and_medians(df: pl.DataFrame) -> None:
    out = an.transitions(df)
    first = out.row(0, named=True)
    assert (first["from_event"], first["to_event"], first["n_transitions"], first["n_leads"]) == (
        "Lead Capture",
        "Email Opened",
        2,
        2,
    )
    assert first["median_gap_hours"] == pytest.approx((10 / 60 + 144) / 2)
    assert first["share"] == 1.0
    pairs = {(r[0], r[2]): r[4] for r in out.rows()}
    assert pairs == {
        (23, 0): 2,
        (0, 3011): 1,
        (3011, 222): 1,
        (222, 12000): 1,
        (0, 23): 1,
        (2001, 0): 1,
    }
    from_opened = out.filter(pl.col("from_event_code") == 0)
    assert from_opened["share"].to_list() == [0.5, 0.5]
    # with an event filter, the skipped events disappear from the sequence
    only = an.transitions(df, events=["Lead Capture", "Payment Done"])
    assert only.select("from_event_code", "to_event_code", "n_transitions").rows() == [
        (23, 12000, 1)
    ]


def test_sessions_split_on_pauses_longer_than_gap(df: pl.DataFrame) -> None:
    out = an.sessions(df, gap="30m")
    assert out.select("lead_id", "session", "n_activities", "total_score").rows() == [
        ("A", 1, 2, 6),
        ("A", 2, 2, 3),
        ("A", 3, 1, 50),
        ("B", 1, 1, 1),
        ("B", 2, 1, 5),
        ("B", 3, 1, 1),
        ("C", 1, 2, 1),
    ]
    a2 = out.row(1, named=True)
    assert (a2["first_event"], a2["last_event"], a2["duration_minutes"]) == (
        "Audit log",
        "WhatsApp Message",
        0.0,
    )
    assert out.row(6, named=True)["start"] == t(6, 23, 50)
    assert out.row(6, named=True)["duration"] == dt.timedelta(minutes=20)
    # a pause of exactly the gap (B: 08:00 -> 09:00) stays in the session
    hourly = an.sessions(df, gap=dt.timedelta(hours=1))
    assert hourly.select("lead_id", "n_activities").rows() == [
        ("A", 4),
        ("A", 1),
        ("B", 2),
        ("B", 1),
        ("C", 2),
    ]
    with pytest.raises(ValueError, match="not a duration"):
        an.sessions(df, gap="half an hour")


# ---------------------------------------------------------------------------- funnels


def test_funnel_worked_by_hand(df: pl.DataFrame) -> None:
    out = an.funnel(df, ["Lead Capture", "Email Opened", "Payment Done"])
    assert out["event"].to_list() == ["Lead Capture", "Email Opened", "Payment Done"]
    assert out["event_codes"].to_list() == [[23], [0], [12000]]
    # A: 09:00 -> 09:10 -> 5 March 10:00; B: 4 March 09:00 -> 10 March 09:00 (b1 was before);
    # C never had Lead Capture.
    assert out["n_leads"].to_list() == [2, 2, 1]
    assert out["conversion_from_previous"].to_list() == [1.0, 1.0, 0.5]
    assert out["conversion_from_first"].to_list() == [1.0, 1.0, 0.5]
    assert out["median_time_from_previous"][0] is None
    assert out["median_hours_from_previous"].to_list()[1:] == pytest.approx(
        [(10 / 60 + 144) / 2, 48 + 50 / 60]
    )
    assert out["median_hours_from_first"][2] == pytest.approx(49.0)


def test_funnel_within_a_window(df: pl.DataFrame) -> None:
    out = an.funnel(df, [23, 0, 12000], within="1d")
    # A: opened after 10 min, paid after 49 h (> 1 day); B: opened after 6 days
    assert out["n_leads"].to_list() == [2, 1, 0]
    assert out["conversion_from_previous"].to_list() == [1.0, 0.5, 0.0]
    assert out["median_hours_from_previous"][1] == pytest.approx(10 / 60)
    assert out["median_hours_from_previous"][2] is None


def test_funnel_with_window_tries_every_start() -> None:
    rows = [
        ("D", "d1", 23, "Lead Capture", "Inbound", 5, t(1, 9)),
        ("D", "d2", 23, "Lead Capture", "Inbound", 5, t(10, 9)),
        ("D", "d3", 0, "Email Opened", "Inbound", 1, t(10, 10)),
    ]
    frame = make_frame(rows)
    windowed = an.funnel(frame, ["Lead Capture", "Email Opened"], within="1d")
    assert windowed["n_leads"].to_list() == [1, 1]
    assert windowed["median_hours_from_previous"][1] == pytest.approx(1.0)
    unbounded = an.funnel(frame, ["Lead Capture", "Email Opened"])
    assert unbounded["median_hours_from_previous"][1] == pytest.approx(9 * 24 + 1)


def test_funnel_repeated_step_needs_a_second_occurrence(df: pl.DataFrame) -> None:
    out = an.funnel(df, ["Email Opened", "Email Opened"])
    assert out["n_leads"].to_list() == [3, 1]  # only B opened twice
    assert out["event"].to_list() == ["Email Opened", "Email Opened"]


def test_funnel_step_can_be_a_list_and_nobody_can_reach_it(df: pl.DataFrame) -> None:
    out = an.funnel(df, [[23, 2001], "Email Opened"])
    assert out["event"][0] == "Lead Capture / EmailSent"
    assert out["n_leads"].to_list() == [3, 3]
    empty = an.funnel(df, ["Lead Capture", "Email Opened"], leads="nobody")
    assert empty["n_leads"].to_list() == [0, 0]
    assert empty["conversion_from_first"].to_list() == [None, None]
    with pytest.raises(ValueError, match="non-empty list"):
        an.funnel(df, [])


def test_time_to_event(df: pl.DataFrame) -> None:
    out = an.time_to_event(df, "Lead Capture", "Email Opened")
    assert out["lead_id"].to_list() == ["A", "B"]  # C never had Lead Capture
    assert out["hours"].to_list() == pytest.approx([10 / 60, 144.0])
    assert out["start_time"].to_list() == [t(3, 9), t(4, 9)]
    never = an.time_to_event(df, "Lead Capture", "Payment Done")
    assert never.filter(pl.col("lead_id") == "B")["end_time"].to_list() == [None]
    with pytest.raises(ValueError, match="takes its events positionally"):
        an.time_to_event(df, 23, 0, start="Lead Capture")


# ---------------------------------------------------------------------------- heatmap


def test_activity_heatmap_data_in_utc_and_kolkata(df: pl.DataFrame) -> None:
    utc = an.activity_heatmap(df)
    assert utc.height == 168 and utc["n_activities"].sum() == 10
    cells = {(d, h): n for d, _, h, n in utc.rows() if n}
    assert cells == {(1, 9): 5, (3, 10): 1, (2, 8): 1, (2, 9): 1, (4, 23): 1, (5, 0): 1}
    assert utc.row(0) == (1, "Mon", 0, 0)
    ist = an.activity_heatmap(df, tz="Asia/Kolkata")
    cells = {(d, h): n for d, _, h, n in ist.rows() if n}
    assert cells == {(1, 14): 3, (1, 15): 2, (3, 15): 1, (2, 13): 1, (2, 14): 1, (5, 5): 2}
    with pytest.raises(ValueError, match="IANA time zone"):
        an.activity_heatmap(df, tz="Mars/Olympus")


# ---------------------------------------------------------------------------- edges


def test_every_function_accepts_a_filter_that_keeps_nothing(df: pl.DataFrame) -> None:
    none = {"leads": "nobody"}
    assert an.score_over_time(df, **none).height == 0
    assert an.score_over_time(df, every="1d", **none).height == 0
    assert an.score_by_event(df, **none).height == 0
    assert an.event_counts(df, **none).height == 0
    assert an.lead_summary(df, **none).height == 0
    assert an.gaps(df, **none).height == 0
    assert an.transitions(df, **none).height == 0
    assert an.sessions(df, **none).height == 0
    assert an.time_to_event(df, 23, 0, **none).height == 0
    assert an.activity_heatmap(df, **none)["n_activities"].sum() == 0


def test_sample_smoke() -> None:
    samples = pytest.importorskip("lsq_analysis.samples")
    try:
        sample = samples.load_sample()
    except (AttributeError, ImportError, ModuleNotFoundError) as error:
        pytest.skip(f"load_sample not available yet: {error}")
    summary = an.lead_summary(sample)
    assert summary.height == sample["lead_id"].n_unique()
    assert summary["n_activities"].sum() == sample.height
    assert an.score_by_event(sample)["n_activities"].sum() == sample.height
    assert an.activity_heatmap(sample)["n_activities"].sum() == sample.height
    assert an.gaps(sample).height == sample.height - summary.height
    labels = dict(an.event_labels(sample).iter_rows())
    if an.LOG_EVENT_CODE in labels:
        assert labels[an.LOG_EVENT_CODE] == an.LOG_EVENT_LABEL
    assert an.sessions(sample)["n_activities"].sum() == sample.height


def test_docstring_examples_run() -> None:
    import doctest
    import importlib

    pytest.importorskip("lsq_analysis.frames")
    attempted = 0
    names = ("", ".prepare", ".scores", ".counts", ".sequences", ".funnels", ".touches",
             ".stages", ".cohort_conversion", ".next_events", ".owners")  # fmt: skip
    for name in names:
        module = importlib.import_module(f"lsq_analysis.analysis{name}")
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted >= 30


# ---------------------------------------------------------------------------- against brute force

CODES = [0, 23, 222, 12000]
NAMES = {0: "Email Opened", 23: "Lead Capture", 222: "WhatsApp Message", 12000: "Payment Done"}
random_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(CODES),
        st.integers(0, 20),  # hours after 1 March; repeats make ties
    ),
    max_size=25,
)


def frame_of(rows: list[tuple[str, int, int]]) -> pl.DataFrame:
    return make_frame(
        [
            (lead, f"x{i}", code, NAMES[code], "Inbound", 1, t(1, 0) + dt.timedelta(hours=h))
            for i, (lead, code, h) in enumerate(rows)
        ]
    )


def brute_funnel(rows, steps, within):
    """Per lead: the path reaching furthest (earliest start on a tie), as lists of hours."""
    best = {}
    for lead in sorted({r[0] for r in rows}):
        mine = sorted(
            ((h, i, code) for i, (ld, code, h) in enumerate(rows) if ld == lead),
        )
        paths = []
        for k, (h0, _, code0) in enumerate(mine):
            if code0 != steps[0]:
                continue
            path, at = [h0], k
            for step in steps[1:]:
                nxt = next(
                    (j for j in range(at + 1, len(mine)) if mine[j][2] == step),
                    None,
                )
                if nxt is None or (within is not None and mine[nxt][0] - h0 > within):
                    break
                path.append(mine[nxt][0])
                at = nxt
            paths.append(path)
            if within is None:
                break  # the first start is the one counted without a window
        if paths:
            best[lead] = max(paths, key=len)  # max() keeps the first (earliest) on a tie
    return best


@settings(max_examples=60, deadline=None)
@given(
    rows=random_rows,
    steps=st.lists(st.sampled_from(CODES), min_size=1, max_size=3),
    within=st.sampled_from([None, 0, 3, 10]),
)
def test_funnel_matches_brute_force(rows, steps, within) -> None:
    out = an.funnel(
        frame_of(rows), steps, within=None if within is None else dt.timedelta(hours=within)
    )
    paths = brute_funnel(rows, steps, within)
    expected = [sum(len(p) >= k for p in paths.values()) for k in range(1, len(steps) + 1)]
    assert out["n_leads"].to_list() == expected
    for k in range(2, len(steps) + 1):
        waits = [p[k - 1] - p[k - 2] for p in paths.values() if len(p) >= k]
        got = out["median_hours_from_previous"][k - 1]
        if waits:
            assert got == pytest.approx(float(pl.Series(waits).median()))
        else:
            assert got is None


@settings(max_examples=40, deadline=None)
@given(rows=random_rows, gap=st.integers(0, 5))
def test_sessions_and_gaps_match_brute_force(rows, gap) -> None:
    frame = frame_of(rows)
    out = an.sessions(frame, gap=dt.timedelta(hours=gap))
    expected = []
    for lead in sorted({r[0] for r in rows}):
        hours_ = sorted(h for ld, _, h in rows if ld == lead)
        sizes = [1]
        for before, after in itertools.pairwise(hours_):
            if after - before > gap:
                sizes.append(1)
            else:
                sizes[-1] += 1
        expected += [(lead, n) for n in sizes]
    assert out.select("lead_id", "n_activities").rows() == expected
    assert an.gaps(frame).height == len(rows) - len({r[0] for r in rows})
    assert an.transitions(frame)["n_transitions"].sum() == an.gaps(frame).height
