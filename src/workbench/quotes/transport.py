"""A fast httpx transport over aiohttp, and the client factory the fetch engine uses.

httpx's own transport (httpcore) costs 2-8 ms of client CPU per request on this machine
(encode/httpx#3215), so 100 concurrent requests cannot keep up with a 20 ms server. Keeping
httpx's API for providers and tests but sending through one ``aiohttp.ClientSession`` brings
that down several times. Compared with ``httpx_aiohttp.AiohttpTransport`` this transport

- reads each body whole and hands httpx a finished response (no per-chunk stream objects),
- passes the URL to aiohttp pre-encoded (httpx already normalised it),
- maps aiohttp errors onto httpx's tree by meaning: a refused or dropped connection is a
  ``ConnectError``/``RemoteProtocolError``, not a ``ConnectTimeout``, so the engine can tell
  "timeout" from "unavailable".

    async with make_client(concurrency=100) as client:
        response = await client.get("http://127.0.0.1:8765/v1/ACME")
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

#: identifies workbench to providers (some reject requests without a User-Agent)
USER_AGENT = "workbench/0.1 (+https://github.com/; quote fetcher)"


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends requests through one aiohttp session.

    The session (and its connection pool of ``limit`` connections) is created on first use
    inside the running event loop and closed by ``aclose`` (``async with client``).
    """

    def __init__(
        self,
        *,
        limit: int = 100,
        verify: bool | ssl.SSLContext = True,
        keepalive_expiry: float = 15.0,
    ) -> None:
        self._limit = limit
        self._verify = verify
        self._keepalive = keepalive_expiry
        self._session: Any = None

    def _open(self) -> Any:
        import aiohttp

        ssl_option: bool | ssl.SSLContext = self._verify
        connector = aiohttp.TCPConnector(
            limit=self._limit, ssl=ssl_option, keepalive_timeout=self._keepalive
        )
        # httpx already built the headers (User-Agent, Accept-Encoding): send only those
        return aiohttp.ClientSession(
            connector=connector, skip_auto_headers=("User-Agent",), auto_decompress=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the whole response."""
        import aiohttp
        from yarl import URL

        if self._session is None:
            self._session = self._open()
        timeouts = request.extensions.get("timeout", {})
        body = request.content or None  # requests here are GETs; bodies are small if any
        try:
            async with self._session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                ],
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeouts.get("pool"),
                    sock_connect=timeouts.get("connect"),
                    sock_read=timeouts.get("read"),
                ),
            ) as response:
                content = await response.read()
                status = response.status
                headers = response.raw_headers
                reason = response.reason
        except aiohttp.ServerTimeoutError as exc:
            if isinstance(exc, aiohttp.ConnectionTimeoutError):
                raise httpx.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
            raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise httpx.RemoteProtocolError(
                str(exc) or "server disconnected", request=request
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise httpx.NetworkError(str(exc) or type(exc).__name__, request=request) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode("latin-1", "replace")
        return httpx.Response(
            status, headers=headers, content=content, request=request, extensions=extensions
        )

    async def aclose(self) -> None:
        """Close the aiohttp session and its connections."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def make_client(
    *,
    concurrency: int = 100,
    timeout: float = 10.0,
    verify: bool | ssl.SSLContext = True,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` over :class:`AiohttpTransport`; use it as ``async with``.

    Args:
        concurrency: connections kept open (match the number of concurrent requests).
        timeout: default per-request timeout in seconds.
        verify: TLS verification (True, False or an ``ssl.SSLContext``).
        headers: extra default headers.
    """
    return httpx.AsyncClient(
        transport=AiohttpTransport(limit=concurrency, verify=verify),
        timeout=timeout,
        headers={"user-agent": USER_AGENT, **(headers or {})},
    )
