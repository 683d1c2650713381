"""Shared helpers for the broker preset tests: import a fixture, read back the books."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from workbench.cli import cli
from workbench.ledger.presets import Conversion, convert_file
from workbench.store import connect

FIXTURES = Path(__file__).parent / "fixtures" / "brokers"


def import_fixture(db: Path, name: str, *extra: str) -> str:
    """`workbench import` of a broker fixture by header detection; its stdout."""
    result = CliRunner().invoke(cli, ["import", str(FIXTURES / name), "--db", str(db), *extra])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def convert_fixture(
    name: str, preset: str | None = None, *, account: str | None = None
) -> Conversion:
    """A broker fixture converted by header detection (no database), checked to be recognised
    and, when ``preset`` is given, by that preset."""
    conversion = convert_file(FIXTURES / name, account=account)
    assert conversion is not None
    if preset is not None:
        assert conversion.spec.name == preset
    return conversion


def row_tuples(conversion: Conversion, *columns: str) -> list[tuple[object, ...]]:
    """The converted rows' ``columns`` as tuples, in file order."""
    return [tuple(r) for r in conversion.rows.select(*columns).iter_rows()]


def read_books(db: Path, account: str | None = None) -> dict[str, object]:
    """Positions, cash per currency and totals from the stored rows, by DESIGN section 2's
    cash effects (computed here in SQL, not by the analytics under test elsewhere)."""
    where = "WHERE account = ?" if account else ""
    args = [account] if account else []
    with connect(db, read_only=True) as con:
        held = con.execute(
            "SELECT symbol, sum(CASE type WHEN 'BUY' THEN quantity ELSE -quantity END)"
            f" FROM transactions {where} {'AND' if where else 'WHERE'} type IN ('BUY','SELL')"
            " GROUP BY symbol ORDER BY symbol",
            args,
        ).fetchall()
        cash = con.execute(
            "SELECT currency, sum(CASE type"
            " WHEN 'BUY' THEN -(quantity::DECIMAL(38,8) * price + fee)"
            " WHEN 'SELL' THEN quantity::DECIMAL(38,8) * price - fee"
            " WHEN 'DIVIDEND' THEN amount WHEN 'INTEREST' THEN amount WHEN 'DEPOSIT' THEN amount"
            f" ELSE -amount END) FROM transactions {where} GROUP BY currency ORDER BY currency",
            args,
        ).fetchall()
        totals = dict(
            con.execute(
                f"SELECT type, sum(coalesce(amount, 0)) FROM transactions {where} GROUP BY type",
                args,
            ).fetchall()
        )
        fees = con.execute(
            "SELECT sum(fee) + sum(CASE WHEN type = 'FEE' THEN amount ELSE 0 END)"
            f" FROM transactions {where}",
            args,
        ).fetchall()[0][0]
    return {
        "held": {s: q for s, q in held if q},
        "cash": {c: v for c, v in cash if v},
        "dividends": totals.get("DIVIDEND", 0),
        "taxes": totals.get("TAX", 0),
        "interest": totals.get("INTEREST", 0),
        "deposits": totals.get("DEPOSIT", 0),
        "withdrawals": totals.get("WITHDRAWAL", 0),
        "fees": fees,
    }


def D(text: str) -> Decimal:
    """A Decimal from its text."""
    return Decimal(text)
