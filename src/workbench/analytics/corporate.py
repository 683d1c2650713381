"""Corporate actions in lots: a replay of only the positions they touch, beside the fast path.

A corporate action (``SYMBOL_CHANGE``, ``SPINOFF``, ``MERGER``, ``RETURN_OF_CAPITAL``,
``STOCK_DIVIDEND``; README "Corporate actions") rewrites an account's open lots: it moves them
to another symbol, splits their cost between two symbols, lowers their cost, or adds a lot.
What it does depends on which lots are open at that moment, which depends on the cost method,
so it cannot be a column expression over the ledger. Actions are rare, though: the positions
they touch (each action's ``(account, symbol)`` and ``(account, target)``) are replayed here row
by row, in apply order, one lot book per position, and every other position stays on the
vectorized engine (:mod:`workbench.analytics.lots`), which a ledger without actions never
leaves. The replay is a Python loop over the rows of the touched positions only.

Units and money follow the engine: quantities in *end units* (shares as of the as-of date;
``to_row_units`` = ``cum / final`` turns them into shares on a row's date, and ``t_cum`` /
``t_final`` do the same for an action's target), every lot carries its cost in the reporting
currency C (each row's money times its ``fx``) and natively. Lots are ordered by their
original purchase (a lot moved to another symbol keeps its place): FIFO takes the oldest, LIFO
the newest, HIFO the highest cost per share in C (the older purchase on a tie), AVERAGE takes
the same fraction of every open lot and reports one pooled row per disposal.

Each action, for the account's open lots of ``symbol`` (``H`` = units held, ``f`` = the
fraction of cost that leaves):

* ``SYMBOL_CHANGE`` to ``target`` at ratio ``new:old`` (default 1:1): every lot moves to
  ``target`` with its acquisition date and both costs, quantity x new/old. Nothing realized.
* ``SPINOFF``: each parent lot gives ``target`` a lot of ``quantity x lot / H`` shares, with
  the parent's acquisition date and ``cost_fraction`` of its costs; the parent keeps the rest.
* ``MERGER`` at ``new:old``: every lot moves to ``target`` with ``Q / H`` shares per old share
  (``Q`` = ``quantity``, or ``H x new/old``) and ``1 - f`` of its costs; the cash ``amount``
  realizes ``amount x lot / H - f x cost`` per lot. ``f`` = ``cost_fraction``; else cash in
  lieu ``(H x ratio - Q) / (H x ratio)``; else ``amount / (amount + Q x price)``.
* ``RETURN_OF_CAPITAL``: lowers each lot's cost by ``amount x lot / H``; a lot it would take
  below zero goes to zero and the rest is a realized gain (AVERAGE: the pool as a whole).
* ``STOCK_DIVIDEND``: a new lot of ``quantity`` on the row's date costing ``quantity x price``
  (a stated value, else 0).
"""

from __future__ import annotations

import datetime as dt
import heapq
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench.analytics._frames import ACTIONS, EPS, TRADES
from workbench.analytics._matching import SWEEP_SCHEMA
from workbench.errors import CorporateActionError, OversoldError

GROUP = ["account", "symbol"]

#: the columns :func:`replay` reads (prepared rows; ``fx`` is 1 where there is none)
_COLUMNS = [
    "account", "symbol", "type", "id", "date", "seq", "currency", "fx", "quantity", "price",
    "fee", "amount", "ratio_new", "ratio_old", "target", "cost_fraction", "cum", "final",
    "t_cum", "t_final",
]  # fmt: skip

LOT_SCHEMA: dict[str, Any] = {
    "account": pl.String, "symbol": pl.String, "lot_id": pl.Int64, "acquired": pl.Date,
    "units": pl.Float64, "cost": pl.Float64, "cost_n": pl.Float64, "bought_units": pl.Float64,
    "bought_cost": pl.Float64, "currency": pl.String,
}  # fmt: skip
#: the columns of :func:`summary`, those of ``position_pnl_fx``
SUMMARY_COLUMNS = [
    "account", "symbol", "currency", "quantity", "cost_basis", "cost_basis_native",
    "realized_pnl", "realized_fx_pnl", "dividends", "bought_cost", "proceeds", "trade_fees",
]  # fmt: skip
MOVE_SCHEMA: dict[str, Any] = {
    "account": pl.String, "symbol": pl.String, "date": pl.Date, "seq": pl.Int64,
    "units": pl.Float64, "final": pl.Float64, "currency": pl.String,
}  # fmt: skip


