"""The per-account kernel both engines run: one account's rows in, its report rows out.

The numbers come from :func:`workbench.analytics.report.build_report`, the function behind
``workbench report``, called with ``account=A`` on the account's rows plus the data every
account shares: prices, and the SPLIT rows of *all* accounts (a split is an event of its
symbol: ``report`` applies a split recorded in any account to every holder, DESIGN section 2).
Values are taken from ``Report.to_dict()``, the JSON contract, so a batch row holds exactly
what ``workbench report --account A --json`` prints.

One frame carries the three output tables (a ``table`` column tells them apart), so a Spark
``applyInArrow`` function can return them in one pass; :func:`split_tables` separates them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.analytics._frames import ACTIONS, ledger_symbols
from workbench.analytics.report import (
    PERFORMANCE_FIELDS,
    POSITION_FIELDS,
    RISK_FIELDS,
    TOTAL_FIELDS,
    Report,
    build_report,
)
from workbench.errors import BatchError, CorporateActionError, WorkbenchError
from workbench.store.tables import TRANSACTION_COLUMNS

#: output table -> its columns, in order (``cash_by_currency`` is the report's JSON object as text)
TABLES: dict[str, list[str]] = {
    "totals": ["account", *TOTAL_FIELDS, "cash_by_currency"],
    "positions": list(POSITION_FIELDS),
    "performance": ["account", *PERFORMANCE_FIELDS, *RISK_FIELDS],
}
#: the text columns of the combined frame; every other column is a Float64 number
TEXT: list[str] = ["table", "account", "symbol", "currency", "cash_by_currency"]
#: every number any table has, once (market_value is in totals and positions)
NUMBERS: list[str] = list(
    dict.fromkeys(c for cols in TABLES.values() for c in cols if c not in TEXT)
)
COMBINED_SCHEMA: dict[str, Any] = dict.fromkeys(TEXT, pl.String) | dict.fromkeys(
    NUMBERS, pl.Float64
)
_MONEY = ("quantity", "price", "fee", "amount", "ratio_new", "ratio_old", "cost_fraction")
_TEXT = ("account", "type", "symbol", "currency", "note", "target")


def normalize_transactions(frame: pl.DataFrame) -> pl.DataFrame:
    """The lake's transaction columns with the types the analytics read (money as Float64).

    A lake may hold decimals (as exported) or floats (another tool); both become the same
    Float64 the report computes in, so the concatenation of an account's rows and the shared
    split rows never meets two number types.
    """
    # optional columns: a lake written before corporate actions (or by another tool) may
    # lack them; they are null there
    optional = {"note": pl.String, "target": pl.String, "cost_fraction": pl.Float64}
    frame = frame.with_columns(
        pl.lit(None, dtype=kind).alias(name)
        for name, kind in optional.items()
        if name not in frame.columns
    )
    out = frame.select(TRANSACTION_COLUMNS).with_columns(
        pl.col("id").cast(pl.Int64),
        pl.col("date").cast(pl.Date),
        *(pl.col(c).cast(pl.Float64) for c in _MONEY),
        *(pl.col(c).cast(pl.String) for c in _TEXT),
    )
    return out.with_columns(pl.col("type").str.to_uppercase())


@dataclass(frozen=True)
class Params:
    """What every account is computed with."""

    as_of: dt.date
    cost_method: str = "fifo"
    base_currency: str = "USD"


@dataclass
class Shared:
    """Data every account needs: closes up to the as-of date, every account's SPLIT rows and
    the FX rates to the reporting currency (None when the whole lake is in it)."""

    prices: pl.DataFrame
    splits: pl.DataFrame
    rates: pl.DataFrame | None = None
    _by_symbol: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # one split per symbol, once: an account then takes its few symbols without a scan
        self._by_symbol = {
            str(key[0]): part
            for key, part in self.prices.partition_by("symbol", as_dict=True).items()
        }

    def prices_for(self, symbols: list[str]) -> pl.DataFrame:
        """The closes of ``symbols`` (an empty frame with the schema when none has any)."""
        parts = [self._by_symbol[s] for s in symbols if s in self._by_symbol]
        return pl.concat(parts) if parts else self.prices.head(0)

    def to_bytes(self) -> bytes:
        """Both frames as one Arrow IPC payload (for a Spark broadcast or closure)."""
        buffer = io.BytesIO()
        rates = None if self.rates is None else self.rates.write_ipc(None).getvalue()
        pl.DataFrame(
            {"prices": [self.prices.write_ipc(None).getvalue()],
             "splits": [self.splits.write_ipc(None).getvalue()],
             "rates": [rates]},
            schema={"prices": pl.Binary, "splits": pl.Binary, "rates": pl.Binary},
        ).write_ipc(buffer)  # fmt: skip
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> Shared:
        """The inverse of :meth:`to_bytes`."""
        row = pl.read_ipc(io.BytesIO(payload)).row(0, named=True)
        rates = None if row["rates"] is None else pl.read_ipc(io.BytesIO(row["rates"]))
        return cls(
            prices=pl.read_ipc(io.BytesIO(row["prices"])),
            splits=pl.read_ipc(io.BytesIO(row["splits"])),
            rates=rates,
        )


def shared_from_frames(
    prices: pl.DataFrame,
    transactions: pl.DataFrame,
    as_of: dt.date,
    rates: pl.DataFrame | None = None,
) -> Shared:
    """Shared data from a prices frame, (at least) the SPLIT rows of every account, and rates."""
    closes = (
        prices.select("symbol", "date", pl.col("close").cast(pl.Float64))
        .filter(pl.col("date") <= as_of)
        .sort("symbol", "date")
    )
    splits = normalize_transactions(transactions).filter(
        (pl.col("type") == "SPLIT") & (pl.col("date") <= as_of)
    )
    return Shared(prices=closes, splits=splits, rates=rates)


def _check_rows(account: str, frame: pl.DataFrame) -> None:
    """Unknown transaction types and sells of more than is held are errors naming the account."""
    from workbench.ledger.holdings import oversold_rows
    from workbench.ledger.validate import TYPES

    unknown = frame.filter(~pl.col("type").is_in(TYPES))["type"].unique().sort().to_list()
    if unknown:
        raise BatchError(
            f"account {account!r}: unknown transaction type {', '.join(map(str, unknown))}"
            f" (expected one of {', '.join(TYPES)})"
        )
    kinds = ["BUY", "SELL", "SPLIT", *ACTIONS]
    rows = frame.filter(pl.col("type").is_in(kinds))
    if rows.filter(pl.col("type").is_in(["SELL", *ACTIONS])).is_empty():
        return
    try:
        oversold = oversold_rows(rows.head(0), rows.with_columns(line=pl.col("id")))
    except CorporateActionError as exc:
        raise BatchError(f"account {account!r}: {exc}") from exc
    if not oversold.is_empty():
        first = oversold.row(0, named=True)
        raise BatchError(
            f"account {account!r}: sells more {first['symbol']} than it holds on"
            f" {first['date']} (transaction id {first['line']}: held {first['held']:g},"
            f" sold {first['quantity']:g})"
        )


def account_report(
    account: str, transactions: pl.DataFrame, shared: Shared, params: Params
) -> Report:
    """One account's report, as ``workbench report --account`` computes it.

    ``transactions`` are the account's rows, already passed through
    :func:`normalize_transactions`; rows after ``params.as_of`` are ignored, like ``report``.

    Raises:
        BatchError: the account sells more than it holds, or has an unknown row type.
    """
    own = transactions.filter(pl.col("date") <= params.as_of)
    symbols = ledger_symbols(own)  # corporate actions' targets too
    others = shared.splits.filter((pl.col("account") != account) & pl.col("symbol").is_in(symbols))
    frame = pl.concat([own, others]) if others.height else own
    _check_rows(account, frame)
    try:
        report = build_report(
            frame,
            shared.prices_for(symbols),
            as_of=params.as_of,
            account=account,
            cost_method=params.cost_method,
            base_currency=params.base_currency,
            rates=shared.rates,
        )
    except WorkbenchError as exc:
        raise BatchError(f"account {account!r}: {exc}") from exc
    return report


def account_rows(
    account: str, transactions: pl.DataFrame, shared: Shared, params: Params
) -> list[dict[str, Any]]:
    """The combined rows (totals, positions, performance) of one account's report.

    Raises:
        BatchError: the account sells more than it holds, or has an unknown row type.
    """
    data = account_report(account, transactions, shared, params).to_dict()
    totals = data["totals"] | {
        "cash_by_currency": json.dumps(data["totals"]["cash_by_currency"], sort_keys=True)
    }
    rows: list[dict[str, Any]] = [{"table": "totals", "account": account} | totals]
    rows += [{"table": "positions"} | p for p in data["positions"]]
    risk = {k: data["risk"][k] for k in RISK_FIELDS}
    rows.append({"table": "performance", "account": account} | data["performance"] | risk)
    return rows


def accounts_frame(
    transactions: pl.DataFrame, shared: Shared, params: Params, *, extra: list[str] | None = None
) -> pl.DataFrame:
    """The combined rows of every account in ``transactions`` (any number of accounts).

    ``extra`` names accounts without rows here (they report zeros, as ``report`` does).
    One Python call per account, none per row.
    """
    tx = normalize_transactions(transactions)
    rows: list[dict[str, Any]] = []
    groups = tx.partition_by("account", as_dict=True, maintain_order=False)
    for key, part in sorted(groups.items(), key=lambda kv: str(kv[0][0])):
        rows += account_rows(str(key[0]), part, shared, params)
    for account in extra or []:
        rows += account_rows(account, tx.head(0), shared, params)
    return pl.DataFrame(rows, schema=COMBINED_SCHEMA) if rows else empty_combined()


def empty_combined() -> pl.DataFrame:
    """A combined frame with no rows."""
    return pl.DataFrame(schema=COMBINED_SCHEMA)


def split_tables(combined: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The three output tables from a combined frame, each sorted by its keys."""
    out: dict[str, pl.DataFrame] = {}
    for name, columns in TABLES.items():
        keys = ["account", "symbol"] if name == "positions" else ["account"]
        out[name] = combined.filter(pl.col("table") == name).select(columns).sort(keys)
    return out
