"""Speed to lead (analysis/touches.py), stage velocity (analysis/stages.py) and their charts
(charts/sales.py), on small hand-made frames whose answers were worked out by hand.

Touch frame (times UTC; 2025-03-03 is a Monday):

lead A  03-03 08:00  Phone Call    Outbound  Rahul Verma   before the capture: no touch
        03-03 09:00  Lead Capture  Inbound   System        captured
        03-03 09:02  EmailSent     Outbound  System        by System: no touch
        03-03 09:03  3011 "Phone Call" Logs                audit-log row: no touch
        03-03 09:04  Email Opened  Inbound                 not a touch
        03-03 09:05  Phone Call    Outbound  Priya Raman   first touch: 5 minutes
        03-03 09:30  Phone Call    Outbound  Priya Raman
lead B  03-03 10:00  Lead Capture
        03-03 10:00  Phone Call    Outbound  Rahul Verma   same time as the capture: no touch
        03-03 10:45  Missed CALL   Inbound   (nobody)      name contains "call": 45 minutes
lead C  03-04 12:00  Lead Capture
        03-04 13:00  Phone Call    Outbound  " system "    System in another case: no touch
        03-04 14:00  Email Opened                          -> never touched
lead D  03-04 09:00  Phone Call    Outbound  Rahul Verma   no capture: not a captured lead
lead E  03-05 09:00  Lead Capture                          the first capture counts
        03-05 12:00  Demo Scheduled Outbound Anjali Nair   tie at 12:00, earlier in the frame:
        03-05 12:00  Phone Call    Outbound  Rahul Verma   first touch 180 minutes, Demo
        03-06 09:00  Lead Capture                          a second capture changes nothing

lead.source (a lead's latest non-null value): A Ads, B Ads (its last row has none), C none,
E Referral (Web on its first rows, Referral on the later ones).

Stage frame (UTC; as_of defaults to the latest activity, 03-20 00:00):

lead P  03-01 00:00  Lead Capture                 first activity: Prospect entered
        03-02 00:00  Prospect -> Contacted        Prospect 1 day
        03-05 00:00  Contacted -> Qualified       Contacted 3 days
        03-06 00:00  Qualified -> Contacted       Qualified 1 day; Contacted re-entered
        03-07 00:00  Contacted -> Contacted       no move
        03-11 00:00  Email Opened                 Contacted still: 14 days to as_of
lead Q  03-01, 03-03 Email Opened                 no stage change
lead R  03-04 12:00  Prospect -> Contacted        first activity: Prospect 0 days;
        03-20 00:00  Email Opened                 Contacted still: 15.5 days
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import lsq_analysis as lsq
from lsq_analysis.analysis.stages import stage_durations, stage_velocity, stuck_leads
from lsq_analysis.analysis.touches import (
    business_hours,
    business_minutes,
    first_touch,
    speed_to_lead,
)
from lsq_analysis.charts.sales import speed_to_lead_chart, stage_velocity_chart

UTC = dt.timezone.utc
IST = ZoneInfo("Asia/Kolkata")
HOURS = ("09:00", "18:00", "Mon-Sat", "Asia/Kolkata")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def u(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def ist(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=IST).astimezone(UTC)


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """The expanded frame's core columns plus the given ``data.``/``lead.`` ones."""
    columns = ["data.CreatedByName", "data.PreviousStage", "data.CurrentStage", "lead.source"]
    extra = [c for c in columns if any(c in row for row in rows)]
    extra += sorted({k for row in rows for k in row if k.startswith("lead.")} - set(extra))
    return pl.DataFrame(
        {
            "lead_id": [r["lead"] for r in rows],
            "activity_id": [f"x{i}" for i in range(len(rows))],
            "event_code": pl.Series([r["code"] for r in rows], dtype=pl.Int32),
            "event_name": [r["name"] for r in rows],
            "activity_type": pl.Series([r["code"] for r in rows], dtype=pl.Int32),
            "type": [r.get("type", "Inbound") for r in rows],
            "activity_score": pl.Series([0] * len(rows), dtype=pl.Int32),
            "created_on": pl.Series([r["at"] for r in rows], dtype=pl.Datetime("us", "UTC")),
            **{c: pl.Series([r.get(c) for r in rows], dtype=pl.Utf8) for c in extra},
        }
    )


