"""The async fetch engine: many symbols, a bounded worker pool, and every failure accounted for.

A call fans ``symbols`` out to ``concurrency`` workers pulling from one queue (the seed's
worker pool). Each symbol goes to the first provider; on failure to the next one (ordered
fallback). Around every request the engine applies, per provider:

- a token bucket from ``provider.rate_limit`` (requests per second);
- a timeout per attempt (``timeout`` seconds, the whole request including the body);
- up to ``retries`` retries of 429/5xx/timeouts/connection failures with exponential backoff
  and jitter; a 429's ``Retry-After`` is honoured and pauses the whole provider, but no single
  wait is longer than ``max_delay`` (a longer Retry-After ends that provider's attempts);
- a circuit breaker that opens after ``failure_threshold`` consecutive overload failures and
  lets one probe through after ``cooldown`` seconds (:mod:`workbench.quotes.limits`).

Every requested symbol ends with a quote or a short error reason (``not found``, ``rate
limited``, ``timeout``, ``unavailable``, ``malformed response``); nothing raises for one bad
symbol and nothing waits without bound.

    async with make_client() as client:            # or let the engine create one per call
        results = await fetch_quotes(["ACME", "U00001"], provider="demo", client=client)
        async for result in iter_quotes(symbols):   # results as they complete
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import httpx

from workbench.errors import (
    MalformedResponse,
    ProviderUnavailable,
    QuoteError,
    RateLimited,
    SymbolNotFound,
)
from workbench.quotes.base import History, Provider, Quote
from workbench.quotes.limits import (
    DEFAULT_RETRIES,
    Attempts,
    Guards,
    QuoteTimeout,
    RetryPolicy,
)
from workbench.quotes.transport import ClientPool

T = TypeVar("T")
R = TypeVar("R")

#: requests in flight at once (per call, over all providers)
DEFAULT_CONCURRENCY = 32
#: seconds one attempt may take
DEFAULT_TIMEOUT = 10.0

ProviderSpec = str | Provider | Sequence[str | Provider]
Progress = Callable[[int, int], None]


#: the error class for each short reason (to re-raise a failed result)
_ERRORS: dict[str, type[QuoteError]] = {
    cls.reason: cls
    for cls in (SymbolNotFound, RateLimited, ProviderUnavailable, MalformedResponse, QuoteTimeout)
}


@dataclass(frozen=True, slots=True)
class QuoteResult:
    """The outcome for one requested symbol: a quote, or a short error reason."""

    symbol: str
    quote: Quote | None = None
    error: str | None = None
    provider: str | None = None
    #: the full error text (every provider tried) when it failed
    message: str | None = None
    attempts: int = 0
    fetched_at: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether a quote was obtained."""
        return self.quote is not None

    def as_dict(self) -> dict[str, Any]:
        """The ``quotes --json`` object: symbol, price, currency, volume, time, provider, error."""
        q = self.quote
        return {
            "symbol": self.symbol,
            "price": q.price if q else None,
            "currency": q.currency if q else None,
            "volume": q.volume if q else None,
            "time": q.time.isoformat() if q and q.time else None,
            "provider": self.provider,
            "error": self.error,
        }


def resolve_providers(spec: ProviderSpec, *, base_url: str | None = None) -> list[Provider]:
    """Providers from a name, a provider object or an ordered list of either."""
    from workbench.quotes.providers import get_provider

    items: Sequence[str | Provider] = [spec] if isinstance(spec, str | Provider) else spec
    providers = [get_provider(p, base_url=base_url) if isinstance(p, str) else p for p in items]
    if not providers:
        raise QuoteError("no provider given")
    return providers


def error_reason(exc: BaseException) -> str:
    """The short reason for the JSON ``error`` field."""
    if isinstance(exc, QuoteError):
        return exc.reason
    return ProviderUnavailable.reason