class _Lot:
    """An open lot: end units left, its costs (C and native) for those units."""

    __slots__ = ("acquired", "bought_cost", "bought_units", "cost", "cost_n", "currency",
                 "ident", "order", "units")  # fmt: skip

    def __init__(
        self, ident: int, order: int, acquired: dt.date, units: float, cost: float,
        cost_n: float, currency: str,
    ) -> None:  # fmt: skip
        self.ident, self.order, self.acquired, self.currency = ident, order, acquired, currency
        self.units, self.cost, self.cost_n = units, cost, cost_n
        self.bought_units, self.bought_cost = units, cost

    def key(self) -> tuple[float, int]:
        """HIFO priority: highest cost per unit in C first, then the older original buy."""
        return (-self.cost / self.units if self.units > EPS else 0.0, self.order)

    def __lt__(self, other: _Lot) -> bool:  # the HIFO heap's order
        return self.key() < other.key()


@dataclass
class Replayed:
    """What the replay found: open ``lots`` (:data:`LOT_SCHEMA`), ``disposals`` (one row per
    sale or action and lot, :data:`workbench.analytics._matching.SWEEP_SCHEMA`), ``moves``
    (units each action added to or took from a position, :data:`MOVE_SCHEMA`) and
    ``stock_dividends`` (account, symbol, value in C of stated stock dividends)."""

    lots: pl.DataFrame
    disposals: pl.DataFrame
    moves: pl.DataFrame
    stock_dividends: pl.DataFrame


def affected_pairs(tx: pl.DataFrame) -> pl.DataFrame:
    """Every (account, symbol) an action touches: its symbol and its target, in its account."""
    actions = tx.filter(pl.col("type").is_in(ACTIONS))
    parts = [actions.select(GROUP)]
    if "target" in actions.columns:
        parts.append(
            actions.filter(pl.col("target").is_not_null()).select(
                "account", symbol=pl.col("target")
            )
        )
    return pl.concat(parts).unique().sort(GROUP)


