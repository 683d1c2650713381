"""The quote server's fault flags apply alike on every route: /v1/{symbol}, the batch, the FX route."""

from __future__ import annotations

import httpx
import pytest

from workbench.quotes.server import create_app


def asgi_client(**flags: object) -> httpx.AsyncClient:
    """An in-process client over a fresh app."""
    app = create_app(**flags)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://qs")


@pytest.mark.asyncio
async def test_the_fx_route_answers_a_malformed_pair_with_a_non_json_200() -> None:
    """A pair listed in malformed_symbols gets HTTP 200 and an HTML body, like a quote does."""
    async with asgi_client(malformed_symbols=["EUR/USD"]) as client:
        broken = await client.get("/fx/EUR/USD/history", params={"start": "2024-01-01"})
        fine = await client.get("/fx/EUR/GBP/history", params={"start": "2024-01-01"})
    assert broken.status_code == 200
    assert broken.text == "<html>upstream proxy error</html>"
    with pytest.raises(ValueError, match="Expecting value"):
        broken.json()
    assert fine.json()["base"] == "EUR"


@pytest.mark.asyncio
async def test_every_route_answers_an_injected_429_alike() -> None:
    """fail_first=1 with 429: quote, history, batch and FX each get 429, the same body and
    Retry-After 3, then answer for real."""
    async with asgi_client(fail_first=1, fail_status=429, retry_after=3) as client:
        paths = ["/v1/ACME", "/v1/NWND/history", "/v1/quotes?symbols=GLBX", "/fx/EUR/JPY/history"]
        first = [await client.get(path) for path in paths]
        again = [await client.get(path) for path in paths]
    for response in first:
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"error": "rate limited"}
    assert [r.status_code for r in again] == [200, 200, 200, 200]


@pytest.mark.asyncio
async def test_an_outage_answers_503_on_every_route() -> None:
    """During an outage (after 0 requests, for a minute) every route is 503 without Retry-After."""
    async with asgi_client(outage=(0, 60.0)) as client:
        paths = ["/v1/ACME", "/v1/ACME/history", "/v1/quotes?symbols=ACME", "/fx/EUR/USD/history"]
        answers = [await client.get(path) for path in paths]
    assert [r.status_code for r in answers] == [503, 503, 503, 503]
    assert all(r.json() == {"error": "service unavailable"} for r in answers)
    assert all("retry-after" not in r.headers for r in answers)


@pytest.mark.asyncio
async def test_a_malformed_symbol_in_a_batch_is_marked_inside_the_json() -> None:
    """A batch stays JSON: the malformed symbol's price is not a number, the others are fine."""
    async with asgi_client(malformed_symbols=["ACME"]) as client:
        one = await client.get("/v1/quotes", params={"symbols": "ACME"})
        two = await client.get("/v1/quotes", params={"symbols": "ACME,NWND"})
    assert one.status_code == two.status_code == 200
    assert one.json()["quotes"][0]["price"].startswith("<html>")
    prices = {q["symbol"]: q["price"] for q in two.json()["quotes"]}
    assert isinstance(prices["NWND"], float)
    assert not isinstance(prices["ACME"], float)
