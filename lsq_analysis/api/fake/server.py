"""A fake LeadSquared API on 127.0.0.1, for demos, training, offline work and tests.

It is a real, threaded HTTP server (the standard library's ``ThreadingHTTPServer``) that
speaks the parts of the LeadSquared API this toolkit uses, obeys the real API's rules and
can be told to misbehave the ways real accounts do:

* ``POST /v2/ProspectActivity.svc/Retrieve?leadId=...``: the activities of a lead, paged by
  ``Paging.Offset`` / ``Paging.RowCount`` in one of three readings (``paging``), with
  ``RecordCount`` meaning the total or this page's count (``record_count``), pages capped at
  ``max_page_size`` rows, and ``Parameter.ActivityEvent`` as a filter.
* ``GET /v2/ProspectActivity.svc/ActivityTypes.Get``: the activity-type catalog.
* ``GET /v2/Authentication.svc/UserByAccessKey.Get``: who the keys belong to.

Keys are checked (401) whether they come as ``x-LSQ-AccessKey`` / ``x-LSQ-SecretKey`` headers
or as ``accessKey`` / ``secretKey`` query parameters. A sliding-window rate limit answers in
the style asked for (HTTP 429, 403 or 200, always with the real ``"API calls exceeded the
limit of N in S second(s)"`` body). Faults are injected at given rates, reproducibly for a
``seed``: 5xx replies, dropped connections, replies slower than a client's time-out,
truncated JSON and HTML error pages.

Nothing here needs the internet, and the client never assumes it talks to this server.

Example:
    >>> with FakeLeadSquared(synthetic=5, paging="page1", max_page_size=50) as fake:
    ...     client = fake.client()
    ...     lead_id = next(iter(fake.leads))
    ...     len(client.get_lead_activities(lead_id)) == len(fake.leads[lead_id])
    True
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
import random
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlsplit

import orjson

from ...vocabulary import GUID_PATTERN

if TYPE_CHECKING:
    from ..client import LeadSquaredClient

__all__ = [
    "ACTIVITY_TYPES_PATH",
    "PAGING_READINGS",
    "RATE_LIMIT_STYLES",
    "RECORD_COUNT_MEANINGS",
    "RETRIEVE_PATH",
    "USER_PATH",
    "FakeLeadSquared",
    "FakeServerStats",
]

RETRIEVE_PATH = "/v2/ProspectActivity.svc/Retrieve"
ACTIVITY_TYPES_PATH = "/v2/ProspectActivity.svc/ActivityTypes.Get"
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"

PAGING_READINGS = ("row", "page0", "page1")
RECORD_COUNT_MEANINGS = ("total", "page")
RATE_LIMIT_STYLES = ("429", "403", "200")

_GUID_RE = re.compile(rf"^{GUID_PATTERN}$")  # the one rule, without stripping spaces
_DEFAULT_ROW_COUNT = 25  # what the API page says one call returns without paging
_HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><p>The upstream server did not answer in time.</p>"
    "</body></html>"
)

_log = logging.getLogger("lsq_analysis.fake_server")


@dataclass(frozen=True)
class FakeServerStats:
    """What the fake server has seen since it started (or since :meth:`reset_stats`).

    Attributes:
        calls: every request that reached the server, whatever happened to it.
        statuses: HTTP status -> number of replies sent with it.
        dropped: connections closed on purpose without a reply.
        slow: replies delayed on purpose by ``slow_seconds``.
        rate_limited: requests refused by the rate limit.
        call_times: ``time.monotonic()`` of each request's arrival, oldest first.
        paths: URL path (without query) -> number of requests.
        keys_via: ``"headers"`` / ``"query"`` -> requests that brought keys that way.
    """

    calls: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    dropped: int = 0
    slow: int = 0
    rate_limited: int = 0
    call_times: tuple[float, ...] = ()
    paths: dict[str, int] = field(default_factory=dict)
    keys_via: dict[str, int] = field(default_factory=dict)

    def max_calls_in_window(self, seconds: float) -> int:
        """The largest number of calls that arrived within any window of ``seconds``.

        Example:
            >>> FakeServerStats(calls=3, call_times=(0.0, 0.1, 5.0)).max_calls_in_window(1.0)
            2
        """
        times = self.call_times
        best, start = 0, 0
        for end in range(len(times)):
            while times[end] - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeLeadSquared


class FakeLeadSquared:
    """A local LeadSquared API server. Use it as a context manager, or ``start()``/``stop()``.

    Args:
        leads: lead id -> its activities (newest first), or lead id -> a response dict with
            ``ProspectActivities``. Left out: the bundled sample leads
            (``samples.sample_responses()``).
        synthetic: this many deterministic synthetic leads (``samples.synthetic_activities``)
            are added to the leads.
        activity_types: the catalog ``ActivityTypes.Get`` returns (default: the bundled one).
        paging: how ``Offset`` is read: ``"row"`` (skip ``Offset`` rows), ``"page0"`` (skip
            ``Offset * size``) or ``"page1"`` (skip ``(Offset - 1) * size``), where size is
            ``RowCount`` after the cap.
        page1_offset_zero: with ``paging="page1"``, what ``Offset=0`` returns: ``"first"``
            (page 1, as if clamped) or ``"empty"`` (nothing, as a strict server might).
        record_count: ``"total"`` (``RecordCount`` = all matching activities) or ``"page"``
            (the rows in this reply).
        max_page_size: the most rows one reply carries, whatever ``RowCount`` asks for.
        rate_limit: ``(calls, seconds)`` sliding window over the requests with good keys
            (refused ones do not count), or None.
        rate_limit_style: ``"429"``, ``"403"`` or ``"200"``: the status of a rate-limit reply.
        retry_after: send a ``Retry-After`` header (whole seconds) with rate-limit replies.
        latency: ``(low, high)`` seconds every reply is delayed by (uniformly drawn).
        error_rate: share of requests answered with a transient HTTP 500.
        drop_rate: share of requests whose connection is closed without a reply.
        slow_rate: share of requests delayed by ``slow_seconds`` (beyond a client's time-out).
        slow_seconds: the delay of a slow reply.
        truncate_rate: share of activity replies cut in the middle of their JSON.
        html_rate: share of requests answered by an HTML "502 Bad Gateway" page.
        seed: makes synthetic leads and injected faults reproducible.
        access_key, secret_key: the keys it accepts (random test keys when left out).
        host, port: where to listen (``port=0``: any free port).

    Example:
        >>> with FakeLeadSquared(leads={lead_id: activities}, rate_limit=(5, 1.0)) as fake:
        ...     fake.client().get_lead_activities(lead_id)
    """

    def __init__(
        self,
        leads: Mapping[str, Any] | None = None,
        *,
        synthetic: int = 0,
        activity_types: Sequence[dict[str, Any]] | None = None,
        paging: str = "row",
        page1_offset_zero: str = "first",
        record_count: str = "total",
        max_page_size: int | None = 1000,
        rate_limit: tuple[int, float] | None = (25, 5.0),
        rate_limit_style: str = "429",
        retry_after: bool = False,
        latency: tuple[float, float] = (0.0, 0.0),
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        slow_rate: float = 0.0,
        slow_seconds: float = 5.0,
        truncate_rate: float = 0.0,
        html_rate: float = 0.0,
        seed: int = 0,
        access_key: str | None = None,
        secret_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        _check_choice("paging", paging, PAGING_READINGS)
        _check_choice("page1_offset_zero", page1_offset_zero, ("first", "empty"))
        _check_choice("record_count", record_count, RECORD_COUNT_MEANINGS)
        _check_choice("rate_limit_style", str(rate_limit_style), RATE_LIMIT_STYLES)
        if max_page_size is not None and max_page_size < 1:
            raise ValueError(
                f"max_page_size must be a positive number or None, not {max_page_size}"
            )
        if rate_limit is not None:
            calls, seconds = rate_limit
            if int(calls) < 1 or float(seconds) <= 0:
                raise ValueError(f"rate_limit must be (calls >= 1, seconds > 0), not {rate_limit}")
            rate_limit = (int(calls), float(seconds))
        for name, rate in (
            ("error_rate", error_rate),
            ("drop_rate", drop_rate),
            ("slow_rate", slow_rate),
            ("truncate_rate", truncate_rate),
            ("html_rate", html_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        low, high = latency
        if low < 0 or high < low:
            raise ValueError(f"latency must be (low, high) with 0 <= low <= high, not {latency}")

        self.paging = paging
        self.page1_offset_zero = page1_offset_zero
        self.record_count = record_count
        self.max_page_size = max_page_size
        self.rate_limit = rate_limit
        self.rate_limit_style = str(rate_limit_style)
        self.retry_after = retry_after
        self.latency = (float(low), float(high))
        self.error_rate = error_rate
        self.drop_rate = drop_rate
        self.slow_rate = slow_rate
        self.slow_seconds = slow_seconds
        self.truncate_rate = truncate_rate
        self.html_rate = html_rate
        self.seed = seed
        self.access_key = access_key or f"u$rFAKE{secrets.token_hex(12)}"
        self.secret_key = secret_key or f"FAKESECRET${secrets.token_hex(16)}"
        self.leads: dict[str, list[dict[str, Any]]] = _load_leads(leads, synthetic, seed)
        self._activity_types = list(activity_types) if activity_types is not None else None
        self._bind_host = host
        self._bind_port = port

        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._window: list[float] = []  # arrivals of admitted calls, sorted
        self._stopping = threading.Event()
        self._serving = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset_stats()

    # -- life cycle -------------------------------------------------------------------

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "not started"
        return (
            f"FakeLeadSquared({state}, leads={len(self.leads)}, paging={self.paging!r}, "
            f"record_count={self.record_count!r}, max_page_size={self.max_page_size}, "
            f"rate_limit={self.rate_limit})"
        )

    def __enter__(self) -> FakeLeadSquared:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:8765``."""
        if self._server is None:
            raise RuntimeError("The fake server is not listening yet: call start() first.")
        # an AF_INET server's address is (host, port); typeshed also allows bytes (AF_UNIX)
        host, port = cast("tuple[str, int]", self._server.server_address[:2])
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        """The port it listens on (once bound)."""
        if self._server is None:
            raise RuntimeError("The fake server is not listening yet: call start() first.")
        return int(self._server.server_address[1])

    def bind(self) -> FakeLeadSquared:
        """Open the listening socket now, so :attr:`url` is known before answering starts.

        Example:
            >>> fake = FakeLeadSquared(synthetic=2).bind()
            >>> print(fake.url); fake.serve_forever()
        """
        self._bind()
        return self

    def _bind(self) -> _Server:
        if self._server is None:
            server = _Server((self._bind_host, self._bind_port), _Handler)
            server.fake = self
            self._server = server
            self._stopping.clear()
        return self._server

    def start(self) -> FakeLeadSquared:
        """Listen and answer in a background thread; returns self.

        Example:
            >>> fake = FakeLeadSquared(synthetic=2).start()
            >>> fake.url
            'http://127.0.0.1:...'
            >>> fake.stop()
        """
        if self._thread is not None:
            return self
        server = self._bind()
        self._serving.set()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeLeadSquared:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Listen and answer in this thread until :meth:`stop` (or Ctrl-C).

        Example:
            >>> fake = FakeLeadSquared(port=8765)
            >>> fake.serve_forever()  # blocks; the CLI's `fake-server` uses this
        """
        server = self._bind()
        self._serving.set()
        try:
            server.serve_forever(poll_interval=0.05)
        except KeyboardInterrupt:
            pass
        finally:
            self._serving.clear()
            self._close()

    def stop(self) -> None:
        """Stop listening and close every open connection (idempotent).

        Example:
            >>> fake.stop()
        """
        server = self._server
        if server is None:
            return
        self._stopping.set()
        if self._serving.is_set():
            server.shutdown()  # returns once serve_forever's loop has ended
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._serving.clear()
        self._close()

    def _close(self) -> None:
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def client(self, **options: Any) -> LeadSquaredClient:
        """A :class:`~lsq_analysis.LeadSquaredClient` pointed at this server with its keys.

        The client's rate limit defaults to this server's (none: practically unlimited), so
        demos are not rate limited; any option given wins.

        Example:
            >>> with FakeLeadSquared(synthetic=3) as fake:
            ...     activities = fake.client(timeout=5).get_lead_activities(next(iter(fake.leads)))
        """
        from ..client import LeadSquaredClient

        calls, seconds = self.rate_limit if self.rate_limit is not None else (1_000_000, 1.0)
        options.setdefault("max_calls", calls)
        options.setdefault("per_seconds", seconds)
        return LeadSquaredClient(self.url, self.access_key, self.secret_key, **options)

    # -- statistics -------------------------------------------------------------------

    @property
    def stats(self) -> FakeServerStats:
        """A snapshot of what the server has seen (see :class:`FakeServerStats`).

        Example:
            >>> fake.stats.calls, fake.stats.statuses
            (3, {200: 3})
        """
        with self._lock:
            return FakeServerStats(
                calls=self._calls,
                statuses=dict(self._statuses),
                dropped=self._dropped,
                slow=self._slow,
                rate_limited=self._rate_limited,
                call_times=tuple(self._call_times),
                paths=dict(self._paths),
                keys_via=dict(self._keys_via),
            )

    def reset_stats(self) -> None:
        """Forget every call seen so far (the rate-limit window is kept).

        Example:
            >>> fake.reset_stats(); fake.stats.calls
            0
        """
        with getattr(self, "_lock", threading.Lock()):
            self._calls = 0
            self._statuses: Counter[int] = Counter()
            self._dropped = 0
            self._slow = 0
            self._rate_limited = 0
            self._call_times: list[float] = []
            self._paths: Counter[str] = Counter()
            self._keys_via: Counter[str] = Counter()

    # -- behaviour used by the handler ------------------------------------------------

    def _record_arrival(self, path: str) -> float:
        now = time.monotonic()
        with self._lock:
            self._calls += 1
            self._call_times.append(now)
            self._paths[path] += 1
        return now

    def _record_status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    def _draw_faults(self) -> dict[str, Any]:
        with self._lock:
            rng = self._rng
            return {
                "drop": rng.random() < self.drop_rate,
                "slow": rng.random() < self.slow_rate,
                "error": rng.random() < self.error_rate,
                "html": rng.random() < self.html_rate,
                "truncate": rng.random() < self.truncate_rate,
                "latency": rng.uniform(*self.latency) if self.latency[1] > 0 else 0.0,
            }

    def _take_rate_slot(self, arrived: float) -> float | None:
        """None if the call that arrived at ``arrived`` may go on, else seconds until room.

        A call counts from its arrival, the time ``stats.call_times`` records. Handler threads
        get here in another order than their calls arrived, so the admitted arrivals are kept
        sorted, and a call is refused if any window of the limit's length around its arrival
        would then hold more than the limit.
        """
        if self.rate_limit is None:
            return None
        calls, seconds = self.rate_limit
        now = time.monotonic()
        with self._lock:
            window = self._window
            del window[: bisect.bisect_left(window, now - 2 * seconds - 1.0)]  # long gone
            lo = bisect.bisect_right(window, arrived - seconds)
            hi = bisect.bisect_left(window, arrived + seconds)
            near = sorted([*window[lo:hi], arrived])
            busiest = max(
                bisect.bisect_left(near, start + seconds) - i
                for i, start in enumerate(near)
                if start <= arrived
            )
            if busiest > calls:
                self._rate_limited += 1
                return max(0.0, near[0] + seconds - now)
            bisect.insort(window, arrived)
            return None

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def activity_types(self) -> list[dict[str, Any]]:
        """The catalog ``ActivityTypes.Get`` answers with.

        Example:
            >>> FakeLeadSquared(activity_types=[{"ActivityEvent": 201}]).activity_types()
            [{'ActivityEvent': 201}]
        """
        if self._activity_types is None:
            try:
                from ... import samples
            except ImportError:
                self._activity_types = []
            else:
                self._activity_types = list(samples.sample_activity_types())
        return self._activity_types

    def page_of(
        self, lead_id: str, offset: int, row_count: int, event: int | None = None
    ) -> dict[str, Any]:
        """The response body for one ``Retrieve`` call, paged the way this server reads it.

        Example:
            >>> FakeLeadSquared(leads={lid: acts}, paging="page1").page_of(lid, 1, 10)
            {'RecordCount': ..., 'ProspectActivities': [...]}
        """
        rows = self.leads.get(lead_id.lower(), [])
        if event is not None:
            rows = [row for row in rows if _as_int(row.get("EventCode")) == event]
        size = row_count if self.max_page_size is None else min(row_count, self.max_page_size)
        if self.paging == "row":
            skip = offset
        elif self.paging == "page0":
            skip = offset * size
        elif offset == 0 and self.page1_offset_zero == "empty":
            skip = len(rows)
        else:
            skip = max(0, offset - 1) * size
        page = rows[skip : skip + size]
        count = len(rows) if self.record_count == "total" else len(page)
        return {"RecordCount": count, "ProspectActivities": page}


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _load_leads(
    leads: Mapping[str, Any] | None, synthetic: int, seed: int
) -> dict[str, list[dict[str, Any]]]:
    loaded: dict[str, list[dict[str, Any]]] = {}
    if leads is None:
        try:
            from ... import samples
        except ImportError:  # the bundled sample is not part of this build
            source: Mapping[str, Any] = {}
        else:
            source = samples.sample_responses()
    else:
        source = leads
    for lead_id, value in source.items():
        if not _GUID_RE.match(str(lead_id)):
            raise ValueError(f"lead ids must be GUIDs; {str(lead_id)[:60]!r} is not")
        if isinstance(value, Mapping):
            activities = list(value.get("ProspectActivities") or [])
        else:
            activities = list(value)
        loaded[str(lead_id).lower()] = activities
    if synthetic:
        from ... import samples

        for lead_id, activities in samples.synthetic_activities(synthetic, seed=seed).items():
            loaded[str(lead_id).lower()] = list(activities)
    return loaded


def _error_body(exception_type: str, message: str) -> dict[str, str]:
    return {"Status": "Error", "ExceptionType": exception_type, "ExceptionMessage": message}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    # One buffered write per reply and no Nagle delay: otherwise every call waits ~40 ms
    # for a delayed ACK between the header and body writes.
    wbufsize = -1
    disable_nagle_algorithm = True
    server_version = "FakeLeadSquared/1.0"
    timeout = 60  # an idle keep-alive connection is closed after this

    def setup(self) -> None:
        super().setup()
        fake = self.server.fake
        with fake._lock:
            fake._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            fake = self.server.fake
            with fake._lock:
                fake._connections.discard(self.connection)

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
        self.server.fake._record_status(status)
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
        fake = self.server.fake
        with fake._lock:
            fake._dropped += 1
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- the request ------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = _as_int(self.headers.get("Content-Length")) or 0
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/")
        query = {name.lower(): value for name, value in parse_qsl(parts.query)}
        arrived = fake._record_arrival(path)
        body = self._read_body()

        routes = {
            ("POST", RETRIEVE_PATH.lower()): self._retrieve,
            ("GET", ACTIVITY_TYPES_PATH.lower()): self._activity_types,
            ("GET", USER_PATH.lower()): self._user,
        }
        route = routes.get((self.command, path.lower()))
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
        with fake._lock:
            if "accesskey" in query or "secretkey" in query:
                fake._keys_via["query"] += 1
            if "x-LSQ-AccessKey" in self.headers or "x-LSQ-SecretKey" in self.headers:
                fake._keys_via["headers"] += 1
        if access != fake.access_key or secret != fake.secret_key:
            self._send_json(
                401,
                _error_body(
                    "MXUnAuthorizedAccessException",
                    "The access key or secret key is invalid for this host.",
                ),
            )
            return

        wait = fake._take_rate_slot(arrived)
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

        faults = fake._draw_faults()
        fake._wait(faults["latency"])
        if faults["drop"]:
            self._drop()
            return
        if faults["slow"]:
            with fake._lock:
                fake._slow += 1
            fake._wait(fake.slow_seconds)
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
        if not _GUID_RE.match(lead_id):
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
        offset = _as_int(paging.get("Offset", 0))
        row_count = _as_int(paging.get("RowCount", _DEFAULT_ROW_COUNT))
        event_value = parameter.get("ActivityEvent")
        event = None if event_value in (None, "") else _as_int(event_value)
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


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
