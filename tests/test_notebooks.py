"""The notebooks run headless on a fresh demo database, clean, with the package's numbers."""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import empyrical
import numpy as np
import polars as pl
import pytest
from _browser_helpers import NOTEBOOKS, copy_db, demo_template

from workbench import analytics
from workbench.demo import daily_bars, latest_price

LAST_DAY = dt.date(2025, 12, 31)  # the demo data's last price date
FIRST_DAY = dt.date(2021, 1, 4)


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once per session; tests use copies."""
    return demo_template(tmp_path_factory)


@pytest.fixture
def demo_db(template_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo database, selected with WORKBENCH_DB."""
    path = copy_db(template_db, tmp_path / "workbench.duckdb")
    monkeypatch.setenv("WORKBENCH_DB", str(path))
    monkeypatch.delenv("WORKBENCH_READ_ONLY", raising=False)
    return path


def notebook(name: str) -> Any:
    """The marimo App object of notebooks/<name>.py, freshly imported."""
    spec = importlib.util.spec_from_file_location(f"nb_{name}", NOTEBOOKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def picked(value: Any) -> SimpleNamespace:
    """A stand-in for a UI element whose ``.value`` is ``value``."""
    return SimpleNamespace(value=value)


def test_marimo_check_strict_is_clean() -> None:
    """`marimo check --strict notebooks/` reports nothing."""
    marimo = Path(sys.executable).with_name("marimo")
    done = subprocess.run(
        [str(marimo), "check", "--strict", str(NOTEBOOKS)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""


def test_every_notebook_builds_the_demo_database_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook pointed at a missing database builds the demo data first, then runs."""
    target = tmp_path / "new" / "workbench.duckdb"
    monkeypatch.setenv("WORKBENCH_DB", str(target))
    monkeypatch.delenv("WORKBENCH_READ_ONLY", raising=False)
    _, defs = notebook("ledger").run()
    assert target.exists()
    with duckdb.connect(str(target), read_only=True) as con:
        count = con.sql("SELECT count(*) FROM transactions").fetchall()[0][0]
    assert defs["transactions"].height == count > 0


def test_portfolio_kpis_match_the_report(demo_db: Path) -> None:
    """Default portfolio KPIs equal load_report's totals; the lots explain the cost basis."""
    _, defs = notebook("portfolio").run()
    report = analytics.load_report(demo_db, as_of=LAST_DAY, cost_method="fifo", benchmark="WBUS")
    kpi = defs["kpi_values"]
    assert kpi["total_value"] == pytest.approx(report.totals["total_value"], abs=0.01)
    assert kpi["unrealized_pnl"] == pytest.approx(report.totals["unrealized_pnl"], abs=0.01)
    assert kpi["realized_pnl"] == pytest.approx(report.totals["realized_pnl"], abs=0.01)
    assert kpi["period_twr"] == pytest.approx(report.performance["twr"], rel=1e-9)
    assert kpi["xirr"] == pytest.approx(report.performance["xirr"], rel=1e-9)
    assert kpi["sharpe"] == pytest.approx(report.risk["sharpe"], rel=1e-9)
    # the total is holdings plus cash, checked against the positions themselves
    held = report.positions["market_value"].sum()
    assert kpi["total_value"] == pytest.approx(held + report.totals["cash"], abs=0.01)
    explained = defs["explained"]
    assert explained.lots_cost == pytest.approx(explained.position["cost_basis"], abs=0.01)
    assert explained.lots_quantity == pytest.approx(explained.position["quantity"], abs=1e-6)
    assert set(explained.flows["type"].to_list()) >= {"BUY"}
    assert defs["selected_symbols"] == []
    assert defs["allocation"]["weight"].sum() == pytest.approx(1.0)


def test_portfolio_controls_change_the_numbers(demo_db: Path) -> None:
    """Account, period, cost method and currency flow through: the period TWR chains to the full ones."""
    start, end = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
    overrides = {
        "account": "ira", "as_of": end, "benchmark": None, "cost_method": "lifo", "start": start,
        "currency": "EUR",
    }  # fmt: skip
    _, defs = notebook("portfolio").run(defs=overrides)
    report = analytics.load_report(
        demo_db, as_of=end, account="ira", cost_method="lifo", currency="EUR"
    )
    assert defs["report"].base_currency == "EUR"
    assert defs["kpi_values"]["total_value"] == pytest.approx(
        report.totals["total_value"], abs=0.01
    )
    assert defs["report"].cost_method == "lifo"
    # time-weighted returns chain: (1 + TWR to end) = (1 + TWR to start-1) x (1 + TWR of the period)
    before = analytics.load_report(
        demo_db, as_of=start - dt.timedelta(days=1), account="ira", currency="EUR"
    )
    expected = (1 + report.performance["twr"]) / (1 + before.performance["twr"]) - 1
    assert defs["kpi_values"]["period_twr"] == pytest.approx(expected, rel=1e-7, abs=1e-9)
    assert defs["period_series"]["date"].min() >= start


def test_risk_matches_the_report_and_empyrical(demo_db: Path) -> None:
    """Full-period risk equals the report's and empyrical's, under the default convention."""
    _, defs = notebook("risk").run()
    report = analytics.load_report(demo_db, as_of=LAST_DAY, benchmark="WBUS")
    risk = defs["portfolio_risk"]
    for key in ("volatility", "sharpe", "sortino", "max_drawdown", "beta"):
        assert getattr(risk, key) == pytest.approx(report.risk[key], rel=1e-9), key
    returns = defs["portfolio_returns"]["return"].drop_nulls().to_numpy()
    assert risk.sharpe == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-9)
    assert risk.volatility == pytest.approx(empyrical.annual_volatility(returns), rel=1e-9)
    assert risk.max_drawdown == pytest.approx(empyrical.max_drawdown(returns), rel=1e-9)
    assert defs["risk_table"].columns == ["measure", "portfolio", "WBUS"]


def test_risk_convention_switch(demo_db: Path) -> None:
    """Choosing calendar365 annualizes over 365 days, as the report does for that convention."""
    controls = {
        "ALL_ACCOUNTS": "All accounts",
        "account_picker": picked("All accounts"),
        "benchmark_picker": picked("WBUS"),
        "convention_picker": picked("calendar365"),
        "date_picker": picked((FIRST_DAY, LAST_DAY)),
        "window_picker": picked(21),
        "currency_picker": picked("USD"),
    }
    _, defs = notebook("risk").run(defs=controls)
    report = analytics.load_report(
        demo_db, as_of=LAST_DAY, benchmark="WBUS", convention="calendar365"
    )
    risk = defs["portfolio_risk"]
    assert risk.periods_per_year == 365
    assert risk.volatility == pytest.approx(report.risk["volatility"], rel=1e-9)
    returns = defs["portfolio_returns"]["return"].drop_nulls().to_numpy()
    expected = empyrical.annual_volatility(returns, annualization=365)
    assert risk.volatility == pytest.approx(expected, rel=1e-9)
    rolling = defs["rolling_frame"]
    assert rolling["volatility"].head(20).null_count() == 20
    assert rolling["volatility"][20] is not None


def test_quotes_fetch_reports_every_symbol(demo_db: Path) -> None:
    """Each symbol gets a price or its error; prices and bars are the demo market's."""
    _, defs = notebook("quotes").run(defs={"symbols": ["ACME", "NOPE", "WBUS"]})
    quotes = defs["quotes"]
    assert quotes["symbol"].to_list() == ["ACME", "NOPE", "WBUS"]
    assert quotes.filter(pl.col("symbol") == "NOPE")["error"].to_list() == ["not found"]
    for row in quotes.filter(pl.col("error").is_null()).iter_rows(named=True):
        at = dt.datetime.fromisoformat(row["time"])
        assert row["price"] == pytest.approx(latest_price(row["symbol"], at=at), abs=0.01)
    bars = defs["bars"].filter(pl.col("symbol") == "ACME")
    end = dt.date.today()
    reference = daily_bars("ACME", start=end - dt.timedelta(days=365), end=end)
    assert bars["date"].to_list() == reference["date"].to_list()
    assert np.allclose(bars["close"].to_numpy(), reference["close"].to_numpy(), atol=0.005)


def test_ledger_table_and_sql(demo_db: Path) -> None:
    """The ledger shows every row; the default SQL matches DuckDB run directly."""
    _, defs = notebook("ledger").run()
    with duckdb.connect(str(demo_db), read_only=True) as con:
        count = con.sql("SELECT count(*) FROM transactions").fetchall()[0][0]
        expected = con.sql(
            "SELECT account, type, count(*) AS n FROM transactions GROUP BY ALL ORDER BY ALL"
        ).pl()
    assert defs["shown"].height == count
    assert defs["sql_error"] is None
    assert defs["sql_frame"].select("account", "type", "n").equals(expected)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "Permission"),
        ("SET enable_external_access = true", "locked"),
        ("INSERT INTO accounts VALUES ('x', 'USD', now())", "read-only"),
        ("SELECT * FROM transactions_frame_in_scope", "transactions_frame_in_scope"),
    ],
    ids=["read-file", "set", "write", "python-variable"],
)
def test_ledger_sql_is_sandboxed(demo_db: Path, statement: str, message: str) -> None:
    """SQL typed into the explorer cannot read files, change settings, write or see variables."""
    _, defs = notebook("ledger").run(defs={"sql_text": statement})
    assert defs["sql_frame"] is None
    assert message in defs["sql_error"]


