"""Fast httpx transports and the client the fetch engine uses by default.

httpx's own transport (httpcore) costs 2-8 ms of client CPU per request here (encode/httpx#3215),
so 100 concurrent requests cannot keep up with a 20 ms server. Providers and tests keep httpx's
API; underneath, :func:`make_client` returns a :class:`QuoteClient` with

- :class:`Http11Transport` for ``http://``: a lean keep-alive HTTP/1.1 client on asyncio
  protocols (local quote servers and mirrors, where client CPU per request is the limit);
- :class:`AiohttpTransport` for ``https://``: one ``aiohttp.ClientSession`` (public providers).

Both read each body whole and hand httpx a finished response, and both map failures onto
httpx's exception tree by meaning (a refused or dropped connection is ``ConnectError`` or
``RemoteProtocolError``, never a timeout), so the engine can tell "timeout" from "unavailable".
``httpx_aiohttp.AiohttpTransport`` maps a dropped connection to ``ConnectTimeout`` and streams
bodies chunk by chunk; measured figures are in README "Quote fetching".

    async with make_client(concurrency=100) as client:
        response = await client.get("http://127.0.0.1:8765/v1/ACME")
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import socket
import ssl
import time
from typing import Any

import httpx

from workbench.quotes.base import Provider

_log = logging.getLogger("httpx")

#: generated symbols U00001... the in-process demo provider serves
DEMO_UNIVERSE = 10_000

#: identifies workbench to providers (some reject requests without a User-Agent)
USER_AGENT = "workbench/0.1 (quote fetcher)"


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


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection that parses responses as bytes arrive."""

    def __init__(self, key: tuple[str, str, int]) -> None:
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = 0
        self._buffer = bytearray()
        self._waiter: (
            asyncio.Future[tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool]] | None
        )
        self._waiter = None
        self._head: tuple[int, bytes, list[tuple[bytes, bytes]], dict[bytes, bytes]] | None = None
        self._no_body = False
        self.reusable = True

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # small requests must leave at once, not wait for Nagle's delayed-ACK dance
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is not None and not self._waiter.done():
            try:
                self._parse(eof=False)
            except _ProtocolError as exc:
                self.reusable = False
                self._waiter.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            try:
                if not self._parse(eof=True):
                    waiter.set_exception(_Disconnected(bool(self._buffer)))
            except _ProtocolError as error:
                waiter.set_exception(error)

    # -- requests -------------------------------------------------------------------------------

    def send(self, data: bytes, *, head: bool) -> asyncio.Future[Any]:
        """Write one request; resolves to (status, reason, headers, body, content-encoded?)."""
        assert self.transport is not None
        self._buffer.clear()
        self._head = None
        self._no_body = head
        self.used += 1
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    def close(self) -> None:
        """Drop the connection (after errors, cancellation or ``Connection: close``)."""
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def _parse(self, *, eof: bool) -> bool:
        """Complete the waiter if the buffer holds a whole response; whether it did."""
        buffer = self._buffer
        while self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > 65536:
                    raise _ProtocolError("response head larger than 64 KiB")
                return False
            lines = bytes(buffer[:end]).split(b"\r\n")
            del buffer[: end + 4]
            parts = lines[0].split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
                raise _ProtocolError(f"bad status line {lines[0][:60]!r}")
            status = int(parts[1])
            headers: list[tuple[bytes, bytes]] = []
            index: dict[bytes, bytes] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(b":")
                if not sep:
                    raise _ProtocolError(f"bad header line {line[:60]!r}")
                name, value = name.strip(), value.strip()
                headers.append((name, value))
                index[name.lower()] = value
            if 100 <= status < 200 and status != 101:
                continue  # interim response (100 Continue): the real one follows
            if parts[0] == b"HTTP/1.0" and index.get(b"connection", b"").lower() != b"keep-alive":
                self.reusable = False
            if index.get(b"connection", b"").lower() == b"close":
                self.reusable = False
            self._head = (status, parts[2] if len(parts) > 2 else b"", headers, index)
        status, reason, headers, index = self._head
        if self._no_body or status in (204, 304):
            body = b""
        elif b"chunked" in index.get(b"transfer-encoding", b"").lower():
            decoded = _dechunk(buffer)
            if decoded is None:
                if eof:
                    raise _ProtocolError("connection closed inside a chunked body")
                return False
            body = decoded
        elif b"content-length" in index:
            try:
                length = int(index[b"content-length"])
            except ValueError as exc:
                raise _ProtocolError("bad Content-Length") from exc
            if len(buffer) < length:
                if eof:
                    raise _ProtocolError("connection closed before the whole body arrived")
                return False
            body = bytes(buffer[:length])
        else:  # no length: the body runs until the server closes the connection
            self.reusable = False
            if not eof:
                return False
            body = bytes(buffer)
        assert self._waiter is not None
        self._waiter.set_result((status, reason, headers, body, b"content-encoding" in index))
        return True


