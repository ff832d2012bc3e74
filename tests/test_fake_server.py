"""FakeLeadSquared on its own, over real HTTP on loopback with plain ``requests``."""

from __future__ import annotations

import threading
import uuid

import pytest
import requests

from lsq_analysis.api.fake.server import (
    ACTIVITY_TYPES_PATH,
    RETRIEVE_PATH,
    USER_PATH,
    FakeLeadSquared,
    FakeServerStats,
)

LEAD = str(uuid.UUID(int=42))
ROWS = [{"Id": f"id-{k}", "EventCode": 201 if k % 3 else 0, "N": k} for k in range(23)]


def post(fake: FakeLeadSquared, body: object = None, *, lead: str = LEAD, **kwargs):
    headers = {"x-LSQ-AccessKey": fake.access_key, "x-LSQ-SecretKey": fake.secret_key}
    headers.update(kwargs.pop("headers", {}))
    return requests.post(
        fake.url + RETRIEVE_PATH,
        params={"leadId": lead, **kwargs.pop("params", {})},
        json=body,
        headers=headers,
        timeout=kwargs.pop("timeout", 5),
        **kwargs,
    )


def page(fake: FakeLeadSquared, offset: int, rows: int, **body: object) -> dict:
    reply = post(fake, {"Paging": {"Offset": str(offset), "RowCount": str(rows)}, **body})
    assert reply.status_code == 200
    return reply.json()


def ns(reply: dict) -> list[int]:
    return [row["N"] for row in reply["ProspectActivities"]]


@pytest.mark.parametrize(
    ("paging", "offset", "expected"),
    [
        ("row", 0, [0, 1, 2, 3, 4]),
        ("row", 1, [1, 2, 3, 4, 5]),
        ("page0", 1, [5, 6, 7, 8, 9]),
        ("page1", 1, [0, 1, 2, 3, 4]),
        ("page1", 2, [5, 6, 7, 8, 9]),
        ("page1", 0, [0, 1, 2, 3, 4]),
    ],
)
def test_offset_in_each_reading(paging: str, offset: int, expected: list[int]) -> None:
    with FakeLeadSquared({LEAD: ROWS}, paging=paging, rate_limit=None) as fake:
        assert ns(page(fake, offset, 5)) == expected


def test_record_count_meanings_and_page_cap() -> None:
    with FakeLeadSquared({LEAD: ROWS}, record_count="total", max_page_size=4) as fake:
        reply = page(fake, 0, 10)
        assert reply["RecordCount"] == 23 and ns(reply) == [0, 1, 2, 3]
    with FakeLeadSquared({LEAD: ROWS}, record_count="page", paging="page0") as fake:
        reply = page(fake, 2, 10)
        assert reply["RecordCount"] == 3 and ns(reply) == [20, 21, 22]
        assert page(fake, 3, 10) == {"RecordCount": 0, "ProspectActivities": []}


def test_default_row_count_is_25_and_event_filter() -> None:
    many = [{"Id": f"id-{k}", "EventCode": 201, "N": k} for k in range(40)]
    with FakeLeadSquared({LEAD: many}) as fake:
        assert len(post(fake, {}).json()["ProspectActivities"]) == 25
    with FakeLeadSquared({LEAD: ROWS}) as fake:
        reply = page(fake, 0, 100, Parameter={"ActivityEvent": 0})
        assert ns(reply) == [0, 3, 6, 9, 12, 15, 18, 21]
        assert reply["RecordCount"] == 8
        unknown = requests.post(
            fake.url + RETRIEVE_PATH,
            params={"leadId": str(uuid.UUID(int=9))},
            headers={"x-LSQ-AccessKey": fake.access_key, "x-LSQ-SecretKey": fake.secret_key},
            timeout=5,
        )
        assert unknown.json() == {"RecordCount": 0, "ProspectActivities": []}


