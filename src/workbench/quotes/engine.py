"""The fetch engine: latest quotes, and the worker pool and call settings every fetch shares.

Many symbols, a bounded worker pool, and every failure accounted for. Each symbol goes to the
first provider; on failure to the next one (ordered fallback). Where a provider answers many
symbols in one request (``workbench``, ``demo``, ``binance``, ``coingecko``) they go in batches
(:mod:`workbench.quotes.batching`). Around every request the engine applies, per provider:

- a shared pacer (:mod:`workbench.quotes.pacing`): the provider's documented rate, slowed for
  every worker by a 429's ``Retry-After`` and adapted (AIMD) to what the provider allows; 429s
  are pacing, not failures;
- a circuit breaker judging the failure rate of recent calls (:mod:`workbench.quotes.breaker`);
- a daily budget where the provider has one (Alpha Vantage), kept in the store
  (:mod:`workbench.quotes.budget`);
- a timeout per attempt and ``retries`` retries of 5xx, timeouts and connection failures with
  exponential backoff and jitter (:mod:`workbench.quotes.attempts`); ``not found`` is final.

Every requested symbol ends with a quote or the last real error reason (``not found``, ``rate
limited``, ``timeout``, ``unavailable``, ``malformed response``), its ``message`` listing every
attempt's reason per provider; nothing raises for one bad symbol, and ``deadline`` bounds the
whole call (what is left then ends ``rate limited``). Limits per provider: README "Quote
providers" and :mod:`workbench.quotes.limits`.

Price history (:mod:`workbench.quotes.history`) runs on the same worker pool and call
settings; trading at market (:mod:`workbench.quotes.trading`) is priced by :func:`fetch_quotes`.

    async with make_client() as client:            # or let the engine create one per call
        results = await fetch_quotes(["ACME", "U00001"], provider="demo", client=client)
        async for result in iter_quotes(symbols):   # results as they complete
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from workbench.errors import ProviderUnavailable, QuoteError
from workbench.quotes.attempts import Attempts
from workbench.quotes.base import Provider, Quote
from workbench.quotes.batching import QuoteRun, Status, describe_errors
from workbench.quotes.client import ClientPool
from workbench.quotes.limits import DEFAULT_RETRIES, Guards, ProviderLimits, RetryPolicy

T = TypeVar("T")
R = TypeVar("R")

#: requests in flight at once (per call, over all providers)
DEFAULT_CONCURRENCY = 32
#: seconds one attempt may take
DEFAULT_TIMEOUT = 10.0

ProviderSpec = str | Provider | Sequence[str | Provider]
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class QuoteResult:
    """The outcome for one requested symbol: a quote, or a short error reason."""

    symbol: str
    quote: Quote | None = None
    error: str | None = None
    provider: str | None = None
    #: every attempt's reason per provider, with the last full message of each, when it failed
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
        self,
        symbol: str,
        call: Callable[[Provider, httpx.AsyncClient], Awaitable[T]],
        *,
        cost: Callable[[Provider], float],
    ) -> tuple[T | None, Provider, list[tuple[str, QuoteError]], int]:
        """Try each provider in order; (value, provider, (name, error) of each attempt, sent).

        ``cost`` gives what one request of ``call`` costs each provider against its rate
        limit (1: a request).
        """
        errors: list[tuple[str, QuoteError]] = []
        sent = 0
        provider = self.providers[0]
        for position, provider in enumerate(self.providers):
            client = await self.clients.for_provider(provider)
            outcome = await self.attempts.run(
                self.guards.get(provider),
                lambda p=provider, c=client: call(p, c),  # type: ignore[misc]
                last_provider=position == len(self.providers) - 1,
                cost=cost(provider),
            )
            sent += outcome.sent
            if outcome.value is not None:
                return outcome.value, provider, errors, sent
            errors.extend((provider.name, e) for e in outcome.errors)
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
    limits: Mapping[str, ProviderLimits] | None = None,
    db: Any | None = None,
) -> AsyncIterator[FetchSettings]:
    """Resolve providers and limits, open the clients of one call, keep daily budgets.

    With ``db``, daily request counts (Alpha Vantage) are read before and written after.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    providers = resolve_providers(provider)
    policy = policy or RetryPolicy(retries=retries)
    guards = guards or Guards(limits=limits)
    budgets = [b for b in (guards.get(p).budget for p in providers) if b is not None]
    from workbench import store

    if db is not None and budgets:
        from workbench.quotes.budget import load_usage

        await store.run_in_thread(load_usage, db, budgets)
    try:
        async with ClientPool(client=client, concurrency=concurrency, timeout=timeout) as clients:
            yield FetchSettings(
                providers=providers,
                clients=clients,
                guards=guards,
                attempts=Attempts(policy=policy, timeout=timeout),
            )
    finally:
        if db is not None and budgets:
            from workbench.quotes.budget import save_usage

            await store.run_in_thread(save_usage, db, budgets)