def row(lead: str, code: int, name: str, at: dt.datetime, **more: object) -> dict[str, object]:
    kind = {203: "Outbound", 204: "Outbound", 2001: "Outbound", 3011: "Logs"}.get(code, "Inbound")
    return {"lead": lead, "code": code, "name": name, "at": at, "type": kind, **more}


def by(name: str | None) -> dict[str, object]:
    return {"data.CreatedByName": name}


CAPTURE, CALL, SENT, OPENED, DEMO, MISSED = 23, 203, 2001, 0, 204, 250
TOUCH_ROWS = [
    row("A", CALL, "Phone Call", u(3, 8), **by("Rahul Verma"), **{"lead.source": "Ads"}),
    row("A", CAPTURE, "Lead Capture", u(3, 9), **by("System"), **{"lead.source": "Ads"}),
    row("A", SENT, "EmailSent", u(3, 9, 2), **by("System")),
    row("A", 3011, "Phone Call", u(3, 9, 3)),
    row("A", OPENED, "Email Opened", u(3, 9, 4)),
    row("A", CALL, "Phone Call", u(3, 9, 5), **by("Priya Raman")),
    row("A", CALL, "Phone Call", u(3, 9, 30), **by("Priya Raman")),
    row("B", CAPTURE, "Lead Capture", u(3, 10), **by("System"), **{"lead.source": "Ads"}),
    row("B", CALL, "Phone Call", u(3, 10), **by("Rahul Verma"), **{"lead.source": "Ads"}),
    row("B", MISSED, "Missed CALL", u(3, 10, 45)),
    row("C", CAPTURE, "Lead Capture", u(4, 12), **by("System")),
    row("C", CALL, "Phone Call", u(4, 13), **by(" system ")),
    row("C", OPENED, "Email Opened", u(4, 14)),
    row("D", CALL, "Phone Call", u(4, 9), **by("Rahul Verma"), **{"lead.source": "Web"}),
    row("E", CAPTURE, "Lead Capture", u(5, 9), **by("System"), **{"lead.source": "Web"}),
    row("E", DEMO, "Demo Scheduled", u(5, 12), **by("Anjali Nair"), **{"lead.source": "Web"}),
    row("E", CALL, "Phone Call", u(5, 12), **by("Rahul Verma"), **{"lead.source": "Referral"}),
    row("E", CAPTURE, "Lead Capture", u(6, 9), **by("System"), **{"lead.source": "Referral"}),
]


@pytest.fixture(scope="module")
def touches() -> pl.DataFrame:
    return frame(TOUCH_ROWS)


def test_first_touch_by_hand(touches: pl.DataFrame) -> None:
    out = first_touch(touches)
    assert out.columns == [
        "lead_id",
        "captured_at",
        "first_touch_at",
        "first_touch_event",
        "touched_by",
        "minutes_to_first_touch",
    ]
    assert out.schema["minutes_to_first_touch"] == pl.Float64
    assert out.rows() == [
        ("A", u(3, 9), u(3, 9, 5), "Phone Call", "Priya Raman", 5.0),
        ("B", u(3, 10), u(3, 10, 45), "Missed CALL", None, 45.0),
        ("C", u(4, 12), None, None, None, None),
        ("E", u(5, 9), u(5, 12), "Demo Scheduled", "Anjali Nair", 180.0),
    ]


def test_first_touch_options(touches: pl.DataFrame) -> None:
    # only calls by code: B's "Missed CALL" no longer counts, E's tie goes to the call
    calls = first_touch(touches, touch_events="Phone Call")
    assert calls.select("lead_id", "touched_by", "minutes_to_first_touch").rows() == [
        ("A", "Priya Raman", 5.0),
        ("B", None, None),
        ("C", None, None),
        ("E", "Rahul Verma", 180.0),
    ]
    # nobody excluded: A's System e-mail at 09:02 and C's " system " call are touches now
    everyone = first_touch(touches, exclude_creators=())
    assert everyone["minutes_to_first_touch"].to_list() == [2.0, 45.0, 60.0, 180.0]
    # Priya excluded too: A is never touched; a plain string is one name, replacing System
    both = first_touch(touches, exclude_creators=("System", "Priya Raman"))
    assert both["touched_by"][0] is None
    assert first_touch(touches, exclude_creators="Priya Raman")["touched_by"][0] == "System"
    # D becomes captured when its call is the capture event; nothing comes after it
    by_call = first_touch(touches, capture_events=CALL, touch_events=[OPENED])
    assert by_call.filter(pl.col("lead_id") == "D")["first_touch_at"].to_list() == [None]
    assert by_call.filter(pl.col("lead_id") == "A")["minutes_to_first_touch"].item() == 64.0
    assert first_touch(touches, leads=["b"])["lead_id"].to_list() == ["B"]


