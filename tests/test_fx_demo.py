"""The demo FX source: the quote server's deterministic rate route, over a real uvicorn server
on 127.0.0.1 and in-process, fetched into a real DuckDB file."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import httpx
import polars as pl
import pytest
from _quote_helpers import RunningServer, quote_server  # noqa: F401 (fixture)

from workbench.fx.demo_rates import EUR_LEVELS, demo_rates
from workbench.fx.fetch import fetch_rates
from workbench.fx.store import read_rates
from workbench.store import connect

D = dt.date


def test_demo_rates_are_weekday_only_and_repeatable() -> None:
    """2024-01-01..07 has five rates (Mon-Fri); the same call repeats them, another seed not."""
    week = demo_rates("EUR", "USD", D(2024, 1, 1), D(2024, 1, 7))
    assert [day for day, _ in week] == [D(2024, 1, d) for d in range(1, 6)]
    assert demo_rates("EUR", "USD", D(2024, 1, 1), D(2024, 1, 7)) == week
    assert demo_rates("EUR", "USD", D(2024, 1, 1), D(2024, 1, 7), seed=8) != week
    # near the level the path moves around: within exp(+-0.12) of 1.08
    assert all(1.08 * math.exp(-0.12) < r < 1.08 * math.exp(0.12) for _, r in week)


def test_demo_cross_rate_is_the_ratio_of_its_euro_legs() -> None:
    """USD/JPY = EUR/JPY / EUR/USD on every day, up to the 6-digit rounding of each."""
    start, end = D(2023, 3, 1), D(2023, 3, 31)
    usd = dict(demo_rates("EUR", "USD", start, end))
    jpy = dict(demo_rates("EUR", "JPY", start, end))
    cross = dict(demo_rates("USD", "JPY", start, end))
    assert cross.keys() == usd.keys() == jpy.keys()
    for day, rate in cross.items():
        # each of the three is rounded to 6 significant digits: relative error < 1.5e-5
        assert rate == pytest.approx(jpy[day] / usd[day], rel=1.5e-5)
    inverse = dict(demo_rates("USD", "EUR", start, end))
    assert all(inverse[d] == pytest.approx(1 / usd[d], rel=1e-5) for d in usd)


def test_quote_server_fx_route_over_a_real_socket(
    quote_server: Callable[..., RunningServer],  # noqa: F811
) -> None:
    """GET /fx/EUR/GBP/history answers the demo rates as JSON; errors are 404 and 400."""
    server = quote_server()
    with httpx.Client(base_url=server.base_url) as client:
        ok = client.get("/fx/EUR/GBP/history", params={"start": "2024-01-01", "end": "2024-01-05"})
        unknown = client.get("/fx/EUR/XYZ/history")
        bad_date = client.get("/fx/EUR/GBP/history", params={"start": "2024-02-30"})
        backwards = client.get(
            "/fx/EUR/GBP/history", params={"start": "2024-01-05", "end": "2024-01-01"}
        )
    assert ok.status_code == 200
    body = ok.json()
    assert (body["base"], body["quote"], body["source"]) == ("EUR", "GBP", "demo")
    expected = demo_rates("EUR", "GBP", D(2024, 1, 1), D(2024, 1, 5))
    assert [(D.fromisoformat(r["date"]), r["rate"]) for r in body["rates"]] == expected
    assert (unknown.status_code, unknown.json()) == (404, {"error": "unknown currency XYZ"})
    assert bad_date.status_code == 400
    assert "bad date" in bad_date.json()["error"]
    assert backwards.status_code == 400
    assert [r.kind for r in server.state.requests] == ["fx"] * 4


def test_fetch_from_a_running_quote_server_stores_rates_with_provenance(
    quote_server: Callable[..., RunningServer],  # noqa: F811
    db_path: Path,
) -> None:
    """fetch_rates(demo, base_url) stores EUR/USD and GBP/JPY; an unknown pair is an error."""
    server = quote_server()
    report = asyncio.run(
        fetch_rates(
            ["USD", "GBP/JPY", "XYZ"],
            db=db_path,
            start=D(2024, 1, 1),
            end=D(2024, 1, 12),
            providers=["demo"],
            base_url=server.base_url,
        )
    )
    assert [(r.base, r.quote, r.error) for r in report.results] == [
        ("EUR", "USD", None),
        ("GBP", "JPY", None),
        ("EUR", "XYZ", "not found"),
    ]
    with connect(db_path, read_only=True) as con:
        stored = read_rates(con)
        fetched_at = con.execute("SELECT DISTINCT fetched_at FROM fx_rates").fetchall()
    # 2024-01-01..12 has 10 weekdays per pair
    assert stored.group_by("base", "quote").len().sort("base").rows() == [
        ("EUR", "USD", 10),
        ("GBP", "JPY", 10),
    ]
    assert set(stored["source"]) == {"demo"}
    assert len(fetched_at) == 1
    usd = stored.filter(pl.col("quote") == "USD").select("date", "rate").rows()
    assert usd == demo_rates("EUR", "USD", D(2024, 1, 1), D(2024, 1, 12))
    totals = report.totals()
    assert (totals.added, totals.replaced, totals.unchanged) == (20, 0, 0)


def test_a_503_from_the_server_is_retried(
    quote_server: Callable[..., RunningServer],  # noqa: F811
    db_path: Path,
) -> None:
    """With the first request of each pair failing 503, the engine retries and stores the rates."""
    server = quote_server(fail_first=1, fail_status=503)
    report = asyncio.run(
        fetch_rates(
            ["CHF"], db=db_path, start=D(2024, 3, 4), end=D(2024, 3, 8), providers=["demo"],
            base_url=server.base_url,
        )
    )  # fmt: skip
    assert report.results[0].ok
    assert [r.status for r in server.state.requests] == [503, 200]
    assert report.totals().added == 5


def test_in_process_demo_matches_the_server(
    quote_server: Callable[..., RunningServer],  # noqa: F811
) -> None:
    """Without --base-url the in-process app answers the same rates as a running server."""
    server = quote_server()
    kwargs = {"start": D(2022, 6, 1), "end": D(2022, 6, 30), "providers": ["demo"]}
    local = asyncio.run(fetch_rates(["SEK"], **kwargs))  # type: ignore[arg-type]
    remote = asyncio.run(fetch_rates(["SEK"], base_url=server.base_url, **kwargs))  # type: ignore[arg-type]
    assert local.results[0].rates == remote.results[0].rates
    assert len(local.results[0].rates) == 22  # June 2022 had 22 weekdays
    assert server.state.request_count() == 1
    assert "SEK" in EUR_LEVELS
