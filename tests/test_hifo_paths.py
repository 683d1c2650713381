"""HIFO's shortcuts and code paths, each against the exact row-by-row replay or by hand.

:mod:`workbench.analytics._hifo` drops sells that later holdings dominate, drops what precedes
a group's last sale to zero, solves groups of up to ``2**_BLOCK_BITS`` leaves in one pass
(sales, lots by priority, closing rows among the next group's sales), splits larger
groups into blocks of ``2**_WIDE_BITS`` leaves and merges them (lean Polars merges over
padded blocks, NumPy arrays, or Polars frames with a two-key merge) and sums on integers
(units x 1e8) when every quantity has 8 decimals, else on floats. Each test forces one of
these and compares.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import pytest
from _analytics_helpers import ledger, row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hifo_replay import _check, active_ledgers

from workbench.analytics import _hifo, open_lots, position_pnl


@contextmanager
def _forced(
    *, block_bits: int | None = None, path: str | None = None, exact: bool | None = None
) -> Iterator[None]:
    """Run HIFO with a block width, a merge path and a sum mode forced. Paths: "lean"
    (Polars, groups padded to whole blocks; also None), "packed" (Polars, unpadded),
    "arrays" (NumPy), "frames" (Polars, a merge of two frames by two keys)."""
    with pytest.MonkeyPatch.context() as mp:
        if block_bits is not None:
            mp.setattr(_hifo, "_BLOCK_BITS", block_bits)
            mp.setattr(_hifo, "_WIDE_BITS", block_bits)
        if path == "arrays":
            mp.setattr(_hifo, "_ARRAY_ROWS", 0)
        elif path == "frames":
            mp.setattr(_hifo, "_PACK_BITS", 0)
        else:  # Polars merges even once NumPy is imported: lean (padded) or packed
            mp.setattr(_hifo, "_NUMPY_IF_LOADED", False)
            if path == "packed":
                mp.setattr(_hifo, "_PAD_RATIO", 0)
        if exact is not None:
            mp.setattr(_hifo, "_decimal_units", lambda _trades: exact)
        yield


@st.composite
def mixed_groups(draw: st.DrawFn) -> list[dict[str, object]]:
    """Many (account, symbol) groups of mixed sizes in one ledger: 3 to 25 groups of 1 to
    120 trades, interleaved in time, with tied prices, sells to zero, partial sells and a
    split of one symbol: small groups beside groups of many leaves."""
    count = draw(st.integers(3, 25))
    sizes = draw(st.lists(st.integers(1, 120), min_size=count, max_size=count))
    prices = [10.0, 12.0, 12.0, 15.0, 9.5]
    events: list[tuple[int, int, dict[str, object]]] = []
    for g, size in enumerate(sizes):
        account, symbol = f"acct{g % 4}", f"S{g // 4}"
        held = 0
        steps = draw(st.lists(st.tuples(st.integers(0, 9), st.integers(1, 9)), min_size=size,
                              max_size=size))  # fmt: skip
        for i, (action, qty) in enumerate(steps):
            day = dt.date(2023, 1, 1) + dt.timedelta(days=i)
            if action < 4 and held > 0:
                amount = held if action == 0 else min(held, qty)  # to zero, or part
                held -= amount
                r = row(day, "SELL", symbol, amount, prices[qty % 5], account=account)
            else:
                held += qty
                r = row(day, "BUY", symbol, qty, prices[(qty + action) % 5], account=account)
            events.append((i, g, r))
    if draw(st.booleans()):  # a 3:1 split of S0 in the middle of the ledger
        events.append((30, -1, row(dt.date(2023, 1, 31), "SPLIT", "S0", ratio=(3, 1))))
    return [r for _, _, r in sorted(events, key=lambda e: (e[0], e[1]))]


def _climbing(trades: int) -> list[dict[str, object]]:
    """One symbol bought 1-7 shares at a time and trimmed by 1-2 now and then: holdings climb,
    so every sale is below all later holdings (none is dropped) and there are many leaves."""
    rows: list[dict[str, object]] = []
    held = 0
    for i in range(trades):
        price = 40 + (i * 37) % 29 + (i % 4) * 0.25
        if i % 3 == 1 and held > 2:
            rows.append(row(dt.date(2021, 1, 1), "SELL", "S", 1 + i % 2, price))
            held -= 1 + i % 2
        else:
            rows.append(row(dt.date(2021, 1, 1), "BUY", "S", 1 + i % 7, price, fee=0.25 * (i % 3)))
            held += 1 + i % 7
    return rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(active_ledgers(), st.sampled_from([0, 1, 2]), st.sampled_from(["arrays", "frames"]))
def test_merges_at_every_block_width_match_the_replay(
    rows: list[dict[str, object]], block_bits: int, path: str
) -> None:
    """With blocks of 1, 2 or 4 leaves (so most groups need merges) on either merge path,
    HIFO's lots, basis and realized P&L equal the exact replay."""
    with _forced(block_bits=block_bits, path=path):
        _check(rows, "hifo")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(active_ledgers(), st.sampled_from([0, 4]))
