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
from fractions import Fraction

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


def number_text(value: Decimal | Fraction) -> str:
    """A quantity or price as ledger text: up to 8 decimals, no trailing zeros."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
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
    A swap of two assets (neither a currency) is a SELL and a BUY at one value (see
    :func:`_swaps`).
    Returns the frame and a problem for each exchange that does not come out as one.
    """
    is_leg = pl.col("pair").is_not_null()
    legs = frame.filter(is_leg)
    if legs.is_empty():
        return frame, []
    rest = frame.filter(~is_leg)
    problems: list[InvalidRow] = []
    made: list[dict[str, object]] = []
    swaps: list[tuple[dict[str, object], str, Decimal, Decimal, str, Decimal, Decimal]] = []
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
            found = ", ".join(f"{c} {number_text(a)}" for c, a in net.items())
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
            # a swap of two assets: valued once every trade of the file is known
            swaps.append((base, gave_ccy, gave, fee[gave_ccy], got_ccy, got, fee[got_ccy]))
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
            "fee": number_text(fee[cash]),
            "quantity": number_text(quantity),
            "price": number_text(value / quantity),
        }
        if kind == "FX" and fee[got_ccy]:
            # a fee in the credited currency of a cash-for-cash exchange is its own FEE row
            made.append(
                base | {"sub": 1, "type": "FEE", "symbol": None, "currency": got_ccy,
                        "amount": number_text(fee[got_ccy]), "quantity": None, "price": None, "fee": None}
            )  # fmt: skip
        made.append(row)
        for code, charge in fee.items():
            if code in (got_ccy, gave_ccy) or not charge:
                continue
            if code in CASH:
                extra = {"type": "FEE", "symbol": None, "currency": code, "amount": number_text(charge),
                         "quantity": None, "price": None, "fee": None}  # fmt: skip
            else:
                extra = {"type": "SELL", "symbol": code, "currency": gave_ccy if gave_ccy in CASH else got_ccy,
                         "quantity": number_text(charge), "price": "0", "fee": "0",
                         "note": f"fee paid in {code}"}  # fmt: skip
            made.append(base | {"sub": 2} | extra)
    if swaps:
        made.extend(_swaps(swaps, _quotes(rest, made)))
    if made:
        rows = pl.DataFrame(made, schema=frame.schema)
        rest = pl.concat([rest, rows])
    return rest, problems


def crypto_priced(frame: pl.DataFrame) -> pl.DataFrame:
    """Trades of one crypto asset priced in another (Kraken's XETHXXBT: ETH bought at a price
    in BTC) as the two legs of a swap, so they are valued like one (the second asset is
    never cash): a buy gives quantity x price + fee of the second and gets the quantity.
    For exchanges' exports only (their hook calls it): a stock priced in a currency missing
    from :data:`CASH` must stay a trade."""
    code = pl.col("currency").str.to_uppercase()
    priced = (
        pl.col("type").is_in(["BUY", "SELL"])
        & pl.col("pair").is_null()
        & code.is_not_null()
        & ~code.is_in(list(CASH))
        & (code != pl.col("symbol").str.to_uppercase())
        & (pl.col("price").cast(pl.Float64, strict=False).fill_null(0) > 0)
    )
    if not frame.select(priced.any()).item():
        return frame
    swaps = frame.filter(priced)
    legs: list[dict[str, object]] = []
    for row in swaps.iter_rows(named=True):
        quantity, price = Decimal(row["quantity"]), Decimal(row["price"])
        fee = Decimal(row["fee"] or 0)
        worth = quantity * price
        key = f"priced {row['src']} {row['sub']}"
        asset = str(row["symbol"]).upper()
        quote = str(row["currency"]).upper()
        if row["type"] == "BUY":
            sides = [(asset, quantity, Decimal(0)), (quote, -worth, fee)]
        else:
            sides = [(asset, -quantity, Decimal(0)), (quote, worth, fee)]
        for sub, (currency, amount, charge) in enumerate(sides):
            legs.append(
                row | {"sub": row["sub"] * 2 + sub, "type": "FX", "symbol": None,
                       "currency": currency, "amount": number_text(amount), "fee": number_text(charge),
                       "quantity": None, "price": None, "pair": key}
            )  # fmt: skip
    return pl.concat([frame.filter(~priced), pl.DataFrame(legs, schema=frame.schema)])


