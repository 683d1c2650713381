"""The ledger notebook in the marimo editor (real Chromium, `marimo edit` on 127.0.0.1): a
broker export is previewed, nothing is written until the import button, then exactly the
previewed rows are; a file with an unknown action shows its line and cannot be imported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _browser_helpers import (
    NOTEBOOKS,
    copy_db,
    demo_template,
    free_port,
    stop_process,
    wait_healthy,
)

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SCHWAB = Path(__file__).parent / "fixtures" / "brokers" / "schwab.csv"
MARIMO = Path(sys.executable).with_name("marimo")


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """`marimo edit` of a copy of notebooks/ledger.py over a demo database, cells run on open;
    yields (URL, database, folder)."""
    home = tmp_path_factory.mktemp("editor")
    db = copy_db(demo_template(tmp_path_factory), home / "workbench.duckdb")
    shutil.copyfile(NOTEBOOKS / "ledger.py", home / "ledger.py")
    # marimo 0.25 leaves cells unrun on open unless the user config says otherwise
    (home / ".marimo.toml").write_text("[runtime]\nauto_instantiate = true\n")
    env = {
        k: v for k, v in os.environ.items() if k not in ("WORKBENCH_READ_ONLY", "WORKBENCH_TOKEN")
    }
    env |= {"WORKBENCH_DB": str(db), "HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg")}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [str(MARIMO), "edit", "ledger.py", "--headless", "--host", "127.0.0.1", "--port",
            str(port), "--no-token", "--skip-update-check", "--no-sandbox"]  # fmt: skip
    log_path = home / "marimo.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(base, proc=proc, log=log_path)
            yield base, db, home
        finally:
            stop_process(proc)


@pytest.fixture(scope="module")
def page(editor: tuple[str, Path, Path]) -> Iterator[Any]:
    """The editor page in headless Chromium, its cells run once."""
    from playwright.sync_api import sync_playwright

    base, _db, _home = editor
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        tab = browser.new_page(viewport={"width": 1400, "height": 4000})
        tab.goto(f"{base}/?file=ledger.py")
        tab.locator("input[type=file]").first.wait_for(state="attached", timeout=90_000)
        yield tab
        browser.close()


def _count(db: Path, where: str = "TRUE") -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.sql(f"SELECT count(*) FROM transactions WHERE {where}").fetchall()[0][0])


def test_broker_export_previewed_then_imported(page: Any, editor: tuple[str, Path, Path]) -> None:
    """The Schwab export: preset, 10 new rows and their types shown, nothing written; the
    button imports those 10 rows."""
    _base, db, _home = editor
    before = _count(db)
    page.locator("input[type=file]").first.set_input_files(str(SCHWAB))
    button = page.get_by_role("button", name="Import 10 rows")
    button.wait_for(timeout=60_000)
    preview = page.locator('[data-cell-name="import_preview"]')
    # tables draw after the cell's output arrives: wait for each
    for text in ("10 new", "WITHDRAWAL", "(summary rows)"):
        preview.get_by_text(text, exact=True).wait_for(timeout=30_000)
    assert preview.get_by_text("Charles Schwab").count() >= 1
    assert _count(db) == before  # previewing wrote nothing
    button.click()
    page.get_by_text("rows (0 already there)").wait_for(timeout=60_000)
    assert _count(db) == before + 10
    assert _count(db, "account = 'default' AND type = 'WITHDRAWAL'") == 1


def test_unknown_action_shows_its_line_and_blocks_the_import(
    page: Any, editor: tuple[str, Path, Path]
) -> None:
    """A Schwab-layout file with an action no preset knows: the error names line 4, and the
    import button is disabled."""
    _base, db, home = editor
    odd = home / "odd.csv"
    odd.write_text(
        '"Transactions  for account Invented ...999 as of 05/01/2024 09:00:00 AM ET"\n'
        '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"\n'
        '"01/02/2024","MoneyLink Transfer","","Tfr BANK","","","","$5,000.00"\n'
        '"02/01/2024","Mystery Move","","?","","","","$3.00"\n'
    )
    before = _count(db)
    page.locator("input[type=file]").first.set_input_files(str(odd))
    preview = page.locator('[data-cell-name="import_preview"]')
    preview.get_by_text("Nothing can be imported").wait_for(timeout=60_000)
    preview.get_by_text("(lines 4)", exact=False).first.wait_for(timeout=30_000)
    assert preview.get_by_text("unknown action 'Mystery Move'", exact=False).count() >= 1
    button = page.get_by_role("button", name="Import 0 rows")
    assert button.is_disabled()
    assert _count(db) == before