def split_affected(tx: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows of positions no action touches, rows of those it does), each in its order.

    The pairs are matched among the rows of the few symbols involved only, and the rest is
    found by row number (``seq``): two joins on two text columns of every row cost ~4x more.
    """
    pairs = affected_pairs(tx)
    symbols = pairs["symbol"].unique().implode()
    touched = tx.filter(pl.col("symbol").is_in(symbols)).join(
        pairs, on=GROUP, how="semi", maintain_order="left"
    )
    if "seq" not in tx.columns:
        return tx.join(pairs, on=GROUP, how="anti", maintain_order="left"), touched
    return tx.filter(~pl.col("seq").is_in(touched["seq"].implode())), touched


class _Books:
    """The lot books of one replay and everything it records."""

    def __init__(self, method: str) -> None:
        self.method = method
        # a deque (FIFO, LIFO, AVERAGE) or a heap list (HIFO) per position
        self.books: dict[tuple[str, str], Any] = {}
        self.disposals: list[tuple[Any, ...]] = []
        self.moves: list[tuple[Any, ...]] = []
        self.stock_dividends: list[tuple[str, str, float]] = []

    def book(self, key: tuple[str, str]) -> Any:
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = [] if self.method == "hifo" else deque()
        return book

    def add(self, key: tuple[str, str], lot: _Lot) -> None:
        """Add a lot; FIFO and LIFO books stay in the order of the original purchases, so a
        lot moved in by an action goes before the position's own later purchases (and after
        lots of the same purchase already there: a spun-off lot meeting its parent again)."""
        book = self.book(key)
        if self.method == "hifo":
            heapq.heappush(book, lot)
            return
        at = len(book)
        while at and book[at - 1].order > lot.order:  # only moved lots ever step back
            at -= 1
        book.insert(at, lot)

    def held(self, key: tuple[str, str]) -> float:
        return float(sum(lot.units for lot in self.book(key)))

    def reorder(self, key: tuple[str, str]) -> None:
        """Restore the HIFO heap after costs changed unevenly."""
        if self.method == "hifo":
            heapq.heapify(self.book(key))

    def take(self, key: tuple[str, str], units: float) -> list[tuple[_Lot, float, float, float]]:
        """Remove ``units`` by the method: (lot, units, cost, native cost) taken from each."""
        book = self.book(key)
        held = sum(lot.units for lot in book)
        if units - held > 1e-6 * max(1.0, held):
            raise OversoldError(f"short by {units - held:g}")
        if self.method == "average":
            if held <= EPS:
                return []
            share = min(units / held, 1.0)
            out = [(lot, lot.units * share, lot.cost * share, lot.cost_n * share) for lot in book]
            for lot, taken, cost, cost_n in out:
                lot.units -= taken
                lot.cost -= cost
                lot.cost_n -= cost_n
            if held - units <= EPS:
                book.clear()
            return out
        out = []
        left = units
        while left > EPS and book:
            lot = book[0] if self.method in ("fifo", "hifo") else book[-1]
            taken = min(lot.units, left)
            share = taken / lot.units
            cost, cost_n = lot.cost * share, lot.cost_n * share
            out.append((lot, taken, cost, cost_n))
            lot.units -= taken
            lot.cost -= cost
            lot.cost_n -= cost_n
            left -= taken
            if lot.units <= EPS:
                if self.method == "hifo":
                    heapq.heappop(book)
                elif self.method == "lifo":
                    book.pop()
                else:
                    book.popleft()
        return out

    def dispose(
        self,
        key: tuple[str, str],
        pieces: list[tuple[_Lot, float, float, float]],
        *,
        r: dict[str, Any],
        to_row: float,
        money: float,
        shares: list[float],
    ) -> None:
        """Record disposals: ``money`` (C) shared out by ``shares``; AVERAGE pools them."""
        account, symbol = key
        if self.method == "average":
            if not pieces:
                return
            pieces_units = sum(p[1] for p in pieces)
            self.disposals.append(
                (account, symbol, r["currency"], pieces_units, to_row, None, r["date"],
                 sum(shares), sum(p[2] for p in pieces), sum(p[3] for p in pieces), r["fx"],
                 money, None, r["id"])
            )  # fmt: skip
            return
        for (lot, taken, cost, cost_n), share in zip(pieces, shares, strict=True):
            self.disposals.append(
                (account, symbol, r["currency"], taken, to_row, lot.acquired, r["date"], share,
                 cost, cost_n, r["fx"], money, lot.ident, r["id"])
            )  # fmt: skip


def _ratio(r: dict[str, Any]) -> float:
    new, old = r["ratio_new"], r["ratio_old"]
    return float(new) / float(old) if new is not None and old is not None and old else 1.0


def _fail(r: dict[str, Any], message: str) -> CorporateActionError:
    return CorporateActionError(
        f"{r['type']} of {r['symbol']} in account {r['account']!r} on {r['date']}"
        f" (row id {r['id']}): {message}"
    )


def _apply(books: _Books, r: dict[str, Any]) -> None:
    """Apply one row of a touched position."""
    kind, key = r["type"], (r["account"], r["symbol"])
    to_row = r["cum"] / r["final"]  # end units of the symbol -> shares on this date
    fx = r["fx"]
    if kind == "BUY":
        units = r["quantity"] / to_row
        if units <= EPS:
            return
        cost_n = r["quantity"] * r["price"] + r["fee"]
        books.add(key, _Lot(r["id"], r["seq"], r["date"], units, cost_n * fx, cost_n,
                            r["currency"]))  # fmt: skip
        return
    if kind == "SELL":
        units = r["quantity"] / to_row
        proceeds = (r["quantity"] * r["price"] - r["fee"]) * fx
        try:
            pieces = books.take(key, units)
        except OversoldError as exc:
            raise OversoldError(
                f"sale of {key[1]} in account {key[0]} on {r['date']} (row id {r['id']}) sells"
                f" more shares than were held ({exc})"
            ) from exc
        books.dispose(key, pieces, r=r, to_row=to_row, money=proceeds,
                      shares=[p[1] / units for p in pieces])  # fmt: skip
        return
    if kind == "STOCK_DIVIDEND":
        value_n = r["quantity"] * (r["price"] or 0.0)
        books.add(key, _Lot(r["id"], r["seq"], r["date"], r["quantity"] / to_row, value_n * fx,
                            value_n, r["currency"]))  # fmt: skip
        books.moves.append((*key, r["date"], r["seq"], r["quantity"] / to_row, r["final"],
                            r["currency"]))  # fmt: skip
        books.stock_dividends.append((*key, value_n * fx))
        return
    if kind == "RETURN_OF_CAPITAL":
        _return_of_capital(books, key, r, to_row)
        return
    _move_lots(books, key, r, to_row)


def _return_of_capital(
    books: _Books, key: tuple[str, str], r: dict[str, Any], to_row: float
) -> None:
    book = books.book(key)
    held = books.held(key)
    if held <= EPS:
        raise _fail(r, "the account holds none of it (a return of capital needs a holding)")
    amount_n = float(r["amount"])
    amount = amount_n * r["fx"]
    if books.method == "average":
        cost, cost_n = sum(lot.cost for lot in book), sum(lot.cost_n for lot in book)
        if amount >= cost:  # the pool's basis is used up: the rest is a gain
            pieces = [(lot, 0.0, lot.cost, lot.cost_n) for lot in book]
            books.dispose(key, pieces, r=r, to_row=to_row, money=amount, shares=[1.0])
            for lot in book:
                lot.cost = lot.cost_n = 0.0
            return
        for lot in book:  # the pool's cost falls by the amount, shared by cost
            lot.cost *= 1.0 - amount / cost if cost else 1.0
            lot.cost_n = max(lot.cost_n * (1.0 - amount_n / cost_n), 0.0) if cost_n else 0.0
        return
    gained: list[tuple[_Lot, float, float, float]] = []
    shares: list[float] = []
    for lot in sorted(book, key=lambda lot: lot.order):
        part = lot.units / held
        if amount * part >= lot.cost:
            gained.append((lot, 0.0, lot.cost, lot.cost_n))
            shares.append(part)
            lot.cost = lot.cost_n = 0.0
        else:
            lot.cost -= amount * part
            lot.cost_n = max(lot.cost_n - amount_n * part, 0.0)
    books.dispose(key, gained, r=r, to_row=to_row, money=amount, shares=shares)
    books.reorder(key)


def _merger_fraction(r: dict[str, Any], held_shares: float, received: float) -> float:
    """The fraction of the old cost that the cash of a merger takes (module docstring)."""
    if r["cost_fraction"] is not None:
        return float(r["cost_fraction"])
    amount = float(r["amount"] or 0.0)
    entitled = held_shares * _ratio(r)
    if r["quantity"] is not None and entitled - received > 1e-9 * max(1.0, entitled):
        return (entitled - received) / entitled  # cash in lieu of the fraction not received
    if amount > 0 and r["price"] is not None and amount + received * r["price"] > 0:
        return amount / (amount + received * float(r["price"]))
    if amount > 0:
        raise _fail(
            r,
            "cash received but nothing to allocate the cost basis by: give cost_fraction"
            " (the fraction of the old cost the cash takes), or price (value per new share)",
        )
    return 0.0


def _move_lots(books: _Books, key: tuple[str, str], r: dict[str, Any], to_row: float) -> None:
    """SYMBOL_CHANGE, SPINOFF and MERGER: lots (or part of their cost) go to the target."""
    kind, target = r["type"], (r["account"], r["target"])
    t_per_share = (r["t_final"] or 1.0) / (r["t_cum"] or 1.0)  # target shares -> end units
    held = books.held(key)
    held_shares = held * to_row
    if held <= EPS:
        if kind == "SYMBOL_CHANGE" or not (r["quantity"] or r["amount"]):
            return  # nothing held and nothing received: the action passes this account by
        raise _fail(r, "the account holds none of it on that date")
    book: list[_Lot] = sorted(books.book(key), key=lambda lot: lot.order)
    if kind == "SPINOFF":
        fraction = float(r["cost_fraction"])
        received = float(r["quantity"])
        for lot in book:
            units = received * lot.units / held * t_per_share
            books.add(target, _Lot(lot.ident, lot.order, lot.acquired, units,
                                   lot.cost * fraction, lot.cost_n * fraction, r["currency"]))  # fmt: skip
            lot.cost *= 1.0 - fraction
            lot.cost_n *= 1.0 - fraction
        books.moves.append((*target, r["date"], r["seq"], received * t_per_share, r["t_final"],
                            r["currency"]))  # fmt: skip
        return
    ratio = _ratio(r)
    received = held_shares * ratio if kind == "SYMBOL_CHANGE" or r["quantity"] is None else (
        float(r["quantity"])
    )  # fmt: skip
    fraction = _merger_fraction(r, held_shares, received) if kind == "MERGER" else 0.0
    amount = float(r["amount"] or 0.0) * r["fx"] if kind == "MERGER" else 0.0
    if kind == "MERGER" and (amount > 0 or fraction > 0):
        pieces = [(lot, lot.units * fraction, lot.cost * fraction, lot.cost_n * fraction)
                  for lot in book]  # fmt: skip
        books.dispose(key, pieces, r=r, to_row=to_row, money=amount,
                      shares=[lot.units / held for lot in book])  # fmt: skip
    per_unit = to_row * (received / held_shares) * t_per_share
    for lot in book:
        books.add(target, _Lot(lot.ident, lot.order, lot.acquired, lot.units * per_unit,
                               lot.cost * (1.0 - fraction), lot.cost_n * (1.0 - fraction),
                               r["currency"]))  # fmt: skip
    books.book(key).clear()
    books.moves.append((*key, r["date"], r["seq"], -held, r["final"], r["currency"]))
    books.moves.append((*target, r["date"], r["seq"], received * t_per_share, r["t_final"],
                        r["currency"]))  # fmt: skip


#: the last replay of each frame, by id (with a weak reference proving it is the same frame):
#: a report replays for positions and again for the daily values, and their units moved are
#: the same under every method
_LAST: dict[int, tuple[weakref.ref[pl.DataFrame], Replayed]] = {}


def moves_of(tx: pl.DataFrame) -> pl.DataFrame:
    """The units actions move in prepared rows ``tx`` (:data:`MOVE_SCHEMA`), from the last
    replay of this same frame when there was one (units do not depend on the method)."""
    seen = _LAST.get(id(tx))
    if seen is not None and seen[0]() is tx:
        return seen[1].moves
    return replay(split_affected(tx)[1], method="fifo").moves


def replay_of(tx: pl.DataFrame, *, method: str) -> tuple[pl.DataFrame, pl.DataFrame, Replayed]:
    """(rows no action touches, touched rows, their replay under ``method``) of prepared rows,
    remembered for :func:`moves_of`."""
    rest, touched = split_affected(tx)
    done = replay(touched, method=method)
    _LAST.clear()  # one frame at a time: nothing outlives the next report
    _LAST[id(tx)] = (weakref.ref(tx), done)
    return rest, touched, done


def replay(tx: pl.DataFrame, *, method: str) -> Replayed:
    """Replay the rows of touched positions (prepared, in apply order, with ``fx``).

    Raises:
        OversoldError: a sale of more than the position holds at that point.
        CorporateActionError: an action on a position the account does not hold, or a merger
            paying cash with no way to allocate the cost basis.
    """
    rows = tx.filter(pl.col("type").is_in((*TRADES, *ACTIONS)) & pl.col("symbol").is_not_null())
    present = [c for c in _COLUMNS if c in rows.columns]
    rows = rows.sort("seq").select(present)
    for column in ("t_cum", "t_final", "fx"):
        if column not in rows.columns:
            rows = rows.with_columns(pl.lit(1.0).alias(column))
    for column in ("target", "cost_fraction"):
        if column not in rows.columns:
            rows = rows.with_columns(pl.lit(None).alias(column))
    rows = rows.with_columns(
        pl.col(
            "quantity", "price", "fee", "amount", "cost_fraction", "ratio_new", "ratio_old"
        ).cast(pl.Float64),
    ).with_columns(pl.col("fee").fill_null(0.0), pl.col("fx").fill_null(1.0))
    books = _Books(method)
    for r in rows.iter_rows(named=True):
        _apply(books, r)
    lots = [
        (account, symbol, lot.ident, lot.acquired, lot.units, lot.cost, lot.cost_n,
         lot.bought_units, lot.bought_cost, lot.currency)
        for (account, symbol), book in books.books.items()
        for lot in book
        if lot.units > EPS
    ]  # fmt: skip
    return Replayed(
        lots=pl.DataFrame(lots, schema=LOT_SCHEMA, orient="row"),
        disposals=pl.DataFrame(books.disposals, schema=SWEEP_SCHEMA, orient="row"),
        moves=pl.DataFrame(books.moves, schema=MOVE_SCHEMA, orient="row"),
        stock_dividends=pl.DataFrame(
            books.stock_dividends,
            schema={"account": pl.String, "symbol": pl.String, "value": pl.Float64},
            orient="row",
        ),
    )


def summary(touched: pl.DataFrame, done: Replayed, *, target: str | None) -> pl.DataFrame:
    """Per touched (account, symbol), the columns of
    :func:`workbench.analytics.currency.position_pnl_fx`: currency, quantity, cost_basis,
    cost_basis_native, realized_pnl, realized_fx_pnl, dividends, bought_cost, proceeds,
    trade_fees. ``target`` is the reporting currency (None: no FX part).

    ``touched`` is the prepared rows of the touched positions, with ``fx``.
    """
    from workbench.analytics._frames import dividend_amount, round_qty

    fx = pl.col("fx") if "fx" in touched.columns else pl.lit(1.0)
    kind = pl.col("type")
    trades = touched.filter(kind.is_in(TRADES) & pl.col("symbol").is_not_null())
    gross = pl.col("quantity") * pl.col("price")
    flows = trades.group_by(GROUP).agg(
        bought_cost=pl.when(kind == "BUY").then((gross + pl.col("fee")) * fx).otherwise(0.0).sum(),
        trade_fees=(pl.col("fee") * fx).sum(),
        _trade_currency=pl.col("currency").sort_by("seq").last(),
    )
    dividends = (
        touched.filter((kind == "DIVIDEND") & pl.col("symbol").is_not_null())
        .group_by(GROUP)
        .agg(_cash_dividends=(dividend_amount() * fx).sum(), _paid=pl.col("currency").last())
    )
    actions = touched.filter(kind.is_in(ACTIONS))
    action_currency = (
        pl.concat(
            [
                actions.select(*GROUP, "seq", "currency"),
                actions.filter(pl.col("target").is_not_null()).select(
                    "account", pl.col("target").alias("symbol"), "seq", "currency"
                ),
            ]
        )
        .group_by(GROUP)
        .agg(_action_currency=pl.col("currency").sort_by("seq").last())
    )
    stock = done.stock_dividends.group_by(GROUP).agg(_stock_dividends=pl.col("value").sum())
    lots = done.lots.group_by(GROUP).agg(
        quantity=pl.col("units").sum(),
        cost_basis=pl.col("cost").sum(),
        cost_basis_native=pl.col("cost_n").sum(),
        _lot_currency=pl.col("currency").last(),
    )
    d = done.disposals
    fx_part = (
        pl.lit(0.0)
        if target is None
        else pl.when(pl.col("currency") == target)
        .then(0.0)
        .otherwise(pl.col("cost_n") * pl.col("fx") - pl.col("cost"))
    )
    realized = d.group_by(GROUP).agg(
        proceeds=(pl.col("sale_money") * pl.col("share")).sum(),
        realized_pnl=(pl.col("sale_money") * pl.col("share") - pl.col("cost")).sum(),
        realized_fx_pnl=fx_part.sum(),
    )
    numbers = [
        "quantity", "cost_basis", "cost_basis_native", "realized_pnl", "realized_fx_pnl",
        "bought_cost", "proceeds", "trade_fees",
    ]  # fmt: skip
    out = affected_pairs(touched)
    for part in (flows, dividends, action_currency, stock, lots, realized):
        out = out.join(part, on=GROUP, how="left")
    return (
        out.with_columns(pl.col(numbers).fill_null(0.0))
        .with_columns(
            currency=pl.coalesce("_trade_currency", "_lot_currency", "_action_currency", "_paid"),
            quantity=round_qty(pl.col("quantity")),
            dividends=pl.col("_cash_dividends").fill_null(0.0)
            + pl.col("_stock_dividends").fill_null(0.0),
        )
        .select(SUMMARY_COLUMNS)
        .sort(GROUP)
    )
