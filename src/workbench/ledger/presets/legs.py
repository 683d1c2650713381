"""Exchanges written as two rows (one per currency or asset) become one ledger row.

DEGIRO books an automatic currency conversion as a credit in one currency and a debit in
another; Kraken's ledger books a trade as a EUR row and a BTC row with the same reference.
A rule with ``type = "FX"`` and ``pair_by`` keeps each leg's signed amount and its currency;
legs with the same key pair up here: the positive leg is what was bought, the negative one
what was paid. Between two currencies that is an FX row; when one side is a crypto asset it
is a BUY or SELL of that asset priced in the other side's currency.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from workbench.errors import InvalidRow

#: currencies (and stablecoins held as cash): a leg in anything else is an asset
CASH = frozenset(
    [
        "USD",
        "EUR",
        "GBP",
        "CHF",
        "JPY",
        "CAD",
        "AUD",
        "NZD",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "HKD",
        "SGD",
        "CNY",
        "CNH",
        "INR",
        "KRW",
        "ZAR",
        "ILS",
        "MXN",
        "BRL",
        "TRY",
        "RUB",
        "THB",
        "TWD",
        "IDR",
        "MYR",
        "PHP",
        "AED",
        "SAR",
        "RON",
        "BGN",
        "ISK",
        "USDC",
        "USDT",
        "DAI",
        "BUSD",
        "EURC",
    ]
)


def _text(value: Decimal) -> str:
    text = format(value.quantize(Decimal("0.00000001")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def pair_legs(frame: pl.DataFrame, *, file: str) -> tuple[pl.DataFrame, list[InvalidRow]]:
    """Replace the leg rows of ``frame`` (``pair`` set) by one row per pair.

    Returns the frame and a problem for each leg left without its other side.
    """
    is_leg = pl.col("pair").is_not_null()
    legs = frame.filter(is_leg)
    if legs.is_empty():
        return frame, []
    rest = frame.filter(~is_leg)
    problems: list[InvalidRow] = []
    made: list[dict[str, object]] = []
    grouped = legs.group_by("account", "pair", maintain_order=True).agg(pl.all())
    for group in grouped.iter_rows(named=True):
        srcs: list[int] = group["src"]
        amounts = [Decimal(a) if a is not None else Decimal(0) for a in group["amount"]]
        fees = [Decimal(f) if f is not None else Decimal(0) for f in group["fee"]]
        currencies: list[str] = [(c or "").upper() for c in group["currency"]]
        bought = [i for i, a in enumerate(amounts) if a > 0]
        paid = [i for i, a in enumerate(amounts) if a < 0]
        if len(bought) != 1 or len(paid) != 1 or len(amounts) != 2:
            for src in srcs:
                problems.append(
                    InvalidRow(
                        file,
                        src,
                        "amount",
                        f"an exchange needs one credit and one debit with the same key;"
                        f" found {len(amounts)} rows ({', '.join(map(str, srcs))})",
                    )
                )
            continue
        b, p = bought[0], paid[0]
        got, gave = amounts[b], -amounts[p]
        got_ccy, gave_ccy = currencies[b], currencies[p]
        row: dict[str, object] = {
            "src": min(srcs),
            "sub": 0,
            "date": min(d for d in group["date"] if d is not None),
            "account": group["account"],
            "ratio": None,
            "note": next((n for n in group["note"] if n), None),
            "pair": None,
            "amount": None,
        }
        if got_ccy in CASH or gave_ccy not in CASH:
            if got_ccy not in CASH and gave_ccy not in CASH:
                problems.append(
                    InvalidRow(
                        file,
                        min(srcs),
                        "currency",
                        f"a swap of {gave_ccy} for {got_ccy} has no price in a currency;"
                        " book it by hand or skip it",
                    )
                )
                continue
        if got_ccy not in CASH:
            # an asset bought with cash; a fee in the asset reduces what arrived
            quantity = got - (fees[b] if fees[b] > 0 else Decimal(0))
            row |= {"type": "BUY", "symbol": got_ccy, "currency": gave_ccy}
            row |= {"quantity": _text(quantity), "price": _text(gave / quantity)}
            row["fee"] = _text(fees[p])
        elif gave_ccy not in CASH:
            quantity = gave + fees[p]
            row |= {"type": "SELL", "symbol": gave_ccy, "currency": got_ccy}
            row |= {"quantity": _text(quantity), "price": _text((got + fees[b]) / quantity)}
            row["fee"] = _text(fees[b])
        else:
            # cash for cash: buy the credited currency, paid in the debited one
            row |= {"type": "FX", "symbol": got_ccy, "currency": gave_ccy}
            row |= {"quantity": _text(got), "price": _text(gave / got)}
            row["fee"] = _text(fees[p] + fees[b] * (gave / got))
        made.append(row)
    if made:
        rows = pl.DataFrame(made, schema=frame.schema)
        rest = pl.concat([rest, rows])
    return rest, problems
