"""Hardening of `workbench serve`: cookies, redirects, Origin, sign-out, tokens, hidden paths."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from _browser_helpers import (
    NOTEBOOKS,
    SERVE_BEARER,
    SERVE_TOKEN,
    copy_db,
    run_app_session,
    uvicorn_thread,
)
from click.testing import CliRunner

from workbench.errors import WorkbenchError
from workbench.server import COOKIE_NAME, create_app, load_token


async def signed_in_cookie(client: httpx.AsyncClient) -> str:
    """The session cookie value the server sets for ?access_token=."""
    response = await client.get(f"/?access_token={SERVE_TOKEN}")
    assert response.status_code == 303
    match = re.search(rf"{COOKIE_NAME}=([^;]+)", response.headers["set-cookie"])
    assert match is not None
    return match.group(1)


@pytest.mark.asyncio
async def test_foreign_cookie_with_a_space_does_not_hide_ours(client: httpx.AsyncClient) -> None:
    """A cookie of another local app such as `theme=dark mode` does not make ours unreadable."""
    value = await signed_in_cookie(client)
    for header in (
        f"theme=dark mode; {COOKIE_NAME}={value}",
        f"{COOKIE_NAME}={value}; theme=dark mode",
        f'a="unterminated; {COOKIE_NAME}={value}; b=x,y',
    ):
        response = await client.get("/", headers={"Cookie": header})
        assert response.status_code == 200, header


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    [
        pytest.param("//evil.example/", id="protocol-relative"),
        pytest.param("///evil.example/", id="three-slashes"),
        pytest.param("/\\evil.example/", id="backslash"),
    ],
)
async def test_token_redirect_stays_on_this_server(client: httpx.AsyncClient, path: str) -> None:
    """The ?access_token= redirect never points at another host, whatever the path."""
    response = await client.get(f"http://testserver{path}?access_token={SERVE_TOKEN}")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/")
    assert not location.startswith(("//", "/\\"))
    assert httpx.URL("http://testserver").join(location).host == "testserver"


@pytest.mark.asyncio
async def test_non_latin1_path_is_not_a_server_error(client: httpx.AsyncClient) -> None:
    """A path with characters outside Latin-1 gets a redirect or a 404, never a 500."""
    response = await client.get(f"/caf\u00e9/\u20ac\u6f22?access_token={SERVE_TOKEN}")
    assert response.status_code == 303
    assert response.headers["location"] == "/caf%C3%A9/%E2%82%AC%E6%BC%A2"
    for path in ("/\u20ac", "/apps/\u20ac", "/apps/\u20ac/"):
        assert (await client.get(path, headers=SERVE_BEARER)).status_code == 404


@pytest.mark.asyncio
async def test_session_cookie_expires(client: httpx.AsyncClient, protected_app: Any) -> None:
    """The cookie carries Max-Age, and the server refuses a cookie past its expiry."""
    response = await client.get(f"/?access_token={SERVE_TOKEN}")
    assert "Max-Age=43200" in response.headers["set-cookie"]  # 12 h = 43,200 s
    from workbench.server.auth import session_value

    stale = session_value(SERVE_TOKEN, max_age=60, now=time.time() - 120)  # expired a minute ago
    fresh = session_value(SERVE_TOKEN, max_age=60)
    assert (await client.get("/", headers={"Cookie": f"{COOKIE_NAME}={stale}"})).status_code == 401
    assert (await client.get("/", headers={"Cookie": f"{COOKIE_NAME}={fresh}"})).status_code == 200
    forged = fresh.split(".")[0] + "9." + fresh.split(".")[1]  # a later expiry, same signature
    assert (await client.get("/", headers={"Cookie": f"{COOKIE_NAME}={forged}"})).status_code == 401


@pytest.mark.asyncio
async def test_sign_out_deletes_and_revokes_the_cookie(client: httpx.AsyncClient) -> None:
    """/signout clears the cookie in the browser and refuses that cookie from then on."""
    value = await signed_in_cookie(client)
    cookie = {"Cookie": f"{COOKIE_NAME}={value}"}
    assert (await client.get("/", headers=cookie)).status_code == 200
    index = (await client.get("/", headers=cookie)).text
    assert 'href="/signout"' in index
    response = await client.get("/signout", headers=cookie)
    assert response.status_code == 200
    assert f"{COOKIE_NAME}=;" in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert (await client.get("/", headers=cookie)).status_code == 401


@pytest.mark.asyncio
async def test_cookie_request_from_another_origin_is_refused(client: httpx.AsyncClient) -> None:
    """A cookie-authenticated request whose Origin is another site gets 403; same-site works."""
    value = await signed_in_cookie(client)
    cookie = f"{COOKIE_NAME}={value}"
    foreign = {"Cookie": cookie, "Origin": "http://testserver:8080"}
    assert (await client.get("/", headers=foreign)).status_code == 403
    assert (
        await client.post("/apps/ledger/api/kernel/instantiate", headers=foreign)
    ).status_code == 403
    same = {"Cookie": cookie, "Origin": "http://testserver"}
    assert (await client.get("/", headers=same)).status_code == 200


def test_websocket_from_another_origin_is_refused(live_server: str) -> None:
    """The kernel websocket with a valid cookie but a foreign Origin is refused before it opens."""
    from websockets.exceptions import InvalidStatus

    response = httpx.get(f"{live_server}/?access_token={SERVE_TOKEN}", follow_redirects=False)
    value = response.cookies[COOKIE_NAME]
    port = int(live_server.rsplit(":", 1)[1])
    cookie = {"Cookie": f"{COOKIE_NAME}={value}"}
    with pytest.raises(InvalidStatus) as info:
        run_app_session(
            live_server,
            "ledger",
            headers=cookie | {"Origin": f"http://127.0.0.1:{port + 1}"},
            timeout=20,
        )
    assert info.value.response.status_code == 403
    run = run_app_session(
        live_server, "ledger", headers=cookie | {"Origin": f"http://127.0.0.1:{port}"}
    )
    assert run.outcome == "succeeded"
    assert run.errors == []


@pytest.mark.asyncio
async def test_pages_show_no_server_path(client: httpx.AsyncClient, demo_db: Path) -> None:
    """The index and every app page name no directory of the server (database, notebooks)."""
    hidden = [str(demo_db.parent), str(NOTEBOOKS), str(NOTEBOOKS.parent)]
    for path in (
        "/",
        "/apps/ledger/",
        "/apps/portfolio/",
        "/apps/risk/",
        "/apps/quotes/",
        "/apps/gains/",
    ):
        response = await client.get(path, headers=SERVE_BEARER)
        assert response.status_code == 200
        leaked = [h for h in hidden if h in response.text]
        assert leaked == [], path
    assert demo_db.name in (await client.get("/", headers=SERVE_BEARER)).text


@pytest.mark.parametrize("app", ["ledger", "gains"])
def test_kernel_messages_show_no_server_path(live_server: str, demo_db: Path, app: str) -> None:
    """What an app's kernel sends a viewer names no directory of the server."""
    run = run_app_session(live_server, app, headers=SERVE_BEARER)
    assert run.errors == []
    everything = repr(run.outputs) + repr(run.names)
    assert str(demo_db.parent) not in everything
    assert str(NOTEBOOKS.parent) not in everything


