"""Errors, retries and keys: every failure path of LeadSquaredClient over loopback HTTP.

Replies come from FakeLeadSquared, or from a tiny scripted server for replies the fake does
not make (a 400, a 200 with "Status":"Error", a server echoing the keys back, ...).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lsq_analysis.api.client import LeadSquaredClient
from lsq_analysis.api.fake.server import FakeLeadSquared
from lsq_analysis.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    LeadSquaredError,
    NotFoundError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)

ACCESS = "u$rTESTACCESSKEYcanary7"
SECRET = "TESTSECRET$canary9secret"
LEAD = str(uuid.UUID(int=77))
ROWS = [{"Id": f"id-{k}", "EventCode": 201, "N": k} for k in range(12)]
FAST = {"backoff": (0.01, 0.05), "timeout": 2.0}

Reply = tuple[int, dict[str, str], bytes]


def error_body(exception_type: str, message: str) -> bytes:
    return json.dumps(
        {"Status": "Error", "ExceptionType": exception_type, "ExceptionMessage": message}
    ).encode()


def page_body(rows: list[dict], record_count: int | None = None) -> bytes:
    count = len(rows) if record_count is None else record_count
    return json.dumps({"RecordCount": count, "ProspectActivities": rows}).encode()


class ScriptedServer:
    """Answers each request with the next reply of a script (the last one repeats).

    A reply may be a function of the request (path with query, headers) for echo tests.
    """

    def __init__(self, *replies: Reply | object) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[float, str]] = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                index = len(script.calls)
                script.calls.append((time.monotonic(), self.path))
                reply = script.replies[min(index, len(script.replies) - 1)]
                if callable(reply):
                    reply = reply(self.path, dict(self.headers))
                status, headers, body = reply
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ScriptedServer:
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def client(self, **options: object) -> LeadSquaredClient:
        return LeadSquaredClient(self.url, ACCESS, SECRET, **{**FAST, **options})  # type: ignore[arg-type]


def fake_client(fake: FakeLeadSquared, **options: object) -> LeadSquaredClient:
    return fake.client(**{**FAST, **options})


# -------------------------------------------------------------------- never retried


def test_401_is_an_authentication_error_and_never_retried() -> None:
    with FakeLeadSquared({LEAD: ROWS}, access_key="u$rOTHER", secret_key="OTHER$") as fake:
        client = LeadSquaredClient(fake.url, ACCESS, SECRET, **FAST)  # type: ignore[arg-type]
        with pytest.raises(AuthenticationError) as info:
            client.get_lead_activities(LEAD)
        assert fake.stats.calls == 1 and client.stats.retries == 0
    err = info.value
    assert (err.status, err.exception_type, err.lead_id) == (
        401,
        "MXUnAuthorizedAccessException",
        LEAD,
    )
    assert "invalid" in (err.exception_message or "") and "LSQ_HOST" in str(err)


def test_404_is_not_found_and_never_retried() -> None:
    with FakeLeadSquared({LEAD: ROWS}) as fake:
        client = LeadSquaredClient(fake.url + "/wrong", fake.access_key, fake.secret_key, **FAST)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError) as info:
            client.get_lead_activities(LEAD)
        assert fake.stats.calls == 1
    assert info.value.status == 404 and info.value.exception_type == "MXNotFoundException"


def test_400_and_status_error_bodies_are_bad_requests_never_retried() -> None:
    bad = (400, {}, error_body("MXInvalidInputException", "Paging is invalid"))
    with ScriptedServer(bad) as server:
        with pytest.raises(BadRequestError) as info:
            server.client().get_lead_activities(LEAD)
        assert len(server.calls) == 1
    assert info.value.status == 400 and "Paging is invalid" in str(info.value)

    ok_status = (200, {}, error_body("MXInvalidInputException", "Lead does not exist"))
    with ScriptedServer(ok_status) as server:
        with pytest.raises(BadRequestError) as info:
            server.client().get_lead_activities(LEAD)
        assert len(server.calls) == 1
    err = info.value
    assert not err.retryable and not err.unreachable
    assert (err.status, err.exception_type, err.exception_message, err.lead_id) == (
        200,
        "MXInvalidInputException",
        "Lead does not exist",
        LEAD,
    )


def test_malformed_request_500_is_retried_a_bounded_number_of_times() -> None:
    broken = (
        500,
        {},
        error_body("System.FormatException", "Input string was not in a correct format."),
    )
    with ScriptedServer(broken) as server:
        client = server.client(max_retries=3)
        with pytest.raises(ServerError) as info:
            client.get_lead_activities(LEAD)
        assert len(server.calls) == 4
        assert client.stats.retries == 3 and client.stats.failed_calls == 4
    assert info.value.exception_type == "System.FormatException"


def test_a_redirect_is_not_followed_and_says_to_fix_the_host() -> None:
    moved = (302, {"Location": "http://127.0.0.2:9/v2/x?accessKey=u$rTESTACCESSKEYcanary7"}, b"")
    with ScriptedServer(moved) as server:
        with pytest.raises(ConfigurationError, match="LSQ_HOST") as info:
            server.client().get_lead_activities(LEAD)
        assert len(server.calls) == 1
    assert "127.0.0.2:9" in str(info.value) and "canary" not in str(info.value)


def test_a_key_that_cannot_go_in_a_header_is_a_configuration_error() -> None:
    with FakeLeadSquared({LEAD: ROWS}) as fake:
        client = LeadSquaredClient(fake.url, "u$rTESTKEY\u2019canary7", SECRET, **FAST)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="copy it again") as info:
            client.get_lead_activities(LEAD)
    assert "canary" not in "".join(texts_of(info.value))


# -------------------------------------------------------------------- transient failures


def test_transient_500_then_success() -> None:
    with ScriptedServer(
        (500, {}, error_body("MXInternalServerErrorException", "try again")),
        (503, {"Content-Type": "text/html"}, b"<html>Service Unavailable</html>"),
        (200, {}, page_body(ROWS[:3])),
        (200, {}, page_body([])),
    ) as server:
        client = server.client(paging="row")
        assert client.get_lead_activities(LEAD) == ROWS[:3]
        assert client.stats.retries == 2 and client.stats.calls == 4


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        ({"error_rate": 1.0}, ServerError, "The server failed"),
        ({"drop_rate": 1.0}, ServerError, "connection failed"),
        ({"slow_rate": 1.0, "slow_seconds": 3.0}, ServerError, "No reply within 0.2 s"),
        ({"truncate_rate": 1.0}, ResponseFormatError, "truncated or not JSON"),
        ({"html_rate": 1.0}, ServerError, "502 Bad Gateway"),
    ],
)
def test_faults_that_last_end_in_the_typed_error(fault: dict, error: type, text: str) -> None:
    with FakeLeadSquared({LEAD: ROWS}, **fault) as fake:
        client = fake_client(fake, max_retries=2, timeout=0.2)
        with pytest.raises(error, match=text) as info:
            client.get_lead_activities(LEAD)
        assert fake.stats.calls == 3 and client.stats.retries == 2
    assert info.value.lead_id == LEAD
    assert len(str(info.value)) < 400
    assert info.value.retryable and not info.value.unreachable  # worth a later run


def test_some_faults_of_every_kind_lose_nothing() -> None:
    leads = {str(uuid.UUID(int=500 + i)): ROWS[: i * 3] for i in range(6)}
    with FakeLeadSquared(
        leads,
        max_page_size=4,
        error_rate=0.1,
        drop_rate=0.1,
        truncate_rate=0.1,
        html_rate=0.1,
        slow_rate=0.05,
        slow_seconds=1.0,
        rate_limit=None,
        seed=3,
    ) as fake:
        client = fake_client(fake, max_retries=8, timeout=0.3)
        for lead_id, rows in leads.items():
            assert client.get_lead_activities(lead_id) == rows
        assert client.stats.retries > 0
        assert client.stats.retries == client.stats.failed_calls


def test_retry_after_is_honoured() -> None:
    with ScriptedServer(
        (429, {"Retry-After": "1"}, b""),
        (200, {}, page_body(ROWS[:2])),
        (200, {}, page_body([])),
    ) as server:
        client = server.client(paging="row")
        assert client.get_lead_activities(LEAD) == ROWS[:2]
        (first, _), (second, _), _ = server.calls
        assert second - first >= 0.95
        assert client.stats.rate_limited == 1


def test_a_rate_limit_page_in_html_is_recognised_and_its_limit_learned() -> None:
    page = b"<html><body>API calls exceeded the limit of 2 in 1 second(s)</body></html>"
    with ScriptedServer(
        (403, {"Content-Type": "text/html", "Retry-After": "0"}, page),
        (200, {}, page_body(ROWS[:2])),
        (200, {}, page_body([])),
    ) as server:
        client = server.client(paging="row")
        assert client.get_lead_activities(LEAD) == ROWS[:2]
        assert client.stats.rate_limited == 1
        assert (client.max_calls, client.per_seconds) == (2, 1.0)


def test_a_long_retry_after_fails_at_once() -> None:
    with ScriptedServer((429, {"Retry-After": "3600"}, b"")) as server:
        began = time.monotonic()
        with pytest.raises(RateLimitError, match="wait 3600 s"):
            server.client().get_lead_activities(LEAD)
        assert len(server.calls) == 1 and time.monotonic() - began < 1


def test_a_repeating_server_ends_in_an_error() -> None:
    with ScriptedServer((200, {}, page_body(ROWS[:5], record_count=5))) as server:
        client = server.client(page_size=5)
        with pytest.raises(ResponseFormatError, match="same rows again") as info:
            client.get_lead_activities(LEAD)
        assert len(server.calls) == 3
    assert info.value.lead_id == LEAD


def test_other_replies_that_are_not_the_documented_json() -> None:
    cases = [
        ((200, {}, b"[1, 2]"), "not a JSON object"),
        ((200, {}, b'{"RecordCount": 1, "ProspectActivities": "x"}'), "not a list"),
        ((200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"), "maintenance"),
    ]
    for reply, text in cases:
        with ScriptedServer(reply) as server, pytest.raises(ResponseFormatError, match=text):
            server.client(max_retries=1).get_lead_activities(LEAD)


def test_unknown_lead_and_event_filter_and_file_urls() -> None:
    rows = [{"Id": f"id-{k}", "EventCode": 201 if k % 2 else 202, "N": k} for k in range(9)]
    with FakeLeadSquared({LEAD: rows}, rate_limit=None) as fake:
        client = fake_client(fake)
        assert client.get_lead_activities(str(uuid.UUID(int=1))) == []
        assert client.get_lead_activities(LEAD, event=202) == rows[::2]
        assert client.get_lead_activities(LEAD, get_file_url=True) == rows
        assert client.get_lead_activities(LEAD, event="202") == rows[::2]  # a code as text
        with pytest.raises(ValueError, match="event"):
            client.get_lead_activities(LEAD, event=2.5)  # type: ignore[arg-type]
    with ScriptedServer(
        lambda path, headers: (200, {}, page_body([{"path": path}])), (200, {}, page_body([]))
    ) as server:
        (only,) = server.client(paging="row").get_lead_activities(LEAD, get_file_url=True)
        assert "getFileURL=true" in only["path"] and f"leadId={LEAD}" in only["path"]


def test_activity_types_and_user() -> None:
    types = [{"ActivityEvent": 201, "ActivityEventName": "Course Interested"}]
    with FakeLeadSquared({}, activity_types=types) as fake:
        client = fake_client(fake)
        assert client.get_activity_types_raw() == types
        assert client.get_user()["FirstName"] == "Fake"
        frame = client.get_activity_types()
        assert frame.height == 1


# -------------------------------------------------------------------- keys never leak


def echo_keys(path: str, headers: dict[str, str]) -> Reply:
    echoed = f"{path} {headers}"
    return 500, {}, error_body("MXEcho", echoed)


def echo_keys_html(path: str, headers: dict[str, str]) -> Reply:
    return 200, {"Content-Type": "text/html"}, f"<html>{path} {headers}</html>".encode()


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def error_paths(keys_in: str) -> Iterator[tuple[str, LeadSquaredClient, object]]:
    """(name, client, context manager of its server) for every way a call can fail."""
    opts = {**FAST, "keys_in": keys_in, "max_retries": 1, "timeout": 0.2}
    fake_cases = {
        "wrong keys (401)": {"access_key": "u$rOTHER", "secret_key": "OTHER$"},
        "500": {"error_rate": 1.0},
        "dropped": {"drop_rate": 1.0},
        "slow": {"slow_rate": 1.0, "slow_seconds": 2.0},
        "truncated": {"truncate_rate": 1.0},
        "html": {"html_rate": 1.0},
    }
    for name, options in fake_cases.items():
        fake = FakeLeadSquared(
            {LEAD: ROWS},
            **{"access_key": ACCESS, "secret_key": SECRET, **options},  # type: ignore[arg-type]
        )
        yield name, fake, lambda url: LeadSquaredClient(url, ACCESS, SECRET, **opts)  # type: ignore[arg-type]
    for style in ("429", "403", "200"):
        fake = FakeLeadSquared(
            {LEAD: ROWS},
            access_key=ACCESS,
            secret_key=SECRET,
            rate_limit=(1, 30.0),
            rate_limit_style=style,
            retry_after=True,
        )
        yield (
            f"rate limit {style}",
            fake,
            lambda url: LeadSquaredClient(url, ACCESS, SECRET, **{**opts, "max_retries": 0}),  # type: ignore[arg-type]
        )
    scripted = {
        "400": (400, {}, error_body("MXInvalidInputException", "bad")),
        "status error 200": (200, {}, error_body("MXOther", "no")),
        "daily quota": (
            200,
            {},
            error_body(
                "MXAPIRateLimitExceededException", "API calls exceeded the limit of 9 in 1 day(s)"
            ),
        ),
        "server echoes keys (500)": echo_keys,
        "server echoes keys (html 200)": echo_keys_html,
        "repeating pages": (200, {}, page_body(ROWS[:4])),
        "not found (404)": (404, {"Content-Type": "text/html"}, b"<html>Not Found</html>"),
    }
    for name, reply in scripted.items():
        yield (
            name,
            ScriptedServer(reply),
            lambda url: LeadSquaredClient(url, ACCESS, SECRET, **opts),
        )  # type: ignore[arg-type]


def texts_of(err: BaseException) -> list[str]:
    return [
        str(err),
        repr(err),
        "".join(traceback.format_exception(err)),
        repr(vars(err)),
        repr(err.args),
    ]


@pytest.mark.parametrize("keys_in", ["headers", "query"])
def test_no_error_path_leaks_a_key(keys_in: str, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    failures: dict[str, type] = {}
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's too
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, server, make_client in error_paths(keys_in):
            with server:
                client = make_client(server.url)
                with pytest.raises(LeadSquaredError) as info:
                    client.get_lead_activities(LEAD, event=201)
                failures[name] = type(info.value)
                seen += texts_of(info.value)
                seen += [repr(client), repr(client.stats)]
        with pytest.raises(ServerError) as info:
            LeadSquaredClient(
                closed_port(), ACCESS, SECRET, keys_in=keys_in, max_retries=0
            ).get_user()
        seen += texts_of(info.value)
    records = caplog.records
    seen += [record.getMessage() for record in records]
    seen += [f"{record.name} {record.args!r} {record.msg!r}" for record in records]
    seen.append(caplog.text)
    seen += [str(warning.message) for warning in caught]
    assert any(record.name == "lsq_analysis" for record in records)
    if keys_in == "query":
        assert any(record.name.startswith("urllib3") for record in records)
    for text in seen:
        for secret in (ACCESS, SECRET, "TESTACCESSKEY", "canary9", "canary7"):
            assert secret not in text, text
    assert failures == {
        "wrong keys (401)": AuthenticationError,
        "500": ServerError,
        "dropped": ServerError,
        "slow": ServerError,
        "truncated": ResponseFormatError,
        "html": ServerError,
        "rate limit 429": RateLimitError,
        "rate limit 403": RateLimitError,
        "rate limit 200": RateLimitError,
        "400": BadRequestError,
        "status error 200": BadRequestError,
        "daily quota": RateLimitError,
        "server echoes keys (500)": ServerError,
        "server echoes keys (html 200)": ResponseFormatError,
        "repeating pages": ResponseFormatError,
        "not found (404)": NotFoundError,
    }


def test_keys_travel_in_headers_by_default_and_in_the_query_only_if_asked() -> None:
    with FakeLeadSquared({LEAD: ROWS}, rate_limit=None) as fake:
        fake_client(fake).get_lead_activities(LEAD)
        assert set(fake.stats.keys_via) == {"headers"}
        fake.reset_stats()
        fake_client(fake, keys_in="query").get_lead_activities(LEAD)
        assert set(fake.stats.keys_via) == {"query"}


def test_reply_classification_docstring_examples_run() -> None:
    import doctest

    from lsq_analysis.api import replies

    result = doctest.testmod(replies, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
