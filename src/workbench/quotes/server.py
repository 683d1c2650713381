"""The local quote server: the seed's ``GET /v1/{symbol}`` API over the synthetic demo market.

It serves the demo instruments and, with ``universe=N``, the generated symbols ``U00001`` ...
``U{N:05d}``. Prices come from :mod:`workbench.demo.market`, so they are deterministic for the
seed. Fault flags make it a test bed for the fetch engine:

- ``latency_ms``: every answer waits this long (``asyncio.sleep``, so requests overlap);
- ``fail_rate``: this fraction of requests gets a 503 (a RNG seeded from ``seed``);
- ``rate_limit``: more than this many requests per second get 429 with ``Retry-After``;
- ``fail_first``: the first N requests for each symbol get ``fail_status`` (503 or 429);
- ``slow_symbols``: extra seconds of delay for some symbols;
- ``malformed_symbols``: symbols answered with a body that is not JSON;
- ``outage``: ``(after, seconds)``: after the ``after``-th request the server answers every
  request 503 for ``seconds``, then recovers (a provider that goes down mid-run and comes back).

A batch request counts as one request for ``rate_limit`` and ``fail_rate`` (rate limits count
requests, not symbols) and waits the slowest of its symbols.

The API (DESIGN.md section 5)::

    GET /v1/{symbol}                        {"symbol", "price", "volume", "currency", "time"}
    GET /v1/{symbol}/history?start=&end=    {"symbol", "currency", "bars": [{"date", ...}]}
    GET /v1/quotes?symbols=A,B,C            {"quotes": [quote objects], "errors": {"SYM": reason}}
    GET /healthz                            {"status": "ok"}

Unknown symbols get 404 with ``{"error": ...}`` (in a batch: ``"errors": {"SYM": "not found"}``,
and a malformed symbol's entry has a price that is not a number). A batch takes up to
:data:`MAX_BATCH` symbols; more, or none, is 400. Every request is recorded in
``app.state.quote_server.requests`` (time, symbol, kind, status) so tests can count requests
and check waits on the server side. ``/v1/`` requests take a raw ASGI fast path: at thousands of
requests per second Starlette's routing and response objects cost more than the work itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import random
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from workbench.fx.demo_rates import demo_fx_route, requested_span

#: the most symbols one ``/v1/quotes`` request may ask for (DESIGN.md section 5)
MAX_BATCH = 500

#: how many request records the server keeps (a long-running server must not grow forever)
REQUEST_LOG_SIZE = 200_000

_JSON_HEADERS = [(b"content-type", b"application/json")]

#: what a malformed symbol is answered with: a broken upstream proxy's page, with HTTP 200
MALFORMED_BODY = b"<html>upstream proxy error</html>"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the server answered: when (monotonic seconds), for what, with which status."""

    time: float
    symbol: str  # the symbols of a batch request, comma-separated
    kind: str  # "quote", "history" or "batch"
    status: int
    #: symbols the request asked for
    count: int = 1


@dataclass(frozen=True, slots=True)
class FaultReply:
    """An injected answer sent instead of the real one (:meth:`QuoteServerState.injected`)."""

    status: int
    body: bytes
    retry_after: float | None = None

    def headers(self) -> dict[str, str]:
        """The answer's headers besides the content length."""
        headers = {"content-type": "application/json"}
        if self.retry_after is not None:
            headers["retry-after"] = f"{self.retry_after:g}"
        return headers


def malformed_entry(symbol: str) -> dict[str, Any]:
    """A malformed symbol's entry in a batch answer: its price is not a number."""
    return {"symbol": symbol, "price": MALFORMED_BODY.decode()}


