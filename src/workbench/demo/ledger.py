"""The default demo ledger: three accounts living through five years of the synthetic market.

A day-by-day simulation (a few thousand rows, so a plain loop over *days* is fine; the scaled
ledger in :mod:`workbench.demo.scaled` is the vectorized one). Money and quantities are exact
``Decimal`` values while simulating, so no rounding can ever make a sell exceed the holding or
a payment exceed the cash.

Within a day, rows come in the order they apply: deposits, splits (effective at the open),
dividends and their withholding tax, trades at that day's close, interest, fees, withdrawals.

Accounts:

- ``taxable``: a multi-currency brokerage account (USD and EUR cash, each funded by its own
  deposits); each quarter it also converts USD into EUR with an ``FX`` row at the broker's
  rate, the ECB reference rate of the day (bundled history) plus a 0.5 % markup and a
  2 USD fee, so the report's ``cash_fx_gain`` shows what the markup cost; US and euro-area
  stocks and ETFs; a fixed fee per trade; 15 % withholding tax on EUR dividends; an annual
  account fee; two withdrawals.
- ``depot``: a euro account funded in EUR: euro-area stocks and a London stock quoted in
  pence (``TMSE``, GBp), bought with pounds from a quarterly ``FX`` row (EUR -> GBP at the
  ECB reference + 0.5 %, a 1.50 EUR fee); its random choices come from a generator of its
  own, so the other accounts' rows do not depend on it.
- ``ira``: a USD retirement account of ETFs, a bond fund and a few stocks; no trade fees; a
  yearly contribution on top of monthly ones; an annual custody fee.
- ``crypto``: two synthetic coins in fractional units (6 decimals); a 0.2 % fee per trade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

import polars as pl

from workbench.demo.market import DEMO_NOTE, instrument_for

CENT = Decimal("0.01")


@dataclass(frozen=True)
class AccountPlan:
    """How one demo account is funded and how it trades."""

    name: str
    symbols: tuple[str, ...]
    #: bought on the first day and never sold out completely (so splits meet holdings)
    core: tuple[str, ...]
    initial: dict[str, Decimal]
    monthly: dict[str, Decimal]
    #: chance of a trade on a business day
    trade_prob: float
    #: fixed fee per trade, by currency
    fee_fixed: dict[str, Decimal]
    #: fee per trade as a fraction of the trade's value
    fee_rate: Decimal = Decimal(0)
    #: decimals of a quantity (0 for whole shares)
    qty_decimals: int = 0
    yearly_deposit: dict[str, Decimal] | None = None
    annual_fee: dict[str, Decimal] | None = None
    #: withholding tax on dividends, by currency
    withholding: dict[str, Decimal] | None = None
    #: (month, day) on which a withdrawal is taken, by currency and amount
    withdrawals: tuple[tuple[int, int, str, Decimal], ...] = ()


_US = ("ACME", "NWND", "GLBX", "INIT", "UMBR", "STRK", "WAYN", "TYRL", "SOYL", "CYBD", "WBUS")
_EU = ("VHLF", "BRGN", "LMRA", "SOLV", "ZEIT", "WBEU")

PLANS: tuple[AccountPlan, ...] = (
    AccountPlan(
        name="taxable",
        symbols=_US + _EU,
        core=("ACME", "NWND", "CYBD", "WBUS", "ZEIT", "VHLF", "WBEU"),
        initial={"USD": Decimal(60_000), "EUR": Decimal(25_000)},
        monthly={"USD": Decimal(1_500), "EUR": Decimal(400)},
        trade_prob=0.2,
        fee_fixed={"USD": Decimal("1.00"), "EUR": Decimal("4.90")},
        annual_fee={"USD": Decimal(25), "EUR": Decimal(12)},
        withholding={"EUR": Decimal("0.15")},
        withdrawals=((12, 15, "USD", Decimal(6_000)), (7, 15, "EUR", Decimal(2_500))),
    ),
    AccountPlan(
        name="depot",
        symbols=(*_EU, "TMSE"),
        core=("WBEU", "ZEIT"),
        initial={"EUR": Decimal(20_000)},
        monthly={"EUR": Decimal(300)},
        trade_prob=0.1,
        fee_fixed={"EUR": Decimal("2.50"), "GBp": Decimal(300)},
        annual_fee={"EUR": Decimal(10)},
        withholding={"EUR": Decimal("0.15")},
    ),
    AccountPlan(
        name="ira",
        symbols=("WBUS", "WBBD", "INIT", "SOYL", "NWND", "UMBR"),
        core=("WBUS", "WBBD", "INIT"),
        initial={"USD": Decimal(30_000)},
        monthly={"USD": Decimal(500)},
        trade_prob=0.05,
        fee_fixed={"USD": Decimal(0)},
        yearly_deposit={"USD": Decimal(6_500)},
        annual_fee={"USD": Decimal(15)},
    ),
    AccountPlan(
        name="crypto",
        symbols=("DMC-USD", "SYN-USD"),
        core=("DMC-USD", "SYN-USD"),
        initial={"USD": Decimal(8_000)},
        monthly={"USD": Decimal(250)},
        trade_prob=0.12,
        fee_fixed={"USD": Decimal(0)},
        fee_rate=Decimal("0.002"),
        qty_decimals=6,
        withdrawals=((3, 15, "USD", Decimal(2_000)),),
    ),
)

#: yearly interest on cash, by currency and year (the last known year holds afterwards)
INTEREST_RATES: dict[str, dict[int, Decimal]] = {
    "USD": {2021: Decimal("0.001"), 2022: Decimal("0.012"), 2023: Decimal("0.04"),
            2024: Decimal("0.045"), 2025: Decimal("0.038")},
    "EUR": {2021: Decimal(0), 2022: Decimal("0.002"), 2023: Decimal("0.025"),
            2024: Decimal("0.03"), 2025: Decimal("0.02")},
    "GBP": {2021: Decimal("0.001"), 2022: Decimal("0.01"), 2023: Decimal("0.035"),
            2024: Decimal("0.04"), 2025: Decimal("0.035")},
}  # fmt: skip
#: cash of a sub-unit currency is held in its main currency: (currency, units per sub-unit)
CASH_OF = {"GBp": ("GBP", Decimal("0.01"))}
#: quarterly conversions per account: (account, bought, paid, amount bought, fee in paid)
CONVERSIONS = (
    ("taxable", "EUR", "USD", Decimal(1_000), Decimal("2.00")),
    ("depot", "GBP", "EUR", Decimal(500), Decimal("1.50")),
)
DIVIDEND_MONTHS = (3, 6, 9, 12)
#: quarterly conversions (see CONVERSIONS): at the reference rate + markup
FX_MONTHS = (1, 4, 7, 10)
FX_MARKUP = Decimal("1.005")
DIVIDEND_DAY = 15


def _rate(currency: str, year: int) -> Decimal:
    table = INTEREST_RATES[currency]
    return table.get(year, table[max(table)] if year > max(table) else table[min(table)])


class _Book:
    """Rows plus the running cash and holdings of every account, all exact."""

    def __init__(self, seed: int) -> None:
        self.rows: list[dict[str, Any]] = []
        self.cash: dict[tuple[str, str], Decimal] = {}
        self.held: dict[tuple[str, str], Decimal] = {}
        self.tag = f"{DEMO_NOTE} (seed {seed})"

    def add(
        self, day: date, account: str, kind: str, currency: str, what: str, **values: Any
    ) -> None:
        row = {"date": day, "account": account, "type": kind, "currency": currency}
        row.update(values)
        row["note"] = f"{self.tag}: {what}"
        self.rows.append(row)

    def flow(self, day: date, plan: AccountPlan, kind: str, cur: str, amount: Decimal, what: str,
             symbol: str | None = None) -> None:  # fmt: skip
        """A cash row (deposit, income, cost): never takes cash below zero."""
        main, unit = CASH_OF.get(cur, (cur, Decimal(1)))
        key = (plan.name, main)
        sign = 1 if kind in ("DEPOSIT", "DIVIDEND", "INTEREST") else -1
        amount = amount.quantize(CENT)
        if amount <= 0 or (sign < 0 and amount * unit > self.cash.get(key, Decimal(0))):
            return
        self.cash[key] = self.cash.get(key, Decimal(0)) + sign * amount * unit
        self.add(day, plan.name, kind, cur, what, symbol=symbol, amount=amount)

    def exchange(self, day: date, plan: AccountPlan, bought: str, amount: Decimal, paid: str,
                 rate: Decimal, fee: Decimal) -> None:  # fmt: skip
        """An FX row: ``amount`` of ``bought`` for ``amount * rate + fee`` of ``paid``."""
        cost = amount * rate + fee
        if cost > self.cash.get((plan.name, paid), Decimal(0)):
            return
        self.cash[(plan.name, paid)] -= cost
        self.cash[(plan.name, bought)] = self.cash.get((plan.name, bought), Decimal(0)) + amount
        self.add(day, plan.name, "FX", paid, f"buy {bought} at the broker's rate",
                 symbol=bought, quantity=amount, price=rate, fee=fee)  # fmt: skip

    def trade(self, day: date, plan: AccountPlan, kind: str, symbol: str, qty: Decimal,
              price: Decimal) -> None:  # fmt: skip
        cur = instrument_for(symbol).currency
        main, unit = CASH_OF.get(cur, (cur, Decimal(1)))
        value = qty * price
        fee = (plan.fee_fixed.get(cur, Decimal(0)) + value * plan.fee_rate).quantize(CENT)
        if kind == "BUY":
            if qty <= 0 or (value + fee) * unit > self.cash.get((plan.name, main), Decimal(0)):
                return
            delta = -(value + fee)
            self.held[(plan.name, symbol)] = self.held.get((plan.name, symbol), Decimal(0)) + qty
        else:
            if qty <= 0 or qty > self.held.get((plan.name, symbol), Decimal(0)):
                return
            delta = value - fee
            self.held[(plan.name, symbol)] -= qty
        self.cash[(plan.name, main)] = self.cash.get((plan.name, main), Decimal(0)) + delta * unit
        what = "buy at the close" if kind == "BUY" else "sell at the close"
        self.add(day, plan.name, kind, cur, what, symbol=symbol, quantity=qty, price=price, fee=fee)


def _broker_rates(days: list[date], bought: str, paid: str) -> dict[date, Decimal]:
    """``paid`` per unit of ``bought`` on each day: the ECB reference in force (bundled
    history) + markup."""
    if not days:
        return {}
    from workbench.analytics.fx import lookup
    from workbench.fx.offline import bundled_rates

    found = lookup(pl.DataFrame({"date": days, "currency": [bought] * len(days)}),
                   paid, bundled_rates(currencies=[bought, paid]))  # fmt: skip
    return {
        day: (Decimal(str(rate)) * FX_MARKUP).quantize(Decimal("0.000001"))
        for day, rate in found.select("date", "fx").iter_rows()
    }


def _quantize_qty(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)


def _on_or_after(days: list[date], year: int, month: int, day: int) -> date | None:
    """The first business day in ``days`` on or after the date (None past the window)."""
    target = date(year, month, min(day, 28))
    for d in days:
        if d >= target:
            return d if (d.year, d.month) == (year, month) else None
    return None


def simulate_ledger(
    *, seed: int, dates: list[date], closes: dict[str, list[float]]
) -> pl.DataFrame:
    """Simulate the three demo accounts over ``dates`` (business days) at the given closes.

    Args:
        seed: drives every random choice (same seed, same rows).
        dates: the business days of the window, ascending.
        closes: unadjusted close per symbol, aligned with ``dates``.

    Returns:
        Rows in apply order with the ledger CSV columns (see :data:`LEDGER_SCHEMA`).
    """
    import numpy as np

    from workbench.demo.market import _digest

    rng = np.random.default_rng(_digest("ledger", seed))
    # accounts added later draw from their own generator, so the first ones stay as they were
    rngs = {
        plan.name: rng
        if plan.name in ("taxable", "ira", "crypto")
        else np.random.default_rng(_digest(f"ledger-{plan.name}", seed))
        for plan in PLANS
    }
    book = _Book(seed)
    first_of_month = {d for i, d in enumerate(dates) if i == 0 or d.month != dates[i - 1].month}
    last_of_month = {
        d for i, d in enumerate(dates) if i == len(dates) - 1 or d.month != dates[i + 1].month
    }
    years = sorted({d.year for d in dates})
    dividend_days = {
        d for y in years for m in DIVIDEND_MONTHS
        if (d := _on_or_after(dates, y, m, DIVIDEND_DAY)) is not None
    }  # fmt: skip
    withdrawal_days: dict[date, list[tuple[AccountPlan, str, Decimal]]] = {}
    for plan in PLANS:
        for month, mday, cur, amount in plan.withdrawals:
            for y in years:
                found = _on_or_after(dates, y, month, mday)
                if found is not None and found != dates[0]:
                    withdrawal_days.setdefault(found, []).append((plan, cur, amount))
    splits = {
        (s.date, sym): s
        for sym in {s for p in PLANS for s in p.symbols}
        for s in instrument_for(sym).splits
    }
    price_of = {sym: [Decimal(str(c)) for c in col] for sym, col in closes.items()}
    fx_days = [
        d for i, d in enumerate(dates) if i > 0 and d in first_of_month and d.month in FX_MONTHS
    ]
    broker_rates = {
        (bought, paid): _broker_rates(fx_days, bought, paid)
        for _, bought, paid, _, _ in CONVERSIONS
    }
    plan_of = {plan.name: plan for plan in PLANS}

    for i, day in enumerate(dates):
        # 1. deposits
        for plan in PLANS:
            if i == 0:
                for cur, amount in plan.initial.items():
                    book.flow(day, plan, "DEPOSIT", cur, amount, "opening deposit")
                continue
            if day in first_of_month:
                for cur, amount in plan.monthly.items():
                    book.flow(day, plan, "DEPOSIT", cur, amount, "monthly deposit")
                if day.month == 1 and plan.yearly_deposit:
                    for cur, amount in plan.yearly_deposit.items():
                        book.flow(day, plan, "DEPOSIT", cur, amount, "yearly contribution")
        # 1b. the quarterly currency conversions at the broker's rate
        for account, bought, paid, amount, fee in CONVERSIONS:
            rate = broker_rates[(bought, paid)].get(day)
            if rate is not None:
                book.exchange(day, plan_of[account], bought, amount, paid, rate, fee)
        # 2. splits, effective at the open: every account holding the symbol gets a row
        for plan in PLANS:
            for sym in plan.symbols:
                split = splits.get((day, sym))
                held = book.held.get((plan.name, sym), Decimal(0))
                if split is not None and held > 0:
                    book.held[(plan.name, sym)] = held * split.new / split.old
                    book.add(day, plan.name, "SPLIT", instrument_for(sym).currency,
                             f"{split.ratio} stock split", symbol=sym, ratio=split.ratio)  # fmt: skip
        # 3. dividends (and withholding tax) on the held shares
        if day in dividend_days:
            for plan in PLANS:
                for sym in plan.symbols:
                    inst = instrument_for(sym)
                    held = book.held.get((plan.name, sym), Decimal(0))
                    if inst.dividend_yield <= 0 or held <= 0:
                        continue
                    per_share = (price_of[sym][i] * Decimal(str(inst.dividend_yield)) / 4).quantize(
                        Decimal("0.0001")
                    )
                    gross = (held * per_share).quantize(CENT)
                    book.flow(day, plan, "DIVIDEND", inst.currency, gross,
                              "quarterly dividend", symbol=sym)  # fmt: skip
                    rate = (plan.withholding or {}).get(inst.currency)
                    if rate and gross > 0:
                        book.flow(day, plan, "TAX", inst.currency, gross * rate,
                                  f"withholding tax {rate:.0%} on dividend", symbol=sym)  # fmt: skip
        # 4. trades at the close
        for plan in PLANS:
            if i == 0:
                for cur in plan.initial:
                    basket = [s for s in plan.core if instrument_for(s).currency == cur]
                    budget = book.cash[(plan.name, cur)] * Decimal("0.9") / len(basket)
                    for sym in basket:
                        qty = _quantize_qty(budget / price_of[sym][i], plan.qty_decimals)
                        book.trade(day, plan, "BUY", sym, qty, price_of[sym][i])
                continue
            rng = rngs[plan.name]
            if rng.random() >= plan.trade_prob:
                continue
            held_syms = [s for s in plan.symbols if book.held.get((plan.name, s), 0) > 0]
            if held_syms and rng.random() < 0.4:
                sym = held_syms[int(rng.integers(len(held_syms)))]
                held = book.held[(plan.name, sym)]
                full = sym not in plan.core and rng.random() < 0.3
                share = Decimal(1) if full else Decimal(str(round(rng.uniform(0.1, 0.5), 2)))
                qty = held if full else _quantize_qty(held * share, plan.qty_decimals)
                book.trade(day, plan, "SELL", sym, qty, price_of[sym][i])
            else:
                sym = plan.symbols[int(rng.integers(len(plan.symbols)))]
                main, unit = CASH_OF.get(cur := instrument_for(sym).currency, (cur, Decimal(1)))
                spend = (
                    book.cash.get((plan.name, main), Decimal(0))
                    / unit
                    * Decimal(str(round(rng.uniform(0.05, 0.3), 2)))
                )
                qty = _quantize_qty(spend / price_of[sym][i], plan.qty_decimals)
                book.trade(day, plan, "BUY", sym, qty, price_of[sym][i])
        # 5. interest on positive cash, at each month's end
        if day in last_of_month:
            for (account, cur), cash in sorted(book.cash.items()):
                plan = next(p for p in PLANS if p.name == account)
                book.flow(day, plan, "INTEREST", cur, cash * _rate(cur, day.year) / 12,
                          "interest on cash")  # fmt: skip
        # 6. annual fees on the first business day of each later year
        if i > 0 and day in first_of_month and day.month == 1:
            for plan in PLANS:
                for cur, amount in (plan.annual_fee or {}).items():
                    book.flow(day, plan, "FEE", cur, amount, "annual account fee")
        # 7. withdrawals: at most half the cash, so the account keeps running
        for plan, cur, amount in withdrawal_days.get(day, []):
            available = book.cash.get((plan.name, cur), Decimal(0))
            take = min(amount, (available / 2 // 100) * 100)  # whole hundreds
            book.flow(day, plan, "WITHDRAWAL", cur, take, "withdrawal")
    return ledger_frame(book.rows)


#: the ledger CSV columns and the types the demo produces
LEDGER_SCHEMA = pl.Schema({
    "date": pl.Date(), "account": pl.String(), "type": pl.String(), "symbol": pl.String(),
    "quantity": pl.Float64(), "price": pl.Float64(), "fee": pl.Float64(), "amount": pl.Float64(),
    "currency": pl.String(), "ratio": pl.String(), "note": pl.String(),
})  # fmt: skip


def ledger_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows as a frame with :data:`LEDGER_SCHEMA`; exact decimals become the nearest floats.

    Every value has at most 6 decimals and 12 significant digits, so a float prints back as
    the same decimal and the importer stores exactly what was simulated.
    """
    numeric = ("quantity", "price", "fee", "amount")
    columns: dict[str, list[Any]] = {name: [] for name in LEDGER_SCHEMA}
    for row in rows:
        for name in LEDGER_SCHEMA:
            value = row.get(name)
            if name in numeric:
                value = float(value) if value is not None else (0.0 if name == "fee" else None)
                if value is not None and not math.isfinite(value):
                    raise ValueError(f"non-finite {name} in demo row {row}")
            columns[name].append(value)
    return pl.DataFrame(columns, schema=LEDGER_SCHEMA)
