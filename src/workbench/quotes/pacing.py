"""Per-provider pacing: one shared schedule of request slots whose rate adapts to 429s.

A rate limit is a pacing signal, not a failure. Every worker sending to one provider takes its
slot from the provider's :class:`Pacer`, so a 429 slows all of them at once:

- ``Retry-After`` pauses the provider for everyone until that time has passed;
- the rate adapts by AIMD: a 429 to a request sent after the last decrease cuts the rate
  (multiplicative decrease, to no less than half and no more than 90% of it, guided by the
  answers per second actually received), and every answer adds to it again: quickly (+50% of
  a slot per answer, "slow start") below the last rate that drew a 429, then additively (the
  rate grows by 5% of that level per second). A run therefore converges on what the provider
  allows and keeps probing just above it;
- a provider with a documented limit starts at that limit and never goes above it; one without
  (a local quote server) is not paced at all until its first 429, when the rate starts at the
  answers per second seen so far.

Costs are in the provider's units: requests, or request weight (Binance counts a 20-symbol
ticker request as 2). Clock and sleep are injectable, so the arithmetic is tested without
waiting.

    pacer = Pacer(rate=5.0)                 # 5 requests per second, shared by every worker
    sent_at = await pacer.acquire()
    ...                                     # send; then one of
    pacer.on_answer(sent_at)                # any answer that is not a rate limit
    pacer.on_limited(sent_at, retry_after=1.0)
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: the slowest the pacer ever goes (requests or weight per second): one per 20 minutes
MIN_RATE = 1 / 1200
#: a decrease keeps at least this fraction of the rate ...
DECREASE_FLOOR = 0.5
#: ... and at most this one
DECREASE_CEILING = 0.9
#: below the last rate that drew a 429, each answer adds this many slots per second
SLOW_START_STEP = 0.5
#: above it, the rate grows by this fraction of that level per second
ADDITIVE_STEP = 0.05
#: seconds of answers the goodput estimate looks back over
GOODPUT_WINDOW = 5.0


class Pacer:
    """A shared, adaptive slot schedule for one provider (see the module docstring).

    Args:
        rate: starting rate in cost units per second; None means unpaced until a 429.
        max_rate: the ceiling (the provider's documented limit); None for no ceiling.
        burst: slots that may be taken at once after an idle spell (at most ``burst`` units).
    """

    def __init__(
        self,
        *,
        rate: float | None = None,
        max_rate: float | None = None,
        burst: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._clock = clock
        self._sleep = sleep
        self.max_rate = max_rate if max_rate is not None else rate
        self.rate: float | None = rate
        self.burst = max(1.0, burst)
        #: below this rate the pacer grows fast; set by each decrease
        self.threshold = math.inf
        self._next = clock()
        self.paused_until = 0.0
        self._last_decrease = -math.inf
        self._started = clock()
        self._answers: deque[tuple[float, float]] = deque()
        #: how many 429s this pacer has seen, and when the provider last answered otherwise
        self.limited = 0
        self.last_answer = self._started
        #: workers now sleeping for a slot (the progress display shows the wait)
        self.waiting = 0

    def now(self) -> float:
        """The pacer's clock."""
        return self._clock()

    # -- taking a slot ---------------------------------------------------------------------

    def wait_left(self) -> float:
        """Seconds until the next slot (0 when one is free now)."""
        now = self._clock()
        start = max(self.paused_until, self._next if self.rate is not None else now)
        return max(0.0, start - now)

    def try_take(self, cost: float = 1.0) -> float | None:
        """Take a slot now if one is free (returns the send time), else None."""
        now = self._clock()
        if now < self.paused_until:
            return None
        if self.rate is None:
            return now
        # after an idle spell the schedule may lag behind now by up to ``burst`` slots
        earliest = now - (self.burst - 1.0) / self.rate
        if self._next > now:
            return None
        self._next = max(self._next, earliest) + cost / self.rate
        return now

    async def acquire(self, cost: float = 1.0) -> float:
        """Wait for a slot of ``cost`` units; returns the (monotonic) time it was taken.

        Waiters re-check after every sleep, so a pause or a rate cut that happens while they
        sleep applies to them too.
        """
        while True:
            taken = self.try_take(cost)
            if taken is not None:
                return taken
            self.waiting += 1
            try:
                await self._sleep(max(self.wait_left(), 0.001))
            finally:
                self.waiting -= 1

    # -- what the provider said --------------------------------------------------------------

    def goodput(self) -> float:
        """Answered cost units per second over the last few seconds (0 before any)."""
        now = self._clock()
        while self._answers and self._answers[0][0] < now - GOODPUT_WINDOW:
            self._answers.popleft()
        span = max(1.0, min(GOODPUT_WINDOW, now - self._started))
        return sum(cost for _, cost in self._answers) / span

    def on_answer(self, sent_at: float, cost: float = 1.0) -> None:
        """The provider answered (anything but a rate limit): grow the rate a little."""
        del sent_at  # every answer counts, whenever it was sent
        now = self._clock()
        self.last_answer = now
        answers = self._answers
        answers.append((now, cost))
        if answers[0][0] < now - GOODPUT_WINDOW:  # keep only the window (amortized O(1))
            answers.popleft()
        if self.rate is None:
            return
        if self.rate < self.threshold:
            grown = self.rate + SLOW_START_STEP * cost
        else:
            grown = self.rate + ADDITIVE_STEP * self.threshold * cost / self.rate
        self.rate = min(grown, self.max_rate) if self.max_rate is not None else grown

    def on_limited(self, sent_at: float, retry_after: float | None = None) -> None:
        """A 429 (or an HTTP-200 rate-limit body): pause for Retry-After and slow down.

        Only a request sent after the last decrease cuts the rate again: the others were
        sent at the old rate and say nothing new.
        """
        now = self._clock()
        self.limited += 1
        if retry_after is not None and retry_after > 0:
            self.paused_until = max(self.paused_until, now + retry_after)
        if sent_at <= self._last_decrease:
            return
        self._last_decrease = now
        seen = self.goodput()
        if self.rate is None:
            new_rate = seen if seen > 0 else 1.0
        else:
            new_rate = min(self.rate * DECREASE_CEILING, max(self.rate * DECREASE_FLOOR, seen))
        self.rate = max(MIN_RATE, new_rate)
        self.threshold = self.rate
        # the schedule restarts from now (or the pause's end) at the new spacing
        self._next = max(now, self.paused_until)

    def describe(self) -> str:
        """A short state for the progress display, e.g. ``4.8/s, paused 0.6 s``."""
        parts = []
        if self.rate is not None:
            parts.append(f"{self.rate:.3g}/s")
        pause = self.paused_until - self._clock()
        if pause > 0:
            parts.append(f"paused {pause:.1f} s by Retry-After")
        return ", ".join(parts)
