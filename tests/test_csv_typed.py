"""A ledger CSV read with its numbers parsed by the CSV reader (the import's fast path) gives
the rows and the problems that reading it as text gives.

The reference is the text path (every cell read as text, then validated), which the rest of
the suite holds to hand-computed values; here random files, good and bad, must come out the
same both ways, and a few cases are also checked by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.errors import InvalidRows, OversoldError
from workbench.ledger import csv_text, import_csv, importer
from workbench.ledger.columns import LEDGER_COLUMNS, SYNONYMS
from workbench.ledger.csv_text import read_text_csv, read_typed_csv
from workbench.ledger.validate import validate_rows
from workbench.store import connect

WriteCsv = Callable[..., Path]
HEADER = "date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note"

#: cells of a numeric column: numbers as people write them (mostly good ones, so that many
#: files pass), blanks, and text that is no number
good = st.sampled_from(["1", "2.5", "+4", " 5", "\t6", "1e3", "2E-2", "00012.50", "1.123456789"])
number = st.one_of(
    good,
    good,
    st.sampled_from(
        ["-3", "5 ", "0.000000005", "12345678901", "1,5", "", " ", "x", ".", "-0", "1_000",
         "NaN", "\u00a07", "9999999999.99999999"]
    ),
    st.text(alphabet="0123456789.-+eE ,\t", max_size=8),
)  # fmt: skip


def _cell(value: str) -> str:
    """``value`` as a CSV cell: quoted when it has a comma or blanks at either end."""
    if "," in value or value != value.strip():
        return '"' + value + '"'
    return value


#: numbers as a plain decimal, which the typed read must take
plain = st.sampled_from(["1", "2.5", "00012.50", "1.123456789", "0", "7.00000001", "100"])


@st.composite
def ledger_files(
    draw: st.DrawFn, numbers: st.SearchStrategy[str] = number, blank_rows: bool = True
) -> str:
    """A ledger CSV of 1-8 rows (buys, sells, deposits) with numbers drawn from ``numbers``
    and, if ``blank_rows``, maybe a row of blanks at the end."""
    lines = [HEADER]
    for day in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["BUY", "SELL", "DEPOSIT"]))
        cells = [draw(st.one_of(numbers, st.just(""))) for _ in range(4)]
        lines.append(f"2024-01-0{day + 1},a,{kind},X,{','.join(_cell(c) for c in cells)},USD,,n")
    if blank_rows and draw(st.booleans()):
        blank = draw(st.sampled_from(["", " ", "\t", "  "]))
        lines.append(",,,," + _cell(blank) + ",,,,,,")  # a row of blanks, or nearly
    return "\n".join(lines) + "\n"


def _slow(path: Path) -> tuple[pl.DataFrame, list[Any]]:
    text, _ = read_text_csv(path, known=LEDGER_COLUMNS, synonyms=SYNONYMS)
    return validate_rows(text, file=str(path))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ledger_files())
def test_typed_reading_gives_the_rows_of_the_text_or_steps_aside(
    tmp_path: Path, content: str
) -> None:
    """Either the typed read declines the file, or validating it gives the same rows as the
    text (or problems exactly when the text has problems)."""
    path = tmp_path / "ledger.csv"
    path.write_text(content)
    slow_typed, slow_problems = _slow(path)
    read = read_typed_csv(
        path, known=LEDGER_COLUMNS, synonyms=SYNONYMS, decimals=importer._DECIMALS
    )
    if read is None:
        return
    typed, problems = validate_rows(read[0], file=str(path))
    assert bool(problems) == bool(slow_problems)
    if not problems:
        assert typed.equals(slow_typed)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ledger_files(plain, blank_rows=False))
def test_plain_numbers_are_read_typed_with_the_rows_of_the_text(
    tmp_path: Path, content: str
) -> None:
    """A file whose numbers are plain decimals (or empty) and has no blank row is always
    read typed, and validating it gives what the text gives: the same rows, or problems
    exactly when the text has problems (the test above may step aside; this one never)."""
    path = tmp_path / "ledger.csv"
    path.write_text(content)
    slow_typed, slow_problems = _slow(path)
    read = read_typed_csv(
        path, known=LEDGER_COLUMNS, synonyms=SYNONYMS, decimals=importer._DECIMALS
    )
    assert read is not None
    typed, problems = validate_rows(read[0], file=str(path))
    assert bool(problems) == bool(slow_problems)
    if not problems:
        assert typed.equals(slow_typed)


def _outcome(db: Path, path: Path) -> Any:
    """The problems of an import (line, field, message), or the rows it stored."""
    try:
        import_csv(db, path)
    except (InvalidRows, OversoldError) as refused:
        return [(p.line, p.field, p.message) for p in refused.problems]
    with connect(db) as con:
        return con.execute(
            "SELECT date, account, type, symbol, quantity, price, fee, amount, currency, note,"
            " occurrence FROM transactions ORDER BY id"
        ).fetchall()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ledger_files(), st.integers(0, 10**9))
def test_an_import_ends_as_the_text_import_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, salt: int
) -> None:
    """The same problems (line, field, message) or the same stored rows and occurrences, with the
    typed read and with the file read as text only."""
    path = tmp_path / f"ledger{salt}.csv"
    path.write_text(content)
    fast = _outcome(tmp_path / f"fast{salt}.duckdb", path)
    with monkeypatch.context() as patch:
        patch.setattr(importer, "read_typed_csv", lambda *a, **k: None)
        slow = _outcome(tmp_path / f"slow{salt}.duckdb", path)
    assert fast == slow


def test_one_bad_number_is_named_as_written_and_nothing_is_stored(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """'1,5' on line 3 (a comma decimal): the error quotes it as written, not as a decimal,
    and the file's good rows are not stored."""
    path = write_csv(
        f'{HEADER}\n2024-01-02,a,BUY,X,2,10,0,,USD,,\n2024-01-03,a,BUY,X,"1,5",10,0,,USD,,\n'
    )
    with pytest.raises(InvalidRows) as refused:
        import_csv(db_path, path)
    assert [(p.line, p.field, p.message) for p in refused.value.problems] == [
        (3, "quantity", "not a number: '1,5'")
    ]
    assert not db_path.exists()


