"""Token authentication for ``workbench serve``: one shared token guards every route but /healthz.

A request is let through when it carries the token in any of three ways:

- ``Authorization: Bearer <token>`` (scripts, ``curl``);
- ``?access_token=<token>`` in the URL, once: the server answers with a redirect to the same
  address without the token and sets a session cookie, so the token does not stay in the
  address bar, the history or links copied from the page;
- that cookie, which the browser then sends with every page, asset and the kernel websocket.

Anything else gets 401 (a websocket is closed with code 1008 before it is accepted).
The cookie holds an HMAC of the token, not the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE_NAME = "workbench_session"
QUERY_PARAM = "access_token"
#: routes that answer without a token (load balancers and uptime checks)
PUBLIC_PATHS = frozenset({"/healthz"})


def load_token(token_file: str | os.PathLike[str] | None = None) -> str | None:
    """The configured token: the first line of ``token_file``, else ``WORKBENCH_TOKEN``, else None.

    Raises:
        WorkbenchError: the token file cannot be read or is empty.
    """
    if token_file is not None:
        path = Path(token_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise WorkbenchError(f"cannot read token file {path}: {exc.strerror}") from exc
        if not token:
            raise WorkbenchError(f"token file {path} is empty")
        return token
    token = os.environ.get("WORKBENCH_TOKEN", "").strip()
    return token or None


def session_value(token: str) -> str:
    """The cookie value for ``token``: an HMAC, so the cookie never holds the token itself."""
    return hmac.new(token.encode(), b"workbench-session-v1", hashlib.sha256).hexdigest()


class TokenAuth:
    """ASGI middleware requiring the token on every route except :data:`PUBLIC_PATHS`.

    Args:
        app: the application to protect.
        token: the shared secret; ``None`` or empty lets everything through.
        secure_cookie: mark the session cookie ``Secure`` (behind an HTTPS proxy).
    """

    def __init__(self, app: ASGIApp, *, token: str | None, secure_cookie: bool = False) -> None:
        self.app = app
        self.token = token or None
        self.secure_cookie = secure_cookie
        self._session = session_value(token) if token else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self._bearer_ok(headers) or self._cookie_ok(headers):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        offered = [v for k, v in query if k == QUERY_PARAM]
        if offered and self._matches(offered[-1]):
            if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
                await self._redirect_with_cookie(scope, query, send)
            else:
                await self.app(scope, receive, send)
            return
        await self._refuse(scope, receive, send)

    def _matches(self, offered: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def _bearer_ok(self, headers: dict[str, str]) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self._matches(value.strip())

    def _cookie_ok(self, headers: dict[str, str]) -> bool:
        raw = headers.get("cookie")
        if not raw:
            return False
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except Exception:  # a malformed Cookie header is the client's problem, not a 500
            return False
        morsel = jar.get(COOKIE_NAME)
        return morsel is not None and hmac.compare_digest(morsel.value, self._session)

    async def _redirect_with_cookie(
        self, scope: Scope, query: list[tuple[str, str]], send: Send
    ) -> None:
        rest = urlencode([(k, v) for k, v in query if k != QUERY_PARAM])
        location = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
        cookie = f"{COOKIE_NAME}={self._session}; Path=/; HttpOnly; SameSite=Lax"
        if self.secure_cookie:
            cookie += "; Secure"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", cookie.encode("latin-1")),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            await send({"type": "websocket.close", "code": 1008, "reason": "token required"})
            return
        body = b"401 Unauthorized: this workbench needs a token (?access_token=... or Bearer)\n"
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="workbench"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
