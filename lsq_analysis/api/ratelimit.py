"""A sliding-window rate limiter shared by every thread of a client.

Why not pyrate-limiter (a fine library): the client needs three things it does not offer
through a public API: lowering the limit while threads are waiting on it (the server names its
own limit in its rate-limit reply), holding every thread for a while after the server said
"too many" (a shared pause), and choosing where a call's window starts.

Where a call's window starts. The server counts a call when it arrives, somewhere between our
send and our receive. Until its reply arrives a call occupies its slot for good. After the
reply, the limiter first counts the call from about when it *arrived* (``anchor="send"``: the
send time plus half the round trip, at least 1% of the window): servers check the limit at
their gateway on arrival, which follows the send by the inbound network delay only, so this
keeps the pipe full (a reply-anchored window wastes one round trip per
window: 4% of a 5 s window at 200 ms). Should the server still say "too many", the client
calls :meth:`count_from_replies` and from then on a slot is reused no earlier than
``reply time + window``, which can never make the server see more than the limit in any
window, whatever the latency. The switch also re-counts the calls already made from their
replies, so the limiter then holds at least what the server holds: when the server named the
limit the client already keeps to, no blanket pause is needed.

Example:
    >>> limiter = SlidingWindowLimiter(25, 5.0)
    >>> slot = limiter.acquire()
    >>> ...  # make the call
    >>> limiter.release(slot)
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable

__all__ = ["SlidingWindowLimiter"]

_IN_FLIGHT = math.inf
_SEND_MARGIN = 0.01  # with anchor="send": a share of the window added to the send time


class SlidingWindowLimiter:
    """At most ``calls`` calls per ``seconds`` for each of its windows, across threads.

    Args:
        max_calls: calls allowed per window.
        per_seconds: the window's length in seconds.
        clock: a monotonic clock (seconds).
        anchor: ``"send"`` (count a call from when it was sent, once its reply is in) or
            ``"reply"`` (from when its reply arrived: safe whatever the latency).

    Example:
        >>> limiter = SlidingWindowLimiter(2, 1.0)
        >>> a, b = limiter.acquire(), limiter.acquire()
        >>> limiter.release(a); limiter.release(b)
        >>> limiter.acquire()  # waits about a second
    """

    def __init__(
        self,
        max_calls: int,
        per_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        anchor: str = "send",
    ) -> None:
        if anchor not in ("send", "reply"):
            raise ValueError(f"anchor must be 'send' or 'reply', not {anchor!r}")
        if int(max_calls) < 1 or float(per_seconds) <= 0:
            raise ValueError(
                f"a rate limit needs max_calls >= 1 and per_seconds > 0, "
                f"not {max_calls} in {per_seconds}"
            )
        self._windows: dict[float, int] = {float(per_seconds): int(max_calls)}
        self._clock = clock
        self._cond = threading.Condition()
        self._slots: dict[int, float] = {}  # slot id -> window start (inf while in flight)
        self._sent: dict[int, float] = {}  # slot id -> send time, while in flight
        self._replied: dict[int, float] = {}  # slot id -> reply time, for calls counted earlier
        self._anchor = anchor
        self._ids = itertools.count()
        self._paused_until = 0.0

    @property
    def windows(self) -> dict[float, int]:
        """Window length in seconds -> calls allowed in it (a copy)."""
        with self._cond:
            return dict(self._windows)

    @property
    def tightest(self) -> tuple[int, float]:
        """The window with the fewest calls per second, as ``(calls, seconds)``."""
        with self._cond:
            seconds, calls = min(self._windows.items(), key=lambda item: item[1] / item[0])
            return calls, seconds

    def lower(self, max_calls: int, per_seconds: float) -> bool:
        """Also keep within ``max_calls`` per ``per_seconds``; True if that is a new constraint.

        Example:
            >>> SlidingWindowLimiter(25, 5.0).lower(20, 5.0)
            True
        """
        max_calls, per_seconds = max(1, int(max_calls)), float(per_seconds)
        with self._cond:
            current = self._windows.get(per_seconds)
            if current is not None and current <= max_calls:
                return False
            # A window already implied by a tighter one adds nothing.
            for seconds, calls in self._windows.items():
                if seconds >= per_seconds and calls <= max_calls:
                    return False
            self._windows[per_seconds] = max_calls
            self._cond.notify_all()
            return True

    @property
    def anchor(self) -> str:
        """Where a call's window starts: ``"send"`` or ``"reply"``."""
        return self._anchor

    def count_from_replies(self) -> bool:
        """From now on start each call's window at its reply; True if that is a change.

        Example:
            >>> limiter.count_from_replies()  # the server said "too many" all the same
            True
        """
        with self._cond:
            changed = self._anchor != "reply"
            self._anchor = "reply"
            for slot, replied in self._replied.items():  # re-count the calls made so far
                if slot in self._slots:
                    self._slots[slot] = max(self._slots[slot], replied)
            self._replied.clear()
            return changed

    def pause(self, seconds: float) -> None:
        """Let no thread start a call for the next ``seconds``.

        Example:
            >>> limiter.pause(5.0)  # after the server said "too many"
        """
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))
            self._cond.notify_all()

    def _wait_needed(self, now: float) -> float:
        wait = self._paused_until - now
        longest = max(self._windows)
        for slot, stamp in list(self._slots.items()):
            # kept while its reply is recent too, in case the count switches to replies
            if max(stamp, self._replied.get(slot, stamp)) <= now - longest:
                del self._slots[slot]
                self._replied.pop(slot, None)
        stamps = sorted(self._slots.values())
        for seconds, calls in self._windows.items():
            recent = [stamp for stamp in stamps if stamp > now - seconds]
            if len(recent) >= calls:
                wait = max(wait, recent[len(recent) - calls] + seconds - now)
        return wait

    def acquire(self) -> int:
        """Block until a call may start; returns the slot to :meth:`release` after the reply.

        Example:
            >>> slot = limiter.acquire()
        """
        with self._cond:
            while True:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    slot = next(self._ids)
                    self._slots[slot] = _IN_FLIGHT
                    self._sent[slot] = now
                    return slot
                # A slot held by a call in flight frees only on release(), which notifies.
                self._cond.wait(timeout=min(wait, 1.0))

    def release(self, slot: int) -> None:
        """The call of ``slot`` got its reply (or failed): its window is placed (see ``anchor``).

        Example:
            >>> limiter.release(slot)
        """
        with self._cond:
            sent = self._sent.pop(slot, None)
            if slot in self._slots:
                now = self._clock()
                if self._anchor == "reply" or sent is None:
                    self._slots[slot] = now
                else:
                    # Half the round trip, and at least 1% of the shortest window, past the
                    # send: the arrival is rarely later, and a refusal switches to "reply".
                    margin = max((now - sent) / 2, _SEND_MARGIN * min(self._windows))
                    self._slots[slot] = min(now, sent + margin)
                    self._replied[slot] = now
            self._cond.notify_all()
