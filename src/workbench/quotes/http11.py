"""The ``http://`` transport: :class:`Http11Transport`, lean keep-alive HTTP/1.1 on asyncio.

:func:`~workbench.quotes.client.make_client` mounts it for local quote servers and mirrors,
where client CPU per request is the limit (httpcore's own costs far more; see
:mod:`workbench.quotes.client`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Any

import httpx


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
