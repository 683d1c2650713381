"""Large ledger files imported in batches: the same rows, occurrences, errors and atomicity as whole.

The batch thresholds are lowered so that a file of a few hundred bytes is cut into many
batches; the whole-file import of the same file (tests/test_ledger.py) is the reference.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from workbench.errors import InvalidRows, OversoldError
from workbench.ledger import batches, import_csv
from workbench.ledger.batches import _record_ends
from workbench.store import connect

WriteCsv = Callable[..., Path]

HEADER = "date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note\n"
ROWS = [
    "2024-01-02,main,DEPOSIT,,,,,10000,USD,,first deposit",
    "2024-01-03,main,BUY,ACME,10,100,1.50,,USD,,",
    "2024-01-03,main,BUY,ACME,10,100,1.50,,USD,,",
    '2024-01-04,main,BUY,ZEIT,5,20,0,,EUR,,"a note, with a comma"',
    "2024-01-05,main,SPLIT,ACME,,,,,USD,4:1,",
    '2024-01-06,main,SELL,ACME,8,30,1,,USD,,"spans\ntwo lines"',
    "2024-01-07,main,DIVIDEND,ACME,,,,12.5,USD,,",
    "",
    "2024-01-08,main,BUY,ACME,10,100,1.50,,USD,,",
    "2024-01-09,other,BUY,ACME,1,101,0,,USD,,",
    "2024-01-10,main,SELL,ZEIT,5,21,0,,EUR,,",
]
TEXT = HEADER + "\n".join(ROWS) + "\n"


@pytest.fixture
def in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file is imported in batches of about 40 bytes (one or two records each)."""
    monkeypatch.setattr(batches, "STREAM_BYTES", -1)
    monkeypatch.setattr(batches, "BATCH_BYTES", 40)


def _stored(db: Path) -> list[tuple[object, ...]]:
    with connect(db, read_only=True) as con:
        return con.execute(
            "SELECT id, date, account, type, symbol, quantity, price, fee, amount, currency,"
            " ratio_new, ratio_old, note, import_id, occurrence FROM transactions ORDER BY id"
        ).fetchall()


