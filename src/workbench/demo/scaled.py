"""A demo ledger of exactly N rows, built with whole-array numpy operations (no loop per row).

For benchmarks (1,000,000 and 10,000,000 rows). The rows are spread over many accounts and
(account, symbol) *groups*, about one group per 50 rows (200,000 groups at 10M rows), over the
demo instruments plus generated universe symbols ``U00001``....

Why no sell can exceed the holding, without replaying the rows one by one:

- Inside a group, rows are BUY, SELL or DIVIDEND in date order. A row may be a SELL (or a
  DIVIDEND) only if the row before it in the group is a BUY; the first row is always a BUY.
  That is decided from two random draws per row (this row's and the previous row's), so it is
  vectorized, and every SELL is paired with its own BUY.
- A SELL sells at most what its paired BUY bought, measured in shares *after* every split in
  the window. Splits are split-aware here: the instruments that split (ACME 4:1, CYBD 3:2,
  ZEIT 2:1) trade before and after their split dates, quantities are whole shares as traded
  on the day, and a SELL after the split may sell up to ``ratio`` times the shares its BUY
  bought before it. Each group of a split instrument gets a SPLIT row on the split date, ahead
  of that day's trades (the day's close is already post-split); a group that holds nothing
  then gets a harmless no-op split.
- So the holding in post-split shares is a sum of (buy - sell) pairs and unpaired buys: never
  negative at any row, and neither is the holding as traded on any day.

Each account is funded by one opening DEPOSIT per currency, sized from the running cash so
the cash never goes below zero; each account also has yearly INTEREST, FEE and TAX rows and
one WITHDRAWAL near the end. Rows are returned in apply order (date, then deposits, splits,
trades, income and costs, withdrawals).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.demo.ledger import LEDGER_SCHEMA
from workbench.demo.market import (
    DEMO_INSTRUMENTS,
    DEMO_NOTE,
    _digest,
    instrument_for,
    universe_symbol,
)

if TYPE_CHECKING:
    import numpy as np

#: about this many rows per (account, symbol) group
ROWS_PER_GROUP = 50
#: at most this many symbols per account
SYMBOLS_PER_ACCOUNT = 1000
#: the largest generated universe
MAX_UNIVERSE = 2000

TYPES = ("DEPOSIT", "SPLIT", "BUY", "SELL", "DIVIDEND", "INTEREST", "FEE", "TAX", "WITHDRAWAL")
_T = {name: i for i, name in enumerate(TYPES)}
#: order of rows on the same date: deposits, splits, trades, income and costs, withdrawals
_RANK = {"DEPOSIT": 0, "SPLIT": 1, "BUY": 2, "SELL": 2, "DIVIDEND": 2, "INTEREST": 3,
         "FEE": 3, "TAX": 3, "WITHDRAWAL": 4}  # fmt: skip
CRYPTO_LOT = 1e-6


def layout(transactions: int) -> tuple[int, int, int]:
    """(accounts, symbols per account, universe size) for a ledger of ``transactions`` rows."""
    groups = max(1, transactions // ROWS_PER_GROUP)
    accounts = max(3, math.ceil(groups / SYMBOLS_PER_ACCOUNT))
    per_account = math.ceil(groups / accounts)
    universe = max(per_account, min(MAX_UNIVERSE, max(100, groups // 100)))
    return accounts, per_account, universe


def account_name(i: int) -> str:
    """The name of scaled-mode account ``i`` (0-based): ``acct0001``..."""
    return f"acct{i + 1:04d}"


def scaled_ledger(
    *,
    seed: int,
    transactions: int,
    dates: np.ndarray[Any, Any],
    symbols: list[str],
    closes: np.ndarray[Any, Any],
) -> pl.DataFrame:
    """Exactly ``transactions`` ledger rows over the business ``dates`` of the window.

    Args:
        seed: drives every random draw.
        transactions: the number of rows wanted.
        dates: business days (``datetime64[D]``), ascending.
        symbols: the tradable symbols; ``closes[s, d]`` is the unadjusted close of
            ``symbols[s]`` on ``dates[d]``.

    Raises:
        ValueError: too few rows for the fixed rows (deposits, splits, yearly rows) plus one
            trade per group.
    """
    import numpy as np

    rng = np.random.default_rng(_digest("scaled", seed, transactions))
    n_accounts, per_account, _ = layout(transactions)
    n_days = len(dates)
    years = np.unique(dates.astype("datetime64[Y]"))

    # (account, symbol) groups; symbols differ within an account because per_account <= S
    n_groups = n_accounts * per_account
    g_account = np.repeat(np.arange(n_accounts), per_account)
    g_symbol = (g_account * 37 + np.tile(np.arange(per_account), n_accounts)) % len(symbols)
    insts = [instrument_for(s) for s in symbols]
    currencies = sorted({i.currency for i in insts} | {"USD"})
    sym_currency = np.array([currencies.index(i.currency) for i in insts])
    is_crypto = np.array([i.asset_class == "crypto" for i in insts])

    # per symbol and day: shares-after-all-splits per share traded that day (1 after the last)
    final_per_share = np.ones((len(symbols), n_days))
    split_rows: list[tuple[int, int, str]] = []  # (symbol index, day index, ratio)
    for s, inst in enumerate(insts):
        for split in inst.splits:
            at = int(np.searchsorted(dates, np.datetime64(split.date, "D")))
            if 0 < at < n_days and dates[at] == np.datetime64(split.date, "D"):
                final_per_share[s, :at] *= split.factor
                split_rows.append((s, at, split.ratio))
    ratios = sorted({r for _, _, r in split_rows})

    # fixed rows: yearly interest, fee, tax per account; a withdrawal; splits per group
    year_days = []
    for y in years:
        in_year = np.nonzero(dates.astype("datetime64[Y]") == y)[0]
        year_days.append((int(in_year[0]), int(in_year[len(in_year) // 2]), int(in_year[-1])))
    split_groups = [
        (g, at, ratio) for s, at, ratio in split_rows for g in np.nonzero(g_symbol == s)[0].tolist()
    ]
    account_currencies = np.unique(
        np.concatenate([g_account * len(currencies) + sym_currency[g_symbol],
                        np.arange(n_accounts) * len(currencies) + currencies.index("USD")])
    )  # fmt: skip
    fixed = len(account_currencies) + len(split_groups) + n_accounts * (3 * len(years) + 1)
    n_trades = transactions - fixed
    if n_trades < n_groups:
        raise ValueError(
            f"transactions={transactions} is too few for the scaled demo ledger"
            f" (needs at least {fixed + n_groups})"
        )

    # group rows: counts, then days ascending within each group without a sort: the running
    # sums of exponential gaps, divided by the group's total, are sorted uniform draws
    counts = np.full(n_groups, n_trades // n_groups, dtype=np.int64)
    counts[: n_trades % n_groups] += 1
    grp = np.repeat(np.arange(n_groups, dtype=np.int32), counts)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    pos = (np.arange(n_trades) - np.repeat(starts, counts)).astype(np.int32)
    gaps = rng.standard_exponential(n_trades + n_groups)
    run = _group_cumsum(gaps, starts + np.arange(n_groups), counts + 1)
    ends = np.cumsum(counts + 1) - 1
    keep = np.ones(n_trades + n_groups, dtype=bool)
    keep[ends] = False
    day = np.minimum(
        (run[keep] / np.repeat(run[ends], counts) * n_days).astype(np.int32), n_days - 1
    )
    del gaps, run, keep
    u = rng.random(n_trades)
    wants = (u < 0.45) & (pos > 0)
    special = wants & ~np.concatenate(([False], wants[:-1]))  # the previous row is a BUY
    is_sell = special & (u < 0.38)
    is_div = special & ~is_sell
    is_buy = ~special
    del u, wants, special
    kind = np.where(is_buy, _T["BUY"], np.where(is_sell, _T["SELL"], _T["DIVIDEND"]))

    sym = g_symbol[grp]
    price = closes[sym, day]
    per_share = final_per_share[sym, day]
    lot = np.where(is_crypto[sym], CRYPTO_LOT, 1.0)
    budget = rng.uniform(300.0, 6000.0, n_trades)
    buy_lots = np.maximum(np.floor(budget / (price * lot)), 1.0)
    # a sell takes a share of its paired buy, converted to the shares of the sell's day
    prev = np.maximum(np.arange(n_trades) - 1, 0)
    cap = buy_lots[prev] * (per_share[prev] / per_share) * (1.0 - 1e-12)  # never rounds up
    sell_lots = np.maximum(np.floor(cap * rng.uniform(0.2, 1.0, n_trades)), 1.0)
    del budget, prev, cap
    qty = np.round(np.where(is_sell, sell_lots, buy_lots) * lot, 6)
    del sell_lots, buy_lots, lot
    value = qty * price
    fee = np.round(1.0 + 0.0005 * value, 2)
    # dividends: about a quarter's yield on the shares held after the paired buy
    signed = np.where(is_buy, qty, np.where(is_sell, -qty, 0.0)) * per_share
    held = _group_cumsum(signed, starts, counts) / per_share
    div_amount = np.maximum(np.round(held * price * 0.006, 2), 0.01)
    del signed, held, per_share
    # cash effect, for sizing the deposits
    flow = np.where(is_buy, -(value + fee), np.where(is_sell, value - fee, div_amount))
    del value

    trades = pl.DataFrame(
        {
            "day": day, "rank": np.full(n_trades, _RANK["BUY"], dtype=np.int8),
            "account": g_account[grp].astype(np.int32), "slot": grp, "pos": pos,
            "type": kind.astype(np.int8), "symbol": sym.astype(np.int32),
            "quantity": np.where(is_div, np.nan, qty), "price": np.where(is_div, np.nan, price),
            "fee": np.where(is_div, 0.0, fee), "amount": np.where(is_div, div_amount, np.nan),
            "currency": sym_currency[sym].astype(np.int8), "ratio": np.full(n_trades, -1, np.int8),
            "flow": flow,
        },
        nan_to_null=True,
    )  # fmt: skip
    del day, grp, pos, kind, sym, qty, price, fee, div_amount, flow, is_buy, is_sell, is_div

    # account rows: per year interest (last day), fee (first day), tax (mid-year); a withdrawal
    extra: dict[str, list[Any]] = {name: [] for name in trades.columns}
    usd = currencies.index("USD")

    def add(day_i: int, typ: str, account: int, amount: float | None, cur: int = usd,
            symbol: int | None = None, slot: int = -1, ratio: int = -1) -> None:  # fmt: skip
        sign = {"INTEREST": 1.0, "FEE": -1.0, "TAX": -1.0, "WITHDRAWAL": -1.0}.get(typ, 0.0)
        for k, v in (("day", day_i), ("rank", _RANK[typ]), ("account", account),
                     ("slot", slot), ("pos", -1), ("type", _T[typ]), ("symbol", symbol),
                     ("quantity", None), ("price", None), ("fee", 0.0), ("amount", amount),
                     ("currency", cur), ("ratio", ratio),
                     ("flow", sign * amount if amount is not None else 0.0)):  # fmt: skip
            extra[k].append(v)

    yearly = np.round(rng.uniform(5.0, 400.0, (n_accounts, len(years), 3)), 2)
    for a in range(n_accounts):
        for y, (first, mid, last) in enumerate(year_days):
            add(last, "INTEREST", a, float(yearly[a, y, 0]))
            add(first, "FEE", a, float(max(round(yearly[a, y, 1] / 10.0, 2), 1.0)))
            add(mid, "TAX", a, float(yearly[a, y, 2]))
        add(max(n_days - 10, 0), "WITHDRAWAL", a, float(500 + 50 * (a % 10)))
    for g, at, ratio in split_groups:
        add(at, "SPLIT", int(g_account[g]), None, int(sym_currency[g_symbol[g]]),
            int(g_symbol[g]), int(g), ratios.index(ratio))  # fmt: skip
    for ac in account_currencies.tolist():
        add(0, "DEPOSIT", ac // len(currencies), 0.0, ac % len(currencies))

    rows = pl.concat([trades, pl.DataFrame(extra, schema=trades.schema)]).sort(
        "day", "rank", "account", "slot", "pos", maintain_order=True
    )
    del trades
    # size each opening deposit so the running cash of (account, currency) never dips below 0
    key = ["account", "currency"]
    lowest = (
        rows.lazy()
        .select(*key, pl.col("flow").cum_sum().over(key).alias("run"))
        .group_by(key)
        .agg(pl.col("run").min().alias("lowest"))
        .collect()
    )
    deposit = ((pl.max_horizontal(-pl.col("lowest"), 0.0) + 1000.0) / 100.0).ceil() * 100.0
    rows = rows.join(lowest.select(*key, deposit.alias("deposit")), on=key, how="left",
                     maintain_order="left")  # fmt: skip
    rows = rows.with_columns(
        pl.when(pl.col("type") == _T["DEPOSIT"]).then("deposit").otherwise("amount").alias("amount")
    )
    return _frame(rows, seed=seed, dates=dates, symbols=symbols, currencies=currencies,
                  ratios=ratios, accounts=n_accounts)  # fmt: skip


def _group_cumsum(
    values: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Running sum within consecutive groups given by their starts and lengths."""
    import numpy as np

    total = np.cumsum(values)
    before = np.concatenate(([0.0], total))[starts]
    out: np.ndarray[Any, Any] = total - np.repeat(before, counts)
    return out


