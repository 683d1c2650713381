"""Yahoo Finance v8 chart API: latest quotes and unadjusted daily history, no key.

One endpoint serves both: ``GET {base}/v8/finance/chart/{symbol}``. The quote comes from the
chart's ``meta`` (``regularMarketPrice``, ``regularMarketVolume``, ``regularMarketTime``); the
history from its ``timestamp`` and ``indicators.quote[0]`` arrays.

Quirks handled (see ``tests/fixtures/providers/README.md`` for the recordings):

- Bars whose fields are all ``null`` (holidays, gaps) are dropped.
- A range with no trading has no ``timestamp`` key at all: an empty History, not an error.
- Unknown or delisted symbols answer 404 with ``chart.error``; rate limits answer 429 with a
  ``text/plain`` body (``Edge: Too Many Requests``), which must not be parsed as JSON.
- London (``GBp``), Johannesburg (``ZAc``) and Tel Aviv (``ILA``) quote in minor units; prices
  are converted to the major currency (``GBP`` etc.).
- Bar timestamps are the exchange's open in UTC; the bar's date is taken in the exchange's own
  time zone (``exchangeTimezoneName``), so Sydney's 10:00 open is not the previous UTC day.
- Yahoo's ``open/high/low/close/volume`` are split-adjusted for every split up to today (the
  AAPL recording's ``chartPreviousClose`` of 124.808 is 499.23 / 4). Workbench stores prices
  as traded, so history requests run from ``start`` to now with ``events=split`` and undo each
  later split; bars after ``end`` are then dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from workbench.errors import QuoteError, SymbolNotFound
from workbench.quotes.base import Bar, History, Quote, check_status, json_body
from workbench.quotes.providers._common import (
    as_list,
    as_mapping,
    epoch_seconds,
    exchange_zone,
    from_epoch_seconds,
    join_url,
    last_per_day,
    major_currency,
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

NAME = "yahoo"
DEFAULT_BASE_URL = "https://query1.finance.yahoo.com"
#: Yahoo publishes no limit; bursts of a few per second draw 429s, so stay well below.
DEFAULT_RATE_LIMIT = 2.0
#: Yahoo answers some clients' default user agents with 429; a browser-style one is accepted.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) workbench"

_PRICE_FIELDS = ("open", "high", "low", "close")


def chart_path(symbol: str) -> str:
    """The request path of the chart endpoint for ``symbol``."""
    return f"/v8/finance/chart/{path_segment(symbol)}"


def _chart_result(symbol: str, payload: object) -> Mapping[str, Any]:
    """The single ``chart.result[0]`` object, or the error the body reports."""
    chart = as_mapping(as_mapping(payload)["chart"])
    error = chart.get("error")
    if error:
        error = as_mapping(error)
        code = str(error.get("code") or "")
        description = str(error.get("description") or code or "error")
        if code == "Not Found":
            raise SymbolNotFound(f"{NAME}: {symbol}: {description}")
        raise QuoteError(f"{NAME}: {symbol}: {description}")
    results = chart.get("result")
    if not results:
        raise SymbolNotFound(f"{NAME}: {symbol}: no chart data")
    return as_mapping(as_list(results)[0])


def parse_chart_quote(symbol: str, payload: object) -> Quote:
    """The latest quote from a v8 chart body (its ``meta`` block).

    Raises:
        SymbolNotFound: the body carries ``chart.error`` "Not Found" or no result.
        MalformedResponse: ``meta`` lacks a numeric ``regularMarketPrice``.
    """
    with malformed(NAME, symbol):
        meta = as_mapping(_chart_result(symbol, payload)["meta"])
        currency, divisor = major_currency(meta.get("currency"))
        market_time = meta.get("regularMarketTime")
        return Quote(
            symbol=symbol,
            price=to_float(meta["regularMarketPrice"]) / divisor,
            currency=currency,
            volume=optional_float(meta.get("regularMarketVolume")),
            time=None if market_time is None else from_epoch_seconds(market_time),
            provider=NAME,
        )


def _split_days(result: Mapping[str, Any], zone: dt.tzinfo) -> list[tuple[dt.date, float]]:
    """Each split in the body as (first trading day at the new ratio, new/old)."""
    events = result.get("events") or {}
    splits = as_mapping(as_mapping(events).get("splits") or {})
    out = []
    for split in splits.values():
        split = as_mapping(split)
        numerator = to_float(split["numerator"])
        denominator = to_float(split["denominator"])
        if numerator <= 0 or denominator <= 0:
            raise ValueError(f"bad split ratio {numerator}:{denominator}")
        when = dt.datetime.fromtimestamp(to_int(split["date"]), tz=zone).date()
        out.append((when, numerator / denominator))
    return out


def parse_chart_history(
    symbol: str,
    payload: object,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> History:
    """Unadjusted daily bars from a v8 chart body, oldest first, limited to ``[start, end]``.

    Bars without a close are dropped; a body without ``timestamp`` gives no bars. Prices are
    multiplied (and volumes divided) by every split dated after the bar, undoing Yahoo's
    split adjustment as far as the body's ``events.splits`` reach.
    """
    with malformed(NAME, symbol):
        result = _chart_result(symbol, payload)
        meta = as_mapping(result["meta"])
        currency, divisor = major_currency(meta.get("currency"))
        timestamps = result.get("timestamp")
        if not timestamps:
            return History(symbol=symbol, currency=currency, provider=NAME, bars=[])
        timestamps = as_list(timestamps)
        count = len(timestamps)
        quote = as_mapping(as_list(as_mapping(result["indicators"])["quote"])[0])

        def column(name: str) -> list[Any]:
            values = quote.get(name)
            if values is None:
                return [None] * count
            values = as_list(values)
            if len(values) != count:
                raise ValueError(f"{name} has {len(values)} values for {count} timestamps")
            return values

        prices = {name: column(name) for name in _PRICE_FIELDS}
        volumes = column("volume")
        zone = exchange_zone(meta.get("exchangeTimezoneName"), meta.get("gmtoffset"))
        splits = _split_days(result, zone)
        dated: list[tuple[dt.date, Bar]] = []
        for i, stamp in enumerate(timestamps):
            if prices["close"][i] is None:
                continue
            day = dt.datetime.fromtimestamp(to_int(stamp), tz=zone).date()
            if outside(day, start, end):
                continue
            factor = 1.0
            for split_day, ratio in splits:
                if split_day > day:
                    factor *= ratio
            scale = factor / divisor
            open_, high, low = (optional_float(prices[k][i]) for k in ("open", "high", "low"))
            volume = optional_float(volumes[i])
            bar = Bar(
                date=day,
                open=None if open_ is None else open_ * scale,
                high=None if high is None else high * scale,
                low=None if low is None else low * scale,
                close=to_float(prices["close"][i]) * scale,
                volume=None if volume is None else volume / factor,
            )
            dated.append((day, bar))
        # A live session can repeat today's date with a second, current-time stamp.
        bars = [bar for _, bar in last_per_day(dated)]
        return History(symbol=symbol, currency=currency, provider=NAME, bars=bars)


def _raise_for_status(response: httpx.Response, symbol: str) -> None:
    """Map a failed chart response, reading ``chart.error`` from JSON error bodies."""
    status = response.status_code
    if status < 400:
        return
    if status != 429:
        body = try_json(response)
        chart = body.get("chart") if isinstance(body, dict) else None
        error = chart.get("error") if isinstance(chart, dict) else None
        if isinstance(error, dict):
            description = str(error.get("description") or error.get("code") or "")
            if status == 404 or error.get("code") == "Not Found":
                raise SymbolNotFound(f"{NAME}: {symbol}: {description or 'not found'}")
            if status < 500:
                raise QuoteError(f"{NAME}: {symbol}: HTTP {status}: {description}")
    check_status(response, provider=NAME, symbol=symbol)


class YahooProvider:
    """Yahoo Finance v8 chart: quotes and daily history for stocks, funds, FX, indices, crypto.

    Example:
        >>> provider = YahooProvider(base_url="http://127.0.0.1:9999/mirror")
        >>> # await provider.fetch_quote(client, "AAPL") asks
        >>> # http://127.0.0.1:9999/mirror/v8/finance/chart/AAPL?range=1d&interval=1d
    """

    in_process = False

    def __init__(
        self,
        *,
        base_url: str | None = None,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.name = NAME
        self.base_url = base_url or DEFAULT_BASE_URL
        self.rate_limit = rate_limit
        self._clock = clock

    def __repr__(self) -> str:
        return f"YahooProvider(base_url={self.base_url!r})"

    async def _get(
        self, client: httpx.AsyncClient, symbol: str, params: dict[str, str | int]
    ) -> object:
        url = join_url(self.base_url, chart_path(symbol))
        headers = {"User-Agent": USER_AGENT}
        response = await send(
            client, url, provider=NAME, symbol=symbol, params=params, headers=headers
        )
        _raise_for_status(response, symbol)
        return json_body(response, provider=NAME, symbol=symbol)

    async def fetch_quote(self, client: httpx.AsyncClient, symbol: str) -> Quote:
        """One chart request for the latest quote of ``symbol``."""
        symbol = require_symbol(symbol, provider=NAME)
        payload = await self._get(client, symbol, {"range": "1d", "interval": "1d"})
        return parse_chart_quote(symbol, payload)

    async def fetch_history(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> History:
        """One chart request for unadjusted daily bars from ``start`` to ``end`` inclusive.

        The request runs to now (not to ``end``) so that splits after ``end`` are reported and
        can be undone; see the module docstring.
        """
        symbol = require_symbol(symbol, provider=NAME)
        if end < start:
            return History(symbol=symbol, currency=None, provider=NAME, bars=[])
        period2 = max(epoch_seconds(end + dt.timedelta(days=1)), int(self._clock().timestamp()))
        params: dict[str, str | int] = {
            "period1": epoch_seconds(start),
            "period2": period2,
            "interval": "1d",
            "events": "split",
            "includePrePost": "false",
        }
        payload = await self._get(client, symbol, params)
        return parse_chart_history(symbol, payload, start=start, end=end)


__all__ = [
    "DEFAULT_BASE_URL",
    "YahooProvider",
    "chart_path",
    "parse_chart_history",
    "parse_chart_quote",
]
