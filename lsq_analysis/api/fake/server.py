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
* ``POST /v2/LeadManagement.svc/Leads.RecentlyModified``: the leads modified in a window, at
  most 5,000 per window (``max_leads_per_window``), ``LeadPropertyList`` layout.
* ``POST /v2/LeadManagement.svc/Leads.Get`` and ``GET ...Leads.GetByQuickSearch?key=``: bare
  arrays of flat leads (``lead_layout``); ``POST ...Leads/Retrieve/ByIds``: up to 10,000 ids.
* ``GET /v2/UserManagement.svc/Users.Get``: the account's users.
* ``POST /v2/ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent``: one event's
  activities account-wide, the same activities ``Retrieve`` serves per lead.

The leads and users agree with the activities served (see ``leads.py``); the query rules are
in ``lead_queries.py`` and ``account_activities.py``.

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

import secrets
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from .handler import FakeHTTPServer, RequestHandler
from .leads import LeadBook
from .rules import (
    ACTIVITIES_BY_EVENT_PATH,
    ACTIVITY_TYPES_PATH,
    GUID_RE,
    LEAD_LAYOUTS,
    LEAD_RECORD_COUNTS,
    LEADS_BY_IDS_PATH,
    LEADS_GET_PATH,
    LEADS_QUICK_SEARCH_PATH,
    LEADS_RECENTLY_MODIFIED_PATH,
    MAX_LEADS_PER_WINDOW,
    PAGING_READINGS,
    RATE_LIMIT_STYLES,
    RECORD_COUNT_MEANINGS,
    RETRIEVE_PATH,
    USER_PATH,
    USERS_PATH,
    WINDOW_FIELDS,
    one_page,
)
from .state import FakeServerStats, ServerState

if TYPE_CHECKING:
    from ..client import LeadSquaredClient