def test_float_sums_match_the_replay(rows: list[dict[str, object]], block_bits: int) -> None:
    """Running sums on floats per group (the path for quantities that are not whole 1e-8
    units) give the replay's answers too."""
    with _forced(block_bits=block_bits, exact=False):
        _check(rows, "hifo")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mixed_groups(),
    st.sampled_from([0, 1, 2, 4]),
    st.sampled_from(["lean", "packed", "arrays", "frames"]),
    st.booleans(),
)
def test_many_groups_of_mixed_sizes_match_the_replay(
    rows: list[dict[str, object]], block_bits: int, path: str, exact: bool
) -> None:
    """Many groups of 1 to 120 trades together: with the one-pass groups' closing rows
    folded into the next group's sales, blocks of 1 to 16 leaves, groups of a size class
    with fewer blocks than others (padded with empty blocks, or not), each merge path and
    either sum mode, HIFO's lots, basis and realized P&L equal the exact replay."""
    with _forced(block_bits=block_bits, path=path, exact=exact):
        _check(rows, "hifo")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_groups())
def test_groups_solved_in_two_halves_match_the_replay(rows: list[dict[str, object]]) -> None:
    """A ledger solved in two halves of its groups side by side (what a large one gets)
    equals the exact replay: no group is split across the halves or lost."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_hifo, "_HALVES_FROM", 0)
        _check(rows, "hifo")


@pytest.mark.parametrize("path", ["lean", "packed", "arrays", "frames"])
@pytest.mark.parametrize("exact", [True, False])
def test_many_leaves_under_climbing_holdings(path: str, exact: bool) -> None:
    """3,000 trades of one symbol whose holdings only climb: ~1,000 leaves, six merges after
    the one-pass blocks, equal to the replay lot by lot on both merge paths and sum modes."""
    with _forced(path=path, exact=exact):
        _check(_climbing(3000), "hifo")


def test_small_and_large_groups_together() -> None:
    """A ledger with a group of a few trades beside one of 1,500 (different size classes,
    one without merges, one with): each equals the replay."""
    rows = _climbing(1500)
    rows += [
        row("2021-01-01", "BUY", "T", 5, 10, account="b"),
        row("2021-01-01", "BUY", "T", 5, 12, account="b"),
        row("2021-01-01", "SELL", "T", 3, 11, account="b"),
    ]
    _check(rows, "hifo")
    got = position_pnl(ledger(rows), method="hifo").filter(pl.col("symbol") == "T")
    # HIFO sells 3 of the 12/sh lot: 5 x 10 + 2 x 12 stay = 74
    assert got["cost_basis"].to_list() == [pytest.approx(74.0)]


def test_dominated_sale_gives_the_same_lots() -> None:
    """The first sale (holdings 8) is followed by lower holdings (4): it is dropped as a leaf.
    By hand: 10 @ 10; sell 2 (8 left of lot 1); 1 @ 20; sell 5 takes lot 2 (1) and 4 of lot 1;
    6 @ 1. Left: lot 1 4 sh (40), lot 3 6 sh (6): basis 46."""
    rows = [
        row("2024-01-02", "BUY", "S", 10, 10),
        row("2024-01-03", "SELL", "S", 2, 11),
        row("2024-01-04", "BUY", "S", 1, 20),
        row("2024-01-05", "SELL", "S", 5, 12),
        row("2024-01-06", "BUY", "S", 6, 1),
    ]
    lots = open_lots(ledger(rows), method="hifo")
    assert lots.select("lot_id", "quantity", "cost_basis").rows() == [(1, 4.0, 40.0), (5, 6.0, 6.0)]
    trades = pl.DataFrame(
        {
            "g": [1] * 5,
            "seq": [0, 1, 2, 3, 4],
            "buy": [True, False, True, False, True],
            "units": [10.0, 2.0, 1.0, 5.0, 6.0],
            "unit_cost": [10.0, 0.0, 20.0, 0.0, 1.0],
        }
    )
    lots, marks = _hifo._leaves(trades, exact=True)
    # only the second sale is a candidate: one leaf for it (lots 1 and 3), one after it
    assert marks.filter(pl.col("_cand"))["leaf"].to_list() == [0]
    assert lots.select("_o", "leaf").rows() == [(0, 0), (2, 0), (4, 1)]
    # it sold 2 + 5 (the dropped sale's units count in its leaf)
    assert marks.filter(pl.col("_cand"))["_step"].to_list() == [7 * 10**8]
    _check(rows, "hifo")


def test_sale_to_zero_drops_what_came_before() -> None:
    """Sold to zero, then rebought: the lots before the sale to zero leave the computation
    (nothing of them remains). By hand: after the zero, 5 @ 6 and 5 @ 4; a sale of 3 takes
    the 6/sh lot: 2 x 6 + 5 x 4 = 32 left; realized (20 x 9 - 10 x 5 - 10 x 7) + (3 x 7 - 3 x 6)
    = 60 + 3 = 63."""
    rows = [
        row("2024-01-02", "BUY", "S", 10, 5),
        row("2024-01-03", "BUY", "S", 10, 7),
        row("2024-01-04", "SELL", "S", 20, 9),
        row("2024-01-05", "BUY", "S", 5, 6),
        row("2024-01-06", "BUY", "S", 5, 4),
        row("2024-01-07", "SELL", "S", 3, 7),
    ]
    got = position_pnl(ledger(rows), method="hifo").row(0, named=True)
    assert got["cost_basis"] == pytest.approx(32.0)
    assert got["realized_pnl"] == pytest.approx(63.0)
    trades = pl.DataFrame(
        {
            "g": [1] * 6,
            "seq": list(range(6)),
            "buy": [True, True, False, True, True, False],
            "units": [10.0, 10.0, 20.0, 5.0, 5.0, 3.0],
            "unit_cost": [5.0, 7.0, 0.0, 6.0, 4.0, 0.0],
        }
    )
    left = _hifo.hifo_remaining(trades)
    assert left.select("seq", "remaining").rows() == [(3, 2.0), (4, 5.0)]
    _check(rows, "hifo")


def test_group_ending_in_a_sale_to_zero_keeps_nothing() -> None:
    """A group whose last trade sells everything has no rows left to compute: basis 0 and no
    open lots, realized = 30 - 20 = 10."""
    rows = [
        row("2024-01-02", "BUY", "S", 2, 10),
        row("2024-01-03", "SELL", "S", 2, 15),
    ]
    got = position_pnl(ledger(rows), method="hifo").row(0, named=True)
    assert (got["quantity"], got["cost_basis"], got["realized_pnl"]) == (0.0, 0.0, 10.0)
    assert open_lots(ledger(rows), method="hifo").is_empty()


def test_thirds_after_a_reverse_split_sum_on_floats() -> None:
    """A 1:3 split leaves a third of a share: not whole 1e-8 units, so sums run on floats.
    By hand: 1 @ 30 and 2 @ 33 become 1/3 sh @ 90/sh and 2/3 sh @ 99/sh; selling 0.5 sh
    takes the 99/sh lot first: 1/6 sh of it stays. Basis 30 + 99/6 = 46.5, 0.5 sh left."""
    rows = [
        row("2024-01-02", "BUY", "S", 1, 30),
        row("2024-01-03", "BUY", "S", 2, 33),
        row("2024-01-04", "SPLIT", "S", ratio=(1, 3)),
        row("2024-01-05", "SELL", "S", 0.5, 100),
    ]
    got = position_pnl(ledger(rows), method="hifo").row(0, named=True)
    assert got["quantity"] == pytest.approx(0.5)
    assert got["cost_basis"] == pytest.approx(46.5)
    thirds = pl.DataFrame({"units": [1 / 3, 2 / 3, 0.5]})
    assert not _hifo._decimal_units(thirds)
    assert _hifo._decimal_units(pl.DataFrame({"units": [0.1, 12.34567891, 3.0]}))
    _check(rows, "hifo")


def test_ties_across_blocks_take_the_older_lot() -> None:
    """Equal costs per share in different leaves and blocks (blocks of one leaf): the older
    lot goes first. By hand: 3 @ 10, sell 1 (lot 1: 2 left), 3 @ 10, sell 3 (lot 1's 2, then
    1 of lot 3): lot 3 keeps 2."""
    rows = [
        row("2024-01-02", "BUY", "S", 3, 10),
        row("2024-01-03", "SELL", "S", 1, 11),
        row("2024-01-04", "BUY", "S", 3, 10),
        row("2024-01-05", "SELL", "S", 3, 11),
    ]
    for bits in (0, 4):
        with _forced(block_bits=bits):
            lots = open_lots(ledger(rows), method="hifo")
            assert lots.select("lot_id", "quantity").rows() == [(3, 2.0)]
            _check(rows, "hifo")
