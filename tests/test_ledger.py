"""Ledger CSV import: every transaction type, every class of bad input, idempotency, export."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from workbench.errors import InvalidRows, OversoldError, TradeError
from workbench.ledger import import_csv, import_frame, record_trade
from workbench.ledger.export import export_table
from workbench.ledger.prices_csv import import_prices_csv
from workbench.store import connect, read_instruments, read_prices, read_transactions

WriteCsv = Callable[..., Path]

EVERY_TYPE = """date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note
2024-01-02,main,DEPOSIT,,,,,10000,USD,,first deposit
2024-01-03,main,BUY,ACME,10,100,1.50,,USD,,
2024-01-04,main,SPLIT,ACME,,,,,USD,4:1,
2024-01-05,main,SELL,ACME,8,30,1,,USD,,
2024-01-06,main,DIVIDEND,ACME,,,,12.5,USD,,cash dividend
2024-01-07,main,DIVIDEND,ACME,32,0.25,,,USD,,per share
2024-01-08,main,INTEREST,,,,,3.21,USD,,
2024-01-09,main,FEE,,,,,5,USD,,custody
2024-01-10,main,TAX,,,,,2,USD,,
2024-01-11,main,WITHDRAWAL,,,,,100,USD,,
"""


def _count(db: Path) -> int:
    """Rows stored; 0 when a refused import left no database (it removes one it created)."""
    if not db.exists():
        return 0
    with connect(db, read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM transactions").fetchall()[0][0])


def test_imports_every_transaction_type(db_path: Path, write_csv: WriteCsv) -> None:
    """One row of each type is stored with its values exact and types upper-cased."""
    result = import_csv(db_path, write_csv(EVERY_TYPE))
    assert (result.rows, result.added, result.duplicates) == (10, 10, 0)
    with connect(db_path, read_only=True) as con:
        tx = read_transactions(con)
        instruments = read_instruments(con)
    assert tx["type"].to_list() == [
        "DEPOSIT", "BUY", "SPLIT", "SELL", "DIVIDEND", "DIVIDEND", "INTEREST", "FEE", "TAX", "WITHDRAWAL",
    ]  # fmt: skip
    assert tx["id"].to_list() == list(range(1, 11))
    buy = tx.row(1, named=True)
    assert (buy["quantity"], buy["price"], buy["fee"]) == (
        Decimal(10),
        Decimal(100),
        Decimal("1.5"),
    )
    split = tx.row(2, named=True)
    assert (split["ratio_new"], split["ratio_old"]) == (Decimal(4), Decimal(1))
    # a dividend given as quantity x price per share gets its amount: 32 x 0.25 = 8
    assert tx.row(5, named=True)["amount"] == Decimal(8)
    assert tx.row(4, named=True)["amount"] == Decimal("12.5")
    assert instruments["symbol"].to_list() == ["ACME"]


def test_header_synonyms_bom_crlf_and_case(db_path: Path, write_csv: WriteCsv) -> None:
    """Synonym headers in any case and order, a BOM and CRLF line ends import like the canonical form."""
    text = "\ufeffTicker,Trade Date,ACTION,Qty,Unit Price,Commission\r\nacme,2024-03-01,buy,5,20,0.5\r\n"
    result = import_csv(db_path, write_csv(text))
    assert result.added == 1
    with connect(db_path, read_only=True) as con:
        row = read_transactions(con).row(0, named=True)
    assert (row["symbol"], row["type"], row["account"], row["currency"]) == (
        "ACME",
        "BUY",
        "default",
        "USD",
    )
    assert (row["quantity"], row["price"], row["fee"]) == (Decimal(5), Decimal(20), Decimal("0.5"))


def test_surrounding_blanks_are_ignored_and_blank_cells_are_empty(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """Blanks around any value (spaces, tabs, a no-break space) are dropped; a cell of blanks is empty."""
    text = (
        "date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note\n"
        "2024-01-02 , main\t, buy ,\u00a0acme , 5 ,\t20, ,  , usd , ,  first lot  \n"
        "2024-01-03,main,SPLIT,ACME,,,,,USD, 2 : 1 ,\n"
        "2024-01-04,main,DIVIDEND,ACME,,,,\t3.5 ,USD,,\n"
    )
    assert import_csv(db_path, write_csv(text)).added == 3
    with connect(db_path, read_only=True) as con:
        rows = read_transactions(con).rows(named=True)
    buy, split, dividend = rows
    assert (buy["date"].isoformat(), buy["account"], buy["type"], buy["symbol"]) == (
        "2024-01-02", "main", "BUY", "ACME",
    )  # fmt: skip
    assert (buy["quantity"], buy["price"], buy["fee"], buy["amount"]) == (
        Decimal(5), Decimal(20), Decimal(0), None,
    )  # fmt: skip
    assert (buy["currency"], buy["note"]) == ("USD", "first lot")
    assert (split["ratio_new"], split["ratio_old"], split["note"]) == (Decimal(2), Decimal(1), None)
    assert dividend["amount"] == Decimal("3.5")


def test_reimport_is_idempotent(db_path: Path, write_csv: WriteCsv) -> None:
    """Importing the same file twice adds nothing the second time."""
    path = write_csv(EVERY_TYPE)
    import_csv(db_path, path)
    again = import_csv(db_path, path)
    assert (again.added, again.duplicates) == (0, 10)
    assert _count(db_path) == 10


def test_repeated_rows_within_a_file_are_kept(db_path: Path, write_csv: WriteCsv) -> None:
    """Two identical rows in one file are two trades; re-importing still adds nothing."""
    text = "date,type,symbol,quantity,price\n2024-01-02,BUY,ACME,1,10\n2024-01-02,BUY,ACME,1,10\n"
    path = write_csv(text)
    assert import_csv(db_path, path).added == 2
    assert import_csv(db_path, path).added == 0
    assert _count(db_path) == 2


def test_row_identity_is_the_normalized_values_and_occurrence(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """Each row is stored with its normalized values and its occurrence among identical
    rows; a file writing the same values differently (case, trailing zeros) is the same rows."""
    text = (
        "date,account,type,symbol,quantity,price,fee,currency,note\n"
        "2024-01-02,main,buy,acme,10,100,1.5,usd,first\n"
        "2024-01-02,main,buy,acme,10,100,1.5,usd,first\n"
    )
    import_csv(db_path, write_csv(text))
    with connect(db_path, read_only=True) as con:
        stored = con.execute(
            "SELECT type, symbol, quantity, price, fee, currency, note, occurrence"
            " FROM transactions ORDER BY id"
        ).fetchall()
    one = ("BUY", "ACME", Decimal("10"), Decimal("100"), Decimal("1.5"), "USD", "first")
    assert stored == [(*one, 1), (*one, 2)]
    same = text.replace("buy,acme,10,100,1.5,usd", "BUY,ACME,10.000,100.0,1.50,USD")
    assert import_csv(db_path, write_csv(same, "same.csv")).added == 0


#: rows of every kind of value; each row of VARIANTS differs from one of them in one field
BASE = """date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note,target,cost_fraction
2024-01-02,main,DEPOSIT,,,,,10000,USD,,,,
2024-01-03,main,BUY,ACME,10,100,1.5,,USD,,n,,
2024-01-05,main,DIVIDEND,ACME,,,,12.5,USD,,d,,
2024-01-06,main,SPLIT,ACME,,,,,USD,2:1,,,
2024-01-07,main,SPINOFF,ACME,5,,,,USD,,,KID,0.2
"""

VARIANTS = [
    "2024-01-04,main,BUY,ACME,10,100,1.5,,USD,,n,,",  # date
    "2024-01-03,other,BUY,ACME,10,100,1.5,,USD,,n,,",  # account
    "2024-01-03,main,BUY,ZEIT,10,100,1.5,,USD,,n,,",  # symbol
    "2024-01-03,main,BUY,ACME,11,100,1.5,,USD,,n,,",  # quantity
    "2024-01-03,main,BUY,ACME,10,100.01,1.5,,USD,,n,,",  # price
    "2024-01-03,main,BUY,ACME,10,100,1.6,,USD,,n,,",  # fee
    "2024-01-03,main,BUY,ACME,10,100,1.5,,EUR,,n,,",  # currency
    "2024-01-03,main,BUY,ACME,10,100,1.5,,USD,,n2,,",  # note
    "2024-01-03,main,BUY,ACME,10,100,1.5,,USD,,,,",  # note missing
    "2024-01-03,main,BUY,ACME,10,100,1.5,,USD,,n,,",  # occurrence: the row a second time
    "2024-01-05,main,DIVIDEND,ACME,,,,12.51,USD,,d,,",  # amount
    "2024-01-06,main,SPLIT,ACME,,,,,USD,3:1,,,",  # ratio_new
    "2024-01-06,main,SPLIT,ACME,,,,,USD,2:3,,,",  # ratio_old
    "2024-01-07,main,SPINOFF,ACME,5,,,,USD,,,KIT,0.2",  # target
    "2024-01-07,main,SPINOFF,ACME,5,,,,USD,,,KID,0.25",  # cost_fraction
    "2024-01-08,main,SELL,ACME,10,100,1.5,,USD,,n,,",  # type (a BUY's values otherwise)
]


def test_a_row_differing_in_any_one_field_is_a_new_row(db_path: Path, write_csv: WriteCsv) -> None:
    """Re-importing the rows with, for each identity field, one row that differs from a
    stored row in that field alone adds exactly those rows; a third import adds nothing."""
    assert import_csv(db_path, write_csv(BASE)).added == 5
    both = write_csv(BASE + "\n".join(VARIANTS) + "\n", "both.csv")
    second = import_csv(db_path, both)
    assert (second.added, second.duplicates) == (len(VARIANTS), 5)
    assert import_csv(db_path, both).added == 0
    assert _count(db_path) == 5 + len(VARIANTS)


def test_dry_run_stores_nothing(db_path: Path, write_csv: WriteCsv) -> None:
    """--dry-run validates and counts but leaves the ledger empty."""
    result = import_csv(db_path, write_csv(EVERY_TYPE), dry_run=True)
    assert (result.added, result.dry_run) == (10, True)
    assert _count(db_path) == 0


def _refused(db_path: Path, path: Path, *, line: int, field: str, match: str) -> None:
    with pytest.raises(InvalidRows) as info:
        import_csv(db_path, path)
    problems = [(p.line, p.field) for p in info.value.problems]
    assert (line, field) in problems, problems
    assert str(path) in str(info.value)
    assert match in str(info.value)
    if db_path.exists():
        assert _count(db_path) == 0


GOOD = "2024-01-02,BUY,ACME,1,10,,,\n"
HEADER = "date,type,symbol,quantity,price,amount,ratio,fee\n"


@pytest.mark.parametrize(
    ("bad_row", "field", "match"),
    [
        pytest.param(
            "2024-01-03,BUY,ACME,-5,10,,,", "quantity", "greater than 0", id="negative-quantity"
        ),
        pytest.param(
            "2024-01-03,BUY,ACME,NaN,10,,,", "quantity", "not a number", id="nan-quantity"
        ),
        pytest.param(
            "2024-01-03,BUY,ACME,0,10,,,", "quantity", "greater than 0", id="zero-quantity"
        ),
        pytest.param("2024-01-03,SWAP,ACME,1,10,,,", "type", "unknown type", id="unknown-type"),
        pytest.param("2024-01-03,BUY,,1,10,,,", "symbol", "missing", id="missing-symbol"),
        pytest.param("2024-02-30,BUY,ACME,1,10,,,", "date", "not a date", id="impossible-date"),
        pytest.param("03/01/2024,BUY,ACME,1,10,,,", "date", "not a date", id="us-date"),
        pytest.param(
            "2024-01-03,BUY,ACME,1,ten,,,", "price", "not a number", id="non-numeric-price"
        ),
        pytest.param(
            "2024-01-03,BUY,ACME,1,-10,,,", "price", "must not be negative", id="negative-price"
        ),
        pytest.param(
            "2024-01-03,SPLIT,ACME,,,,4-1,", "ratio", "bad split ratio", id="bad-split-ratio"
        ),
        pytest.param(
            "2024-01-03,SPLIT,ACME,,,,0:1,", "ratio", "bad split ratio", id="zero-split-ratio"
        ),
        pytest.param("2024-01-03,SPLIT,ACME,,,,,", "ratio", "missing", id="missing-split-ratio"),
        pytest.param(
            "2024-01-03,DEPOSIT,,,,-100,,", "amount", "must be positive", id="negative-amount"
        ),
        pytest.param("2024-01-03,FEE,,,,,,", "amount", "missing", id="missing-amount"),
        pytest.param(
            "2024-01-03,BUY,ACME,1,10,,,-1", "fee", "must not be negative", id="negative-fee"
        ),
    ],
)
def test_bad_value_is_named_and_nothing_imported(
    db_path: Path, write_csv: WriteCsv, bad_row: str, field: str, match: str
) -> None:
    """A bad value is reported with file, line 3 and its field, and the good row is not imported either."""
    _refused(db_path, write_csv(HEADER + GOOD + bad_row + "\n"), line=3, field=field, match=match)


def test_every_bad_row_is_reported(db_path: Path, write_csv: WriteCsv) -> None:
    """All bad rows are listed, not only the first."""
    text = HEADER + "2024-01-02,BUY,ACME,-1,10,,,\n" + GOOD + "2024-01-04,NOPE,ACME,1,1,,,\n"
    with pytest.raises(InvalidRows) as info:
        import_csv(db_path, write_csv(text))
    assert [(p.line, p.field) for p in info.value.problems] == [(2, "quantity"), (4, "type")]


def test_selling_more_than_held_is_refused(db_path: Path, write_csv: WriteCsv) -> None:
    """A sell of more than the account holds names the line and stores nothing."""
    text = HEADER + GOOD + "2024-01-03,SELL,ACME,2,10,,,\n"
    with pytest.raises(
        OversoldError, match=r"ledger.csv:3: quantity: sells 2 ACME but account 'default' holds 1"
    ):
        import_csv(db_path, write_csv(text))
    assert _count(db_path) == 0


def test_split_raises_what_may_be_sold(db_path: Path, write_csv: WriteCsv) -> None:
    """After a 4:1 split, 4 shares may be sold from 1 bought, but not 5."""
    ok = HEADER + GOOD + "2024-01-03,SPLIT,ACME,,,,4:1,\n2024-01-04,SELL,ACME,4,3,,,\n"
    assert import_csv(db_path, write_csv(ok)).added == 3
    with pytest.raises(OversoldError, match="holds 0"):
        import_csv(db_path, write_csv(HEADER + "2024-01-05,SELL,ACME,1,3,,,\n", "more.csv"))


def test_sell_is_checked_against_stored_holdings(db_path: Path, write_csv: WriteCsv) -> None:
    """A later file may sell what an earlier import bought, and only that much."""
    import_csv(db_path, write_csv(HEADER + "2024-01-02,BUY,ACME,3,10,,,\n", "buys.csv"))
    assert (
        import_csv(db_path, write_csv(HEADER + "2024-01-05,SELL,ACME,3,12,,,\n", "sell.csv")).added
        == 1
    )
    with pytest.raises(OversoldError):
        import_csv(db_path, write_csv(HEADER + "2024-01-06,SELL,ACME,0.5,12,,,\n", "again.csv"))


def test_backdated_sell_that_breaks_a_stored_sell_is_refused(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """An earlier-dated sell that would leave a stored later sell short is refused."""
    import_csv(
        db_path, write_csv(HEADER + "2024-01-02,BUY,ACME,3,10,,,\n2024-01-09,SELL,ACME,3,12,,,\n")
    )
    with pytest.raises(OversoldError, match="stored transaction 2"):
        import_csv(db_path, write_csv(HEADER + "2024-01-05,SELL,ACME,1,11,,,\n", "backdated.csv"))
    assert _count(db_path) == 2


def test_backdated_reverse_split_that_breaks_a_stored_sell_is_refused(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """A new 1:4 split before a stored sell of all 8 held leaves 2 to sell: refused, nothing stored."""
    import_csv(
        db_path, write_csv(HEADER + "2024-01-02,BUY,ACME,8,10,,,\n2024-01-09,SELL,ACME,8,12,,,\n")
    )
    with pytest.raises(OversoldError, match=r"stored transaction 2 .* with only 2 held"):
        import_csv(db_path, write_csv(HEADER + "2024-01-05,SPLIT,ACME,,,,1:4,\n", "split.csv"))
    assert _count(db_path) == 2


def test_rows_apply_in_date_order_then_file_order(db_path: Path, write_csv: WriteCsv) -> None:
    """A sell listed before the buy it needs is fine when dated later; on the same date file order decides."""
    later_sell_first = HEADER + "2024-01-05,SELL,ACME,1,12,,,\n" + GOOD
    assert import_csv(db_path, write_csv(later_sell_first)).added == 2
    same_day = HEADER + "2024-02-01,SELL,ACME,1,12,,,\n2024-02-01,BUY,ACME,1,10,,,\n"
    with pytest.raises(OversoldError, match=r"same.csv:2: quantity: sells 1 ACME"):
        import_csv(db_path, write_csv(same_day, "same.csv"))
    assert _count(db_path) == 2


def test_holdings_are_per_account_and_symbol(db_path: Path, write_csv: WriteCsv) -> None:
    """Shares bought in one account, or of another symbol, cannot be sold; every short sale is named."""
    text = (
        "date,account,type,symbol,quantity,price\n"
        "2024-01-02,a,BUY,ACME,5,10\n"
        "2024-01-02,a,BUY,BOLT,5,10\n"
        "2024-01-03,b,SELL,ACME,5,11\n"
        "2024-01-03,a,SELL,ACME,5,11\n"
        "2024-01-04,a,SELL,BOLT,6,11\n"
    )
    with pytest.raises(OversoldError) as info:
        import_csv(db_path, write_csv(text))
    message = str(info.value)
    assert "ledger.csv:4: quantity: sells 5 ACME but account 'b' holds 0" in message
    assert "ledger.csv:6: quantity: sells 6 BOLT but account 'a' holds 5" in message
    assert "ledger.csv:5" not in message
    assert _count(db_path) == 0


def test_missing_required_column(db_path: Path, write_csv: WriteCsv) -> None:
    """A file without a `type` column, or BUY rows without `price`, is refused at line 1."""
    _refused(
        db_path,
        write_csv("date,symbol\n2024-01-02,ACME\n"),
        line=1,
        field="type",
        match="required column missing",
    )
    _refused(
        db_path, write_csv("date,type,symbol,quantity\n2024-01-02,BUY,ACME,1\n", "b.csv"),
        line=1, field="price", match="BUY rows need it",
    )  # fmt: skip


@pytest.mark.parametrize(
    "text", [pytest.param("", id="empty"), pytest.param("\ufeff\r\n", id="bom-only")]
)
def test_empty_file(db_path: Path, write_csv: WriteCsv, text: str) -> None:
    """An empty file is an error naming the file."""
    _refused(db_path, write_csv(text), line=1, field="file", match="empty file")


def test_header_without_rows(db_path: Path, write_csv: WriteCsv) -> None:
    """A header and no rows is an error, not a silent no-op."""
    _refused(db_path, write_csv(HEADER), line=2, field="file", match="no rows")


def test_export_reimports_to_nothing_new(
    db_path: Path, write_csv: WriteCsv, tmp_path: Path
) -> None:
    """A CSV export of the ledger has the import columns and re-importing it adds nothing."""
    import_csv(db_path, write_csv(EVERY_TYPE))
    out = tmp_path / "export.csv"
    assert export_table(db_path, "transactions", fmt="csv", out=out) == {"transactions": 10}
    exported = pl.read_csv(out, infer_schema=False)
    assert exported.columns == [
        "date",
        "account",
        "type",
        "symbol",
        "quantity",
        "price",
        "fee",
        "amount",
        "currency",
        "ratio",
        "note",
        "target",
        "cost_fraction",
    ]
    assert exported.filter(pl.col("type") == "SPLIT")["ratio"].to_list() == ["4:1"]
    assert import_csv(db_path, out).added == 0
    fresh = tmp_path / "fresh.duckdb"
    assert import_csv(fresh, out).added == 10


def test_parquet_export_of_everything(db_path: Path, write_csv: WriteCsv, tmp_path: Path) -> None:
    """`all` writes one Parquet file per table with every row."""
    import_csv(db_path, write_csv(EVERY_TYPE))
    import_prices_csv(db_path, write_csv("date,symbol,close\n2024-01-02,ACME,100\n", "p.csv"))
    written = export_table(db_path, "all", fmt="parquet", out=tmp_path / "out")
    assert written == {"transactions": 10, "prices": 1, "quotes": 0}
    assert pl.read_parquet(tmp_path / "out" / "transactions.parquet").height == 10


def test_import_frame_and_trade(db_path: Path) -> None:
    """Frames import like files; a trade records one row at the given price and refuses oversells."""
    frame = pl.DataFrame(
        {
            "date": ["2024-01-02"],
            "type": ["buy"],
            "symbol": ["acme"],
            "quantity": [2.0],
            "price": [10.0],
        }
    )
    assert import_frame(db_path, frame, source="unit").added == 1
    tid = record_trade(db_path, side="sell", symbol="ACME", quantity=1, price="12.5")
    with connect(db_path, read_only=True) as con:
        row = read_transactions(con).filter(pl.col("id") == tid).row(0, named=True)
    assert (row["type"], row["quantity"], row["price"]) == ("SELL", Decimal(1), Decimal("12.5"))
    with pytest.raises(
        OversoldError, match=r"^trade refused: sells 5 ACME but account 'default' holds 1 on "
    ):
        record_trade(db_path, side="sell", symbol="ACME", quantity=5, price=1)
    with pytest.raises(TradeError, match="buy or sell"):
        record_trade(db_path, side="hold", symbol="ACME", quantity=1, price=1)
    with pytest.raises(TradeError, match="quantity"):
        record_trade(db_path, side="buy", symbol="ACME", quantity=-1, price=1)
    assert _count(db_path) == 2


def test_price_import_and_bad_prices(db_path: Path, write_csv: WriteCsv) -> None:
    """Bars import with provenance; a non-numeric close names its line and stores nothing."""
    good = "Date,Ticker,Close,Volume\n2024-01-02,acme,10.5,100\n2024-01-03,ACME,11,200\n"
    assert import_prices_csv(db_path, write_csv(good, "p.csv")) == 2
    with connect(db_path, read_only=True) as con:
        prices = read_prices(con)
    assert prices["close"].cast(pl.Float64).to_list() == [10.5, 11.0]
    assert set(prices["provider"]) == {"csv"}
    bad = "date,symbol,close\n2024-01-04,ACME,12\n2024-01-05,ACME,abc\n"
    with pytest.raises(InvalidRows, match=r"bad.csv:3: close: not a number"):
        import_prices_csv(db_path, write_csv(bad, "bad.csv"))
    with connect(db_path, read_only=True) as con:
        assert read_prices(con).height == 2


def test_a_split_applies_to_every_account_holding_the_symbol(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """A split recorded in one account also splits another account's holding of the symbol."""
    text = (
        "date,account,type,symbol,quantity,price,ratio\n"
        "2024-01-02,a,BUY,ACME,1,10,\n2024-01-02,b,BUY,ACME,1,10,\n"
        "2024-01-03,a,SPLIT,ACME,,,4:1\n2024-01-04,b,SELL,ACME,4,3,\n"
    )
    assert import_csv(db_path, write_csv(text)).added == 4
    with pytest.raises(OversoldError, match="account 'b' holds 0"):
        import_csv(
            db_path,
            write_csv(
                "date,account,type,symbol,quantity,price\n2024-01-05,b,SELL,ACME,1,3\n", "more.csv"
            ),
        )


