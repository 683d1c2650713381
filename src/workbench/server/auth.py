"""Token authentication for ``workbench serve``: one shared token guards every route but /healthz.

A request is let through when it carries the token in any of three ways:

- ``Authorization: Bearer <token>`` (scripts, ``curl``);
- ``?access_token=<token>`` in the URL, once: the server answers with a redirect to the same
  address (on this server, whatever the path looks like) without the token and sets a session
  cookie, so the token does not stay in the address bar, the history or links copied from the page;
- that cookie, which the browser then sends with every page, asset and the kernel websocket.

Anything else gets 401 (a websocket is closed with code 1008 before it is accepted).
The cookie holds an expiry time and an HMAC of it keyed by the token, never the token itself;
it lasts ``cookie_max_age`` seconds, and ``/signout`` deletes it (and refuses it from then on).

Cross-site use is refused: a websocket, a request authenticated by the cookie, any request
that is not GET/HEAD, or any request to ``/signout``, whose ``Origin`` header names another site
than the ``Host`` it was sent to gets 403, so a page on another port or host cannot ride on a
signed-in browser (nor sign it out).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE_NAME = "workbench_session"
QUERY_PARAM = "access_token"
TOKEN_ENV = "WORKBENCH_TOKEN"
#: routes that answer without a token (load balancers and uptime checks)
PUBLIC_PATHS = frozenset({"/healthz"})
SIGNOUT_PATH = "/signout"
#: how long the session cookie lasts by default: a working day
DEFAULT_COOKIE_MAX_AGE = 12 * 3600
#: characters a redirect's path keeps as they are (no "%": a decoded "%" is encoded again)
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def load_token(token_file: str | os.PathLike[str] | None = None) -> str | None:
    """The configured token: the first line of ``token_file``, else ``WORKBENCH_TOKEN``, else None.

    Raises:
        WorkbenchError: the token file cannot be read, is not UTF-8 or its first line is blank;
            ``WORKBENCH_TOKEN`` is set but blank (serving openly by mistake).
    """
    if token_file is not None:
        path = Path(token_file)
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise WorkbenchError(f"cannot read token file {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise WorkbenchError(
                f"token file {path} is not UTF-8 text (byte {exc.start + 1} of the file)"
            ) from None
        lines = text.lstrip("\ufeff").splitlines()
        token = lines[0].strip() if lines else ""
        if not token:
            raise WorkbenchError(f"token file {path}: the first line (the token) is empty")
        return token
    raw = os.environ.get(TOKEN_ENV)
    if raw is None:
        return None
    token = raw.strip()
    if not token:
        raise WorkbenchError(
            f"{TOKEN_ENV} is set but blank: set a token, or unset it to serve without one"
        )
    return token


def _signature(token: str, expires: int) -> str:
    message = f"workbench-session-v2|{expires}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def session_value(
    token: str, *, max_age: int = DEFAULT_COOKIE_MAX_AGE, now: float | None = None
) -> str:
    """A cookie value for ``token``: ``<expiry>.<HMAC of it>``, never the token itself."""
    expires = int(now if now is not None else time.time()) + max_age
    return f"{expires}.{_signature(token, expires)}"


def cookie_values(header: str, name: str) -> list[str]:
    """Every value of cookie ``name`` in a ``Cookie`` header, read leniently.

    Unlike ``http.cookies.SimpleCookie`` one malformed cookie of another site's app (a space, a
    comma, a bare word) does not hide the others: pairs are split on ``;`` and read one by one.
    """
    found = []
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            found.append(value)
    return found


def same_origin(origin: str, host: str) -> bool:
    """Whether an ``Origin`` header names the site at ``host`` (the ``Host`` header)."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc or not host:
        return False
    default = {"http": ":80", "https": ":443"}[parts.scheme]
    return parts.netloc.lower().removesuffix(default) == host.strip().lower().removesuffix(default)


