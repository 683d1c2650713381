"""End to end in a real headless Chromium: `workbench serve` on a demo database, every app.

Kernel errors are read from the app's websocket (run mode shows a failing cell only as an
empty output and a fading toast), and each page waits for the kernel's ``completed-run``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _browser_helpers import (
    NOTEBOOKS,
    WORKBENCH,
    cell_errors,
    copy_db,
    demo_template,
    serve_process,
)

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TOKEN = "browser-test-token"
CHARTS = ".vega-embed canvas.marks, .vega-embed svg.marks"
SCREENSHOT = Path("/tmp/workbench-portfolio.png")


@dataclass
class KernelLog:
    """Kernel messages one page received over its websockets."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def record(self, payload: str | bytes) -> None:
        """Keep a JSON text frame."""
        if isinstance(payload, str):
            with contextlib.suppress(ValueError):  # not every frame is a kernel message
                self.messages.append(json.loads(payload))

    def completed(self) -> bool:
        """Whether the kernel finished its first run."""
        return any(m.get("op") == "completed-run" for m in self.messages)

    def errors(self) -> list[dict[str, Any]]:
        """Every real cell error so far."""
        return [e for m in self.messages for e in cell_errors(m)]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`workbench serve` with a token file over a fresh demo database; yields (URL, db)."""
    home = tmp_path_factory.mktemp("served")
    db = copy_db(demo_template(tmp_path_factory), home / "workbench.duckdb")
    token_file = home / "token"
    token_file.write_text(TOKEN + "\n")
    with serve_process(db, token_file=token_file) as (base, _proc):
        yield base, db


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def context(browser: Any, served: tuple[str, Path]) -> Iterator[Any]:
    """One browser session, signed in once with ?access_token= (a cookie from then on)."""
    base, _ = served
    ctx = browser.new_context(viewport={"width": 1400, "height": 5200})
    page = ctx.new_page()
    response = page.goto(f"{base}/?access_token={TOKEN}")
    assert response is not None
    assert response.status == 200
    assert page.url == f"{base}/"
    page.close()
    yield ctx
    ctx.close()


def open_app(context: Any, base: str, name: str, *, timeout: float = 90.0) -> tuple[Any, KernelLog]:
    """Open /apps/<name> and wait until its kernel completed its first run."""
    page = context.new_page()
    log = KernelLog()
    page.on("websocket", lambda ws: ws.on("framereceived", log.record))
    page.goto(f"{base}/apps/{name}")  # the bare path: redirected to the slash
    deadline = time.monotonic() + timeout
    while not log.completed():
        assert time.monotonic() < deadline, f"{name}: no completed-run in {timeout} s"
        page.wait_for_timeout(100)
    return page, log


def wait_for_charts(page: Any, count: int, *, timeout_ms: int = 60_000) -> None:
    """Wait until at least ``count`` Altair charts are drawn (inside marimo's shadow roots)."""
    charts = page.locator(CHARTS)
    waited = 0
    while charts.count() < count:
        assert waited < timeout_ms, f"only {charts.count()} of {count} charts drawn"
        page.wait_for_timeout(100)
        waited += 100


def stat_value(page: Any, label: str) -> str:
    """The shown value of the KPI tile labelled ``label``."""
    tile = page.locator(f"marimo-stat[data-label='{json.dumps(label)}']")
    return json.loads(tile.get_attribute("data-value"))


def wait_for_change(page: Any, label: str, before: str, *, timeout_ms: int = 60_000) -> str:
    """Wait until the KPI tile's value differs from ``before``; return the new value."""
    waited = 0
    while (now := stat_value(page, label)) == before:
        assert waited < timeout_ms, f"{label} stayed {before}"
        page.wait_for_timeout(100)
        waited += 100
    return now


def amount(text: str) -> float:
    """12,345.67 USD -> 12345.67"""
    return float(text.split()[0].replace(",", ""))


def import_deposit(
    db: Path, tmp_path: Path, day: str, cash: int, *, busy_timeout: str | None = None
) -> None:
    """Run ``workbench import`` of one taxable deposit in a writer process; it must succeed."""
    csv = tmp_path / "deposit.csv"
    csv.write_text(f"date,account,type,amount\n{day},taxable,DEPOSIT,{cash}\n")
    env = dict(os.environ)
    if busy_timeout is not None:
        env["WORKBENCH_BUSY_TIMEOUT"] = busy_timeout
    done = subprocess.run(
        [str(WORKBENCH), "import", str(csv), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "added 1" in done.stdout


def test_index_without_token_is_refused(browser: Any, served: tuple[str, Path]) -> None:
    """A browser without the token gets 401 on the index and on an app."""
    base, _ = served
    ctx = browser.new_context()
    page = ctx.new_page()
    assert page.goto(f"{base}/").status == 401
    assert page.goto(f"{base}/apps/portfolio/").status == 401
    ctx.close()


def test_ledger_app_read_only(context: Any, served: tuple[str, Path]) -> None:
    """The ledger renders clean with no write control; typed SQL is refused file reads and SETs."""
    page, log = open_app(context, served[0], "ledger")
    page.wait_for_selector('h1:has-text("Ledger")')
    assert log.errors() == []
    assert page.locator("text=This app is read-only").count() == 1
    assert page.locator("text=Import CSV").count() == 0
    assert page.locator("text=Record at live price").count() == 0
    assert page.locator("input[type=file]").count() == 0

    # SQL typed into the app runs in the sandbox: no server files, no settings changes
    for statement, refusal in [
        ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
        ("SET enable_external_access = true", "the configuration has been locked"),
    ]:
        page.locator(".cm-content").first.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(statement)
        page.locator("h1").first.click()  # the editor sends its value on blur
        page.get_by_text(refusal).wait_for(timeout=30_000)
    assert page.locator("text=root:x:0:0").count() == 0
    assert log.errors() == []
    page.close()


def test_quotes_app_fetches_and_charts(context: Any, served: tuple[str, Path]) -> None:
    """The quotes app fetches quotes and draws the price history and sparklines."""
    page, log = open_app(context, served[0], "quotes")
    wait_for_charts(page, 2)
    assert log.errors() == []
    assert page.locator("text=symbols priced").count() == 1
    page.close()


def test_risk_app_convention_switch(context: Any, served: tuple[str, Path]) -> None:
    """The risk app draws its charts; switching to calendar365 annualizes over 365 days."""
    page, log = open_app(context, served[0], "risk")
    wait_for_charts(page, 4)
    assert page.locator("text=252 periods a year").count() == 1
    page.get_by_text("calendar365", exact=True).click()
    page.wait_for_selector("text=365 periods a year", timeout=60_000)
    assert log.errors() == []
    page.close()


def test_portfolio_app_controls_and_a_concurrent_import(
    context: Any, served: tuple[str, Path], tmp_path: Path
) -> None:
    """Charts draw, a clicked bar filters holdings, controls change numbers, an import succeeds."""
    base, db = served
    page, log = open_app(context, base, "portfolio")
    wait_for_charts(page, 5)
    assert log.errors() == []
    page.screenshot(path=str(SCREENSHOT))
    everyone = stat_value(page, "Total value")

    # clicking the first (largest) bar of the P&L chart filters the holdings to that symbol
    pnl = page.locator(f'[data-cell-name="pnl_selector"] :is({CHARTS})').first
    box = pnl.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 75, box["y"] + box["height"] * 0.35)
    page.get_by_text("Holdings — ").wait_for(timeout=30_000)
    assert log.errors() == []

    page.locator("select").first.select_option("taxable")
    taxable = wait_for_change(page, "Total value", everyone)
    assert amount(taxable) < amount(everyone)

    # a writer process imports while the app is open: it must get the file and succeed
    import_deposit(db, tmp_path, "2025-12-31", 1000)

    # any control re-reads the database: the deposit shows up in cash and total value
    page.locator("select").nth(1).select_option("lifo")
    after = wait_for_change(page, "Total value", taxable)
    assert amount(after) == pytest.approx(amount(taxable) + 1000, abs=0.01)
    assert log.errors() == []
    page.close()


def test_gains_app_table_chart_and_what_if(context: Any, served: tuple[str, Path]) -> None:
    """The gains app: 2025 fills the lots table and the monthly chart with the rows `workbench
    gains --year 2025` gives; the what-if compares the four methods in a table and a chart."""
    from workbench.analytics.gains import load_gains

    base, db = served
    expected = load_gains(db, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    page, log = open_app(context, base, "gains")
    page.wait_for_selector('h1:has-text("Realized gains")')
    page.get_by_text("By cost method").wait_for(timeout=60_000)
    wait_for_charts(page, 1)  # the what-if chart (this year has no sales in the demo)
    page.locator("select").first.select_option("2025")
    page.get_by_text(f"{expected.rows.height:,} rows (one per sale and lot)").wait_for(
        timeout=60_000
    )
    wait_for_charts(page, 2)
    total = expected.totals()["total"]["gain"]
    assert stat_value(page, "Total gain") == f"{total:,.2f} USD"
    comparison = page.locator('[data-cell-name="sale_comparison"]')
    for method in ("fifo", "lifo", "hifo", "average"):
        assert comparison.get_by_text(method, exact=True).count() >= 1
    assert page.get_by_text("Selling ").count() == 1
    assert log.errors() == []
    page.screenshot(path="/tmp/workbench-gains.png")
    page.close()


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory, browser: Any
) -> Iterator[tuple[str, Path, Any]]:
    """`workbench serve` with a 3 s SQL deadline on its own database; yields (URL, db, context)."""
    home = tmp_path_factory.mktemp("limited")
    db = copy_db(demo_template(tmp_path_factory), home / "workbench.duckdb")
    with serve_process(db, token=TOKEN, extra_env={"WORKBENCH_SQL_TIMEOUT": "3"}) as (base, _):
        ctx = browser.new_context(viewport={"width": 1400, "height": 4000})
        ctx.new_page().goto(f"{base}/?access_token={TOKEN}")
        yield base, db, ctx
        ctx.close()


def type_sql(page: Any, statement: str) -> None:
    """Replace the ledger's SQL with ``statement`` and send it (the editor sends on blur)."""
    page.locator(".cm-content").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(statement)
    page.locator("h1").first.click()


def test_ledger_sql_deadline_row_cap_and_no_paths(limited: tuple[str, Path, Any]) -> None:
    """Typed SQL stops at the deadline, long results are capped with a note, no path shows."""
    base, db, ctx = limited
    page, log = open_app(ctx, base, "ledger")
    type_sql(page, "SELECT count(*) FROM range(10000000) a, range(10000000) b")
    page.get_by_text("viewer queries have a 3 s deadline").wait_for(timeout=60_000)
    type_sql(page, "SELECT range AS x, range * 2 AS y FROM range(1000000)")
    page.get_by_text("Showing the first 10,000 rows").wait_for(timeout=60_000)
    type_sql(page, "SELECT * FROM duckdb_databases()")
    page.get_by_text("system", exact=True).first.wait_for(timeout=60_000)
    shown = page.content()
    assert str(db.parent) not in shown
    assert str(NOTEBOOKS) not in shown
    assert log.errors() == []
    page.close()


def test_closed_tab_with_a_running_query_does_not_stop_writers(
    limited: tuple[str, Path, Any], tmp_path: Path
) -> None:
    """A viewer starts a query of minutes and closes the tab: an import succeeds right after."""
    base, db, ctx = limited
    page, _log = open_app(ctx, base, "ledger")
    type_sql(page, "SELECT count(*) FROM range(10000000) a, range(20000000) b")
    page.wait_for_timeout(1000)  # the query is running in the server now
    page.close()
    import_deposit(db, tmp_path, "2025-12-30", 5, busy_timeout="20")
