"""Trading at market: fetch a live quote and record a buy or sell at that price.

The quote comes from :func:`~workbench.quotes.engine.fetch_quotes`; the trade goes through the
ledger (:func:`~workbench.ledger.record_trade`), so nothing is stored without both.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from workbench.errors import (
    MalformedResponse,
    ProviderUnavailable,
    QuoteError,
    RateLimited,
    SymbolNotFound,
)
from workbench.quotes.attempts import QuoteTimeout
from workbench.quotes.base import Quote
from workbench.quotes.engine import DEFAULT_TIMEOUT, ProviderSpec, fetch_quotes
from workbench.quotes.limits import DEFAULT_RETRIES

#: the error class for each short reason (to re-raise a failed result)
_ERRORS: dict[str, type[QuoteError]] = {
    cls.reason: cls
    for cls in (SymbolNotFound, RateLimited, ProviderUnavailable, MalformedResponse, QuoteTimeout)
}


@dataclass(frozen=True, slots=True)
class TradeResult:
    """A recorded trade: the new transaction id and the quote it was priced at."""

    transaction_id: int
    quote: Quote
    provider: str


async def trade_at_market(
    db: Any,
    *,
    side: str,
    symbol: str,
    quantity: Decimal | str | int,
    fee: Decimal | str | int = 0,
    account: str = "default",
    provider: ProviderSpec = "demo",
    client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per attempt, not per call)
    retries: int = DEFAULT_RETRIES,
) -> TradeResult:
    """Fetch a live quote for ``symbol`` and record a BUY or SELL at that price.

    Nothing is stored unless the quote was fetched and the ledger accepted the trade.

    Raises:
        TradeError: a bad side or quantity (checked before any request).
        QuoteError: no quote (``SymbolNotFound``, ``RateLimited``, ...).
        OversoldError: a sell of more than the account holds.
    """
    from workbench.errors import TradeError
    from workbench.ledger import record_trade

    if side.strip().lower() not in ("buy", "sell"):
        raise TradeError(f"trade side must be buy or sell, not {side!r}")
    amount = _positive_decimal(quantity, "quantity", allow_zero=False)
    fee_amount = _positive_decimal(fee, "fee", allow_zero=True)
    [result] = await fetch_quotes(
        [symbol], provider=provider, client=client, concurrency=1, timeout=timeout, retries=retries
    )
    if result.quote is None:
        raise _ERRORS.get(result.error or "", QuoteError)(
            f"no quote for {symbol}: {result.message or result.error}"
        )
    from workbench import store

    transaction_id = await store.run_in_thread(
        record_trade,
        db,
        side=side.strip().lower(),
        symbol=symbol,
        quantity=amount,
        price=Decimal(str(result.quote.price)),
        fee=fee_amount,
        account=account,
        currency=result.quote.currency,
    )
    return TradeResult(
        transaction_id=transaction_id, quote=result.quote, provider=result.provider or ""
    )


def _positive_decimal(value: Decimal | str | int, name: str, *, allow_zero: bool) -> Decimal:
    from workbench.errors import TradeError

    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise TradeError(f"{name} must be a number, not {value!r}") from exc
    if not number.is_finite() or number < 0 or (number == 0 and not allow_zero):
        raise TradeError(
            f"{name} must be {'zero or more' if allow_zero else 'positive'}, not {value}"
        )
    return number
