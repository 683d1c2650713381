"""Row identity in the store: databases written with MD5 row keys migrate to stored occurrence
numbers exactly, and a symbol rename numbers again the rows it makes identical."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
from _ledger_helpers import validated

from workbench.ledger import import_csv
from workbench.ledger.keys import with_occurrence
from workbench.store import connect, instrument_ids
from workbench.store.schema import MIGRATIONS, migrate
from workbench.store.tables import registered

WriteCsv = Callable[..., Path]

#: the row key the store kept until occurrences were stored, as the importer computed it
#: then: MD5 of the values and occurrence joined by '|' (NULL as ''), target and
#: cost_fraction only when set
OLD_ROW_KEY = (
    "md5_number(concat(strftime(date, '%Y-%m-%d'), '|', account, '|', type, '|', symbol, '|',"
    " CAST(quantity AS VARCHAR), '|', CAST(price AS VARCHAR), '|', CAST(fee AS VARCHAR), '|',"
    " CAST(amount AS VARCHAR), '|', currency, '|', CAST(ratio_new AS VARCHAR), '|',"
    " CAST(ratio_old AS VARCHAR), '|', note, '|', CAST(occurrence AS VARCHAR),"
    " '|target=' || target, '|cost_fraction=' || CAST(cost_fraction AS VARCHAR)))"
)

HEADER = (
    "date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note,target,cost_fraction\n"
)
R = "2024-01-02,main,BUY,ACME,1,10,0,,USD,,,,"
S = "2024-01-02,main,BUY,ZEIT,2,20,0,,USD,,,,"
SPIN = "2024-01-03,main,SPINOFF,ACME,1,,,,USD,,,KID,0.25"
P, Q, U = (f"2024-02-0{d},main,BUY,BETA,1,5,0,,USD,,,," for d in (1, 2, 3))
G = "2024-03-01,main,BUY,GAMMA,1,7,0,,USD,,,,"
H = "2024-03-02,main,BUY,HOTEL,1,7,0,,USD,,,,"
K = "2024-03-03,main,BUY,KILO,1,7,0,,USD,,,,"
MANY = "2024-04-01,main,BUY,MANY,1,1,0,,USD,,lot,,"

FILES = {
    "f1": [R, R, S, SPIN],  # identical rows
    "a": [P, Q, P],  # the first three lines of f2 = [P, Q, P, U] ...
    "b": [Q, P, U],  # ... and its last three (occurrences of the file are not these)
    "g": [G, G, G],
    "h": [H, H, H],
    "k": [K, K],
    "many": [MANY] * 70,
}


def _csv(lines: list[str]) -> str:
    return HEADER + "\n".join(lines) + "\n"


def _old_import(con: duckdb.DuckDBPyConnection, lines: list[str]) -> int:
    """Import as the MD5-keyed store did: skip rows whose key is stored, insert the rest
    with the next ids and their keys, record the import. Returns the rows added."""
    rows = with_occurrence(validated(_csv(lines)))
    import_id = con.sql("SELECT coalesce(max(id), 0) + 1 FROM imports").fetchall()[0][0]
    first_id = con.sql("SELECT coalesce(max(id), 0) + 1 FROM transactions").fetchall()[0][0]
    with registered(con, _rows=rows):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _new AS SELECT * FROM"
            f" (SELECT *, {OLD_ROW_KEY} AS k FROM _rows) r"
            " WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.row_key = r.k)"
        )
    con.execute(
        "INSERT INTO transactions (id, date, account, type, symbol, quantity, price, fee,"
        " amount, currency, ratio_new, ratio_old, note, import_id, row_key, target,"
        " cost_fraction) SELECT ? + row_number() OVER (ORDER BY line) - 1, date, account, type,"
        " symbol, quantity, price, fee, amount, currency, ratio_new, ratio_old, note, ?, k,"
        " target, cost_fraction FROM _new",
        [first_id, import_id],
    )
    added = int(con.sql("SELECT count(*) FROM _new").fetchall()[0][0])
    con.execute(
        "INSERT INTO imports (id, file_name, file_hash, rows, added) VALUES (?, 'x', '', ?, ?)",
        [import_id, rows.height, added],
    )
    return added


def _before_occurrences() -> int:
    """The schema version just before the one that stores occurrence numbers."""
    (version,) = [
        v for v, steps in MIGRATIONS.items() if any("ADD COLUMN occurrence" in s for s in steps)
    ]
    return version - 1


def _delete(con: duckdb.DuckDBPyConnection, symbol: str, nth: int) -> None:
    """Delete the ``nth`` stored row of ``symbol`` by id (as `workbench check --remove` may)."""
    con.execute(
        "DELETE FROM transactions WHERE id = (SELECT id FROM transactions WHERE symbol = ?"
        " ORDER BY id LIMIT 1 OFFSET ?)",
        [symbol, nth - 1],
    )


def _old_database(path: Path) -> None:
    """A ledger as the MD5-keyed store left it, with every case the migration must read."""
    with duckdb.connect(str(path)) as con:
        migrate(con, target=_before_occurrences())
        for name in ("f1", "a", "b", "g", "h", "k", "many"):
            _old_import(con, FILES[name])
        _delete(con, "GAMMA", 1)  # occurrences 2, 3 stay, first in id order
        _delete(con, "HOTEL", 2)  # occurrences 1, 3 stay
        _delete(con, "KILO", 1)  # occurrence 1 deleted, then imported again: ids 2, 1
        assert _old_import(con, FILES["k"]) == 1
        _delete(con, "MANY", 1)  # 2..70 stay, none at its place in id order
        # a row written directly with a key of no import: numbered after its twins
        con.execute(
            "INSERT INTO transactions (id, date, account, type, symbol, quantity, price, fee,"
            " currency, row_key) VALUES (999, DATE '2024-01-02', 'main', 'BUY', 'ACME', 1, 10,"
            " 0, 'USD', 12345)"
        )


def _occurrences(con: duckdb.DuckDBPyConnection, symbol: str) -> list[int]:
    found = con.execute(
        "SELECT occurrence FROM transactions WHERE symbol = ? AND type = 'BUY' ORDER BY id",
        [symbol],
    ).fetchall()
    return [row[0] for row in found]


def test_migration_reads_each_occurrence_out_of_its_md5_key(db_path: Path) -> None:
    """Every row's occurrence is the one its MD5 key was made with (listed by hand from the
    imports and deletions above), the key column is gone and occurrences are required."""
    _old_database(db_path)
    with connect(db_path) as con:
        assert _occurrences(con, "ACME") == [1, 2, 3]  # the direct row after the file's two
        assert _occurrences(con, "ZEIT") == [1]
        assert con.execute(
            "SELECT occurrence, target, cost_fraction FROM transactions WHERE type = 'SPINOFF'"
        ).fetchall()[0][:2] == (1, "KID")
        # a = [P, Q, P] stored P1, Q1, P2; b = [Q, P, U] added only U (occurrence 1)
        assert _occurrences(con, "BETA") == [1, 1, 2, 1]
        assert _occurrences(con, "GAMMA") == [2, 3]
        assert _occurrences(con, "HOTEL") == [1, 3]
        assert _occurrences(con, "KILO") == [2, 1]
        assert _occurrences(con, "MANY") == list(range(2, 71))  # found past the first window
        columns = dict(
            (name, nullable)
            for name, _, nullable, *_ in con.execute("DESCRIBE transactions").fetchall()
        )
    assert "row_key" not in columns
    assert columns["occurrence"] == "NO"


def test_a_migrated_ledger_reimports_as_before(db_path: Path, write_csv: WriteCsv) -> None:
    """After the migration every file adds what it added with MD5 keys: nothing, except
    the rows deleted since (which an import brings back, once)."""
    _old_database(db_path)
    added = {
        name: import_csv(db_path, write_csv(_csv(lines), f"{name}.csv")).added
        for name, lines in FILES.items()
    }
    assert added == {"f1": 0, "a": 0, "b": 0, "g": 1, "h": 1, "k": 0, "many": 1}
    whole = write_csv(_csv([P, Q, P, U]), "f2.csv")  # the file a and b were cut from
    assert import_csv(db_path, whole).added == 0
    again = {
        name: import_csv(db_path, write_csv(_csv(lines), f"{name}.csv")).added
        for name, lines in FILES.items()
    }
    assert set(again.values()) == {0}


def test_a_rename_numbers_again_the_rows_it_makes_identical(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """A trade filed under an ISIN by one file and under its ticker by another becomes two
    identical rows when the ticker is attached: they are numbered 1 and 2, so a file
    listing the trade twice under the ticker adds nothing, and one listing it once neither."""
    isin, ticker = "NL0000000AB1", "VOORB"
    row = "2024-01-02,main,BUY,{},3,7,0,,EUR,,,,"
    import_csv(db_path, write_csv(_csv([row.format(isin)]), "isin.csv"))
    import_csv(db_path, write_csv(_csv([row.format(ticker)]), "ticker.csv"))
    with connect(db_path) as con:
        con.execute("INSERT INTO instrument_ids VALUES (?, ?, NULL)", [isin, isin])
        pairs = pl.DataFrame({"symbol": [ticker], "isin": [isin], "name": ["VOORBEELD NV"]})
        assert instrument_ids.attach(con, pairs) == [(isin, ticker)]
        stored = con.execute("SELECT symbol, occurrence FROM transactions ORDER BY id").fetchall()
    assert stored == [(ticker, 1), (ticker, 2)]  # both were 1: then by id
    twice = write_csv(_csv([row.format(ticker)] * 2), "twice.csv")
    assert import_csv(db_path, twice).added == 0
    assert import_csv(db_path, write_csv(_csv([row.format(ticker)]), "once.csv")).added == 0


def test_a_rename_keeps_numbers_that_stay_distinct(db_path: Path, write_csv: WriteCsv) -> None:
    """Rows the rename does not make identical keep their occurrences (1, 2 of one file)."""
    isin = "NL0000000AB1"
    row = f"2024-01-02,main,BUY,{isin},3,7,0,,EUR,,,,"
    import_csv(db_path, write_csv(_csv([row, row])))
    with connect(db_path) as con:
        con.execute("INSERT INTO instrument_ids VALUES (?, ?, NULL)", [isin, isin])
        pairs = pl.DataFrame({"symbol": ["VOORB"], "isin": [isin], "name": ["VOORBEELD NV"]})
        instrument_ids.attach(con, pairs)
        stored = con.execute("SELECT symbol, occurrence FROM transactions ORDER BY id").fetchall()
    assert stored == [("VOORB", 1), ("VOORB", 2)]
