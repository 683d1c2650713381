"""``workbench fx import`` and ``workbench fx fetch`` through click's CliRunner."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from _quote_helpers import RunningServer, quote_server  # noqa: F401 (fixture)
from click.testing import CliRunner

from workbench.cli import cli
from workbench.fx.demo_rates import demo_rates
from workbench.fx.store import read_rates
from workbench.store import connect

D = dt.date
WriteCsv = Callable[..., Path]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _count(db: Path) -> int:
    with connect(db, read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM fx_rates").fetchall()[0][0])


def test_fx_import_stores_then_changes_nothing_the_second_time(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """A rate CSV (BOM, CRLF, other header order) is stored; importing it again adds nothing."""
    text = "\ufeffRate,Date,Base,Quote\r\n1.0956,2024-01-02,EUR,USD\r\n0.86,2024-01-02,EUR,GBP\r\n"
    path = write_csv(text, "rates.csv")
    first = run("fx", "import", str(path), "--db", str(db_path))
    again = run("fx", "import", str(path), "--db", str(db_path))
    assert first == (0, f"{path}: 2 rates for 2 pairs: 2 added, 0 replaced, 0 unchanged\n", "")
    assert again == (0, f"{path}: 2 rates for 2 pairs: 0 added, 0 replaced, 2 unchanged\n", "")
    with connect(db_path, read_only=True) as con:
        got = read_rates(con)
    assert got.select("date", "base", "quote", "rate", "source").rows() == [
        (D(2024, 1, 2), "EUR", "GBP", 0.86, "csv:rates.csv"),
        (D(2024, 1, 2), "EUR", "USD", 1.0956, "csv:rates.csv"),
    ]


def test_fx_import_a_corrected_rate_replaces_the_stored_one(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """A second file with another rate for a stored key replaces it and says so."""
    run("fx", "import", str(write_csv("date,base,quote,rate\n2024-01-02,EUR,USD,1.1\n", "a.csv")),
        "--db", str(db_path))  # fmt: skip
    fixed = write_csv("date,base,quote,rate\n2024-01-02,EUR,USD,1.0956\n", "b.csv")
    code, out, _ = run("fx", "import", str(fixed), "--db", str(db_path))
    assert (code, out) == (0, f"{fixed}: 1 rates for 1 pair: 0 added, 1 replaced, 0 unchanged\n")
    with connect(db_path, read_only=True) as con:
        assert read_rates(con).select("rate", "source").rows() == [(1.0956, "csv:b.csv")]


@pytest.mark.parametrize(
    ("row", "where"),
    [
        pytest.param("2024-01-03,EUR,usd,1.1", "rates.csv:3: quote: 'usd' is not a currency code",
                     id="lowercase-code"),
        pytest.param("2024-01-03,EUR,GBX,1.1", "rates.csv:3: quote: 'GBX' is a sub-unit",
                     id="sub-unit"),
        pytest.param("2024-01-03,EUR,USD,0", "rates.csv:3: rate: 0.0 is not a positive number",
                     id="zero-rate"),
        pytest.param("2024-01-03,EUR,USD,abc", "rates.csv:3: rate: 'abc' is not a number",
                     id="text-rate"),
        pytest.param("1899-12-31,EUR,USD,1.1", "rates.csv:3: date: 1899-12-31 is outside",
                     id="too-old"),
        pytest.param(f"{dt.date.today().year + 2}-01-01,EUR,USD,1.1", "rates.csv:3: date: ",
                     id="after-next-year"),
        pytest.param("03/01/2024,EUR,USD,1.1", "rates.csv:3: date: '03/01/2024' is not a date",
                     id="date-format"),
        pytest.param("2024-01-03,,USD,1.1", "rates.csv:3: base: missing currency code",
                     id="missing-base"),
    ],
)  # fmt: skip
def test_fx_import_bad_rows_are_one_line_and_nothing_is_stored(
    db_path: Path, write_csv: WriteCsv, row: str, where: str
) -> None:
    """Each bad value gives exit 1 and one stderr line naming file:line: field; no row is stored."""
    assert run("init", "--db", str(db_path))[0] == 0
    path = write_csv(f"date,base,quote,rate\n2024-01-02,EUR,USD,1.1\n{row}\n", "rates.csv")
    code, out, err = run("fx", "import", str(path), "--db", str(db_path))
    assert code == 1
    assert out == ""
    assert err.startswith("error: 1 invalid row, nothing imported: ")
    assert where in err
    assert err.count("\n") == 1
    assert _count(db_path) == 0


def test_fx_import_reports_every_bad_row_and_a_missing_column(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """Two bad rows are both named; a file without a rate column is refused at line 1."""
    path = write_csv("date,base,quote,rate\n2024-01-02,EUR,US,1\n2024-01-03,EUR,USD,-2\n")
    code, _, err = run("fx", "import", str(path), "--db", str(db_path))
    assert code == 1
    assert ":2: quote: 'US' is not a currency code" in err
    assert ":3: rate: -2.0 is not a positive number" in err
    headerless = write_csv("date,base,quote\n2024-01-02,EUR,USD\n", "short.csv")
    code, _, err = run("fx", "import", str(headerless), "--db", str(db_path))
    assert code == 1
    assert "short.csv:1: rate: required column missing" in err


def test_fx_fetch_demo_in_process(db_path: Path) -> None:
    """fx fetch --provider demo stores the synthetic rates and prints a line per pair and a summary."""
    code, out, err = run(
        "fx", "fetch", "USD", "GBP/JPY", "--provider", "demo", "--start", "2024-01-01",
        "--end", "2024-01-05", "--db", str(db_path),
    )  # fmt: skip
    usd = demo_rates("EUR", "USD", D(2024, 1, 1), D(2024, 1, 5))
    jpy = demo_rates("GBP", "JPY", D(2024, 1, 1), D(2024, 1, 5))
    assert code == 0
    assert out.splitlines() == [
        f"EUR/USD  5 rates 2024-01-01..2024-01-05 from demo, latest {usd[-1][1]:g}",
        f"GBP/JPY  5 rates 2024-01-01..2024-01-05 from demo, latest {jpy[-1][1]:g}",
        "2 of 2 pairs fetched (0 failed), 10 rates 2024-01-01..2024-01-05 from demo:"
        " 10 added, 0 replaced, 0 unchanged",
    ]
    assert "fetching 2 pairs 2024-01-01..2024-01-05: EUR/USD, GBP/JPY" in err
    assert _count(db_path) == 10


def test_fx_fetch_json_from_a_running_server(
    quote_server: Callable[..., RunningServer],  # noqa: F811
    db_path: Path,
) -> None:
    """--json prints one object per pair in request order; a failed pair carries its error."""
    server = quote_server()
    code, out, _ = run(
        "fx", "fetch", "CHF", "XYZ", "--provider", "demo", "--base-url", server.base_url,
        "--start", "2024-01-08", "--end", "2024-01-09", "--json", "--db", str(db_path),
    )  # fmt: skip
    assert code == 0
    chf = demo_rates("EUR", "CHF", D(2024, 1, 8), D(2024, 1, 9))
    assert json.loads(out) == [
        {"base": "EUR", "quote": "CHF", "source": "demo", "rates": 2, "first": "2024-01-08",
         "last": "2024-01-09", "latest_rate": chf[-1][1], "error": None, "message": None},
        {"base": "EUR", "quote": "XYZ", "source": None, "rates": 0, "first": None,
         "last": None, "latest_rate": None, "error": "not found",
         "message": "demo: EUR/XYZ: unknown currency XYZ"},
    ]  # fmt: skip


def test_fx_fetch_defaults_to_the_ledgers_currencies(db_path: Path, write_csv: WriteCsv) -> None:
    """No currencies: the ledger's (GBP) and the base currency (USD), from two weeks before it."""
    ledger = write_csv(
        "date,type,amount,currency\n2024-03-01,DEPOSIT,1000,GBP\n2024-03-04,DEPOSIT,500,USD\n"
    )
    assert run("import", str(ledger), "--db", str(db_path))[0] == 0
    code, out, _ = run(
        "fx", "fetch", "--provider", "demo", "--end", "2024-03-05", "--json", "--db", str(db_path)
    )
    assert code == 0
    got = [(o["base"], o["quote"], o["first"]) for o in json.loads(out)]
    # 2024-03-01 - 14 days = 2024-02-16, a Friday: the first rate
    assert got == [("EUR", "GBP", "2024-02-16"), ("EUR", "USD", "2024-02-16")]
    # a second run starts the day after the latest stored rate: only 03-06 onwards is new
    code, out, _ = run(
        "fx", "fetch", "--provider", "demo", "--end", "2024-03-06", "--db", str(db_path)
    )
    assert code == 0
    assert "2024-03-06..2024-03-06" in out


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        pytest.param(["usd"], 1, "error: 'usd' is not a currency code", id="bad-code"),
        pytest.param(["USD", "--provider", "fixer"], 2, "'fixer' is not one of", id="provider"),
        pytest.param(["USD", "--start", "2024-13-01"], 2, "is not a date", id="bad-date"),
        pytest.param(["USD", "--start", "2024-02-01", "--end", "2024-01-01"], 1,
                     "error: end 2024-01-01 is before start 2024-02-01", id="backwards"),
        pytest.param(["XYZ", "--provider", "demo", "--start", "2024-01-02", "--end",
                      "2024-01-03"], 1, "error: no FX rates could be fetched", id="all-failed"),
    ],
)  # fmt: skip
def test_fx_fetch_errors_exit_codes(
    db_path: Path, args: list[str], code: int, fragment: str
) -> None:
    """User errors exit 1 with one line; misuse of the command line exits 2."""
    got, _, err = run("fx", "fetch", *args, "--db", str(db_path))
    assert got == code
    assert fragment in err