__all__ = [
    "ACTIVITIES_BY_EVENT_PATH",
    "ACTIVITY_TYPES_PATH",
    "LEADS_BY_IDS_PATH",
    "LEADS_GET_PATH",
    "LEADS_QUICK_SEARCH_PATH",
    "LEADS_RECENTLY_MODIFIED_PATH",
    "LEAD_LAYOUTS",
    "LEAD_RECORD_COUNTS",
    "PAGING_READINGS",
    "RATE_LIMIT_STYLES",
    "RECORD_COUNT_MEANINGS",
    "RETRIEVE_PATH",
    "USERS_PATH",
    "USER_PATH",
    "WINDOW_FIELDS",
    "FakeLeadSquared",
    "FakeServerStats",
]


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
        lead_records: the lead records the lead calls serve, raw dicts as ``Leads.Get`` sends
            them (``ProspectID`` required). Every lead with activities but no record here gets
            one generated from its activities (``leads.lead_record``); left out with the bundled
            sample: ``samples.load_sample_leads()``. Given records are served as given.
        users: what ``Users.Get`` serves, raw dicts (``ID``, ``FirstName``, ...). Left out: the
            invented team, everyone the activities name and every lead's owner.
        lead_layout: ``Leads.Get`` and quick search send ``"flat"`` leads or
            ``"property_list"`` ones (``{"LeadPropertyList": [{"Attribute", "Value",
            "Fields"}]}``), still in a bare array.
        lead_record_count: ``Leads.RecentlyModified``'s ``RecordCount``: ``"total"`` (every lead
            in the window, even past the cap), ``"capped"`` (at most ``max_leads_per_window``)
            or ``"page"`` (this reply's leads; 0 past the end).
        lead_window_field: what ``Leads.RecentlyModified`` filters on, ``"LastModifiedOn"``
            (what the API does) or ``"ModifiedOn"`` (what the UI does).
        max_leads_per_window: the most leads one ``Leads.RecentlyModified`` window yields over
            all its pages: the first ones in the requested order.
        by_ids_id_key: the id key of ``Leads/Retrieve/ByIds`` records: ``"ProspectID"``,
            ``"ProspectId"``, or None to leave the id columns out, as the docs' examples do.
        errors_with_200: the lead, user and account-wide calls send their errors (bad input,
            limits) with HTTP 200 and the ``"Status":"Error"`` body, as some accounts do.
        error_200_rate: share of lead, user and account-wide calls answered with HTTP 200 and
            ``{"Status":"Error","ExceptionType":...,"ExceptionMessage":...}``.
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
        lead_records: Sequence[Mapping[str, Any]] | None = None,
        users: Sequence[Mapping[str, Any]] | None = None,
        lead_layout: str = "flat",
        lead_record_count: str = "total",
        lead_window_field: str = "LastModifiedOn",
        max_leads_per_window: int = MAX_LEADS_PER_WINDOW,
        by_ids_id_key: str | None = "ProspectID",
        errors_with_200: bool = False,
        error_200_rate: float = 0.0,
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
        _check_choice("lead_layout", lead_layout, LEAD_LAYOUTS)
        _check_choice("lead_record_count", lead_record_count, LEAD_RECORD_COUNTS)
        _check_choice("lead_window_field", lead_window_field, WINDOW_FIELDS)
        if by_ids_id_key is not None:
            _check_choice("by_ids_id_key", by_ids_id_key, ("ProspectID", "ProspectId"))
        if max_leads_per_window < 1:
            raise ValueError(f"max_leads_per_window must be 1 or more, not {max_leads_per_window}")
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
            ("error_200_rate", error_200_rate),
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
        self.lead_layout = lead_layout
        self.lead_record_count = lead_record_count
        self.lead_window_field = lead_window_field
        self.max_leads_per_window = int(max_leads_per_window)
        self.by_ids_id_key = by_ids_id_key
        self.errors_with_200 = errors_with_200
        self.error_200_rate = error_200_rate
        self.seed = seed
        self.access_key = access_key or f"u$rFAKE{secrets.token_hex(12)}"
        self.secret_key = secret_key or f"FAKESECRET${secrets.token_hex(16)}"
        self.leads: dict[str, list[dict[str, Any]]] = _load_leads(leads, synthetic, seed)
        if lead_records is None and leads is None:
            lead_records = _sample_lead_records()
        self._book = LeadBook(seed, lead_records, users)
        self._activity_types = list(activity_types) if activity_types is not None else None
        self._bind_host = host
        self._bind_port = port

        self._state = ServerState(seed)  # counters, rate-limit window, fault draws
        self._serving = threading.Event()
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None

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

    def _bind(self) -> FakeHTTPServer:
        if self._server is None:
            server = FakeHTTPServer((self._bind_host, self._bind_port), RequestHandler)
            server.fake = self
            server.state = self._state
            self._server = server
            self._state.stopping.clear()
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
        self._state.stopping.set()
        if self._serving.is_set():
            server.shutdown()  # returns once serve_forever's loop has ended
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._serving.clear()
        self._close()

    def _close(self) -> None:
        self._state.stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.server_close()
        self._state.close_connections()

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
        return self._state.stats()

    def reset_stats(self) -> None:
        """Forget every call seen so far (the rate-limit window is kept).

        Example:
            >>> fake.reset_stats(); fake.stats.calls
            0
        """
        self._state.reset_stats()

    # -- what the API answers ----------------------------------------------------------

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
        return one_page(
            self.leads.get(lead_id.lower(), []),
            offset,
            row_count,
            event,
            paging=self.paging,
            page1_offset_zero=self.page1_offset_zero,
            record_count=self.record_count,
            max_page_size=self.max_page_size,
        )

    def lead_records(self) -> list[dict[str, Any]]:
        """Every lead record the lead calls serve: the given ones, then one per other lead.

        Example:
            >>> fake = FakeLeadSquared(synthetic=2, leads={})
            >>> sorted(r["ProspectID"] for r in fake.lead_records()) == sorted(fake.leads)
            True
        """
        return self._book.records(self.leads)

    def users(self) -> list[dict[str, Any]]:
        """The users ``Users.Get`` serves (and the account-wide activities name).

        Example:
            >>> {u["StatusCode"] for u in FakeLeadSquared().users()}
            {0, 1}
        """
        return self._book.users(self.leads)


def _sample_lead_records() -> list[dict[str, Any]]:
    try:
        from ... import samples
    except ImportError:  # the bundled sample is not part of this build
        return []
    return samples.load_sample_leads()


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")


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
        if not GUID_RE.match(str(lead_id)):
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
