"""The bundled sample and the synthetic generator carry every quirk of real responses."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from lsq_analysis.api.fake import synthetic as _synthetic
from lsq_analysis.samples import (
    sample_activity_types,
    sample_responses,
    samples_dir,
    synthetic_activities,
)


@pytest.fixture(scope="module")
def responses() -> dict[str, dict]:
    return sample_responses()


@pytest.fixture(scope="module")
def activities(responses: dict[str, dict]) -> list[dict]:
    return [a for r in responses.values() for a in r["ProspectActivities"]]


def _data(a: dict) -> dict[str, str]:
    return {d["Key"]: d["Value"] for d in a.get("Data", [])}


def test_size_and_variety(responses: dict[str, dict], activities: list[dict]) -> None:
    assert 20 <= len(responses) <= 30
    assert len(activities) >= 2000
    codes = Counter(a["EventCode"] for a in activities)
    assert len(codes) >= 15
    assert {0, 23, 2001, 3001, 3002, 3011, 12000} <= set(codes)
    assert any(200 <= c < 300 for c in codes)
    created = sorted(a["CreatedOn"] for a in activities)
    assert created[0][:7] != created[-1][:7]  # several months
    assert int(created[-1][5:7]) - int(created[0][5:7]) >= 4


def test_responses_are_api_shaped_newest_first(responses: dict[str, dict]) -> None:
    for lead_id, response in responses.items():
        rows = response["ProspectActivities"]
        assert response["RecordCount"] == len(rows)
        assert all(a["RelatedProspectId"] == lead_id for a in rows)
        created = [a["CreatedOn"] for a in rows]
        assert created == sorted(created, reverse=True)


def test_file_writes_surrogate_pairs_and_html_references() -> None:
    text = "".join(p.read_text() for p in samples_dir().glob("*.json"))
    assert re.search(r"\\ud835\\ud[c-f]", text)  # JSON surrogate pairs
    assert "&#x1D406;" in text and "&#xA0;" in text and "&#x1F447;" in text
    assert "\\\\ud835\\\\udc06" in text  # a literal escape inside a decoded string


def test_every_quirk_is_present(activities: list[dict]) -> None:
    by_id_code = Counter((a["Id"], a["EventCode"]) for a in activities)
    ids = Counter(a["Id"] for a in activities)
    assert max(by_id_code.values()) == 1  # (Id, EventCode) is the identity
    shared = {i for i, n in ids.items() if n > 1}
    assert shared  # audit-log rows share Id with the activity they record
    logs = [a for a in activities if a["EventCode"] == 3011]
    assert all(a["Type"] == "Logs" and a["ActivityType"] == 101 for a in logs)
    assert all(a["EventName"] != "Logs" for a in logs)  # the changed type's name
    parents = {a["Id"]: a["EventName"] for a in activities if a["EventCode"] != 3011}
    assert all(parents[a["Id"]] == a["EventName"] for a in logs if a["Id"] in parents)
    log_times = Counter(a["CreatedOn"] for a in logs)
    assert max(log_times.values()) >= 2  # two log rows at the same second
    assert any(a["ModifiedOn"] == "0001-01-01 00:00:00" for a in activities)
    assert any("ActivityFields" not in a for a in activities)
    assert any(a["Data"] == [] for a in activities)
    for key in ("Address", "City", "State", "Country", "EmailType"):
        having = sum(key in a for a in activities)
        assert 0 < having < len(activities), key
    opened = [a for a in activities if a["EventCode"] == 0]
    assert all(a["ActivityType"] == 0 and a["ActivityScore"] == 1 for a in opened)
    sent = [a for a in activities if a["EventCode"] == 2001]
    assert all(a["Type"] == "Outbound" and a["IsEmailType"] for a in sent)
    assert any(a.get("EmailType") == "Email Campaign" for a in sent)
    for a in activities:
        if a["EventCode"] in (3001, 3002):
            assert a["Type"] == "Information" and a["ActivityType"] == 26
    log_data = [_data(a) for a in logs]
    assert all(d["Notes"] == '{"IsAsync" : False}' for d in log_data if d)
    assert all(
        re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d:\d\d [AP]M", d["EventTime"])
        for d in log_data
    )
    assert all(isinstance(json.loads(d["NewData"]), dict) for d in log_data)
    comments = [_data(a).get("Comment") for a in activities if a["EventCode"] == 3002]
    assert any(c and json.loads(c)["ActionType"] == "500" for c in comments)
    fields = [a["ActivityFields"] for a in activities if "ActivityFields" in a]
    assert any(re.fullmatch(r"\d+/\d+/\d{4} .* [AP]M", f.get("CreatedOn", "")) for f in fields)
    assert any(f.get("mx_Custom_1", "").startswith('{"mx_CustomObject_1"') for f in fields)
    assert any(
        len(f.get("ActivityEvent_Note", "")) > 1000
        and "https://" in f["ActivityEvent_Note"]
        and "\n" in f["ActivityEvent_Note"]
        for f in fields
    )
    assert {f.get("Status") for f in fields} >= {"Active", "Won", "sent", "FAILED"}


def test_scores_and_people(activities: list[dict]) -> None:
    catalog = {t["ActivityEvent"]: t["Score"] for t in sample_activity_types()}
    assert all(a["ActivityScore"] == catalog[a["EventCode"]] for a in activities)
    assert sum(1 for s in catalog.values() if s > 0) >= 8
    assert any(s < 0 for s in catalog.values())
    people = {
        (_data(a)["FullName"], _data(a)["EmailAddress"])
        for a in activities
        if a["EventCode"] == 2001
    }
    assert len(people) >= 20
    assert all("@" in email and " " in name for name, email in people)


def test_catalog_shape_matches_activities(activities: list[dict]) -> None:
    catalog = sample_activity_types()
    assert {t["ActivityEvent"] for t in catalog} >= {a["EventCode"] for a in activities}
    for t in catalog:
        assert set(t) == {
            "ActivityEvent",
            "ActivityEventName",
            "Score",
            "Direction",
            "ActivityProperties",
        }
        meta = json.loads(t["ActivityProperties"])["FormMetaData"]
        assert all({"SchemaName", "DisplayName", "DataType"} <= set(m) for m in meta)
    # the same mx_Custom_N means different things in different event types
    names = {
        m["DisplayName"]
        for t in catalog
        for m in json.loads(t["ActivityProperties"])["FormMetaData"]
        if m["SchemaName"] == "mx_Custom_1"
    }
    assert len(names) >= 5


def test_bundled_sample_is_the_generator_output() -> None:
    leads = _synthetic.generate(25, activities=(40, 160), seed=2025, days=180)
    assert {k: {"RecordCount": len(v), "ProspectActivities": v} for k, v in leads.items()} == (
        sample_responses()
    )
    assert _synthetic.activity_types() == sample_activity_types()


def test_synthetic_is_deterministic_and_bounded() -> None:
    a = synthetic_activities(5, activities=(10, 20), seed=7, start="2024-03-01", days=30)
    b = synthetic_activities(5, activities=(10, 20), seed=7, start="2024-03-01", days=30)
    c = synthetic_activities(5, activities=(10, 20), seed=8, start="2024-03-01", days=30)
    assert a == b and a != c
    assert len(a) == 5
    for rows in a.values():
        assert 10 <= len(rows) <= 20
        assert all("2024-03-01" <= r["CreatedOn"] <= "2024-04-01" for r in rows)
    assert synthetic_activities(2, activities=(0, 0)) != {}
    assert all(v == [] for v in synthetic_activities(2, activities=(0, 0)).values())


@pytest.mark.parametrize("bad", [{"activities": (5, 1)}, {"activities": (-1, 3)}, {"days": 0}])
def test_synthetic_rejects_bad_ranges(bad: dict) -> None:
    with pytest.raises(ValueError):
        synthetic_activities(1, **bad)
