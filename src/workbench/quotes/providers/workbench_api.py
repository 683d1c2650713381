"""The workbench quote server API (``workbench quote-server``, and the in-process demo).

``GET {base}/v1/{symbol}`` answers ``{"symbol", "price", "volume", "currency", "time"}``;
``GET {base}/v1/{symbol}/history?start=YYYY-MM-DD&end=YYYY-MM-DD`` answers
``{"symbol", "currency", "bars": [{"date", "open", "high", "low", "close", "volume"}]}``;
unknown symbols get 404 ``{"error": ...}``, and the server's fault flags add 429 with
``Retry-After`` and 503, which :func:`workbench.quotes.base.check_status` maps.
``GET {base}/v1/quotes?symbols=A,B,C`` (up to 500) answers ``{"quotes": [...], "errors":
{"SYM": "not found"}}``: :meth:`WorkbenchApiProvider.fetch_quotes` asks it for a batch
(:data:`BATCH_SIZE` symbols by default). A server without that route (a 404 or 400 for it, or an
answer without ``quotes``) is ``BatchUnsupported``, and the engine goes on one symbol at a time.

The same class serves two registry entries: ``workbench`` (a server reached over the network,
default ``http://127.0.0.1:8765``) and ``demo`` (``in_process = True``: the engine gives it an
httpx ASGI transport over the bundled app, so its placeholder host is never resolved).
"""

from __future__ import annotations

import datetime as dt

import httpx

from workbench.errors import MalformedResponse, QuoteError, SymbolNotFound
from workbench.quotes.base import (
    Bar,
    BatchUnsupported,
    History,
    Quote,
    check_status,
    json_body,
)
from workbench.quotes.providers._common import (
    as_list,
    as_mapping,
    from_epoch_seconds,
    join_url,
    malformed,
    optional_float,
    outside,
    path_segment,
    require_symbol,
    send,
    to_float,
    try_json,
)

NAME = "workbench"
DEFAULT_BASE_URL = "http://127.0.0.1:8765"
DEMO_NAME = "demo"
DEMO_BASE_URL = "http://demo.invalid"
#: symbols per batch request (the server takes up to 500; 100 keeps answers ~10 KB and lets a
#: few hundred symbols still spread over several connections)
BATCH_SIZE = 100
BATCH_PATH = "/v1/quotes"


def quote_path(symbol: str) -> str:
    """The request path of the latest quote of ``symbol``."""
    return f"/v1/{path_segment(symbol)}"


def history_path(symbol: str) -> str:
    """The request path of the daily history of ``symbol``."""
    return f"/v1/{path_segment(symbol)}/history"


def _parse_time(value: object) -> dt.datetime | None:
    """An aware datetime from ISO 8601 text (``Z`` allowed) or Unix seconds; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_epoch_seconds(int(value))
    if not isinstance(value, str):
        raise TypeError(f"time is not text or a number: {value!r}")
    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _currency(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_quote(symbol: str, payload: object, *, provider: str = NAME) -> Quote:
    """A quote from a ``/v1/{symbol}`` body."""
    with malformed(provider, symbol):
        body = as_mapping(payload)
        return Quote(
            symbol=symbol,
            price=to_float(body["price"]),
            currency=_currency(body.get("currency")),
            volume=optional_float(body.get("volume")),
            time=_parse_time(body.get("time")),
            provider=provider,
        )


def parse_history(
    symbol: str,
    payload: object,
    *,
    provider: str = NAME,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> History:
    """Daily bars from a ``/v1/{symbol}/history`` body, oldest first, within ``[start, end]``."""
    with malformed(provider, symbol):
        body = as_mapping(payload)
        bars = []
        for row in as_list(body["bars"]):
            row = as_mapping(row)
            day = dt.date.fromisoformat(str(row["date"])[:10])
            if outside(day, start, end):
                continue
            bars.append(
                Bar(
                    date=day,
                    open=optional_float(row.get("open")),
                    high=optional_float(row.get("high")),
                    low=optional_float(row.get("low")),
                    close=to_float(row["close"]),
                    volume=optional_float(row.get("volume")),
                )
            )
        bars.sort(key=lambda bar: bar.date)
        currency = _currency(body.get("currency"))
        return History(symbol=symbol, currency=currency, provider=provider, bars=bars)


def parse_batch(
    symbols: list[str], payload: object, *, provider: str = NAME
) -> dict[str, Quote | QuoteError]:
    """Each symbol's quote or error from a ``/v1/quotes`` body (symbols matched case-blind).

    A symbol the body does not mention is left out (the engine asks it again on its own).
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("quotes"), list):
        raise BatchUnsupported(f"{provider}: the server has no batch route")
    wanted: dict[str, list[str]] = {}
    for symbol in symbols:
        wanted.setdefault(symbol.upper(), []).append(symbol)
    results: dict[str, Quote | QuoteError] = {}
    for item in payload["quotes"]:
        key = str(item.get("symbol", "")).upper() if isinstance(item, dict) else ""
        for symbol in wanted.get(key, []):
            try:
                results[symbol] = parse_quote(symbol, item, provider=provider)
            except MalformedResponse as exc:
                results[symbol] = exc
    errors = payload.get("errors")
    if isinstance(errors, dict):
        for key, reason in errors.items():
            for symbol in wanted.get(str(key).upper(), []):
                if str(reason).lower() == "not found":
                    results[symbol] = SymbolNotFound(f"{provider}: {symbol}: not found")
                else:
                    results[symbol] = QuoteError(f"{provider}: {symbol}: {reason}")
    return results