def test_speed_to_lead_by_hand(touches: pl.DataFrame) -> None:
    out = speed_to_lead(touches)
    # touched: 5, 45, 180 minutes; C never. p90 = 45 + 0.8 * (180 - 45)
    assert out.rows(named=True) == [
        {
            "n_leads": 4,
            "n_touched": 3,
            "median_minutes": 45.0,
            "p90_minutes": pytest.approx(153.0),
            "within_5m": 0.25,
            "within_1h": 0.5,
            "never": 0.25,
        }
    ]


def test_speed_to_lead_segments(touches: pl.DataFrame) -> None:
    out = speed_to_lead(touches, by="lead.source")
    assert out.columns[:2] == ["lead.source", "n_leads"]
    assert out.rows() == [
        # A 5 and B 45: p90 = 5 + 0.9 * 40
        ("Ads", 2, 2, 25.0, pytest.approx(41.0), 0.5, 1.0, 0.0),
        ("Referral", 1, 1, 180.0, 180.0, 0.0, 0.0, 0.0),  # E's latest source
        (None, 1, 0, None, None, 0.0, 0.0, 1.0),  # C: no source, never touched
    ]
    assert out["n_leads"].sum() == speed_to_lead(touches)["n_leads"].item()
    with pytest.raises(ValueError, match="with_leads"):
        speed_to_lead(touches, by="lead.owner_name")
    with pytest.raises(ValueError, match="output column"):
        speed_to_lead(touches.with_columns(pl.lit("x").alias("n_leads")), by="n_leads")


def test_no_capture_and_empty_frames(touches: pl.DataFrame) -> None:
    no_capture = touches.filter(pl.col("event_code") != CAPTURE)
    assert first_touch(no_capture).height == 0
    assert speed_to_lead(no_capture).rows() == [(0, 0, None, None, None, None, None)]
    assert speed_to_lead(no_capture, by="lead.source").height == 0
    assert first_touch(touches.clear()).height == 0


def test_lazy_frames_give_the_same_answers(touches: pl.DataFrame) -> None:
    for run in (
        lambda f: first_touch(f),
        lambda f: first_touch(f, business_hours=HOURS),
        lambda f: speed_to_lead(f, by="lead.source"),
        lambda f: speed_to_lead(f, business_hours=HOURS, touch_events=["Phone Call"]),
    ):
        assert_frame_equal(run(touches.lazy()), run(touches))
    stages = frame(STAGE_ROWS)
    for run in (
        lambda f: stage_durations(f),
        lambda f: stage_durations(f, as_of="2025-03-05T12:00:00+00:00"),
        lambda f: stage_velocity(f, by="lead.owner_name", stuck_after="10d"),
        lambda f: stuck_leads(f, stuck_after="10d"),
    ):
        assert_frame_equal(run(stages.lazy()), run(stages))


# ---------------------------------------------------------------------------- business hours


def hours_frame(pairs: dict[str, tuple[dt.datetime, dt.datetime]]) -> pl.DataFrame:
    rows = []
    for lead, (captured, touched) in pairs.items():
        rows.append(row(lead, CAPTURE, "Lead Capture", captured, **by("System")))
        rows.append(row(lead, CALL, "Phone Call", touched, **by("Priya Raman")))
    return frame(rows)


