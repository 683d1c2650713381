"""Corporate actions in broker exports, resolved from their legs into ledger rows.

Brokers write an action as one or two rows: Schwab's "Name Change" is the new ticker +1,000
and the old line under its CUSIP -1,000; IBKR's "SPLIT 1 FOR 25" is GCM +480 and GCM.OLD
-12000; DEGIRO's "PRODUCTWIJZIGING" a buy of the new ISIN and a sell of the old one at 0.
A rule of type ``ACTION`` with ``pair_by`` marks such rows (signed quantities kept, the key
holding the action's text); here the legs of each key become one ledger row:

* one leg in, one out, the same symbol (after ``.OLD`` is dropped): ``SPLIT`` at the ratio
  the text states (``SPLIT 1 FOR 25``), else new:old of the quantities (when the file pays
  cash in lieu within ten days, the simplest ratio that gives the whole new shares: 10 of
  105 is 1:10);
* one leg in, one out, two symbols: ``MERGER`` when the text says merged, else
  ``SYMBOL_CHANGE`` (a name, ticker, ISIN or CUSIP change, a tender), ratio new:old;
* one leg in: ``SPINOFF`` when the text names a parent (IBKR: ``ABC(US...) Spinoff ...`` for
  the child; no cost moves, as IBKR states no allocation), a ``SPLIT`` when the text is one
  and states the ratio or the file's own rows give the holding it applies to (Schwab's
  "Stock Split" +9), else ``STOCK_DIVIDEND`` at no cost (Schwab's "Spin-off" names only the
  child, "Stock Div Dist");
* one leg out with proceeds: a cash takeover, a ``SELL`` at the price paid;
* anything else is an error naming its lines.

An old leg Schwab files under a CUSIP is named by the ticker of the file's rows whose
description matches its own (before Schwab's ``XXX``), when there is one.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import polars as pl

from workbench.errors import InvalidRow
from workbench.ledger.presets.legs import number_text

#: words that say a leg goes out (DEGIRO writes its product changes as a sale and a buy)
SELL_WORDS = re.compile(r"(?i)\b(Verkoop|Verkauf|Sell|Venda|Vente|Venta|Vendita)\b")
RATIO = re.compile(r"(?i)\b(\d+(?:\.\d+)?)\s+FOR\s+(\d+(?:\.\d+)?)\b")
CUSIP = re.compile(r"^[0-9]{3}[0-9A-Z]{5}[0-9]$")
SPLIT_WORDS = re.compile(r"(?i)\b(split)\b")
MERGER_WORDS = re.compile(r"(?i)\b(merged?|merger|acquisition)\b")
SPINOFF_WORDS = re.compile(r"(?i)\b(spin-?off)\b")
STOCK_DIVIDEND_WORDS = re.compile(r"(?i)\b(stock div|stock dividend|scrip|bonus)")
#: the symbol an IBKR description starts with: "GCM(CA38501D2041) SPLIT 1 FOR 25 (...)"
LEAD_SYMBOL = re.compile(r"(?:^|\s)([A-Za-z0-9.]+)\(")


def _ratio(new: Fraction, old: Fraction) -> str:
    """``new:old`` in whole numbers (``0.5:1`` is ``1:2``)."""
    factor = (new / old).limit_denominator(1_000_000)
    return f"{factor.numerator}:{factor.denominator}"


def _whole_ratio(new_q: Fraction, old_q: Fraction) -> Fraction:
    """New per old share from the quantities, where whole new shares were given and the rest
    paid in cash: the simplest n:d (up to 50:50) that gives ``new_q`` whole shares of
    ``old_q`` (51 old at 1:2 is 25 new and cash for half a share), else their exact ratio."""
    exact = new_q / old_q
    if new_q.denominator != 1 or exact == 0:
        return exact
    for total in range(2, 101):
        for n in range(1, total):
            factor = Fraction(n, total - n)
            if factor.numerator == n and int(old_q * factor) == new_q:
                return factor
    return exact


def _stated(text: str) -> Fraction | None:
    """The new-per-old factor a text states ("SPLIT 4 FOR 1", "1 for 25"), if any."""
    found = RATIO.search(text)
    if not found:
        return None
    new, old = Fraction(found.group(1)), Fraction(found.group(2))
    return new / old if new and old else None


def _base_symbol(symbol: str) -> str:
    return re.sub(r"(?i)\.OLD$", "", symbol.strip().upper())


def resolve_actions(rows: pl.DataFrame, *, file: str) -> tuple[pl.DataFrame, list[InvalidRow]]:
    """Replace ``ACTION`` legs by ledger rows (see the module docstring)."""
    is_leg = pl.col("type") == "ACTION"
    if not rows.select(is_leg.any()).item():
        return rows, []
    indexed = rows.with_row_index("_i")
    names = _names(indexed.filter(~is_leg))
    problems: list[InvalidRow] = []
    made: dict[int, list[dict[str, object]]] = {}
    legs = indexed.filter(is_leg)
    for group in (
        legs.group_by("account", "pair", maintain_order=True).agg(pl.all()).iter_rows(named=True)
    ):
        items = list(
            zip(group["_i"], group["src"], group["symbol"], group["quantity"], group["amount"],
                group["price"], group["note"], group["date"], group["currency"], strict=True)
        )  # fmt: skip
        key_text = (group["pair"] or "").replace("\x1f", " ")
        described = " ".join(str(n or "") for n in group["note"])
        text = f"{key_text} {described}"
        ins, outs, cash = [], [], Decimal(0)
        for i, _src, symbol, quantity, amount, _price, note, _date, _ccy in items:
            q = Fraction(Decimal(quantity)) if quantity not in (None, "") else Fraction(0)
            if q > 0 and SELL_WORDS.search(str(note or "")):
                q = -q
            cash += abs(Decimal(amount)) if amount not in (None, "") else Decimal(0)
            leg = (i, _resolve_symbol(str(symbol or ""), str(note or ""), names), q)
            if q > 0:
                ins.append(leg)
            elif q < 0:
                outs.append(leg)
        first = min(group["_i"])
        base = {
            "src": min(group["src"]), "sub": 0, "date": min(group["date"]),
            "account": group["account"], "currency": group["currency"][0], "fee": None,
            "price": None, "amount": None, "ratio": None, "target": None,
            "cost_fraction": None, "pair": None, "isin": None, "name": None,
            "note": next((str(n) for n in group["note"] if n), None), "quantity": None,
            "symbol": None,
        }  # fmt: skip
        out = _one(base, ins, outs, cash, text, _stated(described), indexed, first)
        if out is None:
            seen = ", ".join(f"{s} {number_text(q)}" for _, s, q in [*ins, *outs]) or "nothing"
            problems.append(
                InvalidRow(
                    file,
                    min(group["src"]),
                    "quantity",
                    f"a corporate action this preset cannot read ({key_text.strip()!r}):"
                    f" {seen}; book it by hand (README: Corporate actions) or pass"
                    " --skip-unknown",
                )
            )
            continue
        made[first] = out
    kept = indexed.filter(~is_leg)
    parts = [kept]
    if made:
        new_rows = [row | {"_i": i} for i, rows_ in made.items() for row in rows_]
        parts.append(pl.DataFrame(new_rows, schema=indexed.schema))
    result = pl.concat(parts).sort("_i", maintain_order=True).drop("_i")
    return cash_in_lieu(result), problems


#: the note of a fractional share removed after a reverse split (priced by its cash in lieu)
FRACTION_NOTE = "fraction of a share not given in the split"


def cash_in_lieu(rows: pl.DataFrame) -> pl.DataFrame:
    """The fraction of a new share a split or merger did not give is sold for the cash in
    lieu the file pays for it within ten days (Schwab's "Cash In Lieu", mapped as a
    RETURN_OF_CAPITAL of the new symbol), which is then folded in: a split's fraction (a
    SELL at 0 with :data:`FRACTION_NOTE`) is sold at that cash, a merger takes it as its
    cash part, priced per new share by it. Unmatched, the split's fraction is sold for
    nothing and the merger gives its whole shares only."""
    rows = rows.with_row_index("_k")
    marked = rows.filter(pl.col("note") == FRACTION_NOTE)
    if marked.is_empty():
        return rows.drop("_k")
    from datetime import date as day

    drop: set[int] = set()
    changes: dict[int, dict[str, str | None]] = {}
    lieu = rows.filter(pl.col("type") == "RETURN_OF_CAPITAL").select(
        "_k", "date", "account", "symbol", "amount"
    )
    for k, kind, when, account, symbol, target, quantity, price in marked.select(
        "_k", "type", "date", "account", "symbol", "target", "quantity", "price"
    ).iter_rows():
        gets = target if kind == "MERGER" else symbol
        left = Decimal(price if kind == "MERGER" else quantity)
        found = None
        for k2, when2, account2, symbol2, amount in lieu.iter_rows():
            gap = (day.fromisoformat(when2) - day.fromisoformat(when)).days
            if k2 not in drop and account2 == account and symbol2 == gets and 0 <= gap <= 10:
                drop.add(k2)
                found = Decimal(amount)
                break
        note = "cash in lieu of a fraction of a share" if found is not None else FRACTION_NOTE
        if kind == "MERGER":
            changes[k] = {"amount": number_text(found) if found is not None else None,
                          "price": number_text(found / left) if found is not None else None,
                          "note": note}  # fmt: skip
        else:
            changes[k] = {
                "price": number_text(found / left) if found is not None else "0",
                "note": note,
            }
    updated = []
    for row in rows.iter_rows(named=True):
        if row["_k"] in drop:
            continue
        updated.append(row | changes.get(row["_k"], {}))
    return pl.DataFrame(updated, schema=rows.schema).drop("_k")


def _names(rows: pl.DataFrame) -> dict[str, str]:
    """Description -> ticker, from the rows that have both (Schwab's old lines carry only
    a CUSIP and the description)."""
    out: dict[str, str] = {}
    for symbol, note in rows.select("symbol", "note").iter_rows():
        if symbol and note and not CUSIP.match(str(symbol)):
            out.setdefault(str(note).strip().upper(), str(symbol).strip().upper())
    return out


def _resolve_symbol(symbol: str, note: str, names: dict[str, str]) -> str:
    symbol = symbol.strip().upper()
    if CUSIP.match(symbol):
        name = re.split(r"\s*XXX", note, maxsplit=1)[0].strip().upper()
        return names.get(name, symbol)
    return symbol


def _has_lieu(rows: pl.DataFrame, account: object, symbol: str, when: str) -> bool:
    """Whether the file pays cash in lieu (a RETURN_OF_CAPITAL) of ``symbol`` in the ten
    days from ``when``: then a fraction of a share was not given."""
    from datetime import date as day

    start = day.fromisoformat(when)
    for account2, symbol2, date2 in (
        rows.filter(pl.col("type") == "RETURN_OF_CAPITAL")
        .select("account", "symbol", "date")
        .iter_rows()
    ):
        gap = (day.fromisoformat(str(date2)) - start).days
        if account2 == account and str(symbol2 or "").upper() == symbol and 0 <= gap <= 10:
            return True
    return False


def _held(rows: pl.DataFrame, account: object, symbol: str, before: int) -> Fraction:
    """What the file's own rows hold of ``symbol`` in ``account`` before row ``before``."""
    sub = rows.filter(
        (pl.col("_i") < before)
        & (pl.col("account").eq_missing(pl.lit(account, pl.String)))
        & (pl.col("symbol").str.to_uppercase() == symbol)
        & pl.col("type").is_in(["BUY", "SELL", "STOCK_DIVIDEND"])
    )
    held = Fraction(0)
    for kind, quantity in sub.select("type", "quantity").iter_rows():
        q = Fraction(Decimal(quantity or 0))
        held += -q if kind == "SELL" else q
    return held


