"""The serve app: token on every route but /healthz, notebooks read-only, the SQL sandbox."""

from __future__ import annotations

from pathlib import Path

import duckdb
import httpx
import polars as pl
import pytest
from _browser_helpers import (
    APP_NAMES,
    NOTEBOOKS,
    SERVE_BEARER,
    SERVE_TOKEN,
    run_app_session,
    serve_process,
)

from workbench.errors import WorkbenchError
from workbench.server import (
    COOKIE_NAME,
    create_app,
    load_token,
    run_sql,
    sandbox,
    writes_allowed,
)


@pytest.mark.asyncio
async def test_healthz_needs_no_token(client: httpx.AsyncClient) -> None:
    """/healthz answers 200 without a token and lists every app."""
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "apps": sorted(APP_NAMES)}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/apps/portfolio",
        "/apps/portfolio/",
        "/apps/ledger/",
        "/apps/ledger/api/status",
        "/apps/risk/assets/index.js",
        "/apps/nope/",
        "/healthz/",
        "/favicon.ico",
    ],
)
async def test_every_other_route_needs_the_token(client: httpx.AsyncClient, path: str) -> None:
    """Without a token every route except /healthz answers 401."""
    response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.asyncio
async def test_post_without_token_refused(client: httpx.AsyncClient) -> None:
    """Kernel API calls without a token are refused too."""
    response = await client.post("/apps/ledger/api/kernel/set_ui_element_value", json={})
    assert response.status_code == 401


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {SERVE_TOKEN}"},
        {"Authorization": "Bearer "},
        {"Cookie": f"{COOKIE_NAME}={SERVE_TOKEN}"},
        {"Cookie": f"{COOKIE_NAME}=; other=1"},
    ],
    ids=["wrong-bearer", "basic-scheme", "empty-bearer", "raw-token-cookie", "empty-cookie"],
)
async def test_wrong_credentials_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """A wrong token, another scheme, or a cookie not issued by the server gets 401."""
    assert (await client.get("/", headers=headers)).status_code == 401


@pytest.mark.asyncio
async def test_bearer_token_opens_index_and_apps(client: httpx.AsyncClient) -> None:
    """With the bearer token the index lists every app and each app page loads."""
    index = await client.get("/", headers=SERVE_BEARER)
    assert index.status_code == 200
    for name in APP_NAMES:
        assert f'href="/apps/{name}/"' in index.text
        page = await client.get(f"/apps/{name}/", headers=SERVE_BEARER)
        assert page.status_code == 200
        assert "<marimo-mode" in page.text or "marimo" in page.text


@pytest.mark.asyncio
async def test_access_token_once_sets_a_cookie(client: httpx.AsyncClient) -> None:
    """?access_token= redirects to the same address without it and sets a session cookie."""
    first = await client.get(f"/apps/ledger/?access_token={SERVE_TOKEN}&x=1")
    assert first.status_code == 303
    assert first.headers["location"] == "/apps/ledger/?x=1"
    cookie = first.cookies[COOKIE_NAME]
    assert SERVE_TOKEN not in cookie
    assert "httponly" in first.headers["set-cookie"].lower()
    session = {"Cookie": f"{COOKIE_NAME}={cookie}"}
    follow = await client.get("/apps/ledger/?x=1", headers=session)
    assert follow.status_code == 200
    other = await client.get("/", headers=session)
    assert other.status_code == 200


@pytest.mark.asyncio
async def test_wrong_access_token_refused(client: httpx.AsyncClient) -> None:
    """A wrong ?access_token= gets 401 and no cookie."""
    response = await client.get("/?access_token=nope")
    assert response.status_code == 401
    assert COOKIE_NAME not in response.cookies


@pytest.mark.asyncio
async def test_bare_app_path_redirects_to_slash(client: httpx.AsyncClient) -> None:
    """/apps/<name> redirects to the absolute /apps/<name>/ (marimo's own is relative and 404s)."""
    response = await client.get("/apps/portfolio?view=1", headers=SERVE_BEARER)
    assert response.status_code == 307
    assert response.headers["location"] == "/apps/portfolio/?view=1"
    missing = await client.get("/apps/nope", headers=SERVE_BEARER)
    assert missing.status_code == 404