def _dechunk(buffer: bytearray) -> bytes | None:
    """The body of a complete chunked encoding in ``buffer``, or None while it is incomplete."""
    out = bytearray()
    pos = 0
    while True:
        eol = buffer.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_text = bytes(buffer[pos:eol]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise _ProtocolError(f"bad chunk size {size_text[:20]!r}") from exc
        pos = eol + 2
        if size == 0:
            # trailers (usually none) end with an empty line
            end = buffer.find(b"\r\n\r\n", pos - 2)
            return bytes(out) if end >= 0 else None
        if len(buffer) < pos + size + 2:
            return None
        out += buffer[pos : pos + size]
        pos += size + 2


class _ProtocolError(Exception):
    """The server sent something that is not HTTP/1.1."""


class _Disconnected(Exception):
    """The connection closed before a whole response arrived."""

    def __init__(self, partial: bool) -> None:
        self.partial = partial
        super().__init__("server disconnected" + (" mid-response" if partial else ""))


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("read timed out"))


def _response(
    request: httpx.Request,
    status: int,
    reason: bytes,
    headers: list[tuple[bytes, bytes]],
    content: bytes,
    *,
    encoded: bool,
) -> httpx.Response:
    """A finished ``httpx.Response`` holding ``content``.

    Without a Content-Encoding the bytes are the content, so they are handed over as read
    (httpx's ``Response(content=...)`` runs them through its decoder pipeline, ~20 us).
    """
    extensions: dict[str, Any] = {"http_version": b"HTTP/1.1", "reason_phrase": reason}
    if encoded:
        return httpx.Response(
            status, headers=headers, content=content, request=request, extensions=extensions
        )
    response = httpx.Response(
        status,
        headers=headers,
        stream=httpx.ByteStream(content),
        request=request,
        extensions=extensions,
    )
    response._content = content  # what Response.read() would have stored
    return response


class Http11Transport(httpx.AsyncBaseTransport):
    """A minimal keep-alive HTTP/1.1 client transport on asyncio protocols.

    It does what quote fetching needs and nothing more: GET-style requests with small
    bodies, Content-Length or chunked responses, keep-alive pooling of up to ``limit``
    connections, TLS through ``ssl``, and timeouts from httpx's timeout settings. No proxies,
    no HTTP/2, no streaming of large bodies. A request on a reused connection that the
    server had closed meanwhile is retried once on a fresh connection.
    """

    def __init__(self, *, limit: int = 100, verify: bool | ssl.SSLContext = True) -> None:
        self._limit = limit
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._open: set[_Connection] = set()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if isinstance(self._verify, ssl.SSLContext):
                self._ssl = self._verify
            else:
                self._ssl = httpx.create_ssl_context(verify=self._verify)
        return self._ssl

    async def _connect(
        self, key: tuple[str, str, int], request: httpx.Request, limit: float | None
    ) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(limit):
                _, conn = await loop.create_connection(
                    lambda: _Connection(key),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"connect to {host}:{port} timed out", request=request
            ) from exc
        except OSError as exc:
            raise httpx.ConnectError(
                f"cannot connect to {host}:{port}: {exc}", request=request
            ) from exc
        self._open.add(conn)
        return conn

    def _checkout(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
            self._open.discard(conn)
        return None

    def _checkin(self, conn: _Connection) -> None:
        if conn.closed or not conn.reusable:
            conn.close()
            self._open.discard(conn)
            return
        self._idle.setdefault(conn.key, []).append(conn)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over a pooled connection and return the whole response."""
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        key = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._limit)
        body = await request.aread()
        head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode(), url.raw_path)]
        head += [b"%s: %s\r\n" % (k, v) for k, v in request.headers.raw]
        data = b"".join(head) + b"\r\n" + body
        slots = self._slots
        if slots.locked():  # only a wait for a free connection needs a timer
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await slots.acquire()
            except TimeoutError as exc:
                raise httpx.PoolTimeout("no free connection in time", request=request) from exc
        else:
            await slots.acquire()
        loop = asyncio.get_running_loop()
        read_limit = timeouts.get("read")
        try:
            for attempt in range(2):
                conn = self._checkout(key)
                fresh = conn is None
                if conn is None:
                    conn = await self._connect(key, request, timeouts.get("connect"))
                waiter = conn.send(data, head=request.method == "HEAD")
                # a bare timer on the future: asyncio.timeout costs several times more per call
                timer = None if read_limit is None else loop.call_later(read_limit, _expire, waiter)
                try:
                    status, reason, headers, content, encoded = await waiter
                except _Disconnected as exc:
                    conn.close()
                    self._open.discard(conn)
                    if not fresh and not exc.partial and attempt == 0:
                        continue  # a stale keep-alive connection: once more on a new one
                    raise httpx.RemoteProtocolError(str(exc), request=request) from exc
                except _ProtocolError as exc:
                    conn.close()
                    self._open.discard(conn)
                    raise httpx.RemoteProtocolError(str(exc), request=request) from exc
                except TimeoutError as exc:
                    conn.close()
                    self._open.discard(conn)
                    raise httpx.ReadTimeout("read timed out", request=request) from exc
                except BaseException:
                    conn.close()  # cancelled mid-response: the connection state is unknown
                    self._open.discard(conn)
                    raise
                finally:
                    if timer is not None:
                        timer.cancel()
                self._checkin(conn)
                break
        finally:
            slots.release()
        return _response(request, status, reason, headers, content, encoded=encoded)

    async def aclose(self) -> None:
        """Close every connection."""
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()


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