def _one(
    base: dict[str, object],
    ins: list[tuple[int, str, Fraction]],
    outs: list[tuple[int, str, Fraction]],
    cash: Decimal,
    text: str,
    stated: Fraction | None,
    rows: pl.DataFrame,
    first: int,
) -> list[dict[str, object]] | None:
    if len(ins) == 1 and len(outs) == 1:
        (_, new_sym, new_q), (_, old_sym, old_q) = ins[0], outs[0]
        if stated is not None:
            factor = stated
        elif _has_lieu(rows, base["account"], new_sym, str(base["date"])):
            factor = _whole_ratio(new_q, -old_q)
        else:
            factor = new_q / -old_q
        # a fraction of a new share not given (paid in cash, or lost)
        left = -old_q * factor - new_q
        if _base_symbol(new_sym) == _base_symbol(old_sym):
            if factor == 1:
                return []
            split = base | {"type": "SPLIT", "symbol": _base_symbol(new_sym),
                            "ratio": _ratio(factor, Fraction(1))}  # fmt: skip
            if 0 < left < 1:
                return [split, base | {"sub": 1, "type": "SELL", "symbol": _base_symbol(new_sym),
                                       "quantity": number_text(left), "price": "0", "fee": "0",
                                       "note": FRACTION_NOTE}]  # fmt: skip
            return [split]
        ratio = _ratio(factor, Fraction(1))
        if MERGER_WORDS.search(text):
            merger = base | {"type": "MERGER", "symbol": old_sym, "target": new_sym,
                             "ratio": ratio}  # fmt: skip
            if 0 < left < 1:
                # whole new shares only; the fraction's cash in lieu joins the merger (or the
                # fraction is lost): the fraction waits in price until then
                merger |= {
                    "quantity": number_text(new_q),
                    "price": number_text(left),
                    "note": FRACTION_NOTE,
                }
            return [merger]
        return [base | {"type": "SYMBOL_CHANGE", "symbol": old_sym, "target": new_sym,
                        "ratio": None if ratio == "1:1" else ratio}]  # fmt: skip
    if len(ins) == 1 and not outs:
        _, symbol, quantity = ins[0]
        lead = LEAD_SYMBOL.search(text)
        parent = lead.group(1).upper() if lead else None
        if SPINOFF_WORDS.search(text) and parent and parent != symbol:
            return [base | {"type": "SPINOFF", "symbol": parent, "target": symbol,
                            "quantity": number_text(quantity), "cost_fraction": "0"}]  # fmt: skip
        if SPLIT_WORDS.search(text) and not STOCK_DIVIDEND_WORDS.search(text):
            by_holding: Fraction | None = stated
            if by_holding is None:
                # the ratio the file's own holding gives (Schwab states none)
                held = _held(rows, base["account"], symbol, first)
                if held > 0:
                    exact = ((held + quantity) / held).limit_denominator(1000)
                    if abs(held * exact - held - quantity) < Fraction(1, 10**6):
                        by_holding = exact
            if by_holding is not None and by_holding != 1:
                return [base | {"type": "SPLIT", "symbol": symbol,
                                "ratio": _ratio(by_holding, Fraction(1))}]  # fmt: skip
        return [base | {"type": "STOCK_DIVIDEND", "symbol": symbol, "quantity": number_text(quantity),
                        "price": "0"}]  # fmt: skip
    if len(outs) == 1 and not ins:
        _, symbol, quantity = outs[0]
        if cash > 0:
            # a takeover for cash: the shares sold at the price paid
            sold = Decimal(-quantity.numerator) / Decimal(quantity.denominator)
            return [base | {"type": "SELL", "symbol": symbol, "quantity": number_text(sold),
                            "price": number_text(cash / sold), "fee": "0"}]  # fmt: skip
        if SPLIT_WORDS.search(text) and stated is not None and stated != 1:
            return [base | {"type": "SPLIT", "symbol": _base_symbol(symbol),
                            "ratio": _ratio(stated, Fraction(1))}]  # fmt: skip
    return None