def test_business_hours_across_a_night_and_a_sunday() -> None:
    pairs = {
        # Tue 17:30 IST -> Wed 09:45 IST: 30 minutes on Tuesday, 45 on Wednesday
        "night": (ist(4, 17, 30), ist(5, 9, 45)),
        # Sat 17:00 -> Mon 10:00: 60 on Saturday, Sunday closed, 60 on Monday
        "sunday": (ist(8, 17), ist(10, 10)),
        # captured Sunday evening, touched Monday 09:03: the clock starts at the opening
        "closed": (ist(9, 20), ist(10, 9, 3)),
        # inside one day
        "day": (ist(10, 11), ist(10, 11, 20)),
        # two weeks: 12 open days of 540 minutes
        "weeks": (ist(3, 10), ist(17, 10)),
        # after closing on Saturday to before opening on Monday: nothing
        "weekend": (ist(8, 18, 30), ist(10, 8, 59)),
    }
    df = hours_frame(pairs)
    out = first_touch(df, business_hours=HOURS)
    minutes = dict(out.select("lead_id", "minutes_to_first_touch").iter_rows())
    assert minutes == {
        "night": 75.0,
        "sunday": 120.0,
        "closed": 3.0,
        "day": 20.0,
        "weeks": 6480.0,
        "weekend": 0.0,
    }
    wall = dict(first_touch(df).select("lead_id", "minutes_to_first_touch").iter_rows())
    assert wall["night"] == 16 * 60 + 15 and wall["sunday"] == 41 * 60
    summary = speed_to_lead(df, business_hours=HOURS)
    # 0, 3, 20, 75, 120, 6480 business minutes: within 5 minutes 2 of 6, within an hour 3
    assert summary.select("within_5m", "within_1h", "median_minutes").row(0) == (
        pytest.approx(2 / 6),
        0.5,
        47.5,
    )
    assert speed_to_lead(df)["within_5m"].item() == 0.0


def test_business_hours_parsing() -> None:
    parsed = business_hours(("9:30", "17:00", "Sun-Thu"))
    assert (parsed.opens, parsed.closes, parsed.tz) == (570, 1020, "UTC")
    assert parsed.days == (True, True, True, True, False, False, True)
    assert business_hours(("08:00", "24:00", ["monday", "Wed", "fri"], "UTC")).days == (
        True,
        False,
        True,
        False,
        True,
        False,
        False,
    )
    assert business_hours(("09:00", "18:00", "Mon-Fri,Sun")).days.count(True) == 6
    for bad, words in [
        (("9", "18:00", "Mon-Fri"), "time of day"),
        (("18:00", "09:00", "Mon-Fri"), "after the opening"),
        (("09:00", "18:00", "Mon-Fry"), "not a weekday"),
        (("09:00", "18:00", "Mon-Fri", "India"), "IANA"),
        (("09:00", "18:00"), "opens, closes, days"),
        ("09:00-18:00", "opens, closes, days"),
    ]:
        with pytest.raises(ValueError, match=words):
            business_hours(bad)
    with pytest.raises(ValueError, match="time of day"):
        first_touch(frame(TOUCH_ROWS), business_hours=("9am", "6pm", "Mon-Fri"))


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 14 * 24 * 60),
    length=st.integers(0, 6 * 24 * 60),
    opens=st.integers(0, 23 * 60),
    span=st.integers(1, 12 * 60),
    days=st.lists(st.booleans(), min_size=7, max_size=7).filter(any),
    tz=st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York"]),
)
def test_business_minutes_match_counting_each_minute(
    start: int, length: int, opens: int, span: int, days: list[bool], tz: str
) -> None:
    closes = min(opens + span, 24 * 60)
    hours = business_hours(
        (
            f"{opens // 60:02d}:{opens % 60:02d}",
            f"{closes // 60:02d}:{closes % 60:02d}",
            [name for name, on in zip(WEEKDAYS, days, strict=True) if on],
            tz,
        )
    )
    # a wall-clock window in tz, minute by minute (away from the New York clock change)
    zone = ZoneInfo(tz)
    first = dt.datetime(2025, 1, 6, tzinfo=zone) + dt.timedelta(minutes=start)
    wall = [first.replace(tzinfo=None) + dt.timedelta(minutes=k) for k in range(length)]
    expected = sum(
        1 for w in wall if days[w.weekday()] and opens <= w.hour * 60 + w.minute < closes
    )
    a = first.astimezone(UTC)
    b = (first.replace(tzinfo=None) + dt.timedelta(minutes=length)).replace(tzinfo=zone)
    got = pl.select(business_minutes(pl.lit(a), pl.lit(b.astimezone(UTC)), hours)).item()
    assert got == pytest.approx(expected)


