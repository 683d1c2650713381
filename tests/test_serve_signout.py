"""/signout is refused from another site like every other cookie-authenticated request."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from workbench.server.auth import COOKIE_NAME, TokenAuth

TOKEN = "s3cret-token-for-signout"


async def _page(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("page")


@pytest_asyncio.fixture
async def guarded() -> AsyncIterator[httpx.AsyncClient]:
    """A client over a one-page app behind the token middleware (host ``testserver``)."""
    app = TokenAuth(Starlette(routes=[Route("/", _page)]), token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _cookie(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.get(f"/?access_token={TOKEN}")
    match = re.search(rf"{COOKIE_NAME}=([^;]+)", response.headers["set-cookie"])
    assert match is not None
    return {"Cookie": f"{COOKIE_NAME}={match.group(1)}"}


@pytest.mark.asyncio
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_foreign_origin_cannot_sign_the_browser_out(
    guarded: httpx.AsyncClient, method: str
) -> None:
    """GET or POST /signout with another site's Origin is 403, sets no cookie, revokes nothing."""
    cookie = await _cookie(guarded)
    foreign = cookie | {"Origin": "http://evil.example"}
    response = await guarded.request(method, "/signout", headers=foreign)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert (await guarded.get("/", headers=cookie)).status_code == 200


@pytest.mark.asyncio
async def test_a_foreign_origin_without_a_cookie_is_refused_too(guarded: httpx.AsyncClient) -> None:
    """A cross-site /signout carrying no cookie is 403 as well (it would clear the cookie)."""
    response = await guarded.post("/signout", headers={"Origin": "http://testserver:8080"})
    assert response.status_code == 403


@pytest.mark.asyncio
async def test_same_site_and_origin_less_sign_out_still_work(guarded: httpx.AsyncClient) -> None:
    """/signout from this site (or with no Origin, a typed address) clears and revokes."""
    for extra in ({"Origin": "http://testserver"}, {}):
        cookie = await _cookie(guarded)
        response = await guarded.get("/signout", headers=cookie | extra)
        assert response.status_code == 200
        assert "Max-Age=0" in response.headers["set-cookie"]
        assert (await guarded.get("/", headers=cookie)).status_code == 401
