"""The ledger app's import preview: a broker file's preset, mapping and counts before anything
is written, its errors with their lines, and the import that follows it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from workbench.ledger.preview import (
    OWN_LAYOUT,
    import_upload,
    preset_choices,
    preview_import,
    preview_upload,
)

SCHWAB = Path(__file__).parent / "fixtures" / "brokers" / "schwab.csv"
SCHWAB_HEADER = '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"\n'


def _stored(db: Path) -> int:
    """Transactions in the database (0 when the file does not exist yet)."""
    if not db.exists():
        return 0
    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.sql("SELECT count(*) FROM transactions").fetchall()[0][0])


def test_broker_file_preview_shows_preset_mapping_and_counts(db_path: Path) -> None:
    """The Schwab fixture: preset schwab, 10 ledger rows by type, the Total row left out.

    By hand from the file: Buy and Reinvest Shares are BUY (2); Sell (1); Qualified Dividend
    and Reinvest Dividend are DIVIDEND (2); NRA Tax Adj TAX; Credit Interest INTEREST; Advisor
    Fee FEE; MoneyLink Transfer +15,000 DEPOSIT and -500 WITHDRAWAL; "Transactions Total" is
    a summary row.
    """
    preview = preview_import(db_path, SCHWAB, name="schwab.csv")
    assert preview.ok
    assert (preview.preset, preview.file) == ("schwab", "schwab.csv")
    assert preview.counts == {
        "BUY": 2, "DEPOSIT": 1, "DIVIDEND": 2, "FEE": 1, "INTEREST": 1, "SELL": 1, "TAX": 1,
        "WITHDRAWAL": 1,
    }  # fmt: skip
    assert (preview.rows, preview.to_add, preview.duplicates) == (10, 10, 0)
    assert preview.skipped == {"summary rows": 1}
    assert any(line.strip().startswith("Buy | Reinvest Shares") for line in preview.mapping)
    assert preview.counts_frame()["rows"].sum() == 10
    assert preview.unmapped_frame().rows() == [("(summary rows)", 1, "")]
    assert "**10 new**" in preview.headline()
    assert _stored(db_path) == 0  # a preview writes nothing


def test_import_after_preview_then_nothing_new(db_path: Path) -> None:
    """The button's import adds the 10 previewed rows; a second preview finds them all there."""
    contents = SCHWAB.read_bytes()
    report = import_upload(db_path, "schwab.csv", contents)
    assert report.result.added == 10
    assert _stored(db_path) == 10
    again = preview_upload(db_path, "schwab.csv", contents)
    assert (again.ok, again.rows, again.to_add, again.duplicates) == (True, 10, 0, 10)


def test_an_upload_is_recorded_under_its_own_name(db_path: Path) -> None:
    """The imports record names the upload as uploaded, not its temporary copy's path."""
    import_upload(db_path, "schwab.csv", SCHWAB.read_bytes())
    own = (
        "date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note\n"
        "2024-01-02,a,DEPOSIT,,,,,100,USD,,\n"
    )
    import_upload(db_path, "mine.csv", own.encode())
    with duckdb.connect(str(db_path), read_only=True) as con:
        names = [r[0] for r in con.sql("SELECT file_name FROM imports ORDER BY id").fetchall()]
    assert names == ["schwab.csv", "mine.csv"]


def _schwab_file(*rows: str) -> bytes:
    """A Schwab-layout export (title line, header, ``rows``) with invented values."""
    title = '"Transactions  for account Invented ...999 as of 05/01/2024 09:00:00 AM ET"\n'
    return (title + SCHWAB_HEADER + "".join(r + "\n" for r in rows)).encode()


DEPOSIT = '"01/02/2024","MoneyLink Transfer","","Tfr BANK","","","","$5,000.00"'
BUY = '"01/10/2024","Buy","ACME","ACME CORP","10","$100.00","$1.00","-$1,001.00"'


def test_unknown_action_is_an_error_with_its_line_or_left_out(db_path: Path) -> None:
    """An action the preset does not know names line 5 and its text; skipped, it is listed."""
    contents = _schwab_file(DEPOSIT, BUY, '"02/01/2024","Mystery Move","","?","","","","$3.00"')
    refused = preview_upload(db_path, "odd.csv", contents)
    assert not refused.ok
    assert refused.preset == "schwab"  # the layout is still named
    assert refused.problems_frame().rows() == [
        (5, "action", refused.problems[0].message),
    ]
    assert "unknown action 'Mystery Move'" in refused.problems[0].message
    assert "Nothing can be imported: 1 row has errors" in refused.headline()
    assert refused.lines()[-1].startswith("odd.csv:5: action: unknown action 'Mystery Move'")
    skipped = preview_upload(db_path, "odd.csv", contents, skip_unknown=True)
    assert skipped.ok
    assert skipped.unmapped == {"Mystery Move": [5]}
    assert ("Mystery Move", 1, "5") in skipped.unmapped_frame().rows()
    assert (skipped.counts, skipped.to_add) == ({"BUY": 1, "DEPOSIT": 1}, 2)


