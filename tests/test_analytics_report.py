"""`workbench report` and the Report: the JSON contract, the table, options, errors, async use."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from pathlib import Path

import polars as pl
import pytest
from _analytics_helpers import ledger, price_frame, row, write_store
from click.testing import CliRunner

from workbench.analytics import areport, load_report
from workbench.analytics import report as report_module
from workbench.cli import cli

# Ledger, by hand (FIFO):
#   default: DEPOSIT 10000; BUY X 10 @ 100 fee 1 (1001); BUY Y 5 @ 200 (1000); BUY X 10 @ 90
#            fee 1 (901); SELL X 4 @ 110 fee 1 (+439, cost 4 x 100.1 = 400.4 -> realized 38.6);
#            DIVIDEND Y 10; WITHDRAWAL 500 -> cash 7047
#   ira:     DEPOSIT 2000; BUY Z 20 @ 50 (1000) -> cash 1000
#   closes on 2024-03-29: X 120, Y 210, Z 55
#   X: 16 sh, basis 6 x 100.1 + 901 = 1501.6, value 1920 | Y: 5 sh, 1000, 1050 | Z: 20 sh, 1000, 1100
LEDGER = [
    row("2024-01-02", "DEPOSIT", amount=10_000),
    row("2024-01-02", "BUY", "X", 10, 100, fee=1),
    row("2024-01-03", "BUY", "Y", 5, 200),
    row("2024-01-05", "DEPOSIT", amount=2_000, account="ira"),
    row("2024-01-05", "BUY", "Z", 20, 50, account="ira"),
    row("2024-01-10", "BUY", "X", 10, 90, fee=1),
    row("2024-02-01", "SELL", "X", 4, 110, fee=1),
    row("2024-02-15", "DIVIDEND", "Y", amount=10),
    row("2024-03-01", "WITHDRAWAL", amount=500),
]
PRICES = [
    ("X", "2024-01-02", 100), ("X", "2024-01-10", 90), ("X", "2024-02-01", 110), ("X", "2024-03-29", 120),
    ("Y", "2024-01-03", 200), ("Y", "2024-03-29", 210),
    ("Z", "2024-01-05", 50), ("Z", "2024-03-29", 55),
]  # fmt: skip
AS_OF = "2024-03-31"

POSITION_KEYS = {
    "account", "symbol", "currency", "quantity", "cost_basis", "price", "fx_rate",
    "market_value", "unrealized_pnl", "unrealized_fx_pnl", "realized_pnl", "realized_fx_pnl",
    "dividends",
}  # fmt: skip
TOTAL_KEYS = {
    "market_value", "cash", "total_value", "cost_basis", "unrealized_pnl", "unrealized_fx_pnl",
    "realized_pnl", "realized_fx_pnl", "dividends", "interest", "fees", "taxes", "net_deposits",
    "cash_fx_gain", "cash_by_currency",
}  # fmt: skip


@pytest.fixture
def ledger_db(tmp_path: Path) -> Path:
    """A real DuckDB store holding the hand ledger and its closes."""
    return write_store(tmp_path / "wb.duckdb", ledger(LEDGER), price_frame(PRICES))


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_matches_the_contract_and_the_hand_numbers(ledger_db: Path) -> None:
    """`report --json` has exactly the contract's fields and the hand-computed values."""
    code, out, _ = _run("--db", str(ledger_db), "--as-of", AS_OF, "--json")
    assert code == 0
    data = json.loads(out)
    assert {"as_of", "base_currency", "positions", "totals", "performance", "risk"} <= set(data)
    assert data["as_of"] == AS_OF
    assert data["base_currency"] == "USD"
    assert all(set(p) == POSITION_KEYS for p in data["positions"])
    assert set(data["totals"]) == TOTAL_KEYS
    assert set(data["performance"]) == {"twr", "twr_annualized", "xirr", "modified_dietz"}
    assert {"volatility", "sharpe", "sortino", "max_drawdown", "calmar"} <= set(data["risk"])
    assert data["risk"]["convention"] == "empyrical"
    by_symbol = {p["symbol"]: p for p in data["positions"]}
    assert by_symbol["X"] == {
        "account": "default", "symbol": "X", "currency": "USD", "quantity": 16.0,
        "cost_basis": 1501.6, "price": 120.0, "fx_rate": 1.0, "market_value": 1920.0,
        "unrealized_pnl": 418.4, "unrealized_fx_pnl": 0.0, "realized_pnl": 38.6,
        "realized_fx_pnl": 0.0, "dividends": 0.0,
    }  # fmt: skip
    assert by_symbol["Y"]["dividends"] == 10.0
    assert by_symbol["Z"]["account"] == "ira"
    assert data["totals"] == {
        "market_value": 4070.0, "cash": 8047.0, "total_value": 12117.0, "cost_basis": 3501.6,
        "unrealized_pnl": 568.4, "realized_pnl": 38.6, "dividends": 10.0, "interest": 0.0,
        "fees": 3.0, "taxes": 0.0, "net_deposits": 11500.0, "unrealized_fx_pnl": 0.0,
        "realized_fx_pnl": 0.0, "cash_fx_gain": 0.0, "cash_by_currency": {"USD": 8047.0},
    }  # fmt: skip
    for value in data["performance"].values():
        assert isinstance(value, float)