def test_token_file_first_line_is_the_token(tmp_path: Path) -> None:
    """Only the first line of --token-file is the token (a comment below it is not)."""
    path = tmp_path / "token"
    path.write_text("first-line-token\n# rotated 2026-01-01 by ops\n")
    assert load_token(path) == "first-line-token"
    path.write_text("\ufeffwith-bom\r\nsecond\r\n")
    assert load_token(path) == "with-bom"


def test_non_utf8_token_file_is_a_clear_error(tmp_path: Path) -> None:
    """`serve --token-file` on a non-UTF-8 file prints one line naming it, no traceback."""
    from workbench.cli import cli

    path = tmp_path / "token"
    path.write_bytes(b"caf\xe9-token\n")
    with pytest.raises(WorkbenchError, match="not UTF-8"):
        load_token(path)
    result = CliRunner().invoke(
        cli, ["serve", "--token-file", str(path), "--db", str(tmp_path / "x.duckdb")]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "not UTF-8" in result.output
    assert str(path) in result.output


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_blank_token_in_the_environment_is_an_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """WORKBENCH_TOKEN set but blank is refused instead of serving openly."""
    monkeypatch.setenv("WORKBENCH_TOKEN", value)
    with pytest.raises(WorkbenchError, match="WORKBENCH_TOKEN"):
        load_token(None)


def test_all_interfaces_without_a_token_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: Path
) -> None:
    """`serve --host 0.0.0.0` with no token prints a warning (uvicorn.run replaced: no bind)."""
    import uvicorn

    from workbench.cli import cli

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append(kw))
    monkeypatch.delenv("WORKBENCH_TOKEN", raising=False)
    for name in ("WORKBENCH_DB", "WORKBENCH_READ_ONLY"):
        monkeypatch.setenv(name, "")
    db = copy_db(template_db, tmp_path / "workbench.duckdb")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "warning" in result.output
    assert "without a token" in result.output
    assert started
    assert started[0]["host"] == "0.0.0.0"
    started.clear()
    quiet = CliRunner().invoke(cli, ["serve", "--host", "127.0.0.1", "--db", str(db)])
    assert quiet.exit_code == 0
    assert "warning" not in quiet.output


def test_open_server_refuses_a_foreign_websocket(demo_db: Path, app_env: None) -> None:
    """Without a token the kernel websocket still refuses a page of another origin."""
    from websockets.exceptions import InvalidStatus

    app = create_app(notebooks=NOTEBOOKS, token=None, database=demo_db)
    with uvicorn_thread(app) as base:
        with pytest.raises(InvalidStatus) as info:
            run_app_session(base, "ledger", headers={"Origin": "http://evil.example"}, timeout=20)
        assert info.value.response.status_code == 403
        assert run_app_session(base, "ledger").outcome == "succeeded"