def test_bad_number_names_line_and_field(db_path: Path) -> None:
    """A price of "$1,2x4.50" on line 4 is a problem for that line's Price column."""
    bad = '"01/10/2024","Buy","ACME","ACME CORP","10","$1,2x4.50","","-$1,000.00"'
    preview = preview_upload(db_path, "bad.csv", _schwab_file(DEPOSIT, bad))
    assert not preview.ok
    assert [(p.line, p.field) for p in preview.problems] == [(4, "Price")]


def test_unrecognised_header_is_a_whole_file_error_under_the_upload_name(db_path: Path) -> None:
    """A header no preset knows: the error lists the columns seen, with the upload's name and
    not the temporary path it was written to."""
    preview = preview_upload(db_path, "C:\\Users\\me\\weird.csv", b"foo,bar\n1,2\n")
    assert not preview.ok
    assert preview.preset is None
    assert preview.file == "weird.csv"
    assert preview.error is not None
    assert "header not recognised" in preview.error
    assert "'foo'" in preview.error
    assert "workbench-upload-" not in preview.error
    assert "Cannot import" in preview.headline()


def test_own_layout_counts_and_an_oversell(db_path: Path) -> None:
    """workbench's own CSV: counts by type; a sale of more than held names its line."""
    own = b"date,account,type,symbol,quantity,price,amount\n" + (
        b"2024-01-02,main,DEPOSIT,,,,1000\n2024-01-03,main,BUY,ACME,5,100,\n"
    )
    preview = preview_upload(db_path, "mine.csv", own)
    assert (preview.preset, preview.ok) == (OWN_LAYOUT, True)
    assert preview.counts == {"BUY": 1, "DEPOSIT": 1}
    assert preview.to_add == 2
    oversold = preview_upload(db_path, "over.csv", own + b"2024-01-04,main,SELL,ACME,6,100,\n")
    assert not oversold.ok
    assert [(p.line, p.field) for p in oversold.problems] == [(4, "quantity")]
    assert "holds 5" in oversold.problems[0].message


def test_forced_preset_and_the_picker_choices(db_path: Path) -> None:
    """A preset named by the picker is used; an unknown one is a whole-file error."""
    choices = preset_choices()
    assert "schwab" in choices.values()
    forced = preview_import(db_path, SCHWAB, preset="schwab")
    assert forced.ok
    assert forced.preset == "schwab"
    wrong = preview_import(db_path, SCHWAB, preset="nope")
    assert wrong.error is not None
    assert "no preset 'nope'" in wrong.error


@pytest.mark.parametrize("name", ["", "/", "..", "a/../../etc/passwd"])
def test_upload_names_stay_in_the_temporary_folder(db_path: Path, name: str) -> None:
    """Odd upload names become a base name (or upload.csv) inside the private folder."""
    preview = preview_upload(db_path, name, SCHWAB.read_bytes())
    assert preview.ok
    assert "/" not in preview.file
    assert preview.file not in ("", "..")


def test_preview_lines_match_the_command_line_dry_run(db_path: Path) -> None:
    """The preview's mapping, counts and left-out lines are those of `workbench import
    --dry-run` for the same file (only the first and last lines are worded for the app)."""
    from click.testing import CliRunner

    from workbench.cli import cli

    result = CliRunner().invoke(cli, ["import", str(SCHWAB), "--dry-run", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    printed = result.stdout.splitlines()
    lines = preview_import(db_path, SCHWAB).lines()
    assert lines[1:-1] == printed[1:-1]
    assert any(line.startswith("ledger rows by type: BUY 2, DEPOSIT 1") for line in lines)
    assert lines[-1] == "10 rows, would add 10, 0 already imported"
    assert printed[-1].endswith(lines[-1])


def test_preview_lists_unmapped_lines_as_the_dry_run_does(db_path: Path, tmp_path: Path) -> None:
    """Twelve rows of an unknown action, left out: the preview names the first ten of lines
    5-16 and '...', word for word as `workbench import --skip-unknown --dry-run` does."""
    from click.testing import CliRunner

    from workbench.cli import cli

    mystery = '"02/01/2024","Mystery Move","","?","","","","$3.00"'
    file = tmp_path / "odd.csv"
    file.write_bytes(_schwab_file(DEPOSIT, BUY, *[mystery] * 12))
    args = ["import", str(file), "--skip-unknown", "--dry-run", "--db", str(db_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    expected = "not mapped: 'Mystery Move' on lines 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 ..."
    assert expected in result.stdout.splitlines()
    lines = preview_import(db_path, file, skip_unknown=True).lines()
    assert expected in lines
    assert lines[1:-1] == result.stdout.splitlines()[1:-1]
