"""How fast and how many at once the dispatcher sends.

`RateLimiter` keeps every bucket a send draws from (bot.delivery.Bucket: Telegram's
30/s overall and 1/s per chat, a Twilio sender's 80/s) under its rate in every window,
so the bot never causes a 429 itself. `Slots` caps the requests in flight. Both serve a
chat reply (priority 0) before bulk, so a reply never queues behind an announcement.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import deque

from bot.delivery import Bucket, Rate

# A waiter of priority p wakes p steps after a token frees, so a waiting reply takes it first.
PRIORITY_STEP_SECONDS = 0.004
# Windows are kept this much longer than the platform's, so that the few milliseconds
# between a grant and the request reaching the platform never make it count one too many.
GUARD = 1.02
# Every this many grants, buckets idle for a whole window (one per chat) are dropped.
PRUNE_EVERY = 1000


class _Window:
    """One bucket: at most `count` grants in any `seconds`, spaced about evenly."""

    def __init__(self, rate: Rate):
        count = max(1, math.floor(rate.count))
        self.count = count
        self.seconds = GUARD * rate.seconds * count / rate.count  # a fractional rate (0.5/s) as 1 per 2 s
        self.interval = self.seconds / count
        self.grants: deque[float] = deque(maxlen=count)
        self.next_at = 0.0

    def ready_at(self) -> float:
        """The earliest time of the next grant."""
        if len(self.grants) == self.count:
            return max(self.next_at, self.grants[0] + self.seconds)
        return self.next_at

    def idle(self, now: float) -> bool:
        """Nothing granted within a window: forgetting this bucket changes nothing."""
        return not self.grants or now - self.grants[-1] >= self.seconds and now >= self.next_at

    def take(self, now: float) -> None:
        self.grants.append(now)
        # A grant a little late (timer jitter) may catch up half an interval, no more:
        # the window above still caps every `seconds` at `count`.
        self.next_at = max(self.next_at, now - self.interval / 2) + self.interval


class RateLimiter:
    """Token buckets by key, shared by every send of one dispatcher (across its passes)."""

    def __init__(self):
        self._windows: dict[tuple[str, Rate], _Window] = {}
        self._grants = 0

    def _window(self, bucket: Bucket) -> _Window:
        key = (bucket.key, bucket.rate)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(bucket.rate)
        return window

    async def acquire(self, buckets: list[Bucket], priority: int = 0) -> None:
        """Wait until every bucket has a token, then take one from each at once."""
        while True:
            windows = [self._window(b) for b in buckets]  # afresh: an idle one may have been pruned
            now = time.monotonic()
            ready = max((w.ready_at() for w in windows), default=now)
            if ready <= now:
                for window in windows:
                    window.take(now)
                self._grants += 1
                if self._grants % PRUNE_EVERY == 0:
                    self._windows = {key: w for key, w in self._windows.items() if not w.idle(now)}
                return
            await asyncio.sleep(ready - now + priority * PRIORITY_STEP_SECONDS)


class Slots:
    """At most `size` holders at once; waiters get a slot by priority, then arrival.
    Made for one event loop (one dispatch pass)."""

    def __init__(self, size: int):
        self.free = size
        self._waiters: list[tuple[int, int, asyncio.Future]] = []
        self._order = itertools.count()

    async def acquire(self, priority: int) -> None:
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # granted just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self.free += 1

    def hold(self, priority: int) -> _Held:
        return _Held(self, priority)


class _Held:
    def __init__(self, slots: Slots, priority: int):
        self.slots, self.priority = slots, priority

    async def __aenter__(self) -> None:
        await self.slots.acquire(self.priority)

    async def __aexit__(self, *exc_info) -> None:
        self.slots.release()
