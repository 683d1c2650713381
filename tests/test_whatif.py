"""The "what if I sold N shares" preview: hand-computed lots for all four cost methods, the
one-year line, a second currency, the default price, errors, and ``workbench gains --what-if``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _analytics_helpers import eur_usd_rates, ledger, price_frame, row, write_store
from click.testing import CliRunner

from workbench.analytics.whatif import sale_preview
from workbench.cli import cli
from workbench.errors import OversoldError, WorkbenchError

# Three lots of ACME (USD, no fees), 30 shares costing 3700 in all:
#   B1 2024-01-10 BUY 10 @ 100 -> 1000 (100 a share)
#   B2 2024-09-01 BUY 10 @ 150 -> 1500 (150 a share)
#   B3 2025-03-01 BUY 10 @ 120 -> 1200 (120 a share)
# What if 12 are sold on 2025-06-01 at 140 (proceeds 1680)? B1 is held more than a year
# (long), B2 and B3 less (short).
THREE_LOTS = [
    row("2024-01-10", "BUY", "ACME", 10, 100),
    row("2024-09-01", "BUY", "ACME", 10, 150),
    row("2025-03-01", "BUY", "ACME", 10, 120),
]
DAY = dt.date(2025, 6, 1)
# per method: (acquired, quantity, cost, gain, term) of each lot consumed, in report order
LOTS: dict[str, list[tuple[Any, ...]]] = {
    # B1 10 (1400 - 1000 = 400, long), then B2 2 (280 - 300 = -20, short)
    "fifo": [("2024-01-10", 10, 1000.0, 400.0, "long"), ("2024-09-01", 2, 300.0, -20.0, "short")],
    # B3 10 (1400 - 1200 = 200), then B2 2 (-20): all short
    "lifo": [("2024-09-01", 2, 300.0, -20.0, "short"), ("2025-03-01", 10, 1200.0, 200.0, "short")],
    # the dearest first: B2 10 (1400 - 1500 = -100), then B3 2 (280 - 240 = 40); FIFO's B1
    # is not touched
    "hifo": [("2024-09-01", 10, 1500.0, -100.0, "short"), ("2025-03-01", 2, 240.0, 40.0, "short")],
    # the pool's average 3700 / 30: 12 cost 1480, gain 200, no single term
    "average": [(None, 12, 1480.0, 200.0, None)],
}
# per method: (cost, gain, short, long, unassigned, remaining basis, remaining gain)
# what remains is 18 shares; its unrealized gain at 140 is 18 x 140 - basis = 2520 - basis
SUMMARY: dict[str, tuple[float, ...]] = {
    "fifo": (1300.0, 380.0, -20.0, 400.0, 0.0, 2400.0, 120.0),  # B2 8 (1200) + B3 10 (1200)
    "lifo": (1500.0, 180.0, 180.0, 0.0, 0.0, 2200.0, 320.0),  # B1 10 (1000) + B2 8 (1200)
    "hifo": (1740.0, -60.0, -60.0, 0.0, 0.0, 1960.0, 560.0),  # B1 10 (1000) + B3 8 (960)
    "average": (1480.0, 200.0, 0.0, 0.0, 200.0, 2220.0, 300.0),  # 18 x 3700 / 30
}


def _lots(preview: Any, method: str) -> list[tuple[Any, ...]]:
    """(acquired, quantity, cost, gain, term) of a method's lots, floats to 6 decimals."""
    part = preview.lots.filter(pl.col("method") == method)
    return [
        (r["acquired"] and r["acquired"].isoformat(), round(r["quantity"], 6),
         round(r["cost"], 6), round(r["gain"], 6), r["term"])
        for r in part.iter_rows(named=True)
    ]  # fmt: skip


def _summary(preview: Any, method: str) -> tuple[float, ...]:
    r = preview.summary.filter(pl.col("method") == method).row(0, named=True)
    keys = ("cost", "gain", "short_term", "long_term", "unassigned", "remaining_basis",
            "remaining_gain")  # fmt: skip
    return tuple(r[k] for k in keys)


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo", "average"])
def test_each_method_consumes_the_hand_computed_lots(method: str) -> None:
    """Selling 12 of 30 at 140: each method's lots, gain by term and remaining basis by hand."""
    preview = sale_preview(ledger(THREE_LOTS), symbol="ACME", quantity=12, price=140, as_of=DAY)
    assert _lots(preview, method) == LOTS[method]
    assert _summary(preview, method) == pytest.approx(SUMMARY[method])
    r = preview.summary.filter(pl.col("method") == method).row(0, named=True)
    assert r["proceeds"] == pytest.approx(1680.0)
    assert r["remaining_quantity"] == pytest.approx(18.0)
    assert r["fx_gain"] == 0.0
    # cost conservation: sold cost + remaining basis = 3700 bought, whatever the method
    assert r["cost"] + r["remaining_basis"] == pytest.approx(3700.0)