def test_ledger_write_controls_only_when_writes_are_allowed(demo_db: Path) -> None:
    """Import and trade controls exist only when the mode allows writes (the editor)."""
    _, defs = notebook("ledger").run()
    assert defs["can_write"] is False
    assert defs["csv_upload"] is None
    assert defs["trade_form"] is None
    editor = {"db": demo_db, "can_write": True, "get_revision": lambda: 0, "set_revision": print}
    _, defs = notebook("ledger").run(defs=editor)
    assert defs["csv_upload"] is not None
    assert defs["trade_form"] is not None


def editor_defs(db: Path) -> dict[str, Any]:
    """Definitions that make the ledger notebook behave as in the marimo editor."""
    return {"db": db, "can_write": True, "get_revision": lambda: 0, "set_revision": lambda _f: None}


def count_rows(db: Path, where: str = "TRUE") -> int:
    """Transactions matching a SQL condition, counted by DuckDB directly."""
    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.sql(f"SELECT count(*) FROM transactions WHERE {where}").fetchall()[0][0])


def upload_defs(upload: SimpleNamespace, **options: Any) -> dict[str, Any]:
    """The import controls as if a file was uploaded (preset, account, skip_unknown: as given,
    else detection, none, off)."""
    return {
        "csv_upload": picked([upload]),
        "preset_picker": picked(options.get("preset", "")),
        "account_input": picked(options.get("account", "")),
        "skip_unknown": picked(options.get("skip_unknown", False)),
    }


