"""The local quote server: the /v1 API contract, determinism, fault flags and the CLI command."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from _quote_helpers import RunningServer, quote_server

from workbench.demo.market import DEMO_INSTRUMENTS, daily_bars, latest_price
from workbench.quotes.server import create_app

__all__ = ["quote_server"]

Start = Callable[..., RunningServer]


def asgi_client(**flags: object) -> httpx.AsyncClient:
    """An in-process client over a fresh app (for contract checks that need no sockets)."""
    app = create_app(**flags)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://qs")


@pytest.mark.asyncio
async def test_quote_body_has_the_contract_fields_and_the_demo_price() -> None:
    """GET /v1/ACME: symbol, price, volume, currency, time; price = latest_price at that time."""
    async with asgi_client(seed=9) as client:
        response = await client.get("/v1/ACME")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"symbol", "price", "volume", "currency", "time"}
    at = dt.datetime.fromisoformat(body["time"].replace("Z", "+00:00"))
    assert body["symbol"] == "ACME"
    assert body["currency"] == "USD"
    assert body["price"] == latest_price("ACME", seed=9, at=at)


@pytest.mark.asyncio
async def test_every_demo_instrument_is_served_with_its_currency() -> None:
    """Each demo instrument answers 200 in its own currency (EUR ones in EUR)."""
    async with asgi_client() as client:
        for inst in DEMO_INSTRUMENTS:
            body = (await client.get(f"/v1/{inst.symbol}")).json()
            assert body["currency"] == inst.currency


@pytest.mark.asyncio
async def test_the_universe_flag_bounds_the_generated_symbols() -> None:
    """With universe=3, U00001..U00003 exist and U00004 is 404 with an error body."""
    async with asgi_client(universe=3) as client:
        assert (await client.get("/v1/U00003")).status_code == 200
        missing = await client.get("/v1/U00004")
        unknown = await client.get("/v1/NOSUCH")
    assert missing.status_code == 404
    assert "error" in missing.json()
    assert unknown.status_code == 404
    assert "NOSUCH" in unknown.json()["error"]


@pytest.mark.asyncio
async def test_history_returns_the_demo_bars_for_the_range() -> None:
    """GET /v1/NWND/history?start&end equals daily_bars for the same seed and range."""
    start, end = dt.date(2023, 5, 1), dt.date(2023, 5, 31)
    async with asgi_client(seed=4) as client:
        response = await client.get(
            "/v1/NWND/history", params={"start": start.isoformat(), "end": end.isoformat()}
        )
    body = response.json()
    reference = daily_bars("NWND", seed=4, start=start, end=end)
    assert body["symbol"] == "NWND"
    assert body["currency"] == "USD"
    assert [b["date"] for b in body["bars"]] == [d.isoformat() for d in reference["date"]]
    assert [b["close"] for b in body["bars"]] == reference["close"].to_list()
    assert set(body["bars"][0]) == {"date", "open", "high", "low", "close", "volume"}


@pytest.mark.asyncio
async def test_a_bad_history_date_is_400() -> None:
    """start=yesterday-ish text that is not a date is rejected with an error body."""
    async with asgi_client() as client:
        response = await client.get("/v1/ACME/history", params={"start": "May 1"})
    assert response.status_code == 400
    assert "error" in response.json()


@pytest.mark.asyncio
async def test_a_backwards_history_range_is_400_naming_both_dates() -> None:
    """end before start is a 400 whose error names both dates (the FX route's rule too)."""
    async with asgi_client() as client:
        response = await client.get(
            "/v1/ACME/history", params={"start": "2024-01-05", "end": "2024-01-01"}
        )
    assert response.status_code == 400
    assert response.json() == {"error": "end 2024-01-01 is before start 2024-01-05"}


@pytest.mark.asyncio
async def test_the_503_rate_is_deterministic_for_a_seed() -> None:
    """Two servers with the same seed fail the same requests; about fail_rate of them fail."""
    runs = []
    for _ in range(2):
        async with asgi_client(seed=21, fail_rate=0.3) as client:
            runs.append([(await client.get("/v1/ACME")).status_code for _ in range(200)])
    assert runs[0] == runs[1]
    failures = runs[0].count(503)
    assert set(runs[0]) == {200, 503}
    assert 30 <= failures <= 90  # binomial(200, 0.3): mean 60, sd 6.5


@pytest.mark.asyncio
async def test_rate_limit_answers_429_with_retry_after() -> None:
    """Over rate_limit requests in a burst the server answers 429 with a Retry-After header."""
    async with asgi_client(rate_limit=5) as client:
        responses = [await client.get("/v1/ACME") for _ in range(8)]
    statuses = [r.status_code for r in responses]
    assert statuses[:5] == [200] * 5
    assert 429 in statuses[5:]
    limited = next(r for r in responses if r.status_code == 429)
    assert float(limited.headers["retry-after"]) >= 1


@pytest.mark.asyncio
async def test_fail_first_fails_each_symbol_n_times_then_answers() -> None:
    """fail_first=2 with 429: two 429s carrying Retry-After, then 200, per symbol."""
    async with asgi_client(fail_first=2, fail_status=429, retry_after=0.5) as client:
        acme = [await client.get("/v1/ACME") for _ in range(3)]
        nwnd = await client.get("/v1/NWND")
    assert [r.status_code for r in acme] == [429, 429, 200]
    assert acme[0].headers["retry-after"] == "0.5"
    assert nwnd.status_code == 429


@pytest.mark.asyncio
async def test_malformed_symbols_get_a_non_json_200() -> None:
    """A malformed symbol is HTTP 200 with an HTML body."""
    async with asgi_client(malformed_symbols=["ACME"]) as client:
        response = await client.get("/v1/ACME")
    assert response.status_code == 200
    with pytest.raises(ValueError, match="Expecting value"):
        response.json()


@pytest.mark.asyncio
async def test_requests_are_logged_and_other_paths_are_404() -> None:
    """The request log records symbol, kind and status; unknown routes get a JSON 404."""
    app = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://qs"
    ) as client:
        await client.get("/v1/acme")
        await client.get("/v1/ACME/history")
        other = await client.get("/elsewhere")
        health = await client.get("/healthz")
    log = [(r.symbol, r.kind, r.status) for r in app.quote_state.requests]
    assert log == [("ACME", "quote", 200), ("ACME", "history", 200)]
    assert other.status_code == 404
    assert other.json() == {"error": "not found"}
    assert health.json() == {"status": "ok"}