def test_the_preview_leaves_the_ledger_and_methods_order_alone() -> None:
    """The four methods come in a fixed order, and the caller's ledger is not changed."""
    tx = ledger(THREE_LOTS)
    preview = sale_preview(tx, symbol="ACME", quantity=12, price=140, as_of=DAY)
    assert preview.summary["method"].to_list() == ["fifo", "lifo", "hifo", "average"]
    assert tx.height == 3
    assert (preview.account, preview.held, preview.price_source) == ("default", 30.0, "given")


@pytest.mark.parametrize(
    ("day", "term"),
    [
        pytest.param("2025-01-10", "short", id="on-the-anniversary"),
        pytest.param("2025-01-11", "long", id="day-after"),
    ],
)
def test_a_lot_crossing_the_one_year_line(day: str, term: str) -> None:
    """B1 (2024-01-10) sold on its anniversary is short term, a day later long term."""
    preview = sale_preview(
        ledger(THREE_LOTS[:2]), symbol="ACME", quantity=5, price=110,
        as_of=dt.date.fromisoformat(day),
    )  # fmt: skip
    fifo = preview.summary.filter(pl.col("method") == "fifo").row(0, named=True)
    # 5 of B1: proceeds 550, cost 500, gain 50, all in one term
    assert _lots(preview, "fifo") == [("2024-01-10", 5, 500.0, 50.0, term)]
    assert fifo[f"{term}_term"] == pytest.approx(50.0)
    assert fifo[f"{'long' if term == 'short' else 'short'}_term"] == 0.0


# A EUR stock: B1 10 @ 100 EUR at EUR/USD 1.10 (1000 EUR = 1100 USD, 110 USD a share) and
# B2 10 @ 105 EUR at 1.00 (1050 EUR = 1050 USD, 105 USD a share); sell 10 @ 120 EUR on
# 2024-12-02 at 1.05: proceeds 1200 EUR = 1260 USD. In USD B1 is the dearer lot, in EUR B2.
SAP = [
    row("2023-01-10", "BUY", "SAP", 10, 100, currency="EUR"),
    row("2024-06-03", "BUY", "SAP", 10, 105, currency="EUR"),
]
SAP_RATES = eur_usd_rates([("2023-01-10", 1.10), ("2024-06-03", 1.00), ("2024-12-02", 1.05)])
SAP_DAY = dt.date(2024, 12, 2)


def test_a_second_currency_gives_the_fx_part_and_hifo_follows_the_reporting_currency() -> None:
    """In USD: FIFO/HIFO take B1 (gain 160, FX 1000 x 1.05 - 1100 = -50), LIFO B2 (gain 210,
    FX 1050 x 1.05 - 1050 = 52.5), AVERAGE half the pool (cost 1075, gain 185, FX 1025 x 1.05
    - 1075 = 1.25). In EUR: HIFO takes B2 (gain 1200 - 1050 = 150), FIFO B1 (200), FX 0."""
    tx = ledger(SAP)
    usd = sale_preview(tx, symbol="SAP", quantity=10, price=120, as_of=SAP_DAY, target="USD",
                       rates=SAP_RATES)  # fmt: skip
    assert usd.currency == "EUR"
    got = {
        r["method"]: (r["proceeds"], r["cost"], r["gain"], r["fx_gain"], r["remaining_basis"])
        for r in usd.summary.iter_rows(named=True)
    }
    assert got == {
        "fifo": pytest.approx((1260.0, 1100.0, 160.0, -50.0, 1050.0)),
        "lifo": pytest.approx((1260.0, 1050.0, 210.0, 52.5, 1100.0)),
        "hifo": pytest.approx((1260.0, 1100.0, 160.0, -50.0, 1050.0)),
        "average": pytest.approx((1260.0, 1075.0, 185.0, 1.25, 1075.0)),
    }
    assert _lots(usd, "hifo")[0][0] == "2023-01-10"
    assert _lots(usd, "fifo")[0][4] == "long"
    assert _lots(usd, "lifo")[0][4] == "short"
    eur = sale_preview(tx, symbol="SAP", quantity=10, price=120, as_of=SAP_DAY, target="EUR",
                       rates=SAP_RATES)  # fmt: skip
    assert _lots(eur, "hifo") == [("2024-06-03", 10, 1050.0, 150.0, "short")]
    assert _lots(eur, "fifo") == [("2023-01-10", 10, 1000.0, 200.0, "long")]
    assert eur.summary["fx_gain"].to_list() == [0.0] * 4


