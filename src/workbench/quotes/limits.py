"""Per-provider protection: a token-bucket rate limiter, a circuit breaker and a shared pause.

The fetch engine keeps one :class:`ProviderGuard` per provider name for the length of a call
(or longer, when the caller passes a :class:`Guards` in and reuses it). Clocks and sleeps are
injectable so the state machines can be tested without waiting.

Circuit breaker states::

    closed --(failure_threshold consecutive 429/unavailable)--> open
    open   --(cooldown seconds pass)--> half-open: one probe request is let through
    half-open --probe succeeds--> closed
    half-open --probe fails-----> open (for another cooldown)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class TokenBucket:
    """Allows ``rate`` requests per second on average with bursts of up to ``burst``.

    Each :meth:`acquire` reserves the next free slot and sleeps until it, so concurrent
    callers are spaced out in arrival order instead of all waking at once.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()

    def reserve(self) -> float:
        """Take one token (possibly borrowing from the future); seconds to wait before using it."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        """Wait until a request may be sent."""
        delay = self.reserve()
        if delay > 0:
            await self._sleep(delay)


class CircuitBreaker:
    """Stops sending to a provider after repeated overload failures, then probes it again."""

    def __init__(
        self,
        *,
        failure_threshold: int = 10,
        cooldown: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (an open breaker past its cool-down)."""
        if self._state == OPEN and self._clock() - self._opened_at >= self.cooldown:
            return HALF_OPEN
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it would now)."""
        if self._state != OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._clock())

    def allow(self) -> bool:
        """Whether a request may be sent now; in half-open only one probe at a time is."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        """The provider answered (any answer that is not an overload): close the breaker."""
        self._state = CLOSED
        self._failures = 0
        self._probing = False

    def record_failure(self) -> None:
        """A 429, 5xx, timeout or connection failure."""
        self._failures += 1
        if self._probing or self._failures >= self.failure_threshold:
            self._state = OPEN
            self._opened_at = self._clock()
            self._probing = False

    def release(self) -> None:
        """A request let through ended without a verdict (cancelled): free the probe slot."""
        self._probing = False


@dataclass
class ProviderGuard:
    """Everything the engine shares across requests to one provider."""

    breaker: CircuitBreaker
    bucket: TokenBucket | None = None
    clock: Clock = time.monotonic
    #: monotonic time before which nobody sends (set from Retry-After)
    paused_until: float = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request to this provider for ``seconds`` (a 429's Retry-After)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    def pause_left(self) -> float:
        """Seconds left of the current pause."""
        return max(0.0, self.paused_until - self.clock())


@dataclass
class Guards:
    """The guards of every provider used in a call; pass one in to keep state across calls.

    Args:
        failure_threshold: consecutive overload failures that open a breaker.
        cooldown: seconds an open breaker waits before letting a probe through.
    """

    failure_threshold: int = 10
    cooldown: float = 5.0
    clock: Clock = time.monotonic
    _by_name: dict[str, ProviderGuard] = field(default_factory=dict)

    def get(self, name: str, rate_limit: float | None) -> ProviderGuard:
        """The guard of provider ``name``, created on first use."""
        guard = self._by_name.get(name)
        if guard is None:
            breaker = CircuitBreaker(
                failure_threshold=self.failure_threshold, cooldown=self.cooldown, clock=self.clock
            )
            bucket = TokenBucket(rate_limit, clock=self.clock) if rate_limit else None
            guard = ProviderGuard(breaker=breaker, bucket=bucket, clock=self.clock)
            self._by_name[name] = guard
        return guard