@pytest.mark.asyncio
async def test_the_real_server_answers_over_tcp(quote_server: Start) -> None:
    """Over real sockets with latency: the same contract, and the latency is applied."""
    server = quote_server(latency_ms=50, universe=2)
    async with httpx.AsyncClient() as client:
        started = time.monotonic()
        response = await client.get(f"{server.base_url}/v1/U00002")
        elapsed = time.monotonic() - started
    assert response.json()["symbol"] == "U00002"
    assert elapsed >= 0.05


def test_create_app_rejects_bad_flags() -> None:
    """A fail rate outside [0, 1] or a non-positive rate limit is a ValueError."""
    with pytest.raises(ValueError, match="fail_rate"):
        create_app(fail_rate=1.5)
    with pytest.raises(ValueError, match="rate_limit"):
        create_app(rate_limit=0)


def test_the_quote_server_command_serves_on_the_given_port() -> None:
    """`workbench quote-server --port P --universe 5` answers /v1/U00005 on 127.0.0.1:P."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [str(Path(sys.executable).parent / "workbench"), "quote-server", "--port", str(port)]
    command += ["--universe", "5", "--seed", "2"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        try:
            deadline = time.monotonic() + 20
            body = None
            while time.monotonic() < deadline and body is None and proc.poll() is None:
                try:
                    body = httpx.get(f"http://127.0.0.1:{port}/v1/U00005", timeout=1).json()
                except httpx.TransportError:
                    time.sleep(0.1)
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=10)
    assert body is not None, stderr.decode()
    assert "quote server on http://127.0.0.1" in stderr.decode()
    at = dt.datetime.fromisoformat(body["time"].replace("Z", "+00:00"))
    assert body["price"] == latest_price("U00005", seed=2, at=at)


# -- the batch route ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_batch_route_answers_quotes_and_per_symbol_errors() -> None:
    """GET /v1/quotes?symbols=: quote objects like /v1/{symbol}, unknown ones under errors."""
    async with asgi_client(seed=9, universe=3) as client:
        response = await client.get("/v1/quotes", params={"symbols": "acme,U00002,NOPE,ACME"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"quotes", "errors"}
    assert body["errors"] == {"NOPE": "not found"}
    assert [q["symbol"] for q in body["quotes"]] == ["ACME", "U00002"]  # upper-cased, once each
    for quote in body["quotes"]:
        assert set(quote) == {"symbol", "price", "volume", "currency", "time"}
        at = dt.datetime.fromisoformat(quote["time"].replace("Z", "+00:00"))
        assert quote["price"] == latest_price(quote["symbol"], seed=9, at=at)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "query",
    [
        pytest.param({}, id="no-symbols"),
        pytest.param({"symbols": " , "}, id="empty-list"),
        pytest.param({"symbols": ",".join(f"U{i:05d}" for i in range(1, 502))}, id="501"),
    ],
)
async def test_a_batch_without_symbols_or_over_500_is_400(query: dict[str, str]) -> None:
    """The batch route takes 1 to 500 symbols (DESIGN.md section 5); otherwise 400."""
    async with asgi_client(universe=600) as client:
        response = await client.get("/v1/quotes", params=query)
    assert response.status_code == 400
    assert "error" in response.json()


@pytest.mark.asyncio
async def test_a_batch_is_one_request_to_the_rate_limit_and_the_request_log() -> None:
    """rate_limit=2: two batches of 100 pass, the third is 429; the log holds one row each."""
    symbols = ",".join(f"U{i:05d}" for i in range(1, 101))
    async with asgi_client(universe=100, rate_limit=2) as client:
        app = client._transport.app  # type: ignore[attr-defined]
        statuses = [
            (await client.get("/v1/quotes", params={"symbols": symbols})).status_code
            for _ in range(3)
        ]
    assert statuses == [200, 200, 429]
    log = list(app.quote_state.requests)
    assert [(r.kind, r.count, r.status) for r in log] == [("batch", 100, 200)] * 2 + [
        ("batch", 100, 429)
    ]
    assert app.quote_state.request_count("U00050") == 3


@pytest.mark.asyncio
async def test_an_outage_answers_503_for_its_length_then_recovers() -> None:
    """outage=(2, 0.3): requests 1-2 answer, then 503 for 0.3 s, then answers again."""
    async with asgi_client(outage=(2, 0.3)) as client:
        before = [(await client.get("/v1/ACME")).status_code for _ in range(4)]
        await asyncio.sleep(0.35)
        after = (await client.get("/v1/ACME")).status_code
    assert before == [200, 200, 503, 503]
    assert after == 200
