"""The toolkit's error classes.

Every error raised on purpose is a :class:`LeadSquaredError`. Errors from an API
call keep the HTTP status, the server's ``ExceptionType`` and
``ExceptionMessage`` and the lead id, and never an access or secret key.

Example:
    >>> try:
    ...     client.get_lead_activities(lead_id)
    ... except AuthenticationError as err:
    ...     print(err.status, err.exception_message)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "FetchError",
    "LeadSquaredError",
    "NotFoundError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "StoreError",
]


class LeadSquaredError(Exception):
    """Base class of every error the toolkit raises on purpose.

    Attributes:
        status: the HTTP status of the reply, if there was one.
        exception_type: the server's ``ExceptionType``, if it sent one.
        exception_message: the server's ``ExceptionMessage``, if it sent one.
        lead_id: the lead the call was about, if any.
        retryable: True when the same call may succeed later (a rate limit, a 5xx, a dropped
            connection, a truncated reply); the client retries these itself, so one that
            reaches you had its retries already.
        unreachable: True when the host could not be reached at all (a wrong ``LSQ_HOST``, no
            network); ``fetch_activities`` stops starting leads when it sees one.
        retry_after: the seconds the server asked to wait (``Retry-After``), if it did.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        exception_type: str | None = None,
        exception_message: str | None = None,
        lead_id: str | None = None,
        retryable: bool = False,
        unreachable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.exception_type = exception_type
        self.exception_message = exception_message
        self.lead_id = lead_id
        self.retryable = retryable
        self.unreachable = unreachable
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        context = []
        if self.status is not None:
            context.append(f"HTTP {self.status}")
        if self.exception_type:
            context.append(self.exception_type)
        if self.lead_id:
            context.append(f"lead {self.lead_id}")
        if context:
            parts.append(f"({', '.join(context)})")
        return " ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the keyword attributes when pickled (multiprocessing, joblib).
        return (
            _rebuild_error,
            (
                type(self),
                self.message,
                {
                    "status": self.status,
                    "exception_type": self.exception_type,
                    "exception_message": self.exception_message,
                    "lead_id": self.lead_id,
                    "retryable": self.retryable,
                    "unreachable": self.unreachable,
                    "retry_after": self.retry_after,
                },
            ),
        )


def _rebuild_error(cls: type[LeadSquaredError], message: str, attrs: dict[str, Any]) -> Any:
    err = cls.__new__(cls)
    LeadSquaredError.__init__(err, message, **attrs)
    return err


class ConfigurationError(LeadSquaredError):
    """The host or a key is missing or malformed: the message names what to set."""


class AuthenticationError(LeadSquaredError):
    """HTTP 401: the keys are wrong, or they belong to another region's host."""


class BadRequestError(LeadSquaredError):
    """HTTP 400: the request was not what the API expects (never retried)."""


class NotFoundError(LeadSquaredError):
    """HTTP 404: the API path was not found on this host (never retried)."""


class RateLimitError(LeadSquaredError):
    """Still rate limited after every retry (or the daily cap was reached)."""


class ServerError(LeadSquaredError):
    """HTTP 5xx, a dropped connection or a time-out that lasted through every retry."""


class ResponseFormatError(LeadSquaredError):
    """The reply was not the JSON the API documents (HTML, truncated, wrong shape)."""


class StoreError(LeadSquaredError):
    """An :class:`~lsq_analysis.ActivityStore` folder cannot be used as it is."""


class FetchError(LeadSquaredError):
    """Some leads failed; nothing fetched is lost.

    Attributes:
        frame: the expanded frame of every lead that was fetched.
        failures: a frame with ``lead_id``, ``error`` (class name) and ``message``.
    """

    def __init__(self, message: str, *, frame: Any, failures: Any) -> None:
        super().__init__(message)
        self.frame = frame
        self.failures = failures

    def __reduce__(self) -> tuple[Any, ...]:
        # frame and failures are keyword-only: rebuild without __init__, then set them.
        return (
            _rebuild_error,
            (type(self), self.message, super().__reduce__()[1][2]),
            {"frame": self.frame, "failures": self.failures},
        )

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        if state is not None:  # BaseException's signature; __reduce__ always gives a dict
            self.__dict__.update(state)
