"""Broker exports in the project's own fixtures (invented rows, real layouts) import by header
detection alone and give the positions, cash per currency and income hand-computed here."""

from __future__ import annotations

from pathlib import Path

import pytest
from _presets_helpers import D, convert_fixture, read_books, row_tuples
from _presets_helpers import import_fixture as _import

from workbench.store import connect


def test_schwab_by_header(db_path: Path) -> None:
    """Schwab: title line, `$1,234.56`/`-$500.00`, "as of" dates, a reinvested dividend, a Total row."""
    out = _import(db_path, "schwab.csv")
    assert "10 rows, added 10" in out
    books = read_books(db_path)
    assert books["held"] == {"ACME": D("6"), "WIDG": D("2.5")}  # 10 - 4; 2.5 reinvested
    # 15000 - 500 - (10*1234.50 + 1) - 7.50 + 1.23 + 50 - 50 - 1.80 + 12 + (4*150.25 - 0.65)
    assert books["cash"] == {"USD": D("2758.28")}
    assert (books["dividends"], books["taxes"], books["interest"]) == (D("62"), D("1.8"), D("1.23"))
    assert books["fees"] == D("9.15")  # 1 + 0.65 on trades, 7.50 advisor fee
    assert (books["deposits"], books["withdrawals"]) == (D("15000"), D("500"))


def test_fidelity_by_header(db_path: Path) -> None:
    """Fidelity: blank lead rows, negative sell quantity, fees in two columns, a footer."""
    _import(db_path, "fidelity.csv")
    books = read_books(db_path)
    # the core money market (SPAXX) is the account's cash: its reinvested dividend stays cash
    assert books["held"] == {"ACME": D("7")}
    # 2500 - 100 - 1001 + 4.2 + 6 - 0.9 + (3*110.5 - 0.52)
    assert books["cash"] == {"USD": D("1739.28")}
    assert (books["dividends"], books["taxes"], books["fees"]) == (D("10.2"), D("0.9"), D("1.52"))
    assert (books["deposits"], books["withdrawals"]) == (D("2500"), D("100"))


def test_ibkr_flex_xml_by_content(db_path: Path) -> None:
    """IBKR Flex XML: trades and cash transactions of the account the file names."""
    _import(db_path, "ibkr_flex.xml")
    books = read_books(db_path)
    assert books["held"] == {"SHOP": D("6")}
    # 5000 - (900 + 1.5) + (400 - 1.5) + 12 - 1.8 - 10
    assert books["cash"] == {"CAD": D("4497.2")}
    assert (books["dividends"], books["taxes"], books["fees"]) == (D("12"), D("1.8"), D("13"))
    with connect(db_path, read_only=True) as con:
        assert con.execute("SELECT DISTINCT account FROM transactions").fetchall() == [
            ("U2222222",)
        ]


def test_ibkr_flex_cash_nets_refunds(db_path: Path) -> None:
    """IBKR Flex cash CSV: a withholding refund reduces the tax, a fee reversal cancels the fee."""
    _import(db_path, "ibkr_flex_cash.csv")
    books = read_books(db_path)
    # USD: 10000 + 9.6 - (1.44 - 0.44) + 3.21 (the 4.50 fee and its reversal cancel)
    assert books["cash"] == {"CHF": D("2000"), "USD": D("10011.81")}
    assert (books["taxes"], books["fees"], books["interest"]) == (D("1"), D("0"), D("3.21"))


def test_coinbase_preamble_and_staking(db_path: Path) -> None:
    """Coinbase: BOM and preamble before the header, € amounts, staking income, a send."""
    _import(db_path, "coinbase.csv")
    books = read_books(db_path)
    assert books["held"] == {"BTC": D("0.009"), "ETH": D("0.502")}
    # 1500 - (0.5*2000 + 10) - (0.01*40000 + 5.99); the reward's income pays for its coins
    assert books["cash"] == {"EUR": D("84.01")}
    assert (books["dividends"], books["fees"], books["deposits"]) == (D("4"), D("15.99"), D("1500"))


def test_revolut_money_strings(db_path: Path) -> None:
    """Revolut: `$1,000` and a decimal-comma quantity `2,5` in one file."""
    _import(db_path, "revolut.csv")
    books = read_books(db_path)
    assert books["held"] == {"ABC": D("1.5")}
    assert books["cash"] == {"USD": D("811.25")}  # 1000 - 250 + 1.50 + 110 - 0.25 - 50


