"""Sales matched with the lots they consume: one sweep per (account, symbol) in apply order.

A deque (FIFO, LIFO), a heap (HIFO: highest cost per share in the reporting currency, the
older lot on a tie) or running totals (AVERAGE) per position: ``O(n log n)`` over a group's
trades. It is a Python loop (about half a second per 100,000 trades); the position totals of
:mod:`workbench.analytics.lots` stay loop-free, and this serves what needs the sale-by-lot
pairs: the realized-gains report and the realized FX part of LIFO/HIFO positions sold at
several rates.

Input: trades in apply order with ``account, symbol, buy, units`` (end units), ``id, date``,
``money`` (a BUY's cost or a SELL's proceeds in C), ``money_n`` (the same, native),
``currency``, ``to_row_units`` (end units -> units at the row's date) and ``fx`` (C per unit
of the row's currency).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import deque
from typing import Any

import polars as pl

from workbench.analytics._frames import EPS
from workbench.errors import OversoldError


class _Lot:
    """An open lot in end units, with its costs per unit in C and native."""

    __slots__ = ("date", "ident", "left", "unit", "unit_n")

    def __init__(self, ident: int, date: dt.date, units: float, cost: float, cost_n: float):
        self.ident, self.date, self.left = ident, date, units
        self.unit, self.unit_n = cost / units, cost_n / units


def _sweep(trades: pl.DataFrame, method: str) -> list[tuple[Any, ...]]:
    """Match every sale with the lots it consumes, group by group, in apply order.

    Returns tuples (account, symbol, currency, end units, to_row_units, acquired, sold,
    share of the sale, cost, native cost, sale fx, proceeds, lot id, sale id).

    Raises:
        OversoldError: a sale of more units than the position holds at that point.
    """
    out: list[tuple[Any, ...]] = []
    books: dict[tuple[str, str], Any] = {}
    counter = 0
    columns = ["account", "symbol", "buy", "units", "id", "date", "money", "money_n",
               "currency", "to_row_units", "fx"]  # fmt: skip
    # plain tuples from whole columns: several times faster than named rows
    for account, symbol, buy, units, ident, day, money, money_n, currency, to_units, rate in zip(
        *(trades[c].to_list() for c in columns), strict=True
    ):
        key = (account, symbol)
        if buy:
            if units <= EPS:
                continue
            if method == "average":  # one pool: held units, cost in C, native cost
                pool = books.setdefault(key, [0.0, 0.0, 0.0])
                pool[0] += units
                pool[1] += money
                pool[2] += money_n
                continue
            lot = _Lot(ident, day, units, money, money_n)
            if method == "hifo":
                # highest cost per share in C first, the older lot on a tie
                heapq.heappush(books.setdefault(key, []), (-lot.unit, counter, lot))
                counter += 1
            else:
                books.setdefault(key, deque()).append(lot)
            continue
        book = books.setdefault(
            key, [0.0, 0.0, 0.0] if method == "average" else [] if method == "hifo" else deque()
        )
        sale = (currency, to_units, day, rate, money, ident)
        if method == "average":
            out.extend(_take_average(book, key, units, sale))
        else:
            out.extend(_take_lots(book, key, units, sale, method))
    return out


def _oversold(key: tuple[str, str], sale: tuple[Any, ...], short_by: float) -> OversoldError:
    return OversoldError(
        f"sale of {key[1]} in account {key[0]} on {sale[2]} (row id {sale[5]}) sells "
        f"{short_by:g} more shares (as of the end date) than were held"
    )


def _take_lots(
    book: Any, key: tuple[str, str], units: float, sale: tuple[Any, ...], method: str
) -> list[tuple[Any, ...]]:
    currency, to_units, day, rate, proceeds, sale_id = sale
    left = units
    out = []
    while left > EPS:
        if not book:
            raise _oversold(key, sale, left)
        lot = book[0][2] if method == "hifo" else book[-1] if method == "lifo" else book[0]
        take = min(lot.left, left)
        lot.left -= take
        left -= take
        out.append((*key, currency, take, to_units, lot.date, day, take / units,
                    take * lot.unit, take * lot.unit_n, rate, proceeds, lot.ident, sale_id))  # fmt: skip
        if lot.left <= EPS:
            if method == "hifo":
                heapq.heappop(book)
            elif method == "lifo":
                book.pop()
            else:
                book.popleft()
    return out


def _take_average(
    pool: list[float], key: tuple[str, str], units: float, sale: tuple[Any, ...]
) -> list[tuple[Any, ...]]:
    """A moving-average sale of ``units`` out of ``pool`` (held, cost, native cost): it takes
    ``units / held`` of both costs, in one row."""
    currency, to_units, day, rate, proceeds, sale_id = sale
    held, cost, cost_n = pool
    if units - held > EPS:
        raise _oversold(key, sale, units - held)
    if held <= EPS:
        return []
    if held - units <= EPS:  # sold to zero: all of the cost, and the next buy starts anew
        taken, taken_n = cost, cost_n
        pool[:] = [0.0, 0.0, 0.0]
    else:
        share = units / held
        taken, taken_n = cost * share, cost_n * share
        pool[:] = [held - units, cost - taken, cost_n - taken_n]
    return [(*key, currency, units, to_units, None, day, 1.0, taken, taken_n, rate, proceeds,
             None, sale_id)]  # fmt: skip


SWEEP_SCHEMA: dict[str, Any] = {
    "account": pl.String, "symbol": pl.String, "currency": pl.String, "units": pl.Float64,
    "to_row_units": pl.Float64, "acquired": pl.Date, "sold": pl.Date, "share": pl.Float64,
    "cost": pl.Float64, "cost_n": pl.Float64, "fx": pl.Float64, "sale_money": pl.Float64,
    "lot_id": pl.Int64, "sale_id": pl.Int64,
}  # fmt: skip


def sweep_frame(trades: pl.DataFrame, method: str) -> pl.DataFrame:
    """:func:`_sweep` as a frame of :data:`SWEEP_SCHEMA` (one row per sale and lot consumed)."""
    return pl.DataFrame(_sweep(trades, method), schema=SWEEP_SCHEMA, orient="row")
