"""Corporate actions against an independent row-by-row replay in exact fractions, on random ledgers.

The replay here keeps each position's lots in shares *on the current date* (a split rescales
every account's lots of its symbol when it comes, instead of the engine's end units), picks
lots by scanning (no heap), and uses ``fractions.Fraction``. For every cost method the engine
(``position_pnl``, ``open_lots``, and the report through ``build_report``) must give the same
quantity, cost basis, realized P&L and dividends per (account, symbol); the import's holdings
check must accept every generated ledger (each one only sells what it holds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import polars as pl
import pytest
from _analytics_helpers import price_frame, row
from _corporate_helpers import act, corp_ledger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.analytics import build_report, open_lots, position_pnl
from workbench.analytics.gains import realized_gains
from workbench.ledger.holdings import oversold_rows

SYMBOLS = ("A", "B", "C", "D")
ACCOUNTS = ("a1", "a2")
PRICES = [Fraction(p, 4) for p in (37, 40, 40, 48, 60, 400)]


@dataclass
class Lot:
    """An open lot in the replay: shares on the current date and their total cost."""

    order: int
    shares: Fraction
    cost: Fraction


class Replay:
    """Row-by-row lots of one ledger under one method, in exact arithmetic."""

    def __init__(self, method: str, rate: Callable[[dt.date], Fraction] | None = None) -> None:
        self.method = method
        self.rate = rate or (lambda _day: Fraction(1))  # reporting currency per row currency
        self.lots: dict[tuple[str, str], list[Lot]] = {}
        self.realized: dict[tuple[str, str], Fraction] = {}
        self.dividends: dict[tuple[str, str], Fraction] = {}
        self.seen_splits: set[tuple[str, dt.date, Fraction]] = set()

    def book(self, key: tuple[str, str]) -> list[Lot]:
        self.realized.setdefault(key, Fraction(0))
        return self.lots.setdefault(key, [])

    def held(self, key: tuple[str, str]) -> Fraction:
        return sum((lot.shares for lot in self.book(key)), Fraction(0))

    def take(self, key: tuple[str, str], shares: Fraction) -> Fraction:
        """Remove shares by the method; returns the cost taken."""
        book = self.book(key)
        if self.method == "average":
            held = self.held(key)
            share = shares / held
            taken = Fraction(0)
            for lot in book:
                taken += lot.cost * share
                lot.cost -= lot.cost * share
                lot.shares -= lot.shares * share
            book[:] = [lot for lot in book if lot.shares > 0]
            return taken
        taken, left = Fraction(0), shares
        while left > 0:
            open_ = [lot for lot in book if lot.shares > 0]
            if self.method == "fifo":
                lot = min(open_, key=lambda x: x.order)
            elif self.method == "lifo":
                lot = max(open_, key=lambda x: x.order)
            else:  # highest cost per share, the older lot on a tie
                lot = min(open_, key=lambda x: (-x.cost / x.shares, x.order))
            part = min(left, lot.shares)
            cost = lot.cost * part / lot.shares
            lot.cost -= cost
            lot.shares -= part
            taken += cost
            left -= part
        book[:] = [lot for lot in book if lot.shares > 0]
        return taken

    def apply(self, seq: int, r: dict[str, Any]) -> None:
        """Apply one ledger row."""
        kind, key = r["type"], (r["account"], r["symbol"])
        num = {k: None if r.get(k) is None else Fraction(r[k])
               for k in ("quantity", "price", "fee", "amount", "cost_fraction")}  # fmt: skip
        ratio = (
            Fraction(r["ratio_new"]) / Fraction(r["ratio_old"]) if r["ratio_new"] else Fraction(1)
        )
        target = (r["account"], r.get("target"))
        fx = self.rate(r["date"])
        if kind == "SPLIT":
            if (r["symbol"], r["date"], ratio) in self.seen_splits:
                return
            self.seen_splits.add((r["symbol"], r["date"], ratio))
            for (_, symbol), lots in self.lots.items():
                if symbol == r["symbol"]:
                    for lot in lots:
                        lot.shares *= ratio
            return
        if kind == "BUY":
            cost = (num["quantity"] * num["price"] + num["fee"]) * fx  # type: ignore[operator]
            self.book(key).append(Lot(seq, num["quantity"], cost))  # type: ignore[arg-type]
        elif kind == "SELL":
            proceeds = (num["quantity"] * num["price"] - num["fee"]) * fx  # type: ignore[operator]
            self.realized[key] += proceeds - self.take(key, num["quantity"])  # type: ignore[arg-type]
        elif kind == "STOCK_DIVIDEND":
            value = num["quantity"] * (num["price"] or 0) * fx  # type: ignore[operator]
            self.book(key).append(Lot(seq, num["quantity"], value))  # type: ignore[arg-type]
            self.dividends[key] = self.dividends.get(key, Fraction(0)) + value
        elif kind == "RETURN_OF_CAPITAL":
            self._return_of_capital(key, num["amount"] * fx)  # type: ignore[operator]
        elif kind == "SPINOFF":
            held, f = self.held(key), num["cost_fraction"]
            for lot in sorted(self.book(key), key=lambda x: x.order):
                child = Lot(lot.order, num["quantity"] * lot.shares / held, lot.cost * f)  # type: ignore[operator]
                self.book(target).append(child)  # type: ignore[arg-type]
                lot.cost -= lot.cost * f  # type: ignore[operator]
        else:  # SYMBOL_CHANGE, MERGER
            self._move(key, target, kind, num, ratio, fx)  # type: ignore[arg-type]

    def _return_of_capital(self, key: tuple[str, str], amount: Fraction) -> None:
        book, held = self.book(key), self.held(key)
        if self.method == "average":
            cost = sum((lot.cost for lot in book), Fraction(0))
            if amount >= cost:
                self.realized[key] += amount - cost
                for lot in book:
                    lot.cost = Fraction(0)
            else:
                for lot in book:
                    lot.cost -= lot.cost * amount / cost
            return
        for lot in book:
            part = amount * lot.shares / held
            if part >= lot.cost:
                self.realized[key] += part - lot.cost
                lot.cost = Fraction(0)
            else:
                lot.cost -= part

    def _move(
        self, key: tuple[str, str], target: tuple[str, str], kind: str,
        num: dict[str, Fraction | None], ratio: Fraction, fx: Fraction,
    ) -> None:  # fmt: skip
        held = self.held(key)
        if held == 0:
            return
        entitled = held * ratio
        received = (
            entitled if kind == "SYMBOL_CHANGE" or num["quantity"] is None else num["quantity"]
        )
        f = Fraction(0)
        amount = num["amount"] or Fraction(0)
        if kind == "MERGER":
            if num["cost_fraction"] is not None:
                f = num["cost_fraction"]
            elif num["quantity"] is not None and received < entitled:
                f = (entitled - received) / entitled
            elif amount > 0:
                f = amount / (amount + received * num["price"])  # type: ignore[operator]
            cost = sum((lot.cost for lot in self.book(key)), Fraction(0))
            self.realized[key] += amount * fx - f * cost
        for lot in sorted(self.book(key), key=lambda x: x.order):
            moved = Lot(lot.order, lot.shares * received / held, lot.cost * (1 - f))
            self.book(target).append(moved)
        self.book(key).clear()


@st.composite
def ledgers(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Random valid ledgers: trades, splits and every corporate action, in two accounts."""
    day = dt.date(2022, 1, 3)
    rows: list[dict[str, Any]] = []
    held: dict[tuple[str, str], Fraction] = {}
    splits: set[tuple[str, dt.date]] = set()
    for _ in range(draw(st.integers(2, 24))):
        day += dt.timedelta(days=draw(st.integers(0, 40)))
        account = draw(st.sampled_from(ACCOUNTS))
        symbol = draw(st.sampled_from(SYMBOLS))
        key = (account, symbol)
        have = held.get(key, Fraction(0))
        other = draw(st.sampled_from([s for s in SYMBOLS if s != symbol]))
        kind = draw(st.sampled_from(
            ["BUY", "BUY", "BUY", "SELL", "SELL", "SPLIT", "SYMBOL_CHANGE", "SPINOFF", "MERGER",
             "RETURN_OF_CAPITAL", "STOCK_DIVIDEND"]
        ))  # fmt: skip
        if kind != "BUY" and kind != "STOCK_DIVIDEND" and kind != "SPLIT" and have < 1:
            kind = "BUY"
        price = float(draw(st.sampled_from(PRICES)))
        if kind == "BUY":
            qty = draw(st.integers(1, 20))
            fee = draw(st.sampled_from((0.0, 0.0, 1.25)))
            rows.append(row(day, "BUY", symbol, qty, price, fee=fee, account=account))
            held[key] = have + qty
        elif kind == "SELL":
            qty = draw(st.integers(1, int(have)))
            rows.append(row(day, "SELL", symbol, qty, price, account=account))
            held[key] = have - qty
        elif kind == "SPLIT":
            if (symbol, day) in splits:
                continue
            splits.add((symbol, day))
            ratio = draw(st.sampled_from(((2, 1), (3, 2))))
            rows.append(row(day, "SPLIT", symbol, ratio=ratio, account=account))
            for k in held:
                if k[1] == symbol:
                    held[k] *= Fraction(*ratio)
        elif kind == "STOCK_DIVIDEND":
            qty = draw(st.integers(1, 5))
            stated = draw(st.sampled_from((None, 3.0)))
            rows.append(act(day, kind, symbol, quantity=qty, price=stated, account=account))
            held[key] = have + qty
        elif kind == "RETURN_OF_CAPITAL":
            amount = draw(st.sampled_from((10.0, 100.0, 5000.0)))
            rows.append(act(day, kind, symbol, amount=amount, account=account))
        elif kind == "SPINOFF":
            qty = draw(st.integers(1, 10))
            f = draw(st.sampled_from((0.0, 0.25, 0.5)))
            rows.append(act(day, kind, symbol, target=other, quantity=qty, cost_fraction=f,
                            account=account))  # fmt: skip
            held[(account, other)] = held.get((account, other), Fraction(0)) + qty
        else:
            ratio = draw(st.sampled_from(((1, 1), (2, 1), (1, 2))))
            entitled = have * Fraction(*ratio)
            fields: dict[str, Any] = {}
            received = entitled
            if kind == "MERGER":
                mode = draw(st.sampled_from(("stock", "fraction", "in_lieu", "price")))
                if mode == "in_lieu" and entitled.denominator == 1:
                    mode = "fraction"
                if mode == "fraction":
                    fields = {"amount": 50.0, "cost_fraction": 0.25}
                elif mode == "in_lieu":
                    received = Fraction(int(entitled))
                    fields = {"quantity": float(received), "amount": 7.0}
                elif mode == "price":
                    fields = {"amount": 80.0, "price": 12.0}
            rows.append(
                act(day, kind, symbol, target=other, ratio=ratio, account=account, **fields)
            )
            held[key] = Fraction(0)
            held[(account, other)] = held.get((account, other), Fraction(0)) + received
    return rows