def test_trading212_fx_settlement_frame() -> None:
    """Trading 212: a USD buy paid in EUR is an FX row then the BUY; a sell the reverse."""
    conversion = convert_fixture("trading212.csv", "trading212")
    got = row_tuples(conversion, "type", "symbol", "quantity", "price", "fee", "amount", "currency")
    assert got == [
        ("DEPOSIT", None, None, None, None, "1000", "EUR"),
        # 182.00 EUR paid, 0.18 of it the conversion fee: (182 - 0.18) / 200 EUR per USD
        ("FX", "USD", "200", "0.9091", "0.18", None, "EUR"),
        ("BUY", "AAA", "2", "100", "0", None, "USD"),
        ("DIVIDEND", "AAA", None, None, None, "0.77", "EUR"),
        ("DIVIDEND", "AAA", None, None, None, "0.15", "USD"),
        ("TAX", "AAA", None, None, None, "0.15", "USD"),
        ("SELL", "AAA", "0.5", "120", "0", None, "USD"),
        # 60 USD buy 49.90 + 0.10 EUR: 1.2 USD per EUR; the 0.10 a fee in EUR
        ("FX", "EUR", "50", "1.2", "0", None, "USD"),
        ("FEE", None, None, None, None, "0.1", "EUR"),
        ("INTEREST", None, None, None, None, "0.05", "EUR"),
        ("WITHDRAWAL", None, None, None, None, "100", "EUR"),
    ]
    # each row names the file line it came from (the BUY's FX row too)
    assert conversion.lines == [2, 3, 3, 4, 4, 4, 5, 5, 5, 6, 7]


def test_degiro_decimal_commas_isin_and_autofx_frame() -> None:
    """DEGIRO: decimal commas, a wrapped order id, ISIN-only products, an AutoFX pair."""
    conversion = convert_fixture("degiro_nl.csv", "degiro")
    got = row_tuples(
        conversion, "date", "type", "symbol", "quantity", "price", "amount", "currency"
    )
    assert got == [
        ("2024-01-03", "DEPOSIT", None, None, None, "1000.98", "EUR"),
        ("2024-01-10", "BUY", "NL0000000AB1", "12", "7.15", None, "EUR"),
        ("2024-01-10", "FEE", "NL0000000AB1", None, None, "1", "EUR"),
        ("2024-02-15", "BUY", "US0000000EX1", "3", "180", None, "USD"),
        ("2024-02-15", "FEE", "US0000000EX1", None, None, "2", "EUR"),
        # 540 USD credited for 500 EUR debited: 500/540 EUR per USD
        ("2024-02-15", "FX", "USD", "540", "0.92592593", None, "EUR"),
        ("2024-03-01", "DIVIDEND", "NL0000000AB1", None, None, "6", "EUR"),
        ("2024-03-01", "TAX", "NL0000000AB1", None, None, "0.9", "EUR"),
        ("2024-03-05", "INTEREST", None, None, None, "0.12", "EUR"),
    ]
    assert conversion.skipped == {
        "'Reservation iDEAL / Sofort Deposit' rows (left out by the preset)": 1
    }


def test_ibkr_flex_trades_currency_trade_frame() -> None:
    """IBKR Flex trades CSV: an EUR.USD buy is an FX row buying EUR at the trade price, its
    commission a FEE row (in IBCommissionCurrency when the file has it, else the trade's)."""
    conversion = convert_fixture("ibkr_flex_trades.csv", "ibkr-flex-trades")
    first, second = conversion.rows.row(0, named=True), conversion.rows.row(1, named=True)
    assert (first["type"], first["symbol"], first["quantity"], first["price"], first["fee"], first["currency"]) == (
        "FX", "EUR", "1000", "1.1", "0", "USD",
    )  # fmt: skip
    assert (second["type"], second["amount"], second["currency"]) == ("FEE", "2", "USD")
    sells = conversion.rows.filter(type="SELL")
    assert sells["quantity"].to_list() == ["8"]  # the -8 of the file, the sign in the type


@pytest.mark.parametrize(
    ("name", "preset"),
    [
        pytest.param("schwab.csv", "schwab", id="schwab"),
        pytest.param("fidelity.csv", "fidelity", id="fidelity"),
        pytest.param("ibkr_flex_cash.csv", "ibkr-flex-cash", id="ibkr-cash"),
        pytest.param("ibkr_flex.xml", "ibkr-flex-xml", id="ibkr-xml"),
        pytest.param("coinbase.csv", "coinbase", id="coinbase"),
        pytest.param("revolut.csv", "revolut", id="revolut"),
        pytest.param("trading212.csv", "trading212", id="t212"),
        pytest.param("degiro_nl.csv", "degiro", id="degiro"),
    ],
)
def test_detection_picks_the_preset(name: str, preset: str) -> None:
    """Each fixture's header picks its broker's preset."""
    convert_fixture(name, preset)


def test_reimport_adds_nothing(db_path: Path) -> None:
    """A broker file imported twice adds its rows once."""
    _import(db_path, "schwab.csv")
    assert "added 0, 10 already imported" in _import(db_path, "schwab.csv")
