"""Per-provider protection: rate limiter, circuit breaker, shared pause, and the retry loop.

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
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from workbench.errors import ProviderUnavailable, QuoteError, RateLimited
from workbench.quotes.base import Provider

T = TypeVar("T")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: retries after the first attempt, per provider
DEFAULT_RETRIES = 2

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

    def reserve(self, *, max_wait: float | None = None) -> float | None:
        """Take one token (possibly borrowing from the future); seconds to wait before using it.

        With ``max_wait``, a slot further away than that is not taken and None is returned.
        """
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate
        if max_wait is not None and wait > max_wait:
            return None
        self._tokens -= 1.0
        return wait

    async def acquire(self, *, max_wait: float | None = None) -> bool:
        """Wait until a request may be sent; False (at once) if that is over ``max_wait`` away."""
        delay = self.reserve(max_wait=max_wait)
        if delay is None:
            return False
        if delay > 0:
            await self._sleep(delay)
        return True


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


class QuoteTimeout(ProviderUnavailable):
    """An attempt took longer than the engine's timeout."""

    reason = "timeout"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one symbol at one provider."""

    retries: int = DEFAULT_RETRIES
    #: first backoff in seconds; doubles each retry, with jitter in [0.5, 1) of it
    backoff: float = 0.2
    #: the longest any single wait may be (backoff, Retry-After, a paused provider)
    max_delay: float = 5.0
    #: the longest a request may queue for its provider's rate limit before it is given up
    max_queue_wait: float = 60.0


@dataclass
class Attempts:
    """Runs one operation against one provider under its guard and the retry policy."""

    policy: RetryPolicy
    timeout: float
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def run(
        self,
        provider: Provider,
        guard: ProviderGuard,
        operation: Callable[[], Awaitable[T]],
        *,
        last_provider: bool,
    ) -> tuple[T | None, QuoteError | None, int]:
        """(value, None, attempts) on success, else (None, the last error, attempts)."""
        error: QuoteError | None = None
        sent = 0
        breaker_wait = 0.0
        for attempt in range(self.policy.retries + 1):
            final = attempt == self.policy.retries
            while not guard.breaker.allow():
                # open: fail fast (or fall back). Half-open with a probe in flight: the last
                # provider waits for the probe's verdict, at most max_delay in all.
                probing = guard.breaker.state == HALF_OPEN
                wait = min(0.05, self.policy.max_delay)
                if not probing or not last_provider or breaker_wait + wait > self.policy.max_delay:
                    error = ProviderUnavailable(
                        f"{provider.name}: circuit open after repeated failures"
                    )
                    return None, error, sent
                breaker_wait += wait
                await self.sleep(wait)
            try:
                pause = guard.pause_left()
                if pause > self.policy.max_delay:
                    guard.breaker.release()
                    error = RateLimited(f"{provider.name}: paused {pause:.1f} s by Retry-After")
                    break
                if pause > 0:
                    await self.sleep(pause)
                if guard.bucket is not None and not await guard.bucket.acquire(
                    max_wait=self.policy.max_queue_wait
                ):
                    guard.breaker.release()
                    error = RateLimited(
                        f"{provider.name}: its rate limit ({guard.bucket.rate * 60:g}/min) would"
                        f" hold this request over {self.policy.max_queue_wait:g} s"
                    )
                    break
                sent += 1
                async with asyncio.timeout(self.timeout):
                    value = await operation()
            except asyncio.CancelledError:
                guard.breaker.release()
                raise
            except TimeoutError as exc:
                error = QuoteTimeout(f"{provider.name}: no answer within {self.timeout:g} s")
                error.__cause__ = exc
            except QuoteError as exc:
                error = _classify(exc, provider.name)
            except Exception as exc:  # a provider bug must not sink the whole batch
                error = ProviderUnavailable(f"{provider.name}: {type(exc).__name__}: {exc}")
                error.__cause__ = exc
            else:
                guard.breaker.record_success()
                return value, None, sent
            overload = isinstance(error, RateLimited | ProviderUnavailable)
            if overload:
                guard.breaker.record_failure()
            else:
                guard.breaker.record_success()  # it answered; the symbol or body was bad
            if not overload or final:
                break
            delay = self._delay(attempt, error)
            if delay is None:
                break
            if isinstance(error, RateLimited) and error.retry_after is not None:
                guard.pause(delay)
            await self.sleep(delay)
        return None, error, sent

    def _delay(self, attempt: int, error: QuoteError) -> float | None:
        """Seconds before the next attempt, or None when the provider asked for too long."""
        if isinstance(error, RateLimited) and error.retry_after is not None:
            if error.retry_after > self.policy.max_delay:
                return None
            # a little extra so the retry lands after the window, not on its edge
            return float(error.retry_after) + self.rng.uniform(0.0, 0.1 * self.policy.backoff)
        base = min(self.policy.max_delay, self.policy.backoff * 2.0**attempt)
        return base * (0.5 + 0.5 * self.rng.random())


def _classify(exc: QuoteError, provider: str) -> QuoteError:
    """Providers report timeouts as ProviderUnavailable caused by httpx's timeout: say so."""
    if isinstance(exc, ProviderUnavailable) and isinstance(exc.__cause__, httpx.TimeoutException):
        timed_out = QuoteTimeout(str(exc))
        timed_out.__cause__ = exc
        return timed_out
    return exc
