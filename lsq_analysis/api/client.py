"""``LeadSquaredClient``: keys, rate limit, retries, paging and errors for the activities API.

The client talks to the real LeadSquared API (or anything that answers like it, such as
:class:`~lsq_analysis.FakeLeadSquared`) and assumes nothing the answers do not show:

* keys travel as ``x-LSQ-AccessKey`` / ``x-LSQ-SecretKey`` headers (query parameters only if
  asked) and never appear in an exception, a repr, a warning or a log record;
* a sliding-window limiter shared by all threads keeps calls within ``max_calls`` per
  ``per_seconds`` and lowers itself to the limit a rate-limit reply names;
* rate limits (whatever their HTTP status), 5xx, dropped connections and time-outs are
  retried with bounded exponential backoff and jitter (``Retry-After`` is honoured);
  400/401/404 never are;
* paging is worked out from the answers (see ``_paging``): every activity exactly once.

Example:
    >>> client = LeadSquaredClient("api-in21.leadsquared.com", access_key, secret_key)
    >>> activities = client.get_lead_activities("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf")
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import requests
import tenacity
import urllib3

from ..config import mask, resolve_settings
from ..errors import (
    ConfigurationError,
    LeadSquaredError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)
from ..vocabulary import (
    EventCatalog,
    catalog_from_types,
    resolve_events,
    single_event,
)
from ..vocabulary import lead_id as canonical_lead_id
from .leads import LeadCalls
from .paging import PAGING_READINGS, PagingError, PagingFacts, iter_lead_pages
from .ratelimit import SlidingWindowLimiter
from .replies import (
    LIMIT_RE,
    UNIT_SECONDS,
    DeadlinePassed,
    RateLimited,
    activities_of,
    classify_reply,
    install_query_filter,
    read_within,
    scrub_text,
    short_reason,
    unreachable_reason,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = ["ClientStats", "LeadSquaredClient", "validate_lead_id"]

RETRIEVE_PATH = "/v2/ProspectActivity.svc/Retrieve"
ACTIVITY_TYPES_PATH = "/v2/ProspectActivity.svc/ActivityTypes.Get"
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"

_log = logging.getLogger("lsq_analysis")

_MAX_PAUSE = 300.0  # the longest wait a Retry-After of a 5xx reply can impose
_LONGEST_RETRY_AFTER = 120.0  # a rate-limit reply asking for more fails at once instead


def validate_lead_id(lead_id: object) -> str:
    """Return the lead id if it is a GUID, else raise ``ValueError`` (no call is made).

    Example:
        >>> validate_lead_id(" 3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf ")
        '3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf'
    """
    return canonical_lead_id(lead_id)


@dataclass(frozen=True)
class ClientStats:
    """A snapshot of what a client has done.

    Attributes:
        calls: HTTP requests sent (retries included).
        retries: calls that were repeated after a transient failure.
        rate_limited: replies that said the rate limit was exceeded.
        failed_calls: calls that did not bring back a usable answer.
        pages: pages of activities received.
        activities: activities yielded (each once).
        leads: leads whose activities were fully collected.
        waited_seconds: time spent waiting for the rate limiter.
    """

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    failed_calls: int = 0
    pages: int = 0
    activities: int = 0
    leads: int = 0
    waited_seconds: float = 0.0


class LeadSquaredClient(LeadCalls):
    """A client for LeadSquared's "Get Activities of a Lead" API (and activity types).

    Args:
        host: an API host (``api-in21.leadsquared.com``) or a base URL
            (``http://127.0.0.1:8765``); default ``LSQ_HOST``.
        access_key: default ``LSQ_ACCESS_KEY``.
        secret_key: default ``LSQ_SECRET_KEY``.
        max_calls: calls allowed per ``per_seconds`` (your plan's limit; lowered when the
            server names a lower one).
        per_seconds: the rate-limit window in seconds.
        timeout: seconds to wait for a reply before the call counts as failed.
        max_retries: retries of one call after transient failures (0: no retries). A host
            that has not answered once yet and refuses the connection (or whose name is not
            found) gets one retry, so that a wrong host is reported in seconds.
        keys_in: ``"headers"`` (default) or ``"query"`` (``accessKey``/``secretKey`` parameters).
        paging: how the server reads ``Offset`` if you know it (``"row"``, ``"page0"``,
            ``"page1"``); None: found out from the answers.
        page_size: ``RowCount`` to ask for (lowered to the server's cap once it shows).
        max_pages_per_lead: hard limit on calls for one lead's activities.
        trust_record_count: stop paging a lead once it has ``RecordCount`` activities (only
            after the answers proved ``RecordCount`` is the total, and never again after a
            lead held more than its ``RecordCount``). False: only an empty or short page ends
            a lead (one more call per lead, safe even if ``RecordCount`` leaves rows out).
        backoff: ``(first, longest)`` wait in seconds between retries (doubling, with jitter).

    Raises:
        ConfigurationError: the host or a key is missing (it names the variables to set).

    Example:
        >>> client = LeadSquaredClient("api-in21.leadsquared.com", max_calls=10, per_seconds=5)
        >>> client
        LeadSquaredClient(base_url='https://api-in21.leadsquared.com', access_key=<...>, ...)
    """

    def __init__(
        self,
        host: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        *,
        max_calls: int = 25,
        per_seconds: float = 5.0,
        timeout: float = 30.0,
        max_retries: int = 5,
        keys_in: str = "headers",
        paging: str | None = None,
        page_size: int = 1000,
        max_pages_per_lead: int = 10_000,
        trust_record_count: bool = True,
        backoff: tuple[float, float] = (1.0, 30.0),
    ) -> None:
        if keys_in not in ("headers", "query"):
            raise ValueError(f"keys_in must be 'headers' or 'query', not {keys_in!r}")
        if paging is not None and paging not in PAGING_READINGS:
            raise ValueError(
                f"paging must be one of {', '.join(map(repr, PAGING_READINGS))} or None, "
                f"not {paging!r}"
            )
        if int(page_size) < 1 or int(max_pages_per_lead) < 1:
            raise ValueError("page_size and max_pages_per_lead must be at least 1")
        if timeout <= 0 or int(max_retries) < 0:
            raise ValueError("timeout must be > 0 and max_retries >= 0")
        first_wait, longest_wait = backoff
        if first_wait < 0 or longest_wait < first_wait:
            raise ValueError("backoff must be (first, longest) with 0 <= first <= longest")
        settings = resolve_settings(host, access_key, secret_key)
        self.base_url = settings.base_url
        self.__access_key = settings.access_key
        self.__secret_key = settings.secret_key
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.keys_in = keys_in
        self.page_size = int(page_size)
        self.max_pages_per_lead = int(max_pages_per_lead)
        self.backoff = (float(first_wait), float(longest_wait))
        self.paging = PagingFacts(paging, trust_record_count=trust_record_count)
        self._limiter = SlidingWindowLimiter(max_calls, per_seconds)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._stats_lock = threading.Lock()
        self._catalog: EventCatalog | None = None  # activity-type names, fetched on first use
        self._counts: dict[str, float] = dict.fromkeys(ClientStats.__dataclass_fields__, 0)
        self._reached = False  # has any reply come from the host yet?
        if keys_in == "query":
            install_query_filter()

    # -- presentation -----------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"LeadSquaredClient(base_url={self.base_url!r}, "
            f"access_key={mask(self.__access_key)}, secret_key={mask(self.__secret_key)}, "
            f"max_calls={self.max_calls}, per_seconds={self.per_seconds}, "
            f"keys_in={self.keys_in!r}, paging={self.paging.reading!r})"
        )

    def __getstate__(self) -> None:
        raise TypeError("a LeadSquaredClient holds keys and is not pickled; make one per process")

    @property
    def max_calls(self) -> int:
        """Calls allowed per :attr:`per_seconds` now (lowered when the server names its limit)."""
        return self._limiter.tightest[0]

    @property
    def per_seconds(self) -> float:
        """The window of :attr:`max_calls`, in seconds."""
        return self._limiter.tightest[1]

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the calls made so far (see :class:`ClientStats`).

        Example:
            >>> client.stats.calls
            0
        """
        with self._stats_lock:
            counts = dict(self._counts)
        values: dict[str, Any] = {
            name: (counts[name] if name == "waited_seconds" else int(counts[name]))
            for name in counts
        }
        return ClientStats(**values)

    def _count(self, name: str, amount: float = 1) -> None:
        with self._stats_lock:
            self._counts[name] += amount

    # -- public API -------------------------------------------------------------------

    def event_code(self, event: int | str | None) -> int | None:
        """The one event code that ``event`` (a code or an activity type's name) stands for.

        A name is looked up in the account's activity-type catalog, fetched once per client
        (one call) and kept; a code needs no call.

        Raises:
            ValueError: not a code or name, a name the catalog does not hold (the message
                lists the names it does), or a name of several types.

        Example:
            >>> client.event_code("Email Opened"), client.event_code(2001)
            (0, 2001)
        """
        one = single_event(event)
        if one is None or isinstance(one, int):
            return one
        if self._catalog is None:
            self._catalog = catalog_from_types(self.get_activity_types())
        return resolve_events(one, self._catalog, single=True)[0]

    def iter_activity_pages(
        self, lead_id: str, *, event: int | str | None = None, get_file_url: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield a lead's activities page by page, lazily; each activity comes exactly once.

        Args:
            lead_id: the lead's GUID.
            event: only activities of this ``ActivityEvent`` code, or of the type of this name
                (looked up once in the activity-type catalog).
            get_file_url: ask for file URLs of custom-object files (``getFileURL=true``).

        Raises:
            ValueError: ``lead_id`` is not a GUID (raised at once, before any call).
            LeadSquaredError: a subclass per failure; see :mod:`lsq_analysis.errors`.

        Example:
            >>> for page in client.iter_activity_pages(lead_id):
            ...     print(len(page))
        """
        lead_id = validate_lead_id(lead_id)
        return self._pages(lead_id, self.event_code(event), get_file_url)

    def get_lead_activities(
        self, lead_id: str, *, event: int | str | None = None, get_file_url: bool = False
    ) -> list[dict[str, Any]]:
        """Every activity of a lead, each exactly once, as the API sent it (newest first).

        Args:
            lead_id: the lead's GUID.
            event: only activities of this ``ActivityEvent`` code, or of the type of this name
                (looked up once in the activity-type catalog).
            get_file_url: ask for file URLs of custom-object files.

        Raises:
            ValueError: ``lead_id`` is not a GUID.
            LeadSquaredError: a subclass per failure (each carries status, the server's
                ``ExceptionType``/``ExceptionMessage`` and the lead id).

        Example:
            >>> activities = client.get_lead_activities("3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf")
            >>> activities[0]["EventName"]
            'Custom Object Activity'
        """
        activities: list[dict[str, Any]] = []
        for page in self.iter_activity_pages(lead_id, event=event, get_file_url=get_file_url):
            activities.extend(page)
        return activities

    def get_activity_types_raw(self) -> list[dict[str, Any]]:
        """The account's activity-type catalog as the API sends it.

        Example:
            >>> types = client.get_activity_types_raw()
            >>> types[0]["ActivityEvent"]
            201
        """
        payload = self._request("GET", ACTIVITY_TYPES_PATH, describe="ActivityTypes.Get")
        if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
            raise ResponseFormatError(
                "ActivityTypes.Get did not answer with a list of activity types",
                status=200,
            )
        return payload

    def get_activity_types(self) -> pl.DataFrame:
        """The account's activity-type catalog as a polars frame (``frames.activity_types_frame``).

        Example:
            >>> client.get_activity_types().columns[:2]
            ['event_code', 'event_name']
        """
        from ..frames import activity_types_frame

        return activity_types_frame(self.get_activity_types_raw())

    def get_user(self) -> dict[str, Any]:
        """Who the keys belong to (``UserByAccessKey.Get``): a cheap check of keys and host.

        Example:
            >>> client.get_user()["TimeZone"]
            'UTC'
        """
        payload = self._request("GET", USER_PATH, describe="UserByAccessKey.Get")
        if not isinstance(payload, dict):
            raise ResponseFormatError(
                "UserByAccessKey.Get did not answer with an object", status=200
            )
        return payload

    # -- paging -----------------------------------------------------------------------

    def _pages(
        self, lead_id: str, event: int | None, get_file_url: bool
    ) -> Iterator[list[dict[str, Any]]]:
        query = {"leadId": lead_id}
        if get_file_url:
            query["getFileURL"] = "true"

        def fetch(offset: int, row_count: int) -> tuple[int | None, list[dict[str, Any]]]:
            body: dict[str, Any] = {"Paging": {"Offset": str(offset), "RowCount": str(row_count)}}
            if event is not None:
                body["Parameter"] = {"ActivityEvent": event}
            payload = self._request(
                "POST",
                RETRIEVE_PATH,
                query=query,
                body=body,
                lead_id=lead_id,
                describe=f"Retrieve lead={lead_id} Offset={offset} RowCount={row_count}",
            )
            return activities_of(payload, lead_id)

        pages = iter_lead_pages(
            fetch, self.paging, page_size=self.page_size, max_calls=self.max_pages_per_lead
        )
        try:
            for page in pages:
                self._count("pages")
                self._count("activities", len(page))
                yield page
        except PagingError as exc:
            raise ResponseFormatError(
                f"Paging through the activities failed: {exc}", lead_id=lead_id
            ) from None
        self._count("leads")

    # -- one call, with retries -------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()  # one per thread: Session is not documented thread-safe
            session.headers["Accept"] = "application/json"
            self._local.session = session
            with self._stats_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close the connections this client keeps open (it opens new ones if used again).

        Example:
            >>> with LeadSquaredClient() as client:
            ...     activities = client.get_lead_activities(lead_id)
        """
        with self._stats_lock:
            sessions, self._sessions = self._sessions, []
            self._local = threading.local()
        for session in sessions:
            session.close()

    def __enter__(self) -> LeadSquaredClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        lead_id: str | None = None,
        describe: str,
    ) -> Any:
        first, longest = self.backoff
        exponential = tenacity.wait_exponential_jitter(multiplier=first, max=longest, jitter=first)

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimitError):
                return 0.0  # the shared limiter holds every thread for the pause
            seconds = exponential(state)
            if isinstance(error, LeadSquaredError) and error.retry_after is not None:
                seconds = max(seconds, min(error.retry_after, _MAX_PAUSE))
            return seconds

        attempts = 0

        def before_sleep(state: tenacity.RetryCallState) -> None:
            self._count("retries")

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            label = describe if attempts == 1 else f"{describe} (retry {attempts - 1})"
            return self._attempt(method, path, query, body, lead_id, label)

        def worth_retrying(error: BaseException) -> bool:
            if not (isinstance(error, LeadSquaredError) and error.retryable):
                return False
            # A host never reached (a wrong LSQ_HOST, no network) gets one retry, not the
            # whole budget: the user hears of it in seconds. Once it has answered, a failed
            # connection is a blip worth the full budget.
            never_reached = error.unreachable and not self._reached
            return not (never_reached and attempts >= _FIRST_CONTACT_ATTEMPTS)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=wait,
            retry=tenacity.retry_if_exception(worth_retrying),
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)

    def _attempt(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None,
        body: Any,
        lead_id: str | None,
        describe: str,
    ) -> Any:
        params = dict(query or {})
        headers = {}
        if self.keys_in == "headers":
            headers["x-LSQ-AccessKey"] = self.__access_key
            headers["x-LSQ-SecretKey"] = self.__secret_key
        else:
            params = {"accessKey": self.__access_key, "secretKey": self.__secret_key, **params}
        data = None
        if body is not None:
            data = orjson.dumps(body)
            headers["Content-Type"] = "application/json"

        waited_from = time.monotonic()
        slot = self._limiter.acquire()
        started = time.monotonic()
        self._count("waited_seconds", started - waited_from)
        self._count("calls")
        failure: LeadSquaredError | None = None
        response = None
        try:
            response = self._session().request(
                method,
                self.base_url + path,
                params=params,
                data=data,
                headers=headers,
                timeout=self.timeout,
                stream=True,  # the body is read against a deadline below
                allow_redirects=False,  # a redirect would carry the keys to another host
            )
            content = read_within(response, started + self.timeout)
        except (
            requests.Timeout,
            urllib3.exceptions.TimeoutError,
            DeadlinePassed,
            requests.ConnectionError,
            urllib3.exceptions.HTTPError,
            OSError,
        ) as exc:
            # urllib3's NewConnectionError is a TimeoutError too: a refused port is
            # "unreachable" before it is a time-out.
            unreachable = unreachable_reason(exc)
            if unreachable:
                message = self._unreachable_message(unreachable)
            elif isinstance(
                exc, (requests.Timeout, urllib3.exceptions.TimeoutError, DeadlinePassed)
            ):
                message = f"No reply within {self.timeout:g} s"
            else:
                reason = self._scrub(short_reason(exc))
                message = f"The connection failed ({type(exc).__name__}: {reason})"
            failure = ServerError(
                message, lead_id=lead_id, retryable=True, unreachable=bool(unreachable)
            )
        except UnicodeError:
            failure = ConfigurationError(
                "A key holds characters that cannot be sent over HTTP; copy it again from "
                "LeadSquared (Settings > API and Webhooks)",
                lead_id=lead_id,
            )
        except requests.RequestException as exc:
            failure = LeadSquaredError(
                f"The request could not be made ({type(exc).__name__}: "
                f"{self._scrub(short_reason(exc))})",
                lead_id=lead_id,
            )
        finally:
            self._limiter.release(slot)
            if response is not None:
                response.close()
        elapsed = time.monotonic() - started
        if failure is not None or response is None:
            self._count("failed_calls")
            _log.debug("%s -> %s in %.3f s", describe, failure, elapsed)
            raise failure from None  # type: ignore[misc]

        self._reached = True
        status = response.status_code
        try:
            payload = orjson.loads(content) if content.strip() else None
            parse_failed = payload is None and status < 400
        except orjson.JSONDecodeError:
            payload, parse_failed = None, True
        error = self._error_for(status, payload, content, parse_failed, response, lead_id)
        rows = (
            len(payload["ProspectActivities"])
            if isinstance(payload, dict) and isinstance(payload.get("ProspectActivities"), list)
            else None
        )
        if error is not None:
            self._count("failed_calls")
            _log.debug(
                "%s -> HTTP %d %s in %.3f s", describe, status, type(error).__name__, elapsed
            )
            raise error from None
        _log.debug(
            "%s -> HTTP %d, %s in %.3f s",
            describe,
            status,
            f"{rows} rows" if rows is not None else f"{len(content)} bytes",
            elapsed,
        )
        return payload

    # -- errors -----------------------------------------------------------------------

    def _unreachable_message(self, reason: str) -> str:
        """What to check when the host cannot be reached: host and port only, never a query."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or "the host"
        if ":" in host:
            host = f"[{host}]"  # an IPv6 address
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = 443 if parts.scheme == "https" else 80
        return f"Could not connect to {host}:{port} ({reason}): check LSQ_HOST and the network"

    def _scrub(self, text: str) -> str:
        """Text from outside (server messages, exception reasons) without keys or queries."""
        return scrub_text((self.__access_key, self.__secret_key), text)

    def _error_for(
        self,
        status: int,
        payload: Any,
        content: bytes,
        parse_failed: bool,
        response: requests.Response,
        lead_id: str | None,
    ) -> LeadSquaredError | None:
        verdict = classify_reply(
            status,
            payload,
            content,
            parse_failed,
            response,
            lead_id,
            (self.__access_key, self.__secret_key),
        )
        if isinstance(verdict, RateLimited):
            return self._rate_limited(verdict.context, verdict.retry_after, verdict.server_says)
        return verdict

    def _rate_limited(
        self, context: dict[str, Any], retry_after: float | None, server_says: str
    ) -> RateLimitError:
        self._count("rate_limited")
        switched = self._limiter.count_from_replies()
        if switched:
            _log.info("Rate limited: the client now starts each call's window at its reply")
        named = LIMIT_RE.search(f"{context.get('exception_message') or ''} {server_says}")
        lowered = False
        window = self.per_seconds
        if named:
            calls = int(named.group(1))
            window = float(named.group(2)) * UNIT_SECONDS[named.group(3).lower()]
            if window >= 3600:
                return RateLimitError(
                    f"The account's API quota is used up{server_says}; try again later",
                    **context,
                )
            lowered = self._limiter.lower(calls, window)
            if lowered:
                _log.warning(
                    "The server's rate limit is %d calls in %g s; the client now keeps to it",
                    calls,
                    window,
                )
        if retry_after is not None and retry_after > _LONGEST_RETRY_AFTER:
            return RateLimitError(
                f"Rate limited by the server{server_says}; it asks to wait {retry_after:.0f} s, "
                "so try again later",
                **context,
            )
        error = RateLimitError(f"Rate limited by the server{server_says}", **context)
        if retry_after is not None:
            pause = retry_after
        elif lowered:
            pause = 0.0  # the lowered limiter already counts every call the server saw
        elif switched and named:
            # The server's limit is the one kept to, and the calls made so far are now counted
            # from their replies (never before the server saw them): the limiter alone holds.
            # A second refusal (another program on the same keys) pauses.
            pause = 0.0
        else:
            pause = window * (1.0 + 0.25 * random.random())
        self._limiter.pause(pause)
        error.retryable = True
        error.retry_after = retry_after
        return error


_FIRST_CONTACT_ATTEMPTS = 2
"""Attempts at a host that has never answered before its connection failure is reported."""
