"""The fetch engine against the real quote server: faults, retries, fallback, breaker, storage."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import httpx
import pytest
from _quote_helpers import RunningServer, quote_server

from workbench.demo.market import daily_bars, latest_price
from workbench.errors import SymbolNotFound, TradeError
from workbench.quotes.breaker import CLOSED
from workbench.quotes.client import make_client
from workbench.quotes.engine import fetch_quotes, iter_quotes
from workbench.quotes.history import fetch_history
from workbench.quotes.limits import Guards, RetryPolicy
from workbench.quotes.trading import trade_at_market

__all__ = ["quote_server"]  # the fixture is imported for pytest, not unused

Start = Callable[..., RunningServer]
FAST = RetryPolicy(retries=2, backoff=0.01, max_delay=2.0)


# -- results, order, streaming ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_results_come_in_request_order_with_prices_from_the_demo_market(
    quote_server: Start,
) -> None:
    """Every symbol gets one result in request order; prices equal the demo market's at that time."""
    server = quote_server(universe=30, seed=11)
    symbols = [f"U{i:05d}" for i in range(30, 0, -1)] + ["NOPE", "ACME"]
    results = await fetch_quotes(symbols, provider=server.provider(), concurrency=8, policy=FAST)
    assert [r.symbol for r in results] == symbols
    for r in results[:30] + results[31:]:
        assert r.quote is not None, r.message
        assert r.quote.time is not None
        assert r.quote.price == latest_price(r.symbol, seed=11, at=r.quote.time)
        assert r.provider == "workbench"
    assert results[30].error == "not found"
    assert results[30].quote is None


@pytest.mark.asyncio
async def test_slow_symbols_stream_after_fast_ones(quote_server: Start) -> None:
    """The iterator yields results as they complete: a slow first symbol arrives last."""
    server = quote_server(slow_symbols={"ACME": 0.8})
    symbols = ["ACME", "NWND", "GLBX", "INIT", "UMBR", "STRK", "WAYN", "TYRL"]
    provider = server.provider(batch_size=1)  # one request per symbol, so each ends on its own
    seen = [r.symbol async for r in iter_quotes(symbols, provider=provider, concurrency=3)]
    assert sorted(seen) == sorted(symbols)
    assert seen[-1] == "ACME"