def test_selling_more_than_held_is_an_error() -> None:
    """31 of 30 held is an OversoldError naming the holding; a quantity, price or fee that is
    not a number in range is refused."""
    tx = ledger(THREE_LOTS)
    with pytest.raises(
        OversoldError, match=r"cannot sell 31 ACME from account 'default': it holds 30"
    ):
        sale_preview(tx, symbol="ACME", quantity=31, price=140, as_of=DAY)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(WorkbenchError, match="must be a positive number"):
            sale_preview(tx, symbol="ACME", quantity=bad, price=140, as_of=DAY)
    with pytest.raises(WorkbenchError, match="price must be a positive number"):
        sale_preview(tx, symbol="ACME", quantity=1, price=float("inf"), as_of=DAY)
    with pytest.raises(WorkbenchError, match="fee must be a number"):
        sale_preview(tx, symbol="ACME", quantity=1, price=140, fee=-1, as_of=DAY)
    with pytest.raises(WorkbenchError, match="no open position in 'NOPE'"):
        sale_preview(tx, symbol="NOPE", quantity=1, price=140, as_of=DAY)
    # before B3 only 20 are held
    with pytest.raises(OversoldError, match="holds 20"):
        sale_preview(tx, symbol="ACME", quantity=25, price=140, as_of=dt.date(2025, 2, 1))


def test_selling_everything_leaves_nothing() -> None:
    """All 30 at 140: proceeds 4200, cost 3700 under every method, nothing remains."""
    preview = sale_preview(ledger(THREE_LOTS), symbol="ACME", quantity=30, price=140, as_of=DAY)
    assert preview.summary["cost"].to_list() == pytest.approx([3700.0] * 4)
    assert preview.summary["gain"].to_list() == pytest.approx([500.0] * 4)
    assert preview.summary["remaining_basis"].to_list() == [0.0] * 4


def test_a_symbol_in_two_accounts_needs_the_account() -> None:
    """Held in two accounts, the account must be named; named, only its lots count."""
    tx = ledger([*THREE_LOTS, row("2024-02-01", "BUY", "ACME", 4, 90, account="ira")])
    with pytest.raises(WorkbenchError, match=r"several accounts \(default, ira\)"):
        sale_preview(tx, symbol="ACME", quantity=1, price=140, as_of=DAY)
    ira = sale_preview(tx, symbol="ACME", quantity=4, price=140, as_of=DAY, account="ira")
    # 4 x (140 - 90) = 200, long (2024-02-01 -> 2025-06-01)
    assert _lots(ira, "fifo") == [("2024-02-01", 4, 360.0, 200.0, "long")]


def test_default_price_is_the_last_close_or_a_later_quote() -> None:
    """No price given: the close of 2025-05-30 (not the later one); a quote of 05-31 wins."""
    tx = ledger(THREE_LOTS)
    closes = price_frame([("ACME", "2025-05-30", 140.0), ("ACME", "2025-06-02", 999.0)])
    preview = sale_preview(tx, closes, symbol="ACME", quantity=12, as_of=DAY)
    assert (preview.price, preview.price_source) == (140.0, "close")
    assert preview.price_date == dt.date(2025, 5, 30)
    assert _summary(preview, "fifo") == pytest.approx(SUMMARY["fifo"])
    quotes = pl.DataFrame(
        {
            "symbol": ["ACME"], "price": [141.0], "currency": ["USD"],
            "quote_time": [dt.datetime(2025, 5, 31, 15, 0, tzinfo=dt.UTC)],
        }
    )  # fmt: skip
    quoted = sale_preview(tx, closes, symbol="ACME", quantity=12, as_of=DAY, quotes=quotes)
    assert (quoted.price, quoted.price_source) == (141.0, "quote")
    # FIFO: 12 x 141 = 1692 - 1300
    assert _summary(quoted, "fifo")[1] == pytest.approx(392.0)


def test_gain_by_term_is_long_form_without_zero_terms() -> None:
    """The chart frame: FIFO short -20 and long 400, LIFO and HIFO short, AVERAGE unassigned."""
    preview = sale_preview(ledger(THREE_LOTS), symbol="ACME", quantity=12, price=140, as_of=DAY)
    got = {(m, t): g for m, t, g in preview.gain_by_term().iter_rows()}
    assert got == pytest.approx({
        ("fifo", "short"): -20.0, ("fifo", "long"): 400.0, ("lifo", "short"): 180.0,
        ("hifo", "short"): -60.0, ("average", "unassigned"): 200.0,
    })  # fmt: skip