@pytest.mark.asyncio
async def test_app_pages_hide_code(client: httpx.AsyncClient) -> None:
    """The app page ships no notebook source."""
    page = await client.get("/apps/ledger/", headers=SERVE_BEARER)
    assert page.status_code == 200
    assert "run_sql(db, sql_text)" not in page.text  # a line of the ledger notebook's source
    assert "filter_transactions(" not in page.text


@pytest.mark.asyncio
async def test_open_without_a_token_configured(demo_db: Path, app_env: None) -> None:
    """With no token configured the routes are open."""
    app = create_app(notebooks=NOTEBOOKS, token=None, database=demo_db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/")).status_code == 200


def test_websocket_without_token_refused(live_server: str) -> None:
    """The kernel websocket of an app is refused without the token."""
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as info:
        run_app_session(live_server, "ledger", timeout=20)
    assert info.value.response.status_code == 403


def test_ledger_app_session_is_read_only(live_server: str, demo_db: Path) -> None:
    """In app mode the ledger runs clean, hides its code and shows no write control."""
    before = demo_db.stat().st_mtime_ns
    run = run_app_session(live_server, "ledger", headers=SERVE_BEARER)
    assert run.outcome == "succeeded"
    assert run.errors == []
    assert set(run.codes) == {""}
    everything = run.all_output()
    assert "read-only" in run.output_of("edit_notice")
    assert "Import CSV" not in everything
    assert "marimo-file" not in everything
    assert "Record" not in everything
    assert "marimo-table" in run.output_of("sql_result")
    assert demo_db.stat().st_mtime_ns == before


def test_writer_can_import_after_an_app_session(
    live_server: str, demo_db: Path, tmp_path: Path
) -> None:
    """Apps hold the database only briefly: an import succeeds right after a session ran."""
    from workbench.ledger import import_csv

    run_app_session(live_server, "ledger", headers=SERVE_BEARER)
    csv = tmp_path / "more.csv"
    csv.write_text("date,account,type,amount\n2025-12-31,taxable,DEPOSIT,123.45\n")
    assert import_csv(demo_db, csv).added == 1


def test_sandbox_refuses_reading_server_files(demo_db: Path) -> None:
    """SQL in the sandbox cannot read files on the server."""
    with sandbox(demo_db) as con, pytest.raises(duckdb.PermissionException):
        con.sql("SELECT * FROM read_csv('/etc/passwd')").fetchall()


@pytest.mark.parametrize(
    "statement",
    [
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "SET python_enable_replacements = true",
    ],
)
def test_sandbox_refuses_changing_settings(demo_db: Path, statement: str) -> None:
    """Every SET/RESET fails: the configuration is locked."""
    with sandbox(demo_db) as con, pytest.raises(duckdb.Error, match="locked"):
        con.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO accounts (name, currency) VALUES ('evil', 'USD')",
        "DELETE FROM transactions",
        "DROP TABLE prices",
        "CREATE TABLE t AS SELECT 1",
    ],
)
def test_sandbox_is_read_only(demo_db: Path, statement: str) -> None:
    """A viewer's statement that would change anything is refused; the file is untouched."""
    before = demo_db.read_bytes()
    result = run_sql(demo_db, statement)
    assert result.frame is None
    assert result.error is not None
    assert "read-only" in result.error
    assert demo_db.read_bytes() == before


def test_sandbox_cannot_see_python_variables(demo_db: Path) -> None:
    """A DataFrame in scope is not readable by name (replacement scans are off)."""
    secret_frame = pl.DataFrame({"api_key": ["do-not-leak"]})
    assert secret_frame.height == 1
    with sandbox(demo_db) as con, pytest.raises(duckdb.CatalogException):
        con.sql("SELECT * FROM secret_frame").fetchall()


def test_sandbox_reads_the_ledger(demo_db: Path) -> None:
    """Plain queries over the tables still work in the sandbox."""
    with sandbox(demo_db) as con:
        count = con.sql("SELECT count(*) FROM transactions").fetchall()[0][0]
    assert count == 2062  # the seed-7 demo ledger (four accounts, FX rows included)


