"""Alpha Vantage: ``GLOBAL_QUOTE`` quotes and ``TIME_SERIES_DAILY`` history; needs a key.

Every call is ``GET {base}/query?function=...&symbol=...&apikey=...``. The key comes from the
constructor or ``ALPHAVANTAGE_API_KEY``. Because it rides in the query string it could leak
through messages or httpx's request log, so the provider scrubs it from every error it
raises, never shows it in ``repr``, and installs a log filter on the ``httpx`` logger that
replaces any ``apikey=...`` value with ``<redacted>``.

Quirks handled (errors arrive with HTTP 200; the body decides):

- ``{"Note": ...}`` (the old per-minute throttle) is ``RateLimited`` with a 60 s wait, and
  ``{"Information": ...}`` naming a per-day limit (the current 25-a-day message) is
  ``DailyLimitReached`` (the engine then sends nothing more to it today); an ``Information`` saying an endpoint or option is
  premium is a plain ``QuoteError`` (waiting will not help).
- ``{"Error Message": "Invalid API call..."}`` is ``SymbolNotFound``, unless it is about the key.
- An unknown symbol on ``GLOBAL_QUOTE`` is ``{"Global Quote": {}}`` with no error key at all.
- ``GLOBAL_QUOTE`` has no currency and no time: symbols without an exchange suffix are US
  listings in USD, suffixes map to their exchange's currency (``.TRT`` CAD, ``.DEX`` EUR, ...),
  and ``.LON`` stays unknown because London lines trade in pence, pounds or dollars. ``time``
  is 00:00 UTC of the "latest trading day" (the API gives a date only).
- ``TIME_SERIES_DAILY`` is unadjusted (as traded). ``outputsize=compact`` (the last 100
  trading days) is free; ``full`` is premium, so it is asked for only when ``start`` is older.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Callable, Mapping

import httpx

from workbench.errors import DailyLimitReached, QuoteError, RateLimited, SymbolNotFound
from workbench.quotes.base import Bar, History, Quote, check_status, json_body
from workbench.quotes.providers._common import (
    as_mapping,
    join_url,
    malformed,
    optional_float,
    outside,
    require_symbol,
    send,
    to_float,
    utc_now,
)

NAME = "alphavantage"
DEFAULT_BASE_URL = "https://www.alphavantage.co"
API_KEY_ENV = "ALPHAVANTAGE_API_KEY"
#: The free tier allows 5 calls a minute (and 25 a day, which no steady rate expresses).
DEFAULT_RATE_LIMIT = 5 / 60
QUERY_PATH = "/query"
#: Calendar days ``compact`` (100 trading days) safely covers.
COMPACT_CALENDAR_DAYS = 140
#: Seconds to wait after the per-minute ``Note`` throttle.
NOTE_RETRY_AFTER = 60.0

#: Exchange suffixes Alpha Vantage documents, and the currency their listings trade in.
SUFFIX_CURRENCY: dict[str, str | None] = {
    "LON": None,  # London lines trade in GBX, GBP or USD; the API does not say which
    "TRT": "CAD",
    "TRV": "CAD",
    "DEX": "EUR",
    "BSE": "INR",
    "SHH": "CNY",
    "SHZ": "CNY",
}

_REDACTED = "<redacted>"
_APIKEY_IN_TEXT = re.compile(r"(apikey=)[^&\s\"'#]+", re.IGNORECASE)


class _RedactApiKey(logging.Filter):
    """Replace the value of any ``apikey=`` in a log record with ``<redacted>``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "apikey=" in message.lower():
            record.msg = _APIKEY_IN_TEXT.sub(r"\1" + _REDACTED, message)
            record.args = None
        return True


_LOG_FILTER = _RedactApiKey()


def install_log_redaction() -> None:
    """Make the ``httpx`` logger (which logs each request URL at INFO) hide API keys."""
    logger = logging.getLogger("httpx")
    if _LOG_FILTER not in logger.filters:
        logger.addFilter(_LOG_FILTER)


def currency_of(symbol: str) -> str | None:
    """The trading currency implied by an Alpha Vantage symbol (``IBM`` USD, ``SHOP.TRT`` CAD)."""
    stem, dot, suffix = symbol.rpartition(".")
    if not dot or not stem:
        return "USD"
    return SUFFIX_CURRENCY.get(suffix.upper())


def raise_for_body(symbol: str, body: object) -> None:
    """Raise the error an HTTP-200 Alpha Vantage body reports, if any."""
    if not isinstance(body, Mapping):
        return
    if "Note" in body:
        raise RateLimited(f"{NAME}: rate limited (per-minute limit)", retry_after=NOTE_RETRY_AFTER)
    if "Information" in body:
        text = str(body["Information"]).lower()
        if "this is a premium endpoint" in text or "premium feature" in text:
            raise QuoteError(f"{NAME}: {symbol}: needs a premium plan")
        if "per day" in text:
            # remembered in the store: later runs today send nothing (quotes/budget.py)
            raise DailyLimitReached(f"{NAME}: rate limited (daily limit reached)")
        raise RateLimited(f"{NAME}: rate limited (per-minute limit)", retry_after=NOTE_RETRY_AFTER)
    if "Error Message" in body:
        message = str(body["Error Message"])
        if "apikey" in message.lower():
            raise QuoteError(f"{NAME}: API key missing or invalid (set {API_KEY_ENV})")
        raise SymbolNotFound(f"{NAME}: {symbol}: {message}")


