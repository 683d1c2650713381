"""The attempt loop: one request (a symbol or a batch) at one provider, under its guard.

For each attempt, in order:

1. the provider's shared pacer gives a slot (:mod:`workbench.quotes.pacing`);
2. the circuit breaker lets it through (:mod:`workbench.quotes.breaker`). While it is open the
   last provider of a call waits for it to come back, up to the breaker's ``max_outage``
   (after that, only for the verdict of a probe in flight); a provider with a fallback behind
   it is skipped at once;
3. the daily budget, if the provider has one, counts it (:mod:`workbench.quotes.budget`);
4. the request runs under ``timeout`` seconds.

Then:

- an answer (a quote, or a final verdict such as ``not found`` or a malformed body) ends the
  loop; ``not found`` is never retried, whatever else goes wrong around it;
- a 429 or rate-limit body tells the pacer (Retry-After, slower rate) and the same request
  waits for its next slot: it is not counted against ``retries``;
- a 5xx, timeout or connection failure counts against ``retries`` and the breaker, with
  exponential backoff and jitter between attempts. A symbol out of retries while the breaker
  is open (the provider is down, not flaky) waits for it like the others, up to
  ``max_outage``, and is tried again when it is back.

Every error met is kept (:attr:`Outcome.errors`), so a symbol's ``message`` tells each
attempt's reason and its ``error`` the last real one, never the breaker's.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import httpx

from workbench.errors import (
    DailyLimitReached,
    ProviderUnavailable,
    QuoteError,
    RateLimited,
)
from workbench.quotes.breaker import CLOSED, HALF_OPEN
from workbench.quotes.limits import ProviderGuard, RetryPolicy

T = TypeVar("T")


class QuoteTimeout(ProviderUnavailable):
    """An attempt took longer than the engine's timeout."""

    reason = "timeout"


@dataclass
class Outcome(Generic[T]):
    """What a run of attempts gave: a value, or the errors of every attempt."""

    value: T | None = None
    errors: list[QuoteError] = field(default_factory=list)
    sent: int = 0
    #: the run ended without the provider's verdict on this request (circuit open, daily
    #: budget, a Retry-After too long, no patience left): splitting a batch will not help
    blocked: bool = False


def _not_tried(guard: ProviderGuard) -> QuoteError:
    """The provider's last real failure, restated for a request the open breaker held back."""
    last = guard.breaker.last_error
    text = f"{guard.name}: not sent, the provider is failing"
    if last is None:
        return ProviderUnavailable(text)
    try:
        error = type(last)(f"{text} (last: {last})")
    except TypeError:  # an error class with another constructor
        error = ProviderUnavailable(f"{text} (last: {last})")
    return error


def classify(exc: QuoteError) -> QuoteError:
    """Providers report timeouts as ProviderUnavailable caused by httpx's timeout: say so."""
    if isinstance(exc, ProviderUnavailable) and isinstance(exc.__cause__, httpx.TimeoutException):
        timed_out = QuoteTimeout(str(exc))
        timed_out.__cause__ = exc
        return timed_out
    return exc


@dataclass
class Attempts:
    """Runs one operation against one provider under its guard and the retry policy."""

    policy: RetryPolicy
    timeout: float
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def run(
        self,
        guard: ProviderGuard,
        operation: Callable[[], Awaitable[T]],
        *,
        last_provider: bool,
        cost: float = 1.0,
        retries: int | None = None,
    ) -> Outcome[T]:
        """Attempt ``operation`` until it answers, or the policy says stop."""
        retries = self.policy.retries if retries is None else retries
        outcome: Outcome[T] = Outcome()
        failures = 0
        limited = 0
        pacer, breaker = guard.pacer, guard.breaker
        while True:
            # the common case (a free slot, a closed breaker) takes no extra awaits
            sent_at = pacer.try_take(cost)
            if sent_at is None:
                sent_at = await pacer.acquire(cost)
            if pacer.limited and pacer.now() - pacer.last_answer > self.policy.rate_limit_patience:
                outcome.errors.append(
                    RateLimited(
                        f"{guard.name}: only rate limits for"
                        f" {self.policy.rate_limit_patience:g} s; giving up"
                    )
                )
                outcome.blocked = True
                return outcome
            if not breaker.allow() and not await self._through_breaker(
                guard, last_provider=last_provider
            ):
                outcome.errors.append(_not_tried(guard))
                outcome.blocked = True
                return outcome
            if guard.budget is not None and not guard.budget.take():
                breaker.release()
                outcome.errors.append(DailyLimitReached(guard.budget.describe()))
                outcome.blocked = True
                return outcome
            outcome.sent += 1
            try:
                async with asyncio.timeout(self.timeout):
                    value = await operation()
            except asyncio.CancelledError:
                breaker.release()
                raise
            except TimeoutError as exc:
                error: QuoteError = QuoteTimeout(
                    f"{guard.name}: no answer within {self.timeout:g} s"
                )
                error.__cause__ = exc
            except QuoteError as exc:
                error = classify(exc)
            except Exception as exc:  # a provider bug must not sink the whole call
                error = ProviderUnavailable(f"{guard.name}: {type(exc).__name__}: {exc}")
                error.__cause__ = exc
            else:
                breaker.record_success()
                pacer.on_answer(sent_at, cost)
                outcome.value = value
                return outcome
            outcome.errors.append(error)
            if isinstance(error, RateLimited):
                breaker.release()  # pacing, not failing
                limited += 1
                pacer.on_limited(sent_at, error.retry_after)
                if isinstance(error, DailyLimitReached):
                    if guard.budget is not None:
                        guard.budget.exhaust()
                    outcome.blocked = True
                    return outcome
                too_long = (error.retry_after or 0.0) > self.policy.max_pause
                if too_long or limited >= self.policy.max_rate_limited:
                    outcome.blocked = True
                    return outcome
                continue
            pacer.on_answer(sent_at, cost)
            if not isinstance(error, ProviderUnavailable):
                breaker.record_success()  # it answered; the symbol or the body was bad
                return outcome
            breaker.record_failure(error)
            failures += 1
            if failures > retries:
                # out of retries while the provider is judged down: the last provider waits
                # for it to come back (up to max_outage) instead of failing with it
                if last_provider and breaker.state != CLOSED and not breaker.given_up():
                    continue
                return outcome
            await self.sleep(self.backoff(failures - 1))

    async def _through_breaker(self, guard: ProviderGuard, *, last_provider: bool) -> bool:
        """Wait until the breaker lets a request through; False to give up on the provider."""
        breaker = guard.breaker
        while not breaker.allow():
            # past max_outage, wait only for the verdict of a probe already in flight
            if not last_provider or (breaker.given_up() and breaker.state != HALF_OPEN):
                return False
            await self.sleep(min(0.25, max(0.02, breaker.retry_in())))
        return True

    def backoff(self, failure: int) -> float:
        """Seconds before the retry after failure number ``failure`` (0-based)."""
        base = min(self.policy.max_delay, self.policy.backoff * 2.0**failure)
        return base * (0.5 + 0.5 * self.rng.random())
