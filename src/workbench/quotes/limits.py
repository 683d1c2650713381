"""Per-provider limits and protection: documented defaults, overrides, and the guards of a call.

:class:`ProviderLimits` says how fast, how much per day and how many symbols per request a
provider takes. Defaults come from each provider's documentation (README "Quote providers"):

============  =========================  =====  =====  ====================================
provider      rate (units per second)    burst  daily  batch (symbols per request)
============  =========================  =====  =====  ====================================
demo          unpaced                    -      -      100 (server allows 500)
workbench     unpaced until a 429        -      -      100 (server allows 500)
yahoo         2 requests                 5      -      1 (v8 chart is one symbol)
binance       50 weight (half of 6,000   100    -      20 (weight 2 for 1-20 symbols)
              weight a minute per IP)
coingecko     10/min keyless, 30/min     1      -      100 ids
              demo key, 500/min pro key
alphavantage  5/min                      1      25     1
============  =========================  =====  =====  ====================================

Overrides, strongest first: the ``limits`` argument of a call (``{"binance":
ProviderLimits(rate=10)}``), then the environment (``WORKBENCH_BINANCE_RATE_LIMIT`` units per
second, ``WORKBENCH_BINANCE_BATCH_SIZE``, ``WORKBENCH_ALPHAVANTAGE_DAILY_LIMIT``; ``none``
switches a limit off), then the provider object's own ``rate_limit``/``batch_size``.

:class:`Guards` holds, per provider name, the shared :class:`~workbench.quotes.pacing.Pacer`,
the :class:`~workbench.quotes.breaker.CircuitBreaker` and the daily budget for one call (or
longer, when a caller passes one in and reuses it).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from workbench.errors import QuoteError
from workbench.quotes.base import Provider
from workbench.quotes.breaker import CLOSED, CircuitBreaker, Clock
from workbench.quotes.budget import DailyBudget
from workbench.quotes.pacing import Pacer

__all__ = [
    "DEFAULT_RETRIES",
    "Guards",
    "ProviderGuard",
    "ProviderLimits",
    "RetryPolicy",
    "limits_for",
]

#: Retries after the first attempt, per provider. A provider failing half its requests
#: prices 1 - 0.5**(3 + 1) = 93.75% of symbols sent one per request (87.5% with 2 retries).
DEFAULT_RETRIES = 3


@dataclass(frozen=True, slots=True)
class ProviderLimits:
    """How a provider may be called.

    Args:
        rate: steady rate in cost units per second (requests, or Binance request weight);
            None for unpaced (until a 429 teaches the pacer a rate).
        burst: units that may go at once after an idle spell.
        daily: requests per UTC day (Alpha Vantage's 25); None for no daily cap.
        batch_size: symbols per request where the provider answers many at once.
    """

    rate: float | None = None
    burst: float = 1.0
    daily: int | None = None
    batch_size: int = 1


#: documented defaults by provider name (see the module docstring for the sources)
DEFAULT_LIMITS: dict[str, ProviderLimits] = {
    "demo": ProviderLimits(batch_size=100),
    "workbench": ProviderLimits(batch_size=100),
    "yahoo": ProviderLimits(rate=2.0, burst=5.0),
    "binance": ProviderLimits(rate=50.0, burst=100.0, batch_size=20),
    "coingecko": ProviderLimits(rate=10 / 60, batch_size=100),
    "alphavantage": ProviderLimits(rate=5 / 60, daily=25),
}


def _env_limit(provider: str, setting: str) -> tuple[bool, float | None]:
    """(set?, value) of ``WORKBENCH_<PROVIDER>_<SETTING>``; ``none``, ``off`` or 0 mean no limit."""
    variable = f"WORKBENCH_{provider.upper()}_{setting}"
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return False, None
    if raw.lower() in ("none", "off"):
        return True, None
    try:
        value = float(raw)
    except ValueError as exc:
        raise QuoteError(f"{variable}={raw!r} is not a number") from exc
    if value < 0:
        raise QuoteError(f"{variable}={raw!r} must not be negative")
    return True, (value or None)


def limits_for(
    provider: Provider, overrides: Mapping[str, ProviderLimits] | None = None
) -> ProviderLimits:
    """The limits a call applies to ``provider`` (call overrides, environment, provider)."""
    name = provider.name
    if overrides and name in overrides:
        return overrides[name]
    base = DEFAULT_LIMITS.get(name, ProviderLimits())
    # the provider object knows its own tier (CoinGecko with or without a key) and any rate
    # or batch size its caller gave it
    rate: float | None = getattr(provider, "rate_limit", base.rate)
    batch = int(getattr(provider, "batch_size", base.batch_size))
    daily: float | None = getattr(provider, "daily_limit", base.daily)
    found, value = _env_limit(name, "RATE_LIMIT")
    if found:
        rate = value
    found, value = _env_limit(name, "BATCH_SIZE")
    if found:
        batch = max(1, int(value or 1))
    found, value = _env_limit(name, "DAILY_LIMIT")
    if found:
        daily = value
    return dataclasses.replace(
        base, rate=rate, batch_size=batch, daily=None if daily is None else int(daily)
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one symbol (or batch) at one provider.

    429s are not counted against ``retries``: a request waiting for its turn is not failing.
    They are bounded by ``max_pause``, ``rate_limit_patience`` and ``max_rate_limited``.
    """

    retries: int = DEFAULT_RETRIES
    #: first backoff in seconds after a failure; doubles each retry, jitter in [0.5, 1)
    backoff: float = 0.2
    #: the longest backoff after a failure
    max_delay: float = 5.0
    #: the longest Retry-After honoured; a longer one ends the provider's attempts
    max_pause: float = 300.0
    #: seconds of nothing but 429s from a provider before its remaining symbols give up
    rate_limit_patience: float = 120.0
    #: 429s one symbol (or batch) may meet before it gives up at that provider
    max_rate_limited: int = 100


@dataclass
class ProviderGuard:
    """Everything a call shares across requests to one provider."""

    name: str
    limits: ProviderLimits
    pacer: Pacer
    breaker: CircuitBreaker
    budget: DailyBudget | None = None
    #: cleared when the provider refused a batch request (an older server): singles only
    batching: bool = True

    def describe(self) -> str:
        """A short state for the progress display."""
        parts = [self.pacer.describe()]
        if self.breaker.state != CLOSED:
            parts.append(f"circuit {self.breaker.state}")
        text = ", ".join(p for p in parts if p)
        return f"{self.name}: {text}" if text else ""


@dataclass
class Guards:
    """The guards of every provider used in a call; pass one in to keep state across calls.

    Args:
        limits: per-provider overrides of :class:`ProviderLimits` by name.
        failure_rate, min_calls, window, cooldown, max_outage: breaker settings
            (:class:`~workbench.quotes.breaker.CircuitBreaker`).
    """

    limits: Mapping[str, ProviderLimits] | None = None
    failure_rate: float = 0.9
    min_calls: int = 20
    window: int = 50
    cooldown: float = 2.0
    max_outage: float = 20.0
    clock: Clock = time.monotonic
    _by_name: dict[str, ProviderGuard] = field(default_factory=dict)

    def get(self, provider: Provider) -> ProviderGuard:
        """The guard of ``provider`` (by name), created on first use."""
        guard = self._by_name.get(provider.name)
        if guard is None:
            limits = limits_for(provider, self.limits)
            breaker = CircuitBreaker(
                window=self.window,
                min_calls=self.min_calls,
                failure_rate=self.failure_rate,
                cooldown=self.cooldown,
                max_outage=self.max_outage,
                clock=self.clock,
            )
            pacer = Pacer(rate=limits.rate, burst=limits.burst, clock=self.clock)
            budget = DailyBudget(provider.name, limits.daily) if limits.daily is not None else None
            guard = ProviderGuard(provider.name, limits, pacer, breaker, budget)
            self._by_name[provider.name] = guard
        return guard

    def all(self) -> list[ProviderGuard]:
        """Every guard created so far."""
        return list(self._by_name.values())
