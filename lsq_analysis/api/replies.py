"""What a LeadSquared reply means: the typed error it is, if any, and whether it is worth retrying.

The client sends; this module reads. A reply is usable, a typed error
(:mod:`lsq_analysis.errors`, with ``retryable`` / ``unreachable`` / ``retry_after`` set), or a
rate limit the client must slow down for. It also holds the reading of a reply body against a
deadline, the walk of an exception chain for "host unreachable", and the scrubbing of keys
from any text that reaches a message or a log.

Example:
    >>> error_class_for_status(404).__name__
    'NotFoundError'
"""

from __future__ import annotations

import email.utils
import logging
import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3

from ..errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    LeadSquaredError,
    NotFoundError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)

__all__ = [
    "DeadlinePassed",
    "QueryKeyFilter",
    "RateLimited",
    "activities_of",
    "classify_reply",
    "error_class_for_status",
    "install_query_filter",
    "mark_retryable",
    "read_within",
    "retry_after_seconds",
    "scrub_text",
    "short_reason",
    "snippet",
    "unreachable_reason",
]

LIMIT_RE = re.compile(
    r"limit\s+of\s+(\d+)\s+in\s+(\d+(?:\.\d+)?)\s*(second|minute|hour|day)", re.IGNORECASE
)
RATE_LIMIT_TEXT_RE = re.compile(
    r"exceeded the limit|rate.?limit|too many requests|api calls exceeded", re.IGNORECASE
)
UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
QUERY_KEY_RE = re.compile(r"(?i)\b(accesskey|secretkey)=[^&\s\"'<>]*")
QUERY_RE = re.compile(r"\?[^\s\"'<>]*")
NON_TRANSIENT_5XX = {501, 505}
SNIPPET_CHARS = 120
MAX_SERVER_TEXT = 300


class QueryKeyFilter(logging.Filter):
    """Hides ``accessKey=``/``secretKey=`` values in urllib3's debug lines (keys_in="query")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                QUERY_KEY_RE.sub(r"\1=<hidden>", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = QUERY_KEY_RE.sub(r"\1=<hidden>", record.msg)
        return True


_query_filter_lock = threading.Lock()
_query_filter_installed = False


def install_query_filter() -> None:
    global _query_filter_installed
    with _query_filter_lock:
        if not _query_filter_installed:
            logging.getLogger("urllib3.connectionpool").addFilter(QueryKeyFilter())
            _query_filter_installed = True


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def scrub_text(secrets: Sequence[str], text: str) -> str:
    """Text from outside (server messages, exception reasons) without keys or queries.

    Example:
        >>> scrub_text(["s3cret"], "bad key s3cret")
        'bad key <hidden>'
    """
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, "<hidden>")
    text = QUERY_KEY_RE.sub(r"\1=<hidden>", text)
    return QUERY_RE.sub("?<query hidden>", text)


def snippet(secrets: Sequence[str], content: bytes) -> str:
    """The start of a reply body, scrubbed and on one line, for an error message."""
    text = content[: SNIPPET_CHARS * 4].decode("utf-8", errors="replace")
    text = " ".join(scrub_text(secrets, text).split())
    if len(text) > SNIPPET_CHARS:
        text = text[: SNIPPET_CHARS - 3] + "..."
    return text


@dataclass(frozen=True)
class RateLimited:
    """A rate-limit reply: what the client needs to slow down, then retry or give up.

    Attributes:
        context: the error's keyword attributes (status, server type and message, lead).
        retry_after: the seconds the server asked to wait, if it did.
        server_says: the server's own words, ready to append to a message.
    """

    context: dict[str, Any]
    retry_after: float | None
    server_says: str


def classify_reply(
    status: int,
    payload: Any,
    content: bytes,
    parse_failed: bool,
    response: requests.Response,
    lead_id: str | None,
    secrets: Sequence[str],
) -> LeadSquaredError | RateLimited | None:
    """What a reply means: None (usable), the typed error to raise, or :class:`RateLimited`.

    ``secrets`` (the keys) are scrubbed from any server text the error quotes. Errors worth
    retrying come back with ``retryable`` set (and ``retry_after`` when the server sent one);
    a rate-limit reply is :class:`RateLimited`, for the client to slow down before retrying.

    Example:
        >>> reply = requests.Response()
        >>> verdict = classify_reply(400, {"Status": "Error"}, b"", False, reply, None, ())
        >>> type(verdict).__name__, verdict.retryable
        ('BadRequestError', False)
    """
    if 300 <= status < 400:
        location = urlsplit(response.headers.get("Location") or "")
        target = location.hostname or "another address"
        if location.port:
            target = f"{target}:{location.port}"
        return ConfigurationError(
            f"The server answered with a redirect (HTTP {status}) to "
            f"{scrub_text(secrets, target)}; "
            "it was not followed, so the keys went nowhere else. Set LSQ_HOST (or host=) "
            "to your account's API host, e.g. api-in21.leadsquared.com",
            status=status,
            lead_id=lead_id,
        )
    is_error_body = isinstance(payload, dict) and str(payload.get("Status", "")).lower() == (
        "error"
    )
    if status < 400 and not is_error_body and not parse_failed:
        if payload is None:
            return mark_retryable(
                ResponseFormatError("The reply was empty", status=status, lead_id=lead_id)
            )
        return None

    exception_type = exception_message = None
    if isinstance(payload, dict):
        raw_type = payload.get("ExceptionType")
        raw_message = payload.get("ExceptionMessage") or payload.get("Message")
        exception_type = scrub_text(secrets, str(raw_type))[:MAX_SERVER_TEXT] if raw_type else None
        if raw_message:
            exception_message = scrub_text(secrets, str(raw_message))[:MAX_SERVER_TEXT]
    context: dict[str, Any] = {
        "status": status,
        "exception_type": exception_type,
        "exception_message": exception_message,
        "lead_id": lead_id,
    }
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    server_says = f": {exception_message.rstrip('. ')}" if exception_message else ""

    if parse_failed or (payload is not None and not isinstance(payload, (dict, list))):
        shown = snippet(secrets, content)
        if status == 429 or RATE_LIMIT_TEXT_RE.search(shown):
            return RateLimited(context, retry_after, f" ({shown!r})")
        if status >= 500:
            error: LeadSquaredError = ServerError(
                f"The server failed and sent a reply that is not JSON: {shown!r}", **context
            )
            return (
                error
                if status in NON_TRANSIENT_5XX
                else mark_retryable(error, retry_after=retry_after)
            )
        if status >= 400:
            cls = error_class_for_status(status)
            return cls(f"The server refused the call ({shown!r})", **context)
        return mark_retryable(
            ResponseFormatError(
                f"The reply is not the JSON the API documents (truncated or not JSON): {shown!r}",
                **context,
            ),
            retry_after=retry_after,
        )

    text = f"{exception_type or ''} {exception_message or ''}"
    if (
        status == 429
        or "ratelimit" in text.lower().replace(" ", "")
        or (RATE_LIMIT_TEXT_RE.search(text))
    ):
        return RateLimited(context, retry_after, server_says)
    lowered_type = (exception_type or "").lower()
    if status == 401 or "unauthori" in lowered_type or "accesskey" in lowered_type:
        return AuthenticationError(
            f"The keys were refused{server_says}. Check LSQ_ACCESS_KEY and LSQ_SECRET_KEY, "
            "and that LSQ_HOST is your account's regional API host",
            **context,
        )
    if status >= 500 or "internalserver" in lowered_type:  # also an error body sent with 200
        error = ServerError(f"The server failed{server_says}", **context)
        return (
            error if status in NON_TRANSIENT_5XX else mark_retryable(error, retry_after=retry_after)
        )
    if status == 404 or "notfound" in lowered_type:
        return NotFoundError(f"The API was not found on this host{server_says}", **context)
    if status == 403:
        return AuthenticationError(f"The keys may not make this call{server_says}", **context)
    return BadRequestError(f"The server refused the request{server_says}", **context)


def mark_retryable(error: LeadSquaredError, retry_after: float | None = None) -> LeadSquaredError:
    """Mark ``error`` as worth retrying, with the server's own wait if it gave one."""
    error.retryable = True
    error.retry_after = retry_after
    return error


