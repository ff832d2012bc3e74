"""The HTTP side of the fake: the request handler that routes a call, checks its keys and the
rate limit on arrival, injects the faults drawn for it and writes the reply (JSON errors in the
real API's shape), and the threaded server class it runs in. The lead, user and account-wide
activity calls (``routes.LEAD_ROUTES``) go through the same checks and faults, then
``_lead_call`` (JSON body, HTTP 200 ``"Status":"Error"`` replies when asked for).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import socket
import sys
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import orjson

from .routes import LEAD_ROUTES, LeadBackend, Route
from .rules import (
    ACTIVITY_TYPES_PATH,
    DEFAULT_ROW_COUNT,
    GUID_RE,
    RETRIEVE_PATH,
    USER_PATH,
    ApiError,
    as_int,
    invalid,
)
from .state import ServerState

__all__ = ["FakeBackend", "FakeHTTPServer", "RequestHandler"]

_HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><p>The upstream server did not answer in time.</p>"
    "</body></html>"
)

_log = logging.getLogger("lsq_analysis.fake_server")


class FakeBackend(LeadBackend, Protocol):
    """What the handler reads from the fake it serves (a FakeLeadSquared), at every request."""

    access_key: str
    secret_key: str
    rate_limit: tuple[int, float] | None
    rate_limit_style: str
    retry_after: bool
    latency: tuple[float, float]
    error_rate: float
    drop_rate: float
    slow_rate: float
    slow_seconds: float
    truncate_rate: float
    html_rate: float
    errors_with_200: bool
    error_200_rate: float

    def activity_types(self) -> list[dict[str, Any]]: ...

    def page_of(
        self, lead_id: str, offset: int, row_count: int, event: int | None = None
    ) -> dict[str, Any]: ...


class FakeHTTPServer(ThreadingHTTPServer):
    """The listening server: its handler finds the fake and its shared state here."""

    daemon_threads = True
    allow_reuse_address = True
    fake: FakeBackend
    state: ServerState

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (it timed out, or its run was stopped) is not the server's
        error: say nothing. Anything else is printed as ``socketserver`` does."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def _error_body(exception_type: str, message: str) -> dict[str, str]:
    return {"Status": "Error", "ExceptionType": exception_type, "ExceptionMessage": message}


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class RequestHandler(BaseHTTPRequestHandler):
    """One connection to the fake: routes each request, checks it and writes the reply."""

    server: FakeHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    # One buffered write per reply and no Nagle delay: otherwise every call waits ~40 ms
    # for a delayed ACK between the header and body writes.
    wbufsize = -1
    disable_nagle_algorithm = True
    server_version = "FakeLeadSquared/1.0"
    timeout = 60  # an idle keep-alive connection is closed after this

    def setup(self) -> None:
        super().setup()
        self.server.state.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.state.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line can hold keys as query parameters: log the path only.
        _log.debug("fake server: %s %s", self.command, urlsplit(self.path).path)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        _log.debug("fake server: %s %s -> %s", self.command, urlsplit(self.path).path, code)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # -- replies ----------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.server.state.record_status(status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the client went away (e.g. it timed out on a slow reply)
            self.close_connection = True

    def _send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        self._send(status, orjson.dumps(payload), headers=headers)

    def _drop(self) -> None:
        self.server.state.record_drop()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- the request ------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = as_int(self.headers.get("Content-Length")) or 0
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        fake = self.server.fake
        state = self.server.state
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/")
        query = {name.lower(): value for name, value in parse_qsl(parts.query)}
        arrived = state.record_arrival(path)
        body = self._read_body()

        routes = {
            ("POST", RETRIEVE_PATH.lower()): self._retrieve,
            ("GET", ACTIVITY_TYPES_PATH.lower()): self._activity_types,
            ("GET", USER_PATH.lower()): self._user,
        }
        route = routes.get((self.command, path.lower()))
        lead_route = LEAD_ROUTES.get((self.command, path.lower()))
        if lead_route is not None:
            route = functools.partial(self._lead_call, lead_route)
        if route is None:
            self._send_json(
                404,
                _error_body(
                    "MXNotFoundException", f"No API at {self.command} {path or '/'} on this host."
                ),
            )
            return

        # Like an API gateway: keys and the rate limit are checked on arrival, then the
        # request is processed (latency, faults). A call counts in the window when it arrives.
        access = self.headers.get("x-LSQ-AccessKey") or query.get("accesskey")
        secret = self.headers.get("x-LSQ-SecretKey") or query.get("secretkey")
        state.record_keys(
            query="accesskey" in query or "secretkey" in query,
            headers="x-LSQ-AccessKey" in self.headers or "x-LSQ-SecretKey" in self.headers,
        )
        if access != fake.access_key or secret != fake.secret_key:
            self._send_json(
                401,
                _error_body(
                    "MXUnAuthorizedAccessException",
                    "The access key or secret key is invalid for this host.",
                ),
            )
            return

        wait = state.take_rate_slot(fake.rate_limit, arrived)
        if wait is not None:
            calls, seconds = fake.rate_limit  # type: ignore[misc]
            headers = {"Retry-After": str(max(1, math.ceil(wait)))} if fake.retry_after else None
            self._send_json(
                int(fake.rate_limit_style),
                _error_body(
                    "MXAPIRateLimitExceededException",
                    f"API calls exceeded the limit of {calls} in {_seconds_text(seconds)} "
                    "second(s)",
                ),
                headers=headers,
            )
            return

        faults = state.draw_faults(
            drop_rate=fake.drop_rate,
            slow_rate=fake.slow_rate,
            error_rate=fake.error_rate,
            html_rate=fake.html_rate,
            truncate_rate=fake.truncate_rate,
            latency=fake.latency,
        )
        state.wait(faults["latency"])
        if faults["drop"]:
            self._drop()
            return
        if faults["slow"]:
            state.record_slow()
            state.wait(fake.slow_seconds)
        if faults["html"]:
            self._send(502, _HTML_PAGE.encode(), content_type="text/html; charset=utf-8")
            return
        if faults["error"]:
            self._send_json(
                500,
                _error_body(
                    "MXInternalServerErrorException",
                    "The server could not complete the request. Please try again.",
                ),
            )
            return

        route(query, body, truncate=faults["truncate"])

    def _retrieve(self, query: Mapping[str, str], body: bytes, *, truncate: bool) -> None:
        fake = self.server.fake
        lead_id = query.get("leadid", "")
        if not GUID_RE.match(lead_id):
            self._send_json(
                400, _error_body("MXInvalidInputException", "leadId is missing or not a valid Id.")
            )
            return
        try:
            request = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, dict):
            self._send_json(
                400,
                _error_body(
                    "MXInvalidInputException",
                    "The request body is not valid JSON. Send Content-Type application/json "
                    'with {"Parameter": {...}, "Paging": {"Offset": ..., "RowCount": ...}}.',
                ),
            )
            return
        parameter = request.get("Parameter")
        paging = request.get("Paging")
        parameter = {} if parameter is None else parameter
        paging = {} if paging is None else paging
        if not isinstance(parameter, dict) or not isinstance(paging, dict):
            self._send_json(
                400,
                _error_body("MXInvalidInputException", "Parameter and Paging must be objects."),
            )
            return
        offset = as_int(paging.get("Offset", 0))
        row_count = as_int(paging.get("RowCount", DEFAULT_ROW_COUNT))
        event_value = parameter.get("ActivityEvent")
        event = None if event_value in (None, "") else as_int(event_value)
        if offset is None or row_count is None or (event_value not in (None, "") and event is None):
            # what the real (.NET) server answers when it cannot parse a number
            self._send_json(
                500,
                _error_body("System.FormatException", "Input string was not in a correct format."),
            )
            return
        if offset < 0 or row_count < 1:
            self._send_json(
                400,
                _error_body(
                    "MXInvalidInputException",
                    "Paging.Offset must be >= 0 and Paging.RowCount >= 1.",
                ),
            )
            return
        payload = fake.page_of(lead_id, offset, row_count, event)
        data = orjson.dumps(payload)
        if truncate and len(data) > 2:
            data = data[: len(data) // 2]
        self._send(200, data)

    def _activity_types(self, query: Mapping[str, str], body: bytes, *, truncate: bool) -> None:
        self._send_json(200, self.server.fake.activity_types())

    def _user(self, query: Mapping[str, str], body: bytes, *, truncate: bool) -> None:
        host = self.headers.get("Host", "127.0.0.1")
        self._send_json(
            200,
            {
                "Id": "00000000-0000-4000-8000-000000000001",
                "FirstName": "Fake",
                "LastName": "User",
                "EmailAddress": "fake.user@example.com",
                "Role": "Administrator",
                "TimeZone": "UTC",
                "LSQCommonServiceURLs": {"api": host},
            },
        )

    def _lead_call(
        self, route: Route, query: Mapping[str, str], body: bytes, *, truncate: bool
    ) -> None:
        """A lead, user or account-wide call: its JSON body, its route, its reply or error."""
        fake = self.server.fake
        if self.server.state.draw_error_200(fake.error_200_rate):
            self._send_json(
                200,
                _error_body(
                    "MXInternalServerErrorException",
                    "There was an error processing the request. Please contact administrator.",
                ),
            )
            return
        try:
            request: Any = {}
            if self.command == "POST" and body.strip():
                try:
                    request = orjson.loads(body)
                except orjson.JSONDecodeError:
                    request = None
            if not isinstance(request, dict):
                raise invalid(
                    "The request body is not a JSON object. Send Content-Type "
                    "application/json with the attributes the API page lists."
                )
            payload = route(fake, query, request)
        except ApiError as error:
            self._send_json(200 if fake.errors_with_200 else error.status, error.body())
            return
        data = orjson.dumps(payload)
        if truncate and len(data) > 2:
            data = data[: len(data) // 2]
        self._send(200, data)