@pytest.mark.parametrize(
    ("method", "realized"), [("lifo", 78.6), ("hifo", 38.6), ("average", 58.6)]
)
def test_cost_method_option(ledger_db: Path, method: str, realized: float) -> None:
    """--cost-method changes realized P&L: LIFO 4 x 90.1, AVERAGE 4 x 95.1 of cost."""
    code, out, _ = _run("--db", str(ledger_db), "--as-of", AS_OF, "--json", "--cost-method", method)
    assert code == 0
    data = json.loads(out)
    assert data["totals"]["realized_pnl"] == pytest.approx(realized, abs=0.005)
    assert data["cost_method"] == method


def test_account_option(ledger_db: Path) -> None:
    """--account ira shows only that account's position and cash."""
    code, out, _ = _run("--db", str(ledger_db), "--as-of", AS_OF, "--json", "--account", "ira")
    assert code == 0
    data = json.loads(out)
    assert [p["symbol"] for p in data["positions"]] == ["Z"]
    assert data["totals"]["cash"] == 1000.0
    assert data["totals"]["total_value"] == 2100.0


def test_readable_table(ledger_db: Path) -> None:
    """Without --json the report is a table with totals, performance and risk sections."""
    code, out, _ = _run("--db", str(ledger_db), "--as-of", AS_OF)
    assert code == 0
    assert "Portfolio report as of 2024-03-31" in out
    assert "default  X" in out
    assert "1,920.00" in out
    for section in ("Totals", "Performance", "Risk (daily returns, empyrical convention)"):
        assert section in out
    assert "total value" in out


def test_as_of_defaults_to_today(ledger_db: Path) -> None:
    """Without --as-of the report is dated today."""
    code, out, _ = _run("--db", str(ledger_db), "--json")
    assert code == 0
    assert json.loads(out)["as_of"] == dt.date.today().isoformat()


def test_unknown_account_is_one_clear_error(ledger_db: Path) -> None:
    """An unknown account exits 1 with one line on stderr."""
    code, _, err = _run("--db", str(ledger_db), "--account", "nope")
    assert code == 1
    assert err.strip() == "error: unknown account 'nope'"


def test_bad_cost_method_is_a_usage_error(ledger_db: Path) -> None:
    """An unknown --cost-method is click's usage error (exit 2)."""
    code, _, _ = _run("--db", str(ledger_db), "--cost-method", "lofi")
    assert code == 2


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    """A database that does not exist is reported, not created (the report opens read-only)."""
    code, _, err = _run("--db", str(tmp_path / "none.duckdb"))
    assert code == 1
    assert "does not exist" in err
    assert not (tmp_path / "none.duckdb").exists()


