"""Broker exports written for these tests (invented rows in each broker's real layout, with
the quirks their documentation and real files show) import by header detection alone and give
the positions, cash per currency, dividends, taxes, fees and deposits worked out by hand in
each test's comments."""

from __future__ import annotations

from pathlib import Path

from _acceptance_helpers import Books, check


def test_ibkr_activity_statement_eur_base(db_path: Path) -> None:
    """IBKR activity statement, EUR base: every section of a real statement (NAV, open
    positions, forex balances, instrument info, codes), order/fill/closed-lot rows, a Forex
    trade whose commission is in the base currency ("Comm in EUR"), per-currency Total rows,
    a withholding reversal pair, debit interest and a quoted "10,000" deposit."""
    check(
        db_path,
        "ibkr_activity_eur.csv",
        Books(
            account="U7654321",
            held={"AAPL": "15", "SAP": "10"},  # 20 - 5; 10
            cash={
                # 10000 - 5000 (EUR.USD sold) - 2 (its commission) - (1500 + 3) + 22 - 5.80
                # + 3.21 - 1000
                "EUR": "2514.41",
                # 5500 - (3600 + 1) + (1000 - 1.02) + 3.75 - 0.56 - 1.50 - 0.42 (debit interest)
                "USD": "2899.25",
            },
            dividends={"EUR": "22", "USD": "3.75"},
            taxes={"EUR": "5.80", "USD": "0.56"},  # -0.56 +0.56 -0.56 nets to 0.56
            fees={"EUR": "5", "USD": "3.94"},  # 3 + 2; 1 + 1.02 + 1.50 + 0.42
            interest={"EUR": "3.21"},
            deposits={"EUR": "10000"},
            withdrawals={"EUR": "1000"},
        ),
    )
