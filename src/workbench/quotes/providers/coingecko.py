"""CoinGecko API: crypto prices (``simple/price``) and daily closes (``coins/{id}/market_chart``).

Symbols are CoinGecko coin ids (``bitcoin``, ``usd-coin``) or common tickers mapped to them
(``BTC`` -> ``bitcoin``, see :data:`TICKER_IDS`); ``BTC-EUR`` picks the quote currency too.
Prices are in ``vs_currency`` (``usd`` unless the provider is built with another).

Quirks handled:

- An unknown id on ``simple/price`` answers HTTP 200 with ``{}``; on ``coins/{id}/...`` it
  answers ``{"error": "Could not find coin with the given id"}``. Both are ``SymbolNotFound``.
- Rate limits are HTTP 429 with ``retry-after`` and a JSON ``status.error_code`` body (older
  ones a Cloudflare HTML page); either way ``RateLimited``.
- ``market_chart`` takes a number of ``days`` back from now, not a date range, and returns
  ``[ms, value]`` samples, not OHLC bars. Each UTC day's close is the last sample at or before
  24:00; a daily sample stamped exactly 00:00 closes the day before. Open, high and low are
  unknown (None); volume is the 24 h volume in ``vs_currency`` at that sample. The keyless
  and demo plans only serve the last 365 days.

Batches: ``simple/price?ids=a,b,c&vs_currencies=usd,eur`` prices many coins in one request
(:data:`BATCH_SIZE` ids, well inside URL limits); an id missing from the answer is that
symbol's ``not found``, as for one request.

Rate limits: keyless use gets "5 to 15 calls a minute" depending on load (10 assumed), the free
demo key 30 a minute, paid (pro-api) keys 500 a minute.

An API key (argument or ``COINGECKO_API_KEY``) is optional; it travels in a header, never in
the URL, and is never shown in ``repr`` or messages.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from workbench.errors import MalformedResponse, QuoteError, RateLimited, SymbolNotFound
from workbench.quotes.base import Bar, History, Quote, check_status, json_body, parse_retry_after
from workbench.quotes.providers._common import (
    as_list,
    as_mapping,
    day_ending_at_ms,
    from_epoch_seconds,
    join_url,
    last_per_day,
    malformed,
    optional_float,
    outside,
    path_segment,
    require_symbol,
    send,
    to_float,
    to_int,
    try_json,
    utc_now,
)

NAME = "coingecko"
DEFAULT_BASE_URL = "https://api.coingecko.com"
API_KEY_ENV = "COINGECKO_API_KEY"
#: Keyless public use is "5 to 15 calls a minute" depending on load; the free demo key 30.
KEYLESS_RATE_LIMIT = 10 / 60
DEMO_KEY_RATE_LIMIT = 30 / 60
PRO_KEY_RATE_LIMIT = 500 / 60
#: coin ids per ``simple/price`` request
BATCH_SIZE = 100

SIMPLE_PRICE_PATH = "/api/v3/simple/price"

#: Common tickers and the CoinGecko ids they mean. Anything else is taken as an id.
TICKER_IDS: dict[str, str] = {
    "BTC": "bitcoin",
    "ETH": "ethereum",
    "USDT": "tether",
    "BNB": "binancecoin",
    "SOL": "solana",
    "XRP": "ripple",
    "USDC": "usd-coin",
    "ADA": "cardano",
    "DOGE": "dogecoin",
    "TRX": "tron",
    "TON": "the-open-network",
    "DOT": "polkadot",
    "POL": "polygon-ecosystem-token",
    "MATIC": "matic-network",
    "LTC": "litecoin",
    "BCH": "bitcoin-cash",
    "LINK": "chainlink",
    "AVAX": "avalanche-2",
    "XLM": "stellar",
    "ATOM": "cosmos",
    "XMR": "monero",
    "ETC": "ethereum-classic",
    "UNI": "uniswap",
    "SHIB": "shiba-inu",
    "DAI": "dai",
    "NEAR": "near",
    "ALGO": "algorand",
    "FIL": "filecoin",
}


def market_chart_path(coin_id: str) -> str:
    """The request path of the market chart of ``coin_id``."""
    return f"/api/v3/coins/{path_segment(coin_id)}/market_chart"


def resolve(symbol: str, *, vs_currency: str = "usd") -> tuple[str, str]:
    """``(coin id, vs currency)`` for a ticker (``BTC``), ``TICKER-VS`` (``BTC-EUR``) or an id."""
    text = symbol.strip()
    base, sep, vs = text.partition("-")
    if sep and base.upper() in TICKER_IDS and vs.isalpha() and 3 <= len(vs) <= 4:
        return TICKER_IDS[base.upper()], vs.lower()
    return TICKER_IDS.get(text.upper(), text.lower()), vs_currency.lower()


def _error_message(body: object) -> str | None:
    """The human text of a CoinGecko error body, in any of its known shapes."""
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, str):
        return error
    status = body.get("status")
    if isinstance(error, Mapping):
        status = error.get("status", status)
    if isinstance(status, Mapping) and status.get("error_message"):
        return str(status["error_message"])
    return None


def _raise_for_body(symbol: str, body: object) -> None:
    """Raise for an error body, whatever HTTP status it came with."""
    if not isinstance(body, Mapping):
        return
    status = body.get("status")
    if isinstance(status, Mapping) and status.get("error_code") == 429:
        raise RateLimited(f"{NAME}: rate limited")
    if isinstance(body.get("error"), str):
        message = body["error"]
        if "could not find coin" in message.lower():
            raise SymbolNotFound(f"{NAME}: {symbol}: {message}")
        raise QuoteError(f"{NAME}: {symbol}: {message}")


def simple_price_params(ids: list[str], currencies: list[str]) -> dict[str, str | int]:
    """The ``simple/price`` query for coin ``ids`` in ``currencies``, with volume and time."""
    return {
        "ids": ",".join(ids),
        "vs_currencies": ",".join(currencies),
        "include_24hr_vol": "true",
        "include_last_updated_at": "true",
    }


def parse_simple_price(
    symbol: str, payload: object, *, coin_id: str | None = None, vs_currency: str | None = None
) -> Quote:
    """A quote from a ``simple/price`` body; ``{}`` (unknown id) is ``SymbolNotFound``.

    ``coin_id`` and ``vs_currency`` default to what :func:`resolve` makes of ``symbol``.
    """
    default_id, default_vs = resolve(symbol)
    coin_id = coin_id or default_id
    vs = (vs_currency or default_vs).lower()
    _raise_for_body(symbol, payload)
    with malformed(NAME, symbol):
        entry = as_mapping(payload).get(coin_id)
        if not entry:
            raise SymbolNotFound(f"{NAME}: {symbol}: unknown coin id {coin_id!r}")
        entry = as_mapping(entry)
        if entry.get(vs) is None:
            raise SymbolNotFound(f"{NAME}: {symbol}: no price in {vs}")
        updated = entry.get("last_updated_at")
        return Quote(
            symbol=symbol,
            price=to_float(entry[vs]),
            currency=vs.upper(),
            volume=optional_float(entry.get(f"{vs}_24h_vol")),
            time=None if updated is None else from_epoch_seconds(updated),
            provider=NAME,
        )


def parse_market_chart(
    symbol: str,
    payload: object,
    *,
    vs_currency: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> History:
    """Daily closes from a ``market_chart`` body, oldest first, limited to ``[start, end]``.

    See the module docstring for how samples become bars.
    """
    vs = (vs_currency or resolve(symbol)[1]).upper()
    _raise_for_body(symbol, payload)
    with malformed(NAME, symbol):
        body = as_mapping(payload)
        volumes: dict[int, Any] = {}
        for sample in as_list(body.get("total_volumes") or []):
            stamp, value = as_list(sample)[:2]
            volumes[to_int(stamp)] = value
        samples: list[tuple[int, Bar]] = []
        for sample in as_list(body["prices"]):
            stamp, value = as_list(sample)[:2]
            if value is None:
                continue
            day = day_ending_at_ms(stamp)
            if outside(day, start, end):
                continue
            volume = optional_float(volumes.get(to_int(stamp)))
            bar = Bar(
                date=day, open=None, high=None, low=None, close=to_float(value), volume=volume
            )
            samples.append((to_int(stamp), bar))
        samples.sort(key=lambda pair: pair[0])  # the last sample of each day is its close
        bars = [bar for _, bar in last_per_day((b.date, b) for _, b in samples)]
        return History(symbol=symbol, currency=vs, provider=NAME, bars=bars)


class CoinGeckoProvider:
    """CoinGecko: prices and daily closes of coins by id or ticker, in one ``vs_currency``.

    Example:
        >>> provider = CoinGeckoProvider()
        >>> provider.base_url
        'https://api.coingecko.com'
        >>> # await provider.fetch_quote(client, "BTC") asks .../api/v3/simple/price?ids=bitcoin...
    """

    in_process = False

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        vs_currency: str = "usd",
        rate_limit: float | None = None,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.name = NAME
        self.base_url = base_url or DEFAULT_BASE_URL
        self._api_key = api_key or os.environ.get(API_KEY_ENV) or None
        self.vs_currency = vs_currency.lower()
        if rate_limit is None:
            if not self._api_key:
                rate_limit = KEYLESS_RATE_LIMIT
            elif "pro-api." in self.base_url:
                rate_limit = PRO_KEY_RATE_LIMIT
            else:
                rate_limit = DEMO_KEY_RATE_LIMIT
        self.rate_limit: float | None = rate_limit
        self.batch_size = batch_size
        self._clock = clock

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"CoinGeckoProvider(base_url={self.base_url!r}, api_key=<{key}>)"

    def _headers(self) -> dict[str, str]:
        if not self._api_key:
            return {}
        # Pro keys only work on the pro host, demo keys only on the public one.
        header = "x-cg-pro-api-key" if "pro-api." in self.base_url else "x-cg-demo-api-key"
        return {header: self._api_key}

    async def _get(
        self, client: httpx.AsyncClient, symbol: str, path: str, params: dict[str, str | int]
    ) -> object:
        url = join_url(self.base_url, path)
        response = await send(
            client, url, provider=NAME, symbol=symbol, params=params, headers=self._headers()
        )
        status = response.status_code
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise RateLimited(f"{NAME}: rate limited (HTTP 429)", retry_after=retry_after)
        if 400 <= status < 500:
            body = try_json(response)
            _raise_for_body(symbol, body)
            message = _error_message(body)
            if message and status != 404:
                raise QuoteError(f"{NAME}: {symbol}: HTTP {status}: {message}")
        check_status(response, provider=NAME, symbol=symbol)
        return json_body(response, provider=NAME, symbol=symbol)

    async def fetch_quote(self, client: httpx.AsyncClient, symbol: str) -> Quote:
        """One ``simple/price`` request for the price of ``symbol`` in its vs currency."""
        symbol = require_symbol(symbol, provider=NAME)
        coin_id, vs = resolve(symbol, vs_currency=self.vs_currency)
        params = simple_price_params([coin_id], [vs])
        payload = await self._get(client, symbol, SIMPLE_PRICE_PATH, params)
        return parse_simple_price(symbol, payload, coin_id=coin_id, vs_currency=vs)

    def request_cost(self, count: int) -> float:
        """Every request counts one against the limit, whatever its size."""
        del count
        return 1.0

    async def fetch_quotes(
        self, client: httpx.AsyncClient, symbols: list[str]
    ) -> dict[str, Quote | QuoteError]:
        """One ``simple/price`` request for every symbol's coin, in every vs currency asked."""
        wanted = {s: resolve(s, vs_currency=self.vs_currency) for s in symbols if s.strip()}
        if not wanted:
            return {}
        ids = list(dict.fromkeys(coin for coin, _ in wanted.values()))
        currencies = list(dict.fromkeys(vs for _, vs in wanted.values()))
        label = f"batch of {len(ids)}"
        params = simple_price_params(ids, currencies)
        payload = await self._get(client, label, SIMPLE_PRICE_PATH, params)
        _raise_for_body(label, payload)
        if not isinstance(payload, Mapping):
            raise MalformedResponse(f"{NAME}: {label}: expected an object")
        results: dict[str, Quote | QuoteError] = {}
        for symbol, (coin_id, vs) in wanted.items():
            try:
                results[symbol] = parse_simple_price(
                    symbol, payload, coin_id=coin_id, vs_currency=vs
                )
            except (SymbolNotFound, MalformedResponse) as exc:
                results[symbol] = exc
        return results

    async def fetch_history(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> History:
        """One ``market_chart`` request for daily closes from ``start`` to ``end`` inclusive.

        ``days`` counts back from today (UTC) to cover ``start``; samples outside the range
        are dropped.
        """
        symbol = require_symbol(symbol, provider=NAME)
        coin_id, vs = resolve(symbol, vs_currency=self.vs_currency)
        today = self._clock().astimezone(dt.UTC).date()
        if end < start or start > today:
            return History(symbol=symbol, currency=vs.upper(), provider=NAME)
        # +1: the close of ``start`` is the sample at 00:00 of the day after it, and one
        # more day keeps that sample inside the window whatever the time of day now.
        params: dict[str, str | int] = {
            "vs_currency": vs,
            "days": (today - start).days + 1,
            "interval": "daily",
        }
        payload = await self._get(client, symbol, market_chart_path(coin_id), params)
        return parse_market_chart(symbol, payload, vs_currency=vs, start=start, end=end)


__all__ = [
    "DEFAULT_BASE_URL",
    "TICKER_IDS",
    "CoinGeckoProvider",
    "market_chart_path",
    "parse_market_chart",
    "parse_simple_price",
    "resolve",
]
