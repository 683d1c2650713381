"""Frankfurter: an open-source API serving the ECB's reference rates, for any base currency.

One request per pair::

    GET {base}/v1/{start}..{end}?base=EUR&symbols=USD

answers ``{"amount": 1.0, "base": "EUR", "start_date", "end_date", "rates": {"2026-03-18":
{"USD": 1.15}, ...}}``. A single day (``/v1/{date}``, ``/v1/latest``) has ``"date"`` and a
flat ``"rates"``; the v2 API answers a list of ``{"date", "base", "quote", "rate"}``. All three
shapes are read. Rates for a base other than EUR are Frankfurter's own cross of two ECB rates.
Errors: 404 ``{"message": "not found"}``; 422 ``{"message": ...}`` for bad parameters.
Ranges longer than :data:`MAX_SPAN_DAYS` are asked in consecutive pieces (Frankfurter has
thinned long series to weekly samples in some versions), one request after the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from workbench.errors import MalformedResponse, QuoteError, SymbolNotFound
from workbench.fx.engine import body_json, get_body, join_url
from workbench.fx.sources import FXSource

if TYPE_CHECKING:
    import httpx

NAME = "frankfurter"
DEFAULT_BASE_URL = "https://api.frankfurter.dev"
#: the longest range asked in one request (days, inclusive)
MAX_SPAN_DAYS = 365


def spans(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """``[start, end]`` cut into consecutive ranges of at most :data:`MAX_SPAN_DAYS` days."""
    out: list[tuple[dt.date, dt.date]] = []
    first = start
    while first <= end:
        last = min(end, first + dt.timedelta(days=MAX_SPAN_DAYS - 1))
        out.append((first, last))
        first = last + dt.timedelta(days=1)
    return out


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:80]
    if isinstance(body, Mapping):
        return str(body.get("message") or body.get("error") or body)[:200]
    return str(body)[:200]


def _rate(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"rate {value!r} is not a number")
    rate = float(value)
    if not 0 < rate < float("inf"):
        raise ValueError(f"rate {value!r} is not positive")
    return rate


def parse_body(payload: object, *, base: str, quote: str) -> list[tuple[dt.date, float]]:
    """Daily ``base -> quote`` rates from a Frankfurter body (v1 series or day, or v2 list).

    Raises:
        MalformedResponse: another shape, another base, a bad date or rate.
    """
    pair = f"{base}/{quote}"
    out: dict[dt.date, float] = {}
    try:
        if isinstance(payload, list):  # v2: [{"date", "base", "quote", "rate"}, ...]
            for item in payload:
                if item["base"] == base and item["quote"] == quote:
                    out[dt.date.fromisoformat(item["date"])] = _rate(item["rate"])
            return sorted(out.items())
        if not isinstance(payload, Mapping):
            raise TypeError(f"expected an object, got {type(payload).__name__}")
        if payload.get("base") != base:
            raise ValueError(f"rates for base {payload.get('base')!r}, not {base}")
        amount = payload.get("amount", 1)
        if amount != 1:
            raise ValueError(f"rates for an amount of {amount!r}, not 1")
        rates: Any = payload["rates"]
        if not isinstance(rates, Mapping):
            raise TypeError("rates is not an object")
        if "date" in payload:  # one day: {"date": ..., "rates": {"USD": 1.15}}
            if quote in rates:
                out[dt.date.fromisoformat(payload["date"])] = _rate(rates[quote])
            return sorted(out.items())
        for day, by_quote in rates.items():
            if not isinstance(by_quote, Mapping):
                raise TypeError(f"rates of {day} is not an object")
            if quote in by_quote:
                out[dt.date.fromisoformat(day)] = _rate(by_quote[quote])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponse(f"{NAME}: {pair}: unexpected response ({exc})") from exc
    return sorted(out.items())


class FrankfurterSource(FXSource):
    """ECB reference rates (and their crosses) from Frankfurter's v1 API."""

    name = NAME
    default_url = DEFAULT_BASE_URL
    rate_limit = 5.0

    async def fetch_rates(
        self, client: httpx.AsyncClient, base: str, quote: str, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, float]]:
        """Time-series requests for ``base -> quote`` from ``start`` to ``end``, a year each."""
        out: dict[dt.date, float] = {}
        for first, last in spans(start, end):
            out.update(await self._fetch_span(client, base, quote, first, last))
        return sorted(out.items())

    async def _fetch_span(
        self, client: httpx.AsyncClient, base: str, quote: str, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, float]]:
        pair = f"{base}/{quote}"

        def not_found(response: httpx.Response) -> Exception:
            return SymbolNotFound(f"{NAME}: {pair}: {_message(response)}")

        def refused(response: httpx.Response) -> Exception:
            return QuoteError(f"{NAME}: {pair}: HTTP 422: {_message(response)}")

        response = await get_body(
            client,
            join_url(self.base_url, f"/v1/{start.isoformat()}..{end.isoformat()}"),
            source=NAME,
            pair=pair,
            params={"base": base, "symbols": quote},
            statuses={404: not_found, 422: refused},
        )
        payload = body_json(response, source=NAME, pair=pair)
        return parse_body(payload, base=base, quote=quote)