def _frame(
    rows: pl.DataFrame,
    *,
    seed: int,
    dates: np.ndarray[Any, Any],
    symbols: list[str],
    currencies: list[str],
    ratios: list[str],
    accounts: int,
) -> pl.DataFrame:
    """Coded rows as a ledger frame: codes become strings and day numbers dates, by gathering."""

    def lookup(column: str, names: list[str]) -> pl.Expr:
        code = pl.col(column).cast(pl.Int64)
        return (
            pl.lit(pl.Series(names, dtype=pl.String))
            .gather(pl.when(code >= 0).then(code))
            .alias(column)
        )

    note = f"{DEMO_NOTE} (seed {seed}, scaled)"
    return rows.select(
        pl.lit(pl.Series(dates, dtype=pl.Date)).gather(pl.col("day")).alias("date"),
        lookup("account", [account_name(i) for i in range(accounts)]),
        lookup("type", list(TYPES)),
        lookup("symbol", symbols),
        "quantity",
        "price",
        "fee",
        "amount",
        lookup("currency", currencies),
        lookup("ratio", ratios),
        pl.lit(note, dtype=pl.String).alias("note"),
    ).cast(LEDGER_SCHEMA)


def scaled_symbols(transactions: int) -> list[str]:
    """The symbols a scaled ledger of ``transactions`` rows trades: demo ones, then universe."""
    _, _, universe = layout(transactions)
    return [i.symbol for i in DEMO_INSTRUMENTS] + [
        universe_symbol(i) for i in range(1, universe + 1)
    ]
