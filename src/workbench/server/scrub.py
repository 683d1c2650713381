"""Keep the server's filesystem paths out of what viewers receive.

marimo's app page carries the notebook's absolute path, its directory and the Python path in
its mount configuration, and notebooks may mention the database file in a message. Viewers need
none of that: :class:`PathScrubber` rewrites every textual HTTP response and every websocket
text frame, replacing each configured directory with ``.`` (``<dir>/name`` with ``name``) and
the database file with its bare name.

    app = PathScrubber(app, database=db, directories=[notebooks_dir, Path.cwd()])
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: content types that are rewritten (assets like JavaScript and images pass untouched)
_TEXTUAL = (b"text/html", b"application/json", b"text/plain")


def replacements(
    database: str | os.PathLike[str] | None, directories: Iterable[str | os.PathLike[str]]
) -> list[tuple[str, str]]:
    """(path, shown as) pairs, longest path first, so a file is replaced before its directory."""
    pairs: dict[str, str] = {}
    if database is not None:
        db = Path(database).resolve()
        pairs[str(db)] = db.name
    for directory in directories:
        resolved = Path(directory).resolve()
        if len(resolved.parts) < 2:  # never "/" itself: that would rewrite every path
            continue
        pairs[str(resolved) + os.sep] = ""
        pairs[str(resolved)] = "."
    return sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)


def scrub(text: str, pairs: list[tuple[str, str]]) -> str:
    """``text`` with every path in ``pairs`` replaced."""
    for path, shown in pairs:
        if path in text:
            text = text.replace(path, shown)
    return text


class PathScrubber:
    """ASGI middleware replacing server paths in textual responses and websocket frames."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        database: str | os.PathLike[str] | None,
        directories: Iterable[str | os.PathLike[str]],
    ) -> None:
        self.app = app
        self.pairs = replacements(database, directories)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.app(scope, receive, self._websocket_send(send))
        elif scope["type"] == "http":
            await self.app(scope, receive, self._http_send(send))
        else:
            await self.app(scope, receive, send)

    def _websocket_send(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "websocket.send" and message.get("text"):
                message = {**message, "text": scrub(message["text"], self.pairs)}
            elif message["type"] == "websocket.send" and message.get("bytes"):
                data: bytes = message["bytes"]
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    pass
                else:
                    message = {**message, "bytes": scrub(text, self.pairs).encode("utf-8")}
            await send(message)

        return wrapped

    def _http_send(self, send: Send) -> Send:
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                sent = dict(message.get("headers", []))
                textual = sent.get(b"content-type", b"").startswith(_TEXTUAL)
                if textual and b"content-encoding" not in sent:
                    start = dict(message)  # hold it: the length changes
                    return
                await send(message)
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                with contextlib.suppress(UnicodeDecodeError):  # not UTF-8: left as it is
                    body = scrub(body.decode("utf-8"), self.pairs).encode("utf-8")
                headers = [
                    (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
                ]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        return wrapped