def test_writes_allowed_only_in_the_editor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write controls show only in edit mode, and never under serve's read-only flag."""
    monkeypatch.delenv("WORKBENCH_READ_ONLY", raising=False)
    assert writes_allowed("edit")
    assert not any(writes_allowed(mode) for mode in ("run", "script", "test", None))
    monkeypatch.setenv("WORKBENCH_READ_ONLY", "1")
    assert not writes_allowed("edit")


def test_load_token_from_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token comes from the file's first line, else WORKBENCH_TOKEN, else none."""
    monkeypatch.delenv("WORKBENCH_TOKEN", raising=False)
    assert load_token(None) is None
    monkeypatch.setenv("WORKBENCH_TOKEN", " from-env \n")
    assert load_token(None) == "from-env"
    path = tmp_path / "token"
    path.write_text("from-file\n")
    assert load_token(path) == "from-file"
    path.write_text("  \n")
    with pytest.raises(WorkbenchError, match="empty"):
        load_token(path)
    with pytest.raises(WorkbenchError, match="cannot read"):
        load_token(tmp_path / "missing")


def test_serve_builds_the_demo_database_then_prints_the_url(tmp_path: Path) -> None:
    """`workbench serve` on a missing database builds the demo first, serves, prints the URL."""
    db = tmp_path / "fresh" / "workbench.duckdb"
    db.parent.mkdir()
    with serve_process(db, token=SERVE_TOKEN) as (base, _proc):
        assert db.exists()
        assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
        assert httpx.get(f"{base}/").status_code == 401
        assert httpx.get(f"{base}/", headers=SERVE_BEARER).status_code == 200
    log = (db.parent / "serve.log").read_text()
    assert f"{base}/" in log
    assert "demo" in log
    assert SERVE_TOKEN not in log


def test_filter_transactions_combines_every_filter() -> None:
    """Account, type, symbol text and dates all narrow the ledger; empty filters keep all."""
    import datetime as dt

    from workbench.server.views import filter_transactions

    ledger = pl.DataFrame(
        {
            "date": [dt.date(2024, 1, d) for d in (1, 2, 3, 4)],
            "account": ["a", "a", "b", "b"],
            "type": ["BUY", "DEPOSIT", "BUY", "SELL"],
            "symbol": ["ACME", None, "acme-x", "NWND"],
        }
    )
    assert filter_transactions(ledger).height == 4
    assert filter_transactions(ledger, symbol="acme")["date"].dt.day().to_list() == [1, 3]
    picked = filter_transactions(
        ledger, accounts=["b"], types=["buy", "sell"], start=dt.date(2024, 1, 4)
    )
    assert picked["symbol"].to_list() == ["NWND"]


def test_price_returns_and_alignment() -> None:
    """Close-to-close returns; benchmark days missing from the portfolio's calendar count 0."""
    import datetime as dt

    from workbench.server.views import align_returns, price_returns

    days = [dt.date(2024, 1, d) for d in (1, 2, 3)]
    prices = pl.DataFrame({"symbol": ["X"] * 3, "date": days, "close": [100.0, 110.0, 99.0]})
    bench = price_returns(prices, "X")
    assert bench["return"].to_list() == pytest.approx([0.10, -0.10])
    portfolio = pl.DataFrame(
        {"date": [*days, dt.date(2024, 1, 4)], "return": [0.0, 0.01, 0.02, 0.03]}
    )
    aligned = align_returns(portfolio, bench)
    assert aligned["benchmark"].to_list() == pytest.approx([0.0, 0.10, -0.10, 0.0])


def test_number_formatting() -> None:
    """Money, percent and ratio text, with a dash for missing values."""
    from workbench.server.views import money, percent, ratio

    assert money(1234.567, currency="USD") == "1,234.57 USD"
    assert percent(0.12345) == "+12.35%"
    assert percent(-0.5, signed=False) == "-50.00%"
    assert ratio(float("nan")) == "—"
    assert money(None) == "—"
