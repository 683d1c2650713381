"""The engine's HTTP layer: Http11Transport, AiohttpTransport and QuoteClient, over real sockets."""

from __future__ import annotations

import asyncio
import gzip
import socket

import httpx
import pytest
from _quote_helpers import read_request, scripted_server
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.quotes.aiohttp_transport import AiohttpTransport
from workbench.quotes.client import QuoteClient, _UrlCache, make_client
from workbench.quotes.http11 import Http11Transport

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a": 1234}'


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.asyncio
async def test_keep_alive_reuses_one_connection() -> None:
    """Three sequential requests travel over a single connection."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(OK)
            await writer.drain()

    async with scripted_server(handler) as server, make_client() as client:
        bodies = [(await client.get(f"{server.base_url}/x")).json() for _ in range(3)]
    assert bodies == [{"a": 1234}] * 3
    assert server.connections == 1


@pytest.mark.asyncio
async def test_a_body_arriving_in_pieces_is_assembled() -> None:
    """Content-Length bodies split over several writes with pauses arrive whole."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        for piece in (OK[:10], OK[10:60], OK[60:-3], OK[-3:]):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.02)

    async with scripted_server(handler) as server, make_client() as client:
        response = await client.get(f"{server.base_url}/x")
    assert response.json() == {"a": 1234}


@pytest.mark.asyncio
async def test_chunked_and_gzipped_bodies_are_decoded() -> None:
    """Transfer-Encoding: chunked with a gzip body (split mid-chunk) decodes to the original."""
    payload = gzip.compress(b'{"price": 101.5, "symbol": "ACME"}')
    body = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        10,
        payload[:10],
        len(payload) - 10,
        payload[10:],
    )
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head + body[:17])
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(body[17:])
        await writer.drain()

    async with scripted_server(handler) as server, make_client() as client:
        response = await client.get(f"{server.base_url}/x")
    assert response.json() == {"price": 101.5, "symbol": "ACME"}


@pytest.mark.asyncio
async def test_an_interim_100_continue_is_skipped() -> None:
    """A 100 Continue before the real answer does not become the response."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)
        await writer.drain()

    async with scripted_server(handler) as server, make_client() as client:
        response = await client.get(f"{server.base_url}/x")
    assert (response.status_code, response.json()) == (200, {"a": 1234})


@pytest.mark.asyncio
async def test_a_body_without_length_runs_to_the_close() -> None:
    """No Content-Length and Connection: close: the body is everything until EOF."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n")
        writer.write(b'{"error": "unknown symbol"}')
        await writer.drain()

    async with scripted_server(handler) as server, make_client() as client:
        response = await client.get(f"{server.base_url}/x")
        again = await client.get(f"{server.base_url}/x")
    assert response.status_code == 404
    assert response.json() == {"error": "unknown symbol"}
    assert again.status_code == 404
    assert server.connections == 2  # a closed connection is never reused


@pytest.mark.asyncio
async def test_a_stale_keep_alive_connection_is_retried_once_on_a_new_one() -> None:
    """The server closes a kept-alive connection on the next request: it is resent on a new one."""
    calls = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        if calls == 1:
            await read_request(reader)  # the reused connection: closed without an answer

    async with scripted_server(handler) as server, make_client() as client:
        first = await client.get(f"{server.base_url}/x")
        second = await client.get(f"{server.base_url}/x")
    assert first.json() == second.json() == {"a": 1234}
    assert server.connections == 2


@pytest.mark.asyncio
async def test_a_disconnect_mid_response_is_a_remote_protocol_error() -> None:
    """Half a body and then a close: RemoteProtocolError, not a timeout and not a hang."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK[:-5])
        await writer.drain()

    async with scripted_server(handler) as server, make_client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{server.base_url}/x")


@pytest.mark.asyncio
async def test_garbage_is_a_remote_protocol_error() -> None:
    """A reply that is not HTTP fails cleanly."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()

    async with scripted_server(handler) as server, make_client() as client:
        with pytest.raises(httpx.RemoteProtocolError, match="status line"):
            await client.get(f"{server.base_url}/x")


