"""The workbench quote server API (``workbench quote-server``, and the in-process demo).

``GET {base}/v1/{symbol}`` answers ``{"symbol", "price", "volume", "currency", "time"}``;
``GET {base}/v1/{symbol}/history?start=YYYY-MM-DD&end=YYYY-MM-DD`` answers
``{"symbol", "currency", "bars": [{"date", "open", "high", "low", "close", "volume"}]}``;
unknown symbols get 404 ``{"error": ...}``, and the server's fault flags add 429 with
``Retry-After`` and 503, which :func:`workbench.quotes.base.check_status` maps.

The same class serves two registry entries: ``workbench`` (a server reached over the network,
default ``http://127.0.0.1:8765``) and ``demo`` (``in_process = True``: the engine gives it an
httpx ASGI transport over the bundled app, so its placeholder host is never resolved).
"""

from __future__ import annotations

import datetime as dt

import httpx

from workbench.errors import SymbolNotFound
from workbench.quotes.base import Bar, History, Quote, check_status, json_body
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
    ) -> None:
        self.name = name
        self.base_url = base_url or DEFAULT_BASE_URL
        #: True when the caller must route requests to the bundled app in process
        self.in_process = in_process
        self.rate_limit = rate_limit

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
    "parse_history",
    "parse_quote",
    "quote_path",
]
