"""Binance spot API: crypto quotes (``ticker/24hr``) and daily klines, no key.

Quirks handled:

- Prices and volumes arrive as decimal strings (``"29331.69000000"``); times as Unix
  milliseconds (the ccxt recordings even store the integer fields as strings).
- An unknown pair is HTTP 400 ``{"code": -1121, "msg": "Invalid symbol."}``, not 404.
- 429 means slow down and 418 means the IP is banned for ignoring 429s; both carry
  ``Retry-After`` and both are ``RateLimited``.
- Symbols may be written ``BTCUSDT``, ``btcusdt``, ``BTC-USDT`` or ``BTC/USDT``; the request
  uses Binance's form and the answer keeps the caller's spelling.

Conventions (documented in README "Quote providers"):

- ``volume`` is in the quote currency (``quoteVolume``; kline field 7), as Yahoo and
  CoinGecko report crypto volume, so it is comparable across providers.
- ``currency`` comes from the pair's suffix. USD stablecoins (USDT, USDC, FDUSD, BUSD, TUSD,
  USDP, DAI) are reported as ``USD``: a 1:1 peg is assumed so crypto values in a USD portfolio
  need no FX rate. Other suffixes (EUR, TRY, BTC, ETH, BNB, ...) are reported as they are.
- Batches: ``ticker/24hr?symbols=["BTCUSDT","ETHUSDT"]`` answers many pairs in one request.
  Binance weighs it 2 for 1-20 symbols, 40 for 21-100 and 80 above, so batches hold
  :data:`BATCH_SIZE` (20) pairs: a tenth of the weight of asking one by one. One unknown pair
  fails the whole request (-1121), and the engine splits the batch until it finds it.
- Pacing counts request weight, as Binance does: a one-pair ticker and a ``klines`` request
  weigh 2 (:data:`KLINES_WEIGHT`, charged through ``history_cost``), a batch by the table above.
- A daily kline's date is its UTC open day. One request returns at most 1,000 klines
  (about 2.7 years); longer ranges come back truncated to their first 1,000 days.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx

from workbench.errors import MalformedResponse, QuoteError, RateLimited, SymbolNotFound
from workbench.quotes.base import Bar, History, Quote, check_status, json_body, parse_retry_after
from workbench.quotes.providers._common import (
    as_list,
    as_mapping,
    epoch_ms,
    from_epoch_ms,
    join_url,
    malformed,
    optional_float,
    outside,
    require_symbol,
    send,
    to_float,
    try_json,
    utc_day_of_ms,
)

NAME = "binance"
DEFAULT_BASE_URL = "https://api.binance.com"
#: Binance allows 6,000 request weight per minute per IP (``REQUEST_WEIGHT`` in exchangeInfo);
#: ticker/24hr for one symbol and klines each weigh 2. Use half of it (50 weight a second):
#: other tools share the IP.
DEFAULT_RATE_LIMIT = 50.0
#: the request weight of one ``klines`` request (any ``limit`` up to 1,000), as Binance counts it
KLINES_WEIGHT = 2.0
#: pairs per ``ticker/24hr?symbols=`` request (the most that still weighs 2)
BATCH_SIZE = 20
#: Binance's maximum ``limit`` for klines.
MAX_KLINES = 1000
#: Binance error code for an unknown pair.
INVALID_SYMBOL = -1121

TICKER_PATH = "/api/v3/ticker/24hr"
KLINES_PATH = "/api/v3/klines"

_USD_STABLECOINS = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "DAI")
_OTHER_QUOTES = (
    "EUR", "GBP", "TRY", "BRL", "JPY", "AUD", "ARS", "MXN", "PLN", "RON", "UAH", "ZAR",
    "IDR", "COP", "CZK", "USD", "BTC", "ETH", "BNB", "XRP", "DOGE", "TRX", "SOL",
)  # fmt: skip
# Longest first, so BTCFDUSD is FDUSD (not USD) and ETHBTC is BTC.
_QUOTE_SUFFIXES = sorted(set(_USD_STABLECOINS + _OTHER_QUOTES), key=len, reverse=True)


def pair(symbol: str) -> str:
    """Binance's spelling of a pair: ``btc-usdt`` and ``BTC/USDT`` become ``BTCUSDT``."""
    return symbol.replace("-", "").replace("/", "").replace("_", "").strip().upper()


def quote_currency(symbol: str) -> str | None:
    """The currency a pair is priced in, from its suffix; USD stablecoins count as ``USD``.

    Returns None when the suffix is not a known quote asset (or the pair is only a suffix).
    """
    name = pair(symbol)
    for suffix in _QUOTE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return "USD" if suffix in _USD_STABLECOINS else suffix
    return None


def parse_ticker(symbol: str, payload: object) -> Quote:
    """A quote from a ``ticker/24hr`` body: last price, quote-currency volume, close time."""
    with malformed(NAME, symbol):
        ticker = as_mapping(payload)
        close_time = ticker.get("closeTime")
        return Quote(
            symbol=symbol,
            price=to_float(ticker["lastPrice"]),
            currency=quote_currency(str(ticker.get("symbol") or symbol)),
            volume=optional_float(ticker.get("quoteVolume")),
            time=None if close_time is None else from_epoch_ms(close_time),
            provider=NAME,
        )


