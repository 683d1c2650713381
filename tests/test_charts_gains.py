"""The realized-gains charts: monthly sums by term computed by hand, and what each chart ships."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from workbench import charts


def _shipped(chart: Any) -> list[dict[str, Any]]:
    """The one inline dataset the chart would send to the browser."""
    datasets = list(chart.to_dict().get("datasets", {}).values())
    assert len(datasets) == 1
    return list(datasets[0])


# sales: 2024-01-05 short 10, 2024-01-20 short -4 and long 5, 2024-03-02 AVERAGE 7 (no term)
ROWS = pl.DataFrame(
    {
        "sold": [dt.date(2024, 1, 5), dt.date(2024, 1, 20), dt.date(2024, 1, 20),
                 dt.date(2024, 3, 2)],
        "gain": [10.0, -4.0, 5.0, 7.0],
        "term": ["short", "short", "long", None],
    }
)  # fmt: skip


def test_monthly_gains_sums_by_month_and_term() -> None:
    """January: short 10 - 4 = 6 and long 5; March: 7 without a term; February is absent."""
    got = charts.monthly_gains(ROWS)
    assert got.rows() == [
        (dt.date(2024, 1, 1), "Long term", 5.0),
        (dt.date(2024, 1, 1), "Short term", 6.0),
        (dt.date(2024, 3, 1), "Average (no term)", 7.0),
    ]


def test_gains_by_month_chart_ships_one_row_per_bar_segment() -> None:
    """The chart carries the three monthly sums, stacked bars coloured by term."""
    chart = charts.gains_by_month_chart(ROWS)
    shipped = _shipped(chart)
    assert sorted((r["term"], r["gain"]) for r in shipped) == [
        ("Average (no term)", 7.0), ("Long term", 5.0), ("Short term", 6.0),
    ]  # fmt: skip
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["color"]["field"] == "term"
    assert spec["encoding"]["y"]["stack"] == "zero"


def test_sale_methods_chart_labels_terms() -> None:
    """method/term/gain rows become bars per method with the terms' labels."""
    frame = pl.DataFrame(
        {"method": ["fifo", "fifo", "average"], "term": ["short", "long", "unassigned"],
         "gain": [-20.0, 400.0, 200.0]}
    )  # fmt: skip
    shipped = _shipped(charts.sale_methods_chart(frame))
    assert [(r["method"], r["term"], r["gain"]) for r in shipped] == [
        ("fifo", "Short term", -20.0), ("fifo", "Long term", 400.0),
        ("average", "Average (no term)", 200.0),
    ]  # fmt: skip


def test_unknown_term_is_an_error() -> None:
    """A term other than short, long or none is refused, not drawn unlabelled."""
    with pytest.raises(pl.exceptions.InvalidOperationError):
        charts.monthly_gains(ROWS.with_columns(term=pl.lit("medium")))
