"""Issue 2's "done when": a server whose paging reading, page cap, rate-limit style and limit
the client is not told, with 5% transient 500s: 40 leads of 0-300 activities, fetched by four
threads sharing one client, come back with every activity exactly once and nothing raised."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from lsq_analysis.api.client import LeadSquaredClient
from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.samples import synthetic_activities


@pytest.mark.parametrize(
    ("paging", "record_count", "cap", "style", "limit"),
    [
        ("row", "page", 37, "429", (25, 0.5)),
        ("page0", "total", None, "200", (20, 0.5)),
        ("page1", "page", 50, "403", (15, 0.5)),
    ],
)
def test_forty_leads_every_activity_once_against_an_untold_server(
    paging: str, record_count: str, cap: int | None, style: str, limit: tuple[int, float]
) -> None:
    leads = synthetic_activities(40, seed=11)
    first, second = list(leads)[:2]
    leads[first], leads[second] = [], leads[second][:1]  # the ends of the range too
    with FakeLeadSquared(
        leads,
        paging=paging,
        record_count=record_count,
        max_page_size=cap,
        rate_limit=limit,
        rate_limit_style=style,
        error_rate=0.05,
    ) as fake:
        assert len(fake.leads) == 40
        sizes = [len(rows) for rows in fake.leads.values()]
        assert min(sizes) == 0 and max(sizes) > 250
        # Told neither the reading nor the cap, and a limit above the server's.
        client = LeadSquaredClient(
            fake.url,
            fake.access_key,
            fake.secret_key,
            max_calls=100,
            page_size=100,  # so leads span pages even where the server has no cap
            per_seconds=0.25,  # not even the window is the server's
            backoff=(0.05, 0.5),
            timeout=5.0,
        )
        with ThreadPoolExecutor(4) as pool:
            fetched = dict(
                zip(fake.leads, pool.map(client.get_lead_activities, fake.leads), strict=True)
            )

        for lead_id, rows in fake.leads.items():
            assert fetched[lead_id] == rows  # same activities, same order, each once
        assert client.paging.reading == paging
        assert (client.max_calls, client.per_seconds) == limit
        stats = client.stats
        assert stats.leads == 40 and stats.activities == sum(sizes)
        assert fake.stats.statuses.get(500, 0) > 0  # faults were injected, and survived
        assert stats.retries == stats.failed_calls


def test_every_kind_of_fault_with_threads_and_keys_in_the_query() -> None:
    leads = synthetic_activities(20, seed=5)
    with FakeLeadSquared(
        leads,
        seed=5,
        paging="page1",
        record_count="total",
        max_page_size=40,
        rate_limit=(30, 0.5),
        rate_limit_style="200",
        error_rate=0.03,
        drop_rate=0.03,
        truncate_rate=0.03,
        html_rate=0.03,
        slow_rate=0.01,
        slow_seconds=1.0,
        latency=(0.0, 0.005),
    ) as fake:
        client = fake.client(
            keys_in="query", max_calls=60, backoff=(0.02, 0.2), timeout=0.5, max_retries=8
        )
        with ThreadPoolExecutor(6) as pool:
            fetched = dict(
                zip(fake.leads, pool.map(client.get_lead_activities, fake.leads), strict=True)
            )
        assert fetched == fake.leads
        statuses = fake.stats.statuses
        assert statuses.get(500, 0) and statuses.get(502, 0) and fake.stats.dropped
        assert client.stats.retries == client.stats.failed_calls > 0
        assert set(fake.stats.keys_via) == {"query"}