@pytest.mark.asyncio
async def test_a_silent_server_is_a_read_timeout() -> None:
    """No answer within the read timeout: httpx.ReadTimeout."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with scripted_server(handler) as server, make_client(timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{server.base_url}/x")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "transport",
    [
        pytest.param(Http11Transport, id="http11"),
        pytest.param(AiohttpTransport, id="aiohttp"),
    ],
)
async def test_a_refused_connection_is_a_connect_error(transport: type) -> None:
    """Nothing listening: ConnectError (which the engine reports as unavailable)."""
    async with httpx.AsyncClient(transport=transport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{closed_port()}/x")


@pytest.mark.asyncio
async def test_the_aiohttp_transport_maps_a_dropped_connection_to_a_protocol_error() -> None:
    """aiohttp's ServerDisconnectedError becomes RemoteProtocolError (not ConnectTimeout)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with (
        scripted_server(handler) as server,
        httpx.AsyncClient(transport=AiohttpTransport()) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{server.base_url}/x")


@pytest.mark.asyncio
async def test_the_aiohttp_transport_returns_status_headers_and_body() -> None:
    """A plain exchange through aiohttp keeps status, headers and the decoded body."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        assert request.startswith(b"GET /v1/ACME?x=1 HTTP/1.1")
        writer.write(OK.replace(b"200 OK", b"429 Too Many Requests").replace(
            b"Content-Type", b"Retry-After: 3\r\nContent-Type"
        ))  # fmt: skip
        await writer.drain()

    async with (
        scripted_server(handler) as server,
        httpx.AsyncClient(transport=AiohttpTransport()) as client,
    ):
        response = await client.get(f"{server.base_url}/v1/ACME", params={"x": 1})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json() == {"a": 1234}


@pytest.mark.asyncio
async def test_quote_client_keeps_cookies_redirects_and_hooks_working() -> None:
    """Set-Cookie is stored, follow_redirects and event hooks still behave as in httpx."""
    seen: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await read_request(reader)
            seen.append(request.split(b"\r\n")[0].decode())
            if b"/old" in request.split(b"\r\n")[0]:
                writer.write(b"HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n")
            elif b"/login" in request.split(b"\r\n")[0]:
                writer.write(
                    OK.replace(b"Content-Type", b"Set-Cookie: crumb=abc; Path=/\r\nContent-Type")
                )
            else:
                assert b"cookie: crumb=abc" in request.lower()
                writer.write(OK)
            await writer.drain()

    hooked: list[int] = []

    async def hook(response: httpx.Response) -> None:
        hooked.append(response.status_code)

    async with scripted_server(handler) as server, make_client() as client:
        assert isinstance(client, QuoteClient)
        await client.get(f"{server.base_url}/login")
        assert client.cookies["crumb"] == "abc"
        plain = await client.get(f"{server.base_url}/old")
        assert plain.status_code == 302
        assert plain.next_request is not None
        assert plain.elapsed.total_seconds() >= 0
        followed = await client.get(f"{server.base_url}/old", follow_redirects=True)
        assert followed.json() == {"a": 1234}
        assert [r.status_code for r in followed.history] == [302]
        client.event_hooks = {"response": [hook]}
        await client.get(f"{server.base_url}/new")
    assert hooked == [200]
    assert seen == ["GET /login HTTP/1.1", "GET /old HTTP/1.1", "GET /old HTTP/1.1",
                    "GET /new HTTP/1.1", "GET /new HTTP/1.1"]  # fmt: skip


ORIGINS = [
    "http://127.0.0.1:8765", "https://Query1.Finance.Yahoo.com", "http://localhost:80",
    "https://api.binance.com:443", "http://user:pw@h:8080", "http://[::1]:9000", "http://h",
]  # fmt: skip
TARGET_CHARS = "abcXYZ019-._~!$&'()*+,;=:@/?#%[]{}| \"<>^`\\é\t"


@given(
    origin=st.sampled_from(ORIGINS),
    target=st.text(alphabet=TARGET_CHARS, max_size=40),
)
@settings(max_examples=400, deadline=None)
def test_the_url_shortcut_agrees_with_httpx(origin: str, target: str) -> None:
    """Whenever the per-origin shortcut parses a URL, the result equals httpx.URL's."""
    url = f"{origin}/{target}"
    fast = _UrlCache().parse(url)
    if fast is not None:
        slow = httpx.URL(url)
        assert fast._uri_reference == slow._uri_reference
        assert str(fast) == str(slow)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765/v1/U00042",
        "https://query1.finance.yahoo.com/v8/finance/chart/EURUSD=X",
        "https://api.binance.com/api/v3/ticker/24hr?symbol=BTCUSDT",
        "http://127.0.0.1:8765/v1/ACME/history?start=2024-01-01&end=2024-02-01",
    ],
)
def test_provider_urls_take_the_shortcut(url: str) -> None:
    """Typical provider URLs are parsed by the shortcut (and equal httpx's parse)."""
    fast = _UrlCache().parse(url)
    assert fast is not None
    assert fast == httpx.URL(url)