def failed_result(
    symbol: str,
    provider: str | None,
    errors: Sequence[tuple[str, BaseException]],
    *,
    attempts: int = 0,
) -> QuoteResult:
    """A failed result: the last real reason, and every attempt's reason in ``message``."""
    quote_errors = [(n, e) for n, e in errors if isinstance(e, QuoteError)]
    last = errors[-1][1] if errors else ProviderUnavailable("no provider answered")
    return QuoteResult(
        symbol=symbol,
        error=error_reason(last),
        provider=provider,
        message=describe_errors(quote_errors) or str(last),
        attempts=attempts,
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
    limits: Mapping[str, ProviderLimits] | None = None,
    deadline: float | None = None,
    on_status: Status | None = None,
    db: Any | None = None,
) -> AsyncGenerator[QuoteResult]:
    """Yield one :class:`QuoteResult` per symbol as each completes (not in request order).

    Takes the arguments of :func:`fetch_quotes` (``db`` only keeps daily request counts here;
    nothing is stored). Use ``contextlib.aclosing`` when you may stop early, so the workers
    are cancelled at once.
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
        limits=limits,
        deadline=deadline,
        on_status=on_status,
        db=db,
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
    limits: Mapping[str, ProviderLimits] | None,
    deadline: float | None,
    on_status: Status | None,
    db: Any | None,
) -> AsyncGenerator[tuple[int, QuoteResult]]:
    if deadline is not None and deadline <= 0:
        raise ValueError(f"deadline must be positive, got {deadline}")
    async with fetch_settings(
        provider,
        client=client,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        guards=guards,
        policy=policy,
        limits=limits,
        db=db,
    ) as settings:
        run = QuoteRun(
            list(symbols),
            settings,
            concurrency=concurrency,
            deadline=deadline,
            on_status=on_status,
        )
        stream = run.stream()
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
    limits: Mapping[str, ProviderLimits] | None = None,
    deadline: float | None = None,
    on_status: Status | None = None,
) -> list[QuoteResult]:
    """Latest quotes for ``symbols``, one result per symbol in request order.

    Args:
        symbols: what to fetch; duplicates are fetched (and reported) once per occurrence.
        provider: a provider name, a provider object, or an ordered list for fallback.
        client: an open ``httpx.AsyncClient`` for network providers; when omitted, one
            :func:`~workbench.quotes.client.make_client` is opened for the call.
        concurrency: requests in flight at once.
        timeout: seconds per attempt.
        retries: retries per provider after the first attempt (5xx, timeouts, connection
            failures; 429s are waited out and not counted).
        on_progress: called with (done, total) after each symbol completes.
        guards: pacers, breakers and budgets to reuse across calls.
        policy: backoff settings (its ``retries`` wins over ``retries``).
        db: when given, successful quotes are stored there (with provider and fetch time),
            and daily request counts are kept there.
        limits: per-provider overrides of rate, burst, daily cap and batch size by name,
            e.g. ``{"workbench": ProviderLimits(rate=5, batch_size=1)}``.
        deadline: seconds the whole call may take; symbols not done by then end
            ``rate limited``.
        on_status: called with a short text while the call waits on a provider (rate limit,
            Retry-After, open circuit), and with ``""`` when it no longer does.

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
        limits=limits,
        deadline=deadline,
        on_status=on_status,
        db=db,
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
