"""The small frames the apps show: filtered ledgers, KPI tiles and formatted tables.

Notebooks stay thin views; the filtering and formatting they need lives here so it is tested
like the rest of the package.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench import config


def filter_transactions(
    frame: pl.DataFrame,
    *,
    accounts: Iterable[str] = (),
    types: Iterable[str] = (),
    symbol: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.DataFrame:
    """Ledger rows matching every given filter; an empty filter matches everything.

    Args:
        frame: stored transactions (``store.read_transactions``).
        accounts: keep these accounts.
        types: keep these types (upper case, e.g. ``BUY``).
        symbol: keep symbols containing this text, case-insensitively.
        start, end: keep dates in ``[start, end]``.
    """
    accounts, types = list(accounts), [t.upper() for t in types]
    keep = pl.lit(True)
    if accounts:
        keep &= pl.col("account").is_in(accounts)
    if types:
        keep &= pl.col("type").is_in(types)
    if symbol.strip():
        needle = symbol.strip().upper()
        keep &= (
            pl.col("symbol").str.to_uppercase().str.contains(needle, literal=True).fill_null(False)
        )
    if start is not None:
        keep &= pl.col("date") >= start
    if end is not None:
        keep &= pl.col("date") <= end
    return frame.filter(keep)


def money(value: Any, *, currency: str = "", digits: int = 2) -> str:
    """``12,345.68 USD``; a missing or NaN value is an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{float(value):,.{digits}f}"
    return f"{text} {currency}".strip()


def percent(value: Any, *, digits: int = 2, signed: bool = True) -> str:
    """``+12.34%`` from a fraction; a missing or NaN value is an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sign = "+" if signed else ""
    return f"{float(value) * 100:{sign},.{digits}f}%"


def ratio(value: Any, *, digits: int = 2) -> str:
    """A plain ratio (Sharpe, Sortino); a missing or NaN value is an em dash."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "—"
    return f"{float(value):.{digits}f}"


def for_display(frame: pl.DataFrame, *, money_columns: Sequence[str] = ()) -> pl.DataFrame:
    """A frame ready for an app's table: Decimal columns as Float64 rounded for reading (money
    to cents, the rest to 6 places) and text cells safe to download as CSV.

    marimo's table offers a CSV download of its raw data and (as of 0.25) no hook to change
    what it writes, so text a spreadsheet would run as a formula (a cell starting with
    ``= + - @``, a tab or a carriage return) gets a leading ``'`` here, as workbench's own CSV
    exports do (:func:`workbench.ledger.csv_text.neutralise_formulas`): the table shows the
    note ``=HYPERLINK(...)`` as ``'=HYPERLINK(...)``. Numbers and dates are never changed.
    """
    from workbench.ledger.csv_text import neutralise_formulas

    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Decimal) or dtype in (pl.Float32, pl.Float64):
            places = 2 if name in money_columns else 6
            casts.append(pl.col(name).cast(pl.Float64).round(places))
    return neutralise_formulas(frame.with_columns(casts) if casts else frame)


