"""The ASGI application behind ``workbench serve``: every notebook as a read-only app.

Routes:

- ``/`` an index of the apps;
- ``/apps/<name>/`` each ``notebooks/<name>.py`` in marimo's run mode, code hidden;
- ``/apps/<name>`` a redirect to the address with the slash (marimo's own redirect is relative
  and lands on ``/apps/apps/<name>/``, a 404);
- ``/healthz`` ``{"status": "ok", ...}``, the only route that never needs the token;
- ``/signout`` deletes the session cookie (see :mod:`.auth`).

Viewers never see the server's filesystem paths (:mod:`.scrub`), their SQL runs with a deadline
and row cap (:mod:`.viewer_sql`), and Python's AST conversions are serialised so that many
kernels can start at once (:mod:`.compile_lock`).

    app = create_app(notebooks=Path("notebooks"), token="s3cret")
    uvicorn.run(app, host="127.0.0.1", port=2718)
"""

from __future__ import annotations

import ast
import html
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import config
from workbench.server import compile_lock
from workbench.server.auth import DEFAULT_COOKIE_MAX_AGE, SIGNOUT_PATH, TokenAuth, local_path
from workbench.server.sandbox import READ_ONLY_ENV, database_path
from workbench.server.scrub import PathScrubber
from workbench.server.viewer_sql import cancel_all_queries, cancel_thread_queries

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

APPS_PREFIX = "/apps"


@dataclass(frozen=True)
class NotebookApp:
    """One served notebook: its URL name, file and the title and summary shown on the index."""

    name: str
    path: Path
    title: str
    summary: str

    @property
    def url(self) -> str:
        """The app's address, with the trailing slash marimo needs."""
        return f"{APPS_PREFIX}/{self.name}/"


def default_notebooks_dir() -> Path:
    """``WORKBENCH_NOTEBOOKS``, else the checkout's ``notebooks/``, else ``./notebooks``."""
    env = os.environ.get("WORKBENCH_NOTEBOOKS")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[3] / "notebooks"
    return checkout if checkout.is_dir() else Path("notebooks")


