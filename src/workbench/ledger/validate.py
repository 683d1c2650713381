"""Turn ledger rows read as text into typed, normalized rows, or name every bad value.

All checks are Polars expressions over the whole frame; only bad rows are collected into
:class:`InvalidRow` values, so a million good rows cost a few vectorized passes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from workbench import config
from workbench.errors import InvalidRow
from workbench.ledger.columns import LEDGER_COLUMNS

TYPES = (
    "BUY", "SELL", "DIVIDEND", "INTEREST", "FEE", "TAX", "DEPOSIT", "WITHDRAWAL", "SPLIT", "FX",
    "SYMBOL_CHANGE", "SPINOFF", "MERGER", "RETURN_OF_CAPITAL", "STOCK_DIVIDEND",
)  # fmt: skip
#: corporate actions (README "Corporate actions"); those with ``target`` move shares to it
CORPORATE = ("SYMBOL_CHANGE", "SPINOFF", "MERGER", "RETURN_OF_CAPITAL", "STOCK_DIVIDEND")
WITH_TARGET = ("SYMBOL_CHANGE", "SPINOFF", "MERGER")
TRADES = ("BUY", "SELL")
#: rows with quantity > 0 and price: trades and currency exchanges (DESIGN 3b)
PRICED = ("BUY", "SELL", "FX")
CASH_TYPES = ("INTEREST", "FEE", "TAX", "DEPOSIT", "WITHDRAWAL")
NEEDS_SYMBOL = ("BUY", "SELL", "DIVIDEND", "SPLIT", "FX", *CORPORATE)
_CURRENCY = r"^[A-Za-z]{3,5}$"
#: mixed-case sub-unit codes kept apart from their currency when codes are upper-cased
_SUBUNIT_CODES = {"GBp": "GBX", "ZAc": "ZAC"}

MONEY = pl.Decimal(18, 8)
NUMERIC = ("quantity", "price", "fee", "amount", "cost_fraction")
_RATIO = r"^\s*([0-9]+(?:\.[0-9]+)?)\s*[:/]\s*([0-9]+(?:\.[0-9]+)?)\s*$"
_DATE_FORMAT = "%Y-%m-%d"
#: the earliest date a ledger or price row may have
EARLIEST_DATE = dt.date(1900, 1, 1)


def date_bounds(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The dates a ledger or price row may have: 1900-01-01 to the end of next year.

    A year such as 0001 or 9999 is a typo or a poisoned file, and would send every daily
    series (and a default as-of date) across millennia; a row dated within next year is
    accepted (a planned transfer, a settlement date).
    """
    year = (today or dt.date.today()).year
    return EARLIEST_DATE, dt.date(year + 1, 12, 31)


#: typed columns of a validated ledger frame, in order
TYPED_COLUMNS = (
    "line", "date", "account", "type", "symbol", "quantity", "price", "fee", "amount",
    "currency", "ratio_new", "ratio_old", "note", "target", "cost_fraction",
)  # fmt: skip


@dataclass(frozen=True)
class _Check:
    field: str
    bad: pl.Expr
    message: pl.Expr


#: columns kept as text (stripped); the others are parsed into ``_<name>`` columns
FREE_TEXT = ("account", "symbol", "currency", "note", "target")
PARSED = ("date", *NUMERIC, "ratio")