def error_class_for_status(status: int) -> type[LeadSquaredError]:
    if status == 401 or status == 403:
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return BadRequestError


class DeadlinePassed(Exception):
    """The reply did not arrive in full within the time-out (it trickled in)."""


def read_within(response: requests.Response, deadline: float) -> bytes:
    """The whole body, or ``DeadlinePassed`` once ``deadline`` passes between reads.

    requests' own time-out bounds each read, not the reply: a body trickling in a byte at a
    time would be waited for indefinitely.
    """
    chunks: list[bytes] = []
    while True:
        if time.monotonic() > deadline:
            raise DeadlinePassed
        chunk = response.raw.read1(65536, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def unreachable_reason(exc: BaseException) -> str | None:
    """``"connection refused"`` or ``"host name not found"`` if that is why ``exc`` happened.

    Walks the exception chain (causes, contexts, urllib3's ``MaxRetryError.reason`` and the
    exceptions requests keeps in ``args``); None when the host was reached or timed out.

    Example:
        >>> unreachable_reason(ConnectionRefusedError(111, "Connection refused"))
        'connection refused'
    """
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    new_connection = False
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (urllib3.exceptions.NameResolutionError, socket.gaierror)):
            return "host name not found"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, urllib3.exceptions.NewConnectionError):
            new_connection = True
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked.extend(current.args)
        pending.extend(item for item in linked if isinstance(item, BaseException))
    if new_connection:
        return "the connection could not be made"
    return None


def short_reason(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def activities_of(payload: Any, lead_id: str) -> tuple[int | None, list[dict[str, Any]]]:
    if not isinstance(payload, dict):
        raise ResponseFormatError(
            "The activities reply is not a JSON object", status=200, lead_id=lead_id
        )
    record_count = payload.get("RecordCount")
    try:
        count = int(record_count) if record_count is not None else None
    except (TypeError, ValueError):
        count = None
    rows = payload.get("ProspectActivities")
    if rows is None:
        # Only "RecordCount": 0 with no list is an empty lead; anything else would lose rows.
        if count == 0:
            return 0, []
        raise ResponseFormatError(
            "The activities reply has no ProspectActivities list"
            + (f" although its RecordCount is {count}" if count is not None else ""),
            status=200,
            lead_id=lead_id,
        )
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ResponseFormatError(
            "ProspectActivities is not a list of activities", status=200, lead_id=lead_id
        )
    return count, rows
