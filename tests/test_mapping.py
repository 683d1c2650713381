"""User mapping files (--mapping FILE.toml), their validation, unknown actions, dry run and
unrecognised headers, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def _import_mapped(
    tmp_path: Path, db_path: Path, mapping: str = MAPPING, csv: str = CSV, *extra: str
) -> tuple[int, str, str]:
    """Write ``mapping`` to m.toml and ``csv`` to x.csv, then `workbench import x.csv --mapping
    m.toml --db DB EXTRA...`: exit code, stdout, stderr."""
    (tmp_path / "m.toml").write_text(mapping, encoding="utf-8")
    (tmp_path / "x.csv").write_text(csv, encoding="utf-8")
    args = ["import", str(tmp_path / "x.csv"), "--mapping", str(tmp_path / "m.toml")]
    return _run(*args, "--db", str(db_path), *extra)


def test_mapping_file_imports_any_csv(tmp_path: Path, db_path: Path) -> None:
    """A TOML mapping maps a CSV no preset knows: German numbers, dd.mm.yyyy, signed transfers."""
    code, _out, err = _import_mapped(tmp_path, db_path)
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


@pytest.mark.parametrize(
    ("mapping", "csv", "wanted"),
    [
        pytest.param(
            MAPPING.replace('type = "BUY"', 'type = "BYU"').replace(
                'decimal = ","', 'decimal = ";"'
            ),
            CSV,
            ["rules[0].type: 'BYU' is not one of", "format.decimal: expected '.', ',' or 'auto'"],
            id="bad-mapping-names-each-key",
        ),
        pytest.param("name = \n", CSV, ["not a TOML file"], id="mapping-not-toml"),
        pytest.param(
            MAPPING,
            CSV.replace('3,"100,50"', 'drei,"100,50"'),
            ["x.csv:4: Qty: not a number: 'drei'"],
            id="bad-number-at-its-file-line-after-a-title-line",
        ),
        pytest.param(
            MAPPING + '[[rules]]\naction = ["Verkauf"]\ntype = "SELL"\n',
            CSV + '09.02.2024,Verkauf,XYZ,5,"101,00","505,00"\n',
            ["x.csv:6: quantity: sells 5 XYZ"],
            id="oversell-at-the-broker-file-line",
        ),
        pytest.param(
            MAPPING.replace('price = "Rate"', 'price = "Kurs"'),
            CSV,
            ["price: column 'Kurs' is not in the header", "'Rate'"],
            id="column-the-file-lacks-and-what-it-has",
        ),
    ],
)
def test_refused_mapped_import_names_the_problem(
    tmp_path: Path, db_path: Path, mapping: str, csv: str, wanted: list[str]
) -> None:
    """A bad mapping file or a bad mapped row is refused (exit 1), each problem named by its key,
    file line or column: a bad key, a file that is not TOML, a bad number, an oversell, a
    mapped column the file lacks."""
    code, _, err = _import_mapped(tmp_path, db_path, mapping, csv)
    assert code == 1
    for text in wanted:
        assert text in err


def test_unknown_action_names_lines_or_is_skipped(tmp_path: Path, db_path: Path) -> None:
    """An action no rule maps is an error naming its file lines; --skip-unknown counts it instead."""
    text = CSV + '06.02.2024,Zinsen,,,,"1,00"\n07.02.2024,Zinsen,,,,"2,00"\n'
    code, _, err = _import_mapped(tmp_path, db_path, MAPPING, text)
    assert code == 1
    assert "x.csv:6: action: unknown action 'Zinsen'" in err
    assert "lines 6, 7" in err
    code, out, err = _import_mapped(tmp_path, db_path, MAPPING, text, "--skip-unknown")
    assert code == 0, err
    assert "left out: 2 unknown action (--skip-unknown)" in out
    assert "3 rows, added 3" in out


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
