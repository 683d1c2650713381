"""Price history: daily bars for many symbols, fetched once and kept in the store.

:func:`fetch_history` runs on the fetch engine's worker pool, provider fallback, rate limits,
retries and breakers (:mod:`workbench.quotes.engine`). With a store, only the weekdays it
does not hold yet are requested.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from workbench.quotes.base import History, Provider
from workbench.quotes.batching import Status, report_waits
from workbench.quotes.engine import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT,
    Progress,
    ProviderSpec,
    error_reason,
    failed_result,
    fetch_settings,
    worker_pool,
)
from workbench.quotes.limits import DEFAULT_RETRIES, Guards, ProviderLimits, RetryPolicy


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


def history_cost(provider: Provider) -> float:
    """What one history request costs ``provider`` against its rate limit: its
    ``history_cost`` where it counts request weight (Binance's klines weigh 2), else 1."""
    return float(getattr(provider, "history_cost", 1.0))


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
    limits: Mapping[str, ProviderLimits] | None = None,
    on_status: Status | None = None,
) -> list[HistoryResult]:
    """Daily bars for ``symbols`` from ``start`` to ``end``, one result per symbol in order.

    With ``db``, dates already stored are not fetched again (only the narrowest range holding
    every missing weekday is requested) and new bars are stored with provider and fetch time.
    Store calls run in worker threads. Limits, pacing, retries and the breaker are those of
    :func:`~workbench.quotes.engine.fetch_quotes`: one request per distinct symbol (a symbol
    given twice is fetched once and reported twice; no provider batches history), at most
    ``concurrency`` in flight. ``on_progress`` gets (done, distinct symbols); ``on_status``
    what the call is waiting on (a provider's pacing, a Retry-After pause, an open circuit)
    and ``""`` when it no longer waits, as in ``fetch_quotes``.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    from workbench import store

    unique = list(dict.fromkeys(symbols))
    stored: dict[str, set[dt.date]] = {}
    if db is not None:
        stored = await store.run_in_thread(_stored_dates, db, unique, start, end)
    by_symbol: dict[str, HistoryResult] = {}
    done = 0
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

        async def one(symbol: str) -> HistoryResult:
            have = stored.get(symbol, set())
            window = _missing_range(start, end, have)
            if window is None:
                return HistoryResult(symbol=symbol, cached=len(have))

            async def call(p: Provider, c: httpx.AsyncClient) -> History:
                return await p.fetch_history(c, symbol, window[0], window[1])

            history, used, errors, _sent = await settings.first_success(
                symbol, call, cost=history_cost
            )
            if history is None:
                failed = failed_result(symbol, used.name, errors)
                return HistoryResult(
                    symbol=symbol, error=failed.error, provider=used.name, message=failed.message
                )
            return HistoryResult(
                symbol=symbol, history=history, provider=history.provider, cached=len(have)
            )

        def crashed(symbol: str, exc: Exception) -> HistoryResult:
            return HistoryResult(symbol=symbol, error=error_reason(exc), message=str(exc))

        watcher = None
        if on_status is not None:
            watcher = asyncio.create_task(report_waits(settings.guards, on_status))
        stream = worker_pool(unique, one, concurrency=concurrency, on_error=crashed)
        try:
            async with contextlib.aclosing(stream):
                async for index, result in stream:
                    by_symbol[unique[index]] = result
                    done += 1
                    if on_progress is not None:
                        on_progress(done, len(unique))
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            if on_status is not None:
                on_status("")
    if db is not None:
        fetched = [by_symbol[s] for s in unique]
        written = await store.run_in_thread(_store_bars, db, fetched, stored)
        by_symbol = {s: replace(r, stored=written.get(s, 0)) for s, r in by_symbol.items()}
    return [by_symbol[s] for s in symbols]


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
