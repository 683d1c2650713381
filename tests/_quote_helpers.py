"""Test helpers for the fetch engine: the real quote server on 127.0.0.1 in a background thread.

``quote_server(**flags)`` starts :func:`workbench.quotes.server.create_app` under uvicorn on a
free port and returns a :class:`RunningServer` (its base URL, its state with the request log,
and ``stop()`` to take it away mid-run). Servers are stopped when the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from workbench.quotes.providers import WorkbenchApiProvider
from workbench.quotes.server import QuoteServerState, create_app


@dataclass
class RunningServer:
    """A quote server answering on 127.0.0.1."""

    base_url: str
    state: QuoteServerState
    server: uvicorn.Server
    thread: threading.Thread

    def provider(self, name: str = "workbench", **kwargs: Any) -> WorkbenchApiProvider:
        """A workbench-API provider pointed at this server."""
        return WorkbenchApiProvider(name=name, base_url=self.base_url, **kwargs)

    def times(self, symbol: str) -> list[float]:
        """Server-side monotonic times of every request for ``symbol``."""
        return [r.time for r in self.state.requests if r.symbol == symbol]

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self.base_url.rsplit(":", 1)[1])

    def stop(self) -> None:
        """Stop accepting connections and shut down (in-flight requests may finish)."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(*, port: int = 0, **flags: Any) -> RunningServer:
    """Start a quote server with ``create_app(**flags)`` on ``port`` (0: a free one); wait."""
    app = create_app(**flags)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="critical", access_log=False, lifespan="on", timeout_graceful_shutdown=0.3
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("quote server did not start")
        time.sleep(0.01)
    return RunningServer(f"http://127.0.0.1:{port}", app.quote_state, server, thread)


@pytest.fixture
def quote_server() -> Iterator[Callable[..., RunningServer]]:
    """A factory of real quote servers (``create_app`` flags), all stopped after the test."""
    running: list[RunningServer] = []

    def start(**flags: Any) -> RunningServer:
        server = start_server(**flags)  # port=N restarts a stopped server on its port
        running.append(server)
        return server

    yield start
    for server in running:
        if server.thread.is_alive():
            server.stop()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class ScriptedServer:
    """A raw TCP server on 127.0.0.1 whose replies are written byte by byte by the test."""

    base_url: str
    connections: int = 0


@contextlib.asynccontextmanager
async def scripted_server(handler: Handler) -> AsyncIterator[ScriptedServer]:
    """Serve ``handler(reader, writer)`` per connection (for transport edge cases)."""
    info = ScriptedServer("")

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        info.connections += 1
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    info.base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield info
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """Read one request head (the tests send no bodies)."""
    return await reader.readuntil(b"\r\n\r\n")