def local_path(path: str) -> str:
    """``path`` as a redirect target that stays on this server, percent-encoded.

    ``//evil.example/`` would be read by a browser as another host; any run of leading slashes
    or backslashes becomes one slash, and characters outside ASCII are encoded (not a 500).
    """
    return "/" + quote(path.lstrip("/\\"), safe=_PATH_SAFE)


class TokenAuth:
    """ASGI middleware requiring the token on every route except :data:`PUBLIC_PATHS`.

    Args:
        app: the application to protect.
        token: the shared secret; ``None`` or empty lets everything through (the Origin rule
            for websockets and non-GET requests still holds).
        secure_cookie: mark the session cookie ``Secure`` (behind an HTTPS proxy).
        cookie_max_age: seconds the session cookie lasts.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        secure_cookie: bool = False,
        cookie_max_age: int = DEFAULT_COOKIE_MAX_AGE,
    ) -> None:
        self.app = app
        self.token = token or None
        self.secure_cookie = secure_cookie
        self.cookie_max_age = cookie_max_age
        #: signed-out cookie values, until they expire anyway
        self._revoked: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cross_site = "origin" in headers and not same_origin(
            headers["origin"], headers.get("host", "")
        )
        unsafe = scope["type"] == "websocket" or scope["method"] not in ("GET", "HEAD")
        if scope["path"] == SIGNOUT_PATH and scope["type"] == "http":
            # signing out changes state whatever the method: another site may not do it
            if cross_site:
                await self._refuse(scope, receive, send, status=403, reason="cross-site request")
            else:
                await self._sign_out(headers, send)
            return
        if scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        if cross_site and (unsafe or self._cookie_ok(headers)):
            await self._refuse(scope, receive, send, status=403, reason="cross-site request")
            return
        if self.token is None or self._bearer_ok(headers) or self._cookie_ok(headers):
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
        return (
            self.token is not None and scheme.lower() == "bearer" and self._matches(value.strip())
        )

    def _valid_session(self, value: str) -> bool:
        if self.token is None or value in self._revoked:
            return False
        expires, _, signature = value.partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(
            signature.encode(), _signature(self.token, int(expires)).encode()
        )

    def _cookie_ok(self, headers: dict[str, str]) -> bool:
        return any(
            self._valid_session(v) for v in cookie_values(headers.get("cookie", ""), COOKIE_NAME)
        )

    def _cookie(self, value: str, max_age: int) -> bytes:
        cookie = f"{COOKIE_NAME}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
        return (cookie + ("; Secure" if self.secure_cookie else "")).encode("latin-1")

    async def _redirect_with_cookie(
        self, scope: Scope, query: list[tuple[str, str]], send: Send
    ) -> None:
        assert self.token is not None
        rest = urlencode([(k, v) for k, v in query if k != QUERY_PARAM])
        location = local_path(scope.get("root_path", "") + scope["path"]) + (
            f"?{rest}" if rest else ""
        )
        value = session_value(self.token, max_age=self.cookie_max_age)
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("ascii")),
                    (b"set-cookie", self._cookie(value, self.cookie_max_age)),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def _sign_out(self, headers: dict[str, str], send: Send) -> None:
        now = int(time.time())
        self._revoked = {v: e for v, e in self._revoked.items() if e >= now}
        for value in cookie_values(headers.get("cookie", ""), COOKIE_NAME):
            if self._valid_session(value):
                self._revoked[value] = int(value.partition(".")[0])
        body = (
            b'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title>'
            b"</head><body><p>Signed out of workbench. Open the address with"
            b" <code>?access_token=...</code> to sign in again.</p></body></html>\n"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"set-cookie", self._cookie("", 0)),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        status: int = 401,
        reason: str = "token required",
    ) -> None:
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            await send({"type": "websocket.close", "code": 1008, "reason": reason})
            return
        if status == 401:
            body = b"401 Unauthorized: this workbench needs a token (?access_token=... or Bearer)\n"
        else:
            body = f"{status} Forbidden: {reason} (the Origin is another site)\n".encode()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="workbench"'))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
