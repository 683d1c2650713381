"""User mapping files (--mapping FILE.toml), their validation, unknown actions, dry run and
unrecognised headers, through the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from workbench.cli import cli
from workbench.store import connect

MAPPING = """
name = "mybank"
header = ["Booked", "What", "Qty"]
[format]
date = ["%d.%m.%Y"]
decimal = ","
thousands = "."
currency = "EUR"
[columns]
date = "Booked"
action = "What"
symbol = "Paper"
quantity = "Qty"
price = "Rate"
amount = "Sum"
[[rules]]
action = ["Kauf"]
type = "BUY"
[[rules]]
action = ["Überweisung"]
type = "DEPOSIT"
if_negative = "WITHDRAWAL"
"""

CSV = (
    "My bank export\nBooked;What;Paper;Qty;Rate;Sum\n".replace(";", ",")
    + '01.02.2024,Überweisung,,,,"1.500,00"\n'
    + '02.02.2024,Kauf,XYZ,3,"100,50","-301,50"\n'
    + '05.02.2024,Überweisung,,,,"-200,00"\n'
)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_mapping_file_imports_any_csv(tmp_path: Path, db_path: Path) -> None:
    """A TOML mapping maps a CSV no preset knows: German numbers, dd.mm.yyyy, signed transfers."""
    (tmp_path / "m.toml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "x.csv").write_text(CSV, encoding="utf-8")
    code, _out, err = _run(
        "import",
        str(tmp_path / "x.csv"),
        "--mapping",
        str(tmp_path / "m.toml"),
        "--db",
        str(db_path),
    )
    assert code == 0, err
    with connect(db_path, read_only=True) as con:
        rows = con.execute(
            "SELECT date::VARCHAR, type, symbol, quantity::VARCHAR, price::VARCHAR, amount::VARCHAR, currency"
            " FROM transactions ORDER BY id"
        ).fetchall()
    assert rows == [
        ("2024-02-01", "DEPOSIT", None, None, None, "1500.00000000", "EUR"),
        ("2024-02-02", "BUY", "XYZ", "3.00000000", "100.50000000", "301.50000000", "EUR"),
        ("2024-02-05", "WITHDRAWAL", None, None, None, "200.00000000", "EUR"),
    ]


def test_mapping_file_errors_name_keys(tmp_path: Path, db_path: Path) -> None:
    """A bad mapping file is refused with each problem named by its key."""
    bad = MAPPING.replace('type = "BUY"', 'type = "BYU"').replace('decimal = ","', 'decimal = ";"')
    (tmp_path / "m.toml").write_text(bad, encoding="utf-8")
    (tmp_path / "x.csv").write_text(CSV, encoding="utf-8")
    code, _, err = _run(
        "import",
        str(tmp_path / "x.csv"),
        "--mapping",
        str(tmp_path / "m.toml"),
        "--db",
        str(db_path),
    )
    assert code == 1
    assert "rules[0].type: 'BYU' is not one of" in err
    assert "format.decimal: expected '.', ',' or 'auto'" in err


def test_mapping_not_toml(tmp_path: Path, db_path: Path) -> None:
    """A mapping file that is not TOML says so."""
    (tmp_path / "m.toml").write_text("name = \n", encoding="utf-8")
    (tmp_path / "x.csv").write_text(CSV, encoding="utf-8")
    code, _, err = _run(
        "import",
        str(tmp_path / "x.csv"),
        "--mapping",
        str(tmp_path / "m.toml"),
        "--db",
        str(db_path),
    )
    assert code == 1
    assert "not a TOML file" in err


def test_unknown_action_names_lines_or_is_skipped(tmp_path: Path, db_path: Path) -> None:
    """An action no rule maps is an error naming its file lines; --skip-unknown counts it instead."""
    (tmp_path / "m.toml").write_text(MAPPING, encoding="utf-8")
    text = CSV + '06.02.2024,Zinsen,,,,"1,00"\n07.02.2024,Zinsen,,,,"2,00"\n'
    (tmp_path / "x.csv").write_text(text, encoding="utf-8")
    args = [
        "import",
        str(tmp_path / "x.csv"),
        "--mapping",
        str(tmp_path / "m.toml"),
        "--db",
        str(db_path),
    ]
    code, _, err = _run(*args)
    assert code == 1
    assert "x.csv:6: action: unknown action 'Zinsen'" in err
    assert "lines 6, 7" in err
    code, out, err = _run(*args, "--skip-unknown")
    assert code == 0, err
    assert "left out: 2 unknown action (--skip-unknown)" in out
    assert "3 rows, added 3" in out


def test_bad_value_names_the_file_line(tmp_path: Path, db_path: Path) -> None:
    """A bad number is reported at its line in the file (after a title line), with the column."""
    (tmp_path / "m.toml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "x.csv").write_text(CSV.replace('3,"100,50"', 'drei,"100,50"'), encoding="utf-8")
    code, _, err = _run(
        "import",
        str(tmp_path / "x.csv"),
        "--mapping",
        str(tmp_path / "m.toml"),
        "--db",
        str(db_path),
    )
    assert code == 1
    assert "x.csv:4: Qty: not a number: 'drei'" in err


def test_oversell_names_the_file_line(tmp_path: Path, db_path: Path) -> None:
    """The holdings check's error names the broker file's line, not the mapped row's."""
    (tmp_path / "m.toml").write_text(
        MAPPING + '[[rules]]\naction = ["Verkauf"]\ntype = "SELL"\n', encoding="utf-8"
    )
    (tmp_path / "x.csv").write_text(
        CSV + '09.02.2024,Verkauf,XYZ,5,"101,00","505,00"\n', encoding="utf-8"
    )
    code, _, err = _run(
        "import",
        str(tmp_path / "x.csv"),
        "--mapping",
        str(tmp_path / "m.toml"),
        "--db",
        str(db_path),
    )
    assert code == 1
    assert "x.csv:6: quantity: sells 5 XYZ" in err


