"""Cost-basis lots: hand-computed ledgers for every method, and properties against a reference engine."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from _analytics_helpers import ledger, reference_lots, row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.analytics import COST_METHODS, open_lots, position_pnl, positions

# Ledger X (account "a"), all numbers by hand:
#   1 BUY 10 @ 100 fee 1 -> lot1 1001 (100.1/sh)
#   2 BUY 10 @  80 fee 1 -> lot2  801 ( 80.1/sh)
#   3 BUY 10 @ 120 fee 1 -> lot3 1201 (120.1/sh)
#   4 SELL 15 @ 110 fee 2 -> proceeds 1648
#   5 SPLIT 2:1          -> every open lot: quantity x2, unit cost /2
#   6 BUY 10 @ 50 fee 0  -> lot4  500 (50/sh)
#   7 SELL 20 @ 60 fee 0 -> proceeds 1200
# bought 3503, proceeds 2848; realized = 2848 - (3503 - open basis)
#   FIFO: sell4 takes lot1 10 + lot2 5 = 1401.5 (realized 246.5); after the split lot2 is 10 sh
#         @40.05, lot3 20 @60.05; sell7 takes lot2 10 (400.5) + lot3 10 (600.5) = 1001 (199)
#         -> open lot3 10 sh 600.5 + lot4 10 sh 500 = 1100.5; realized 445.5
#   LIFO: sell4 takes lot3 10 + lot2 5 = 1601.5 (46.5); sell7 takes lot4 10 (500) + lot2 10
#         sh @40.05 (400.5) = 900.5 (299.5) -> open lot1 20 sh 1001; realized 346
#   HIFO: sell4 takes lot3 10 (1201) + lot1 5 (500.5) = 1701.5 (-53.5); after the split lot1
#         10 sh @50.05, lot2 20 @40.05, lot4 10 @50; sell7 takes lot1 10 (500.5) + lot4 10
#         (500) = 1000.5 (199.5) -> open lot2 20 sh 801; realized 146
#   AVERAGE: 3003/30 = 100.1/sh, sell4 costs 1501.5 (146.5); split -> 30 sh @50.05; +lot4
#         -> 40 sh 2001.5; sell7 costs 20/40 of it = 1000.75 (199.25) -> open 20 sh 1000.75;
#         realized 345.75
LEDGER_X = [
    row("2024-01-02", "BUY", "X", 10, 100, fee=1, account="a"),
    row("2024-01-03", "BUY", "X", 10, 80, fee=1, account="a"),
    row("2024-01-04", "BUY", "X", 10, 120, fee=1, account="a"),
    row("2024-01-05", "SELL", "X", 15, 110, fee=2, account="a"),
    row("2024-01-08", "SPLIT", "X", ratio=(2, 1), account="a"),
    row("2024-01-09", "BUY", "X", 10, 50, account="a"),
    row("2024-01-10", "SELL", "X", 20, 60, account="a"),
]
EXPECTED_X = {
    "fifo": (1100.5, 445.5, [(3, 10, 600.5), (6, 10, 500.0)]),
    "lifo": (1001.0, 346.0, [(1, 20, 1001.0)]),
    "hifo": (801.0, 146.0, [(2, 20, 801.0)]),
    "average": (1000.75, 345.75, None),
}

# Ledger Y: a sell to zero, then a rebuy (fees on both sides of the first round trip)
#   BUY 5 @ 10 fee 0.5 (50.5); SELL 5 @ 12 fee 0.5 (59.5 -> realized 9); BUY 3 @ 11 (33);
#   BUY 2 @ 14 (28); SELL 1 @ 15 ->
#   FIFO costs 11 (realized 4; open 22 + 28 = 50); LIFO and HIFO cost 14 (realized 1; open
#   33 + 14 = 47); AVERAGE costs 61/5 = 12.2 (realized 2.8; open 48.8) - nothing of the
#   first round trip's cost leaks into the new average.
LEDGER_Y = [
    row("2024-02-01", "BUY", "Y", 5, 10, fee=0.5),
    row("2024-02-02", "SELL", "Y", 5, 12, fee=0.5),
    row("2024-02-05", "BUY", "Y", 3, 11),
    row("2024-02-06", "BUY", "Y", 2, 14),
    row("2024-02-07", "SELL", "Y", 1, 15),
]
EXPECTED_Y = {
    "fifo": (50.0, 13.0),
    "lifo": (47.0, 10.0),
    "hifo": (47.0, 10.0),
    "average": (48.8, 11.8),
}


@pytest.mark.parametrize("method", COST_METHODS)
def test_hand_ledger_with_split_partial_sells_and_fees(method: str) -> None:
    """Each cost method gives its own hand-computed basis and realized P&L across a split."""
    basis, realized, _ = EXPECTED_X[method]
    got = position_pnl(ledger(LEDGER_X), method=method).row(0, named=True)
    assert got["quantity"] == 20
    assert got["cost_basis"] == pytest.approx(basis, abs=0.005)
    assert got["realized_pnl"] == pytest.approx(realized, abs=0.005)
    assert got["bought_cost"] == pytest.approx(3503, abs=0.005)
    assert got["trade_fees"] == pytest.approx(5, abs=0.005)


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo"])
def test_open_lots_name_the_lots_behind_a_position(method: str) -> None:
    """open_lots lists exactly the hand-computed surviving lots with their split-adjusted cost."""
    _, _, lots = EXPECTED_X[method]
    got = open_lots(ledger(LEDGER_X), method=method)
    assert [
        (r["lot_id"], r["quantity"], round(r["cost_basis"], 6)) for r in got.iter_rows(named=True)
    ] == lots


def test_average_lots_share_the_moving_average() -> None:
    """Under AVERAGE the open lots add up to the moving-average basis and the full quantity."""
    got = open_lots(ledger(LEDGER_X), method="average")
    assert got["quantity"].sum() == pytest.approx(20)
    assert got["cost_basis"].sum() == pytest.approx(1000.75)


@pytest.mark.parametrize("method", COST_METHODS)
def test_sell_to_zero_then_rebuy(method: str) -> None:
    """A round trip to zero closes its lots; the rebuy starts fresh under every method."""
    basis, realized = EXPECTED_Y[method]
    got = position_pnl(ledger(LEDGER_Y), method=method).row(0, named=True)
    assert got["quantity"] == 4
    assert got["cost_basis"] == pytest.approx(basis, abs=0.005)
    assert got["realized_pnl"] == pytest.approx(realized, abs=0.005)


def test_as_of_cuts_the_ledger() -> None:
    """As of the day after the first sell, FIFO has realized only that sell (246.5)."""
    got = position_pnl(ledger(LEDGER_X), method="fifo", as_of=dt.date(2024, 1, 5)).row(
        0, named=True
    )
    assert got["quantity"] == 15
    assert got["realized_pnl"] == pytest.approx(246.5)
    assert got["cost_basis"] == pytest.approx(1601.5)


def test_split_recorded_in_two_accounts_applies_once() -> None:
    """The same split on the same date in two accounts is one event for the symbol."""
    rows = [
        row("2024-01-02", "BUY", "Z", 3, 10, account="a"),
        row("2024-01-02", "BUY", "Z", 5, 10, account="b"),
        row("2024-01-05", "SPLIT", "Z", ratio=(3, 2), account="a"),
        row("2024-01-05", "SPLIT", "Z", ratio=(3, 2), account="b"),
    ]
    got = positions(ledger(rows))
    assert got.to_dicts() == [
        {"account": "a", "symbol": "Z", "quantity": 4.5},
        {"account": "b", "symbol": "Z", "quantity": 7.5},
    ]


def test_split_recorded_once_applies_to_every_account() -> None:
    """A split recorded in one account also splits the holdings of another account."""
    rows = [
        row("2024-01-02", "BUY", "Z", 4, 10, account="broker"),
        row("2024-01-05", "SPLIT", "Z", ratio=(4, 1)),
        row("2024-01-06", "SELL", "Z", 6, 3, account="broker"),
    ]
    assert positions(ledger(rows))["quantity"].to_list() == [10]
    # 16 shares at 2.5 each; 6 sold -> open 10 sh cost 25
    got = position_pnl(ledger(rows), account="broker").row(0, named=True)
    assert got["cost_basis"] == pytest.approx(25)
    assert got["realized_pnl"] == pytest.approx(18 - 15)


def test_positions_match_position_pnl_and_drop_closed() -> None:
    """The fast positions path gives the same quantities and leaves out closed positions."""
    rows = [
        *LEDGER_X,
        *LEDGER_Y,
        row("2024-03-01", "BUY", "W", 2, 5),
        row("2024-03-02", "SELL", "W", 2, 6),
    ]
    fast = positions(ledger(rows))
    assert fast.to_dicts() == [
        {"account": "a", "symbol": "X", "quantity": 20.0},
        {"account": "default", "symbol": "Y", "quantity": 4.0},
    ]


def test_unknown_method_is_refused() -> None:
    """An unknown cost method raises a clear ValueError."""
    with pytest.raises(ValueError, match="unknown cost method 'lofi'"):
        position_pnl(ledger(LEDGER_Y), method="lofi")


# ---------------------------------------------------------------- properties


@st.composite
def ledgers(draw: st.DrawFn) -> list[dict[str, object]]:
    """Random valid ledgers: 2 accounts x 2 symbols, sells never exceed holdings, some splits."""
    held: dict[tuple[str, str], float] = {}
    rows: list[dict[str, object]] = []
    split_days: set[tuple[str, dt.date]] = set()
    day = dt.date(2024, 1, 1)
    for _ in range(draw(st.integers(1, 30))):
        day += dt.timedelta(days=draw(st.integers(0, 2)))
        account = draw(st.sampled_from(["a", "b"]))
        symbol = draw(st.sampled_from(["S", "T"]))
        key = (account, symbol)
        action = draw(st.sampled_from(["BUY", "BUY", "SELL", "SELL", "SPLIT"]))
        price = draw(st.integers(1, 500)) / 4
        fee = draw(st.sampled_from([0.0, 0.5, 1.25]))
        if action == "SPLIT":
            if (symbol, day) in split_days:  # the same split recorded twice is one event
                continue
            split_days.add((symbol, day))
            new, old = draw(st.sampled_from([(2, 1), (3, 1), (3, 2)]))
            rows.append(row(day, "SPLIT", symbol, ratio=(new, old), account=account))
            for k in held:
                if k[1] == symbol:  # a split applies to every account holding the symbol
                    held[k] = held[k] * new / old
            continue
        if action == "SELL" and held.get(key, 0.0) >= 1:
            qty = draw(st.integers(1, int(held[key] + 1e-9)))
            held[key] -= qty
        else:
            action, qty = "BUY", draw(st.integers(1, 40))
            held[key] = held.get(key, 0.0) + qty
        rows.append(row(day, action, symbol, qty, price, fee=fee, account=account))
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers(), st.sampled_from(COST_METHODS))
def test_every_method_matches_the_row_by_row_reference(
    rows: list[dict[str, object]], method: str
) -> None:
    """Vectorized quantity, basis and realized P&L equal a plain row-by-row lot engine."""
    tx = ledger(rows)
    expected = reference_lots(tx, method)
    got = {
        (r["account"], r["symbol"]): r
        for r in position_pnl(tx, method=method).iter_rows(named=True)
    }
    assert set(got) == set(expected)
    for key, ref in expected.items():
        assert got[key]["quantity"] == pytest.approx(ref["quantity"], abs=1e-6)
        assert got[key]["cost_basis"] == pytest.approx(ref["cost_basis"], abs=1e-6)
        assert got[key]["realized_pnl"] == pytest.approx(ref["realized_pnl"], abs=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers(), st.sampled_from(COST_METHODS))
def test_every_method_conserves_total_cost(rows: list[dict[str, object]], method: str) -> None:
    """Open basis (from the lots) + cost of lots sold (from the reference's realized) = total bought."""
    tx = ledger(rows)
    lots = open_lots(tx, method=method)
    reference = reference_lots(tx, method)
    pnl = position_pnl(tx, method=method)
    for r in pnl.iter_rows(named=True):
        key = (r["account"], r["symbol"])
        mine = lots.filter((pl.col("account") == key[0]) & (pl.col("symbol") == key[1]))
        cost_sold = r["proceeds"] - reference[key]["realized_pnl"]
        assert mine["cost_basis"].sum() + cost_sold == pytest.approx(r["bought_cost"], abs=1e-6)
        assert mine["quantity"].sum() == pytest.approx(r["quantity"], abs=1e-6)
        assert (mine["quantity"] <= mine["bought_quantity"] + 1e-9).all()


@pytest.mark.parametrize("method", COST_METHODS)
def test_a_group_key_that_merges_groups_is_caught(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the hashed group key put every group together, the check notices and the exact key
    gives the hand-computed numbers (X's basis under each method, Y's too)."""
    from workbench.analytics import lots as lots_module

    rows = [*LEDGER_X, *LEDGER_Y, row("2024-03-01", "BUY", "G", 2, 10)]
    whole = position_pnl(ledger(rows), method=method)
    monkeypatch.setattr(
        lots_module,
        "_group_key",
        lambda exact: (
            pl.lit(7, pl.UInt64)
            if not exact
            else pl.struct(lots_module.GROUP).rank("dense").cast(pl.UInt64)
        ),
    )
    merged = position_pnl(ledger(rows), method=method)
    assert merged.equals(whole)
    basis = dict(zip(merged["symbol"], merged["cost_basis"], strict=True))
    assert basis["X"] == pytest.approx(EXPECTED_X[method][0], abs=0.005)
    assert basis["Y"] == pytest.approx(EXPECTED_Y[method][0], abs=0.005)
    assert basis["G"] == pytest.approx(20.0)


@pytest.mark.parametrize("method", COST_METHODS)
def test_rows_out_of_order_give_the_same_numbers(method: str) -> None:
    """A ledger frame whose rows are shuffled (the general path sorts it) gives the same P&L as
    the same ledger in apply order (the lean path), and X keeps its hand-computed basis."""
    rows = [*LEDGER_X, *LEDGER_Y, row("2024-03-01", "DIVIDEND", "X", amount=12.5, account="a")]
    ordered = position_pnl(ledger(rows), method=method)
    shuffled = position_pnl(ledger(rows).sample(fraction=1.0, shuffle=True, seed=3), method=method)
    assert shuffled.equals(ordered)
    x = ordered.filter(pl.col("symbol") == "X").row(0, named=True)
    assert x["cost_basis"] == pytest.approx(EXPECTED_X[method][0], abs=0.005)
    assert x["dividends"] == pytest.approx(12.5)