def test_keys_in_headers_or_query_and_401() -> None:
    with FakeLeadSquared({LEAD: ROWS}, access_key="u$rTESTA", secret_key="TESTSECRET$B") as fake:
        via_query = requests.post(
            fake.url + RETRIEVE_PATH,
            params={"accessKey": "u$rTESTA", "secretKey": "TESTSECRET$B", "leadId": LEAD},
            json={},
            timeout=5,
        )
        assert via_query.status_code == 200
        assert post(fake, {}).status_code == 200
        wrong = post(fake, {}, headers={"x-LSQ-SecretKey": "nope"})
        assert wrong.status_code == 401
        body = wrong.json()
        assert (
            body["Status"] == "Error" and body["ExceptionType"] == "MXUnAuthorizedAccessException"
        )
        assert "nope" not in wrong.text
        assert fake.stats.keys_via == {"query": 1, "headers": 2}
        assert fake.stats.statuses == {200: 2, 401: 1}


def test_bad_requests_404_400_and_500() -> None:
    with FakeLeadSquared({LEAD: ROWS}) as fake:
        keys = {"x-LSQ-AccessKey": fake.access_key, "x-LSQ-SecretKey": fake.secret_key}
        missing = requests.get(fake.url + "/v2/Nothing.svc/Here", headers=keys, timeout=5)
        assert missing.status_code == 404 and missing.json()["Status"] == "Error"
        assert post(fake, data=b"{not json").status_code == 400
        assert post(fake, {"Paging": []}).status_code == 400
        assert post(fake, {}, lead="not-a-guid").status_code == 400
        assert post(fake, {"Paging": {"Offset": -1, "RowCount": 5}}).status_code == 400
        malformed = post(fake, {"Paging": {"Offset": "one", "RowCount": "10"}})
        assert malformed.status_code == 500
        assert malformed.json()["ExceptionMessage"] == "Input string was not in a correct format."


@pytest.mark.parametrize("style", ["429", "403", "200"])
def test_rate_limit_reply_in_each_style(style: str) -> None:
    with FakeLeadSquared(
        {LEAD: ROWS}, rate_limit=(3, 30.0), rate_limit_style=style, retry_after=True
    ) as fake:
        statuses = [post(fake, {}).status_code for _ in range(3)]
        limited = post(fake, {})
        assert statuses == [200, 200, 200]
        assert limited.status_code == int(style)
        assert limited.json() == {
            "Status": "Error",
            "ExceptionType": "MXAPIRateLimitExceededException",
            "ExceptionMessage": "API calls exceeded the limit of 3 in 30 second(s)",
        }
        assert 1 <= int(limited.headers["Retry-After"]) <= 30
        assert fake.stats.rate_limited == 1


def test_rate_limit_window_slides() -> None:
    with FakeLeadSquared({LEAD: ROWS}, rate_limit=(2, 0.3)) as fake:
        assert [post(fake, {}).status_code for _ in range(3)] == [200, 200, 429]
        threading.Event().wait(0.35)
        assert post(fake, {}).status_code == 200
        assert fake.stats.max_calls_in_window(0.3) >= 3  # arrivals, refused ones included


def test_injected_faults() -> None:
    with FakeLeadSquared({LEAD: ROWS}, error_rate=1.0) as fake:
        reply = post(fake, {})
        assert reply.status_code == 500 and reply.json()["Status"] == "Error"
    with FakeLeadSquared({LEAD: ROWS}, html_rate=1.0) as fake:
        reply = post(fake, {})
        assert reply.status_code == 502 and reply.text.startswith("<!DOCTYPE html>")
    with FakeLeadSquared({LEAD: ROWS}, truncate_rate=1.0) as fake:
        reply = post(fake, {})
        assert reply.status_code == 200
        with pytest.raises(ValueError):
            reply.json()
    with FakeLeadSquared({LEAD: ROWS}, drop_rate=1.0) as fake:
        with pytest.raises(requests.ConnectionError):
            post(fake, {})
        assert fake.stats.dropped == 1
    with FakeLeadSquared({LEAD: ROWS}, slow_rate=1.0, slow_seconds=2.0) as fake:
        with pytest.raises(requests.Timeout):
            post(fake, {}, timeout=0.2)
        assert fake.stats.slow == 1