def parse_klines(
    symbol: str,
    payload: object,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> History:
    """Daily bars from a ``klines`` body (rows of ``[openTime, open, high, low, close, volume,
    closeTime, quoteVolume, ...]``), dated by UTC open day, limited to ``[start, end]``."""
    with malformed(NAME, symbol):
        bars = []
        for row in as_list(payload):
            row = as_list(row)
            day = utc_day_of_ms(row[0])
            if outside(day, start, end):
                continue
            bars.append(
                Bar(
                    date=day,
                    open=to_float(row[1]),
                    high=to_float(row[2]),
                    low=to_float(row[3]),
                    close=to_float(row[4]),
                    volume=to_float(row[7]),
                )
            )
        bars.sort(key=lambda bar: bar.date)
        return History(symbol=symbol, currency=quote_currency(symbol), provider=NAME, bars=bars)


def ticker_weight(count: int) -> float:
    """The request weight of ``ticker/24hr`` for ``count`` symbols (Binance's published table)."""
    if count <= 20:
        return 2.0
    if count <= 100:
        return 40.0
    return 80.0


def parse_tickers(symbols: list[str], payload: object) -> dict[str, Quote | QuoteError]:
    """Each requested pair's quote from a ``ticker/24hr?symbols=`` array (matched by pair)."""
    with malformed(NAME, f"batch of {len(symbols)}"):
        tickers = as_list(payload)
        by_pair = {str(as_mapping(t).get("symbol", "")).upper(): t for t in tickers}
    results: dict[str, Quote | QuoteError] = {}
    for symbol in symbols:
        ticker = by_pair.get(pair(symbol))
        if ticker is None:
            continue
        try:
            results[symbol] = parse_ticker(symbol, ticker)
        except MalformedResponse as exc:
            results[symbol] = exc
    return results


def raise_for_error(response: httpx.Response, symbol: str) -> None:
    """Map a failed Binance response: -1121 is ``SymbolNotFound``, 418/429 ``RateLimited``."""
    status = response.status_code
    if status < 400:
        return
    if status in (418, 429):
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        what = "IP banned for ignoring rate limits" if status == 418 else "rate limited"
        raise RateLimited(f"{NAME}: {what} (HTTP {status})", retry_after=retry_after)
    body = try_json(response)
    if isinstance(body, dict) and "code" in body and status < 500:
        message = str(body.get("msg") or "")
        if body["code"] == INVALID_SYMBOL:
            raise SymbolNotFound(f"{NAME}: {symbol}: {message or 'invalid symbol'}")
        raise QuoteError(f"{NAME}: {symbol}: HTTP {status}: {message} (code {body['code']})")
    check_status(response, provider=NAME, symbol=symbol)


class BinanceProvider:
    """Binance spot: last price, 24 h quote volume and daily klines of crypto pairs.

    Example:
        >>> provider = BinanceProvider()
        >>> # await provider.fetch_quote(client, "BTC-USDT") asks
        >>> # https://api.binance.com/api/v3/ticker/24hr?symbol=BTCUSDT
    """

    in_process = False
    #: what one history (``klines``) request costs against the rate limit, in request weight
    history_cost = KLINES_WEIGHT

    def __init__(
        self,
        *,
        base_url: str | None = None,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.name = NAME
        self.base_url = base_url or DEFAULT_BASE_URL
        #: request weight per second (Binance counts weight, not requests)
        self.rate_limit = rate_limit
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return f"BinanceProvider(base_url={self.base_url!r})"

    async def _get(
        self, client: httpx.AsyncClient, symbol: str, path: str, params: dict[str, str | int]
    ) -> object:
        url = join_url(self.base_url, path)
        response = await send(client, url, provider=NAME, symbol=symbol, params=params)
        raise_for_error(response, symbol)
        return json_body(response, provider=NAME, symbol=symbol)

    async def fetch_quote(self, client: httpx.AsyncClient, symbol: str) -> Quote:
        """One ``ticker/24hr`` request for the last price of the pair ``symbol``."""
        symbol = require_symbol(symbol, provider=NAME)
        payload = await self._get(client, symbol, TICKER_PATH, {"symbol": pair(symbol)})
        return parse_ticker(symbol, payload)

    def request_cost(self, count: int) -> float:
        """The request weight of a ticker request for ``count`` pairs."""
        return ticker_weight(count)

    async def fetch_quotes(
        self, client: httpx.AsyncClient, symbols: list[str]
    ) -> dict[str, Quote | QuoteError]:
        """One ``ticker/24hr?symbols=[...]`` request for the last prices of ``symbols``."""
        wanted = [s for s in symbols if s.strip()]
        pairs = list(dict.fromkeys(pair(s) for s in wanted))
        if not pairs:
            return {}
        label = f"batch of {len(pairs)}"
        params: dict[str, str | int] = {"symbols": json.dumps(pairs, separators=(",", ":"))}
        payload = await self._get(client, label, TICKER_PATH, params)
        return parse_tickers(wanted, payload)

    async def fetch_history(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> History:
        """One ``klines`` request for daily bars from ``start`` to ``end`` inclusive (UTC days)."""
        symbol = require_symbol(symbol, provider=NAME)
        if end < start:
            return History(symbol=symbol, currency=quote_currency(symbol), provider=NAME)
        params: dict[str, str | int] = {
            "symbol": pair(symbol),
            "interval": "1d",
            "startTime": epoch_ms(start),
            # the last millisecond of ``end``: klines opening after it are not wanted
            "endTime": epoch_ms(end + dt.timedelta(days=1)) - 1,
            "limit": MAX_KLINES,
        }
        payload = await self._get(client, symbol, KLINES_PATH, params)
        return parse_klines(symbol, payload, start=start, end=end)


__all__ = [
    "DEFAULT_BASE_URL",
    "KLINES_WEIGHT",
    "BinanceProvider",
    "pair",
    "parse_klines",
    "parse_ticker",
    "parse_tickers",
    "quote_currency",
    "ticker_weight",
]
