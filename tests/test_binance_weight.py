"""Binance counts request weight: a klines request weighs 2, and the pacer must count it so.

A real HTTP server on 127.0.0.1 answers ``/api/v3/klines`` with the recorded klines body;
the pacer runs on a frozen clock, so what it charged shows as the wait before the next slot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from _browser_helpers import uvicorn_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workbench.quotes.history import fetch_history, history_cost
from workbench.quotes.limits import Guards, ProviderLimits
from workbench.quotes.providers import get_provider
from workbench.quotes.providers.binance import KLINES_WEIGHT, BinanceProvider

KLINES = Path(__file__).parent / "fixtures" / "providers" / "binance_klines_BTCUSDT_1d.json"


@pytest.fixture(scope="module")
def binance_mirror() -> Iterator[str]:
    """A local server answering klines with the recorded 2021-01-01..02 BTCUSDT body."""

    async def klines(_request: Request) -> Response:
        return Response(KLINES.read_bytes(), media_type="application/json")

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/api/v3/klines", klines), Route("/healthz", healthz)])
    with uvicorn_thread(app) as base:
        yield base


def test_binance_declares_klines_weight_2() -> None:
    """Binance's published weight of GET /api/v3/klines is 2; other providers cost 1 request."""
    assert KLINES_WEIGHT == 2.0
    assert history_cost(BinanceProvider()) == 2.0
    assert history_cost(get_provider("yahoo")) == 1.0


async def _history(base_url: str, symbols: list[str], guards: Guards) -> None:
    """Fetch 2021-01-01 for ``symbols`` from the mirror; each gets the recorded kline."""
    results = await fetch_history(
        symbols,
        start=dt.date(2021, 1, 1),
        end=dt.date(2021, 1, 1),
        provider=BinanceProvider(base_url=base_url),
        guards=guards,
        concurrency=1,
    )
    # the recorded 2021-01-01 kline closed at 29331.69 (the body's fifth field)
    assert [[b.close for b in r.history.bars] for r in results if r.history] == [[29331.69]] * len(
        symbols
    )


@pytest.mark.asyncio
async def test_a_klines_request_takes_2_weight_of_the_pacer(binance_mirror: str) -> None:
    """At 100 weight/s on a frozen clock, one klines request leaves the next slot 2/100 s
    away (1/100 if it were counted as one request)."""
    guards = Guards(limits={"binance": ProviderLimits(rate=100.0, burst=1.0)}, clock=lambda: 0.0)
    await _history(binance_mirror, ["BTCUSDT"], guards)
    (guard,) = guards.all()
    assert guard.pacer.wait_left() == pytest.approx(2 / 100)


@pytest.mark.asyncio
async def test_answered_weight_counts_2_per_klines_request(binance_mirror: str) -> None:
    """Three klines answers count 6 weight in the pacer's goodput (the AIMD rate grows on it);
    unpaced, on a frozen clock, goodput is the weight answered in its first second."""
    guards = Guards(limits={"binance": ProviderLimits(rate=None)}, clock=lambda: 0.0)
    await _history(binance_mirror, ["BTCUSDT", "ETHUSDT", "BNBUSDT"], guards)
    (guard,) = guards.all()
    assert guard.pacer.goodput() == pytest.approx(6.0)
