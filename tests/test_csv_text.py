"""Files that are not clean one-line-per-row CSV: the line named is the line in the file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from workbench.errors import InvalidRows
from workbench.fx.csv_import import import_rates_csv
from workbench.ledger import import_csv
from workbench.ledger.prices_csv import import_prices_csv
from workbench.store import connect, read_transactions

WriteCsv = Callable[..., Path]
HEADER = "date,type,symbol,quantity,price,note\n"


def _refused(db: Path, path: Path) -> str:
    with pytest.raises(InvalidRows) as caught:
        import_csv(db, path)
    assert not db.exists() or _count(db) == 0
    return str(caught.value)


def _count(db: Path) -> int:
    with connect(db, read_only=True) as con:
        return read_transactions(con).height


def test_text_that_is_not_utf8_names_its_line(db_path: Path, write_csv: WriteCsv) -> None:
    """'é' written as Latin-1 (byte 0xe9) on line 3."""
    text = HEADER + "2024-01-02,BUY,ACME,1,2,\n2024-01-03,BUY,ACME,1,2,café\n"
    message = _refused(db_path, write_csv(text, encoding="latin-1"))
    assert "ledger.csv:3: file: not UTF-8 text (byte 0xe9)" in message


def test_a_row_with_more_fields_than_the_header_names_its_line(
    db_path: Path, write_csv: WriteCsv
) -> None:
    text = HEADER + "2024-01-02,BUY,ACME,1,2,\n2024-01-03,BUY,ACME,1,2,,extra,more\n"
    message = _refused(db_path, write_csv(text))
    assert "ledger.csv:3: file: 8 fields, but the header has 6" in message


def test_an_unclosed_quote_names_the_line_it_opens_on(db_path: Path, write_csv: WriteCsv) -> None:
    text = HEADER + '2024-01-02,BUY,ACME,1,2,\n2024-01-03,BUY,ACME,1,2,"never closed\n'
    message = _refused(db_path, write_csv(text))
    assert "ledger.csv:3: file: not a readable CSV: a quoted field" in message


def test_rows_after_a_note_spanning_lines_keep_their_file_lines(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """Line 2's note holds two line breaks (lines 2-4), so the bad row is line 6, not 4."""
    text = HEADER + (
        '2024-01-02,BUY,ACME,1,2,"one\ntwo\nthree"\n'
        "2024-01-03,BUY,ACME,1,2,\n"
        "2024-01-04,BUY,ACME,abc,2,\n"
    )
    message = _refused(db_path, write_csv(text))
    assert "ledger.csv:6: quantity: not a number: 'abc'" in message


def test_a_note_spanning_lines_is_stored_whole(db_path: Path, write_csv: WriteCsv) -> None:
    text = HEADER + '2024-01-02,BUY,ACME,1,2,"one\r\ntwo"\r\n2024-01-03,BUY,ACME,1,2,\r\n'
    assert import_csv(db_path, write_csv(text)).added == 2
    with connect(db_path, read_only=True) as con:
        assert read_transactions(con)["note"].to_list() == ["one\r\ntwo", None]


def test_blank_lines_are_skipped_and_later_lines_still_counted(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """Blank lines (3, 5 with spaces, and two at the end) are not rows; the bad value is on
    line 6."""
    text = HEADER + (
        "2024-01-02,BUY,ACME,1,2,\n\n2024-01-03,BUY,ACME,1,2,\n   \n2024-01-04,BUY,ACME,x,2,\n\n\n"
    )
    message = _refused(db_path, write_csv(text))
    assert message.endswith("ledger.csv:6: quantity: not a number: 'x'")
    good = text.replace(",x,", ",1,")
    result = import_csv(db_path, write_csv(good, "good.csv"))
    assert (result.rows, result.added) == (3, 3)


def test_rows_of_only_separators_are_skipped_like_blank_lines(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """Spreadsheets export empty rows as ',,,,,'; they carry nothing, so they are skipped."""
    text = HEADER + "2024-01-02,BUY,ACME,1,2,\n,,,,,\n2024-01-03,BUY,ACME,1,2,\n,,,,,\n"
    result = import_csv(db_path, write_csv(text))
    assert (result.rows, result.added) == (2, 2)
    assert _count(db_path) == 2


def test_price_files_get_the_same_reading(db_path: Path, write_csv: WriteCsv) -> None:
    text = "date,symbol,close\n2024-01-02,ACME,10\n\n2024-01-03,ACME,1,2\n"
    with pytest.raises(InvalidRows, match=r"prices.csv:4: file: 4 fields, but the header has 3"):
        import_prices_csv(db_path, write_csv(text, "prices.csv"))


def test_the_import_record_keeps_the_files_sha256(db_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv(HEADER + '2024-01-02,BUY,ACME,1,2,"a\nb"\n')
    import_csv(db_path, path)
    with connect(db_path, read_only=True) as con:
        stored = con.execute("SELECT file_hash FROM imports").fetchall()
    assert stored == [(hashlib.sha256(path.read_bytes()).hexdigest(),)]


@pytest.mark.parametrize(
    ("importer", "header"),
    [
        pytest.param(import_prices_csv, "date,symbol,close", id="prices"),
        pytest.param(import_rates_csv, "date,base,quote,rate", id="fx-rates"),
    ],
)
@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        pytest.param(None, 0, "file", "no such file", id="missing-file"),
        pytest.param("date\n2024-01-02\n", 1, None, "required column missing", id="no-column"),
        pytest.param("{header}\n", 2, "file", "no rows after the header", id="header-only"),
    ],
)
def test_price_and_rate_imports_refuse_a_file_without_rows_to_read(
    db_path: Path,
    tmp_path: Path,
    importer: Callable[[Path, Path], object],
    header: str,
    text: str | None,
    line: int,
    field: str | None,
    message: str,
) -> None:
    """The price and the FX-rate CSV imports refuse a missing file, a file lacking a required
    column (one error per column, at line 1) and a header with no rows, naming file and line."""
    path = tmp_path / "in.csv"
    if text is not None:
        path.write_text(text.format(header=header), encoding="utf-8")
    with pytest.raises(InvalidRows) as caught:
        importer(db_path, path)
    problems = caught.value.problems
    required = [c for c in header.split(",") if c != "date"]
    wanted = required if field is None else [field]
    assert [(p.file, p.line, p.field, p.message) for p in problems] == [
        (str(path), line, f, message) for f in wanted
    ]