def test_performance_of_a_single_holding(tmp_path: Path) -> None:
    """Deposit 1000, buy 10 @ 100, close 110 at the end: TWR = MD = 10%, XIRR = 1.1^(365/d) - 1."""
    tx = ledger([row("2024-01-01", "DEPOSIT", amount=1000), row("2024-01-01", "BUY", "X", 10, 100)])
    db = write_store(
        tmp_path / "one.duckdb",
        tx,
        price_frame([("X", "2024-01-01", 100), ("X", "2024-03-01", 110)]),
    )
    report = load_report(db, as_of=dt.date(2024, 3, 31))
    days = (dt.date(2024, 3, 31) - dt.date(2024, 1, 1)).days + 1
    assert report.performance["twr"] == pytest.approx(0.10, abs=1e-12)
    assert report.performance["modified_dietz"] == pytest.approx(0.10, abs=1e-12)
    assert report.performance["twr_annualized"] == pytest.approx(1.1 ** (365 / days) - 1, abs=1e-12)
    # XIRR counts from the deposit date to the end date: days - 1 days apart
    assert report.performance["xirr"] == pytest.approx(1.1 ** (365 / (days - 1)) - 1, abs=1e-9)
    assert report.risk["max_drawdown"] == 0.0


def test_benchmark_adds_relative_risk(ledger_db: Path) -> None:
    """--benchmark adds beta, alpha, tracking error and information ratio to risk."""
    code, out, _ = _run("--db", str(ledger_db), "--as-of", AS_OF, "--json", "--benchmark", "X")
    assert code == 0
    risk = json.loads(out)["risk"]
    assert risk["benchmark"] == "X"
    assert {"beta", "alpha", "tracking_error", "information_ratio"} <= set(risk)


def test_empty_store_reports_zeros(tmp_path: Path) -> None:
    """A store without transactions reports zero totals and null performance."""
    db = write_store(tmp_path / "empty.duckdb", ledger([]))
    data = json.loads(load_report(db, as_of=dt.date(2024, 1, 1)).to_json())
    assert data["positions"] == []
    assert data["totals"]["total_value"] == 0.0
    assert data["performance"]["twr"] is None


