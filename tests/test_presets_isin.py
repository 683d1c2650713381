"""Instruments known by ISIN: a DEGIRO file files products under their ISIN; a later file
with the ticker and the same ISIN attaches the ticker, and the ISIN-only file maps to it."""

from __future__ import annotations

from pathlib import Path

from _presets_helpers import D, read_books
from _presets_helpers import import_fixture as _import

from workbench.store import connect


def test_isin_only_then_ticker_attaches(db_path: Path) -> None:
    """German DEGIRO headers and `zu je` prices under the ISIN; an IBKR sale of the ticker
    moves them to it (and passes the holdings check); re-importing DEGIRO adds nothing."""
    _import(db_path, "degiro_de.csv")
    first = read_books(db_path)
    assert first["held"] == {"NL0000000AB1": D("12")}
    # 1500 - 12 x 7.15 - 2.00 + 6.00 - 0.90: the file's own Saldo column ends at 1.417,30
    assert first["cash"] == {"EUR": D("1417.3")}

    _import(db_path, "ibkr_flex_isin.csv")
    after = read_books(db_path)
    assert after["held"] == {"VOORB": D("10")}
    assert after["cash"] == {"EUR": D("1432.3")}  # + 2 x 8 - 1
    with connect(db_path, read_only=True) as con:
        assert con.execute("SELECT isin, symbol, name FROM instrument_ids").fetchall() == [
            ("NL0000000AB1", "VOORB", "VOORBEELD NV")
        ]
        symbols = {r[0] for r in con.execute("SELECT symbol FROM instruments").fetchall()}
        assert "NL0000000AB1" not in symbols
        assert "VOORB" in symbols
        dividends = con.execute(
            "SELECT symbol FROM transactions WHERE type = 'DIVIDEND'"
        ).fetchall()
        assert dividends == [("VOORB",)]

    assert "added 0, 5 already imported" in _import(db_path, "degiro_de.csv")


def test_ticker_first_then_isin_only_file(db_path: Path) -> None:
    """An ISIN-only file after the ticker is known files its rows under the ticker at once."""
    isin_buy = Path(db_path).with_name("buy.csv")
    isin_buy.write_text(
        '"CurrencyPrimary","Symbol","ISIN","TradeDate","Buy/Sell","Quantity","TradePrice"\n'
        '"EUR","VOORB","NL0000000AB1","20231201","BUY","1","7"\n',
        encoding="utf-8",
    )
    _import(db_path, str(isin_buy))
    _import(db_path, "degiro_de.csv")
    assert read_books(db_path)["held"] == {"VOORB": D("13")}  # 1 + 12, never under the ISIN
    with connect(db_path, read_only=True) as con:
        symbols = {r[0] for r in con.execute("SELECT DISTINCT symbol FROM transactions").fetchall()}
    assert symbols == {"VOORB", None}