#: a price seen in the file: (date, currency, price per unit), per asset
Quotes = dict[str, list[tuple[str, str, Decimal]]]


def _quotes(rest: pl.DataFrame, made: list[dict[str, object]]) -> Quotes:
    """Each asset's prices in a currency, from the file's priced buys and sells."""
    quotes: Quotes = {}
    trades = rest.filter(pl.col("type").is_in(["BUY", "SELL"])).select(
        "date", "symbol", "currency", "price"
    )
    rows = [*trades.iter_rows(), *((m["date"], m["symbol"], m["currency"], m["price"])
            for m in made if m["type"] in ("BUY", "SELL"))]  # fmt: skip
    for date, symbol, currency, price in rows:
        code = str(currency or "").upper()
        if symbol and date and price and code in CASH and Decimal(str(price)) > 0:
            quotes.setdefault(str(symbol).upper(), []).append(
                (str(date), code, Decimal(str(price)))
            )
    return quotes


def _nearest(quotes: Quotes, asset: str, date: str) -> tuple[str, Decimal] | None:
    """The price of ``asset`` on the date nearest ``date`` (the earlier one on a tie)."""
    from datetime import date as day

    seen = quotes.get(asset)
    if not seen:
        return None
    when = day.fromisoformat(date)
    best = min(seen, key=lambda q: (abs((day.fromisoformat(q[0]) - when).days), q[0] > date))
    return best[1], best[2]


def _swaps(
    swaps: list[tuple[dict[str, object], str, Decimal, Decimal, str, Decimal, Decimal]],
    quotes: Quotes,
) -> list[dict[str, object]]:
    """A swap of two assets as a SELL of the one given and a BUY of the one got at one value.

    The export gives no currency value (Kraken's XETH/XXBT legs, a Binance convert), so the
    swap is valued at the price of the asset given on the nearest date the same file trades it
    for a currency, else at that of the asset got: the given asset is disposed of at that
    value and the one got costs it, so the cost basis carries and no cash moves. With no
    such price in the file the quantities move at no price (the cost basis is lost; the note
    says so).
    """
    out: list[dict[str, object]] = []
    for base, gave_ccy, gave, gave_fee, got_ccy, got, got_fee in swaps:
        date = str(base["date"])
        given, received = gave + gave_fee, got - got_fee
        value: tuple[str, Decimal] | None = None
        found = _nearest(quotes, gave_ccy, date)
        if found is not None:
            value = (found[0], gave * found[1])
        else:
            found = _nearest(quotes, got_ccy, date)
            if found is not None:
                value = (found[0], got * found[1])
        if value is None or not value[1] or not received:
            note = f"swap of {number_text(gave)} {gave_ccy} for {number_text(got)} {got_ccy} (no price in the file)"
            for sub, kind, code, quantity in (
                (0, "SELL", gave_ccy, given),
                (1, "BUY", got_ccy, received),
            ):
                out.append(
                    base | {"sub": sub, "type": kind, "symbol": code, "currency": None,
                            "quantity": number_text(quantity), "price": "0", "fee": "0", "note": note}
                )  # fmt: skip
            continue
        currency, worth = value
        # the asset given (a fee in it too) at its value per unit; the fee in it as the fee
        unit = worth / gave
        note = f"swap of {number_text(gave)} {gave_ccy} for {number_text(got)} {got_ccy} valued {number_text(worth)} {currency}"
        out.append(
            base | {"sub": 0, "type": "SELL", "symbol": gave_ccy, "currency": currency,
                    "quantity": number_text(given), "price": number_text(unit),
                    "fee": number_text(gave_fee * unit), "note": note}
        )  # fmt: skip
        out.append(
            base | {"sub": 1, "type": "BUY", "symbol": got_ccy, "currency": currency,
                    "quantity": number_text(received), "price": number_text(worth / received), "fee": "0",
                    "note": note}
        )  # fmt: skip
    return out


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
