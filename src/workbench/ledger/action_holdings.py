"""The holdings check across corporate actions: the units each action adds or takes away.

The holdings check (:mod:`workbench.ledger.holdings`) is a running sum of signed quantities
per (account, symbol). A corporate action moves a quantity that depends on what is held at
that moment (a SYMBOL_CHANGE takes all of the old symbol and gives new/old as many of the
new), so the positions actions touch are replayed here, row by row in apply order (actions are
rare; the loop covers only their positions), and each action becomes signed rows of the
running sum: minus the holding of the old symbol, plus the shares received of the new. A
sale of the old symbol after its change then finds nothing held: an oversell.

It also refuses actions the holdings cannot carry out: a spin-off, merger or return of capital
of a symbol the account does not hold, and merger cash with no way to allocate the cost basis.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from workbench.errors import CorporateActionError
from workbench.ledger.validate import CORPORATE

#: below this many shares a holding is nothing (the holdings check's tolerance)
_NOTHING = 1e-6


class ActionProblems(CorporateActionError):
    """Actions the holdings cannot carry out: ``problems`` holds (src, order, field, message),
    ``order`` being the line (new rows, src 1) or the stored id (src 0)."""

    def __init__(self, problems: list[tuple[int, int, str, str]]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(f"row {order}: {field}: {text}" for _, order, field, text in problems)
        )


def any_actions(rows: pl.DataFrame) -> bool:
    """Whether validated rows hold a corporate action, cheaply: SYMBOL_CHANGE, SPINOFF and
    MERGER rows have a target (a null count is metadata) and RETURN_OF_CAPITAL and
    STOCK_DIVIDEND are the only type names longer than 10 bytes."""
    if rows.is_empty():
        return False
    if "target" in rows.columns and rows["target"].null_count() < rows.height:
        return True
    return bool(rows.select((pl.col("type").str.len_bytes() > 10).any()).item())


def action_rows(frame: pl.DataFrame, *, src: int, order: str) -> pl.DataFrame:
    """The corporate-action rows of ``frame`` with the columns the replay reads."""
    if "type" not in frame.columns:
        return pl.DataFrame()
    rows = frame.filter(pl.col("type").is_in(CORPORATE))
    if rows.is_empty():
        return pl.DataFrame()
    missing = [c for c in ("target", "cost_fraction", "amount", "price") if c not in rows.columns]
    rows = rows.with_columns(pl.lit(None).alias(c) for c in missing)
    return rows.select(
        pl.col("account").cast(pl.String),
        pl.col("symbol").cast(pl.String),
        pl.col("target").cast(pl.String),
        "type",
        (
            pl.col("date").to_physical().cast(pl.Int64) * (1 << 41)
            + src * (1 << 40)
            + pl.col(order).cast(pl.Int64)
        ).alias("pos"),
        pl.lit(src, dtype=pl.Int8).alias("src"),
        pl.col(order).cast(pl.Int64).alias("order"),
        *(
            pl.col(c).cast(pl.Float64)
            for c in ("quantity", "price", "amount", "cost_fraction", "ratio_new", "ratio_old")
        ),
    )


def _pairs(actions: pl.DataFrame) -> set[tuple[str, str]]:
    pairs = set(actions.select("account", "symbol").iter_rows())
    pairs |= set(
        actions.filter(pl.col("target").is_not_null()).select("account", "target").iter_rows()
    )
    return pairs


def action_moves(trades: pl.DataFrame, events: pl.DataFrame, actions: pl.DataFrame) -> pl.DataFrame:
    """Signed rows (account, symbol, pos, signed, src, order) for the running sums: what each
    action in ``actions`` (:func:`action_rows`) takes from or adds to a holding, in shares on
    its date.

    ``trades`` are the check's lean rows (account, symbol, pos, signed), ``events`` its split
    events (symbol, pos, factor).

    Raises:
        ActionProblems: actions the holdings cannot carry out.
    """
    pairs = _pairs(actions)
    touched = trades.with_columns(pl.col("account", "symbol").cast(pl.String)).filter(
        pl.struct("account", "symbol").is_in(
            pl.DataFrame(sorted(pairs), schema=["account", "symbol"], orient="row")
            .to_struct()
            .implode()
        )
    )
    symbols = sorted({symbol for _, symbol in pairs})
    splits = events.with_columns(pl.col("symbol").cast(pl.String)).filter(
        pl.col("symbol").is_in(symbols)
    )
    # one stream in apply order: 0 trade, 1 split, 2 action (positions never tie across kinds
    # but a split of the same position: splits are events of the symbol, kept in pos order)
    stream: list[tuple[Any, ...]] = []
    stream += [
        (p, 0, a, s, q)
        for a, s, p, q in touched.select("account", "symbol", "pos", "signed").iter_rows()
    ]
    stream += [(p, 1, s, f) for s, p, f in splits.select("symbol", "pos", "factor").iter_rows()]
    stream += [(r["pos"], 2, r) for r in actions.iter_rows(named=True)]
    stream.sort(key=lambda item: (item[0], item[1]))
    held: dict[tuple[str, str], float] = {}
    out: list[tuple[Any, ...]] = []
    problems: list[tuple[int, int, str, str]] = []
    for item in stream:
        if item[1] == 0:
            key = (item[2], item[3])
            held[key] = held.get(key, 0.0) + item[4]
        elif item[1] == 1:
            for key in held:
                if key[1] == item[2]:
                    held[key] *= item[3]
        else:
            _act(item[2], held, out, problems)
    if problems:
        raise ActionProblems(problems)
    return pl.DataFrame(
        out,
        schema={
            "account": pl.String,
            "symbol": pl.String,
            "pos": pl.Int64,
            "signed": pl.Float64,
            "src": pl.Int8,
            "order": pl.Int64,
        },
        orient="row",
    )


def _act(
    r: dict[str, Any],
    held: dict[tuple[str, str], float],
    out: list[tuple[Any, ...]],
    problems: list[tuple[int, int, str, str]],
) -> None:
    kind, key = r["type"], (r["account"], r["symbol"])
    have = held.get(key, 0.0)
    where = (r["pos"], r["src"], r["order"])

    def move(pair: tuple[str, str], units: float) -> None:
        held[pair] = held.get(pair, 0.0) + units
        out.append((*pair, where[0], units, where[1], where[2]))

    def refuse(field: str, text: str) -> None:
        problems.append((r["src"], r["order"], field, text))

    ratio = 1.0
    if r["ratio_new"] is not None and r["ratio_old"]:
        ratio = r["ratio_new"] / r["ratio_old"]
    if kind == "STOCK_DIVIDEND":
        move(key, r["quantity"])
        return
    if have <= _NOTHING:
        if kind == "SYMBOL_CHANGE" or (kind == "MERGER" and not (r["quantity"] or r["amount"])):
            return
        refuse("symbol", f"account {r['account']!r} holds no {r['symbol']} on that date")
        return
    if kind == "RETURN_OF_CAPITAL":
        return
    target = (r["account"], r["target"])
    if kind == "SPINOFF":
        move(target, r["quantity"])
        return
    received = have * ratio if kind == "SYMBOL_CHANGE" or r["quantity"] is None else r["quantity"]
    if kind == "MERGER" and (r["amount"] or 0.0) > 0 and r["cost_fraction"] is None:
        in_lieu = r["quantity"] is not None and have * ratio - received > 1e-9 * max(1.0, have)
        if not in_lieu and r["price"] is None:
            refuse(
                "cost_fraction",
                "cash received but nothing to allocate the cost basis by: give cost_fraction"
                " (the fraction of the old cost the cash takes), or price (value per new share)",
            )
            return
    move(key, -have)
    move(target, received)