def test_the_same_split_in_two_accounts_counts_once(db_path: Path, write_csv: WriteCsv) -> None:
    """A split recorded in each holding account (same date and ratio) multiplies holdings once: 1 -> 4, not 16."""
    text = (
        "date,account,type,symbol,quantity,price,ratio\n"
        "2024-01-02,a,BUY,ACME,1,10,\n2024-01-02,b,BUY,ACME,1,10,\n"
        "2024-01-03,a,SPLIT,ACME,,,4:1\n2024-01-03,b,SPLIT,ACME,,,4:1\n"
        "2024-01-04,a,SELL,ACME,5,3,\n"
    )
    with pytest.raises(
        OversoldError, match=r"ledger.csv:6: quantity: sells 5 ACME but account 'a' holds 4"
    ):
        import_csv(db_path, write_csv(text))


def test_a_new_reverse_split_elsewhere_that_breaks_a_stored_sell_is_refused(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """A backdated 1:4 reverse split recorded in account a, leaving account b's stored sell short, is refused at the split's line."""
    stored = "date,account,type,symbol,quantity,price\n2024-01-02,b,BUY,ACME,4,10\n2024-01-09,b,SELL,ACME,4,10\n"
    import_csv(db_path, write_csv(stored))
    split = "date,account,type,symbol,ratio\n2024-01-05,a,SPLIT,ACME,1:4\n"
    with pytest.raises(OversoldError, match=r"split.csv:2: quantity: leaves stored transaction 2"):
        import_csv(db_path, write_csv(split, "split.csv"))
    assert _count(db_path) == 2