@pytest.mark.asyncio
async def test_areport_keeps_the_event_loop_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a large report computes in its worker thread, an asyncio ticker keeps ticking.

    The report waits (in its thread) until the ticker has ticked three times: if the loop were
    blocked the ticks could never happen and the wait would time out.
    """
    rows = [row("2020-01-01", "DEPOSIT", amount=10_000_000)]
    for i in range(20_000):
        day = dt.date(2020, 1, 2) + dt.timedelta(days=i % 1500)
        rows.append(row(day, "BUY", f"S{i % 50}", 1 + i % 7, 10 + i % 13))
    db = write_store(tmp_path / "big.duckdb", ledger(rows), price_frame([]))
    ticked = threading.Event()
    ticks_during: list[int] = []
    real_build = report_module.build_report

    def slow_build(*args: object, **kwargs: object) -> report_module.Report:
        ticks_during.append(int(ticked.wait(timeout=30)))
        return real_build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(report_module, "build_report", slow_build)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1
            if ticks >= 3:
                ticked.set()

    task = asyncio.create_task(ticker())
    try:
        report = await areport(db, as_of=dt.date(2024, 12, 31))
    finally:
        task.cancel()
    assert ticks_during == [1]
    assert report.positions.height == 50
    assert isinstance(report.positions, pl.DataFrame)


def test_report_over_a_ledger_imported_by_the_real_importer(tmp_path: Path) -> None:
    """Rows imported with workbench.ledger.import_frame (lower-case types, "2:1" ratio, dividend
    as quantity x price) report the hand numbers: 10 sh @100 + fee 1, 2:1 split, sell 5 @ 60."""
    from workbench.ledger import import_frame
    from workbench.store import connect, upsert_prices

    db = tmp_path / "imported.duckdb"
    frame = pl.DataFrame(
        {
            "date": ["2024-01-02", "2024-01-02", "2024-02-01", "2024-02-05", "2024-02-10"],
            "type": ["deposit", "buy", "split", "Sell", "dividend"],
            "symbol": [None, "ACME", "ACME", "ACME", "ACME"],
            "quantity": [None, "10", None, "5", "15"],
            "price": [None, "100", None, "60", "0.2"],
            "fee": [None, "1", None, "0", None],
            "amount": ["2000", None, None, None, None],
            "ratio": [None, None, "2:1", None, None],
        }
    )
    import_frame(db, frame, source="test-ledger")
    with connect(db) as con:
        upsert_prices(
            con,
            pl.DataFrame(
                {
                    "symbol": ["ACME"], "date": [dt.date(2024, 2, 9)], "close": [55.0],
                    "provider": ["test"], "fetched_at": [dt.datetime(2024, 2, 9, tzinfo=dt.UTC)],
                }
            ),
        )  # fmt: skip
    data = json.loads(load_report(db, as_of=dt.date(2024, 2, 29)).to_json())
    # after the split: 20 sh at 50.05; sold 5 (cost 250.25, proceeds 300 -> realized 49.75)
    (position,) = data["positions"]
    assert position["quantity"] == 15.0
    assert position["cost_basis"] == pytest.approx(750.75)
    assert position["realized_pnl"] == pytest.approx(49.75)
    assert position["dividends"] == pytest.approx(3.0)
    assert position["market_value"] == pytest.approx(825.0)
    # cash 2000 - 1001 + 300 + 3
    assert data["totals"]["cash"] == pytest.approx(1302.0)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled synthetic demo (seed 7) stored in a real DuckDB file."""
    from workbench.demo import write_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    write_demo(path, seed=7)
    return path


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo", "average"])
def test_demo_report_reconciles(demo_db: Path, method: str) -> None:
    """On the demo ledger every cost method reconciles in USD: value = deposits + P&L + income - costs.

    total_value = net_deposits + unrealized + realized + dividends + interest - taxes
    - (fees - trade fees) + cash_fx_gain (DESIGN 3b), and realized + unrealized is the same
    under every method.
    """
    report = load_report(demo_db, as_of=dt.date(2025, 12, 31), cost_method=method)
    t = report.totals
    trade_fees = float(report.positions["trade_fees"].sum())
    expected = (
        t["net_deposits"] + t["unrealized_pnl"] + t["realized_pnl"] + t["dividends"]
        + t["interest"] - t["taxes"] - (t["fees"] - trade_fees) + t["cash_fx_gain"]
    )  # fmt: skip
    assert t["total_value"] == pytest.approx(expected, abs=0.01)
    fifo = load_report(demo_db, as_of=dt.date(2025, 12, 31)).totals
    assert t["realized_pnl"] + t["unrealized_pnl"] == pytest.approx(
        fifo["realized_pnl"] + fifo["unrealized_pnl"], abs=0.01
    )
    assert report.series["total_value"][-1] == pytest.approx(t["total_value"], abs=0.01)


def test_report_allocation_by_asset_class(demo_db: Path) -> None:
    """Report.allocation weights every holding and the cash; the weights sum to 1."""
    report = load_report(demo_db, as_of=dt.date(2025, 12, 31))
    got = report.allocation(by="asset_class")
    assert got["weight"].sum() == pytest.approx(1.0)
    assert "cash" in got["asset_class"].to_list()
    assert got["market_value"].sum() == pytest.approx(report.totals["total_value"], abs=0.01)