async def worker_pool(
    items: Sequence[T],
    work: Callable[[T], Awaitable[R]],
    *,
    concurrency: int,
    on_error: Callable[[T, Exception], R],
) -> AsyncGenerator[tuple[int, R]]:
    """Yield ``(index, work(item))`` as they complete, with at most ``concurrency`` running.

    ``work`` should not raise; if it does, ``on_error`` turns the exception into a result so
    no item is ever lost. Closing the iterator early cancels the workers.
    """
    queue: asyncio.Queue[tuple[int, T]] = asyncio.Queue()
    for pair in enumerate(items):
        queue.put_nowait(pair)
    done: asyncio.Queue[tuple[int, R]] = asyncio.Queue()

    async def worker() -> None:
        while True:
            try:
                index, item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                result = await work(item)
            except Exception as exc:
                result = on_error(item, exc)
            done.put_nowait((index, result))

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, len(items))))]
    try:
        for _ in range(len(items)):
            yield await done.get()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class FetchSettings:
    """What one call was asked to do; shared by the quote and history paths."""

    providers: list[Provider]
    clients: ClientPool
    guards: Guards
    attempts: Attempts

    async def first_success(
        self, symbol: str, call: Callable[[Provider, httpx.AsyncClient], Awaitable[T]]
    ) -> tuple[T | None, Provider, list[QuoteError], int]:
        """Try each provider in order; (value, provider, errors so far, requests sent)."""
        errors: list[QuoteError] = []
        sent = 0
        provider = self.providers[0]
        for position, provider in enumerate(self.providers):
            client = await self.clients.for_provider(provider)
            guard = self.guards.get(provider.name, provider.rate_limit)
            value, error, n = await self.attempts.run(
                provider,
                guard,
                lambda p=provider, c=client: call(p, c),  # type: ignore[misc]
                last_provider=position == len(self.providers) - 1,
            )
            sent += n
            if error is None:
                return value, provider, errors, sent
            errors.append(error)
        return None, provider, errors, sent