def _names(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with connect(db, read_only=True) as con:
        accounts = con.execute("SELECT name, currency FROM accounts ORDER BY name").fetchall()
        symbols = con.execute("SELECT symbol, currency FROM instruments ORDER BY symbol").fetchall()
    return accounts, symbols


def test_record_ends_skip_line_feeds_inside_quotes(tmp_path: Path) -> None:
    """A cut falls only after a line feed outside quotes (offsets counted by hand)."""
    path = tmp_path / "q.csv"
    # 'a,b\n' is bytes 0-3; 'x,"a\nb"\n' (8 bytes, 2 line feeds) one record ending at 12;
    # 'y\n' ends at 14; the line feed inside the quotes (byte 8) is no cut
    path.write_bytes(b'a,b\nx,"a\nb"\ny\n')
    cuts, size = _record_ends(path, every=1)
    assert size == 14
    assert [(c.offset, c.feeds) for c in cuts] == [(4, 1), (12, 3), (14, 4)]


def test_batches_store_what_a_whole_import_stores(
    tmp_path: Path, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids, values, occurrences, accounts and instruments are those of the whole-file import."""
    path = write_csv(TEXT)
    whole = import_csv(tmp_path / "whole.duckdb", path)
    monkeypatch.setattr(batches, "STREAM_BYTES", -1)
    monkeypatch.setattr(batches, "BATCH_BYTES", 40)
    batched = import_csv(tmp_path / "batched.duckdb", path)
    assert (batched.rows, batched.added, batched.first_id) == (whole.rows, whole.added, 1)
    assert batched.rows == 10
    assert _stored(tmp_path / "batched.duckdb") == _stored(tmp_path / "whole.duckdb")
    assert _names(tmp_path / "batched.duckdb") == _names(tmp_path / "whole.duckdb")


def test_repeats_in_other_batches_count_as_occurrences(
    db_path: Path, write_csv: WriteCsv, in_batches: None
) -> None:
    """The same trade in three batches is stored three times, with occurrences 1, 2, 3."""
    row = "2024-01-03,main,BUY,ACME,10,100,1.5,,USD,,"
    other = "2024-01-04,main,BUY,ZEIT,1,1,0,,USD,,"
    import_csv(db_path, write_csv(HEADER + "\n".join([row, other, row, other, row]) + "\n"))
    with connect(db_path, read_only=True) as con:
        stored = con.execute(
            "SELECT occurrence FROM transactions WHERE symbol = 'ACME' ORDER BY id"
        ).fetchall()
    assert [k[0] for k in stored] == [1, 2, 3]


def test_reimport_in_batches_adds_nothing(
    db_path: Path, write_csv: WriteCsv, in_batches: None
) -> None:
    """A second import of the same file in batches adds no row and records nothing."""
    path = write_csv(TEXT)
    assert import_csv(db_path, path).added == 10
    again = import_csv(db_path, path)
    assert (again.added, again.duplicates) == (0, 10)
    assert len(_stored(db_path)) == 10


def test_bad_rows_of_every_batch_are_reported_with_their_lines(
    db_path: Path, write_csv: WriteCsv, in_batches: None
) -> None:
    """Bad values in the first and last batches are both named at their file lines."""
    rows = [
        "2024-01-02,main,BUY,ACME,x,100,0,,USD,,",  # line 2
        *["2024-01-03,main,BUY,ACME,1,100,0,,USD,,"] * 6,  # lines 3-8
        '2024-01-04,main,BUY,ACME,1,100,0,,USD,,"two\nlines"',  # lines 9-10
        "2024-01-05,main,BUY,ACME,1,-5,0,,USD,,",  # line 11
    ]
    with pytest.raises(InvalidRows) as info:
        import_csv(db_path, write_csv(HEADER + "\n".join(rows) + "\n"))
    assert [(p.line, p.field) for p in info.value.problems] == [(2, "quantity"), (11, "price")]
    assert str(info.value.problems[0].file).endswith("ledger.csv")
    assert not db_path.exists() or _stored(db_path) == []


def test_an_oversell_across_batches_is_refused_and_nothing_stored(
    db_path: Path, write_csv: WriteCsv, in_batches: None
) -> None:
    """A buy of 5 in one batch and sells of 3 and 3 in later ones: the second sell (line 4) fails."""
    import_csv(db_path, write_csv("date,type,amount\n2024-01-01,DEPOSIT,100\n", "seed.csv"))
    rows = [
        "2024-01-02,main,BUY,ACME,5,10,0,,USD,,",
        "2024-01-03,main,SELL,ACME,3,10,0,,USD,,",
        "2024-01-04,main,SELL,ACME,3,10,0,,USD,,",
    ]
    with pytest.raises(OversoldError) as info:
        import_csv(db_path, write_csv(HEADER + "\n".join(rows) + "\n"))
    assert [(p.line, p.field) for p in info.value.problems] == [(4, "quantity")]
    assert "holds 2" in info.value.problems[0].message
    # all or nothing: the seed row alone, one import, no account or symbol of the refused file
    assert len(_stored(db_path)) == 1
    assert _names(db_path) == ([("default", "USD")], [])
    with connect(db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM imports").fetchall()[0][0] == 1
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert not any(t.startswith("_wb") for t in tables)


def test_dry_run_in_batches_stores_nothing(
    db_path: Path, write_csv: WriteCsv, in_batches: None
) -> None:
    """A dry run says what it would add and leaves the ledger empty."""
    result = import_csv(db_path, write_csv(TEXT), dry_run=True)
    assert (result.rows, result.added, result.dry_run) == (10, 10, True)
    assert _stored(db_path) == []


def test_a_header_without_rows_is_refused_in_batches(
    db_path: Path, write_csv: WriteCsv, in_batches: None
) -> None:
    """A header and blank lines only: 'no rows after the header', as for a whole file."""
    with pytest.raises(InvalidRows, match="no rows after the header"):
        import_csv(db_path, write_csv(HEADER + "\n\n,,,,,,,,,,\n"))


KILLED_IMPORT = """
import sys
from workbench.ledger import batches, import_csv
batches.STREAM_BYTES, batches.BATCH_BYTES = -1, 1 << 20
import_csv(sys.argv[1], sys.argv[2])
print("finished", flush=True)
"""


def test_killed_batched_import_leaves_the_database_as_before(db_path: Path, tmp_path: Path) -> None:
    """A SIGKILL while batches are staged or moved leaves exactly the rows there before."""
    seed = tmp_path / "seed.csv"
    seed.write_text("date,type,amount\n2023-01-01,DEPOSIT,1000\n")
    import_csv(db_path, seed)
    big = tmp_path / "big.csv"
    lines = ["date,account,type,symbol,quantity,price,fee"]
    lines += [
        f"2023-{1 + j % 12:02d}-{1 + j % 28:02d},big,BUY,S{j % 500:03d},{1 + j % 7},{10 + j % 90}.25,0"
        for j in range(300_000)
    ]
    big.write_text("\n".join(lines) + "\n")
    command = [sys.executable, "-c", KILLED_IMPORT]
    started = time.monotonic()
    subprocess.run([*command, str(tmp_path / "probe.duckdb"), str(big)], check=True)
    full = time.monotonic() - started

    killed_mid_import = 0
    for fraction in (0.4, 0.6, 0.8, 0.9):
        with subprocess.Popen([*command, str(db_path), str(big)], stdout=subprocess.PIPE) as proc:
            time.sleep(full * fraction)
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
        with connect(db_path, read_only=True) as con:
            state = con.execute(
                "SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM imports),"
                " (SELECT count(*) FROM accounts)"
            ).fetchall()[0]
        # whole or nothing: as before (no 'big' account either), or exactly after
        assert state in {(1, 1, 1), (300_001, 2, 2)}, f"a killed import left {state}"
        if state[0] == 300_001:
            break
        killed_mid_import += 1
    assert killed_mid_import >= 1


def test_oversells_in_several_symbol_parts_match_the_whole_import(
    tmp_path: Path, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read in batches checks holdings part by part of its symbols; with twelve
    symbols, a new reverse split that breaks a stored sell and two new oversells in other
    symbols, it names the same lines and messages as the whole-file import does."""
    symbols = [f"S{i:02d}" for i in range(12)]
    stored = [f"2024-01-02,{acct},BUY,{s},10,5,0,,USD,," for s in symbols for acct in ("a", "b")]
    stored.append("2024-01-10,a,SELL,S03,8,5,0,,USD,,")  # holds 10 then
    new = [
        "2024-01-05,a,SPLIT,S03,,,,,USD,1:2,",  # line 2: 10 -> 5, so the stored sell of 8 breaks
        "2024-01-11,b,SELL,S07,4,5,0,,USD,,",  # line 3: holds 10, fine
        "2024-01-12,b,SELL,S07,7,5,0,,USD,,",  # line 4: holds 6, oversold
        "2024-01-12,a,BUY,S01,1,5,0,,USD,,",
        "2024-01-13,a,SELL,S10,11,5,0,,USD,,",  # line 6: holds 10, oversold
    ]
    seed = write_csv(HEADER + "\n".join(stored) + "\n", "seed.csv")
    path = write_csv(HEADER + "\n".join(new) + "\n", "new.csv")

    def refused(db: Path) -> list[tuple[int, str, str]]:
        import_csv(db, seed)
        with pytest.raises(OversoldError) as info:
            import_csv(db, path)
        return [(p.line, p.field, p.message) for p in info.value.problems]

    whole = refused(tmp_path / "whole.duckdb")
    monkeypatch.setattr(batches, "STREAM_BYTES", -1)
    monkeypatch.setattr(batches, "BATCH_BYTES", 40)
    in_parts = refused(tmp_path / "parts.duckdb")
    assert in_parts == whole
    # by hand, in (account, symbol) order: the stored sell (id 25) of (a, S03) breaks at the
    # split's line 2; (a, S10) oversells at line 6 and (b, S07) at line 4
    assert [(line, field) for line, field, _ in whole] == [
        (2, "quantity"),
        (6, "quantity"),
        (4, "quantity"),
    ]
    assert "stored transaction 25" in whole[0][2]
    assert "holds 10" in whole[1][2]
    assert "holds 6" in whole[2][2]