# ---------------------------------------------------------------- the command line


@pytest.fixture
def whatif_db(tmp_path: Path) -> Path:
    """A real DuckDB store with the three ACME lots and a close of 140 on 2025-05-30."""
    return write_store(
        tmp_path / "whatif.duckdb",
        ledger(THREE_LOTS),
        price_frame([("ACME", "2025-05-30", 140.0)]),
    )


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["gains", *args])


def test_cli_what_if_json(whatif_db: Path) -> None:
    """--what-if acme=12 --as-of 2025-06-01 --json: the close of 140 and the hand figures."""
    result = _run("--db", str(whatif_db), "--what-if", "acme=12", "--as-of", "2025-06-01",
                  "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert (doc["symbol"], doc["price"], doc["price_source"]) == ("ACME", 140.0, "close")
    got = {m["method"]: (m["cost"], m["gain"], m["remaining_basis"]) for m in doc["methods"]}
    assert got == {k: (v[0], v[1], v[5]) for k, v in SUMMARY.items()}
    assert [lot["acquired"] for lot in doc["lots"] if lot["method"] == "hifo"] == [
        "2024-09-01", "2025-03-01",
    ]  # fmt: skip


def test_cli_what_if_text_with_price_and_fee(whatif_db: Path) -> None:
    """--price 150 --fee 12: FIFO proceeds 12 x 150 - 12 = 1788, gain 1788 - 1300 = 488."""
    result = _run("--db", str(whatif_db), "--what-if", "ACME=12", "--as-of", "2025-06-01",
                  "--price", "150", "--fee", "12")  # fmt: skip
    assert result.exit_code == 0, result.output
    fifo = next(line for line in result.output.splitlines() if line.startswith("fifo "))
    assert fifo.split()[1:4] == ["1,788.00", "1,300.00", "488.00"]
    assert "fifo: lots sold" in result.output


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--what-if", "ACME"], id="no-quantity"),
        pytest.param(["--what-if", "ACME=-3"], id="negative"),
        pytest.param(["--what-if", "ACME=2", "--year", "2025"], id="with-year"),
        pytest.param(["--what-if", "ACME=2", "--cost-method", "lifo"], id="with-method"),
        pytest.param(["--price", "10"], id="price-without-what-if"),
    ],
)
def test_cli_what_if_misuse_exits_2(whatif_db: Path, args: list[str]) -> None:
    """Malformed or conflicting --what-if options are usage errors (exit 2)."""
    assert _run("--db", str(whatif_db), *args).exit_code == 2


def test_cli_what_if_oversell_exits_1(whatif_db: Path) -> None:
    """Selling more than held: one line naming what is held, exit 1."""
    result = _run("--db", str(whatif_db), "--what-if", "ACME=40", "--as-of", "2025-06-01")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: cannot sell 40 ACME from account 'default': it holds 30 on 2025-06-01"
    )


@pytest.mark.parametrize(("symbol", "account"), [("WBEU", "taxable"), ("TMSE", "depot")])
def test_sold_cost_plus_basis_left_is_the_reports_cost_basis(
    tmp_path_factory: pytest.TempPathFactory, symbol: str, account: str
) -> None:
    """On the demo ledger, a EUR and a GBp (pence) position in a USD report: under every method
    the cost sold plus the basis left equals the report's cost basis (the vectorized lots
    engine, an implementation independent of the sale sweep)."""
    from _browser_helpers import demo_template

    from workbench import analytics
    from workbench.analytics.whatif import load_sale_preview

    db = demo_template(tmp_path_factory)
    day = dt.date(2025, 12, 31)
    preview = load_sale_preview(
        db, symbol=symbol, account=account, quantity=5, as_of=day, currency="USD"
    )
    assert preview.summary["fx_gain"].abs().sum() > 0  # the FX part is there
    for method in ("fifo", "lifo", "hifo", "average"):
        report = analytics.load_report(db, as_of=day, cost_method=method, currency="USD")
        basis = report.positions.filter(
            (pl.col("account") == account) & (pl.col("symbol") == symbol)
        )["cost_basis"].item()
        row = preview.summary.filter(pl.col("method") == method).row(0, named=True)
        assert row["cost"] + row["remaining_basis"] == pytest.approx(basis, rel=1e-9), method
