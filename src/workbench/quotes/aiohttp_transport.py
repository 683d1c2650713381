"""The ``https://`` transport: :class:`AiohttpTransport`, httpx requests over one aiohttp session.

:func:`~workbench.quotes.client.make_client` mounts it for public providers. Unlike
``httpx_aiohttp.AiohttpTransport``, which maps a dropped connection to ``ConnectTimeout`` and
streams bodies chunk by chunk, it reads each body whole and maps a dropped connection to
``RemoteProtocolError``.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx


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
