"""`workbench history` with many symbols: one request per distinct symbol, bounded concurrency,
and a progress bar that shows the rate-limit wait, against real quote servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser_helpers import uvicorn_thread
from _quote_helpers import RunningServer, quote_server
from click.testing import CliRunner
from test_quote_cli import _run_with_terminal_stderr

from workbench.cli import cli
from workbench.quotes.history import fetch_history
from workbench.quotes.limits import ProviderLimits
from workbench.quotes.providers import WorkbenchApiProvider
from workbench.quotes.server import create_app

__all__ = ["quote_server"]

Start = Callable[..., RunningServer]
START = (dt.date.today() - dt.timedelta(days=14)).isoformat()


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI in-process; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


class InFlight:
    """ASGI middleware counting requests in flight; ``peak`` is the most at once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.now = 0
        self.peak = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        counted = scope["type"] == "http" and scope["path"].startswith("/v1/")
        if counted:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            if counted:
                self.now -= 1


@pytest.fixture
def slow_server() -> Iterator[tuple[str, InFlight]]:
    """A quote server answering after 50 ms (so requests overlap), its in-flight counter."""
    counter = InFlight(create_app(universe=40, latency_ms=50))
    with uvicorn_thread(counter) as base:
        yield base, counter


def test_a_symbol_given_twice_is_requested_once(quote_server: Start, db_path: Path) -> None:
    """U00001 twice and U00002: two history requests, three JSON entries in argument order."""
    server = quote_server(universe=2)
    code, out, _ = run(
        "history", "U00001", "U00001", "U00002", "--start", START,
        "--base-url", server.base_url, "--json", "--db", str(db_path),
    )  # fmt: skip
    assert code == 0
    rows = json.loads(out)
    assert [r["symbol"] for r in rows] == ["U00001", "U00001", "U00002"]
    assert rows[0]["bars"] == rows[1]["bars"] != []
    assert server.state.request_count("U00001") == 1
    assert server.state.request_count() == 2


def test_concurrency_bounds_the_requests_in_flight(
    slow_server: tuple[str, InFlight], db_path: Path
) -> None:
    """--concurrency 3 over 40 symbols never has more than 3 requests at the server at once."""
    base, counter = slow_server
    symbols = [f"U{i:05d}" for i in range(1, 41)]
    code, out, _ = run(
        "history", *symbols, "--start", START, "--concurrency", "3",
        "--base-url", base, "--json", "--db", str(db_path),
    )  # fmt: skip
    assert code == 0
    assert all(r["error"] is None for r in json.loads(out))
    assert 1 <= counter.peak <= 3


def test_the_progress_bar_shows_the_rate_limit_wait(quote_server: Start, tmp_path: Path) -> None:
    """Paced at 2 requests/s, the history bar's label says what it waits for."""
    server = quote_server(universe=6)
    symbols = [f"U{i:05d}" for i in range(1, 7)]
    args = [
        "history", *symbols, "--start", START, "--base-url", server.base_url,
        "--rate-limit", "2", "--json", "--db", str(tmp_path / "w.duckdb"),
    ]  # fmt: skip
    proc, drawn = _run_with_terminal_stderr(args)
    assert proc.returncode == 0
    assert all(r["error"] is None for r in json.loads(proc.stdout))
    assert b"history" in drawn
    assert b"waiting: workbench: 2/s" in drawn
    assert b"100%" in drawn


def test_fetch_history_reports_waits_and_clears_them(quote_server: Start) -> None:
    """on_status hears the pacing wait while it lasts and "" at the end."""
    server = quote_server(universe=4)
    heard: list[str] = []
    provider = WorkbenchApiProvider(base_url=server.base_url)

    async def go() -> None:
        results = await fetch_history(
            [f"U{i:05d}" for i in range(1, 5)],
            start=dt.date.fromisoformat(START),
            end=dt.date.today(),
            provider=provider,
            on_status=heard.append,
            limits={"workbench": ProviderLimits(rate=2.0)},
        )
        assert all(r.ok for r in results)

    asyncio.run(go())
    assert any(text.startswith("waiting: workbench") for text in heard)
    assert heard[-1] == ""
