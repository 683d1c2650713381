"""The engine's default HTTP client (:func:`make_client`, :class:`QuoteClient`) and ClientPool.

httpx's own transport (httpcore) costs 2-8 ms of client CPU per request here (encode/httpx#3215),
so 100 concurrent requests cannot keep up with a 20 ms server. Providers and tests keep httpx's
API; underneath, :func:`make_client` returns a :class:`QuoteClient` with

- :class:`~workbench.quotes.http11.Http11Transport` for ``http://``: a lean keep-alive HTTP/1.1
  client on asyncio protocols (local quote servers and mirrors, where client CPU per request
  is the limit);
- :class:`~workbench.quotes.aiohttp_transport.AiohttpTransport` for ``https://``: one
  ``aiohttp.ClientSession`` (public providers).

Both read each body whole and hand httpx a finished response, and both map failures onto
httpx's exception tree by meaning (a refused or dropped connection is ``ConnectError`` or
``RemoteProtocolError``, never a timeout), so the engine can tell "timeout" from "unavailable".
Measured figures are in README "Quote fetching". :class:`ClientPool` picks the client of each
provider for one engine call.

    async with make_client(concurrency=100) as client:
        response = await client.get("http://127.0.0.1:8765/v1/ACME")
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import ssl
import time
from typing import Any

import httpx

from workbench.quotes.aiohttp_transport import AiohttpTransport
from workbench.quotes.base import Provider
from workbench.quotes.http11 import Http11Transport

_log = logging.getLogger("httpx")

#: generated symbols U00001... the in-process demo provider serves
DEMO_UNIVERSE = 10_000

#: identifies workbench to providers (some reject requests without a User-Agent)
USER_AGENT = "workbench/0.1 (quote fetcher)"

# A request target httpx's URL parser would leave exactly as written: a path of unreserved
# characters other than "." (so no dot-segment normalisation), sub-delimiters, ":", "@", "/"
# and valid %XX escapes, and an optional query of the same plus "." and "?". No fragment.
_PLAIN_TARGET = re.compile(
    r"(/(?:[A-Za-z0-9\-_~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*)"
    r"(?:\?((?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*))?"
)
_PREFIXES = ("http://", "https://")


class _UrlCache:
    """Parses ``scheme://authority`` once per origin, and the request target with one regex.

    ``httpx.URL(str)`` runs a validating, normalising parser (about a fifth of the client CPU
    per request here); for the plain targets providers send, the result is the origin's
    parse with this path and query, which this builds directly. Anything else (and any
    origin once 64 are known) goes to httpx's parser. A property test checks both agree.
    """

    def __init__(self) -> None:
        self._origins: dict[str, Any] = {}

    def parse(self, url: str) -> httpx.URL | None:
        """The ``httpx.URL`` for ``url``, or None when it needs httpx's full parser."""
        if not url.startswith(_PREFIXES) or len(url) > 4096:
            return None
        cut = url.find("/", url.index("//") + 2)
        if cut < 0:
            return None
        match = _PLAIN_TARGET.fullmatch(url, cut)
        if match is None:
            return None
        origin_text = url[:cut]
        origin = self._origins.get(origin_text)
        if origin is None:
            if len(self._origins) >= 64 or "?" in origin_text or "#" in origin_text:
                return None
            parsed = httpx.URL(origin_text)._uri_reference
            if parsed.path or parsed.query is not None or parsed.fragment is not None:
                return None
            origin = self._origins[origin_text] = parsed
        result = httpx.URL.__new__(httpx.URL)
        result._uri_reference = origin._replace(path=match[1], query=match[2])
        return result


class QuoteClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose plain requests take a shorter path through httpx.

    Absolute URLs with plain paths are parsed against a per-origin cache (:class:`_UrlCache`).
    For a request with no auth, no event hooks, no redirect following and no streaming (what
    every provider sends), :meth:`send` calls the transport directly and extracts cookies
    only when the response sets any. That skips httpx's auth and redirect generators, the
    stream wrapper and the cookie-jar round trip on every response, about a quarter of the
    client CPU per request here. Anything else goes through ``httpx.AsyncClient.send``
    unchanged. It uses a few httpx internals (pinned by ``httpx<0.29`` in pyproject).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._urls = _UrlCache()

    def _merge_url(self, url: httpx.URL | str) -> httpx.URL:
        # absolute URLs only: a relative one is joined to base_url by httpx
        if isinstance(url, str):
            parsed = self._urls.parse(url)
            if parsed is not None:
                return parsed
        return super()._merge_url(url)

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        """Send ``request``; see ``httpx.AsyncClient.send``."""
        follow = (
            self.follow_redirects
            if follow_redirects is httpx.USE_CLIENT_DEFAULT
            else follow_redirects
        )
        if (
            stream
            or follow
            or self.is_closed
            or self._auth is not None
            or auth not in (httpx.USE_CLIENT_DEFAULT, None)
            or self._event_hooks["request"]
            or self._event_hooks["response"]
        ):
            return await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
        from httpx._client import ClientState

        self._state = ClientState.OPENED
        self._set_timeout(request)
        started = time.perf_counter()
        response = await self._transport_for_url(request.url).handle_async_request(request)
        response.request = request
        response.default_encoding = self._default_encoding
        if any(name.lower() == b"set-cookie" for name, _ in response.headers.raw):
            self.cookies.extract_cookies(response)
        await response.aread()
        response.elapsed = dt.timedelta(seconds=time.perf_counter() - started)
        if response.has_redirect_location:
            response.next_request = self._build_redirect_request(request, response)
        if _log.isEnabledFor(logging.INFO):
            _log.info(
                'HTTP Request: %s %s "%s %d %s"', request.method, request.url,
                response.http_version, response.status_code, response.reason_phrase,
            )  # fmt: skip
        return response


class ClientPool:
    """The HTTP client of each provider for one call.

    In-process providers (``demo``) get an ASGI client over the bundled quote server; the
    others share the caller's client, or one fast client created for the call.
    """

    def __init__(self, *, client: httpx.AsyncClient | None, concurrency: int, timeout: float):
        self._given = client
        self._concurrency = concurrency
        self._timeout = timeout
        self._stack = contextlib.AsyncExitStack()
        self._shared: httpx.AsyncClient | None = None
        self._in_process: dict[int, httpx.AsyncClient] = {}

    async def __aenter__(self) -> ClientPool:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.__aexit__(None, None, None)

    async def for_provider(self, provider: Provider) -> httpx.AsyncClient:
        """The client requests to ``provider`` go through."""
        if getattr(provider, "in_process", False):
            key = id(provider)
            if key not in self._in_process:
                from workbench.quotes.server import create_app

                # the demo serves the generated universe too, so large fetches can be tried
                app = create_app(seed=int(getattr(provider, "seed", 7)), universe=DEMO_UNIVERSE)
                client = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), timeout=self._timeout
                )
                self._in_process[key] = await self._stack.enter_async_context(client)
            return self._in_process[key]
        if self._given is not None:
            return self._given
        if self._shared is None:
            client = make_client(concurrency=self._concurrency, timeout=self._timeout)
            self._shared = await self._stack.enter_async_context(client)
        return self._shared


def make_client(
    *,
    concurrency: int = 100,
    timeout: float = 10.0,
    verify: bool | ssl.SSLContext = True,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """The engine's default client; use it as ``async with``.

    A :class:`QuoteClient` sending ``http://`` through :class:`Http11Transport` (local quote
    servers and mirrors, where client CPU per request is the limit) and ``https://`` through
    :class:`AiohttpTransport` (public providers: aiohttp's TLS and connection handling, and
    their rate limits keep request rates far below where CPU matters).

    Args:
        concurrency: connections kept open per transport (match the concurrent requests).
        timeout: default per-request timeout in seconds.
        verify: TLS verification (True, False or an ``ssl.SSLContext``).
        headers: extra default headers.
    """
    return QuoteClient(
        # passing a transport also spares httpx building an unused httpcore pool (and its
        # TLS context, ~30 ms) for every client
        transport=Http11Transport(limit=concurrency, verify=verify),
        mounts={"https://": AiohttpTransport(limit=concurrency, verify=verify)},
        timeout=timeout,
        headers={"user-agent": USER_AGENT, **(headers or {})},
    )
