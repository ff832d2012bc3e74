"""What the request threads of one fake server share, under one lock: the calls it has seen
(:class:`FakeServerStats` is a snapshot of them), the sliding rate-limit window, the seeded
draw of injected faults, the open connections, and the signal that cuts waits short on stop.
"""

from __future__ import annotations

import bisect
import contextlib
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FakeServerStats", "ServerState"]


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


class ServerState:
    """The shared, locked state of one fake server (``seed`` makes its fault draws repeat).

    Example:
        >>> state = ServerState(seed=0)
        >>> arrived = state.record_arrival("/v2/x")
        >>> state.take_rate_slot((5, 1.0), arrived) is None, state.stats().calls
        (True, 1)
    """

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        # its own draws, so the other faults fall on the same calls as before it existed
        self._rng_200 = random.Random(f"{seed}:errors-with-200")
        self._lock = threading.Lock()
        self._window: list[float] = []  # arrivals of admitted calls, sorted
        # set when the server stops: every wait (latency, slow replies) ends at once
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self.reset_stats()

    # -- statistics -------------------------------------------------------------------

    def stats(self) -> FakeServerStats:
        """A snapshot of the calls seen so far."""
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
        """Forget every call seen so far (the rate-limit window is kept)."""
        with self._lock:
            self._calls = 0
            self._statuses: Counter[int] = Counter()
            self._dropped = 0
            self._slow = 0
            self._rate_limited = 0
            self._call_times: list[float] = []
            self._paths: Counter[str] = Counter()
            self._keys_via: Counter[str] = Counter()

    def record_arrival(self, path: str) -> float:
        """Count a request to ``path`` as it arrives; returns its arrival time."""
        now = time.monotonic()
        with self._lock:
            self._calls += 1
            self._call_times.append(now)
            self._paths[path] += 1
        return now

    def record_status(self, status: int) -> None:
        """Count a reply sent with ``status``."""
        with self._lock:
            self._statuses[status] += 1

    def record_keys(self, *, query: bool, headers: bool) -> None:
        """Count how a request brought its keys: as query parameters, headers, or both."""
        with self._lock:
            if query:
                self._keys_via["query"] += 1
            if headers:
                self._keys_via["headers"] += 1

    def record_drop(self) -> None:
        """Count a connection closed on purpose without a reply."""
        with self._lock:
            self._dropped += 1

    def record_slow(self) -> None:
        """Count a reply delayed on purpose."""
        with self._lock:
            self._slow += 1

    # -- connections ------------------------------------------------------------------

    def track(self, connection: socket.socket) -> None:
        """Remember an open connection, so stopping can close it."""
        with self._lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        """Forget a connection that has closed."""
        with self._lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut down every open connection (a stopping server leaves none behind)."""
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    # -- faults and the rate limit ----------------------------------------------------

    def draw_faults(
        self,
        *,
        drop_rate: float,
        slow_rate: float,
        error_rate: float,
        html_rate: float,
        truncate_rate: float,
        latency: tuple[float, float],
    ) -> dict[str, Any]:
        """Which faults hit one request, drawn at the given rates, and its latency."""
        with self._lock:
            rng = self._rng
            return {
                "drop": rng.random() < drop_rate,
                "slow": rng.random() < slow_rate,
                "error": rng.random() < error_rate,
                "html": rng.random() < html_rate,
                "truncate": rng.random() < truncate_rate,
                "latency": rng.uniform(*latency) if latency[1] > 0 else 0.0,
            }

    def draw_error_200(self, rate: float) -> bool:
        """Whether a lead, user or account-wide call gets an HTTP 200 ``"Status":"Error"``."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rng_200.random() < rate

    def take_rate_slot(self, rate_limit: tuple[int, float] | None, arrived: float) -> float | None:
        """None if the call that arrived at ``arrived`` may go on, else seconds until room.

        ``rate_limit`` is ``(calls, seconds)``, or None for no limit (every call goes on).

        A call counts from its arrival, the time ``stats.call_times`` records. Handler threads
        get here in another order than their calls arrived, so the admitted arrivals are kept
        sorted, and a call is refused if any window of the limit's length around its arrival
        would then hold more than the limit.
        """
        if rate_limit is None:
            return None
        calls, seconds = rate_limit
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

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the server stops meanwhile."""
        if seconds > 0:
            self.stopping.wait(seconds)