class WorkbenchApiProvider:
    """A workbench quote server: ``workbench`` over HTTP, or ``demo`` in process.

    Example:
        >>> WorkbenchApiProvider(base_url="http://127.0.0.1:9999")
        WorkbenchApiProvider(name='workbench', base_url='http://127.0.0.1:9999')
    """

    def __init__(
        self,
        *,
        name: str = NAME,
        base_url: str | None = None,
        in_process: bool = False,
        rate_limit: float | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.name = name
        self.base_url = base_url or DEFAULT_BASE_URL
        #: True when the caller must route requests to the bundled app in process
        self.in_process = in_process
        self.rate_limit = rate_limit
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return f"WorkbenchApiProvider(name={self.name!r}, base_url={self.base_url!r})"

    async def _get(
        self,
        client: httpx.AsyncClient,
        symbol: str,
        path: str,
        params: dict[str, str | int] | None = None,
    ) -> object:
        url = join_url(self.base_url, path)
        response = await send(client, url, provider=self.name, symbol=symbol, params=params)
        if response.status_code == 404:
            body = try_json(response)
            error = body.get("error") if isinstance(body, dict) else None
            raise SymbolNotFound(f"{self.name}: {symbol}: {error or 'not found'}")
        check_status(response, provider=self.name, symbol=symbol)
        return json_body(response, provider=self.name, symbol=symbol)

    async def fetch_quote(self, client: httpx.AsyncClient, symbol: str) -> Quote:
        """One ``GET /v1/{symbol}`` for the latest quote."""
        symbol = require_symbol(symbol, provider=self.name)
        payload = await self._get(client, symbol, quote_path(symbol))
        return parse_quote(symbol, payload, provider=self.name)

    def request_cost(self, count: int) -> float:
        """Every request counts one against a rate limit, whatever its size."""
        del count
        return 1.0

    async def fetch_quotes(
        self, client: httpx.AsyncClient, symbols: list[str]
    ) -> dict[str, Quote | QuoteError]:
        """One ``GET /v1/quotes?symbols=...`` for the latest quotes of ``symbols``.

        Symbols that cannot ride in a comma-separated list (empty, or with a comma) are left
        out of the request and so of the answer; the engine asks for them on their own.
        """
        plain = list(dict.fromkeys(s.strip() for s in symbols if s.strip() and "," not in s))
        if not plain:
            return {}
        label = f"batch of {len(plain)}"
        url = join_url(self.base_url, BATCH_PATH)
        params: dict[str, str | int] = {"symbols": ",".join(plain)}
        response = await send(client, url, provider=self.name, symbol=label, params=params)
        if response.status_code in (400, 404, 405):
            raise BatchUnsupported(
                f"{self.name}: the batch route answered HTTP {response.status_code}"
            )
        check_status(response, provider=self.name, symbol=label)
        payload = json_body(response, provider=self.name, symbol=label)
        answers = parse_batch(plain, payload, provider=self.name)
        return {s: answers[s.strip()] for s in symbols if s.strip() in answers}

    async def fetch_history(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> History:
        """One ``GET /v1/{symbol}/history`` for daily bars from ``start`` to ``end`` inclusive."""
        symbol = require_symbol(symbol, provider=self.name)
        if end < start:
            return History(symbol=symbol, currency=None, provider=self.name)
        params: dict[str, str | int] = {"start": start.isoformat(), "end": end.isoformat()}
        payload = await self._get(client, symbol, history_path(symbol), params)
        return parse_history(symbol, payload, provider=self.name, start=start, end=end)


__all__ = [
    "DEFAULT_BASE_URL",
    "DEMO_BASE_URL",
    "WorkbenchApiProvider",
    "history_path",
    "parse_batch",
    "parse_history",
    "parse_quote",
    "quote_path",
]