@contextlib.asynccontextmanager
async def fetch_settings(
    provider: ProviderSpec,
    *,
    client: httpx.AsyncClient | None,
    concurrency: int,
    timeout: float,  # noqa: ASYNC109 (per attempt, not per call)
    retries: int,
    guards: Guards | None,
    policy: RetryPolicy | None,
) -> AsyncIterator[FetchSettings]:
    """Resolve providers and open the clients of one call."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    providers = resolve_providers(provider)
    policy = policy or RetryPolicy(retries=retries)
    async with ClientPool(client=client, concurrency=concurrency, timeout=timeout) as clients:
        yield FetchSettings(
            providers=providers,
            clients=clients,
            guards=guards or Guards(),
            attempts=Attempts(policy=policy, timeout=timeout),
        )


def _failed(symbol: str, provider: str | None, errors: Sequence[BaseException]) -> QuoteResult:
    last = errors[-1] if errors else ProviderUnavailable("no provider answered")
    return QuoteResult(
        symbol=symbol,
        error=error_reason(last),
        provider=provider,
        message="; ".join(str(e) for e in errors) or str(last),
    )


async def iter_quotes(
    symbols: Sequence[str],
    *,
    provider: ProviderSpec = "demo",
    client: httpx.AsyncClient | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per attempt, not per call)
    retries: int = DEFAULT_RETRIES,
    guards: Guards | None = None,
    policy: RetryPolicy | None = None,
) -> AsyncGenerator[QuoteResult]:
    """Yield one :class:`QuoteResult` per symbol as each completes (not in request order).

    Use ``contextlib.aclosing`` when you may stop early, so the workers are cancelled at once.
    """
    stream = _quote_stream(
        symbols,
        provider=provider,
        client=client,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        guards=guards,
        policy=policy,
    )
    async with contextlib.aclosing(stream):
        async for _index, result in stream:
            yield result


async def _quote_stream(
    symbols: Sequence[str],
    *,
    provider: ProviderSpec,
    client: httpx.AsyncClient | None,
    concurrency: int,
    timeout: float,  # noqa: ASYNC109 (per attempt, not per call)
    retries: int,
    guards: Guards | None,
    policy: RetryPolicy | None,
) -> AsyncGenerator[tuple[int, QuoteResult]]:
    async with fetch_settings(
        provider,
        client=client,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        guards=guards,
        policy=policy,
    ) as settings:

        async def one(symbol: str) -> QuoteResult:
            async def call(p: Provider, c: httpx.AsyncClient) -> Quote:
                return await p.fetch_quote(c, symbol)

            quote, used, errors, sent = await settings.first_success(symbol, call)
            if quote is None:
                return replace(_failed(symbol, used.name, errors), attempts=sent)
            return QuoteResult(
                symbol=symbol,
                quote=quote,
                provider=quote.provider or used.name,
                attempts=sent,
                fetched_at=dt.datetime.now(dt.UTC),
            )

        def crashed(symbol: str, exc: Exception) -> QuoteResult:
            return _failed(symbol, None, [exc])

        stream = worker_pool(symbols, one, concurrency=concurrency, on_error=crashed)
        async with contextlib.aclosing(stream):
            async for pair in stream:
                yield pair


async def fetch_quotes(
    symbols: Sequence[str],
    *,
    provider: ProviderSpec = "demo",
    client: httpx.AsyncClient | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per attempt, not per call)
    retries: int = DEFAULT_RETRIES,
    on_progress: Progress | None = None,
    guards: Guards | None = None,
    policy: RetryPolicy | None = None,
    db: str | Any | None = None,
) -> list[QuoteResult]:
    """Latest quotes for ``symbols``, one result per symbol in request order.

    Args:
        symbols: what to fetch; duplicates are fetched (and reported) once per occurrence.
        provider: a provider name, a provider object, or an ordered list for fallback.
        client: an open ``httpx.AsyncClient`` for network providers; when omitted, one
            :func:`~workbench.quotes.transport.make_client` is opened for the call.
        concurrency: requests in flight at once.
        timeout: seconds per attempt.
        retries: retries per provider after the first attempt.
        on_progress: called with (done, total) after each symbol completes.
        guards: rate limiters and circuit breakers to reuse across calls.
        policy: backoff settings (its ``retries`` wins over ``retries``).
        db: when given, successful quotes are stored there (with provider and fetch time).

    Example::

        results = await fetch_quotes(["ACME", "NWND"], provider=["workbench", "demo"])
        prices = {r.symbol: r.quote.price for r in results if r.ok}
    """
    ordered: list[QuoteResult | None] = [None] * len(symbols)
    done = 0
    stream = _quote_stream(
        symbols,
        provider=provider,
        client=client,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        guards=guards,
        policy=policy,
    )
    async with contextlib.aclosing(stream):
        async for index, result in stream:
            ordered[index] = result
            done += 1
            if on_progress is not None:
                on_progress(done, len(symbols))
    results = [r for r in ordered if r is not None]
    if db is not None:
        await store_quotes(db, results)
    return results


async def store_quotes(db: Any, results: Sequence[QuoteResult]) -> int:
    """Append the successful quotes to the store (in a worker thread); returns rows written."""
    rows = [r for r in results if r.quote is not None]
    if not rows:
        return 0
    from workbench import store

    return await store.run_in_thread(_insert_quotes, db, rows)


def _insert_quotes(db: Any, rows: list[QuoteResult]) -> int:
    import polars as pl

    from workbench import store

    utc = pl.Datetime("us", "UTC")
    frame = pl.DataFrame(
        {
            "symbol": [r.symbol for r in rows],
            "price": [r.quote.price for r in rows if r.quote],
            "currency": [r.quote.currency for r in rows if r.quote],
            "volume": [r.quote.volume for r in rows if r.quote],
            "quote_time": [r.quote.time for r in rows if r.quote],
            "provider": [r.provider for r in rows],
            "fetched_at": [r.fetched_at for r in rows],
        },
        schema={
            "symbol": pl.String, "price": pl.Float64, "currency": pl.String,
            "volume": pl.Float64, "quote_time": utc, "provider": pl.String, "fetched_at": utc,
        },
    )  # fmt: skip
    with store.connect(db) as con:
        return store.insert_quotes(con, frame)


@dataclass(frozen=True, slots=True)
class HistoryResult:
    """The outcome of a history request for one symbol."""

    symbol: str
    #: bars fetched now (None when nothing had to be fetched, or it failed)
    history: History | None = None
    error: str | None = None
    provider: str | None = None
    message: str | None = None
    #: bars written to the store now
    stored: int = 0
    #: dates in the range that were already stored and so not fetched again
    cached: int = 0

    @property
    def ok(self) -> bool:
        """Whether the range is now covered (fetched now or already stored)."""
        return self.error is None


def _missing_range(
    start: dt.date, end: dt.date, stored: set[dt.date]
) -> tuple[dt.date, dt.date] | None:
    """The narrowest range covering every weekday in [start, end] not yet stored.

    Weekends are never required (most markets are closed), so a fully stored week of
    trading days means no request at all. Holidays look missing and cost one small request.
    """
    day, first, last = start, None, None
    while day <= end:
        if day.weekday() < 5 and day not in stored:
            first = first or day
            last = day
        day += dt.timedelta(days=1)
    return (first, last) if first is not None and last is not None else None


async def fetch_history(
    symbols: Sequence[str],
    *,
    start: dt.date,
    end: dt.date,
    provider: ProviderSpec = "demo",
    client: httpx.AsyncClient | None = None,
    db: Any | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per attempt, not per call)
    retries: int = DEFAULT_RETRIES,
    on_progress: Progress | None = None,
    guards: Guards | None = None,
    policy: RetryPolicy | None = None,
) -> list[HistoryResult]:
    """Daily bars for ``symbols`` from ``start`` to ``end``, one result per symbol in order.

    With ``db``, dates already stored are not fetched again (only the narrowest range holding
    every missing weekday is requested) and new bars are stored with provider and fetch time.
    Store calls run in worker threads.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    from workbench import store

    stored: dict[str, set[dt.date]] = {}
    if db is not None:
        stored = await store.run_in_thread(_stored_dates, db, list(symbols), start, end)
    ordered: list[HistoryResult | None] = [None] * len(symbols)
    done = 0
    async with fetch_settings(
        provider,
        client=client,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        guards=guards,
        policy=policy,
    ) as settings:

        async def one(symbol: str) -> HistoryResult:
            have = stored.get(symbol, set())
            window = _missing_range(start, end, have)
            if window is None:
                return HistoryResult(symbol=symbol, cached=len(have))

            async def call(p: Provider, c: httpx.AsyncClient) -> History:
                return await p.fetch_history(c, symbol, window[0], window[1])

            history, used, errors, _sent = await settings.first_success(symbol, call)
            if history is None:
                failed = _failed(symbol, used.name, errors)
                return HistoryResult(
                    symbol=symbol, error=failed.error, provider=used.name, message=failed.message
                )
            return HistoryResult(
                symbol=symbol, history=history, provider=history.provider, cached=len(have)
            )

        def crashed(symbol: str, exc: Exception) -> HistoryResult:
            return HistoryResult(symbol=symbol, error=error_reason(exc), message=str(exc))

        stream = worker_pool(symbols, one, concurrency=concurrency, on_error=crashed)
        async with contextlib.aclosing(stream):
            async for index, result in stream:
                ordered[index] = result
                done += 1
                if on_progress is not None:
                    on_progress(done, len(symbols))
    results = [r for r in ordered if r is not None]
    if db is not None:
        written = await store.run_in_thread(_store_bars, db, results, stored)
        results = [replace(r, stored=written.get(r.symbol, 0)) for r in results]
    return results


