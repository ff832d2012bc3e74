"""The shared rate limiter, and the client learning the server's limit in each reply style."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from lsq_analysis.api.client import LeadSquaredClient
from lsq_analysis.api.fake.server import FakeLeadSquared, FakeServerStats
from lsq_analysis.api.ratelimit import SlidingWindowLimiter
from lsq_analysis.errors import RateLimitError

FAST = {"backoff": (0.01, 0.05), "timeout": 2.0}


def leads_of(*sizes: int) -> dict[str, list[dict]]:
    return {
        str(uuid.UUID(int=900 + i)): [{"Id": f"{i}-{k}", "EventCode": 201} for k in range(n)]
        for i, n in enumerate(sizes)
    }


def max_in_window(times: list[float], seconds: float) -> int:
    return FakeServerStats(call_times=tuple(sorted(times))).max_calls_in_window(seconds)


def test_limiter_keeps_every_window_within_the_limit_across_threads() -> None:
    limiter = SlidingWindowLimiter(4, 0.25)
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(3):
            slot = limiter.acquire()
            with lock:
                starts.append(time.monotonic())
            limiter.release(slot)

    threads = [threading.Thread(target=work) for _ in range(5)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(starts) == 15
    assert max_in_window(starts, 0.25) <= 4
    assert time.monotonic() - began >= 0.75  # 15 calls at 4 per 0.25 s need 3 more windows


def test_a_call_in_flight_holds_its_slot_until_its_reply() -> None:
    limiter = SlidingWindowLimiter(1, 0.1)
    slot = limiter.acquire()
    acquired = threading.Event()

    def second() -> None:
        limiter.release(limiter.acquire())
        acquired.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not acquired.wait(0.3)  # the first call has no reply yet: its slot stays taken
    limiter.release(slot)
    assert acquired.wait(2)
    thread.join()


def test_switching_to_replies_recounts_the_calls_already_made() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(2, 5.0, clock=lambda: now[0])
    first = limiter.acquire()  # sent at 0
    now[0] = 1.0
    limiter.release(first)  # reply at 1.0: counted from 0.5 (half the round trip)
    second = limiter.acquire()  # sent at 1.0
    now[0] = 1.2
    limiter.release(second)  # counted from 1.1
    now[0] = 5.6
    with limiter._cond:
        assert limiter._wait_needed(5.6) <= 0  # 0.5 + 5 s has passed: a slot is free
    assert limiter.count_from_replies() and limiter.anchor == "reply"
    with limiter._cond:  # both calls now count from their replies (1.0 and 1.2)
        assert limiter._wait_needed(5.6) == pytest.approx(0.4)
    assert not limiter.count_from_replies()  # already switched: nothing changes


def test_lowering_and_pausing() -> None:
    limiter = SlidingWindowLimiter(25, 5.0)
    assert limiter.lower(20, 5.0) and limiter.tightest == (20, 5.0)
    assert not limiter.lower(22, 5.0)  # not lower than what it keeps to
    assert not limiter.lower(20, 1.0)  # implied by 20 in 5 s
    assert limiter.lower(3, 1.0) and limiter.tightest == (3, 1.0)
    limiter = SlidingWindowLimiter(100, 1.0)
    limiter.pause(0.3)
    began = time.monotonic()
    limiter.release(limiter.acquire())
    assert time.monotonic() - began >= 0.25
    with pytest.raises(ValueError, match="max_calls"):
        SlidingWindowLimiter(0, 1.0)


@pytest.mark.parametrize("style", ["429", "403", "200"])
def test_client_learns_the_server_limit_in_each_style(style: str) -> None:
    leads = leads_of(40, 7, 0, 13)
    with FakeLeadSquared(
        leads, rate_limit=(5, 0.5), rate_limit_style=style, max_page_size=5, record_count="page"
    ) as fake:
        client = fake.client(max_calls=100, per_seconds=0.5, **FAST)
        for lead_id, rows in leads.items():
            assert client.get_lead_activities(lead_id) == rows
        assert (client.max_calls, client.per_seconds) == (5, 0.5)
        # one refusal taught it the limit; it never went over again
        assert fake.stats.rate_limited == 1 == client.stats.rate_limited
        assert client.stats.retries == 1
        refused_at = fake.stats.call_times[5]
        after = [t for t in fake.stats.call_times if t > refused_at]
        assert len(after) >= 10 and max_in_window(after, 0.5) <= 5


def test_threads_share_one_limiter_and_stay_under_the_limit() -> None:
    leads = leads_of(*[12] * 8)
    with FakeLeadSquared(leads, rate_limit=(6, 0.4), max_page_size=4, paging="page1") as fake:
        client = fake.client(**FAST)  # told the server's limit
        with ThreadPoolExecutor(4) as pool:
            results = dict(zip(leads, pool.map(client.get_lead_activities, leads), strict=True))
        assert results == leads
        # The limiter first counts a call from about its arrival (to keep the pipe full). On
        # loopback the inbound delay dominates the round trip, so the server may refuse the
        # calls then in flight, once; after that each window starts at a reply and holds.
        refused = fake.stats.rate_limited
        assert refused == client.stats.rate_limited <= 4
        assert client._limiter.anchor == ("reply" if refused else "send")
        # every arrival beyond the refused ones fitted the server's window
        assert fake.stats.max_calls_in_window(0.4) <= 6 + refused
        assert client.stats.waited_seconds > 0


def test_limited_with_the_same_limit_pauses_all_threads_then_succeeds() -> None:
    # Another program uses the same keys: the client's own count cannot see its calls.
    leads = leads_of(6)
    with FakeLeadSquared(leads, rate_limit=(3, 0.4), rate_limit_style="200") as fake:
        other = fake.client(**FAST)
        client = fake.client(**FAST)
        lead_id = next(iter(leads))
        for _ in range(3):
            other.get_user()
        began = time.monotonic()
        assert client.get_lead_activities(lead_id) == leads[lead_id]
        assert client.stats.rate_limited >= 1
        assert time.monotonic() - began >= 0.3
        assert (client.max_calls, client.per_seconds) == (3, 0.4)


def test_daily_quota_is_not_waited_for() -> None:
    with FakeLeadSquared(leads_of(3), rate_limit=(1, 86400.0)) as fake:
        client = fake.client(max_calls=10, per_seconds=1.0, **FAST)
        client.get_user()
        began = time.monotonic()
        with pytest.raises(RateLimitError, match="quota") as info:
            client.get_user()
        assert time.monotonic() - began < 0.5 and fake.stats.calls == 2
    assert info.value.exception_type == "MXAPIRateLimitExceededException"


def test_rate_limit_that_lasts_ends_in_rate_limit_error() -> None:
    with FakeLeadSquared(leads_of(3), rate_limit=(1, 30.0), retry_after=False) as fake:
        client = LeadSquaredClient(
            fake.url, fake.access_key, fake.secret_key, max_retries=2, max_calls=1,
            per_seconds=0.05, **FAST,
        )  # fmt: skip
        client.get_user()
        # white box: keep the limiter from learning and pausing (30 s), to see the bound
        client._limiter.pause = lambda seconds: None  # type: ignore[method-assign]
        client._limiter.lower = lambda calls, seconds: False  # type: ignore[method-assign]
        with pytest.raises(RateLimitError, match="exceeded the limit of 1 in 30"):
            client.get_user()
        assert fake.stats.rate_limited == 3