def test_ledger_editor_imports_an_uploaded_csv(demo_db: Path) -> None:
    """In the editor an uploaded CSV is previewed, then imported (once: again adds nothing)."""
    upload = SimpleNamespace(
        name="more.csv", contents=b"date,account,type,amount\n2025-12-31,ira,DEPOSIT,777\n"
    )
    before = count_rows(demo_db)
    defs = editor_defs(demo_db) | upload_defs(upload) | {"import_button": picked(True)}
    _, seen = notebook("ledger").run(defs=defs)
    assert (seen["preview"].preset, seen["preview"].to_add) == ("workbench", 1)
    assert count_rows(demo_db) == before + 1
    assert count_rows(demo_db, "amount = 777 AND account = 'ira'") == 1
    _, seen = notebook("ledger").run(defs=defs)
    assert (seen["preview"].to_add, seen["preview"].duplicates) == (0, 1)
    assert count_rows(demo_db) == before + 1


def test_ledger_editor_previews_a_broker_export_before_writing(demo_db: Path) -> None:
    """A Schwab export in the editor: the preview names the preset and its 10 rows and writes
    nothing; the import button then writes exactly those 10 rows to the named account."""
    schwab = Path(__file__).parent / "fixtures" / "brokers" / "schwab.csv"
    upload = SimpleNamespace(name="schwab.csv", contents=schwab.read_bytes())
    before = count_rows(demo_db)
    defs = editor_defs(demo_db) | upload_defs(upload, account="schwab")
    _, seen = notebook("ledger").run(defs=defs)
    preview = seen["preview"]
    assert (preview.preset, preview.ok, preview.to_add) == ("schwab", True, 10)
    assert preview.counts["BUY"] == 2
    assert seen["import_button"].value is False
    assert count_rows(demo_db) == before
    notebook("ledger").run(defs=defs | {"import_button": picked(True)})
    assert count_rows(demo_db) == before + 10
    assert count_rows(demo_db, "account = 'schwab'") == 10


def test_ledger_editor_records_a_trade_at_the_live_price(demo_db: Path) -> None:
    """In the editor a submitted trade is recorded at the demo provider's live price."""
    order = {"side": "buy", "symbol": "acme", "quantity": 3, "account": "taxable", "fee": 1.5,
             "provider": "demo"}  # fmt: skip
    start = dt.datetime.now(dt.UTC)
    notebook("ledger").run(defs=editor_defs(demo_db) | {"trade_form": picked(order)})
    end = dt.datetime.now(dt.UTC)
    with duckdb.connect(str(demo_db), read_only=True) as con:
        row = con.sql(
            "SELECT type, symbol, quantity, price, fee, account FROM transactions"
            " ORDER BY id DESC LIMIT 1"
        ).fetchall()[0]
    kind, symbol, quantity, price, fee, account = row
    assert (kind, symbol, float(quantity), float(fee), account) == (
        "BUY",
        "ACME",
        3.0,
        1.5,
        "taxable",
    )
    # the demo market's price at some moment of the call (it moves minute by minute)
    bounds = sorted(latest_price("ACME", at=t) for t in (start, end))
    assert bounds[0] - 0.01 <= float(price) <= bounds[1] + 0.01


