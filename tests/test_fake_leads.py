"""The fake's lead, user and account-wide activity calls, over real HTTP with ``requests``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests

from lsq_analysis.api.fake.account_activities import modified_on
from lsq_analysis.api.fake.leads import synthetic_leads, synthetic_users
from lsq_analysis.api.fake.server import (
    ACTIVITIES_BY_EVENT_PATH,
    LEADS_BY_IDS_PATH,
    LEADS_GET_PATH,
    LEADS_QUICK_SEARCH_PATH,
    LEADS_RECENTLY_MODIFIED_PATH,
    RETRIEVE_PATH,
    USERS_PATH,
    FakeLeadSquared,
)
from lsq_analysis.samples import (
    load_sample_leads,
    load_sample_users,
    sample_responses,
    synthetic_activities,
)

ALL_TIME = {"FromDate": "2000-01-01 00:00:00", "ToDate": "2100-01-01 00:00:00"}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
LEAD_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.000"


def keys(fake: FakeLeadSquared) -> dict[str, str]:
    return {"x-LSQ-AccessKey": fake.access_key, "x-LSQ-SecretKey": fake.secret_key}


def call(fake: FakeLeadSquared, path: str, body: object = None, **kwargs: Any) -> requests.Response:
    headers = {**keys(fake), **kwargs.pop("headers", {})}
    if path in (LEADS_QUICK_SEARCH_PATH, USERS_PATH):
        return requests.get(fake.url + path, headers=headers, timeout=10, **kwargs)
    return requests.post(fake.url + path, json=body, headers=headers, timeout=10, **kwargs)


def ok(fake: FakeLeadSquared, path: str, body: object = None, **kwargs: Any) -> Any:
    reply = call(fake, path, body, **kwargs)
    assert reply.status_code == 200, reply.text
    payload = reply.json()
    assert not (isinstance(payload, dict) and payload.get("Status") == "Error"), payload
    return payload


def flat(lead: dict[str, Any]) -> dict[str, Any]:
    return {pair["Attribute"]: pair["Value"] for pair in lead["LeadPropertyList"]}


def recently(
    window: dict[str, str] = ALL_TIME, columns: str = "ProspectID", index: int = 1, size: int = 100
) -> dict[str, Any]:
    return {
        "Parameter": window,
        "Columns": {"Include_CSV": columns},
        "Paging": {"PageIndex": index, "PageSize": size},
    }


def lookup(name: str, value: object, operator: str = "=", **extra: Any) -> dict[str, Any]:
    return {
        "Parameter": {"LookupName": name, "LookupValue": value, "SqlOperator": operator},
        **extra,
    }


@pytest.fixture(scope="module")
def sample_fake() -> Iterator[FakeLeadSquared]:
    with FakeLeadSquared(rate_limit=None) as fake:
        yield fake


def many_records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "ProspectID": str(uuid.UUID(int=i + 1)),
            "ProspectAutoId": str(i + 1),
            "FirstName": f"Lead{i}",
            "OwnerId": "98a4a201-a573-11e7-899b-0a195e6f33d1",
            "ModifiedOn": f"2025-03-{1 + i % 28:02d} 10:00:00.000",
            "LastModifiedOn": f"2025-03-{1 + i % 28:02d} 10:00:00.000",
        }
        for i in range(n)
    ]


# ---------------------------------------------------------------------------- the lead data


def test_sample_leads_agree_with_the_sample_activities() -> None:
    leads, users = load_sample_leads(), load_sample_users()
    responses = sample_responses()
    assert len(leads) == 25 and {lead["ProspectID"] for lead in leads} == set(responses)
    assert len({lead["Source"] for lead in leads}) >= 4
    assert len({lead["ProspectStage"] for lead in leads}) >= 4
    assert len({lead["OwnerId"] for lead in leads}) >= 3
    by_id = {user["ID"]: user for user in users}
    for lead in leads:
        assert all(value is None or isinstance(value, str) for value in lead.values())
        for name in ("CreatedOn", "ModifiedOn", "LastModifiedOn"):
            datetime.strptime(lead[name], LEAD_TIME_FORMAT)
        assert lead["CreatedOn"] <= lead["ModifiedOn"] <= lead["LastModifiedOn"]
        int(lead["Score"]), int(lead["EngagementScore"]), int(lead["ProspectAutoId"])
        rows = responses[lead["ProspectID"]]["ProspectActivities"]  # newest first
        data = [{d["Key"]: d["Value"] for d in row.get("Data") or []} for row in rows]
        capture = next(d for row, d in zip(rows, data, strict=True) if row["EventCode"] == 23)
        assert capture["FullName"] == f"{lead['FirstName']} {lead['LastName']}"
        assert capture["EmailAddress"] == lead["EmailAddress"]
        assert capture["Source"] == lead["Source"]
        stages = [
            d["CurrentStage"] for row, d in zip(rows, data, strict=True) if row["EventCode"] == 3002
        ]
        assert lead["ProspectStage"] == (stages[0] if stages else "Prospect")
        owner = by_id[lead["OwnerId"]]
        assert owner["EmailAddress"] == lead["OwnerIdEmailAddress"] and owner["StatusCode"] == 0
        newest = max(row["CreatedOn"] for row in rows)
        assert lead["LastModifiedOn"] >= newest + ".000"
    assert load_sample_leads() == leads and load_sample_leads() is not leads  # fresh copies


def test_synthetic_leads_and_the_default_fake() -> None:
    activities = synthetic_activities(6, activities=(5, 30), seed=4)
    leads = synthetic_leads(activities, seed=4)
    assert leads == synthetic_leads(activities, seed=4)
    assert sorted(lead["ProspectID"] for lead in leads) == sorted(activities)
    assert [lead["ProspectAutoId"] for lead in leads] == [str(1001 + i) for i in range(6)]
    user_ids = {user["ID"] for user in synthetic_users(activities, leads)}
    assert {lead["OwnerId"] for lead in leads} <= user_ids
    fake = FakeLeadSquared(synthetic=6, seed=4, leads={})
    served = sorted(fake.lead_records(), key=lambda lead: int(lead["ProspectAutoId"]))
    assert served == synthetic_leads(fake.leads, seed=4)
    default = FakeLeadSquared()
    assert default.lead_records() == load_sample_leads()
    assert default.users() == load_sample_users()


def test_leads_follow_the_activities_served() -> None:
    fake = FakeLeadSquared(leads={})
    assert fake.lead_records() == []
    new = synthetic_activities(1, activities=(10, 10), seed=9)
    fake.leads.update(new)
    (record,) = fake.lead_records()
    assert record["ProspectID"] == next(iter(new)) and record["ProspectAutoId"] == "1001"
    given = {"ProspectID": str(uuid.UUID(int=5)).upper(), "FirstName": "Given"}
    assert FakeLeadSquared(leads={}, lead_records=[given]).lead_records() == [given]
    users = [{"ID": "u1", "FirstName": "Only"}]
    assert FakeLeadSquared(leads={}, users=users).users() == users


# ---------------------------------------------------------------------------- RecentlyModified


def test_recently_modified_shape(sample_fake: FakeLeadSquared) -> None:
    reply = ok(sample_fake, LEADS_RECENTLY_MODIFIED_PATH, recently(columns="FirstName, createdon"))
    assert set(reply) == {"RecordCount", "Leads"} and reply["RecordCount"] == 25
    assert len(reply["Leads"]) == 25
    for lead in reply["Leads"]:
        assert set(lead) == {"LeadPropertyList"}
        pairs = lead["LeadPropertyList"]
        assert all(
            set(p) == {"Attribute", "Value", "Fields"} and p["Fields"] is None for p in pairs
        )
        attributes = [p["Attribute"] for p in pairs]
        assert attributes == [
            "FirstName",
            "CreatedOn",
            "ProspectID",
            "ProspectAutoId",
            "OwnerId",
            "CanUpdate",
        ]
        values = flat(lead)
        assert values["CanUpdate"] == "true" and values["ProspectAutoId"].isdigit()
        datetime.strptime(values["CreatedOn"], LEAD_TIME_FORMAT)


@pytest.mark.parametrize("field", ["LastModifiedOn", "ModifiedOn"])
def test_recently_modified_window(field: str) -> None:
    with FakeLeadSquared(rate_limit=None, lead_window_field=field) as fake:
        records = fake.lead_records()
        times = sorted(record[field] for record in records)
        start, end = times[5][:19], times[15][:19]  # inclusive at both ends
        expected = {r["ProspectID"] for r in records if start <= r[field][:19] <= end}
        window = {"FromDate": start, "ToDate": end}
        reply = ok(fake, LEADS_RECENTLY_MODIFIED_PATH, recently(window, "ProspectID," + field))
        got = {flat(lead)["ProspectID"] for lead in reply["Leads"]}
        assert got == expected and reply["RecordCount"] == len(expected) == 11
        sent = [flat(lead)[field] for lead in reply["Leads"]]
        assert sent == sorted(sent)  # by default oldest change first
        empty = {"FromDate": "2030-01-01 00:00:00", "ToDate": "2030-01-02 00:00:00"}
        assert ok(fake, LEADS_RECENTLY_MODIFIED_PATH, recently(empty)) == {
            "RecordCount": 0,
            "Leads": [],
        }


def test_recently_modified_paging_and_sorting(sample_fake: FakeLeadSquared) -> None:
    body = recently(size=7)
    body["Sorting"] = {"ColumnName": "ProspectAutoId", "Direction": "1"}
    pages = []
    for index in range(1, 6):
        body["Paging"]["PageIndex"] = index
        reply = ok(sample_fake, LEADS_RECENTLY_MODIFIED_PATH, body)
        assert reply["RecordCount"] == 25  # the total, on every page
        pages.append([int(flat(lead)["ProspectAutoId"]) for lead in reply["Leads"]])
    assert [len(p) for p in pages] == [7, 7, 7, 4, 0]
    autos = [auto for p in pages for auto in p]
    assert autos == sorted(autos, reverse=True) and len(set(autos)) == 25
    body["Sorting"] = {"ColumnName": "ProspectAutoId", "Direction": 0}  # a number works too
    body["Paging"]["PageIndex"] = 1
    first = ok(sample_fake, LEADS_RECENTLY_MODIFIED_PATH, body)["Leads"]
    assert [int(flat(lead)["ProspectAutoId"]) for lead in first] == sorted(autos)[:7]


def test_recently_modified_caps_a_window_at_5000() -> None:
    records = many_records(5003)
    march = {"FromDate": "2025-03-01 00:00:00", "ToDate": "2025-03-31 23:59:59"}
    with FakeLeadSquared(leads={}, lead_records=records, rate_limit=None) as fake:
        whole = ok(fake, LEADS_RECENTLY_MODIFIED_PATH, recently(march, size=10_000))
        assert whole["RecordCount"] == 5003 and len(whole["Leads"]) == 5000
        sizes = []
        for index in range(1, 8):
            reply = ok(fake, LEADS_RECENTLY_MODIFIED_PATH, recently(march, index=index, size=1000))
            assert reply["RecordCount"] == 5003
            sizes.append(len(reply["Leads"]))
        assert sizes == [1000, 1000, 1000, 1000, 1000, 0, 0]
        # a client that splits the window gets every lead
        halves = [
            {"FromDate": "2025-03-01 00:00:00", "ToDate": "2025-03-14 23:59:59"},
            {"FromDate": "2025-03-15 00:00:00", "ToDate": "2025-03-31 23:59:59"},
        ]
        found = set()
        for half in halves:
            reply = ok(fake, LEADS_RECENTLY_MODIFIED_PATH, recently(half, size=5000))
            assert reply["RecordCount"] == len(reply["Leads"]) < 5000
            found |= {flat(lead)["ProspectID"] for lead in reply["Leads"]}
        assert found == {r["ProspectID"] for r in records}
    for meaning, expected in (("capped", [5000, 5000]), ("page", [3000, 2000])):
        with FakeLeadSquared(
            leads={}, lead_records=records, rate_limit=None, lead_record_count=meaning
        ) as fake:
            counts = [
                ok(fake, LEADS_RECENTLY_MODIFIED_PATH, recently(march, index=i, size=3000))[
                    "RecordCount"
                ]
                for i in (1, 2)
            ]
            assert counts == expected
    with FakeLeadSquared(
        leads={}, lead_records=records[:30], rate_limit=None, max_leads_per_window=10
    ) as fake:
        reply = ok(fake, LEADS_RECENTLY_MODIFIED_PATH, recently(march, size=100))
        assert reply["RecordCount"] == 30 and len(reply["Leads"]) == 10


def test_recently_modified_errors(sample_fake: FakeLeadSquared) -> None:
    no_date = call(sample_fake, LEADS_RECENTLY_MODIFIED_PATH, recently({"ToDate": "2025-01-01"}))
    assert no_date.status_code == 500
    assert no_date.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"
    bad = {"FromDate": "01/02/2025", "ToDate": "2025-01-03 00:00:00"}
    bad_date = call(sample_fake, LEADS_RECENTLY_MODIFIED_PATH, recently(bad))
    assert bad_date.status_code == 400
    assert bad_date.json()["ExceptionType"] == "MXInvalidInputException"
    paging = call(sample_fake, LEADS_RECENTLY_MODIFIED_PATH, recently(index=0))
    assert paging.status_code == 400  # PageIndex is 1-based
    words = call(
        sample_fake, LEADS_RECENTLY_MODIFIED_PATH, {**recently(), "Paging": {"PageIndex": "x"}}
    )
    assert words.status_code == 500 and words.json()["ExceptionType"] == "System.FormatException"
    body = {**recently(), "Sorting": {"ColumnName": "NoSuchColumn", "Direction": "1"}}
    assert call(sample_fake, LEADS_RECENTLY_MODIFIED_PATH, body).status_code == 400
    not_json = call(sample_fake, LEADS_RECENTLY_MODIFIED_PATH, data=b"{oops")
    assert not_json.status_code == 400 and not_json.json()["Status"] == "Error"


def test_unknown_columns_are_left_out(sample_fake: FakeLeadSquared) -> None:
    reply = ok(sample_fake, LEADS_RECENTLY_MODIFIED_PATH, recently(columns="mx_Nothing,FirstName"))
    assert "mx_Nothing" not in flat(reply["Leads"][0]) and "FirstName" in flat(reply["Leads"][0])
    leads = ok(
        sample_fake,
        LEADS_GET_PATH,
        lookup("ProspectStage", "Enrolled", Columns={"Include_CSV": "mx_Nothing,mx_City"}),
    )
    assert leads and all(list(lead) == ["mx_City"] for lead in leads)


# ---------------------------------------------------------------------------- Leads.Get


def test_leads_get_each_operator(sample_fake: FakeLeadSquared) -> None:
    records = sample_fake.lead_records()
    score = sorted(int(r["Score"]) for r in records)[12]
    created = sorted(r["CreatedOn"] for r in records)[10][:19]
    cases = [
        (lookup("ProspectStage", "qualified"), lambda r: r["ProspectStage"] == "Qualified"),
        (lookup("Source", "%search", "LIKE"), lambda r: r["Source"].endswith("Search")),
        (lookup("Score", str(score), ">"), lambda r: int(r["Score"]) > score),
        (lookup("Score", score, "<="), lambda r: int(r["Score"]) <= score),
        (lookup("CreatedOn", created, "<"), lambda r: r["CreatedOn"][:19] < created),
        (lookup("CreatedOn", created, ">="), lambda r: r["CreatedOn"][:19] >= created),
        (lookup("Source", "Facebook", "<>"), lambda r: r["Source"] != "Facebook"),
    ]
    for body, wanted in cases:
        leads = ok(
            sample_fake, LEADS_GET_PATH, {**body, "Paging": {"PageIndex": 1, "PageSize": 100}}
        )
        assert isinstance(leads, list)
        expected = {r["ProspectID"] for r in records if wanted(r)}
        assert expected and {lead["ProspectID"] for lead in leads} == expected, body


def test_leads_get_shape_paging_and_no_match(sample_fake: FakeLeadSquared) -> None:
    body = lookup(
        "ProspectStage", "Enrolled", Columns={"Include_CSV": "ProspectID, FirstName, Score"}
    )
    body["Sorting"] = {"ColumnName": "Score", "Direction": "1"}
    every = []
    for index in range(1, 10):
        body["Paging"] = {"PageIndex": index, "PageSize": 4}
        page = ok(sample_fake, LEADS_GET_PATH, body)
        every.extend(page)
        if len(page) < 4:
            break
    enrolled = [r for r in sample_fake.lead_records() if r["ProspectStage"] == "Enrolled"]
    assert len(every) == len(enrolled) == len({lead["ProspectID"] for lead in every})
    assert all(list(lead) == ["ProspectID", "FirstName", "Score"] for lead in every)
    assert all(isinstance(lead["Score"], str) for lead in every)
    scores = [int(lead["Score"]) for lead in every]
    assert scores == sorted(scores, reverse=True)
    assert ok(sample_fake, LEADS_GET_PATH, lookup("EmailAddress", "nobody@nowhere.test")) == []
    full = ok(sample_fake, LEADS_GET_PATH, lookup("ProspectStage", "Contacted"))
    assert set(full[0]) >= {"ProspectID", "OwnerIdEmailAddress", "mx_City", "LastModifiedOn"}


def test_leads_get_refuses_unknown_fields_and_operators(sample_fake: FakeLeadSquared) -> None:
    unknown = call(sample_fake, LEADS_GET_PATH, lookup("mx_NoSuchField", "x"))
    assert unknown.status_code == 400
    assert unknown.json()["Status"] == "Error"
    assert unknown.json()["ExceptionType"] == "MXInvalidInputException"
    assert call(sample_fake, LEADS_GET_PATH, lookup("Source", "a,b", "IN")).status_code == 400
    no_name = call(sample_fake, LEADS_GET_PATH, {"Parameter": {"LookupValue": "x"}})
    assert no_name.status_code == 500


def test_property_list_layout_for_get_and_quick_search() -> None:
    with FakeLeadSquared(rate_limit=None, lead_layout="property_list") as fake:
        leads = ok(
            fake,
            LEADS_GET_PATH,
            lookup(
                "ProspectStage", "Qualified", Columns={"Include_CSV": "ProspectID,ProspectStage"}
            ),
        )
        assert leads and all(set(lead) == {"LeadPropertyList"} for lead in leads)
        assert {flat(lead)["ProspectStage"] for lead in leads} == {"Qualified"}
        found = ok(fake, LEADS_QUICK_SEARCH_PATH, params={"key": "meera"})
        assert found and all("LeadPropertyList" in lead for lead in found)


# ---------------------------------------------------------------------------- quick search


def test_quick_search(sample_fake: FakeLeadSquared) -> None:
    records = sample_fake.lead_records()
    lead = records[3]
    by_name = ok(sample_fake, LEADS_QUICK_SEARCH_PATH, params={"key": lead["FirstName"].upper()})
    assert lead["ProspectID"] in {r["ProspectID"] for r in by_name}
    assert all(lead["FirstName"].lower() in json.dumps(r).lower() for r in by_name)
    by_email = ok(sample_fake, LEADS_QUICK_SEARCH_PATH, params={"key": lead["EmailAddress"][2:12]})
    assert lead["ProspectID"] in {r["ProspectID"] for r in by_email}
    by_phone = ok(sample_fake, LEADS_QUICK_SEARCH_PATH, params={"key": lead["Phone"][-6:]})
    assert [r["ProspectID"] for r in by_phone] == [lead["ProspectID"]]
    assert set(by_phone[0]) == set(lead)  # flat, every field
    assert ok(sample_fake, LEADS_QUICK_SEARCH_PATH, params={"key": "zzqx-no-one"}) == []
    assert ok(sample_fake, LEADS_QUICK_SEARCH_PATH, params={"key": " "}) == []


# ---------------------------------------------------------------------------- ByIds


def test_by_ids_shape_order_and_paging(sample_fake: FakeLeadSquared) -> None:
    ids = [r["ProspectID"] for r in sample_fake.lead_records()][:6]
    asked = [ids[4].upper(), ids[1], str(uuid.UUID(int=77)), ids[4], *ids[:1]]
    body = {
        "SearchParameters": {"LeadIds": asked},
        "Columns": {"Include_CSV": "ProspectID, FirstName, ProspectStage, OwnerIdEmailAddress"},
        "Paging": {"PageIndex": 1, "PageSize": 2},
    }
    first = ok(sample_fake, LEADS_BY_IDS_PATH, body)
    assert first["RecordCount"] == 3
    assert [lead["ProspectID"] for lead in first["Leads"]] == [ids[4], ids[1]]
    assert list(first["Leads"][0]) == [
        "ProspectID",
        "FirstName",
        "ProspectStage",
        "OwnerIdEmailAddress",
    ]
    body["Paging"]["PageIndex"] = 2
    second = ok(sample_fake, LEADS_BY_IDS_PATH, body)
    assert second["RecordCount"] == 3 and [lead["ProspectID"] for lead in second["Leads"]] == [
        ids[0]
    ]
    nothing = {**body, "SearchParameters": {"LeadIds": [str(uuid.UUID(int=78))]}}
    assert ok(sample_fake, LEADS_BY_IDS_PATH, nothing) == {"RecordCount": 0, "Leads": []}


def test_by_ids_limits_and_mandatory_fields(sample_fake: FakeLeadSquared) -> None:
    too_many = {
        "SearchParameters": {"LeadIds": [str(uuid.UUID(int=i)) for i in range(10_001)]},
        "Columns": {"Include_CSV": "ProspectID"},
    }
    refused = call(sample_fake, LEADS_BY_IDS_PATH, too_many)
    assert refused.status_code == 400 and "10,000" in refused.json()["ExceptionMessage"]
    too_many["SearchParameters"]["LeadIds"] = too_many["SearchParameters"]["LeadIds"][:10_000]
    assert ok(sample_fake, LEADS_BY_IDS_PATH, too_many)["RecordCount"] == 0
    no_columns = {"SearchParameters": {"LeadIds": [str(uuid.UUID(int=1))]}}
    reply = call(sample_fake, LEADS_BY_IDS_PATH, no_columns)
    assert reply.status_code == 500
    assert reply.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"
    assert (
        call(sample_fake, LEADS_BY_IDS_PATH, {"Columns": {"Include_CSV": "FirstName"}}).status_code
        == 500
    )


@pytest.mark.parametrize(("id_key", "sent"), [(None, set()), ("ProspectId", {"ProspectId"})])
def test_by_ids_id_column_option(id_key: str | None, sent: set[str]) -> None:
    with FakeLeadSquared(rate_limit=None, by_ids_id_key=id_key) as fake:
        ids = [r["ProspectID"] for r in fake.lead_records()][:3]
        body = {
            "SearchParameters": {"LeadIds": ids},
            "Columns": {
                "Include_CSV": "CreatedOn, EmailAddress, ProspectId, ProspectAutoID, FirstName"
            },
        }
        reply = ok(fake, LEADS_BY_IDS_PATH, body)
        assert reply["RecordCount"] == 3
        for lead in reply["Leads"]:
            assert set(lead) == {"CreatedOn", "EmailAddress", "FirstName"} | sent | (
                {"ProspectAutoId"} if sent else set()
            )


# ---------------------------------------------------------------------------- Users.Get


def test_users_get(sample_fake: FakeLeadSquared) -> None:
    users = ok(sample_fake, USERS_PATH)
    assert isinstance(users, list) and users == load_sample_users()
    required = {
        "ID",
        "FirstName",
        "LastName",
        "EmailAddress",
        "Role",
        "StatusCode",
        "Tag",
        "IsPhoneCallAgent",
    }
    assert all(required <= set(user) for user in users)
    assert any("MemberOfGroups" not in user for user in users)
    assert any(isinstance(user.get("MemberOfGroups"), list) for user in users)
    assert all(isinstance(user["StatusCode"], int) for user in users)
    assert {user["StatusCode"] for user in users} == {0, 1}
    ids = {user["ID"] for user in users}
    assert {r["OwnerId"] for r in sample_fake.lead_records()} <= ids


# ---------------------------------------------------------------- RetrieveByActivityEvent


def by_event(event: int, window: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"Parameter": {**window, "ActivityEvent": event, **extra.pop("parameter", {})}, **extra}


def per_lead(fake: FakeLeadSquared, lead_id: str, event: int) -> list[dict[str, Any]]:
    reply = requests.post(
        fake.url + RETRIEVE_PATH,
        params={"leadId": lead_id},
        json={"Parameter": {"ActivityEvent": event}, "Paging": {"Offset": 0, "RowCount": 1000}},
        headers=keys(fake),
        timeout=10,
    )
    assert reply.status_code == 200
    return list(reply.json()["ProspectActivities"])


@pytest.mark.parametrize("event", [201, 206, 2001, 3002])
def test_by_event_holds_the_same_activities_as_the_per_lead_pulls(
    sample_fake: FakeLeadSquared, event: int
) -> None:
    window = {"FromDate": "2025-02-01 00:00:00", "ToDate": "2025-04-30 23:59:59"}
    start, end = (datetime.strptime(window[k], TIME_FORMAT) for k in ("FromDate", "ToDate"))
    expected: dict[str, dict[str, Any]] = {}
    for lead_id in sample_fake.leads:
        for row in per_lead(sample_fake, lead_id, event):
            if start <= datetime.strptime(modified_on(row), TIME_FORMAT) <= end:
                expected[row["Id"]] = row
    assert expected
    got: dict[str, dict[str, Any]] = {}
    body = by_event(event, window, Paging={"PageIndex": 1, "PageSize": 25})
    for index in range(1, 100):
        body["Paging"]["PageIndex"] = index
        reply = ok(sample_fake, ACTIVITIES_BY_EVENT_PATH, body)
        assert set(reply) == {"RecordCount", "List"} and reply["RecordCount"] == len(expected)
        got.update((item["ProspectActivityId"], item) for item in reply["List"])
        if not reply["List"]:
            break
    assert set(got) == set(expected)
    for activity_id, item in got.items():
        row = expected[activity_id]
        assert item["RelatedProspectId"] == row["RelatedProspectId"]
        assert item["ActivityEvent"] == str(event) and item["ActivityType"] == str(
            row["ActivityType"]
        )
        assert item["CreatedOn"] == row["CreatedOn"] and item["ModifiedOn"] == modified_on(row)
        for name, value in (row.get("ActivityFields") or {}).items():
            if name.startswith("mx_"):
                assert item[name] == value and isinstance(item[name], str)
        for name in ("CreatedBy", "CreatedByName", "ModifiedOn", "ActivityEvent_Note", "Status"):
            assert name in item


def test_by_event_filters_on_modified_on_and_sorts() -> None:
    lead = str(uuid.UUID(int=3))
    rows = [
        {
            "Id": "late-edit",
            "EventCode": 201,
            "ActivityType": 2,
            "RelatedProspectId": lead,
            "CreatedOn": "2025-01-01 09:00:00",
            "ModifiedOn": "2025-02-10 09:00:00",
            "ActivityFields": {"mx_Custom_1": "MBA", "mx_Custom_2": "", "Status": "Won"},
        },
        {
            "Id": "inside",
            "EventCode": 201,
            "ActivityType": 2,
            "RelatedProspectId": lead,
            "CreatedOn": "2025-02-05 09:00:00",
            "ModifiedOn": "2025-02-05 09:30:00",
            "ActivityFields": {"mx_Custom_1": "MSc"},
        },
        {
            "Id": "edited-after",
            "EventCode": 201,
            "ActivityType": 2,
            "RelatedProspectId": lead,
            "CreatedOn": "2025-02-06 09:00:00",
            "ModifiedOn": "2025-03-06 09:00:00",
        },
        {
            "Id": "inside",
            "EventCode": 3011,
            "CreatedOn": "2025-02-07 00:00:00",
            "ModifiedOn": "2025-02-07 00:00:00",
        },  # the audit log of "inside": not an activity of 201
    ]
    window = {"FromDate": "2025-02-01 00:00:00", "ToDate": "2025-02-28 23:59:59"}
    with FakeLeadSquared({lead: rows}, rate_limit=None) as fake:
        reply = ok(fake, ACTIVITIES_BY_EVENT_PATH, by_event(201, window))
        assert [i["ProspectActivityId"] for i in reply["List"]] == ["inside", "late-edit"]
        late = reply["List"][1]
        assert late["Status"] == "Won" and late["mx_Custom_2"] == ""
        assert late["mx_Custom_3"] == ""  # the catalog's fields are sent, empty
        newest = ok(
            fake,
            ACTIVITIES_BY_EVENT_PATH,
            by_event(201, window, Sorting={"ColumnName": "ModifiedOn", "Direction": 1}),
        )
        assert [i["ProspectActivityId"] for i in newest["List"]] == ["late-edit", "inside"]
        created = ok(
            fake,
            ACTIVITIES_BY_EVENT_PATH,
            by_event(201, window, Sorting={"ColumnName": "CreatedOn", "Direction": 0}),
        )
        assert [i["ProspectActivityId"] for i in created["List"]] == ["late-edit", "inside"]
        trimmed = ok(
            fake,
            ACTIVITIES_BY_EVENT_PATH,
            by_event(201, window, parameter={"RemoveEmptyValue": True}),
        )
        assert "mx_Custom_2" not in trimmed["List"][1] and "mx_Custom_3" not in trimmed["List"][1]
        assert trimmed["List"][1]["mx_Custom_1"] == "MBA"
        no_event = call(fake, ACTIVITIES_BY_EVENT_PATH, {"Parameter": window})
        assert no_event.status_code == 500
        assert no_event.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"
        word = call(fake, ACTIVITIES_BY_EVENT_PATH, by_event("abc", window))  # type: ignore[arg-type]
        assert word.status_code == 500 and word.json()["ExceptionType"] == "System.FormatException"


# ---------------------------------------------------------------------------- errors, keys, limits

EVERY_ROUTE: list[tuple[str, Any, dict[str, Any]]] = [
    (LEADS_RECENTLY_MODIFIED_PATH, recently(), {}),
    (LEADS_GET_PATH, lookup("ProspectStage", "Enrolled"), {}),
    (LEADS_QUICK_SEARCH_PATH, None, {"params": {"key": "a"}}),
    (
        LEADS_BY_IDS_PATH,
        {
            "SearchParameters": {"LeadIds": [str(uuid.UUID(int=1))]},
            "Columns": {"Include_CSV": "FirstName"},
        },
        {},
    ),
    (USERS_PATH, None, {}),
    (ACTIVITIES_BY_EVENT_PATH, by_event(201, ALL_TIME), {}),
]


def test_errors_with_status_200_option() -> None:
    with FakeLeadSquared(rate_limit=None, errors_with_200=True) as fake:
        unknown = call(fake, LEADS_GET_PATH, lookup("mx_NoSuchField", "x"))
        assert unknown.status_code == 200
        assert unknown.json()["Status"] == "Error"
        assert unknown.json()["ExceptionType"] == "MXInvalidInputException"
        assert isinstance(ok(fake, LEADS_GET_PATH, lookup("ProspectStage", "Enrolled")), list)
    with FakeLeadSquared(rate_limit=None, error_200_rate=1.0) as fake:
        for path, body, extra in EVERY_ROUTE:
            reply = call(fake, path, body, **extra)
            assert reply.status_code == 200, path
            assert set(reply.json()) == {"Status", "ExceptionType", "ExceptionMessage"}
            assert reply.json()["Status"] == "Error"
        activities = per_lead(fake, next(iter(fake.leads)), 201)  # the per-lead call is as before
        assert activities


def test_keys_are_checked_on_every_new_route(sample_fake: FakeLeadSquared) -> None:
    for path, body, extra in EVERY_ROUTE:
        wrong = call(sample_fake, path, body, headers={"x-LSQ-SecretKey": "nope"}, **extra)
        assert wrong.status_code == 401, path
        assert wrong.json()["ExceptionType"] == "MXUnAuthorizedAccessException"
        params = {
            **extra.get("params", {}),
            "accessKey": sample_fake.access_key,
            "secretKey": sample_fake.secret_key,
        }
        url = sample_fake.url + path
        if body is None:
            via_query = requests.get(url, params=params, timeout=10)
        else:
            via_query = requests.post(url, params=params, json=body, timeout=10)
        assert via_query.status_code == 200, path


@pytest.mark.parametrize(("path", "body", "extra"), EVERY_ROUTE)
def test_rate_limit_applies_to_the_new_routes(path: str, body: Any, extra: dict[str, Any]) -> None:
    with FakeLeadSquared(rate_limit=(2, 30.0)) as fake:
        statuses = [call(fake, path, body, **extra).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert (
            call(fake, path, body, **extra).json()["ExceptionType"]
            == "MXAPIRateLimitExceededException"
        )
        assert fake.stats.rate_limited == 2


def test_faults_apply_to_the_new_routes() -> None:
    with FakeLeadSquared(rate_limit=None, error_rate=1.0) as fake:
        assert call(fake, USERS_PATH).status_code == 500
    with FakeLeadSquared(rate_limit=None, html_rate=1.0) as fake:
        assert call(fake, LEADS_GET_PATH, lookup("Source", "x")).status_code == 502
    with FakeLeadSquared(rate_limit=None, truncate_rate=1.0) as fake:
        reply = call(fake, LEADS_RECENTLY_MODIFIED_PATH, recently())
        assert reply.status_code == 200
        with pytest.raises(ValueError):
            reply.json()


def test_options_are_checked() -> None:
    for bad in (
        {"lead_layout": "xml"},
        {"lead_record_count": "all"},
        {"lead_window_field": "CreatedOn"},
        {"by_ids_id_key": "Id"},
        {"max_leads_per_window": 0},
        {"error_200_rate": 2.0},
    ):
        with pytest.raises(ValueError):
            FakeLeadSquared(leads={}, **bad)
