"""leads_frame, users_frame and with_leads on records shaped as LeadSquared's docs show them."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest

import lsq_analysis as lsq
from lsq_analysis.frames import LEAD_COLUMNS, USER_COLUMNS

A = "6F75B09D-0187-45D6-86DD-F848BD5A0ACA"
B = "ed477dea-d2fe-11e6-b5f1-22000aa8e760"
OWNER = "3b1041fb-8374-11e7-8758-0a106ee76b21"

FLAT = [  # the by-email example's layout: flat, every value a string
    {
        "ProspectID": A, "ProspectAutoId": "1016", "FirstName": "George", "LastName": "Jackson",
        "EmailAddress": "george@example.com", "Source": "Social Media", "SourceMedium": None,
        "ProspectStage": "Tournament Participant", "Score": "-10", "EngagementScore": "0",
        "OwnerId": OWNER.upper(), "CreatedOn": "2017-11-30 07:38:00.000",
        "ModifiedOn": "2022-05-12 10:10:41.000", "mx_City": "", "DoNotEmail": "0",
    },
    {"ProspectID": B, "FirstName": "John", "Score": "7.5", "ProspectStage": "Prospect",
     "CreatedOn": "2016-03-26 14:15:00", "mx_City": "Pune"},
]  # fmt: skip


def _pairs(record: dict) -> dict:
    """The same record in Leads.RecentlyModified's LeadPropertyList layout."""
    pairs = [{"Attribute": k, "Value": v, "Fields": None} for k, v in record.items()]
    return {"LeadPropertyList": [*pairs, {"Attribute": "CanUpdate", "Value": "true"}]}


def test_both_layouts_give_the_same_typed_frame() -> None:
    flat = lsq.leads_frame(FLAT)
    pairs = lsq.leads_frame({"RecordCount": 2, "Leads": [_pairs(r) for r in FLAT]})
    assert pairs.drop("CanUpdate").equals(flat)  # the unrequested attribute is kept, as text
    assert pairs["CanUpdate"].to_list() == ["true", "true"]
    assert list(flat.columns[: len(LEAD_COLUMNS)]) == list(LEAD_COLUMNS)
    assert dict(flat.schema) | dict(LEAD_COLUMNS) == dict(flat.schema)
    george = flat.row(0, named=True)
    assert george["lead_id"] == A.lower() and george["owner_id"] == OWNER
    assert george["score"] == -10.0 and george["engagement_score"] == 0.0
    assert george["created_on"] == datetime(2017, 11, 30, 7, 38, tzinfo=timezone.utc)
    assert george["source_medium"] is None and george["mx_City"] is None  # "" is null
    assert george["ProspectAutoId"] == "1016" and george["DoNotEmail"] == "0"
    assert flat["score"][1] == 7.5 and flat["mx_City"][1] == "Pune"


def test_a_lead_sent_twice_keeps_its_latest_record() -> None:
    newer = dict(FLAT[0], ProspectStage="Customer", ModifiedOn="2023-01-01 00:00:00.000")
    frame = lsq.leads_frame([FLAT[0], FLAT[1], newer])
    assert frame["lead_id"].to_list() == [A.lower(), B]
    assert frame["stage"].to_list() == ["Customer", "Prospect"]


def test_owner_names_come_from_the_users() -> None:
    users = [  # the Users.Get example's layout: ID, numeric StatusCode, keys may be absent
        {"ID": OWNER, "FirstName": "Bob", "LastName": "Doe", "EmailAddress": "bob@example.com",
         "Role": "Sales_User", "StatusCode": 0, "MemberOfGroups": ["Test"], "Tag": None,
         "IsPhoneCallAgent": False},
        {"ID": "stu1v2wx", "FirstName": "Frank", "LastName": "Doe", "Role": "Administrator",
         "StatusCode": 1, "IsPhoneCallAgent": True},
    ]  # fmt: skip
    frame = lsq.users_frame(users)
    assert list(frame.columns) == list(USER_COLUMNS)
    assert frame.select("name", "is_active", "groups", "is_phone_call_agent").rows() == [
        ("Bob Doe", True, ["Test"], False),
        ("Frank Doe", False, None, True),
    ]
    leads = lsq.leads_frame(FLAT, users=frame)
    assert leads.select("owner_name", "owner_email").rows() == [
        ("Bob Doe", "bob@example.com"),
        (None, None),
    ]
    sent = lsq.leads_frame([dict(FLAT[0], OwnerIdName="Robert D.")], users=users)
    assert sent["owner_name"].to_list() == ["Robert D."]  # what the API sent wins


def test_with_leads_adds_lead_columns_to_activities_eager_or_lazy() -> None:
    activities = lsq.load_sample().head(50)
    ids = activities["lead_id"].unique(maintain_order=True).to_list()
    leads = lsq.leads_frame([{"ProspectID": ids[0], "Source": "Google Ads", "ProspectStage": "X"}])
    joined = lsq.with_leads(activities, leads, columns=["source", "stage"])
    assert joined.columns[-2:] == ["lead.source", "lead.stage"]
    assert joined.drop("lead.source", "lead.stage").equals(activities)  # rows and order kept
    first = joined.filter(pl.col("lead_id") == ids[0])
    assert set(first["lead.source"]) == {"Google Ads"}
    assert joined.filter(pl.col("lead_id") != ids[0])["lead.source"].null_count() == (
        joined.height - first.height
    )
    lazy = lsq.with_leads(activities.lazy(), leads, columns=["source", "stage"])
    assert isinstance(lazy, pl.LazyFrame) and lazy.collect().equals(joined)
    again = lsq.with_leads(joined, leads)  # lead. columns already there are replaced
    assert again.columns.count("lead.source") == 1


def test_bad_input_says_what_to_fix() -> None:
    with pytest.raises(TypeError, match="list of dicts"):
        lsq.leads_frame("ProspectID")
    with pytest.raises(TypeError, match="every record must be a dict"):
        lsq.leads_frame([["ProspectID", A]])
    leads = lsq.leads_frame(FLAT)
    with pytest.raises(ValueError, match=r"no column 'sorce'.*source"):
        lsq.with_leads(lsq.load_sample(), leads, columns=["sorce"])
    with pytest.raises(ValueError, match="no lead_id"):
        lsq.with_leads(lsq.load_sample(), leads.drop("lead_id"))
    assert lsq.leads_frame([]).columns == list(LEAD_COLUMNS)
    assert lsq.users_frame([]).height == 0
    with pytest.warns(UserWarning, match="unknown date format"):
        lsq.leads_frame([{"ProspectID": A, "CreatedOn": "yesterday"}])