def _reference(
    tx: pl.DataFrame, method: str, rate: Callable[[dt.date], Fraction] | None = None
) -> Replay:
    replay = Replay(method, rate)
    for seq, r in enumerate(tx.sort("date", "id").iter_rows(named=True)):
        replay.apply(seq, r)
    return replay


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo", "average"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ledgers())
def test_engine_matches_exact_replay_with_corporate_actions(
    method: str, rows: list[dict[str, Any]]
) -> None:
    """Quantity, basis, realized P&L and dividends per position, and the open lots' total,
    match the exact replay; the report and the gains report agree; the holdings check finds
    no oversell."""
    tx = corp_ledger(rows)
    ref = _reference(tx, method)
    got = {
        (r["account"], r["symbol"]): r
        for r in position_pnl(tx, method=method).iter_rows(named=True)
    }
    for key in set(ref.lots) | set(got):
        quantity = float(ref.held(key)) if key in ref.lots else 0.0
        basis = float(sum((lot.cost for lot in ref.lots.get(key, [])), Fraction(0)))
        mine = got.get(key)
        assert mine is not None, key
        assert mine["quantity"] == pytest.approx(quantity, abs=1e-6), key
        assert mine["cost_basis"] == pytest.approx(basis, rel=1e-9, abs=1e-6), key
        assert mine["realized_pnl"] == pytest.approx(
            float(ref.realized.get(key, 0)), rel=1e-9, abs=1e-6
        ), key
        assert mine["dividends"] == pytest.approx(float(ref.dividends.get(key, 0)), abs=1e-6)
    lots = (
        open_lots(tx, method=method).group_by("account", "symbol").agg(pl.col("cost_basis").sum())
    )
    for account, symbol, basis in lots.iter_rows():
        assert basis == pytest.approx(got[(account, symbol)]["cost_basis"], rel=1e-9, abs=1e-6)
    last = tx["date"].max()
    assert isinstance(last, dt.date)
    report = build_report(tx, price_frame([("A", "2022-01-03", 10.0)]), as_of=last,
                          cost_method=method)  # fmt: skip
    for p in report.positions.iter_rows(named=True):
        mine = got[(p["account"], p["symbol"])]
        assert (p["quantity"], p["cost_basis"], p["realized_pnl"]) == pytest.approx(
            (mine["quantity"], mine["cost_basis"], mine["realized_pnl"]), rel=1e-9, abs=1e-6
        )
    gains = (
        realized_gains(tx, method=method)
        .rows.group_by("account", "symbol")
        .agg(pl.col("gain").sum())
    )
    for account, symbol, gain in gains.iter_rows():
        assert gain == pytest.approx(got[(account, symbol)]["realized_pnl"], rel=1e-9, abs=1e-6)
    checked = oversold_rows(tx.head(0), tx.with_columns(line=pl.col("id")))
    assert checked.is_empty(), checked