def _blank_to_null(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().replace("", None)


#: free text with about one value a row: judged row by row, never by its distinct values
#: (measured: the distinct long notes of a million rows cost 0.3-0.5 s, a row-wise test 0.08)
_ROW_WISE = ("note",)


def _distinct(text: pl.DataFrame, columns: list[str]) -> dict[str, pl.Series]:
    """The distinct values of each column (few in a ledger's text columns), computed side by
    side: the checks below judge a column by them instead of by every row."""
    frames = pl.collect_all([text.lazy().select(pl.col(c).unique()) for c in columns])
    return {c: frame.to_series() for c, frame in zip(columns, frames, strict=True)}


def _has_blanks(values: pl.Series) -> bool:
    """Whether stripping a column could change it, judged on its distinct ``values`` (or on
    every value: the test is the same)."""
    stripped = values.str.strip_chars()
    return bool(((stripped != values) | (stripped == "")).any())


def _unparsed(column: str) -> pl.Expr:
    """A value given in ``column`` that its parser turned into null."""
    parsed = "_ratio_new" if column == "ratio" else f"_{column}"
    return pl.col(column).is_not_null() & pl.col(parsed).is_null()


def _mapped(column: str, values: pl.Series, normal: pl.Series) -> pl.Expr:
    """``column`` with each of its distinct ``values`` replaced by the same place of
    ``normal`` (the values normalized); as it stands when none changes. A lookup of the few
    values that change instead of a string operation on every row (measured: upper-casing a
    million currency codes 0.07-0.1 s, replacing the one code that changes 0.006 s)."""
    changed = (normal != values).fill_null(False)
    if not changed.any():
        return pl.col(column)
    return pl.col(column).replace(values.filter(changed), normal.filter(changed))


def _upper(column: str, values: pl.Series) -> pl.Expr:
    """``column`` in upper case, judged on its distinct ``values``."""
    return _mapped(column, values, values.str.to_uppercase())


def _dividend_amount(staged: pl.DataFrame) -> pl.Expr:
    """A dividend's amount, or quantity x price per share when it has none (the product is
    only computed when some dividend needs it)."""
    needs_product = staged.select(
        ((pl.col("_type") == "DIVIDEND") & pl.col("_amount").is_null()).any()
    ).item()
    if not needs_product:
        return pl.col("_amount")
    return pl.coalesce(pl.col("_amount"), (pl.col("_quantity") * pl.col("_price")).cast(MONEY))


def _parsed(types: pl.Series) -> list[pl.Expr]:
    return [
        pl.col("date").str.to_date(_DATE_FORMAT, strict=False).alias("_date"),
        _upper("type", types).alias("_type"),
        *(pl.col(c).cast(MONEY, strict=False).alias(f"_{c}") for c in NUMERIC),
        pl.col("ratio").str.extract(_RATIO, 1).cast(MONEY, strict=False).alias("_ratio_new"),
        pl.col("ratio").str.extract(_RATIO, 2).cast(MONEY, strict=False).alias("_ratio_old"),
    ]


def _subunits_upper(code: pl.Expr) -> pl.Expr:
    """A currency code in upper case, except that pence ``GBp`` becomes ``GBX`` and South
    African cents ``ZAc`` ``ZAC`` (upper-casing would turn pence into pounds)."""
    return code.replace(_SUBUNIT_CODES).str.to_uppercase()


def _codes(column: str, values: pl.Series) -> pl.Expr:
    """Currency codes of ``column`` normalized (see :func:`_subunits_upper`), judged on its
    distinct ``values``."""
    normal = values.to_frame(column).select(_subunits_upper(pl.col(column))).to_series()
    return _mapped(column, values, normal)


def _fx_checks(is_fx: pl.Expr, base: str, distinct: dict[str, pl.Series]) -> list[_Check]:
    """Checks of FX rows (only built when the file has any); codes are normalized by lookups
    of the ``distinct`` values of symbol and currency."""
    return [
        # an FX row buys the currency named in symbol, paying price units of currency each
        _Check(
            "symbol",
            is_fx & pl.col("symbol").is_not_null() & ~pl.col("symbol").str.contains(_CURRENCY),
            pl.lit("not a currency code (an FX row's symbol is the currency bought): ")
            + _quoted("symbol"),
        ),
        _Check(
            "price",
            is_fx & (pl.col("_price") == 0),
            pl.lit("must be greater than 0 (units of currency paid per unit bought)"),
        ),
        _Check(
            "symbol",
            is_fx
            & (
                _codes("symbol", distinct["symbol"])
                == _codes("currency", distinct["currency"]).fill_null(pl.lit(base.upper()))
            ),
            pl.lit("the currency bought is the currency paid: ") + _quoted("symbol"),
        ),
    ]


def _corporate_checks(types: set[str]) -> list[_Check]:
    """Checks of corporate-action rows and of the columns only they use (``target``,
    ``cost_fraction``); the per-type checks are built only for the types the file has."""
    kind = pl.col("_type")
    checks = [
        _Check(
            "target",
            ~kind.is_in(WITH_TARGET) & pl.col("target").is_not_null(),
            pl.lit("only SYMBOL_CHANGE, SPINOFF and MERGER rows have a target, not ")
            + pl.col("_type"),
        ),
        _Check(
            "cost_fraction",
            ~kind.is_in(("SPINOFF", "MERGER")) & pl.col("_cost_fraction").is_not_null(),
            pl.lit("only SPINOFF and MERGER rows have a cost_fraction, not ") + pl.col("_type"),
        ),
    ]
    if not types.intersection(CORPORATE):
        return checks
    moves = kind.is_in(WITH_TARGET)
    positive = pl.lit("must be greater than 0: ")
    checks += [
        _Check("target", moves & pl.col("target").is_null(), pl.lit("missing (the new symbol)")),
        _Check(
            "target",
            moves & (pl.col("target").str.to_uppercase() == pl.col("symbol").str.to_uppercase()),
            pl.lit("the same as symbol: ") + _quoted("target"),
        ),
        _Check(
            "ratio",
            (kind == "MERGER") & pl.col("ratio").is_null(),
            pl.lit("missing (new shares per old share, new:old, e.g. 3:2)"),
        ),
        _Check(
            "ratio",
            kind.is_in(("SYMBOL_CHANGE", "MERGER"))
            & pl.col("ratio").is_not_null()
            & (
                pl.col("_ratio_new").is_null()
                | pl.col("_ratio_old").is_null()
                | (pl.col("_ratio_new") <= 0)
                | (pl.col("_ratio_old") <= 0)
            ),
            pl.lit("bad ratio (expected new:old with both > 0, e.g. 3:2): ") + _quoted("ratio"),
        ),
        _Check(
            "quantity",
            kind.is_in(("SPINOFF", "STOCK_DIVIDEND")) & pl.col("quantity").is_null(),
            pl.lit("missing (the new shares received)"),
        ),
        _Check(
            "quantity",
            kind.is_in(("SPINOFF", "STOCK_DIVIDEND")) & (pl.col("_quantity") == 0),
            positive + _quoted("quantity"),
        ),
        _Check(
            "cost_fraction",
            (kind == "SPINOFF") & pl.col("cost_fraction").is_null(),
            pl.lit("missing (the fraction of the parent's cost basis that moves to the child)"),
        ),
        _Check(
            "cost_fraction",
            (kind == "SPINOFF")
            & ((pl.col("_cost_fraction") < 0) | (pl.col("_cost_fraction") >= 1)),
            pl.lit("must be at least 0 and below 1: ") + _quoted("cost_fraction"),
        ),
        _Check(
            "cost_fraction",
            (kind == "MERGER") & ((pl.col("_cost_fraction") < 0) | (pl.col("_cost_fraction") > 1)),
            pl.lit("must be between 0 and 1: ") + _quoted("cost_fraction"),
        ),
        _Check(
            "amount",
            (kind == "RETURN_OF_CAPITAL") & pl.col("amount").is_null(),
            pl.lit("missing (the capital returned)"),
        ),
        _Check(
            "amount",
            (kind == "RETURN_OF_CAPITAL") & (pl.col("_amount") == 0),
            pl.lit("must be greater than 0"),
        ),
        _Check(
            "cost_fraction",
            (kind == "MERGER")
            & (pl.col("_amount") > 0)
            & pl.col("_cost_fraction").is_null()
            & pl.col("_quantity").is_null()
            & pl.col("_price").is_null(),
            pl.lit(
                "missing: cash received in a merger needs the fraction of the old cost basis"
                " it takes (or quantity and the price per new share)"
            ),
        ),
    ]
    return checks


def _quoted(column: str) -> pl.Expr:
    # a column read as decimals is quoted as such (the importer then reads the text again)
    return pl.lit("'") + pl.col(column).cast(pl.String).str.slice(0, 40) + pl.lit("'")


def _column_problems(text: pl.DataFrame, file: str, types: set[str]) -> list[InvalidRow]:
    """Columns that the rows' ``types`` need but the file lacks, reported once each."""
    problems: list[InvalidRow] = []

    def need(column: str, kinds: tuple[str, ...]) -> None:
        wanted = sorted(types.intersection(kinds))
        if wanted and column not in text.columns:
            problems.append(
                InvalidRow(
                    file, 1, column, f"required column missing ({', '.join(wanted)} rows need it)"
                )
            )

    need("symbol", NEEDS_SYMBOL)
    need("quantity", PRICED)
    need("price", PRICED)
    need("amount", CASH_TYPES)
    need("ratio", ("SPLIT", "MERGER"))
    need("target", WITH_TARGET)
    need("quantity", ("SPINOFF", "STOCK_DIVIDEND"))
    need("amount", ("RETURN_OF_CAPITAL",))
    need("cost_fraction", ("SPINOFF",))
    if (
        "DIVIDEND" in types
        and "amount" not in text.columns
        and not {"quantity", "price"} <= set(text.columns)
    ):
        problems.append(
            InvalidRow(
                file,
                1,
                "amount",
                "required column missing (DIVIDEND rows need amount or quantity and price)",
            )
        )
    return problems


def validate_rows(
    text: pl.DataFrame, *, file: str, base_currency: str | None = None
) -> tuple[pl.DataFrame, list[InvalidRow]]:
    """Validate and normalize ledger rows read as text.

    Args:
        text: columns named as in :data:`workbench.ledger.columns.LEDGER_COLUMNS` (any subset)
            plus ``line``, all strings, empty cells as null; numeric columns may instead be
            :data:`MONEY` decimals already parsed (then messages quote the decimals).
        file: the name used in error messages.
        base_currency: default ``currency``; :data:`workbench.config.BASE_CURRENCY` if None.

    Returns:
        (typed frame with :data:`TYPED_COLUMNS`, problems). The frame is only meaningful when
        there are no problems.
    """
    problems = [
        InvalidRow(file, 1, column, "required column missing")
        for column in ("date", "type")
        if column not in text.columns
    ]
    if problems:
        return pl.DataFrame(), problems
    if text.is_empty():
        return pl.DataFrame(), [InvalidRow(file, 2, "file", "no rows after the header")]
    distinct = _distinct(
        text, [c for c in ("type", *FREE_TEXT) if c in text.columns and c not in _ROW_WISE]
    )
    # as parsed: a type is read stripped and in any case (" fx " is FX and gets its checks)
    types = set(distinct["type"].str.strip_chars().str.to_uppercase().drop_nulls().to_list())
    problems = _column_problems(text, file, types)
    if problems:
        return pl.DataFrame(), problems
    base = base_currency or config.BASE_CURRENCY
    for column in LEDGER_COLUMNS:  # date and type are there (checked above)
        if column not in text.columns:
            text = text.with_columns(pl.lit(None, dtype=pl.String).alias(column))
            distinct[column] = pl.Series(column, [None], dtype=pl.String)

    # Surrounding blanks never matter, and a cell of blanks is an empty cell. Free text is
    # stripped when one of its distinct values has blanks; a parsed column only when one of
    # its values does not parse as it stands (the parsers reject trailing blanks). Either way
    # a clean column is never copied.
    blanks = [
        c
        for c in FREE_TEXT
        if _has_blanks(text[c] if c in _ROW_WISE and c in text.columns else distinct[c])
    ]
    text = text.with_columns(_blank_to_null(c) for c in blanks)
    # the distinct values of a stripped column are those of the column as it now stands
    distinct.update(_distinct(text, [c for c in blanks if c in distinct]))
    staged = text.with_columns(_parsed(distinct["type"]))
    failed = staged.select(
        *(_unparsed(c).any().alias(c) for c in PARSED),
        (pl.col("type").is_not_null() & ~pl.col("_type").is_in(TYPES)).any().alias("type"),
    ).row(0, named=True)
    redo = [column for column, any_failed in failed.items() if any_failed]
    if redo:
        text = text.with_columns(_blank_to_null(c) for c in redo)
        distinct.update(_distinct(text, [c for c in redo if c in distinct]))
        staged = text.with_columns(_parsed(distinct["type"]))
    # the type tests and the dividend amount recur in many checks: computed once each
    staged = staged.with_columns(
        pl.col("_type").is_in(PRICED).alias("_is_trade"),
        (pl.col("_type") == "FX").alias("_is_fx"),
        pl.col("_type").is_in(CASH_TYPES).alias("_is_cash"),
        (pl.col("_type") == "DIVIDEND").alias("_is_div"),
        (pl.col("_type") == "SPLIT").alias("_is_split"),
        _dividend_amount(staged).alias("_div_amount"),
    )
    is_trade = pl.col("_is_trade")
    is_cash = pl.col("_is_cash")
    is_div = pl.col("_is_div")
    is_split = pl.col("_is_split")
    is_fx = pl.col("_is_fx")
    div_amount = pl.col("_div_amount")
    earliest, latest = date_bounds()

    def missing(column: str) -> pl.Expr:
        return pl.col(column).is_null()

    unparsable = _unparsed

    checks = [
        _Check("date", missing("date"), pl.lit("missing")),
        _Check(
            "date",
            unparsable("date"),
            pl.lit("not a date (expected YYYY-MM-DD): ") + _quoted("date"),
        ),
        _Check(
            "date",
            ~pl.col("_date").is_between(earliest, latest),
            pl.lit(f"out of range (expected {earliest} to {latest}): ") + _quoted("date"),
        ),
        _Check("type", missing("type"), pl.lit("missing")),
        _Check(
            "type",
            pl.col("type").is_not_null() & ~pl.col("_type").is_in(TYPES),
            pl.lit(f"unknown type (expected one of {', '.join(TYPES)}): ") + _quoted("type"),
        ),
        _Check(
            "symbol", pl.col("_type").is_in(NEEDS_SYMBOL) & missing("symbol"), pl.lit("missing")
        ),
        _Check(
            "ratio", is_split & missing("ratio"), pl.lit("missing (expected new:old, e.g. 4:1)")
        ),
        _Check(
            "ratio",
            is_split
            & pl.col("ratio").is_not_null()
            & (
                pl.col("_ratio_new").is_null()
                | pl.col("_ratio_old").is_null()
                | (pl.col("_ratio_new") <= 0)
                | (pl.col("_ratio_old") <= 0)
            ),
            pl.lit("bad split ratio (expected new:old with both > 0, e.g. 4:1): ")
            + _quoted("ratio"),
        ),
    ]
    for column in NUMERIC:
        checks.append(
            _Check(column, unparsable(column), pl.lit("not a number: ") + _quoted(column))
        )
    checks += [
        _Check("quantity", is_trade & missing("quantity"), pl.lit("missing")),
        _Check(
            "quantity",
            is_trade & (pl.col("_quantity") <= 0),
            pl.lit("must be greater than 0: ") + _quoted("quantity"),
        ),
        _Check(
            "quantity",
            ~is_trade & (pl.col("_quantity") < 0),
            pl.lit("must not be negative: ") + _quoted("quantity"),
        ),
        _Check("price", is_trade & missing("price"), pl.lit("missing")),
        _Check("price", pl.col("_price") < 0, pl.lit("must not be negative: ") + _quoted("price")),
        _Check("fee", pl.col("_fee") < 0, pl.lit("must not be negative: ") + _quoted("fee")),
        _Check(
            "amount",
            pl.col("_amount") < 0,
            pl.lit("must be positive (the type gives the sign): ") + _quoted("amount"),
        ),
        _Check("amount", is_cash & missing("amount"), pl.lit("missing")),
        _Check("amount", is_cash & (pl.col("_amount") == 0), pl.lit("must be greater than 0")),
        _Check(
            "amount",
            is_div & missing("amount") & (missing("quantity") | missing("price")),
            pl.lit("missing (give amount, or quantity and price per share)"),
        ),
        _Check("amount", is_div & (div_amount == 0), pl.lit("must be greater than 0")),
    ]
    if not distinct["currency"].drop_nulls().str.contains(_CURRENCY).all():
        # a check of the code alone: needed only when one of its distinct values fails it
        checks.append(
            _Check(
                "currency",
                pl.col("currency").is_not_null() & ~pl.col("currency").str.contains(_CURRENCY),
                pl.lit("not a currency code: ") + _quoted("currency"),
            )
        )
    if "FX" in types:
        checks += _fx_checks(is_fx, base, distinct)
    checks += _corporate_checks(types)
    # one boolean pass first: messages (string columns) are built only for flagged rows
    flagged = staged.filter(pl.any_horizontal(check.bad.fill_null(False) for check in checks))
    if not flagged.is_empty():
        bad = flagged.select(
            "line",
            *(
                pl.when(check.bad.fill_null(False)).then(check.message).alias(f"_p{i}")
                for i, check in enumerate(checks)
            ),
        )
        for row in bad.iter_rows(named=True):
            for i, check in enumerate(checks):
                message = row[f"_p{i}"]
                if message is not None:
                    problems.append(InvalidRow(file, row["line"], check.field, message))
        return pl.DataFrame(), problems

    typed = staged.select(
        pl.col("line"),
        pl.col("_date").alias("date"),
        pl.col("account").fill_null("default"),
        pl.col("_type").alias("type"),
        (
            pl.when(is_fx)
            .then(_codes("symbol", distinct["symbol"]))
            .otherwise(_upper("symbol", distinct["symbol"]))
            if "FX" in types
            else _upper("symbol", distinct["symbol"])
        ).alias("symbol"),
        pl.col("_quantity").alias("quantity"),
        pl.col("_price").alias("price"),
        pl.col("_fee").fill_null(pl.lit(0).cast(MONEY)).alias("fee"),
        pl.when(is_div).then(div_amount).otherwise(pl.col("_amount")).cast(MONEY).alias("amount"),
        _codes("currency", distinct["currency"]).fill_null(base),
        pl.col("_ratio_new").alias("ratio_new"),
        pl.col("_ratio_old").alias("ratio_old"),
        pl.col("note"),
        _upper("target", distinct["target"]).alias("target"),
        pl.col("_cost_fraction").alias("cost_fraction"),
    )
    return typed, []