def _stored_dates(
    db: Any, symbols: list[str], start: dt.date, end: dt.date
) -> dict[str, set[dt.date]]:
    from workbench import store

    with store.connect(db) as con:
        return store.stored_price_dates(con, list(dict.fromkeys(symbols)), start, end)


def _store_bars(
    db: Any, results: list[HistoryResult], stored: dict[str, set[dt.date]]
) -> dict[str, int]:
    """Write the bars not stored before, in one short connection; rows written per symbol."""
    import polars as pl

    from workbench import store

    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    written: dict[str, int] = {}
    seen: set[tuple[str, dt.date]] = set()
    for r in results:
        if r.history is None:
            continue
        have = stored.get(r.symbol, set())
        for bar in r.history.bars:
            key = (r.symbol, bar.date)
            if bar.date in have or key in seen:
                continue
            seen.add(key)
            rows.append({
                "symbol": r.symbol, "date": bar.date, "open": bar.open, "high": bar.high,
                "low": bar.low, "close": bar.close, "volume": bar.volume,
                "currency": r.history.currency, "provider": r.provider, "fetched_at": now,
            })  # fmt: skip
            written[r.symbol] = written.get(r.symbol, 0) + 1
    if not rows:
        return written
    frame = pl.DataFrame(
        rows,
        schema={
            "symbol": pl.String, "date": pl.Date, "open": pl.Float64, "high": pl.Float64,
            "low": pl.Float64, "close": pl.Float64, "volume": pl.Float64,
            "currency": pl.String, "provider": pl.String, "fetched_at": pl.Datetime("us", "UTC"),
        },
    )  # fmt: skip
    with store.connect(db) as con:
        store.upsert_prices(con, frame)
    return written


