"""LeadSquaredClient against the fake server over loopback HTTP: paging, keys, basics."""

from __future__ import annotations

import logging
import re
import uuid

import pytest

from lsq_analysis.api.client import LeadSquaredClient, validate_lead_id
from lsq_analysis.api.fake.server import FakeLeadSquared


def make_leads(*sizes: int, seed: int = 0) -> dict[str, list[dict]]:
    """Small leads of the given sizes; rows newest first, with a shared-Id audit pair."""
    leads = {}
    for index, size in enumerate(sizes):
        lead_id = str(uuid.UUID(int=(seed << 64) + index + 1))
        rows = []
        for k in range(size):
            rows.append(
                {
                    "Id": str(uuid.UUID(int=(seed << 96) + (index << 32) + k // 2)),
                    "EventCode": 222 if k % 2 == 0 else 3011,
                    "CreatedOn": f"2025-01-01 00:{k // 60 % 60:02d}:{k % 60:02d}",
                    "RelatedProspectId": lead_id,
                    "Data": [{"Key": "Row", "Value": str(k)}],
                }
            )
        leads[lead_id] = rows
    return leads


@pytest.mark.parametrize("paging", ["row", "page0", "page1"])
@pytest.mark.parametrize("record_count", ["total", "page"])
def test_every_activity_once_in_each_reading(paging: str, record_count: str) -> None:
    leads = make_leads(0, 1, 9, 10, 11, 35)
    with FakeLeadSquared(
        leads, paging=paging, record_count=record_count, max_page_size=10, rate_limit=None
    ) as fake:
        client = fake.client(page_size=25)
        for lead_id, rows in leads.items():
            assert client.get_lead_activities(lead_id) == rows
        assert client.paging.reading == paging
        assert client.paging.cap == 10


def test_non_guid_lead_id_is_refused_before_any_call() -> None:
    with FakeLeadSquared({}, rate_limit=None) as fake:
        client = fake.client()
        with pytest.raises(ValueError, match="GUID"):
            client.iter_activity_pages("not-a-guid")
        assert fake.stats.calls == 0
    assert validate_lead_id(" 3A6D5EA2-400E-4A2F-A728-FBFA0B0C1DDF") == (
        "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"  # one rule everywhere: compared lower-case
    )


def test_repr_masks_keys() -> None:
    client = LeadSquaredClient("http://127.0.0.1:1", "u$rTESTACCESSKEY123", "TESTSECRET$456")
    text = repr(client)
    assert "TESTACCESSKEY" not in text and "TESTSECRET" not in text
    assert "127.0.0.1" in text


def test_one_debug_line_per_call_with_lead_page_status_rows_and_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    leads = make_leads(23)
    (lead_id,) = leads
    with FakeLeadSquared(leads, max_page_size=10, error_rate=0.3, seed=2, rate_limit=None) as fake:
        client = fake.client(backoff=(0.01, 0.02), max_retries=10)
        with caplog.at_level(logging.DEBUG, logger="lsq_analysis"):
            assert client.get_lead_activities(lead_id) == leads[lead_id]
        calls = fake.stats.calls
    lines = [r.getMessage() for r in caplog.records if r.name == "lsq_analysis"]
    assert len(lines) == calls == client.stats.calls
    assert client.stats.retries > 0
    assert any("HTTP 500 ServerError" in line for line in lines)
    assert any("(retry 1)" in line for line in lines)
    assert re.fullmatch(
        rf"Retrieve lead={lead_id} Offset=0 RowCount=1000( \(retry \d+\))? -> HTTP 200, "
        r"10 rows in \d+\.\d{3} s",
        next(line for line in lines if "HTTP 200" in line),
    )


def test_stats_count_pages_activities_and_leads() -> None:
    leads = make_leads(0, 5, 21)
    with FakeLeadSquared(leads, paging="page1", max_page_size=10, rate_limit=None) as fake:
        client = fake.client(paging="page1")
        for lead_id in leads:
            client.get_lead_activities(lead_id)
        stats = client.stats
        assert (stats.leads, stats.activities, stats.pages) == (3, 26, 4)  # non-empty pages
        assert stats.calls == fake.stats.calls and stats.failed_calls == 0


def test_pages_are_lazy() -> None:
    leads = make_leads(30)
    (lead_id,) = leads
    with FakeLeadSquared(leads, paging="row", max_page_size=10, rate_limit=None) as fake:
        pages = fake.client(paging="row").iter_activity_pages(lead_id)
        assert fake.stats.calls == 0
        assert next(pages) == leads[lead_id][:10]
        assert fake.stats.calls == 1


def test_close_and_context_manager() -> None:
    leads = make_leads(3)
    (lead_id,) = leads
    with FakeLeadSquared(leads, rate_limit=None) as fake:
        with fake.client() as client:
            assert client.get_lead_activities(lead_id) == leads[lead_id]
        assert client._sessions == []
        assert client.get_lead_activities(lead_id) == leads[lead_id]  # usable after close
        client.close()
