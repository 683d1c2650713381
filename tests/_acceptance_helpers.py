"""End to end checks of broker exports: `workbench import FILE` (header detection alone), then
`workbench report --json`, compared with books worked out by hand in the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from workbench.cli import cli
from workbench.store import connect

FIXTURES = Path(__file__).parent / "fixtures" / "brokers_acceptance"
#: money compared to half a cent: an FX row's price has 8 decimals, so 5500 USD bought for
#: 5000 EUR costs 5500 x 0.90909091 = 5000.000005 EUR in the ledger
CENT = Decimal("0.005")


@dataclass
class Books:
    """What a file should give, each money figure per currency."""

    held: dict[str, str]
    cash: dict[str, str]
    dividends: dict[str, str] = field(default_factory=dict)
    taxes: dict[str, str] = field(default_factory=dict)
    #: commissions in trades' fee columns plus FEE rows
    fees: dict[str, str] = field(default_factory=dict)
    interest: dict[str, str] = field(default_factory=dict)
    deposits: dict[str, str] = field(default_factory=dict)
    withdrawals: dict[str, str] = field(default_factory=dict)
    account: str | None = None


def run(*args: str) -> str:
    """The CLI's stdout; the command must succeed."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def import_and_report(
    db: Path, name: str, as_of: str = "2026-06-30", currency: str = "USD"
) -> dict[str, object]:
    """Import FIXTURES/name by header detection, then the report (in ``currency``) as JSON."""
    run("import", str(FIXTURES / name), "--db", str(db))
    report = json.loads(
        run("report", "--json", "--as-of", as_of, "--currency", currency, "--db", str(db))
    )
    assert isinstance(report, dict)
    return report


def per_currency(db: Path) -> dict[str, dict[str, Decimal]]:
    """Income, taxes, fees and flows per currency from the stored ledger rows (plain SQL)."""
    out: dict[str, dict[str, Decimal]] = {}
    with connect(db, read_only=True) as con:
        rows = con.execute(
            "SELECT type, currency, sum(coalesce(amount, 0)), sum(coalesce(fee, 0))"
            " FROM transactions GROUP BY type, currency"
        ).fetchall()
    names = {
        "DIVIDEND": "dividends",
        "TAX": "taxes",
        "INTEREST": "interest",
        "DEPOSIT": "deposits",
        "WITHDRAWAL": "withdrawals",
        "FEE": "fees",
    }
    for kind, currency, amount, fee in rows:
        if kind in names and amount:
            bucket = out.setdefault(names[kind], {})
            bucket[currency] = bucket.get(currency, Decimal(0)) + amount
        if fee:
            bucket = out.setdefault("fees", {})
            bucket[currency] = bucket.get(currency, Decimal(0)) + fee
    return out


def close(got: dict[str, object], want: dict[str, str]) -> bool:
    """Same keys, each amount within half a cent (zeros on either side ignored)."""
    got_d = {k: Decimal(str(v)) for k, v in got.items() if abs(Decimal(str(v))) >= CENT}
    want_d = {k: Decimal(v) for k, v in want.items() if Decimal(v)}
    return got_d.keys() == want_d.keys() and all(abs(got_d[k] - want_d[k]) < CENT for k in want_d)


def check(
    db: Path, name: str, books: Books, as_of: str = "2026-06-30", currency: str = "USD"
) -> dict[str, object]:
    """Import ``name``, then compare the report's positions and cash per currency, and the
    ledger's income, taxes, fees and flows per currency, with ``books``; the report (its
    cost basis, for callers that check it) is in ``currency``."""
    report = import_and_report(db, name, as_of, currency)
    positions = report["positions"]
    assert isinstance(positions, list)
    held: dict[str, float] = {}
    for p in positions:
        if books.account is not None:
            assert p["account"] == books.account, p
        if p["quantity"]:
            held[p["symbol"]] = held.get(p["symbol"], 0.0) + p["quantity"]
    assert held.keys() == books.held.keys(), held
    for symbol, quantity in books.held.items():
        assert abs(Decimal(str(held[symbol])) - Decimal(quantity)) < Decimal("1e-6"), (symbol, held)
    totals = report["totals"]
    assert isinstance(totals, dict)
    assert close(totals["cash_by_currency"], books.cash), totals["cash_by_currency"]
    ledger = per_currency(db)
    for what in ("dividends", "taxes", "fees", "interest", "deposits", "withdrawals"):
        want = getattr(books, what)
        got = {k: str(v) for k, v in ledger.get(what, {}).items()}
        assert close(got, want), (what, got, want)
    return report


def cost_basis(report: dict[str, object]) -> dict[str, float]:
    """symbol -> cost basis of the open positions, rounded to the cent."""
    positions = report["positions"]
    assert isinstance(positions, list)
    return {p["symbol"]: round(p["cost_basis"], 2) for p in positions if p["quantity"]}


def books_of(report: dict[str, object]) -> dict[str, tuple[float, float, float]]:
    """symbol -> (quantity, cost basis, realized P&L), rounded to the cent."""
    positions = report["positions"]
    assert isinstance(positions, list)
    return {
        p["symbol"]: (p["quantity"], round(p["cost_basis"], 2), round(p["realized_pnl"], 2))
        for p in positions
    }