@dataclass
class QuoteServerState:
    """The server's settings and request log; tests may change the fault settings while it runs."""

    seed: int = 7
    universe: int = 0
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    rate_limit: float | None = None
    retry_after: float | None = None
    fail_first: int = 0
    fail_status: int = 503
    slow_symbols: dict[str, float] = field(default_factory=dict)
    malformed_symbols: set[str] = field(default_factory=set)
    outage: tuple[int, float] | None = None
    requests: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))
    seen: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._tokens = float(self.rate_limit or 0.0)
        self._refilled = time.monotonic()
        self._answered = 0
        self._down_until: float | None = None
        from workbench.demo.market import DEMO_INSTRUMENTS

        self._currencies = {inst.symbol: inst.currency for inst in DEMO_INSTRUMENTS}

    # -- what exists -------------------------------------------------------------------------

    def currency(self, symbol: str) -> str | None:
        """The symbol's currency, or None when the server does not serve it."""
        known = self._currencies.get(symbol)
        if known is not None:
            return known
        from workbench.demo.market import is_universe_symbol

        if is_universe_symbol(symbol) and int(symbol[1:]) <= self.universe:
            return "USD"
        return None

    def symbols(self) -> list[str]:
        """Every symbol served, demo instruments first."""
        from workbench.demo.market import universe_symbol

        return [*self._currencies, *(universe_symbol(i) for i in range(1, self.universe + 1))]

    def warm(self) -> None:
        """Compute every served symbol's previous close once, so the first requests are fast.

        The first price of a symbol walks its whole path (~2 ms); a server answering thousands
        of requests per second should pay that at startup, not during a benchmark.
        """
        from workbench.demo.market import latest_price

        now = dt.datetime.now(dt.UTC)
        for symbol in self.symbols():
            latest_price(symbol, seed=self.seed, at=now)

    # -- faults --------------------------------------------------------------------------------

    def fault(self, *symbols: str) -> tuple[int, float | None] | None:
        """The injected failure for this request (status, Retry-After), or None to answer.

        A batch request passes all its symbols: it is one request to the rate limit and the
        503 dice, and fails ``fail_first`` while any of its symbols is still in its first N.
        """
        first = False
        for symbol in symbols:
            self.seen[symbol] += 1
            first = first or (self.fail_first > 0 and self.seen[symbol] <= self.fail_first)
        now = time.monotonic()
        self._answered += 1
        if self.outage is not None and self._down_until is None:
            after, seconds = self.outage
            if self._answered > after:
                self._down_until = now + seconds
        if self._down_until is not None and now < self._down_until:
            return 503, None
        if first:
            return self.fail_status, self.retry_after if self.fail_status == 429 else None
        if self.rate_limit is not None:
            rate = float(self.rate_limit)
            self._tokens = min(rate, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens < 1.0:
                wait = self.retry_after
                if wait is None:
                    wait = float(math.ceil((1.0 - self._tokens) / rate))
                return 429, wait
            self._tokens -= 1.0
        if self.fail_rate and self._rng.random() < self.fail_rate:
            return 503, None
        return None

    async def injected(self, *symbols: str, batch: bool = False) -> FaultReply | None:
        """Wait the injected latency, then the injected answer, or None to answer for real.

        The one place every route (``/v1/{symbol}``, its history, the batch and the FX route)
        applies the fault flags: the wait is the slowest of ``symbols``; a 503 or a 429 with
        ``Retry-After`` comes from :meth:`fault`; a request for one symbol listed in
        ``malformed_symbols`` gets HTTP 200 with a body that is not JSON (a ``batch`` marks its
        malformed symbols inside its JSON instead: :func:`malformed_entry`).
        """
        delay = max(self.delay(symbol) for symbol in symbols)
        if delay > 0:
            await asyncio.sleep(delay)
        fault = self.fault(*symbols)
        if fault is not None:
            status, retry_after = fault
            message = "rate limited" if status == 429 else "service unavailable"
            return FaultReply(status, json.dumps({"error": message}).encode(), retry_after)
        if not batch and len(symbols) == 1 and symbols[0] in self.malformed_symbols:
            return FaultReply(200, MALFORMED_BODY)
        return None

    def delay(self, symbol: str) -> float:
        """Seconds to wait before answering."""
        return self.latency_ms / 1000.0 + self.slow_symbols.get(symbol, 0.0)

    def record(self, symbol: str, kind: str, status: int, count: int = 1) -> None:
        """Log one answered request."""
        self.requests.append(RequestRecord(time.monotonic(), symbol, kind, status, count))

    def request_count(self, symbol: str | None = None) -> int:
        """Requests answered so far (asking for one symbol, alone or in a batch; or all)."""
        if symbol is None:
            return len(self.requests)
        return sum(
            1
            for r in self.requests
            if r.symbol == symbol or (r.kind == "batch" and symbol in r.symbol.split(","))
        )


def _quote_body(state: QuoteServerState, symbol: str, currency: str) -> dict[str, Any]:
    from workbench.demo.market import instrument_for, latest_price

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    price = latest_price(symbol, seed=state.seed, at=now)
    # a live-looking running volume: the typical daily volume times the fraction of the day gone
    day_fraction = (now.hour * 3600 + now.minute * 60 + now.second) / 86_400.0
    volume = float(round(instrument_for(symbol).volume * day_fraction))
    return {
        "symbol": symbol,
        "price": price,
        "volume": volume,
        "currency": currency,
        "time": now.isoformat().replace("+00:00", "Z"),
    }


def _history_body(
    state: QuoteServerState, symbol: str, currency: str, query: str
) -> tuple[int, dict[str, Any]]:
    from workbench.demo.market import daily_bars

    params = parse_qs(query)
    today = dt.datetime.now(dt.UTC).date()
    try:
        start, end = requested_span(
            params["start"][0] if "start" in params else None,
            params["end"][0] if "end" in params else None,
            today=today,
        )
    except ValueError as exc:
        return 400, {"error": str(exc)}
    if start > today:
        return 200, {"symbol": symbol, "currency": currency, "bars": []}
    frame = daily_bars(symbol, seed=state.seed, start=start, end=min(end, today))
    bars = [{**row, "date": row["date"].isoformat()} for row in frame.iter_rows(named=True)]
    return 200, {"symbol": symbol, "currency": currency, "bars": bars}


async def _send_json(send: Send, status: int, body: bytes, retry_after: float | None) -> None:
    headers = list(_JSON_HEADERS)
    headers.append((b"content-length", str(len(body)).encode()))
    if retry_after is not None:
        headers.append((b"retry-after", f"{retry_after:g}".encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class QuoteServerApp(Starlette):
    """Starlette app with a raw ASGI fast path for ``GET /v1/...``."""

    quote_state: QuoteServerState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/v1/") and scope["method"] in ("GET", "HEAD"):
            await self._serve_v1(scope, path[4:], send)
            return
        await super().__call__(scope, receive, send)

    async def _serve_v1(self, scope: Scope, rest: str, send: Send) -> None:
        state = self.quote_state
        kind = "quote"
        if rest.endswith("/history"):
            kind, rest = "history", rest[: -len("/history")]
        if rest == "quotes":
            await self._serve_batch(scope, send)
            return
        symbol = unquote(rest)
        if not symbol or "/" in symbol:
            payload = {"error": f"no route {scope['path']}"}
            await _send_json(send, 404, json.dumps(payload).encode(), None)
            return
        symbol = symbol.upper()
        body: bytes
        retry_after: float | None = None
        currency = state.currency(symbol)
        injected = await state.injected(symbol)
        if injected is not None:
            status, body, retry_after = injected.status, injected.body, injected.retry_after
        elif currency is None:
            status, body = 404, json.dumps({"error": f"unknown symbol {symbol}"}).encode()
        elif kind == "quote":
            status, body = 200, json.dumps(_quote_body(state, symbol, currency)).encode()
        else:
            query = scope.get("query_string", b"").decode("latin-1")
            status, payload = _history_body(state, symbol, currency, query)
            body = json.dumps(payload).encode()
        state.record(symbol, kind, status)
        await _send_json(send, status, body, retry_after)

    async def _serve_batch(self, scope: Scope, send: Send) -> None:
        state = self.quote_state
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        text = ",".join(query.get("symbols", []))
        symbols = list(dict.fromkeys(s.strip().upper() for s in text.split(",") if s.strip()))
        if not symbols or len(symbols) > MAX_BATCH:
            problem = "symbols= is required" if not symbols else f"at most {MAX_BATCH} symbols"
            await _send_json(send, 400, json.dumps({"error": problem}).encode(), None)
            return
        injected = await state.injected(*symbols, batch=True)
        retry_after: float | None = None
        if injected is not None:
            status, body, retry_after = injected.status, injected.body, injected.retry_after
        else:
            status = 200
            quotes: list[dict[str, Any]] = []
            errors: dict[str, str] = {}
            for symbol in symbols:
                currency = state.currency(symbol)
                if currency is None:
                    errors[symbol] = "not found"
                elif symbol in state.malformed_symbols:
                    quotes.append(malformed_entry(symbol))
                else:
                    quotes.append(_quote_body(state, symbol, currency))
            body = json.dumps({"quotes": quotes, "errors": errors}).encode()
        state.record(",".join(symbols), "batch", status, len(symbols))
        await _send_json(send, status, body, retry_after)


async def _healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(
    *,
    seed: int = 7,
    universe: int = 0,
    latency_ms: float = 0.0,
    fail_rate: float = 0.0,
    rate_limit: float | None = None,
    retry_after: float | None = None,
    fail_first: int = 0,
    fail_status: int = 503,
    slow_symbols: Mapping[str, float] | None = None,
    malformed_symbols: Iterable[str] = (),
    outage: tuple[int, float] | None = None,
    warm: bool = False,
) -> QuoteServerApp:
    """Build the quote server app.

    Args:
        seed: seeds the price paths and the 503 RNG.
        universe: how many generated symbols ``U00001``... to serve besides the demo set.
        latency_ms: delay before every answer.
        fail_rate: fraction of requests answered 503.
        rate_limit: requests per second allowed (token bucket, burst = one second's worth);
            beyond it 429 with ``Retry-After`` (``retry_after`` seconds, or the time to the
            next token rounded up to whole seconds).
        retry_after: the ``Retry-After`` value to send with 429s.
        fail_first: answer the first N requests of each symbol with ``fail_status``.
        fail_status: 503 or 429 for ``fail_first``.
        slow_symbols: extra delay in seconds per symbol.
        malformed_symbols: symbols answered with HTTP 200 and a non-JSON body.
        outage: ``(after, seconds)``: after ``after`` requests, answer 503 for ``seconds``.
        warm: price every served symbol once at startup.

    Example::

        uvicorn.run(create_app(universe=2000, latency_ms=20), host="127.0.0.1", port=8765)
    """
    if not 0.0 <= fail_rate <= 1.0:
        raise ValueError(f"fail_rate must be in [0, 1], got {fail_rate}")
    if rate_limit is not None and rate_limit <= 0:
        raise ValueError(f"rate_limit must be positive, got {rate_limit}")
    state = QuoteServerState(
        seed=seed,
        universe=universe,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        rate_limit=rate_limit,
        retry_after=retry_after,
        fail_first=fail_first,
        fail_status=fail_status,
        slow_symbols={k.upper(): v for k, v in (slow_symbols or {}).items()},
        malformed_symbols={s.upper() for s in malformed_symbols},
        outage=outage,
    )

    async def not_found(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "not found"}, status_code=404)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if warm:
            await asyncio.to_thread(state.warm)
        yield

    app = QuoteServerApp(
        routes=[Route("/healthz", _healthz), demo_fx_route()],
        exception_handlers={404: not_found},
        lifespan=lifespan,
    )
    app.quote_state = state
    app.state.quote_server = state
    return app