@pytest.mark.asyncio
async def test_progress_is_reported_once_per_symbol(quote_server: Start) -> None:
    """on_progress sees (1, n) ... (n, n)."""
    server = quote_server()
    calls: list[tuple[int, int]] = []
    await fetch_quotes(
        ["ACME", "NWND", "NOPE"],
        provider=server.provider(),
        on_progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_slow_symbol_times_out_and_the_others_succeed(quote_server: Start) -> None:
    """A symbol slower than the timeout ends as 'timeout'; the rest are unaffected."""
    server = quote_server(slow_symbols={"GLBX": 3.0})
    results = await fetch_quotes(
        ["ACME", "GLBX", "NWND"], provider=server.provider(), timeout=0.3, retries=0
    )
    assert [r.error for r in results] == [None, "timeout", None]


@pytest.mark.asyncio
async def test_a_503_burst_is_retried_to_success_with_bounded_requests(quote_server: Start) -> None:
    """Two 503s per symbol then success: with 2 retries each symbol takes exactly 3 requests."""
    server = quote_server(fail_first=2, fail_status=503)
    symbols = ["ACME", "NWND", "GLBX"]
    results = await fetch_quotes(symbols, provider=server.provider(), concurrency=1, policy=FAST)
    assert all(r.ok for r in results), [r.message for r in results]
    assert [server.state.request_count(s) for s in symbols] == [3, 3, 3]
    assert [r.attempts for r in results] == [3, 3, 3]


@pytest.mark.asyncio
async def test_a_provider_that_always_fails_gets_at_most_retries_plus_one_requests(
    quote_server: Start,
) -> None:
    """With every request a 503, each symbol is 'unavailable' after at most 1 + retries requests.

    The message lists every attempt's reason.
    """
    server = quote_server(fail_rate=1.0)
    symbols = [f"U{i:05d}" for i in range(1, 9)]
    results = await fetch_quotes(
        symbols,
        provider=server.provider(batch_size=1),
        concurrency=4,
        policy=FAST,
        guards=Guards(max_outage=0.5),
    )
    assert {r.error for r in results} == {"unavailable"}
    tried = [r for r in results if r.attempts == 3]
    assert tried
    for r in tried:
        assert (r.message or "").startswith("workbench: unavailable, unavailable, unavailable (")
    assert all(server.state.request_count(s) <= 3 for s in symbols)
    assert server.state.request_count() <= len(symbols) * 3


@pytest.mark.asyncio
async def test_429_retry_after_is_honoured(quote_server: Start) -> None:
    """After a 429 with Retry-After: 0.4 the next request for that symbol comes >= 0.4 s later."""
    server = quote_server(fail_first=1, fail_status=429, retry_after=0.4)
    symbols = ["ACME", "NWND"]
    results = await fetch_quotes(symbols, provider=server.provider(batch_size=1), policy=FAST)
    assert all(r.ok for r in results)
    for symbol in symbols:
        first, second = server.times(symbol)
        assert second - first >= 0.4
    statuses = [r.status for r in server.state.requests]
    assert sorted(statuses) == [200, 200, 429, 429]


@pytest.mark.asyncio
async def test_a_retry_after_longer_than_the_cap_is_not_waited_for(quote_server: Start) -> None:
    """Retry-After: 60 over max_pause 1 s ends as 'rate limited' after one request, no sleeping."""
    server = quote_server(fail_first=5, fail_status=429, retry_after=60)
    policy = RetryPolicy(retries=3, backoff=0.01, max_pause=1.0)
    results = await asyncio.wait_for(
        fetch_quotes(["ACME"], provider=server.provider(), policy=policy), timeout=20
    )
    assert results[0].error == "rate limited"
    assert server.state.request_count("ACME") == 1


@pytest.mark.asyncio
async def test_the_client_rate_limit_keeps_under_the_server_limit(quote_server: Start) -> None:
    """A provider limited to 10 req/s never trips a server allowing 20 req/s (burst 20).

    24 requests at once would exceed the server's burst; spaced by the client's bucket
    (10 at once, then one per 0.1 s) they never do.
    """
    server = quote_server(rate_limit=20, universe=24)
    symbols = [f"U{i:05d}" for i in range(1, 25)]
    results = await fetch_quotes(
        symbols, provider=server.provider(rate_limit=10), concurrency=24, retries=0
    )
    assert all(r.ok for r in results)
    assert {r.status for r in server.state.requests} == {200}


@pytest.mark.asyncio
async def test_server_rate_limit_429s_are_retried_to_success(quote_server: Start) -> None:
    """A server limited to 10 req/s answers 429 to a burst of 16; pacing gets every quote.

    No retries at all: 429s are waited out, not counted against the retry budget.
    """
    server = quote_server(rate_limit=10, retry_after=0.3, universe=16)
    symbols = [f"U{i:05d}" for i in range(1, 17)]
    policy = RetryPolicy(retries=0)
    results = await fetch_quotes(
        symbols, provider=server.provider(batch_size=1), concurrency=16, policy=policy
    )
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    assert 429 in {r.status for r in server.state.requests}


@pytest.mark.asyncio
async def test_a_malformed_body_is_reported_and_not_retried(quote_server: Start) -> None:
    """HTTP 200 with HTML is 'malformed response' after one request."""
    server = quote_server(malformed_symbols=["NWND"])
    results = await fetch_quotes(["ACME", "NWND"], provider=server.provider(), policy=FAST)
    assert [r.error for r in results] == [None, "malformed response"]
    assert server.state.request_count("NWND") == 1


@pytest.mark.asyncio
async def test_a_refused_connection_is_unavailable_not_timeout() -> None:
    """Nothing listening on the port: 'unavailable', after the bounded retries."""
    from workbench.quotes.providers import WorkbenchApiProvider

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = WorkbenchApiProvider(base_url=f"http://127.0.0.1:{port}")
    results = await fetch_quotes(["ACME"], provider=provider, policy=FAST)
    assert results[0].error == "unavailable"
    assert results[0].attempts == 3
    assert "connection failed" in (results[0].message or "")


@pytest.mark.asyncio
async def test_the_server_going_away_mid_run_ends_every_symbol(quote_server: Start) -> None:
    """Stopping the server mid-run: every symbol has a quote or an error, retries stay bounded."""
    server = quote_server(latency_ms=40, universe=60)
    symbols = [f"U{i:05d}" for i in range(1, 61)]
    results = []

    async def run() -> None:
        stream = iter_quotes(
            symbols,
            provider=server.provider(batch_size=1),
            concurrency=4,
            policy=FAST,
            guards=Guards(max_outage=1.0),
        )
        async with contextlib.aclosing(stream):
            async for result in stream:
                results.append(result)
                if len(results) == 8:
                    await asyncio.to_thread(server.stop)

    await asyncio.wait_for(run(), timeout=30)
    assert sorted(r.symbol for r in results) == symbols
    assert all(r.ok or r.error in {"unavailable", "timeout"} for r in results)
    assert sum(r.ok for r in results) >= 8
    assert any(not r.ok for r in results)
    assert server.state.request_count() <= len(symbols) * 3


# -- fallback and the circuit breaker --------------------------------------------------------


@pytest.mark.asyncio
async def test_symbols_fall_back_to_the_next_provider(quote_server: Start) -> None:
    """A failing first provider hands each symbol to the second one."""
    bad = quote_server(fail_rate=1.0)
    good = quote_server()
    symbols = ["ACME", "NWND", "GLBX"]
    results = await fetch_quotes(
        symbols, provider=[bad.provider("primary"), good.provider("backup")], policy=FAST
    )
    assert all(r.ok for r in results)
    assert {r.provider for r in results} == {"backup"}
    assert bad.state.request_count() >= 1


@pytest.mark.asyncio
async def test_not_found_falls_back_too(quote_server: Start) -> None:
    """A symbol the first provider does not know is asked of the next one."""
    small = quote_server(universe=0)
    large = quote_server(universe=5)
    results = await fetch_quotes(
        ["U00003"], provider=[small.provider("small"), large.provider("large")]
    )
    assert results[0].provider == "large"
    assert results[0].ok


@pytest.mark.asyncio
async def test_the_breaker_opens_then_closes_after_the_cooldown(quote_server: Start) -> None:
    """3 of 3 calls failing open it (no more requests); after the cool-down a probe closes it.

    The symbols it held back report the provider's last real reason, not the breaker's.
    """
    server = quote_server(fail_rate=1.0)
    guards = Guards(min_calls=3, window=3, cooldown=0.3, max_outage=0.2)
    symbols = ["ACME", "NWND", "GLBX", "INIT", "UMBR", "STRK"]
    provider = server.provider(batch_size=1)
    results = await fetch_quotes(
        symbols, provider=provider, concurrency=1, retries=0, guards=guards
    )
    assert {r.error for r in results} == {"unavailable"}
    assert server.state.request_count() == 3
    assert "not sent, the provider is failing (last: workbench: HTTP 503" in (
        results[-1].message or ""
    )
    server.state.fail_rate = 0.0
    await asyncio.sleep(0.35)
    again = await fetch_quotes(symbols, provider=provider, retries=0, guards=guards)
    assert all(r.ok for r in again)
    assert guards.get(provider).breaker.state == CLOSED


# -- clients, history, storage, trades ------------------------------------------------------


@pytest.mark.asyncio
async def test_a_caller_client_is_used_and_left_open(quote_server: Start) -> None:
    """A client passed in carries the requests and is still usable afterwards."""
    server = quote_server()
    async with make_client(concurrency=4) as client:
        results = await fetch_quotes(["ACME"], provider=server.provider(), client=client)
        assert results[0].ok
        again = await client.get(f"{server.base_url}/healthz")
        assert again.json() == {"status": "ok"}


@pytest.mark.asyncio
async def test_the_demo_provider_runs_in_process() -> None:
    """provider='demo' answers without any server, even when handed a network client."""
    async with httpx.AsyncClient() as client:
        results = await fetch_quotes(["ACME", "U00042", "NOPE"], client=client)
    assert [r.error for r in results] == [None, None, "not found"]
    assert results[0].provider == "demo"


@pytest.mark.asyncio
async def test_successful_quotes_are_stored_with_provider_and_fetch_time(
    quote_server: Start, db_path: Path
) -> None:
    """fetch_quotes(db=...) appends one quotes row per success, none for failures."""
    server = quote_server()
    results = await fetch_quotes(["ACME", "NOPE"], provider=server.provider(), db=db_path)
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute("SELECT symbol, price, provider, fetched_at FROM quotes").fetchall()
    assert len(rows) == 1
    symbol, price, provider, fetched_at = rows[0]
    assert (symbol, provider) == ("ACME", "workbench")
    assert price == Decimal(str(results[0].quote.price)).quantize(Decimal("1e-8"))
    assert fetched_at is not None


@pytest.mark.asyncio
async def test_history_stores_bars_and_skips_dates_already_stored(
    quote_server: Start, db_path: Path
) -> None:
    """Bars equal the demo market's; a second overlapping call fetches only the new days."""
    server = quote_server(seed=5)
    start, mid, end = dt.date(2024, 3, 4), dt.date(2024, 3, 8), dt.date(2024, 3, 15)
    first = await fetch_history(
        ["ZEIT"], start=start, end=mid, provider=server.provider(), db=db_path
    )
    assert first[0].stored == 5  # Mon..Fri
    second = await fetch_history(
        ["ZEIT"], start=start, end=end, provider=server.provider(), db=db_path
    )
    assert (second[0].stored, second[0].cached) == (5, 5)
    assert second[0].history is not None
    assert second[0].history.bars[0].date == dt.date(2024, 3, 11)
    requests_before = server.state.request_count()
    third = await fetch_history(
        ["ZEIT"], start=start, end=end, provider=server.provider(), db=db_path
    )
    assert (third[0].stored, third[0].cached, third[0].history) == (0, 10, None)
    assert server.state.request_count() == requests_before
    reference = daily_bars("ZEIT", seed=5, start=start, end=end)
    with duckdb.connect(str(db_path), read_only=True) as con:
        stored = con.execute(
            "SELECT date, close, provider FROM prices WHERE symbol = 'ZEIT' ORDER BY date"
        ).fetchall()
    assert [r[0] for r in stored] == reference["date"].to_list()
    assert [float(r[1]) for r in stored] == reference["close"].to_list()
    assert {r[2] for r in stored} == {"workbench"}


@pytest.mark.asyncio
async def test_a_trade_records_one_transaction_at_the_fetched_price(
    quote_server: Start, db_path: Path
) -> None:
    """The seed's test: a trade creates exactly one transaction row carrying the fetched price."""
    server = quote_server(seed=3)
    trade = await trade_at_market(
        db_path, side="buy", symbol="ACME", quantity="7", fee="1.5", provider=server.provider()
    )
    assert trade.quote.time is not None
    assert trade.quote.price == latest_price("ACME", seed=3, at=trade.quote.time)
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "SELECT id, type, symbol, quantity, price, fee, account FROM transactions"
        ).fetchall()
    assert rows == [
        (
            trade.transaction_id,
            "BUY",
            "ACME",
            Decimal("7.00000000"),
            Decimal(str(trade.quote.price)).quantize(Decimal("1e-8")),
            Decimal("1.50000000"),
            "default",
        )
    ]


@pytest.mark.asyncio
async def test_a_trade_without_a_quote_stores_nothing(quote_server: Start, db_path: Path) -> None:
    """An unknown symbol raises SymbolNotFound and leaves no transaction."""
    server = quote_server()
    with pytest.raises(SymbolNotFound):
        await trade_at_market(
            db_path, side="buy", symbol="NOPE", quantity=1, provider=server.provider()
        )
    with pytest.raises(TradeError):
        await trade_at_market(
            db_path, side="buy", symbol="ACME", quantity="-1", provider=server.provider()
        )
    assert server.state.request_count("ACME") == 0
    with duckdb.connect(str(db_path)) as con:  # created empty if the trade never opened it
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "transactions" in tables:
            assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(0,)]
