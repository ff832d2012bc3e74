"""The C parser (lsq_analysis._fastjson) against pyarrow's reader: the same frame, always.

The C parser takes input of the usual shape and refuses the rest, which then goes the
careful way; these tests check both halves: what it takes gives exactly the frame pyarrow's
path gives, and what it refuses is refused (so the fallback really runs).
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import polars as pl
import pytest
from conftest import require_c_parser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from lsq_analysis import activities_frame, sample_responses, synthetic_activities
from lsq_analysis.frames import readers, schema, shapes

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*values? in an unknown date format became null:UserWarning"
)
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _c_parser_built() -> None:
    require_c_parser()


def both_ways(raw: object, monkeypatch: pytest.MonkeyPatch) -> tuple[pl.DataFrame, pl.DataFrame]:
    with monkeypatch.context() as m:
        m.setattr(readers, "USE_C_PARSER", False)
        slow = activities_frame(raw)
    fast = activities_frame(raw)
    return fast, slow


def c_parse(text: bytes, pages: bool = True) -> tuple | None:
    return readers._fastjson.parse(text, pages, *readers._TYPED_KEYS, schema.LEAD_KEY)


def page(*activities: dict, ascii_only: bool = False) -> bytes:
    doc = {"RecordCount": len(activities), "ProspectActivities": list(activities)}
    # json, not orjson: integers past 64 bits; ascii_only writes escapes (\\u...) for the rest
    return json.dumps(doc, ensure_ascii=ascii_only).encode()


# --------------------------------------------------------------------------- what it takes


ACTIVITY_FIXTURES = sorted(
    p.name for p in FIXTURES.glob("*.json") if p.name != "activity_types.json"
)


@pytest.mark.parametrize("name", ACTIVITY_FIXTURES)
def test_every_fixture_gives_the_same_frame(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    fast, slow = both_ways(raw, monkeypatch)
    assert_frame_equal(fast, slow)


def test_sample_and_synthetic_pages_are_taken_and_give_the_same_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leads = synthetic_activities(40, activities=(0, 120), seed=7)
    pages = [page(*acts) for acts in leads.values()]
    assert c_parse(b"\n".join(pages)) is not None  # the usual shape: no fallback
    fast, slow = both_ways(pages, monkeypatch)
    assert fast.height == sum(len(a) for a in leads.values())
    assert_frame_equal(fast, slow)
    fast, slow = both_ways(list(sample_responses().values()), monkeypatch)
    assert_frame_equal(fast, slow)


def test_columns_come_out_as_written() -> None:
    long_text = "x" * 13  # longer than an inline string view (12 bytes)
    text = page(
        {
            "Id": "a",
            "EventCode": 21,
            "Latitude": 12.5,
            "Longitude": 3,
            "IsEmailType": True,
            "Extra": long_text,
            "Data": [{"Key": "K", "Value": "v"}, {"Key": "K", "Value": "second"}],
            "ActivityFields": {"F": '{"a": 1}', "G": None},
        },
        {"Id": "b", "EventCode": None, "Extra": long_text, "Data": [{"Key": "E", "Value": ""}]},
    )
    rows, _blob, columns = c_parse(text)
    assert rows == 2
    got = {(space, key): (kind, nulls) for space, key, kind, _v, _values, nulls in columns}
    assert got[(0, "Id")] == (0, 0)
    assert got[(0, "EventCode")] == (1, 1)
    assert got[(0, "Latitude")] == (2, 1)
    assert got[(0, "IsEmailType")] == (3, 1)
    assert got[(2, "K")] == (0, 1) and got[(2, "E")] == (0, 2)  # Data "" is null
    assert got[(1, "F")] == (0, 1) and got[(1, "G")] == (0, 2)
    df = activities_frame(text)
    assert df["extra"].to_list() == [long_text, long_text]
    assert df["data.K"].to_list() == ["v", None]  # the first value of a key wins
    assert df["latitude"].to_list() == [12.5, None]
    assert df["longitude"].to_list() == [3.0, None]
    assert df["is_email_type"].to_list() == [True, None]
    assert df["fields.F.a"].to_list() == ["1", None]


def test_string_lengths_around_the_inline_limit_and_shared_repeats() -> None:
    texts = ["", "a", "x" * 12, "y" * 13, "y" * 13, "z" * 4000, "ü" * 7, "𝐆" * 4, "y" * 13]
    lead = "L" * 36  # the same long text on every row: its bytes are stored once
    rows = [{"Id": str(i), "Note": t, "RelatedProspectId": lead} for i, t in enumerate(texts)]
    text = page(*rows)
    df = activities_frame(text)
    assert df["note"].to_list() == [None, *texts[1:]]
    assert df["lead_id"].to_list() == [lead] * len(texts)


def test_lines_pages_and_lead_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = {"lead-1": [{"Id": "a"}, {"Id": "b", "RelatedProspectId": "other"}], "lead-2": []}
    fast, slow = both_ways(raw, monkeypatch)
    assert fast["lead_id"].to_list() == ["lead-1", "other"]
    assert_frame_equal(fast, slow)
    series = pl.Series([orjson.dumps({"Id": str(i), "EventCode": i}).decode() for i in range(5)])
    fast, slow = both_ways(series, monkeypatch)
    assert fast["event_code"].to_list() == list(range(5))
    assert_frame_equal(fast, slow)
    assert c_parse(b'{"ProspectActivities": []}\n\n  \n{"RecordCount": 0}')[0] == 0


# --------------------------------------------------------------------------- what it refuses

REFUSED = {
    "a number where a string belongs": page({"Id": 5}),
    "a string where a number belongs": page({"EventCode": "21"}),
    "a float where an integer belongs": page({"EventCode": 21.0}),
    "an integer past int64": page({"ActivityScore": 2**63}),
    "a key twice": b'{"ProspectActivities": [{"Id": "a", "Id": "b"}]}',
    "a field key twice": b'{"ProspectActivities": [{"ActivityFields": {"F": "1", "F": "2"}}]}',
    "a number in ActivityFields": page({"ActivityFields": {"F": 1}}),
    "ActivityFields not an object": page({"ActivityFields": "junk"}),
    "Data as a mapping": page({"Data": {"K": "v"}}),
    "a Data entry with another key": page({"Data": [{"Key": "K", "Value": "v", "X": 1}]}),
    "a Data value not a string": page({"Data": [{"Key": "K", "Value": 5}]}),
    "a lone surrogate": b'{"ProspectActivities": [{"Id": "\\ud835"}]}',
    "invalid UTF-8": b'{"ProspectActivities": [{"Id": "\xff\xfe"}]}',
    "a NUL in a key": b'{"ProspectActivities": [{"A\\u0000B": "x"}]}',
    "Infinity": b'{"ProspectActivities": [{"Latitude": Infinity}]}',
    "an activity not an object": b'{"ProspectActivities": [1]}',
    "a page not an object": b"[1, 2]",
    "broken JSON": b'{"ProspectActivities": [{"Id": "a"',
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unusual_input_is_refused_and_read_the_careful_way(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = REFUSED[name]
    assert c_parse(text) is None
    if name in ("broken JSON", "invalid UTF-8"):
        return  # not JSON at all: activities_frame's own errors are tested elsewhere
    fast, slow = both_ways(text, monkeypatch)
    assert_frame_equal(fast, slow)


# --------------------------------------------------------------------------- generated input

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
text = st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["", "&amp;", '{"a": "b"}']))
keys = st.sampled_from(
    ["Id", "EventCode", "EventName", "ActivityScore", "CreatedOn", "ModifiedOn", "Latitude",
     "IsEmailType", "RelatedProspectId", "Extra", "Other", "Data", "ActivityFields"]
)  # fmt: skip


@st.composite
def activity(draw: st.DrawFn) -> dict:
    row: dict = {}
    for key in draw(st.lists(keys, max_size=8, unique=True)):
        if key == "Data":
            entries = st.fixed_dictionaries({"Key": st.one_of(st.none(), st.text(max_size=5))})
            entries = entries.map(lambda e: {**e, "Value": "v"}) | st.fixed_dictionaries(
                {"Key": st.sampled_from(["A", "B", ""]), "Value": text}
            )
            row[key] = draw(st.one_of(st.none(), st.lists(entries, max_size=4)))
        elif key == "ActivityFields":
            row[key] = draw(
                st.one_of(st.none(), st.dictionaries(st.sampled_from(["F", "G", "mx_1"]), text))
            )
        elif key in ("EventCode", "ActivityScore"):
            row[key] = draw(st.one_of(st.integers(-(2**40), 2**40), st.none(), junk))
        elif key == "Latitude":
            row[key] = draw(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.none()))
        elif key == "IsEmailType":
            row[key] = draw(st.one_of(st.booleans(), st.none(), junk))
        else:
            row[key] = draw(st.one_of(text, junk))
    return row


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(activity(), max_size=6), min_size=1, max_size=4),
    st.booleans(),
    st.booleans(),
)
def test_generated_pages_give_the_same_frame_either_way(
    pages: list[list[dict]], ascii_only: bool, page_per_chunk: bool
) -> None:
    # one chunk per page mixes chunks the C parser takes with chunks it refuses in one call
    raw = [page(*acts, ascii_only=ascii_only) for acts in pages]
    chunk_bytes = shapes.CHUNK_BYTES
    shapes.CHUNK_BYTES = 1 if page_per_chunk else chunk_bytes
    try:
        readers.USE_C_PARSER = False
        slow = activities_frame(raw)
        readers.USE_C_PARSER = True
        fast = activities_frame(raw)
    finally:
        readers.USE_C_PARSER = True
        shapes.CHUNK_BYTES = chunk_bytes
    assert_frame_equal(fast, slow)