# ---------------------------------------------------------------------------- stages


def change(lead: str, at: dt.datetime, before: str | None, after: str) -> dict[str, object]:
    return {
        "lead": lead,
        "code": 3002,
        "name": "StageChange",
        "at": at,
        "type": "Information",
        "data.PreviousStage": before,
        "data.CurrentStage": after,
    }


def d(day: int, hour: int = 0) -> dt.datetime:
    return u(day, hour)


STAGE_ROWS = [
    {**row("P", CAPTURE, "Lead Capture", d(1)), "lead.owner_name": "Asha"},
    change("P", d(2), "Prospect", "Contacted"),
    change("P", d(5), "Contacted", "Qualified"),
    change("P", d(6), "Qualified", "Contacted"),
    change("P", d(7), "Contacted", "Contacted"),
    {**row("P", OPENED, "Email Opened", d(11)), "lead.owner_name": "Asha"},
    {**row("Q", OPENED, "Email Opened", d(1)), "lead.owner_name": "Ben"},
    row("Q", OPENED, "Email Opened", d(3)),
    {**change("R", d(4, 12), "Prospect", "Contacted"), "lead.owner_name": "Ben"},
    row("R", OPENED, "Email Opened", d(20)),
]


@pytest.fixture(scope="module")
def stages() -> pl.DataFrame:
    return frame(STAGE_ROWS)


def test_stage_durations_by_hand(stages: pl.DataFrame) -> None:
    out = stage_durations(stages)
    assert out.columns == ["lead_id", "stage", "entered_at", "left_at", "days"]
    assert out.schema["days"] == pl.Float64
    assert out.rows() == [
        ("P", "Prospect", d(1), d(2), 1.0),
        ("P", "Contacted", d(2), d(5), 3.0),
        ("P", "Qualified", d(5), d(6), 1.0),
        ("P", "Contacted", d(6), None, 14.0),  # re-entered; the no-move at 03-07 ignored
        ("R", "Prospect", d(4, 12), d(4, 12), 0.0),  # its first activity is the change
        ("R", "Contacted", d(4, 12), None, 15.5),
    ]  # Q: no stage change, no rows


def test_stage_durations_as_of(stages: pl.DataFrame) -> None:
    out = stage_durations(stages, as_of="2025-03-05T12:00:00+00:00")
    assert out.rows() == [
        ("P", "Prospect", d(1), d(2), 1.0),
        ("P", "Contacted", d(2), d(5), 3.0),
        ("P", "Qualified", d(5), None, 0.5),  # the changes after as_of are not yet made
        ("R", "Prospect", d(4, 12), d(4, 12), 0.0),
        ("R", "Contacted", d(4, 12), None, 1.0),
    ]
    # a later as_of than the data: the current visits run on to it
    later = stage_durations(stages, as_of=dt.date(2025, 3, 30))
    assert later.filter(pl.col("left_at").is_null())["days"].to_list() == [24.0, 25.5]
    assert stage_durations(stages, leads="R")["lead_id"].unique().to_list() == ["R"]
    with pytest.raises(ValueError, match="as_of"):
        stage_durations(stages, as_of="yesterday")


def test_leads_without_stage_change(stages: pl.DataFrame) -> None:
    # no stage changes at all, nor their columns: no visits
    assert stage_durations(stages.filter(pl.col("lead_id") == "Q").drop("^data.*$")).height == 0
    # with the leads' stage joined, Q has been a Prospect since its first activity
    known = stages.with_columns(
        pl.col("lead_id")
        .replace_strict({"P": "Enrolled", "Q": "Prospect", "R": None})
        .alias("lead.stage")
    )
    out = stage_durations(known)
    assert out.filter(pl.col("lead_id") == "Q").rows() == [("Q", "Prospect", d(1), None, 19.0)]
    assert out.filter(pl.col("lead_id") != "Q").equals(stage_durations(stages))


