"""Synthetic, deterministic daily FX rates, and the quote server route that serves them.

The bundled quote server answers::

    GET /fx/{BASE}/{QUOTE}/history?start=YYYY-MM-DD&end=YYYY-MM-DD
    -> {"base": "EUR", "quote": "USD", "source": "demo",
        "rates": [{"date": "2024-01-02", "rate": 1.0874}, ...]}

Rates are published on weekdays only (as the ECB's are), never after today, and rounded to
six significant digits. Each currency's ``EUR -> X`` rate is a level near its 2024 value moved
by two slow waves and a small daily wiggle, all functions of (seed, currency, date) alone: the
same request always gets the same numbers, on any machine, and any pair is the exact cross
of its two euro legs before rounding (``USD/JPY = EUR/JPY / EUR/USD``). They are synthetic
(for the demo and tests), not market data. Unknown currencies get 404 ``{"error": ...}``; bad
dates 400. The quote server's latency and fault settings apply to this route too (a
``malformed_symbols`` entry such as ``EUR/USD`` gets a body that is not JSON).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

#: EUR -> X levels the synthetic paths move around (roughly their 2024 averages)
EUR_LEVELS: dict[str, float] = {
    "EUR": 1.0, "USD": 1.08, "GBP": 0.85, "JPY": 163.0, "CHF": 0.95, "CAD": 1.47,
    "AUD": 1.64, "NZD": 1.79, "SEK": 11.4, "NOK": 11.6, "DKK": 7.46, "PLN": 4.31,
    "CZK": 25.1, "HUF": 395.0, "ZAR": 19.8, "ILS": 4.0, "CNY": 7.79, "HKD": 8.44,
    "SGD": 1.45, "INR": 90.0, "KRW": 1475.0, "MXN": 19.8, "BRL": 5.83, "TRY": 35.5,
}  # fmt: skip

#: the longest range one request may ask for (days)
MAX_DAYS = 20_000

PATH = "/fx/{base}/{quote}/history"
_EPOCH = dt.date(2000, 1, 1)


def _unit(*parts: object) -> float:
    """A number in [0, 1) determined by ``parts`` alone (not by PYTHONHASHSEED)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def eur_rate(currency: str, day: dt.date, *, seed: int = 7) -> float:
    """The synthetic ``EUR -> currency`` rate on ``day`` (unrounded); EUR is 1.

    Raises:
        KeyError: a currency without a synthetic path.
    """
    level = EUR_LEVELS[currency]
    if currency == "EUR":
        return 1.0
    t = (day - _EPOCH).days
    phase_slow = 2 * math.pi * _unit(seed, currency, "slow")
    phase_year = 2 * math.pi * _unit(seed, currency, "year")
    wiggle = _unit(seed, currency, day.toordinal()) - 0.5
    log_move = (
        0.08 * math.sin(2 * math.pi * t / 1461.0 + phase_slow)
        + 0.03 * math.sin(2 * math.pi * t / 365.25 + phase_year)
        + 0.008 * wiggle
    )
    return level * math.exp(log_move)


def _round(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")


def demo_rates(
    base: str, quote: str, start: dt.date, end: dt.date, *, seed: int = 7
) -> list[tuple[dt.date, float]]:
    """Weekday rates ``1 base = rate quote`` from ``start`` to ``end``, rounded to 6 digits.

    Raises:
        KeyError: a currency without a synthetic path.
    """
    for code in (base, quote):
        if code not in EUR_LEVELS:
            raise KeyError(code)
    out: list[tuple[dt.date, float]] = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            rate = eur_rate(quote, day, seed=seed) / eur_rate(base, day, seed=seed)
            out.append((day, _round(rate)))
        day += dt.timedelta(days=1)
    return out


def requested_span(
    start: str | None, end: str | None, *, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The (start, end) of a demo history request: ``end`` defaults to today and ``start`` to
    30 days before ``end``; used by the FX route here and the quote server's history route.

    Raises:
        ValueError: the 400 answer's text (a date that is not YYYY-MM-DD, end before start).
    """
    try:
        last = dt.date.fromisoformat(end) if end is not None else today
        first = dt.date.fromisoformat(start) if start is not None else last - dt.timedelta(days=30)
    except ValueError as exc:
        raise ValueError(f"bad date: {exc}") from exc
    if last < first:
        raise ValueError(f"end {last} is before start {first}")
    return first, last


def history_body(
    base: str, quote: str, params: dict[str, str], *, seed: int, today: dt.date
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of one ``/fx/{base}/{quote}/history`` request."""
    base, quote = base.upper(), quote.upper()
    for code in (base, quote):
        if code not in EUR_LEVELS:
            return 404, {"error": f"unknown currency {code}"}
    try:
        start, end = requested_span(params.get("start"), params.get("end"), today=today)
    except ValueError as exc:
        return 400, {"error": str(exc)}
    if (end - start).days > MAX_DAYS:
        return 400, {"error": f"at most {MAX_DAYS} days per request"}
    rates = demo_rates(base, quote, start, min(end, today), seed=seed) if start <= today else []
    return 200, {
        "base": base,
        "quote": quote,
        "source": "demo",
        "rates": [{"date": day.isoformat(), "rate": rate} for day, rate in rates],
    }


def demo_fx_route() -> Any:
    """The Starlette route of the FX history endpoint, for the quote server's route list."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def fx_history(request: Request) -> Response:
        base = request.path_params["base"].upper()
        quote = request.path_params["quote"].upper()
        key = f"{base}/{quote}"
        state = getattr(request.app, "quote_state", None)
        seed = int(getattr(state, "seed", 7))
        if state is not None:
            # the quote server's fault flags (latency, 503, 429, malformed), as on every route
            injected = await state.injected(key)
            if injected is not None:
                state.record(key, "fx", injected.status)
                return Response(
                    injected.body, status_code=injected.status, headers=injected.headers()
                )
        params = dict(request.query_params)
        today = dt.datetime.now(dt.UTC).date()
        status, body = history_body(base, quote, params, seed=seed, today=today)
        if state is not None:
            state.record(key, "fx", status)
        return JSONResponse(body, status_code=status)

    return Route(PATH, fx_history, methods=["GET"])
