"""Refunds of a tax or a fee, netted against what they refund.

The ledger's TAX and FEE rows carry positive amounts (the type gives the sign), so a
withholding refund or a fee reversal (IBKR writes the reversal as a positive row beside
the charge) cannot be a negative TAX. A rule of type ``TAX_REFUND``/``FEE_REFUND`` marks
such rows; here each one cancels a charge of the same account, currency and symbol in the
same file (the same amount first, else it reduces the largest), so the totals are what the
broker charged net. A refund with no charge in the file to net against is income: it is
booked as INTEREST with a note saying so. ``DIVIDEND_REVERSAL`` (Vanguard's "Reversal of
DIV") cancels a dividend the same way; one with no dividend to cancel is a FEE.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from workbench.ledger.presets.legs import number_text

REFUNDS = {"TAX_REFUND": "TAX", "FEE_REFUND": "FEE", "DIVIDEND_REVERSAL": "DIVIDEND"}


def net_refunds(rows: pl.DataFrame) -> pl.DataFrame:
    """Net each refund row against a charge; see the module docstring."""
    is_refund = pl.col("type").is_in(list(REFUNDS))
    if not rows.select(is_refund.any()).item():
        return rows
    indexed = rows.with_row_index("_i")
    charges = indexed.filter(pl.col("type").is_in(list(REFUNDS.values())))
    amounts: dict[int, Decimal] = {}
    keys: dict[tuple[object, ...], list[int]] = {}
    for i, kind, account, currency, symbol, amount in charges.select(
        "_i", "type", "account", "currency", "symbol", "amount"
    ).iter_rows():
        amounts[i] = Decimal(amount or 0)
        keys.setdefault((kind, account, currency, symbol), []).append(i)
    changed: dict[int, tuple[str, str | None, str | None]] = {}
    for i, kind, account, currency, symbol, amount, note in (
        indexed.filter(is_refund)
        .select("_i", "type", "account", "currency", "symbol", "amount", "note")
        .iter_rows()
    ):
        left = Decimal(amount or 0)
        candidates = keys.get((REFUNDS[kind], account, currency, symbol), [])
        exact = [c for c in candidates if amounts[c] == left]
        for c in exact[:1] + sorted(candidates, key=lambda c: -amounts[c]):
            if left <= 0:
                break
            take = min(left, amounts[c])
            amounts[c] -= take
            left -= take
        if left > 0 and kind == "DIVIDEND_REVERSAL":
            # a dividend taken back that the file never paid: money out, booked as a fee
            changed[i] = (
                "FEE",
                number_text(left),
                "dividend reversal" + (f" | {note}" if note else ""),
            )
        elif left > 0:
            what = "tax" if kind == "TAX_REFUND" else "fee"
            changed[i] = (
                "INTEREST",
                number_text(left),
                f"refund of {what}" + (f" | {note}" if note else ""),
            )
        else:
            changed[i] = ("", None, None)
    updates = pl.DataFrame(
        {
            "_i": list(amounts) + list(changed),
            "_type": [None] * len(amounts) + [t for t, _, _ in changed.values()],
            "_amount": [number_text(a) for a in amounts.values()]
            + [a for _, a, _ in changed.values()],
            "_note": [None] * len(amounts) + [n for _, _, n in changed.values()],
        },
        schema={"_i": pl.UInt32, "_type": pl.String, "_amount": pl.String, "_note": pl.String},
    )
    joined = indexed.join(updates, on="_i", how="left", maintain_order="left")
    refunded = pl.col("_i").is_in(list(changed))
    out = joined.with_columns(
        type=pl.when(refunded).then(pl.col("_type")).otherwise(pl.col("type")),
        amount=pl.coalesce("_amount", "amount"),
        note=pl.when(refunded).then(pl.col("_note")).otherwise(pl.col("note")),
    )
    # charges refunded in full, and refunds used up, leave no row
    gone = (pl.col("type") == "") | (
        pl.col("type").is_in(list(REFUNDS.values()))
        & (pl.col("amount").cast(pl.Decimal(38, 8)) == 0)
    )
    return out.filter(~gone).drop("_i", "_type", "_amount", "_note")