def test_unknown_first_stage_and_ties() -> None:
    rows = [
        row("T", OPENED, "Email Opened", d(1)),
        change("T", d(2), None, "Contacted"),  # the stage before is unknown: no visit
        change("T", d(3), "Contacted", "Won"),  # two changes at one time: frame order
        change("T", d(3), "Won", "Lost"),
        row("T", OPENED, "Email Opened", d(4)),
    ]
    assert stage_durations(frame(rows)).rows() == [
        ("T", "Contacted", d(2), d(3), 1.0),
        ("T", "Won", d(3), d(3), 0.0),
        ("T", "Lost", d(3), None, 1.0),
    ]


def test_stage_velocity_and_stuck_leads(stages: pl.DataFrame) -> None:
    out = stage_velocity(stages, stuck_after="14d")
    assert out.columns == ["stage", "n_visits", "median_days", "p90_days", "n_current", "n_stuck"]
    assert out.rows() == [
        # finished visits 1 and 0 days: p90 = 0 + 0.9 * 1
        ("Prospect", 2, 0.5, pytest.approx(0.9), 0, 0),
        # one finished (3 days); P (14 days, not over 14) and R (15.5) are in it now
        ("Contacted", 3, 3.0, 3.0, 2, 1),
        ("Qualified", 1, 1.0, 1.0, 0, 0),
    ]
    assert stuck_leads(stages, stuck_after="14d").rows() == [("R", "Contacted", d(4, 12), 15.5)]
    assert stuck_leads(stages, stuck_after="10d")["lead_id"].to_list() == ["R", "P"]
    assert (
        stuck_leads(stages, stuck_after=dt.timedelta(days=10), final_stages="Contacted").height == 0
    )
    assert (
        stage_velocity(stages, final_stages=["Contacted"], stuck_after="1d")["n_stuck"].sum() == 0
    )
    # as of 03-05 12:00, only R is in Contacted (1 day) and P in Qualified (0.5 day)
    early = stage_velocity(stages, as_of="2025-03-05T12:00:00Z", stuck_after="0.75d")
    assert early.select("stage", "n_current", "n_stuck").rows() == [
        ("Prospect", 0, 0),
        ("Contacted", 1, 1),
        ("Qualified", 1, 0),
    ]
    with pytest.raises(ValueError, match="stuck_after"):
        stage_velocity(stages, stuck_after="a month")


def test_stage_velocity_segments(stages: pl.DataFrame) -> None:
    out = stage_velocity(stages, by="lead.owner_name", stuck_after="14d")
    assert out.select("lead.owner_name", "stage", "n_visits", "n_current", "n_stuck").rows() == [
        ("Asha", "Prospect", 1, 0, 0),
        ("Asha", "Contacted", 2, 1, 0),
        ("Asha", "Qualified", 1, 0, 0),
        ("Ben", "Prospect", 1, 0, 0),
        ("Ben", "Contacted", 1, 1, 1),
    ]
    assert stuck_leads(stages, by="lead.owner_name", stuck_after="14d").columns == [
        "lead_id",
        "lead.owner_name",
        "stage",
        "entered_at",
        "days",
    ]
    with pytest.raises(ValueError, match="unknown column"):
        stage_velocity(stages, by="data.Nothing")


# ---------------------------------------------------------------------------- charts


def test_speed_to_lead_chart(touches: pl.DataFrame) -> None:
    fig = speed_to_lead_chart(touches)
    assert [(t.type, t.name) for t in fig.data] == [("bar", "All leads")]
    assert list(fig.data[0].y) == [45.0]
    assert list(fig.data[0].error_y.array) == [pytest.approx(108.0)]  # up to the p90, 153
    hover = list(fig.data[0].customdata[0])
    assert hover == [4, 3, "45 min", "2.5 h", "25%", "50%", "25%"]
    assert fig.layout.yaxis.title.text == "Minutes to first touch"

    segmented = speed_to_lead_chart(touches.lazy(), by="lead.source", business_hours=HOURS)
    assert [t.name for t in segmented.data] == ["Ads", "Referral", "(no value)"]
    assert segmented.data[0].meta == {"segment": {"lead.source": "Ads"}}
    assert segmented.data[2].y == (None,)  # C was never touched
    assert segmented.layout.yaxis.title.text == "Business minutes to first touch"
    empty = speed_to_lead_chart(touches.filter(pl.col("event_code") != CAPTURE))
    assert empty.data == () and empty.layout.annotations[0].text == "No activities match"