def test_fault_rates_are_reproducible_for_a_seed() -> None:
    def statuses(seed: int) -> list[int]:
        with FakeLeadSquared({LEAD: ROWS}, error_rate=0.3, rate_limit=None, seed=seed) as fake:
            return [post(fake, {}).status_code for _ in range(30)]

    first = statuses(5)
    assert first == statuses(5)
    assert 500 in first and 200 in first


def test_activity_types_and_user_endpoints() -> None:
    types = [{"ActivityEvent": 201, "ActivityEventName": "Course Interested"}]
    with FakeLeadSquared({}, activity_types=types) as fake:
        keys = {"x-LSQ-AccessKey": fake.access_key, "x-LSQ-SecretKey": fake.secret_key}
        assert requests.get(fake.url + ACTIVITY_TYPES_PATH, headers=keys, timeout=5).json() == types
        user = requests.get(fake.url + USER_PATH, headers=keys, timeout=5).json()
        assert user["TimeZone"] == "UTC" and fake.url.endswith(user["LSQCommonServiceURLs"]["api"])
        assert requests.get(fake.url + USER_PATH, timeout=5).status_code == 401


def test_default_leads_are_the_bundled_sample_plus_synthetic() -> None:
    from lsq_analysis import samples

    sample = samples.sample_responses()
    fake = FakeLeadSquared(synthetic=3, seed=1)
    assert len(fake.leads) == len(sample) + 3
    for lead_id, response in sample.items():
        assert fake.leads[lead_id.lower()] == response["ProspectActivities"]
    assert FakeLeadSquared(synthetic=3, seed=1).leads == fake.leads
    with fake:
        lead_id = next(iter(sample))
        assert fake.activity_types() == samples.sample_activity_types()
        got = requests.post(
            fake.url + RETRIEVE_PATH,
            params={"leadId": lead_id},
            json={"Paging": {"Offset": 0, "RowCount": 1000}},
            headers={"x-LSQ-AccessKey": fake.access_key, "x-LSQ-SecretKey": fake.secret_key},
            timeout=5,
        ).json()
        assert got["ProspectActivities"] == sample[lead_id]["ProspectActivities"]


def test_stop_closes_kept_alive_connections_and_serve_forever_blocks() -> None:
    fake = FakeLeadSquared({LEAD: ROWS}).start()
    session = requests.Session()
    keys = {"x-LSQ-AccessKey": fake.access_key, "x-LSQ-SecretKey": fake.secret_key}
    url = fake.url + USER_PATH
    assert session.get(url, headers=keys, timeout=5).status_code == 200
    fake.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url, headers=keys, timeout=5)

    server = FakeLeadSquared({LEAD: ROWS}).bind()  # the URL is known before serving
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    assert requests.get(server.url + USER_PATH, headers={}, timeout=5).status_code == 401
    server.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_bad_options_name_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="'row', 'page0', 'page1'"):
        FakeLeadSquared({}, paging="rows")
    with pytest.raises(ValueError, match="'429', '403', '200'"):
        FakeLeadSquared({}, rate_limit_style="500")
    with pytest.raises(ValueError, match="error_rate"):
        FakeLeadSquared({}, error_rate=2)
    with pytest.raises(ValueError, match="GUID"):
        FakeLeadSquared({"lead-1": []})


def test_stats_window_measure() -> None:
    stats = FakeServerStats(calls=4, call_times=(0.0, 0.2, 0.4, 1.3))
    assert stats.max_calls_in_window(0.5) == 3
    assert stats.max_calls_in_window(0.1) == 1


def test_a_client_that_hangs_up_is_not_reported_as_a_server_error(capfd) -> None:
    import socket
    import struct
    import time

    with FakeLeadSquared() as fake:
        for _ in range(3):  # connect, then reset the connection before any request
            sock = socket.create_connection(("127.0.0.1", fake.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.send(b"GET /v2/")
            sock.close()
        time.sleep(0.3)
        assert fake.client().get_activity_types_raw()  # still serving
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err
