"""Views over the expanded frame: event_view, fields_long, change_log, activity_types_frame."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from lsq_analysis import (
    activities_frame,
    activity_types_frame,
    change_log,
    event_view,
    fields_long,
    load_sample,
    sample_activity_types,
)

FIXTURES = Path(__file__).parent / "fixtures"


def frame(name: str) -> pl.DataFrame:
    return activities_frame(FIXTURES / name)


def catalog_raw() -> list[dict]:
    return json.loads((FIXTURES / "activity_types.json").read_text())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- event_view


def test_event_view_types_each_column_per_event() -> None:
    df = frame("mx_custom_meanings.json")
    pay = event_view(df, 205)
    assert pay.height == 2
    assert pay.schema["fields.mx_Custom_1"] == pl.Float64
    assert pay["fields.mx_Custom_1"].to_list() == [1250.5, 99.0]
    assert pay.schema["fields.mx_Custom_4"] == pl.Boolean
    assert pay["fields.mx_Custom_4"].to_list() == [True, False]
    course = event_view(df, 201)
    assert (
        course.schema["fields.mx_Custom_3"] == pl.Int64 and course["fields.mx_Custom_3"][0] == 460
    )
    assert course.schema["fields.mx_Custom_1"] == pl.String
    wa = event_view(df, "WhatsApp Message")
    assert wa["fields.mx_Custom_1"].to_list() == [utc(2025, 6, 1, 8, 59, 58)]


def test_event_view_keeps_only_used_columns() -> None:
    df = frame("system_events.json")
    opened = event_view(df, "email opened")  # names match without regard to case
    assert opened.height == 1
    assert "data.EmailCampaignName" in opened.columns
    assert not any(c.startswith("fields.") for c in opened.columns)
    assert "data.Subject" not in opened.columns and "city" not in opened.columns
    assert {"lead_id", "activity_id", "event_code", "created_on", "modified_on"} <= set(
        opened.columns
    )


def test_event_view_parses_us_dates_and_keeps_phone_like_strings() -> None:
    df = frame("shared_id_audit_log.json")
    logs = event_view(df, "Logs")
    assert logs.height == 2
    assert logs["data.EventTime"].to_list() == [utc(2025, 4, 4, 16, 40, 10)] * 2
    assert logs.schema["data.Notes"] == pl.String
    phones = activities_frame(
        [
            {"Id": str(i), "EventCode": 7, "ActivityFields": {"mx_Custom_1": v}}
            for i, v in enumerate(["0987654321", "123"])
        ]
    )
    assert event_view(phones, 7).schema["fields.mx_Custom_1"] == pl.String


def test_event_view_name_is_not_taken_from_audit_log_rows() -> None:
    df = frame("shared_id_audit_log.json")
    view = event_view(df, "Phone Call")  # a 3011 row carries this name too
    assert view["event_code"].to_list() == [203]


def test_event_view_with_catalog_uses_display_names() -> None:
    df = frame("mx_custom_meanings.json")
    view = event_view(df, 205, types=catalog_raw())
    assert "Amount" in view.columns and "Refundable" in view.columns
    assert view["Amount"].to_list() == [1250.5, 99.0]
    frame_types = activity_types_frame(catalog_raw())
    assert (
        event_view(df, "Course Interested", types=frame_types).columns
        == event_view(df, 201, types=catalog_raw()).columns
    )
    assert "Fee Quoted" in event_view(df, 201, types=frame_types).columns


def test_event_view_catalog_names_sub_keys_on_the_sample() -> None:
    view = event_view(load_sample(), 206, types=sample_activity_types())
    assert {"Program", "Application Number", "Documents", "Documents.Status"} <= set(view.columns)
    assert view.schema["Application Number"] == pl.Int64
    assert view.schema["Documents.ModifiedOn"] == pl.Datetime("us", "UTC")


def test_event_view_errors_name_the_choices() -> None:
    df = frame("system_events.json")
    with pytest.raises(ValueError, match=r"known names: .*EmailSent"):
        event_view(df, "No Such Event")
    with pytest.raises(TypeError):
        event_view(df, 2.5)  # type: ignore[arg-type]
    assert event_view(df, 999).height == 0
    assert event_view(df, "3001")["event_code"].to_list() == [3001]


# --------------------------------------------------------------------------- fields_long


def test_fields_long_one_row_per_activity_per_key() -> None:
    df = frame("json_in_strings.json")
    long = fields_long(df)
    assert long.columns == ["lead_id", "activity_id", "event_code", "source", "key", "value"]
    pairs = set(zip(long["source"], long["key"], strict=True))
    assert ("data", "CreatedByName") in pairs
    assert ("fields", "mx_Custom_1") in pairs
    assert ("fields", "mx_Custom_1.mx_CustomObject_1") in pairs
    assert ("data", "NotableEventDescription") not in pairs  # empty -> null -> no row
    assert long.filter(pl.col("key") == "mx_Custom_2")["value"][0] == '{"IsAsync" : False}'


def test_fields_long_keeps_activity_order_and_counts_values() -> None:
    df = frame("shared_id_audit_log.json")
    long = fields_long(df)
    expanded = [c for c in df.columns if c.startswith(("data.", "fields."))]
    assert long.height == sum(df[c].drop_nulls().len() for c in expanded)
    firsts = long.unique(subset=["activity_id", "event_code"], keep="first", maintain_order=True)
    assert list(zip(firsts["activity_id"], firsts["event_code"], strict=True)) == list(
        zip(df["activity_id"], df["event_code"], strict=True)
    )
    assert fields_long(df.clear()).height == 0
    assert fields_long(df.select("lead_id", "activity_id", "event_code")).height == 0


# --------------------------------------------------------------------------- change_log


def test_change_log_decodes_old_and_new_data() -> None:
    df = frame("shared_id_audit_log.json")
    log = change_log(df)
    assert log.columns == [
        "lead_id",
        "activity_id",
        "changed_at",
        "event_name",
        "field",
        "old",
        "new",
    ]
    assert log.height == 2
    status = log.row(0, named=True)
    assert (status["field"], status["old"], status["new"]) == ("Status", "sent", "FAILED")
    assert status["event_name"] == "WhatsApp Message"
    assert status["changed_at"] == utc(2025, 4, 4, 16, 40, 10)
    owner = log.row(1, named=True)
    assert owner["field"] == "Owner" and owner["event_name"] == "Phone Call"


def test_change_log_field_on_one_side_only_and_bad_json() -> None:
    rows = [
        {
            "Id": "x1",
            "EventCode": 3011,
            "EventName": "Course Interested",
            "CreatedOn": "2025-04-04 12:10:25",
            "Data": [
                {"Key": "OldData", "Value": '{"Status":"sent"}'},
                {"Key": "NewData", "Value": '{"Status":"Won","mx_Custom_1":"2025-04-04 12:10:25"}'},
            ],
        },
        {
            "Id": "x2",
            "EventCode": 3011,
            "EventName": "Course Interested",
            "Data": [
                {"Key": "OldData", "Value": "{broken"},
                {"Key": "NewData", "Value": '{"Owner":"u-2"}'},
                {"Key": "EventTime", "Value": "4/4/2025 4:39:47 PM"},
            ],
        },
        {"Id": "x3", "EventCode": 201, "Data": [{"Key": "NewData", "Value": '{"A":"b"}'}]},
    ]
    log = change_log(activities_frame(rows))
    assert log.select("activity_id", "field", "old", "new").rows() == [
        ("x1", "Status", "sent", "Won"),
        ("x1", "mx_Custom_1", None, "2025-04-04 12:10:25"),
        ("x2", "Owner", None, "u-2"),
    ]
    assert log["changed_at"][2] == utc(2025, 4, 4, 16, 39, 47)  # EventTime when no CreatedOn
    assert change_log(activities_frame([])).height == 0


def test_change_log_on_the_sample_has_every_log_row() -> None:
    df = load_sample()
    log = change_log(df)
    logs = df.filter(pl.col("event_code") == 3011)
    assert log["activity_id"].n_unique() == logs["activity_id"].n_unique()
    assert {"Status", "Owner", "mx_Custom_1"} <= set(log["field"])
    assert log["changed_at"].null_count() == 0


# --------------------------------------------------------------------------- catalog


def test_activity_types_frame_shape_and_custom_fields() -> None:
    types = activity_types_frame(catalog_raw())
    assert types.columns == ["event_code", "event_name", "score", "direction", "custom_fields"]
    assert types["event_code"].to_list() == [201, 205, 0, 3011]
    assert types["score"].to_list() == [5, 25, 1, 0]
    fields = types["custom_fields"].to_list()
    assert fields[0][0] == {
        "schema_name": "mx_Custom_1",
        "display_name": "Course",
        "data_type": "String",
    }
    assert fields[2] == [] and fields[3] == []  # empty or broken ActivityProperties
    empty = activity_types_frame([])
    assert empty.height == 0 and empty.schema == types.schema


def test_sample_catalog_covers_the_sample() -> None:
    types = activity_types_frame(sample_activity_types())
    assert set(load_sample()["event_code"].unique()) <= set(types["event_code"])
    with_fields = types.filter(pl.col("custom_fields").list.len() > 0)
    assert with_fields.height >= 8
