"""activities_frame on one small fixture per real-world quirk (tests/fixtures/*.json)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import orjson
import polars as pl
import pytest

from lsq_analysis import activities_frame, drop_duplicate_activities, load_sample
from lsq_analysis.errors import ResponseFormatError
from lsq_analysis.frames import CORE_SCHEMA
from lsq_analysis.frames.text import decode_text, snake_case

FIXTURES = Path(__file__).parent / "fixtures"

# every test runs with the C parser and with pyarrow's reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("frame_parser")


def fixture(name: str) -> dict | list:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_core_columns_are_typed_and_first() -> None:
    df = activities_frame(fixture("system_events.json"))
    assert list(df.columns[: len(CORE_SCHEMA)]) == list(CORE_SCHEMA)
    assert {c: df.schema[c] for c in CORE_SCHEMA} == CORE_SCHEMA
    assert df.schema["created_on"] == pl.Datetime("us", "UTC")
    assert df["event_code"].to_list() == [0, 2001, 3002, 3001, 12000, 23]
    assert df["created_on"][0] == utc(2025, 3, 2, 8, 15)
    assert df["is_email_type"].to_list() == [False, True, False, False, False, False]
    assert df["activity_score"].to_list() == [1, 0, 0, 0, 10, 5]


def test_system_events_and_keys_on_some_rows_only() -> None:
    df = activities_frame(fixture("system_events.json"))
    assert df["email_type"].to_list() == [None, "Email Campaign", None, None, None, None]
    assert df["city"].to_list()[-1] == "Pune" and df["city"].null_count() == 5
    assert df["type"].to_list()[2:4] == ["Information", "Information"]
    assert df["activity_type"].to_list()[2:4] == [26, 26]
    row = df.row(2, named=True)
    assert row["data.PreviousStage"] == "Prospect" and row["data.CurrentStage"] == "Contacted"
    assert json.loads(row["data.Comment"])["ActionType"] == "500"
    assert df["data.EmailAddress"].drop_nulls().to_list() == ["mina.fictional@example.com"] * 2


def test_shared_id_rows_are_both_kept_and_log_names_changed_type() -> None:
    df = activities_frame(fixture("shared_id_audit_log.json"))
    assert df.height == 4
    wa = df.filter(pl.col("activity_id") == "a1a1a1a1-0000-4000-a000-000000000222")
    assert sorted(wa["event_code"].to_list()) == [222, 3011]
    assert set(wa["event_name"]) == {"WhatsApp Message"}
    logs = df.filter(pl.col("event_code") == 3011)
    assert logs["created_on"].n_unique() == 1  # two log rows at the same second
    assert logs["type"].to_list() == ["Logs", "Logs"]
    assert drop_duplicate_activities(df).height == 4


def test_zero_date_becomes_null_not_year_one() -> None:
    df = activities_frame(fixture("shared_id_audit_log.json"))
    assert df["modified_on"].to_list()[:2] == [None, None]
    assert df["modified_on"][2] == utc(2025, 4, 4, 16, 40, 10)
    assert df["created_on"].null_count() == 0


def test_missing_activity_fields_and_empty_data_keep_rows() -> None:
    df = activities_frame(fixture("missing_fields_and_empty_data.json"))
    assert df.height == 3
    assert df["activity_id"].to_list()[0].endswith("01")
    assert df["fields.mx_Custom_1"].to_list() == [None, "MSc Made-Up Studies", None]
    assert df["fields.Status"].to_list() == [None, None, None]  # "" -> null, column kept
    assert df["data.NotableEventDescription"].to_list() == [None, None, None]
    assert df["data.CreatedByName"].to_list() == [None, "Omar Sample", None]


def test_json_in_field_strings_is_expanded_and_original_kept() -> None:
    df = activities_frame(fixture("json_in_strings.json"))
    row = df.row(0, named=True)
    assert row["fields.mx_Custom_1"].startswith('{"mx_CustomObject_1"')
    assert row["fields.mx_Custom_1.mx_CustomObject_1"] == "aa11.png,bb22.png"
    assert row["fields.mx_Custom_1.ModifiedOn"] == "2018-12-12 10:39:21"
    assert row["fields.mx_Custom_1.Status"] is None  # "" -> null
    assert row["fields.mx_Custom_2"] == '{"IsAsync" : False}'  # looks like JSON, is not
    assert row["fields.mx_Custom_3"] == "{not json}"
    assert not any(c.startswith(("fields.mx_Custom_2.", "fields.mx_Custom_3.")) for c in df.columns)
    cols = df.columns
    assert cols.index("fields.mx_Custom_1") < cols.index("fields.mx_Custom_1.Status")
    assert cols.index("fields.mx_Custom_1.Status") < cols.index("fields.mx_Custom_2")


def test_audit_log_data_strings_are_kept_verbatim() -> None:
    df = activities_frame(fixture("shared_id_audit_log.json"))
    assert df["data.Notes"][0] == '{"IsAsync" : False}'
    assert df["data.OldData"][0] == '{"Status":"sent"}'
    assert df["data.EventTime"][0] == "4/4/2025 4:40:10 PM"


def test_html_references_and_surrogate_pairs_are_decoded() -> None:
    df = activities_frame(FIXTURES / "html_and_surrogates.json")
    row = df.row(0, named=True)
    assert row["data.NotableEventDescription"] == "𝐆𝐞𝐭 20% off\xa0today 👇"
    assert row["data.CreatedByName"] == "𝐓ess Example"
    assert row["fields.mx_Custom_2"] == "Café 👍 & more"
    assert row["fields.mx_Custom_3"] == "𝐆ood morning"
    assert row["fields.mx_Custom_4"] == "𝐆o"
    assert row["fields.mx_Custom_5"] == "AT&T ?a=1&copy=2&lang=en"  # not a complete reference
    assert df["data.EmailCampaignName"][1] == "Fee Waiver – Last Week"


def test_decode_text_edge_cases() -> None:
    assert decode_text("&#55349;&#56326;") == "𝐆"
    assert decode_text("&#xD835;x") == "\ufffd" + "x"
    assert decode_text("plain") == "plain"
    assert decode_text("&lt;b&gt;") == "<b>"


def test_long_multiline_note_survives_intact() -> None:
    raw = fixture("long_note.json")
    note = raw["ProspectActivities"][0]["ActivityFields"]["ActivityEvent_Note"]
    df = activities_frame(raw)
    assert df["fields.ActivityEvent_Note"][0] == note
    assert df["fields.CreatedOn"][0] == "5/5/2025 11:11:11 AM"  # strings in the wide frame


def test_mx_custom_stays_string_across_event_types() -> None:
    df = activities_frame(fixture("mx_custom_meanings.json"))
    assert df.schema["fields.mx_Custom_1"] == pl.String
    assert df["fields.mx_Custom_1"].to_list() == [
        "2025-06-01 08:59:58",
        "Mina",
        "BSc Pretend Physics",
        "1250.50",
        "99",
    ]


def test_timestamp_like_field_in_a_single_type_chunk_stays_text() -> None:
    # pyarrow infers timestamps when every value looks like one: the text must come back
    df = activities_frame(fixture("mx_custom_meanings.json")["ProspectActivities"][:1])
    assert df["fields.mx_Custom_1"].to_list() == ["2025-06-01 08:59:58"]
    spelled = ["2025-04-04", "2025-04-04T10:00:00Z", "2025-04-04 10:00:00.5"]
    df = activities_frame(
        [{"ActivityFields": {"d": d}, "Extra": {"when": d}, "Day": d} for d in spelled]
    )
    assert df["fields.d"].to_list() == spelled and df["day"].to_list() == spelled
    assert df["extra"][0] == '{"when":"2025-04-04"}'


def test_unknown_top_level_keys_kept_in_snake_case() -> None:
    df = activities_frame(fixture("unknown_top_level_key.json"))
    assert df["related_opportunity_id"][0] == "09090909-0000-4000-a000-000000000001"
    assert df["is_private"][0] == "false" and df["note_count"][0] == "3"
    assert snake_case("ProspectActivityAutoId") == "prospect_activity_auto_id"
    assert snake_case("HTMLBody") == "html_body"


def test_paging_duplicates_removed_only_by_the_explicit_function() -> None:
    df = activities_frame(fixture("paging_duplicates.json"))
    assert df.height == 3  # the parser never drops
    deduped = drop_duplicate_activities(df)
    assert deduped.height == 2
    assert deduped["event_code"].to_list() == [0, 1]
    assert drop_duplicate_activities(df.clear()).height == 0


def test_zero_activities_have_the_full_core_schema() -> None:
    for raw in (
        [],
        {"RecordCount": 0, "ProspectActivities": []},
        {},
        pl.Series([], dtype=pl.String),
    ):
        df = activities_frame(raw)
        assert df.height == 0
        assert dict(df.schema) == CORE_SCHEMA


def test_every_input_form_gives_the_same_frame(tmp_path: Path) -> None:
    raw = fixture("shared_id_audit_log.json")
    acts = raw["ProspectActivities"]
    expected = activities_frame(raw)
    path = tmp_path / "page.json"
    path.write_text(json.dumps(raw, indent=2))
    series = pl.Series([orjson.dumps(a).decode() for a in acts])
    for form in (
        [raw],
        acts,
        {"7d0c2b9e-1111-4a2b-9c3d-000000000001": acts},
        str(path),
        path,
        [path],
        path.read_bytes(),
        [orjson.dumps(raw)],
        series,
    ):
        assert activities_frame(form).equals(expected), type(form)


def test_mapping_key_fills_missing_lead_id() -> None:
    acts = [
        {k: v for k, v in a.items() if k != "RelatedProspectId"}
        for a in fixture("system_events.json")["ProspectActivities"]
    ]
    df = activities_frame({"lead-a": acts[:2], "lead-b": acts[2:]})
    assert df["lead_id"].to_list() == ["lead-a"] * 2 + ["lead-b"] * 4


def test_order_is_kept_across_leads_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from lsq_analysis.frames import shapes

    raw = [
        fixture(n)
        for n in (
            "system_events.json",
            "shared_id_audit_log.json",
            "long_note.json",
            "unknown_top_level_key.json",
        )
    ]
    whole = activities_frame(raw)
    monkeypatch.setattr(shapes, "CHUNK_BYTES", 1)  # one response per chunk
    chunked = activities_frame(raw)
    assert chunked.equals(whole)
    expected = [a["Id"] for r in raw for a in r["ProspectActivities"]]
    assert chunked["activity_id"].to_list() == expected


def test_series_input_chunked_and_with_raw_newlines(monkeypatch: pytest.MonkeyPatch) -> None:
    from lsq_analysis.frames import shapes

    acts = fixture("system_events.json")["ProspectActivities"]
    pretty = pl.Series([json.dumps(a, indent=2) for a in acts])
    monkeypatch.setattr(shapes, "CHUNK_BYTES", 1500)
    df = activities_frame(pretty)
    assert df["activity_id"].to_list() == [a["Id"] for a in acts]


def test_series_of_non_json_is_a_clear_error() -> None:
    with pytest.raises(ResponseFormatError, match="not JSON"):
        activities_frame(pl.Series(['{"Id": "x"}', "not json at all"]))


def test_bad_input_type_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="activities_frame takes"):
        activities_frame(42)


def test_junk_values_fall_back_without_losing_rows() -> None:
    acts = [
        {
            "Id": 5,
            "EventCode": "201",
            "ActivityScore": 2.0,
            "IsEmailType": "True",
            "Latitude": "12.5",
            "CreatedOn": "4/4/2025 4:39:47 PM",
            "Data": [
                {"Key": "a", "Value": 1},
                {"Key": "b", "Value": {"x": [1]}},
                "junk",
                {"Value": 3},
            ],
            "ActivityFields": {"mx_Custom_1": {"q": 1}, "n": 3.5, "t": True},
            "Extra": [1, 2],
        },
        {},
        {"Data": [], "ActivityFields": None},
        {"Data": None, "EventCode": 10**30},
    ]
    df = activities_frame(acts)
    assert df.height == 4
    row = df.row(0, named=True)
    assert (row["activity_id"], row["event_code"], row["activity_score"]) == ("5", 201, 2)
    assert row["is_email_type"] is True and row["latitude"] == 12.5
    assert row["created_on"] == utc(2025, 4, 4, 16, 39, 47)
    assert (row["data.a"], row["data.b"]) == ("1", '{"x":[1]}')
    assert (row["fields.n"], row["fields.t"], row["fields.mx_Custom_1.q"]) == ("3.5", "true", "1")
    assert row["extra"] == "[1,2]"
    assert df["event_code"][3] is None


def test_lone_surrogates_do_not_crash() -> None:
    df = activities_frame([{"Id": "x\ud800", "Data": [{"Key": "k", "Value": "a\udc06b"}]}])
    assert df["activity_id"][0] == "x\ufffd" and df["data.k"][0] == "a\ufffdb"
    raw = b'{"ProspectActivities": [{"Id": "lone \\ud800 half"}]}'
    assert activities_frame(raw)["activity_id"][0] == "lone \ufffd half"


def test_load_sample_is_every_bundled_activity() -> None:
    df = load_sample()
    assert df.height >= 2000 and df["lead_id"].n_unique() == 25
    assert df["event_code"].n_unique() >= 15
    assert df.filter(pl.col("modified_on").is_null()).height > 0
    assert df["created_on"].dt.year().min() == 2025
    for lead_frame in df.partition_by("lead_id", maintain_order=True):
        created = lead_frame["created_on"]
        assert created.is_sorted(descending=True)


def test_one_page_of_1000_is_fast() -> None:
    from lsq_analysis import synthetic_activities

    page = [
        a for rows in synthetic_activities(8, activities=(125, 125), seed=5).values() for a in rows
    ]
    activities_frame(page[:10])  # warm up imports
    best = min(_timed(activities_frame, {"ProspectActivities": page}) for _ in range(3))
    assert best < 0.15  # target 0.05 s on an idle machine; generous for a shared CI box


def _timed(fn: object, arg: object) -> float:
    import time

    start = time.perf_counter()
    fn(arg)  # type: ignore[operator]
    return time.perf_counter() - start


@pytest.mark.parametrize("chunk_bytes", [1, 4000, 10**8])
def test_path_lists_of_mixed_files_keep_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int
) -> None:
    from lsq_analysis.frames import shapes

    monkeypatch.setattr(shapes, "CHUNK_BYTES", chunk_bytes)
    names = ["system_events.json", "shared_id_audit_log.json", "long_note.json"]
    raws = [fixture(n) for n in names]
    paths = [tmp_path / f"{i}.json" for i in range(4)]
    paths[0].write_bytes(orjson.dumps(raws[0]))  # compact, one line
    paths[1].write_text(json.dumps(raws[1]["ProspectActivities"]))  # a bare activity list
    paths[2].write_text(json.dumps(raws[2], indent=2))  # pretty-printed, raw newlines
    paths[3].write_text("  \n" + json.dumps(raws[0]["ProspectActivities"][0]))  # one activity
    df = activities_frame(paths)
    expected = [a["Id"] for r in raws for a in r["ProspectActivities"]]
    expected.append(raws[0]["ProspectActivities"][0]["Id"])
    assert df["activity_id"].to_list() == expected
    note = raws[2]["ProspectActivities"][0]["ActivityFields"]["ActivityEvent_Note"]
    long_id = raws[2]["ProspectActivities"][0]["Id"]
    assert df.filter(pl.col("activity_id") == long_id)["fields.ActivityEvent_Note"][0] == note


@pytest.mark.parametrize("frame_parser", ["pyarrow"], indirect=True)  # its reader's learning
def test_date_like_keys_are_learned_once_per_call(
    monkeypatch: pytest.MonkeyPatch, frame_parser: str
) -> None:
    from lsq_analysis.frames import expand, readers, shapes

    reads: list[int] = []
    real = readers._read_json

    def counting(buf: bytes, schema: object, block: int) -> object:
        reads.append(1)
        return real(buf, schema, block)

    monkeypatch.setattr(readers, "_read_json", counting)
    monkeypatch.setattr(shapes, "CHUNK_BYTES", 1)  # one response per chunk
    monkeypatch.setattr(expand, "PIPELINE", False)
    pages = [
        {
            "ProspectActivities": [
                {"Id": str(i), "Day": f"2025-04-0{i}", "ActivityFields": {"d": f"2025-05-0{i}"}}
            ]
        }
        for i in range(1, 5)
    ]
    pages.insert(2, {"ProspectActivities": [{"Id": "x", "EventCode": 1}]})
    df = activities_frame(pages)
    assert df["day"].to_list() == ["2025-04-01", "2025-04-02", None, "2025-04-03", "2025-04-04"]
    assert df["fields.d"].to_list()[3:] == ["2025-05-03", "2025-05-04"]
    assert len(reads) == 6  # 5 chunks, only the first read twice
