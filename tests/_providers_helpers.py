"""Test helpers for the quote providers: recorded bodies, a recording mock transport, a mirror.

The mirror is a real HTTP server (uvicorn on 127.0.0.1, a free port, in a thread) that serves
the recorded provider bodies under a path prefix, so ``--base-url`` replacement is checked over
real sockets and not only through ``httpx.MockTransport``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures" / "providers"


def load(name: str) -> Any:
    """The decoded JSON of a recorded body."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def raw(name: str) -> bytes:
    """The bytes of a recorded body."""
    return (FIXTURES / name).read_bytes()


def fixed_clock(when: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock that always says ``when``."""
    return lambda: when


@dataclass
class Reply:
    """One canned HTTP answer."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


def fixture_reply(name: str, status: int = 200, **headers: str) -> Reply:
    """A reply carrying a recorded file as its body."""
    kind = "text/plain" if name.endswith(".txt") else "application/json"
    return Reply(status, raw(name), {"content-type": kind, **headers})


def json_reply(payload: object, status: int = 200, **headers: str) -> Reply:
    """A reply with ``payload`` encoded as JSON."""
    return Reply(
        status, json.dumps(payload).encode(), {"content-type": "application/json", **headers}
    )


class Recorder:
    """A mock transport that answers every request with one reply (or exception) and keeps them.

    Example:
        >>> recorder = Recorder(fixture_reply("binance_klines_BTCUSDT_1d.json"))
        >>> # async with recorder.client() as client: ...; recorder.requests[0].url
    """

    def __init__(self, reply: Reply | Exception) -> None:
        self.reply = reply
        self.requests: list[httpx.Request] = []

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.reply, Exception):
            raise self.reply
        return httpx.Response(
            self.reply.status, content=self.reply.body, headers=self.reply.headers
        )

    def client(self) -> httpx.AsyncClient:
        """A client whose every request goes to this recorder."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self._handle))

    @property
    def url(self) -> httpx.URL:
        """The URL of the one request made."""
        assert len(self.requests) == 1, f"expected one request, got {len(self.requests)}"
        return self.requests[0].url


#: (request path under the mirror prefix) -> recorded file it answers with
MIRROR_ROUTES: dict[str, str] = {
    "/v8/finance/chart/AAPL": "yahoo_chart_AAPL.json",
    "/api/v3/ticker/24hr": "binanceus_ticker_24hr_BTCUSDT_ccxt.json",
    "/api/v3/simple/price": "coingecko_simple_price_bitcoin_usd.json",
    "/query": "alphavantage_global_quote_IBM.json",
}
MIRROR_PREFIX = "/mirror"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _mirror_app(hits: list[str] | None = None) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def workbench_quote(request: Request) -> Response:
        symbol = request.path_params["symbol"]
        if symbol != "DEMO1":
            return JSONResponse({"error": f"unknown symbol {symbol}"}, status_code=404)
        body = {"symbol": symbol, "price": 101.25, "volume": 1200, "currency": "USD",
                "time": "2026-11-25T15:00:00Z"}  # fmt: skip
        return JSONResponse(body)

    def recorded(name: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            # echo the query so a test can see what arrived over the wire
            headers = {"x-query": str(request.url.query)}
            return Response(raw(name), media_type="application/json", headers=headers)

        return endpoint

    routes = [Route(MIRROR_PREFIX + path, recorded(name)) for path, name in MIRROR_ROUTES.items()]
    routes.append(Route(MIRROR_PREFIX + "/v1/{symbol}", workbench_quote))
    app = Starlette(routes=routes)
    if hits is None:
        return app

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            hits.append(scope["path"])
        await app(scope, receive, send)

    return counting


@contextlib.contextmanager
def running_mirror(hits: list[str] | None = None) -> Iterator[str]:
    """Serve the recorded bodies on 127.0.0.1; yields the base URL including ``/mirror``.

    With ``hits``, the path of every request is appended to it.
    """
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        _mirror_app(hits), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("mirror server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}{MIRROR_PREFIX}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
