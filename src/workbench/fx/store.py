"""Reference FX rates in the store: the ``fx_rates`` table, its checks, reads and writes.

A row says ``1 base = rate quote`` on ``date``, as the source published it (ECB rows are
``EUR -> USD``), with its provenance: ``source`` (``ecb``, ``frankfurter``, ``yahoo``, ``demo``,
``csv:<file>``) and ``fetched_at``. Nothing here converts: the as-of, inverse, cross and
sub-unit lookup lives in the analytics.

Upsert semantics of :func:`write_rates`: a (date, base, quote) not yet stored is added; one
stored with another rate is replaced, with the new source and fetch time (the last write wins,
so a correction or a preferred source overrides); one stored with the same rate is left as it
was, keeping its first provenance. Writing the same rates twice therefore changes nothing.

    with connect(db) as con:
        write_rates(con, frame, source="csv:rates.csv")
        rates = read_rates(con, currencies=["USD", "GBp"])   # GBp reads GBP rows
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from workbench.errors import FXError

#: the columns and types every rate frame of this package has, in this order
RATE_SCHEMA: dict[str, Any] = {
    "date": pl.Date,
    "base": pl.String,
    "quote": pl.String,
    "rate": pl.Float64,
    "source": pl.String,
}

#: quoted sub-units and the currency whose rates they use (1 unit = 1/100 of it)
SUB_UNITS: dict[str, str] = {"GBp": "GBP", "GBX": "GBP", "ZAc": "ZAR", "ZAC": "ZAR", "ILA": "ILS"}

#: earliest date a rate may carry
FIRST_DATE = dt.date(1900, 1, 1)

_CODE_PATTERN = r"^[A-Z]{3}$"


def last_date(today: dt.date | None = None) -> dt.date:
    """The latest date a rate may carry: 31 December of next year."""
    today = today or dt.date.today()
    return dt.date(today.year + 1, 12, 31)


def code_problem(code: str | None) -> str | None:
    """Why ``code`` cannot be a stored currency (None when it can).

    Stored rates are between ISO 4217-style codes: three letters A-Z. Quoted sub-units (GBp,
    GBX, ZAc, ILA) are derived from their main currency, never stored.
    """
    if code is None or code == "":
        return "missing currency code"
    if code in SUB_UNITS:
        return f"{code!r} is a sub-unit (1/100 {SUB_UNITS[code]}); store {SUB_UNITS[code]} rates"
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        return f"{code!r} is not a currency code (three letters A-Z)"
    return None


def main_currencies(currencies: Iterable[str]) -> list[str]:
    """The stored currencies that ``currencies`` need: sub-units map to their main currency."""
    return sorted({SUB_UNITS.get(c, c) for c in currencies})


def rate_problems(frame: pl.DataFrame, *, today: dt.date | None = None) -> pl.DataFrame:
    """Every bad value of a rate frame, as rows ``(row, field, message)`` sorted by row.

    ``frame`` has date (Date), base, quote (String) and rate (Float64); ``row`` is the
    0-based position. Checked: missing values, codes (:func:`code_problem`), base = quote,
    rates that are not finite and positive, dates outside 1900-01-01 .. end of next year,
    and one (date, base, quote) given two different rates.
    """
    end = last_date(today)
    indexed = frame.with_row_index("row")
    found: list[dict[str, Any]] = []

    def bad_code(column: str) -> pl.Expr:
        code = pl.col(column)
        return ~code.str.contains(_CODE_PATTERN).fill_null(False) | code.is_in(list(SUB_UNITS))

    # a vectorized pass picks the suspect rows; only those are explained one by one
    suspect = indexed.filter(
        pl.col("date").is_null()
        | (pl.col("date") < FIRST_DATE)
        | (pl.col("date") > end)
        | bad_code("base")
        | bad_code("quote")
        | (pl.col("base") == pl.col("quote")).fill_null(False)
        | ~((pl.col("rate") > 0) & pl.col("rate").is_finite()).fill_null(False)
    )
    for row, day, base, quote, rate in suspect.select(
        "row", "date", "base", "quote", "rate"
    ).iter_rows():
        if day is None:
            found.append({"row": row, "field": "date", "message": "missing date"})
        elif not FIRST_DATE <= day <= end:
            found.append(
                {"row": row, "field": "date", "message": f"{day} is outside {FIRST_DATE}..{end}"}
            )
        for field, code in (("base", base), ("quote", quote)):
            problem = code_problem(code)
            if problem:
                found.append({"row": row, "field": field, "message": problem})
        if base is not None and base == quote:
            found.append({"row": row, "field": "quote", "message": "quote equals base"})
        if rate is None:
            found.append({"row": row, "field": "rate", "message": "missing rate"})
        elif not (rate > 0 and rate < float("inf")):
            found.append(
                {"row": row, "field": "rate", "message": f"{rate} is not a positive number"}
            )
    clashes = (
        indexed.drop_nulls(["date", "base", "quote", "rate"])
        .with_columns(pl.col("rate").first().over("date", "base", "quote").alias("_first"))
        .filter(pl.col("rate") != pl.col("_first"))
    )
    for row, day, base, quote in clashes.select("row", "date", "base", "quote").iter_rows():
        found.append(
            {
                "row": row,
                "field": "rate",
                "message": f"another {base}/{quote} rate for {day} is given earlier",
            }
        )
    schema = {"row": pl.UInt32, "field": pl.String, "message": pl.String}
    return pl.DataFrame(found, schema=schema).sort("row", maintain_order=True)


@dataclass(frozen=True)
class WriteSummary:
    """What :func:`write_rates` did: rows added, replaced (another rate) and unchanged."""

    added: int
    replaced: int
    unchanged: int

    @property
    def written(self) -> int:
        """Rows added or replaced."""
        return self.added + self.replaced


def _staged(typed: pl.DataFrame, source: str, fetched_at: dt.datetime) -> pl.DataFrame:
    """The typed rates (date, base, quote, rate) with their provenance, one row per key."""
    return typed.with_columns(
        pl.lit(source, dtype=pl.String).alias("source"),
        pl.lit(fetched_at, dtype=pl.Datetime("us", "UTC")).alias("fetched_at"),
    ).unique(["date", "base", "quote"], keep="first", maintain_order=True)


def write_rates(
    con: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    *,
    source: str,
    fetched_at: dt.datetime | None = None,
) -> WriteSummary:
    """Store rates (date, base, quote, rate: 1 base = rate quote) with their provenance.

    Args:
        con: a read-write connection at the current schema.
        frame: date, base, quote, rate; other columns are ignored.
        source: where the rates come from, stored on every row written.
        fetched_at: when they were fetched (default: now, UTC).

    Returns:
        counts of rows added, replaced and left unchanged (see the module docstring).

    Raises:
        FXError: a bad value (:func:`rate_problems`); nothing is written.
    """
    if not source:
        raise FXError("an FX rate source name is required")
    if frame.is_empty():
        return WriteSummary(0, 0, 0)
    typed = frame.select(
        pl.col("date").cast(pl.Date),
        pl.col("base").cast(pl.String),
        pl.col("quote").cast(pl.String),
        pl.col("rate").cast(pl.Float64),
    )
    problems = rate_problems(typed)
    if problems.height:
        shown = "; ".join(
            f"row {row + 1}: {field}: {message}"
            for row, field, message in problems.head(10).iter_rows()
        )
        raise FXError(f"{problems.height} bad FX rate values, nothing stored: {shown}")
    when = fetched_at or dt.datetime.now(dt.UTC)
    staged = _staged(typed, source, when)
    from workbench.store.tables import registered

    with registered(con, _wb_fx=staged):
        added, replaced, unchanged = con.execute(
            "SELECT count(*) FILTER (WHERE r.rate IS NULL),"
            " count(*) FILTER (WHERE r.rate IS NOT NULL AND r.rate <> s.rate),"
            " count(*) FILTER (WHERE r.rate = s.rate)"
            " FROM _wb_fx s LEFT JOIN fx_rates r USING (date, base, quote)"
        ).fetchall()[0]
        con.execute(
            "INSERT INTO fx_rates SELECT date, base, quote, rate, source, fetched_at FROM _wb_fx"
            " ON CONFLICT (date, base, quote) DO UPDATE SET rate = excluded.rate,"
            " source = excluded.source, fetched_at = excluded.fetched_at"
            " WHERE fx_rates.rate <> excluded.rate"
        )
    return WriteSummary(int(added), int(replaced), int(unchanged))


def read_rates(
    con: duckdb.DuckDBPyConnection,
    *,
    currencies: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.DataFrame:
    """Stored rates: date, base, quote, rate (Float64), source; sorted by base, quote, date.

    Args:
        currencies: keep the rows whose base or quote is one of these (sub-units such as
            GBp read their main currency's rows); None keeps every row. Rows through a pivot
            are included only when the pivot is named too: for USD and GBP with ECB rows,
            pass EUR as well, or use :func:`workbench.fx.rates_for`, which does.
        start, end: keep rows dated within these bounds (inclusive).
    """
    from workbench.store.tables import date_clauses, query_frame, where_sql

    clauses: list[str] = []
    params: list[Any] = []
    if currencies is not None:
        wanted = main_currencies(currencies)
        clauses.append("(list_contains(?, base) OR list_contains(?, quote))")
        params += [wanted, wanted]
    date_clauses(clauses, params, start, end)
    frame = query_frame(
        con,
        "SELECT date, base, quote, rate, source FROM fx_rates"
        f"{where_sql(clauses)} ORDER BY base, quote, date",
        params,
    )
    return frame.cast(RATE_SCHEMA)  # type: ignore[arg-type]


def stored_currencies(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every currency that appears as base or quote of a stored rate."""
    rows = con.execute(
        "SELECT DISTINCT c FROM (SELECT base AS c FROM fx_rates UNION SELECT quote FROM fx_rates)"
    ).fetchall()
    return {row[0] for row in rows}


def empty_rates() -> pl.DataFrame:
    """A rate frame with no rows and the columns of :data:`RATE_SCHEMA`."""
    return pl.DataFrame(schema=RATE_SCHEMA)