def test_a_rule_broken_by_a_parsed_number_quotes_the_text(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """A BUY of -2 parses, but must be greater than 0: the message quotes '-2' as written
    (the typed read's problems give way to the text's)."""
    path = write_csv(f"{HEADER}\n2024-01-02,a,BUY,X,-2,10,0,,USD,,\n")
    with pytest.raises(InvalidRows) as refused:
        import_csv(db_path, path)
    assert [(p.line, p.field, p.message) for p in refused.value.problems] == [
        (2, "quantity", "must be greater than 0: '-2'")
    ]


def test_a_row_of_blanks_in_a_number_column_is_read_as_text(tmp_path: Path) -> None:
    """A row whose only cell is a blank in quantity is not a blank row as text (it is
    validated, and misses its date): the typed read declines such a file."""
    path = tmp_path / "ledger.csv"
    path.write_text(f"{HEADER}\n2024-01-02,a,BUY,X,2,10,0,,USD,,\n,,,, ,,,,,,\n")
    assert (
        read_typed_csv(path, known=LEDGER_COLUMNS, synonyms=SYNONYMS, decimals=importer._DECIMALS)
        is None
    )
    assert [(p.line, p.field) for p in _slow(path)[1]][:2] == [(3, "date"), (3, "type")]


def test_blanks_around_numbers_are_read_as_the_numbers(tmp_path: Path) -> None:
    """' 2' and a tab before 10 read as 2 and 10 (as validation strips text); the frame
    keeps them as decimals, and the text columns as text."""
    path = tmp_path / "ledger.csv"
    path.write_text(f'{HEADER}\n2024-01-02,a,BUY,X," 2",\t10,0,,USD,,\n')
    read = read_typed_csv(
        path, known=LEDGER_COLUMNS, synonyms=SYNONYMS, decimals=importer._DECIMALS
    )
    assert read is not None
    frame = read[0]
    assert isinstance(frame.schema["quantity"], pl.Decimal)
    assert frame.schema["symbol"] == pl.String
    typed, problems = validate_rows(frame, file="f")
    assert problems == []
    assert [str(v) for v in typed.row(0, named=True).values() if v is not None][5:7] == [
        "2.00000000",
        "10.00000000",
    ]


def test_a_file_starting_with_a_number_column_reads_it_as_text(tmp_path: Path) -> None:
    """The first column is never parsed by the reader (the blank-row test reads its text)."""
    path = tmp_path / "ledger.csv"
    path.write_text("quantity,date,type,symbol,price\n2,2024-01-02,BUY,X,10\n")
    read = read_typed_csv(
        path, known=LEDGER_COLUMNS, synonyms=SYNONYMS, decimals=importer._DECIMALS
    )
    assert read is not None
    assert read[0].schema["quantity"] == pl.String
    assert isinstance(read[0].schema["price"], pl.Decimal)


def test_the_import_uses_the_typed_read(
    db_path: Path, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clean file is validated from the typed read alone (the text is never read)."""
    texts: list[Path] = []
    plain = csv_text.read_text_csv
    monkeypatch.setattr(importer, "read_text_csv", lambda p, **k: texts.append(p) or plain(p, **k))
    path = write_csv(f"{HEADER}\n2024-01-02,a,BUY,X,2,10,0,,USD,,\n")
    assert import_csv(db_path, path).added == 1
    assert texts == []
