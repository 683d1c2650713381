"""The holdings check on a large ledger (many engine batches) against a row-by-row replay.

The running sums per (account, symbol) are computed by Polars' streaming engine, which cuts a
large frame into batches: their apply order must hold across batches. The reference applies
the rows one at a time in (date, line) order with whole numbers, so it is exact.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import polars as pl
from _ledger_helpers import HOLDINGS_SCHEMA

from workbench.ledger.holdings import oversold_rows

SCHEMA = {**HOLDINGS_SCHEMA, "line": pl.Int64}
DAY0 = dt.date(2020, 1, 1)
ROWS = 300_000


def _ledger(seed: int) -> list[tuple[str, str, dt.date, str, int | None, int | None]]:
    """``ROWS`` buys and sells of 5 accounts x 80 symbols over 1,500 days, out of date order,
    with a 2:1 split of symbols S0-S4 on day 700 recorded in account a0."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, dt.date, str, int | None, int | None]] = []
    for _ in range(ROWS):
        kind = "SELL" if rng.random() < 0.45 else "BUY"
        day = DAY0 + dt.timedelta(days=rng.randrange(1_500))
        rows.append(
            (f"a{rng.randrange(5)}", f"S{rng.randrange(80)}", day, kind, rng.randint(1, 9), None)
        )
    for s in range(5):
        rows.insert(
            rng.randrange(len(rows)),
            ("a0", f"S{s}", DAY0 + dt.timedelta(days=700), "SPLIT", None, 2),
        )
    return rows


def _replay(
    rows: list[tuple[str, str, dt.date, str, int | None, int | None]],
) -> list[tuple[object, ...]]:
    """(account, symbol, line, held before, quantity) of each sell that leaves a holding below
    zero, applying rows in (date, line) order; a split doubles every account's holding."""
    ordered = sorted(((r[2], line, r) for line, r in enumerate(rows, start=2)), key=lambda x: x[:2])
    holding: dict[tuple[str, str], int] = defaultdict(int)
    found = []
    for _day, line, (account, symbol, _d, kind, qty, _ratio) in ordered:
        if kind == "SPLIT":
            for pair in holding:
                if pair[1] == symbol:
                    holding[pair] *= 2
            continue
        assert qty is not None
        before = holding[(account, symbol)]
        holding[(account, symbol)] += qty if kind == "BUY" else -qty
        if kind == "SELL" and holding[(account, symbol)] < 0:
            found.append((account, symbol, line, float(before), float(qty)))
    return sorted(found, key=lambda v: (v[0], v[1], v[2]))


def test_violations_of_a_large_ledger_match_a_row_by_row_replay() -> None:
    """300,000 trades (about half the pairs go short somewhere): every violation, with the
    holding before it, is the replay's, in (account, symbol, apply) order."""
    rows = _ledger(3)
    new = pl.DataFrame(
        [(*r[:5], r[5], 1 if r[5] else None, line) for line, r in enumerate(rows, start=2)],
        schema=SCHEMA,
        orient="row",
    )
    existing = pl.DataFrame(schema={**SCHEMA, "id": pl.Int64}).drop("line")
    got = oversold_rows(existing, new)
    expected = _replay(rows)
    assert len(expected) > 1_000
    actual = got.select("account", "symbol", "line", "held", "quantity").rows()
    assert sorted(actual, key=lambda v: (v[0], v[1], v[2])) == expected
    # the check reports by (account, symbol)
    assert [v[:2] for v in actual] == sorted(v[:2] for v in actual)
