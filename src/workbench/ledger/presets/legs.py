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
    """Replace the leg rows of ``frame`` (``pair`` set) by one row per exchange.

    The legs of one key are netted per currency or asset (an order filled in parts, Binance's
    several rows of one second): one must come out positive (bought) and one negative (paid).
    Leg amounts are gross; a leg's fee is charged on top (Kraken's ledger: balance = amount -
    fee).
    A leg with amount 0 and a fee is a fee leg: in the bought or paid asset it is that
    side's fee; in a third currency a FEE row; in a third asset a SELL of it at no price.
    A swap of two assets (neither a currency) moves the quantities at no price.
    Returns the frame and a problem for each exchange that does not come out as one.
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
        net: dict[str, Decimal] = {}
        fee: dict[str, Decimal] = {}
        for amount, charge, currency in zip(
            group["amount"], group["fee"], group["currency"], strict=True
        ):
            code = (currency or "").upper()
            net[code] = net.get(code, Decimal(0)) + Decimal(amount or 0)
            fee[code] = fee.get(code, Decimal(0)) + abs(Decimal(charge or 0))
        bought = [c for c, a in net.items() if a > 0]
        paid = [c for c, a in net.items() if a < 0]
        base: dict[str, object] = {
            "src": min(srcs),
            "sub": 0,
            "date": min(d for d in group["date"] if d is not None),
            "account": group["account"],
            "ratio": None,
            "note": next((n for n in group["note"] if n), None),
            "pair": None,
            "amount": None,
        }
        if len(bought) != 1 or len(paid) != 1:
            found = ", ".join(f"{c} {_text(a)}" for c, a in net.items())
            problems.append(
                InvalidRow(
                    file,
                    min(srcs),
                    "amount",
                    f"an exchange needs one currency credited and one debited under the same key"
                    f" (lines {', '.join(map(str, srcs))}); found {found or 'nothing'}",
                )
            )
            continue
        got_ccy, gave_ccy = bought[0], paid[0]
        got, gave = net[got_ccy], -net[gave_ccy]
        if got_ccy not in CASH and gave_ccy not in CASH:
            # a swap of two assets has no price in any currency here: the quantities move
            # (a SELL and a BUY at no price) and no cash does; the cost basis does not carry
            note = f"swap of {_text(gave)} {gave_ccy} for {_text(got)} {got_ccy} (no price in the file)"
            for sub, kind, code, quantity in (
                (0, "SELL", gave_ccy, gave + fee[gave_ccy]),
                (1, "BUY", got_ccy, got - fee[got_ccy]),
            ):
                made.append(
                    base | {"sub": sub, "type": kind, "symbol": code, "currency": None,
                            "quantity": _text(quantity), "price": "0", "fee": "0", "note": note}
                )  # fmt: skip
            continue
        # the row's type, the symbol traded, the cash currency, the quantity and the cash value
        if got_ccy not in CASH:
            # an asset bought with cash; a fee in the asset reduces what arrived
            kind, symbol, cash = "BUY", got_ccy, gave_ccy
            quantity, value = got - fee[got_ccy], gave
        elif gave_ccy not in CASH:
            # an asset sold for cash; a fee in the asset was sold too, for nothing
            kind, symbol, cash = "SELL", gave_ccy, got_ccy
            quantity, value = gave + fee[gave_ccy], got
        else:
            # cash for cash: buy the credited currency, paid in the debited one
            kind, symbol, cash = "FX", got_ccy, gave_ccy
            quantity, value = got, gave
        row = base | {
            "type": kind,
            "symbol": symbol,
            "currency": cash,
            "fee": _text(fee[cash]),
            "quantity": _text(quantity),
            "price": _text(value / quantity),
        }
        if kind == "FX" and fee[got_ccy]:
            # a fee in the credited currency of a cash-for-cash exchange is its own FEE row
            made.append(
                base | {"sub": 1, "type": "FEE", "symbol": None, "currency": got_ccy,
                        "amount": _text(fee[got_ccy]), "quantity": None, "price": None, "fee": None}
            )  # fmt: skip
        made.append(row)
        for code, charge in fee.items():
            if code in (got_ccy, gave_ccy) or not charge:
                continue
            if code in CASH:
                extra = {"type": "FEE", "symbol": None, "currency": code, "amount": _text(charge),
                         "quantity": None, "price": None, "fee": None}  # fmt: skip
            else:
                extra = {"type": "SELL", "symbol": code, "currency": gave_ccy if gave_ccy in CASH else got_ccy,
                         "quantity": _text(charge), "price": "0", "fee": "0",
                         "note": f"fee paid in {code}"}  # fmt: skip
            made.append(base | {"sub": 2} | extra)
    if made:
        rows = pl.DataFrame(made, schema=frame.schema)
        rest = pl.concat([rest, rows])
    return rest, problems


def transfer_currency(rows: pl.DataFrame) -> pl.DataFrame:
    """Coins moved in or out at no price (transfers, rewards) carry the currency the file
    trades that asset in, not the asset's own code (which would open a cash balance in it).

    The currency matters for the instrument (its first row names its currency); with no trade
    of the asset in the file it is left empty, so the base currency applies.
    """
    is_transfer = (
        pl.col("type").is_in(["BUY", "SELL"])
        & (pl.col("price") == "0")
        & (pl.col("currency").is_null() | (pl.col("currency") == pl.col("symbol")))
    )
    if not rows.select(is_transfer.any()).item():
        return rows
    traded = (
        rows.filter(
            pl.col("type").is_in(["BUY", "SELL"])
            & ~is_transfer
            & (pl.col("currency") != pl.col("symbol"))
        )
        .group_by("symbol")
        .agg(pl.col("currency").mode().first().alias("_traded"))
    )
    return (
        rows.join(traded, on="symbol", how="left", maintain_order="left")
        .with_columns(
            currency=pl.when(is_transfer).then(pl.col("_traded")).otherwise(pl.col("currency"))
        )
        .drop("_traded")
    )