def test_stage_velocity_chart(stages: pl.DataFrame) -> None:
    fig = stage_velocity_chart(stages, stuck_after="14d")
    assert [(t.type, t.name) for t in fig.data] == [
        ("bar", "All leads"),
        ("scatter", "All leads · stuck"),
    ]
    assert list(fig.data[0].x) == ["Prospect", "Contacted", "Qualified"]
    assert list(fig.data[0].y) == [0.5, 3.0, 1.0]
    assert list(fig.data[1].y) == [0, 1, 0] and fig.data[1].yaxis == "y2"
    assert list(fig.data[1].text) == ["", "1 stuck", ""]

    segmented = stage_velocity_chart(stages, by="lead.owner_name", stuck_after="14d")
    assert [t.name for t in segmented.data] == ["Asha", "Asha · stuck", "Ben", "Ben · stuck"]
    assert segmented.data[2].meta == {"segment": {"lead.owner_name": "Ben"}}
    assert list(segmented.layout.xaxis.categoryarray) == ["Prospect", "Contacted", "Qualified"]
    empty = stage_velocity_chart(stages.filter(pl.col("event_code") != 3002))
    assert empty.data == ()


# ---------------------------------------------------------------------------- real data


def test_on_the_bundled_sample() -> None:
    df = lsq.load_sample()
    touched = first_touch(df)
    assert touched.height == 25 and touched["first_touch_at"].null_count() < 25
    assert (touched["first_touch_at"] > touched["captured_at"]).all()
    assert "System" not in touched["touched_by"].to_list()
    summary = speed_to_lead(df, business_hours=HOURS)
    assert summary["n_touched"].item() > 0
    visits = stage_durations(df)
    assert visits["lead_id"].n_unique() == 25 and (visits["days"] >= 0).all()
    velocity = stage_velocity(df)
    assert velocity["stage"].to_list()[0] == "Prospect"
    assert velocity["n_current"].sum() == 25


def test_synthetic_data_has_touches_and_stage_changes() -> None:
    df = lsq.activities_frame(lsq.synthetic_activities(150, seed=3))
    summary = speed_to_lead(df)
    assert summary["n_leads"].item() > 100 and summary["n_touched"].item() > 100
    visits = stage_durations(df)
    assert visits.height > summary["n_leads"].item()
    assert stage_velocity(df)["n_visits"].sum() == visits.height


@settings(max_examples=15, deadline=None)
@given(
    n_leads=st.integers(0, 25),
    most=st.integers(0, 60),
    seed=st.integers(0, 10_000),
    bh=st.booleans(),
    stuck=st.sampled_from(["0d", "7d", "30d"]),
)
def test_synthetic_accounts_never_crash(
    n_leads: int, most: int, seed: int, bh: bool, stuck: str
) -> None:
    df = lsq.activities_frame(lsq.synthetic_activities(n_leads, activities=(0, most), seed=seed))
    if df.height == 0:
        return
    hours = HOURS if bh else None
    touched = first_touch(df, business_hours=hours)
    assert (touched["minutes_to_first_touch"].drop_nulls() >= 0).all()
    for by_ in (None, "type"):
        summary = speed_to_lead(df, by=by_, business_hours=hours)
        for share in ("within_5m", "within_1h", "never"):
            assert summary[share].drop_nulls().is_between(0, 1).all()
        assert (summary["n_touched"] <= summary["n_leads"]).all()
        assert (summary["within_5m"].fill_null(0) <= summary["within_1h"].fill_null(0)).all()
    visits = stage_durations(df)
    assert (visits["days"] >= 0).all()
    velocity = stage_velocity(df, stuck_after=stuck, by="type")
    assert (velocity["n_stuck"] <= velocity["n_current"]).all()
    assert (velocity["n_current"] <= velocity["n_visits"]).all()
    assert (
        stuck_leads(df, stuck_after=stuck).height
        == stage_velocity(df, stuck_after=stuck)["n_stuck"].sum()
    )