def _rate(day: dt.date) -> Fraction:
    """USD per EUR on a day: 1, 1.125, ... 1.75, cycling weekly (exact in binary)."""
    return 1 + Fraction(day.toordinal() % 7, 8)


@pytest.mark.parametrize("method", ["fifo", "hifo", "average"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ledgers())
def test_report_in_a_second_currency_matches_the_replay(
    method: str, rows: list[dict[str, Any]]
) -> None:
    """The same ledgers in EUR reported in USD: every lot's cost, every sale's proceeds, merger
    cash, returned capital and stated stock dividends at their own date's rate; basis and
    realized P&L per position match the exact replay in USD."""
    tx = corp_ledger([r | {"currency": "EUR"} for r in rows])
    days = pl.date_range(tx["date"].min(), tx["date"].max(), eager=True)  # type: ignore[arg-type]
    rates = pl.DataFrame(
        {"date": days, "base": "EUR", "quote": "USD", "rate": [float(_rate(d)) for d in days]}
    )
    ref = _reference(tx, method, _rate)
    last = tx["date"].max()
    assert isinstance(last, dt.date)
    report = build_report(tx, price_frame([("A", "2022-01-03", 10.0)]), as_of=last,
                          cost_method=method, base_currency="USD", rates=rates)  # fmt: skip
    for p in report.positions.iter_rows(named=True):
        key = (p["account"], p["symbol"])
        basis = float(sum((lot.cost for lot in ref.lots.get(key, [])), Fraction(0)))
        assert p["cost_basis"] == pytest.approx(basis, rel=1e-9, abs=1e-6), key
        assert p["realized_pnl"] == pytest.approx(
            float(ref.realized.get(key, 0)), rel=1e-9, abs=1e-6
        ), key