def test_dry_run_shows_preset_mapping_and_counts(db_path: Path) -> None:
    """--dry-run prints the detected preset, its mapping, counts per type, and stores nothing."""
    path = Path(__file__).parent / "fixtures" / "brokers" / "schwab.csv"
    code, out, err = _run("import", str(path), "--dry-run", "--db", str(db_path))
    assert code == 0, err
    assert f"{path}: preset schwab (Charles Schwab" in out
    assert "columns: date <- 'Date', action <- 'Action'" in out
    assert (
        "ledger rows by type: BUY 2, DEPOSIT 1, DIVIDEND 2, FEE 1, INTEREST 1, SELL 1, TAX 1, WITHDRAWAL 1"
        in out
    )
    assert "left out: 1 summary rows" in out
    assert "10 rows, would add 10" in out
    with connect(db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(0,)]


def test_unrecognised_header_lists_presets_and_columns(tmp_path: Path, db_path: Path) -> None:
    """A header no preset knows: the error lists the presets tried and the columns seen."""
    (tmp_path / "x.csv").write_text("Foo,Bar\n1,2\n", encoding="utf-8")
    code, _, err = _run("import", str(tmp_path / "x.csv"), "--db", str(db_path))
    assert code == 1
    assert "columns seen: 'Foo', 'Bar'" in err
    assert "presets tried: binance, coinbase-pro, coinbase, degiro" in err


def test_preset_forced_and_account_named(tmp_path: Path, db_path: Path) -> None:
    """--preset forces a preset and --account names the account of a file that has none."""
    path = Path(__file__).parent / "fixtures" / "brokers" / "revolut.csv"
    code, _, err = _run(
        "import", str(path), "--preset", "revolut", "--account", "rev", "--db", str(db_path)
    )
    assert code == 0, err
    with connect(db_path, read_only=True) as con:
        assert con.execute("SELECT DISTINCT account FROM transactions").fetchall() == [("rev",)]


def test_list_presets() -> None:
    """--list-presets names every broker preset with what it reads."""
    code, out, _ = _run("import", "--list-presets")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    for wanted in (
        "schwab",
        "fidelity",
        "ibkr-flex-xml",
        "ibkr-activity",
        "degiro",
        "trading212",
        "revolut",
        "coinbase",
    ):
        assert wanted in names


def test_own_layout_still_default(write_csv: object, db_path: Path, tmp_path: Path) -> None:
    """workbench's own CSV layout imports as before (no preset)."""
    path = tmp_path / "own.csv"
    path.write_text(
        "date,type,symbol,quantity,price,amount\n2024-01-02,DEPOSIT,,,,100\n", encoding="utf-8"
    )
    code, out, _ = _run("import", str(path), "--dry-run", "--db", str(db_path))
    assert (code, out) == (0, f"{path}: 1 rows, would add 1, 0 already imported\n")


def test_order_newest_first_applies_oldest_first(tmp_path: Path, db_path: Path) -> None:
    """`order = "newest-first"` applies a one-day file bottom up: the buy before the sell."""
    mapping = MAPPING.replace('name = "mybank"', 'name = "mybank"\norder = "newest-first"')
    mapping += '[[rules]]\naction = ["Verkauf"]\ntype = "SELL"\n'
    (tmp_path / "m.toml").write_text(mapping, encoding="utf-8")
    text = "Booked,What,Paper,Qty,Rate,Sum\n"
    text += '02.02.2024,Verkauf,XYZ,3,"101,00","303,00"\n02.02.2024,Kauf,XYZ,3,"100,50","-301,50"\n'
    (tmp_path / "x.csv").write_text(text, encoding="utf-8")
    args = ["import", str(tmp_path / "x.csv"), "--mapping", str(tmp_path / "m.toml")]
    code, _, err = _run(*args, "--db", str(db_path))
    assert code == 0, err
    # the same file read oldest first sells before it buys: refused, naming the sale's line
    (tmp_path / "m.toml").write_text(
        mapping.replace("newest-first", "oldest-first"), encoding="utf-8"
    )
    code, _, err = _run(*args, "--db", str(tmp_path / "other.duckdb"))
    assert code == 1
    assert "x.csv:2: quantity: sells 3 XYZ" in err


def test_mapping_names_a_column_the_file_lacks(tmp_path: Path, db_path: Path) -> None:
    """A mapping that names a column the file does not have says which, and what the file has."""
    (tmp_path / "m.toml").write_text(
        MAPPING.replace('price = "Rate"', 'price = "Kurs"'), encoding="utf-8"
    )
    (tmp_path / "x.csv").write_text(CSV, encoding="utf-8")
    args = ["import", str(tmp_path / "x.csv"), "--mapping", str(tmp_path / "m.toml")]
    code, _, err = _run(*args, "--db", str(db_path))
    assert code == 1
    assert "price: column 'Kurs' is not in the header" in err
    assert "'Rate'" in err


def test_broken_flex_xml_names_its_line(tmp_path: Path, db_path: Path) -> None:
    """A Flex XML file that is not well-formed is refused with the line of the fault."""
    path = tmp_path / "flex.xml"
    path.write_text(
        '<FlexQueryResponse>\n<FlexStatements>\n<Trade symbol="A" buySell="BUY"\n</FlexStatements>\n',
        encoding="utf-8",
    )
    code, _, err = _run("import", str(path), "--db", str(db_path))
    assert code == 1
    assert "flex.xml:4: file: not well-formed XML" in err