def pick(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The named entries of ``mapping`` that exist, in the order given."""
    return {k: mapping[k] for k in keys if k in mapping}


@dataclass(frozen=True)
class Choices:
    """What the apps' controls offer, read once from the database."""

    accounts: list[str]
    #: symbols with stored prices, for benchmarks and price charts
    priced_symbols: list[str]
    #: symbols ever traded in the ledger
    traded_symbols: list[str]
    #: the first ledger date and the last ledger or price date, neither later than today
    first_date: dt.date
    last_date: dt.date
    instruments: pl.DataFrame
    default_benchmark: str | None


def load_choices(db: str | os.PathLike[str] | None) -> Choices:
    """Accounts, symbols, the date span and instruments, from a brief read-only open.

    The default benchmark is a priced "Broad market" ETF in the base currency, else any
    broad-market ETF, else the first priced ETF, else none.
    """
    from workbench import store

    with store.connect(db, read_only=True) as con:
        return read_choices(con)


def read_choices(con: Any) -> Choices:
    """:func:`load_choices` on a connection the caller holds (a refresh reads it with the
    rest of what it needs in one open)."""
    from workbench import store

    accounts = store.read_accounts(con)["name"].to_list()
    instruments = store.read_instruments(con)
    first_tx, last_tx, last_price = store.date_span(con)
    priced_symbols = store.priced_symbols(con)
    traded_symbols = store.traded_symbols(con)
    today = dt.date.today()
    # the apps' default period ends today at the latest: a row dated in a later year (or a
    # database written before dates were bounded) must not make every viewer compute a
    # daily series up to it
    first = min(first_tx or today, today)
    last = min(max(d for d in (last_tx, last_price, first) if d is not None), today)
    etfs = instruments.filter(
        pl.col("symbol").is_in(priced_symbols) & (pl.col("asset_class") == "etf")
    )
    broad = etfs.filter(pl.col("sector") == "Broad market")
    home = broad.filter(pl.col("currency") == config.BASE_CURRENCY)
    default = next((f for f in (home, broad, etfs) if f.height), etfs)["symbol"].to_list()
    return Choices(
        accounts=accounts,
        priced_symbols=priced_symbols,
        traded_symbols=traded_symbols,
        first_date=first,
        last_date=last,
        instruments=instruments,
        default_benchmark=default[0] if default else None,
    )


def read_prices_for(
    db: str | os.PathLike[str] | None,
    symbols: Sequence[str],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.DataFrame:
    """Stored daily bars of ``symbols`` in ``[start, end]``, from a brief read-only open."""
    from workbench import store

    if not symbols:
        return pl.DataFrame(schema={"symbol": pl.String, "date": pl.Date, "close": pl.Float64})
    with store.connect(db, read_only=True) as con:
        return store.read_prices(con, symbols=list(symbols), start=start, end=end)


def price_returns(prices: pl.DataFrame, symbol: str) -> pl.DataFrame:
    """Close-to-close daily returns of one symbol: date, return (the first day has none).

    This is how the report treats a benchmark the ledger holds no splits for: stored prices
    are unadjusted, so a benchmark with an unrecorded split shows a jump on that day.
    """
    closes = (
        prices.filter(pl.col("symbol") == symbol)
        .select("date", close=pl.col("close").cast(pl.Float64))
        .sort("date")
    )
    return closes.select(
        "date", (pl.col("close") / pl.col("close").shift(1) - 1.0).alias("return")
    ).drop_nulls("return")


def in_window(frame: pl.DataFrame, start: dt.date | None, end: dt.date | None) -> pl.DataFrame:
    """Rows of a dated frame with ``start <= date <= end`` (either bound may be open)."""
    keep = pl.lit(True)
    if start is not None:
        keep &= pl.col("date") >= start
    if end is not None:
        keep &= pl.col("date") <= end
    return frame.filter(keep)


def align_returns(
    portfolio: pl.DataFrame, benchmark: pl.DataFrame | None, *, name: str = "benchmark"
) -> pl.DataFrame:
    """Portfolio returns with the benchmark's on the same dates: date, return, ``name``.

    Days the benchmark did not trade (weekends, holidays) get a benchmark return of 0.
    """
    out = portfolio.select("date", "return").sort("date")
    if benchmark is None:
        return out
    bench = benchmark.select("date", pl.col("return").alias(name))
    return out.join(bench, on="date", how="left", maintain_order="left").with_columns(
        pl.col(name).fill_null(0.0)
    )


@dataclass(frozen=True)
class Explanation:
    """The lots, flows and prices behind one position's P&L, and how they add up."""

    account: str
    symbol: str
    position: dict[str, Any]
    lots: pl.DataFrame
    flows: pl.DataFrame
    prices: pl.DataFrame
    lots_cost: float
    lots_quantity: float

    def summary(self) -> str:
        """A short Markdown account of the arithmetic behind the numbers."""
        p = self.position
        price, qty = p.get("price"), p.get("quantity") or 0.0
        lines = [
            f"**{self.symbol}** in account **{self.account}**: {qty:,.8g} units held.",
            f"- Price used: {money(price)} ({p.get('price_source', 'close')} of"
            f" {p.get('price_date')}); market value = {qty:,.8g} x {money(price)} ="
            f" **{money(p.get('market_value'))}**.",
            f"- Cost basis = the {self.lots.height} open lot(s) below:"
            f" **{money(p.get('cost_basis'))}** (lots sum to {money(self.lots_cost)}).",
            f"- Unrealized P&L = market value - cost basis = **{money(p.get('unrealized_pnl'))}**.",
            f"- Realized P&L from sells (proceeds - sell fees - cost of lots sold):"
            f" **{money(p.get('realized_pnl'))}**.",
            f"- Dividends received: **{money(p.get('dividends'))}**.",
        ]
        return "\n".join(lines)


def explain_position(
    transactions: pl.DataFrame,
    prices: pl.DataFrame,
    positions: pl.DataFrame,
    *,
    account: str,
    symbol: str,
    method: str,
    as_of: dt.date,
    price_rows: int = 10,
) -> Explanation:
    """Gather what explains one position's numbers in a report.

    Args:
        transactions: the stored ledger (``store.read_transactions``).
        prices: stored bars including ``symbol``'s.
        positions: the report's positions frame.
        account, symbol: the position.
        method: the cost method the report used.
        as_of: the report date.
        price_rows: how many closes up to ``as_of`` to list.
    """
    from workbench.analytics import open_lots

    row = positions.filter((pl.col("account") == account) & (pl.col("symbol") == symbol))
    position = row.row(0, named=True) if row.height else {}
    lots = open_lots(transactions, method=method, as_of=as_of, account=account).filter(
        pl.col("symbol") == symbol
    )
    flows = transactions.filter(
        (pl.col("account") == account) & (pl.col("symbol") == symbol) & (pl.col("date") <= as_of)
    ).select("id", "date", "type", "quantity", "price", "fee", "amount", "ratio_new", "ratio_old")
    recent = (
        prices.filter((pl.col("symbol") == symbol) & (pl.col("date") <= as_of))
        .sort("date")
        .tail(price_rows)
        .select("date", "close", "provider")
    )
    return Explanation(
        account=account,
        symbol=symbol,
        position=position,
        lots=lots,
        flows=flows,
        prices=recent,
        lots_cost=float(lots["cost_basis"].sum() or 0.0) if lots.height else 0.0,
        lots_quantity=float(lots["quantity"].sum() or 0.0) if lots.height else 0.0,
    )


def quotes_frame(results: Sequence[Any]) -> pl.DataFrame:
    """Fetch results (``QuoteResult``) as a table: symbol, price, currency, volume, time,
    provider, error, in request order; text safe to download as CSV (as :func:`for_display`:
    a symbol typed as ``=1+1`` shows as ``'=1+1``)."""
    from workbench.ledger.csv_text import neutralise_formulas

    schema = {
        "symbol": pl.String, "price": pl.Float64, "currency": pl.String, "volume": pl.Float64,
        "time": pl.String, "provider": pl.String, "error": pl.String,
    }  # fmt: skip
    frame = pl.DataFrame([r.as_dict() for r in results], schema=schema, orient="row")
    return neutralise_formulas(frame)


def history_frame(results: Sequence[Any]) -> pl.DataFrame:
    """History results (``HistoryResult``) as long bars: symbol, date, close, provider."""
    rows = [
        (r.symbol, bar.date, bar.close, r.history.provider)
        for r in results
        if r.history is not None
        for bar in r.history.bars
    ]
    return pl.DataFrame(
        rows,
        schema={"symbol": pl.String, "date": pl.Date, "close": pl.Float64, "provider": pl.String},
        orient="row",
    ).sort("symbol", "date")
