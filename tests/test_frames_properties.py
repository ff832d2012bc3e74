"""Property tests: generated activities (missing keys, empty lists, junk values, unicode)."""

from __future__ import annotations

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsq_analysis import activities_frame, drop_duplicate_activities, fields_long

# Hypothesis feeds junk dates on purpose; the parser's warning about them is expected here
# (tests/test_reliability_bad_input.py checks that warning itself).
# Every test runs with the C parser and with pyarrow's reader (tests/conftest.py).
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*in an unknown date format became null:UserWarning"),
    pytest.mark.usefixtures("frame_parser"),
]

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# text without "&" and backslashes: what goes in must come out unchanged (or null if empty)
plain_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="&\\"), max_size=12
)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)
# a NUL in a key name becomes U+FFFD (the Arrow reader would cut the name there)
key_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=10,
)


@st.composite
def activity(draw: st.DrawFn, *, junk_values: bool) -> dict:
    value = junk if junk_values else plain_text
    row: dict = {}
    if draw(st.booleans()):
        row["Id"] = draw(st.uuids().map(str)) if not junk_values else draw(junk)
    if draw(st.booleans()):
        row["EventCode"] = draw(st.integers(0, 13000)) if not junk_values else draw(junk)
    if draw(st.booleans()):
        row["CreatedOn"] = draw(
            st.sampled_from(
                ["2025-01-02 03:04:05", "0001-01-01 00:00:00", "4/4/2025 4:39:47 PM", ""]
            )
        )
    if draw(st.booleans()):
        row["EventName"] = draw(value)
    if draw(st.booleans()):
        keys = draw(st.lists(key_text, max_size=5, unique=True))
        row["Data"] = [{"Key": k, "Value": draw(value)} for k in keys]
        if junk_values and draw(st.booleans()):
            row["Data"] = draw(st.one_of(junk, st.lists(junk, max_size=3)))
    if draw(st.booleans()):
        row["ActivityFields"] = draw(st.dictionaries(key_text, value, max_size=5))
        if junk_values and draw(st.booleans()):
            row["ActivityFields"] = draw(junk)
    for key in draw(
        st.lists(
            st.sampled_from(["City", "EmailType", "Brand New Key", "X"]), max_size=2, unique=True
        )
    ):
        row[key] = draw(value)
    return row


@SETTINGS
@given(st.lists(activity(junk_values=True), max_size=12))
def test_junk_never_crashes_and_never_loses_a_row(acts: list[dict]) -> None:
    df = activities_frame(acts)
    assert df.height == len(acts)
    assert df.columns[:3] == ["lead_id", "activity_id", "event_code"]
    assert len(set(df.columns)) == df.width
    assert drop_duplicate_activities(df).height <= df.height
    fields_long(df)


def test_nul_in_a_key_name_keeps_row_and_value() -> None:
    df = activities_frame(
        [{"ActivityFields": {"a\x00b": "v"}, "Data": [{"Key": "k\x00", "Value": "w"}]}]
    )
    assert df.height == 1
    fields = [c for c in df.columns if c.startswith("fields.a")]
    data = [c for c in df.columns if c.startswith("data.k")]
    assert [df[c][0] for c in fields] == ["v"] and [df[c][0] for c in data] == ["w"]


@SETTINGS
@given(st.lists(activity(junk_values=False), max_size=12))
def test_values_come_back_as_they_went_in(acts: list[dict]) -> None:
    df = activities_frame(acts)
    assert df.height == len(acts)
    assert df["activity_id"].to_list() == [a.get("Id") for a in acts]
    assert df["event_code"].to_list() == [a.get("EventCode") for a in acts]
    for i, act in enumerate(acts):
        row = df.row(i, named=True)
        for item in act.get("Data", []):
            assert row[f"data.{item['Key']}"] == (item["Value"] or None)
        for key, val in (act.get("ActivityFields") or {}).items():
            assert row[f"fields.{key}"] == (val or None)
        assert row["event_name"] == (act.get("EventName") or None)


@SETTINGS
@given(st.lists(activity(junk_values=False), max_size=10))
def test_every_input_form_agrees(acts: list[dict]) -> None:
    expected = activities_frame(acts)
    series = pl.Series([orjson.dumps(a).decode() for a in acts], dtype=pl.String)
    assert activities_frame(series).equals(expected)
    assert activities_frame({"RecordCount": len(acts), "ProspectActivities": acts}).equals(expected)
    # one activity at a time, then stacked: same values as parsing them together
    singles = [activities_frame([a]) for a in acts]
    if singles:
        stacked = pl.concat(singles, how="diagonal_relaxed").select(expected.columns)
        assert stacked.equals(expected)
