"""Batch requests of the Binance and CoinGecko providers: the URLs they send, per-symbol results
from recorded bodies, and the engine splitting a batch that one unknown pair fails as a whole.

Bodies are the recordings in tests/fixtures/providers (see its README); the mock transports
answer like the documented APIs (Binance's -1121 for any unknown pair in ``symbols``).
"""

from __future__ import annotations

import json
import urllib.parse

import httpx
import pytest
from _providers_helpers import Recorder, fixture_reply, json_reply, load

from workbench.errors import MalformedResponse, SymbolNotFound
from workbench.quotes.base import BatchProvider, Quote
from workbench.quotes.engine import fetch_quotes
from workbench.quotes.limits import Guards, ProviderLimits
from workbench.quotes.providers import BinanceProvider, CoinGeckoProvider, get_provider


def test_the_batching_providers_say_so() -> None:
    """workbench, demo, binance and coingecko take batches; yahoo and alphavantage do not."""
    batching = {
        name
        for name in ("demo", "workbench", "yahoo", "binance", "coingecko", "alphavantage")
        if isinstance(get_provider(name, api_key="k"), BatchProvider)
    }
    assert batching == {"demo", "workbench", "binance", "coingecko"}


# -- binance -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_binance_asks_ticker_24hr_with_a_json_list_of_pairs() -> None:
    """symbols=["BNBBTC","ETHBTC"] (compact JSON, URL-encoded); each symbol keeps its spelling."""
    ticker = load("binance_ticker_24hr_docs_example.json")  # BNBBTC, lastPrice "4.00000200"
    recorder = Recorder(json_reply([ticker]))
    async with recorder.client() as client:
        results = await BinanceProvider().fetch_quotes(client, ["bnb-btc", "ETH/BTC"])
    query = urllib.parse.parse_qs(recorder.url.query.decode())
    assert recorder.url.path == "/api/v3/ticker/24hr"
    assert json.loads(query["symbols"][0]) == ["BNBBTC", "ETHBTC"]
    assert query["symbols"][0] == '["BNBBTC","ETHBTC"]'
    quote = results["bnb-btc"]
    assert isinstance(quote, Quote)
    assert (quote.symbol, quote.price, quote.currency) == ("bnb-btc", 4.000002, "BTC")
    assert "ETH/BTC" not in results  # not in the answer: the engine asks it on its own


@pytest.mark.asyncio
async def test_binance_a_malformed_ticker_fails_only_its_symbol() -> None:
    """A ticker without lastPrice is that pair's 'malformed response'; its neighbour is priced."""
    good = load("binance_ticker_24hr_docs_example.json")
    bad = {"symbol": "ETHBTC", "quoteVolume": "1"}
    recorder = Recorder(json_reply([good, bad]))
    async with recorder.client() as client:
        results = await BinanceProvider().fetch_quotes(client, ["BNBBTC", "ETHBTC"])
    assert isinstance(results["BNBBTC"], Quote)
    assert isinstance(results["ETHBTC"], MalformedResponse)


@pytest.mark.parametrize(("count", "weight"), [(1, 2), (20, 2), (21, 40), (100, 40), (101, 80)])
def test_binance_request_cost_is_its_published_weight(count: int, weight: float) -> None:
    """The pacer charges a batch what Binance charges: its request weight."""
    assert BinanceProvider().request_cost(count) == weight


def _binance_exchange(known: set[str], seen: list[list[str]]) -> httpx.MockTransport:
    """Binance's ticker/24hr: any unknown pair in ``symbols`` fails the request with -1121."""
    body = load("binance_ticker_24hr_docs_example.json")

    def handler(request: httpx.Request) -> httpx.Response:
        params = urllib.parse.parse_qs(request.url.query.decode())
        pairs = json.loads(params["symbols"][0]) if "symbols" in params else params["symbol"]
        seen.append(pairs)
        if any(p not in known for p in pairs):
            return httpx.Response(400, json=load("binance_error_invalid_symbol_docs_example.json"))
        tickers = [{**body, "symbol": p} for p in pairs]
        return httpx.Response(200, json=tickers if "symbols" in params else tickers[0])

    return httpx.MockTransport(handler)


