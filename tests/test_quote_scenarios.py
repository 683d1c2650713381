"""Fetching that finishes, against the real quote server on 127.0.0.1 and its fault flags.

Each scenario asserts priced counts and reasons (and, for pacing, that the pacer's rate
converged), never wall time. Expected success rates are computed by hand in the docstrings.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from _providers_helpers import fixture_reply, running_mirror
from _quote_helpers import RunningServer, quote_server

from workbench.quotes.engine import fetch_quotes, iter_quotes
from workbench.quotes.limits import DEFAULT_RETRIES, Guards, ProviderLimits, RetryPolicy
from workbench.quotes.providers import AlphaVantageProvider, WorkbenchApiProvider

__all__ = ["quote_server"]  # the fixture is imported for pytest, not unused

Start = Callable[..., RunningServer]
#: default retries, short backoff: the arithmetic does not depend on the waits
QUICK = RetryPolicy(backoff=0.01)


def universe(n: int) -> list[str]:
    """The first ``n`` generated symbols."""
    return [f"U{i:05d}" for i in range(1, n + 1)]


# -- rate limits -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_rate_limited_server_prices_every_symbol_and_the_pacer_converges(
    quote_server: Start,
) -> None:
    """One request per symbol at a server allowing 10/s: all 80 priced, pacer near 10/s.

    429s are pacing: few of them (well under one per symbol) and none ends a symbol.
    """
    server = quote_server(rate_limit=10, universe=80)
    guards = Guards()
    provider = server.provider(batch_size=1)
    results = await fetch_quotes(universe(80), provider=provider, guards=guards, retries=0)
    assert [r.error for r in results] == [None] * 80
    rate = guards.get(provider).pacer.rate
    assert rate is not None
    assert 5.0 <= rate <= 15.0
    limited = sum(r.status == 429 for r in server.state.requests)
    assert 0 < limited < 40


@pytest.mark.asyncio
async def test_batches_count_as_one_request_against_a_rate_limit(quote_server: Start) -> None:
    """500 symbols at a server allowing 2 requests/s: 5 batches of 100, all priced."""
    server = quote_server(rate_limit=2, universe=500)
    results = await fetch_quotes(universe(500), provider=server.provider())
    assert sum(r.ok for r in results) == 500
    answered = [r for r in server.state.requests if r.status == 200]
    assert [(r.kind, r.count) for r in answered] == [("batch", 100)] * 5


@pytest.mark.asyncio
async def test_a_deadline_ends_what_is_left_as_rate_limited(quote_server: Start) -> None:
    """A 1/s provider and a 2 s deadline: every symbol has a result, the rest 'rate limited'.

    Slots fall at 0, 1 and 2 s, so at most 3 of 20 can be priced; each priced symbol is one
    answered request, and nothing else is sent.
    """
    server = quote_server(universe=20)
    provider = server.provider(batch_size=1, rate_limit=1.0)
    results = await fetch_quotes(universe(20), provider=provider, deadline=2.0)
    assert [r.symbol for r in results] == universe(20)
    priced = [r for r in results if r.ok]
    assert len(priced) <= 3
    assert len(priced) == sum(q.status == 200 for q in server.state.requests)
    late = [r for r in results if not r.ok]
    assert {r.error for r in late} == {"rate limited"}
    assert all("deadline of 2 s" in (r.message or "") for r in late)


# -- flaky providers ---------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("fail_rate", [0.3, 0.5])
async def test_a_flaky_provider_prices_the_share_retries_promise(
    quote_server: Start, fail_rate: float
) -> None:
    """One request per symbol, 503 at random: 1 - p^(k+1) priced (k = 3 default retries).

    p = 0.5: 0.9375 of 400 = 375 (sigma 4.8); p = 0.3: 0.9919 of 400 = 396.8 (sigma 1.8).
    Within 4 sigma, and never under 80%. The breaker stays closed; no symbol gets more than
    k + 1 requests, and every unpriced one got exactly k + 1.
    """
    server = quote_server(fail_rate=fail_rate, universe=400, seed=3)
    guards = Guards()
    provider = server.provider(batch_size=1)
    results = await fetch_quotes(universe(400), provider=provider, guards=guards, policy=QUICK)
    expected = 1 - fail_rate ** (DEFAULT_RETRIES + 1)
    sigma = math.sqrt(400 * expected * (1 - expected))
    priced = sum(r.ok for r in results)
    assert abs(priced - 400 * expected) <= 4 * sigma
    assert priced >= 0.8 * 400
    assert guards.get(provider).breaker.outages == 0
    for r in results:
        assert server.state.request_count(r.symbol) <= DEFAULT_RETRIES + 1
        if not r.ok:
            assert r.error == "unavailable"
            assert server.state.request_count(r.symbol) == DEFAULT_RETRIES + 1


@pytest.mark.asyncio
async def test_a_flaky_provider_in_batches_prices_nearly_everything(quote_server: Start) -> None:
    """Half the batch requests failing: a failed batch splits, so >= 495 of 500 are priced.

    A symbol fails only if its batch and every half down to itself fail, then its 4 single
    attempts: 0.5^(7 + 4) ~ 5e-4 per symbol.
    """
    server = quote_server(fail_rate=0.5, universe=500, seed=5)
    results = await fetch_quotes(universe(500), provider=server.provider(), policy=QUICK)
    assert sum(r.ok for r in results) >= 495


@pytest.mark.asyncio
async def test_a_batch_failing_as_a_whole_is_split_until_it_succeeds(quote_server: Start) -> None:
    """fail_first=1: the batch of 4 gets a 503, its two halves then succeed (3 requests)."""
    server = quote_server(fail_first=1, fail_status=503)
    symbols = ["ACME", "NWND", "GLBX", "INIT"]
    results = await fetch_quotes(symbols, provider=server.provider(), policy=QUICK)
    assert all(r.ok for r in results)
    sizes = [(r.count, r.status) for r in server.state.requests]
    assert sizes[0] == (4, 503)
    assert sorted(sizes[1:]) == [(2, 200), (2, 200)]


@pytest.mark.asyncio
async def test_one_malformed_entry_in_a_batch_fails_only_its_symbol(quote_server: Start) -> None:
    """A batch answer whose NWND entry is unreadable: NWND 'malformed response', one request."""
    server = quote_server(malformed_symbols=["NWND"])
    results = await fetch_quotes(["ACME", "NWND", "NOPE"], provider=server.provider())
    assert [r.error for r in results] == [None, "malformed response", "not found"]
    assert server.state.request_count() == 1


@pytest.mark.asyncio
async def test_a_server_without_the_batch_route_is_asked_one_symbol_at_a_time() -> None:
    """An older server (404 for /v1/quotes): the engine falls back to GET /v1/{symbol}."""
    hits: list[str] = []
    with running_mirror(hits) as base:
        provider = WorkbenchApiProvider(base_url=base)
        results = await fetch_quotes(["DEMO1", "NOPE", "DEMO1"], provider=provider)
    assert [r.error for r in results] == [None, "not found", None]
    assert results[0].quote is not None
    assert results[0].quote.price == 101.25
    assert hits[0] == "/mirror/v1/quotes"
    assert sorted(hits[1:]) == ["/mirror/v1/DEMO1", "/mirror/v1/DEMO1", "/mirror/v1/NOPE"]


# -- reasons -----------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("batch_size", [1, 100])
async def test_slow_answers_read_timeout_even_when_the_breaker_holds_symbols_back(
    quote_server: Start, batch_size: int
) -> None:
    """Every answer slower than the timeout: all 40 symbols read 'timeout', never 'unavailable'."""
    server = quote_server(latency_ms=1500, universe=40)
    guards = Guards(max_outage=0.5)
    provider = server.provider(batch_size=batch_size)
    results = await fetch_quotes(
        universe(40), provider=provider, timeout=0.3, guards=guards, policy=QUICK
    )
    assert {r.error for r in results} == {"timeout"}
    assert guards.get(provider).breaker.outages >= 1  # a provider this slow is down


@pytest.mark.asyncio
@pytest.mark.parametrize("batch_size", [1, 100])
async def test_unknown_symbols_read_not_found_under_faults(
    quote_server: Start, batch_size: int
) -> None:
    """Half the requests failing: an unknown symbol that reached the server once is 'not found'.

    A 404 is final: no request for that symbol follows it.
    """
    server = quote_server(fail_rate=0.5, universe=20, seed=11)
    unknown = [f"NOPE{i}" for i in range(10)]
    results = await fetch_quotes(
        universe(20) + unknown, provider=server.provider(batch_size=batch_size), policy=QUICK
    )
    for r in results[20:]:
        statuses = [q.status for q in server.state.requests if q.symbol == r.symbol]
        if 404 in statuses or batch_size > 1:
            assert r.error == "not found", r.message
        if 404 in statuses:
            assert statuses.index(404) == len(statuses) - 1
    if batch_size > 1:
        assert all(r.error == "not found" for r in results[20:])


# -- outages -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_provider_down_for_a_while_is_waited_for_and_every_symbol_priced(
    quote_server: Start,
) -> None:
    """After 30 requests the server answers 503 for 1 s: the breaker opens, probes, closes."""
    server = quote_server(outage=(30, 1.0), universe=200, latency_ms=2)
    guards = Guards()
    provider = server.provider(batch_size=1)
    results = await fetch_quotes(universe(200), provider=provider, guards=guards, policy=QUICK)
    assert sum(r.ok for r in results) == 200
    assert guards.get(provider).breaker.outages >= 1
    assert any(r.status == 503 for r in server.state.requests)


@pytest.mark.asyncio
async def test_a_server_that_goes_away_and_comes_back_on_its_port(quote_server: Start) -> None:
    """The server stops mid-run (connections refused) and restarts 1 s later: all priced.

    Default settings: 32 workers' failures show the breaker the provider is down within
    milliseconds, and it holds every symbol back (none spends its retries) until a probe
    finds the server again.
    """
    first = quote_server(universe=400, latency_ms=100)
    port = first.port
    guards = Guards()
    provider = first.provider(batch_size=1)
    results = []
    restarted = threading.Event()

    def bounce() -> None:
        first.stop()
        time.sleep(1.0)
        quote_server(universe=400, latency_ms=100, port=port)
        restarted.set()

    stream = iter_quotes(universe(400), provider=provider, guards=guards)
    async with contextlib.aclosing(stream):
        async for result in stream:
            results.append(result)
            if len(results) == 40:
                threading.Thread(target=bounce, daemon=True).start()
    assert restarted.is_set()
    assert sum(r.ok for r in results) == 400
    assert guards.get(provider).breaker.outages >= 1


# -- daily caps --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_alpha_vantage_daily_cap_is_remembered_across_runs(tmp_path: Path) -> None:
    """26 symbols with 25 a day: 25 priced, 1 'rate limited'; a second run sends nothing."""
    db = tmp_path / "av.duckdb"
    hits: list[str] = []
    limits = {"alphavantage": ProviderLimits(daily=25)}  # unpaced, for the test's sake
    symbols = [f"S{i:02d}" for i in range(26)]
    with running_mirror(hits) as base:
        provider = AlphaVantageProvider(base_url=base, api_key="test-key")
        first = await fetch_quotes(symbols, provider=provider, db=db, limits=limits)
        sent = len(hits)
        second = await fetch_quotes(symbols[:3], provider=provider, db=db, limits=limits)
    assert sum(r.ok for r in first) == 25
    assert sent == 25
    assert [r.error for r in first if not r.ok] == ["rate limited"]
    assert [r.error for r in second] == ["rate limited"] * 3
    assert len(hits) == sent  # not one request more
    assert "daily limit of 25" in (second[0].message or "")


@pytest.mark.asyncio
async def test_alpha_vantage_saying_the_day_is_spent_stops_the_run(tmp_path: Path) -> None:
    """The 2025 'Information' body (25 a day): one request, the rest not sent, all remembered."""
    requests: list[httpx.Request] = []
    reply = fixture_reply("alphavantage_rate_limit_information_2025.json")

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(reply.status, content=reply.body, headers=reply.headers)

    db = tmp_path / "av.duckdb"
    limits = {"alphavantage": ProviderLimits(daily=25)}
    provider = AlphaVantageProvider(api_key="test-key")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        results = await fetch_quotes(
            ["IBM", "MSFT", "AAPL"], provider=provider, client=client, concurrency=1,
            db=db, limits=limits,
        )  # fmt: skip
        again = await fetch_quotes(["IBM"], provider=provider, client=client, db=db, limits=limits)
    assert [r.error for r in results + again] == ["rate limited"] * 4
    assert len(requests) == 1
    assert "the provider said so" in (again[0].message or "")


def test_the_scenario_helpers_are_self_consistent() -> None:
    """universe(n) names the server's generated symbols U00001 ... in order."""
    assert universe(3) == ["U00001", "U00002", "U00003"]
    assert asyncio.iscoroutinefunction(fetch_quotes)