def test_ledger_app_mode_never_writes(demo_db: Path) -> None:
    """Without write permission, even a submitted form and an upload change nothing."""
    upload = SimpleNamespace(
        name="x.csv", contents=b"date,account,type,amount\n2025-12-31,ira,DEPOSIT,5\n"
    )
    before = count_rows(demo_db)
    defs = {
        "db": demo_db, "can_write": False, "get_revision": lambda: 0, "set_revision": print,
        **upload_defs(upload), "import_button": picked(True),
        "trade_form": picked({"side": "buy", "symbol": "ACME", "quantity": 1, "account": "ira",
                              "fee": 0, "provider": "demo"}),
    }  # fmt: skip
    notebook("ledger").run(defs=defs)
    assert count_rows(demo_db) == before


def test_portfolio_explains_a_report_it_cannot_build(demo_db: Path) -> None:
    """A benchmark with no prices in the period stops the dashboard with a message, not an error."""
    day = dt.date(2021, 1, 2)  # before the first stored price
    overrides = {
        "account": "ira",
        "as_of": day,
        "benchmark": "WBUS",
        "cost_method": "fifo",
        "start": day,
        "currency": "USD",
    }
    outputs, defs = notebook("portfolio").run(defs=overrides)
    assert "report" not in defs
    assert "kpi_values" not in defs
    assert any("Cannot build the report" in str(getattr(o, "text", o)) for o in outputs)


def test_gains_notebook_follows_its_controls(demo_db: Path) -> None:
    """The gains app for 2025, HIFO, in EUR: the rows of `workbench gains` for the same choices,
    and totals by term that add up to the rows."""
    overrides = {
        "start": dt.date(2025, 1, 1), "end": dt.date(2025, 12, 31), "account": None,
        "cost_method": "hifo", "currency": "EUR",
    }  # fmt: skip
    _, defs = notebook("gains").run(defs=overrides)
    from workbench.analytics.gains import load_gains

    expected = load_gains(
        demo_db, method="hifo", currency="EUR", start=dt.date(2025, 1, 1),
        end=dt.date(2025, 12, 31),
    )  # fmt: skip
    gains = defs["gains"]
    assert gains.rows.height == expected.rows.height > 0
    assert gains.rows.equals(expected.rows)
    totals = defs["gain_totals"]
    rows = gains.rows
    assert totals["total"]["gain"] == pytest.approx(float(rows["gain"].sum()))
    assert totals["short"]["gain"] + totals["long"]["gain"] == pytest.approx(
        totals["total"]["gain"]
    )
    assert set(rows["sold"].dt.year().unique().to_list()) == {2025}


def test_gains_notebook_what_if_agrees_with_the_report(demo_db: Path) -> None:
    """The default what-if sale: under every method, cost sold + basis left is the report's
    cost basis of the position (the vectorized lots engine, not the sale sweep), and the
    proceeds are the quantity at the last stored close."""
    _, defs = notebook("gains").run()
    preview, picked_position = defs["preview"], defs["picked"]
    today = defs["today"]
    account, symbol = picked_position["account"], picked_position["symbol"]
    with duckdb.connect(str(demo_db), read_only=True) as con:
        close = con.sql(
            "SELECT close FROM prices WHERE symbol = ? AND date <= ? ORDER BY date DESC LIMIT 1",
            params=[symbol, today],
        ).fetchall()[0][0]
    assert preview.price == pytest.approx(float(close))
    assert preview.summary["proceeds"].to_list() == pytest.approx(
        [preview.quantity * float(close)] * 4
    )
    for method in analytics.COST_METHODS:
        report = analytics.load_report(demo_db, as_of=today, cost_method=method)
        basis = report.positions.filter(
            (pl.col("account") == account) & (pl.col("symbol") == symbol)
        )["cost_basis"].item()
        row = preview.summary.filter(pl.col("method") == method).row(0, named=True)
        assert row["cost"] + row["remaining_basis"] == pytest.approx(basis, rel=1e-9), method


def test_gains_notebook_on_an_empty_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database without transactions: no gains, no position to sell, and no cell fails."""
    from workbench import store

    db = tmp_path / "empty.duckdb"
    with store.connect(db):
        pass
    monkeypatch.setenv("WORKBENCH_DB", str(db))
    monkeypatch.delenv("WORKBENCH_READ_ONLY", raising=False)
    _, defs = notebook("gains").run()
    assert defs["gains"].rows.is_empty()
    assert defs["gain_totals"]["total"]["gain"] == 0.0
    assert defs["held"].is_empty()
    assert "preview" not in defs