def parse_global_quote(symbol: str, payload: object) -> Quote:
    """A quote from a ``GLOBAL_QUOTE`` body; ``{"Global Quote": {}}`` is ``SymbolNotFound``."""
    raise_for_body(symbol, payload)
    with malformed(NAME, symbol):
        fields = as_mapping(as_mapping(payload)["Global Quote"])
        if not fields:
            raise SymbolNotFound(f"{NAME}: {symbol}: unknown symbol (empty Global Quote)")
        day = fields.get("07. latest trading day")
        return Quote(
            symbol=symbol,
            price=to_float(fields["05. price"]),
            currency=currency_of(symbol),
            volume=optional_float(fields.get("06. volume")),
            time=None if not day else dt.datetime.fromisoformat(f"{day}T00:00:00+00:00"),
            provider=NAME,
        )


def parse_time_series_daily(
    symbol: str,
    payload: object,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> History:
    """Daily bars from a ``TIME_SERIES_DAILY`` body (newest first there), oldest first here."""
    raise_for_body(symbol, payload)
    with malformed(NAME, symbol):
        series = as_mapping(as_mapping(payload)["Time Series (Daily)"])
        bars = []
        for day_text, row in series.items():
            day = dt.date.fromisoformat(day_text)
            if outside(day, start, end):
                continue
            row = as_mapping(row)
            bars.append(
                Bar(
                    date=day,
                    open=optional_float(row.get("1. open")),
                    high=optional_float(row.get("2. high")),
                    low=optional_float(row.get("3. low")),
                    close=to_float(row["4. close"]),
                    # the premium adjusted series numbers volume "6." instead of "5."
                    volume=optional_float(row.get("5. volume", row.get("6. volume"))),
                )
            )
        bars.sort(key=lambda bar: bar.date)
        return History(symbol=symbol, currency=currency_of(symbol), provider=NAME, bars=bars)


class AlphaVantageProvider:
    """Alpha Vantage: US and listed-abroad equities and funds; the key is kept out of sight.

    Example:
        >>> provider = AlphaVantageProvider(api_key="demo")
        >>> provider
        AlphaVantageProvider(base_url='https://www.alphavantage.co', api_key=<set>)
    """

    in_process = False

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.name = NAME
        self.base_url = base_url or DEFAULT_BASE_URL
        self.rate_limit = rate_limit
        self._api_key = api_key or os.environ.get(API_KEY_ENV) or None
        self._clock = clock
        if self._api_key:
            install_log_redaction()

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"AlphaVantageProvider(base_url={self.base_url!r}, api_key=<{key}>)"

    def _scrub(self, exc: QuoteError) -> None:
        """Remove the key from ``exc``'s message in place (a proxy may echo the URL)."""
        key = self._api_key
        if key and any(key in str(arg) for arg in exc.args):
            exc.args = tuple(str(arg).replace(key, _REDACTED) for arg in exc.args)

    async def _query(
        self, client: httpx.AsyncClient, symbol: str, params: dict[str, str | int]
    ) -> object:
        if not self._api_key:
            raise QuoteError(f"{NAME}: no API key: set {API_KEY_ENV}")
        url = join_url(self.base_url, QUERY_PATH)
        response = await send(
            client, url, provider=NAME, symbol=symbol, params={**params, "apikey": self._api_key}
        )
        check_status(response, provider=NAME, symbol=symbol)
        return json_body(response, provider=NAME, symbol=symbol)

    async def fetch_quote(self, client: httpx.AsyncClient, symbol: str) -> Quote:
        """One ``GLOBAL_QUOTE`` request for the latest price of ``symbol``."""
        try:
            symbol = require_symbol(symbol, provider=NAME)
            params: dict[str, str | int] = {"function": "GLOBAL_QUOTE", "symbol": symbol}
            payload = await self._query(client, symbol, params)
            return parse_global_quote(symbol, payload)
        except QuoteError as exc:
            self._scrub(exc)
            raise

    async def fetch_history(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> History:
        """One ``TIME_SERIES_DAILY`` request for unadjusted bars from ``start`` to ``end``."""
        try:
            symbol = require_symbol(symbol, provider=NAME)
            if end < start:
                return History(symbol=symbol, currency=currency_of(symbol), provider=NAME)
            today = self._clock().astimezone(dt.UTC).date()
            compact = (today - start).days <= COMPACT_CALENDAR_DAYS
            params: dict[str, str | int] = {
                "function": "TIME_SERIES_DAILY",
                "symbol": symbol,
                "outputsize": "compact" if compact else "full",
            }
            payload = await self._query(client, symbol, params)
            return parse_time_series_daily(symbol, payload, start=start, end=end)
        except QuoteError as exc:
            self._scrub(exc)
            raise


__all__ = [
    "DEFAULT_BASE_URL",
    "AlphaVantageProvider",
    "currency_of",
    "parse_global_quote",
    "parse_time_series_daily",
]