@pytest.mark.asyncio
async def test_an_unknown_pair_splits_the_batch_until_it_is_alone() -> None:
    """8 pairs, one unknown: halves of 4, 2, 1 isolate it; the other 7 are priced."""
    known = {f"C{i}USDT" for i in range(8)} - {"C5USDT"}
    seen: list[list[str]] = []
    symbols = [f"C{i}USDT" for i in range(8)]
    limits = {"binance": ProviderLimits(batch_size=20)}  # unpaced for the test
    async with httpx.AsyncClient(transport=_binance_exchange(known, seen)) as client:
        results = await fetch_quotes(symbols, provider="binance", client=client, limits=limits)
    assert [r.error for r in results] == [None] * 5 + ["not found"] + [None] * 2
    assert [len(s) for s in seen] == [8, 4, 4, 2, 2, 1, 1]  # 8 fails, [4..7] fails, [4,5] ...
    assert seen[-2:] in ([["C4USDT"], ["C5USDT"]], [["C5USDT"], ["C4USDT"]])


@pytest.mark.asyncio
async def test_binance_batches_are_paced_by_weight() -> None:
    """40 pairs in batches of 20 cost 2 + 2 weight; the pacer counts weight, not symbols."""
    known = {f"C{i}USDT" for i in range(40)}
    seen: list[list[str]] = []
    guards = Guards(limits={"binance": ProviderLimits(rate=1000.0, burst=1000.0, batch_size=20)})
    async with httpx.AsyncClient(transport=_binance_exchange(known, seen)) as client:
        results = await fetch_quotes(
            sorted(known), provider="binance", client=client, guards=guards
        )
    assert all(r.ok for r in results)
    assert sorted(len(s) for s in seen) == [20, 20]
    pacer = guards.get(get_provider("binance")).pacer
    assert sum(cost for _, cost in pacer._answers) == 4.0


# -- coingecko ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_coingecko_asks_every_id_and_vs_currency_in_one_request() -> None:
    """ids=ethereum,olympus,no-such-coin; a missing id is that symbol's 'not found'."""
    recorder = Recorder(fixture_reply("coingecko_simple_price_multi.json"))
    async with recorder.client() as client:
        results = await CoinGeckoProvider().fetch_quotes(client, ["ETH", "olympus", "no-such-coin"])
    query = urllib.parse.parse_qs(recorder.url.query.decode())
    assert query["ids"] == ["ethereum,olympus,no-such-coin"]
    assert query["vs_currencies"] == ["usd"]
    eth = results["ETH"]
    assert isinstance(eth, Quote)
    assert (eth.price, eth.currency) == (3015.64, "USD")
    olympus = results["olympus"]
    assert isinstance(olympus, Quote)
    assert olympus.price == 30.3
    assert isinstance(results["no-such-coin"], SymbolNotFound)


@pytest.mark.asyncio
async def test_coingecko_mixed_vs_currencies_share_one_request() -> None:
    """BTC and BTC-EUR: one request for bitcoin in usd,eur; each symbol reads its own."""
    recorder = Recorder(json_reply({"bitcoin": {"usd": 67187.0, "eur": 61830.5}}))
    async with recorder.client() as client:
        results = await CoinGeckoProvider().fetch_quotes(client, ["BTC", "BTC-EUR"])
    query = urllib.parse.parse_qs(recorder.url.query.decode())
    assert (query["ids"], query["vs_currencies"]) == (["bitcoin"], ["usd,eur"])
    usd, eur = results["BTC"], results["BTC-EUR"]
    assert isinstance(usd, Quote)
    assert isinstance(eur, Quote)
    assert (usd.price, usd.currency, eur.price, eur.currency) == (67187.0, "USD", 61830.5, "EUR")


@pytest.mark.asyncio
async def test_coingecko_a_rate_limit_body_is_paced_not_failed() -> None:
    """A 429 with the JSON status body, then the prices: every symbol priced, no retries spent."""
    replies = [
        fixture_reply("coingecko_error_429.json", status=429, **{"retry-after": "0.2"}),
        fixture_reply("coingecko_simple_price_multi.json"),
    ]
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        reply = replies[min(len(requests) - 1, 1)]
        return httpx.Response(reply.status, content=reply.body, headers=reply.headers)

    limits = {"coingecko": ProviderLimits(batch_size=100)}
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        results = await fetch_quotes(
            ["ETH", "olympus"], provider="coingecko", client=client, limits=limits, retries=0
        )
    assert [r.error for r in results] == [None, None]
    assert len(requests) == 2