@dataclass(frozen=True, slots=True)
class TradeResult:
    """A recorded trade: the new transaction id and the quote it was priced at."""

    transaction_id: int
    quote: Quote
    provider: str


async def trade_at_market(
    db: Any,
    *,
    side: str,
    symbol: str,
    quantity: Decimal | str | int,
    fee: Decimal | str | int = 0,
    account: str = "default",
    provider: ProviderSpec = "demo",
    client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per attempt, not per call)
    retries: int = DEFAULT_RETRIES,
) -> TradeResult:
    """Fetch a live quote for ``symbol`` and record a BUY or SELL at that price.

    Nothing is stored unless the quote was fetched and the ledger accepted the trade.

    Raises:
        TradeError: a bad side or quantity (checked before any request).
        QuoteError: no quote (``SymbolNotFound``, ``RateLimited``, ...).
        OversoldError: a sell of more than the account holds.
    """
    from workbench.errors import TradeError
    from workbench.ledger import record_trade

    if side.strip().lower() not in ("buy", "sell"):
        raise TradeError(f"trade side must be buy or sell, not {side!r}")
    amount = _positive_decimal(quantity, "quantity", allow_zero=False)
    fee_amount = _positive_decimal(fee, "fee", allow_zero=True)
    [result] = await fetch_quotes(
        [symbol], provider=provider, client=client, concurrency=1, timeout=timeout, retries=retries
    )
    if result.quote is None:
        raise _ERRORS.get(result.error or "", QuoteError)(
            f"no quote for {symbol}: {result.message or result.error}"
        )
    from workbench import store

    transaction_id = await store.run_in_thread(
        record_trade,
        db,
        side=side.strip().lower(),
        symbol=symbol,
        quantity=amount,
        price=Decimal(str(result.quote.price)),
        fee=fee_amount,
        account=account,
        currency=result.quote.currency,
    )
    return TradeResult(
        transaction_id=transaction_id, quote=result.quote, provider=result.provider or ""
    )


def _positive_decimal(value: Decimal | str | int, name: str, *, allow_zero: bool) -> Decimal:
    from workbench.errors import TradeError

    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise TradeError(f"{name} must be a number, not {value!r}") from exc
    if not number.is_finite() or number < 0 or (number == 0 and not allow_zero):
        raise TradeError(
            f"{name} must be {'zero or more' if allow_zero else 'positive'}, not {value}"
        )
    return number
