"""The ledger format of corporate actions: columns, validation, old databases, export round trip."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from _ledger_helpers import validated

from workbench.errors import InvalidRows
from workbench.ledger import import_csv
from workbench.ledger.columns import LEDGER_COLUMNS, SYNONYMS, canonicalize
from workbench.ledger.export import export_table
from workbench.ledger.keys import with_occurrence
from workbench.ledger.validate import validate_rows
from workbench.store import connect, read_instruments, read_transactions
from workbench.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from workbench.store.tables import registered

WriteCsv = Callable[..., Path]

#: one row of each corporate action, with every synonym of the new columns in use elsewhere
CORPORATE = """date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note,target,cost_fraction
2024-01-02,main,DEPOSIT,,,,,10000,USD,,,,
2024-01-03,main,BUY,OLD,10,100,0,,USD,,,,
2024-02-01,main,symbol_change,OLD,,,,,USD,2:1,renamed,NEW,
2024-03-01,main,SPINOFF,NEW,5,,,,USD,,,KID,0.2
2024-04-01,main,Merger,NEW,,,,,USD,1:2,,BIG,
2024-05-01,main,RETURN_OF_CAPITAL,BIG,,,,25,USD,,,,
2024-06-01,main,STOCK_DIVIDEND,BIG,1,12.5,,,USD,,,,
"""

#: the row key stored before the corporate-action columns existed (what an old database holds)
OLD_ROW_KEY = (
    "md5_number(concat(strftime(date, '%Y-%m-%d'), '|', account, '|', type, '|', symbol, '|',"
    " CAST(quantity AS VARCHAR), '|', CAST(price AS VARCHAR), '|', CAST(fee AS VARCHAR), '|',"
    " CAST(amount AS VARCHAR), '|', currency, '|', CAST(ratio_new AS VARCHAR), '|',"
    " CAST(ratio_old AS VARCHAR), '|', note, '|', CAST(occurrence AS VARCHAR)))"
)

PLAIN = """date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note
2024-01-02,main,DEPOSIT,,,,,10000,USD,,first
2024-01-03,main,BUY,ACME,10,100,1.5,,USD,,
2024-01-03,main,BUY,ACME,10,100,1.5,,USD,,
2024-01-04,main,SPLIT,ACME,,,,,USD,4:1,
2024-01-05,main,SELL,ACME,8,30,1,,USD,,
"""


def test_corporate_rows_import_with_target_and_cost_fraction(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """Each corporate action stores its type upper-cased, target, ratio and cost_fraction; the
    targets become instruments."""
    assert import_csv(db_path, write_csv(CORPORATE)).added == 7
    with connect(db_path, read_only=True) as con:
        tx = read_transactions(con)
        instruments = read_instruments(con)
    assert tx["type"].to_list()[2:] == [
        "SYMBOL_CHANGE", "SPINOFF", "MERGER", "RETURN_OF_CAPITAL", "STOCK_DIVIDEND",
    ]  # fmt: skip
    assert tx["target"].to_list() == [None, None, "NEW", "KID", "BIG", None, None]
    assert tx["cost_fraction"].to_list()[3] == Decimal("0.2")
    change = tx.row(2, named=True)
    assert (change["ratio_new"], change["ratio_old"]) == (Decimal(2), Decimal(1))
    assert sorted(instruments["symbol"].to_list()) == ["BIG", "KID", "NEW", "OLD"]


def test_target_synonyms(db_path: Path, write_csv: WriteCsv) -> None:
    """``new_symbol`` and ``to_symbol`` headers mean ``target``; targets are upper-cased."""
    for header in ("new_symbol", "To Symbol"):
        text = f"date,type,symbol,{header}\n2024-01-02,SYMBOL_CHANGE,old,new\n"
        canon, ignored = canonicalize(
            pl.read_csv(text.encode(), infer_schema=False),
            file="x.csv",
            known=LEDGER_COLUMNS,
            synonyms=SYNONYMS,
        )
        assert ignored == []
        typed, problems = validate_rows(canon, file="x.csv")
        assert problems == []
        assert typed["target"].to_list() == ["NEW"]


def _before_target_column() -> int:
    """The schema version just before the one adding ``transactions.target``."""
    (version,) = [
        v for v, steps in MIGRATIONS.items() if any("ADD COLUMN target" in s for s in steps)
    ]
    return version - 1


def test_old_database_reimport_adds_nothing(db_path: Path, write_csv: WriteCsv) -> None:
    """A database written before the new columns (MD5 keys without them) migrates, and
    importing the same old file again adds nothing."""
    rows = with_occurrence(validated(PLAIN)).with_columns(
        id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    )
    import duckdb

    with duckdb.connect(str(db_path)) as con:
        migrate(con, target=_before_target_column())
        with registered(con, _rows=rows):
            con.execute(
                "INSERT INTO transactions SELECT id, date, account, type, symbol, quantity,"
                " price, fee, amount, currency, ratio_new, ratio_old, note, 1,"
                f" {OLD_ROW_KEY} FROM _rows"
            )
    with connect(db_path) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0] == (
            SCHEMA_VERSION
        )
    result = import_csv(db_path, write_csv(PLAIN))
    assert (result.rows, result.added) == (5, 0)


def test_export_round_trips_corporate_columns(
    db_path: Path, write_csv: WriteCsv, tmp_path: Path
) -> None:
    """An export writes target and cost_fraction; importing it into the same ledger adds
    nothing and into a fresh one gives the same rows."""
    import_csv(db_path, write_csv(CORPORATE))
    out = tmp_path / "export.csv"
    export_table(db_path, "transactions", fmt="csv", out=out)
    exported = pl.read_csv(out, infer_schema=False)
    assert exported.columns[-2:] == ["target", "cost_fraction"]
    assert exported["target"].to_list()[2:5] == ["NEW", "KID", "BIG"]
    assert exported["ratio"].to_list()[2] == "2:1"
    assert import_csv(db_path, out).added == 0
    fresh = tmp_path / "fresh.duckdb"
    assert import_csv(fresh, out).added == 7
    columns = ["date", "type", "symbol", "quantity", "amount", "ratio_new", "target",
               "cost_fraction"]  # fmt: skip
    with connect(db_path, read_only=True) as a, connect(fresh, read_only=True) as b:
        assert read_transactions(a).select(columns).equals(read_transactions(b).select(columns))


BAD = [
    pytest.param("SYMBOL_CHANGE,OLD,,,,,,,", "target", "missing", id="change-no-target"),
    pytest.param("SYMBOL_CHANGE,OLD,,,,,,,old", "target", "same as symbol", id="change-same"),
    pytest.param("SYMBOL_CHANGE,OLD,,,,,0:1,,NEW", "ratio", "bad ratio", id="change-ratio"),
    pytest.param("SPINOFF,P,,,,,,0.2,KID", "quantity", "missing", id="spinoff-no-qty"),
    pytest.param("SPINOFF,P,0,,,,,0.2,KID", "quantity", "greater than 0", id="spinoff-zero"),
    pytest.param("SPINOFF,P,5,,,,,,KID", "cost_fraction", "missing", id="spinoff-no-fraction"),
    pytest.param("SPINOFF,P,5,,,,,1,KID", "cost_fraction", "below 1", id="spinoff-fraction-1"),
    pytest.param("SPINOFF,P,5,,,,,-0.1,KID", "cost_fraction", "at least 0", id="spinoff-neg"),
    pytest.param("SPINOFF,P,5,,,,,abc,KID", "cost_fraction", "not a number", id="spinoff-nan"),
    pytest.param("MERGER,OLD,,,,,,,NEW", "ratio", "missing", id="merger-no-ratio"),
    pytest.param("MERGER,OLD,,,,,,1.5,NEW", "cost_fraction", "between 0 and 1", id="merger-f"),
    pytest.param("MERGER,OLD,,,,100,1:1,,NEW", "cost_fraction", "missing", id="merger-cash"),
    pytest.param("MERGER,OLD,-1,,,,1:1,,NEW", "quantity", "negative", id="merger-neg-qty"),
    pytest.param("RETURN_OF_CAPITAL,X,,,,,,,", "amount", "missing", id="roc-no-amount"),
    pytest.param("RETURN_OF_CAPITAL,X,,,,0,,,", "amount", "greater than 0", id="roc-zero"),
    pytest.param("RETURN_OF_CAPITAL,,,,,5,,,", "symbol", "missing", id="roc-no-symbol"),
    pytest.param("STOCK_DIVIDEND,X,,,,,,,", "quantity", "missing", id="stockdiv-no-qty"),
    pytest.param("STOCK_DIVIDEND,X,2,-1,,,,,", "price", "negative", id="stockdiv-neg-price"),
    pytest.param("BUY,X,1,1,,,,,Y", "target", "only SYMBOL_CHANGE", id="buy-target"),
    pytest.param("SELL,X,1,1,,,,0.5,", "cost_fraction", "only SPINOFF", id="sell-fraction"),
]


@pytest.mark.parametrize(("row", "field", "message"), BAD)
def test_bad_corporate_rows_name_line_and_field(
    db_path: Path, write_csv: WriteCsv, row: str, field: str, message: str
) -> None:
    """A bad corporate-action row is refused with its file, line and field; nothing is stored."""
    text = "date,type,symbol,quantity,price,fee,amount,ratio,cost_fraction,target\n"
    text += "2024-01-02,BUY,X,1,1,,,,,\n" + f"2024-01-03,{row}\n"
    with pytest.raises(InvalidRows) as info:
        import_csv(db_path, write_csv(text))
    found = [(p.line, p.field) for p in info.value.problems]
    assert (3, field) in found, info.value.problems
    assert any(message in p.message for p in info.value.problems if p.field == field)
    assert str(write_csv(text)) in str(info.value)


def test_missing_corporate_columns_are_named(db_path: Path, write_csv: WriteCsv) -> None:
    """A file of corporate actions without the target column is refused at its header."""
    text = "date,type,symbol,quantity\n2024-01-03,SPINOFF,P,5\n"
    with pytest.raises(InvalidRows) as info:
        import_csv(db_path, write_csv(text))
    fields = {(p.line, p.field) for p in info.value.problems}
    assert {(1, "target"), (1, "cost_fraction")} <= fields