def _describe(path: Path) -> tuple[str, str]:
    """The notebook's ``app_title`` and the first line of its module docstring, if any."""
    title, summary = path.stem.replace("_", " ").title(), ""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return title, summary
    doc = ast.get_docstring(tree)
    if doc:
        summary = doc.strip().splitlines()[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "app_title":
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                title = node.value.value
            break
    return title, summary


def discover(directory: Path) -> list[NotebookApp]:
    """Every marimo notebook in ``directory`` (``*.py`` declaring ``marimo.App``), by name.

    Files starting with ``_`` are skipped, as marimo's own directory serving does.
    """
    found: list[NotebookApp] = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if "marimo.App(" not in text:
            continue
        title, summary = _describe(path)
        found.append(NotebookApp(name=path.stem, path=path.resolve(), title=title, summary=summary))
    return found


#: the index lists these first, in this order (the dashboard before the tools)
INDEX_ORDER = {"portfolio": 0, "risk": 1, "quotes": 2, "ledger": 3}


def _index_page(apps: list[NotebookApp], database: str, *, signout: bool = False) -> str:
    apps = sorted(apps, key=lambda a: (INDEX_ORDER.get(a.name, len(INDEX_ORDER)), a.name))
    items = "\n".join(
        f'<li><a href="{html.escape(a.url)}">{html.escape(a.title)}</a>'
        f"<span>{html.escape(a.summary)}</span></li>"
        for a in apps
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>workbench</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem;
       color: #1d2330; }}
h1 {{ font-size: 1.6rem; margin-bottom: .2rem; }}
p.note {{ color: #5b6372; margin-top: 0; }}
ul {{ list-style: none; padding: 0; }}
li {{ padding: .8rem 0; border-bottom: 1px solid #e4e7ec; }}
li a {{ font-weight: 600; font-size: 1.1rem; color: #1f5fbf; text-decoration: none; }}
li span {{ display: block; color: #5b6372; }}
code {{ background: #f3f4f6; padding: .1rem .3rem; border-radius: 3px; }}
</style></head>
<body><h1>workbench</h1>
<p class="note">Read-only apps over <code>{html.escape(database)}</code>.</p>
<ul>
{items}
</ul>{'<p class="note"><a href="' + SIGNOUT_PATH + '">Sign out</a></p>' if signout else ""}
</body></html>
"""


def _session_managers(marimo_app: object) -> list[Any]:
    """The session manager of every mounted notebook."""
    managers = []
    for route in getattr(marimo_app, "routes", []):
        state = getattr(getattr(route, "app", None), "state", None)
        manager = getattr(state, "session_manager", None)
        if manager is not None:
            managers.append(manager)
    return managers


async def _close_sessions(marimo_app: object) -> None:
    """Shut down every mounted notebook's session manager (its kernels and watchers)."""
    cancel_all_queries()
    for manager in _session_managers(marimo_app):
        await manager.shutdown()


def cancel_on_close_listener() -> Any:
    """A marimo session listener: when a viewer's session ends, stop the SQL its kernel runs.

    In run mode each session's kernel is a thread of this process, and the cells (so the
    viewer's queries) run on it: its id names the queries to interrupt.
    """
    from marimo._session.events import SessionEventListener

    class CancelQueriesOnClose(SessionEventListener):
        async def on_session_closed(self, session: Any) -> None:
            kernel = getattr(getattr(session, "_kernel_manager", None), "kernel_task", None)
            cancel_thread_queries(getattr(kernel, "ident", None))

    return CancelQueriesOnClose()


def _private_directories(notebooks: Path, database: Path) -> list[Path]:
    """Directories whose paths viewers must not see (shown as ``.`` instead)."""
    package_root = Path(__file__).resolve().parents[2]  # src/ or site-packages/
    return [notebooks, notebooks.parent, database.parent, Path.cwd(), package_root, Path.home()]


def create_app(
    *,
    notebooks: Path | None = None,
    token: str | None = None,
    database: str | os.PathLike[str] | None = None,
    session_ttl: int = 120,
    secure_cookie: bool = False,
    cookie_max_age: int = DEFAULT_COOKIE_MAX_AGE,
) -> ASGIApp:
    """Build the ASGI app serving every notebook in ``notebooks`` read-only, code hidden.

    Args:
        notebooks: the directory of marimo notebooks (default :func:`default_notebooks_dir`).
        token: when set, required on every route but ``/healthz`` (see :mod:`.auth`).
        database: the database the apps read; exported as ``WORKBENCH_DB`` for the notebooks,
            since ``mo.cli_args()`` is empty under ASGI. ``None`` keeps the environment's.
        session_ttl: seconds a viewer's kernel outlives a closed tab.
        secure_cookie: mark the session cookie ``Secure`` (when served behind HTTPS).
        cookie_max_age: seconds a browser stays signed in.

    Every notebook session in this process is marked read-only (``WORKBENCH_READ_ONLY=1``),
    so no write control appears whatever mode a notebook believes it runs in.
    """
    import marimo
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
    from starlette.routing import Route

    directory = (notebooks or default_notebooks_dir()).resolve()
    if database is not None:
        os.environ["WORKBENCH_DB"] = str(Path(database).resolve())
    os.environ[READ_ONLY_ENV] = "1"
    compile_lock.install()
    apps = discover(directory)
    by_name = {a.name: a for a in apps}

    builder = marimo.create_asgi_app(quiet=True, include_code=False, session_ttl=session_ttl)
    for nb in apps:
        builder = builder.with_app(path=f"{APPS_PREFIX}/{nb.name}", root=str(nb.path))
    marimo_app = builder.build()
    for manager in _session_managers(marimo_app):
        manager.event_bus.subscribe(cancel_on_close_listener())

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "apps": sorted(by_name)})

    async def index(_request: Request) -> Response:
        return HTMLResponse(_index_page(apps, config.db_path().name, signout=token is not None))

    async def to_slash(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in by_name:
            return HTMLResponse("<h1>404 Not Found</h1>", status_code=404)
        query = request.url.query
        target = local_path(f"{request.scope.get('root_path', '')}{by_name[name].url}")
        return RedirectResponse(target + (f"?{query}" if query else ""), status_code=307)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Starlette runs no lifespan of mounted apps, so the viewers' kernels (threads with
        # their own event loops and executors) would outlive the server and hold up exit
        try:
            yield
        finally:
            await _close_sessions(marimo_app)

    ours = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/", index, methods=["GET", "HEAD"]),
            Route(APPS_PREFIX + "/{name}", to_slash, methods=["GET", "HEAD"]),
        ],
        lifespan=lifespan,
    )
    exact = {"/", "/healthz"}

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "lifespan":
            await ours(scope, receive, send)
            return
        bare_app = path.startswith(APPS_PREFIX + "/") and "/" not in path[len(APPS_PREFIX) + 1 :]
        if path in exact or bare_app:
            await ours(scope, receive, send)
        else:
            await marimo_app(scope, receive, send)

    guarded = TokenAuth(
        dispatch, token=token, secure_cookie=secure_cookie, cookie_max_age=cookie_max_age
    )
    db_path = database_path()
    return PathScrubber(
        guarded, database=db_path, directories=_private_directories(directory, db_path)
    )
