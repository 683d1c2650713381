"""Older and rarer layouts of the same brokers: Trading 212's 2020 columns, Coinbase's
pre-2024 report in Windows-1252, Revolut's crypto statement, IBKR's Transaction History."""

from __future__ import annotations

from pathlib import Path

from _presets_helpers import D, convert_fixture, read_books, row_tuples
from _presets_helpers import import_fixture as _import


def test_trading212_2020_currency_from_column_names() -> None:
    """Trading 212 2020: "Total (GBP)" names the account currency; the USD buy is paid in GBP."""
    conversion = convert_fixture("trading212_2020.csv", "trading212-2020")
    got = row_tuples(conversion, "type", "symbol", "quantity", "price", "amount", "currency")
    assert got == [
        ("DEPOSIT", None, None, None, "500", "GBP"),
        ("FX", "USD", "100", "0.8", None, "GBP"),  # 80.00 GBP for 4 x 25 USD
        ("BUY", "BBB", "4", "25", None, "USD"),
    ]


def test_coinbase_legacy_windows_1252(db_path: Path) -> None:
    """Coinbase before 2024: a preamble, "Spot Price" columns, a Windows-1252 euro sign."""
    _import(db_path, "coinbase_legacy.csv")
    books = read_books(db_path)
    assert books["held"] == {"SOL": D("1.5")}
    assert books["cash"] == {"EUR": D("-29.7")}  # -(2 x 20 + 1.50) + (0.5 x 24 - 0.20)


def test_revolut_crypto_money_with_signs(db_path: Path) -> None:
    """Revolut crypto: `€2,000.00` prices, fees in their own column, a reward, a stake, a send."""
    _import(db_path, "revolut_crypto.csv")
    books = read_books(db_path)
    assert books["held"] == {"ETH": D("0.36")}  # 0.5 + 0.01 - 0.1 - 0.05; staking keeps it
    assert books["cash"] == {"EUR": D("-756.25")}  # -(1000 + 5) + (250 - 1.25)
    assert books["fees"] == D("6.25")


def test_ibkr_transaction_history(db_path: Path) -> None:
    """IBKR Transaction History: "-" for empty cells, the base currency from the Summary, a
    translation adjustment left out, newest rows first."""
    _import(db_path, "ibkr_history.csv")
    books = read_books(db_path, "U***44444")
    assert books["held"] == {"XMPL": D("100")}
    # 5000 - (120 x 25 + 1) + (20 x 30 - 1) + 10 - 1.50
    assert books["cash"] == {"USD": D("2606.5")}
    assert (books["dividends"], books["taxes"], books["fees"]) == (D("10"), D("1.5"), D("2"))


def test_trading212_same_currency_keeps_fees(db_path: Path) -> None:
    """Trading 212, EUR account and EUR stock (2026 layout): no conversion, so the French
    transaction tax and the transaction fee stay on the trades; the withholding (in EUR too)
    grosses the dividend up and is the tax."""
    _import(db_path, "trading212_eur.csv")
    books = read_books(db_path)
    assert books["held"] == {"CCC": D("15")}
    # 2000 - (20 x 50 + 3) + 15 + 5 - 5 + (5 x 55 - 0.50) - 100
    assert books["cash"] == {"EUR": D("1186.5")}
    assert (books["dividends"], books["taxes"], books["fees"]) == (D("20"), D("5"), D("3.5"))
