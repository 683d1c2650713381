"""What every quote provider is: a small Protocol plus the values it returns.

A provider turns one symbol (or, as a :class:`BatchProvider`, a batch of symbols) into one HTTP
request and parses the answer; it never retries, sleeps or caches. The fetch engine (``workbench.quotes.engine``) adds concurrency, rate limits,
retries, the circuit breaker and fallback around it. Clients are always passed in by the caller
(marimo app sessions each run their own event loop, so nothing HTTP lives at module level).
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import httpx

from workbench.errors import (
    MalformedResponse,
    ProviderUnavailable,
    QuoteError,
    RateLimited,
    SymbolNotFound,
)


@dataclass(frozen=True, slots=True)
class Quote:
    """The latest price of one symbol as one provider reported it."""

    symbol: str
    price: float
    currency: str | None
    volume: float | None
    time: dt.datetime | None
    provider: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One unadjusted daily bar."""

    date: dt.date
    open: float | None
    high: float | None
    low: float | None
    close: float
    volume: float | None


@dataclass(frozen=True, slots=True)
class History:
    """Daily bars of one symbol from one provider, oldest first."""

    symbol: str
    currency: str | None
    provider: str
    bars: list[Bar] = field(default_factory=list)


@runtime_checkable
class Provider(Protocol):
    """A source of latest quotes and daily history."""

    #: short name used in ``--provider`` and stored as provenance
    name: str
    #: scheme, host and port; ``--base-url`` replaces it and keeps the request paths
    base_url: str
    #: steady request rate the provider tolerates (requests per second), None for unlimited
    rate_limit: float | None

    async def fetch_quote(self, client: httpx.AsyncClient, symbol: str) -> Quote:
        """One request for the latest quote of ``symbol``.

        Raises:
            SymbolNotFound, RateLimited, ProviderUnavailable, MalformedResponse
        """
        ...

    async def fetch_history(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> History:
        """One request for daily bars of ``symbol`` from ``start`` to ``end`` inclusive."""
        ...


class BatchUnsupported(QuoteError):
    """The provider refused a batch request as such (an older server without the route).

    The engine then asks it one symbol per request for the rest of the call.
    """


@runtime_checkable
class BatchProvider(Protocol):
    """A provider that can also price many symbols in one request."""

    name: str
    #: symbols per request (the engine's default; calls and the environment may override it)
    batch_size: int

    async def fetch_quotes(
        self, client: httpx.AsyncClient, symbols: list[str]
    ) -> dict[str, Quote | QuoteError]:
        """One request for the latest quotes of ``symbols``.

        Returns each symbol's quote or its own error (``SymbolNotFound``,
        ``MalformedResponse``), exactly as :meth:`Provider.fetch_quote` would give it; a
        symbol missing from the answer is asked again on its own.

        Raises:
            RateLimited, ProviderUnavailable, MalformedResponse: the request as a whole failed.
            BatchUnsupported: the provider does not take batch requests.
        """
        ...

    def request_cost(self, count: int) -> float:
        """What a request for ``count`` symbols costs against the rate limit (1 = a request)."""
        ...


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


def check_status(response: httpx.Response, *, provider: str, symbol: str) -> None:
    """Map an HTTP error status to the workbench error for it; 2xx passes.

    404 is ``SymbolNotFound``, 429 ``RateLimited`` (with Retry-After), 5xx and other
    failures ``ProviderUnavailable``. Providers whose 4xx bodies mean something else
    (Binance's 400 ``Invalid symbol``) inspect the body before calling this.
    """
    status = response.status_code
    if status < 400:
        return
    if status == 404:
        raise SymbolNotFound(f"{provider}: {symbol} not found")
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise RateLimited(f"{provider}: rate limited (HTTP 429)", retry_after=retry_after)
    if status >= 500:
        raise ProviderUnavailable(f"{provider}: HTTP {status} for {symbol}")
    raise QuoteError(f"{provider}: HTTP {status} for {symbol}")


def json_body(response: httpx.Response, *, provider: str, symbol: str, excerpt: int = 80) -> object:
    """The decoded JSON body, or ``MalformedResponse`` naming provider and symbol and quoting
    the body's first ``excerpt`` characters."""
    try:
        return response.json()
    except ValueError as exc:
        snippet = response.text[:excerpt].replace("\n", " ")
        raise MalformedResponse(f"{provider}: {symbol}: body is not JSON: {snippet!r}") from exc
