"""The client's lead, user and account-wide activity calls, over HTTP to the fake server."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import lsq_analysis as lsq
from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.api.leads import WINDOW_CAP
from lsq_analysis.errors import BadRequestError
from lsq_analysis.samples import load_sample_leads, load_sample_users

START, END = "2020-01-01", "2030-01-01"


@pytest.fixture(scope="module")
def fake():
    with FakeLeadSquared(rate_limit=None) as server:
        yield server


def _records(n: int, day: str = "2026-11-01") -> list[dict]:
    """n invented lead records, modified one second apart from ``day``."""
    base = dt.datetime.fromisoformat(day)
    out = []
    for i in range(n):
        when = (base + dt.timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S.000")
        out.append({
            "ProspectID": f"00000000-0000-4000-8000-{i:012d}", "ProspectAutoId": str(i + 1),
            "FirstName": f"Lead{i}", "Source": ("Google Ads", "Referral", "Webinar")[i % 3],
            "ProspectStage": "Prospect", "CreatedOn": when, "ModifiedOn": when,
            "LastModifiedOn": when,
        })  # fmt: skip
    return out


def test_users_are_typed_and_name_the_owners(fake: FakeLeadSquared) -> None:
    users = fake.client().get_users()
    assert users.height == len(fake.users()) and users["name"].null_count() == 0
    assert users["is_active"].sum() < users.height  # the deactivated user says so
    leads = fake.client().get_leads_by_ids(list(fake.leads))
    named = lsq.leads_frame(leads, users=users)
    assert named["owner_name"].null_count() == 0  # the API sends no owner name: users do


def test_leads_by_ids_equal_the_sample_leads(fake: FakeLeadSquared) -> None:
    ids = list(fake.leads)
    leads = fake.client().get_leads_by_ids([i.upper() for i in reversed(ids)])
    expected = lsq.leads_frame(load_sample_leads())
    assert sorted(leads["lead_id"]) == sorted(ids)
    core = ["lead_id", "first_name", "email", "source", "stage", "owner_id", "score", "created_on"]
    assert leads.select(core).sort("lead_id").equals(expected.select(core).sort("lead_id"))
    assert leads["source"].n_unique() >= 4 and leads["stage"].n_unique() >= 4
    assert len(load_sample_users()) >= 3
    with pytest.raises(ValueError, match="not GUIDs"):
        fake.client().get_leads_by_ids([*ids, "12345"])


def test_search_and_quick_search(fake: FakeLeadSquared) -> None:
    client = fake.client()
    everyone = client.get_leads_by_ids(list(fake.leads))
    stage = everyone["stage"].drop_nulls()[0]
    found = client.search_leads("ProspectStage", stage)
    assert sorted(found["lead_id"]) == sorted(everyone.filter(pl.col("stage") == stage)["lead_id"])
    first = everyone.filter(pl.col("first_name").is_not_null()).row(0, named=True)
    hits = client.quick_search(first["first_name"][:4].lower())
    assert first["lead_id"] in hits["lead_id"].to_list()
    assert client.quick_search("nobody-at-all-zz").height == 0  # [] is no match, not an error
    with pytest.raises(ValueError, match="op must be one of"):
        client.search_leads("ProspectStage", stage, op="IN")
    with pytest.raises(BadRequestError, match=r"(?i)lookupname|not a valid|invalid"):
        client.search_leads("NoSuchField", "x")


@pytest.mark.parametrize(("cap", "count"), [(500, "total"), (WINDOW_CAP, "capped")])
def test_leads_modified_splits_windows_at_the_cap(cap: int, count: str) -> None:
    records = _records(cap * 2 + 321)
    with FakeLeadSquared(
        {}, lead_records=records, max_leads_per_window=cap, lead_record_count=count,
        rate_limit=None,
    ) as fake:  # fmt: skip
        client = fake.client()
        leads = client.leads_modified("2026-11-01", "2026-11-02")
        calls = client.stats.calls
    assert leads.height == len(records) and leads["lead_id"].n_unique() == len(records)
    assert calls > 3  # the window was split
    assert set(leads["source"]) == {"Google Ads", "Referral", "Webinar"}


def test_leads_modified_window_is_end_exclusive_and_checked(fake: FakeLeadSquared) -> None:
    records = _records(10)
    with FakeLeadSquared({}, lead_records=records, rate_limit=None) as small:
        five = small.client().leads_modified("2026-11-01 00:00:00", "2026-11-01 00:00:05")
    assert five["first_name"].to_list() == [f"Lead{i}" for i in range(5)] or sorted(
        five["first_name"]
    ) == sorted(f"Lead{i}" for i in range(5))
    with pytest.raises(ValueError, match="is not before end"):
        fake.client().leads_modified("2026-12-01", "2026-11-01")


def test_activities_by_event_are_the_per_lead_activities_of_that_event(
    fake: FakeLeadSquared,
) -> None:
    client = fake.client()
    per_lead = lsq.fetch_activities(list(fake.leads), client=client, progress=False)
    code = per_lead.filter(pl.col("event_code") != 3011)["event_code"].mode()[0]
    account = client.activities_by_event(int(code), START, END)
    expected = per_lead.filter(pl.col("event_code") == code)
    assert sorted(account["activity_id"]) == sorted(expected["activity_id"])
    assert set(account["event_code"]) == {code}
    assert set(account["event_name"]) == set(expected["event_name"])
    assert sorted(account["lead_id"]) == sorted(expected["lead_id"])


def test_a_200_with_status_error_is_an_error_and_retried() -> None:
    with FakeLeadSquared(rate_limit=None, error_200_rate=0.4, seed=5) as fake:
        client = fake.client(max_retries=8)
        for _ in range(10):
            assert client.get_users().height == len(fake.users())
        assert client.stats.retries > 0  # the error bodies sent with HTTP 200 were retried
    with (
        FakeLeadSquared(rate_limit=None, errors_with_200=True) as fake,
        pytest.raises(BadRequestError, match=r"(?i)invalid|lookupname"),
    ):
        fake.client().search_leads("NoSuchField", "x")  # a refusal sent with 200: not retried


def test_columns_take_frame_names_and_an_unknown_field_is_named(fake: FakeLeadSquared) -> None:
    client = fake.client()
    ids = list(fake.leads)[:5]
    by_frame_names = client.get_leads_by_ids(ids, columns=["source", "stage"])
    by_schema_names = client.get_leads_by_ids(ids, columns="Source,ProspectStage")
    assert by_frame_names.equals(by_schema_names)
    assert by_frame_names["source"].null_count() == 0
    with pytest.warns(UserWarning, match=r"mx_Citty.*schema names.*kept"):
        kept = client.get_leads_by_ids(ids, columns=["stage", "mx_Citty"])
    assert kept.height == 5 and kept["stage"].null_count() == 0  # the leads fetched are kept
    with pytest.warns(UserWarning, match="NoSuchField"):
        client.search_leads("stage", by_frame_names["stage"][0], columns=["NoSuchField"])
    with pytest.raises(ValueError, match="not a lead field's schema name"):
        client.get_leads_by_ids(ids, columns=["first name"])
