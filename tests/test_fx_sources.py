"""FX sources: recorded ECB, Frankfurter and Yahoo bodies through mock transports, errors, and
the engine's retries and fallback around them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import httpx
import pytest
from _providers_helpers import load, raw

from workbench.errors import (
    MalformedResponse,
    ProviderUnavailable,
    QuoteError,
    SymbolNotFound,
    UnknownCurrency,
)
from workbench.fx.engine import run_pairs
from workbench.fx.fetch import parse_pairs
from workbench.fx.sources import get_source, split_pair
from workbench.fx.sources.ecb import parse_csv
from workbench.fx.sources.frankfurter import parse_body as parse_frankfurter

D = dt.date
ECB_CSV = "ecb_exr_daily_csvdata.csv"


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def _reply(
    status: int, body: bytes, kind: str = "application/json", **headers: str
) -> Callable[[httpx.Request], httpx.Response]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body, headers={"content-type": kind, **headers})

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


# -- ECB ------------------------------------------------------------------------------------


def test_ecb_csv_is_read_by_header_name() -> None:
    """The recorded ECB CSV gives 22 USD rates, 2026-02-17 1.1826 first and 2026-03-18 1.15 last."""
    rates = parse_csv(raw(ECB_CSV).decode(), quote="USD")
    assert len(rates) == 22
    assert rates[0] == (D(2026, 2, 17), 1.1826)
    assert rates[-1] == (D(2026, 3, 18), 1.15)
    # columns in another order, with the full answer's extra columns, read the same
    reordered = "OBS_VALUE,TIME_PERIOD,CURRENCY_DENOM,CURRENCY,KEY\n0.86393,2026-03-18,EUR,GBP,x\n"
    assert parse_csv(reordered, quote="GBP") == [(D(2026, 3, 18), 0.86393)]


@pytest.mark.asyncio
async def test_ecb_source_asks_one_series_and_keeps_its_range() -> None:
    """The ECB request names the USD series and the dates; only USD rows in range come back."""
    handler = _reply(200, raw(ECB_CSV), "text/csv")
    source = get_source("ecb", base_url="http://mirror.test/ecb")
    async with _client(handler) as client:
        history = await source.fetch_history(client, "EUR/USD", D(2026, 3, 16), D(2026, 3, 18))
    url = handler.seen[0].url  # type: ignore[attr-defined]
    assert url.path == "/ecb/service/data/EXR/D.USD.EUR.SP00.A"
    assert dict(url.params) == {
        "format": "csvdata",
        "startPeriod": "2026-03-16",
        "endPeriod": "2026-03-18",
    }
    # the recorded body holds every date from 02-17; the source keeps the asked range
    assert [(b.date, b.close) for b in history.bars] == [
        (D(2026, 3, 16), 1.1478),
        (D(2026, 3, 17), 1.1531),
        (D(2026, 3, 18), 1.15),
    ]
    assert history.provider == "ecb"


@pytest.mark.asyncio
async def test_ecb_404_is_no_fixing_for_a_published_currency_and_not_found_otherwise() -> None:
    """ECB's 404 "No results found" means no rates for USD (holidays) but an unknown XYZ."""
    handler = _reply(404, b"No results found.", "text/plain")
    source = get_source("ecb")
    async with _client(handler) as client:
        holiday = await source.fetch_history(client, "EUR/USD", D(2025, 12, 25), D(2025, 12, 26))
        with pytest.raises(SymbolNotFound, match="the ECB publishes no XYZ rates"):
            await source.fetch_history(client, "EUR/XYZ", D(2025, 12, 1), D(2025, 12, 5))
    assert holiday.bars == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "body", "kind", "error", "fragment"),
    [
        pytest.param(200, b"<html>maintenance</html>", "text/html", MalformedResponse, "HTML",
                     id="html"),
        pytest.param(200, b"when,value\n2026-01-02,1.1\n", "text/csv", MalformedResponse,
                     "not an ECB CSV", id="no-header"),
        pytest.param(200, b"TIME_PERIOD,OBS_VALUE\n2026-13-02,1.1\n", "text/csv",
                     MalformedResponse, "line 2", id="bad-date"),
        pytest.param(200, b"TIME_PERIOD,OBS_VALUE\n2026-01-02,-1\n", "text/csv",
                     MalformedResponse, "not positive", id="negative"),
        pytest.param(503, b"", "text/plain", ProviderUnavailable, "HTTP 503", id="503"),
        pytest.param(400, b"Syntax error", "text/plain", QuoteError, "HTTP 400", id="400"),
    ],
)  # fmt: skip
async def test_ecb_bad_answers_are_clear_errors(
    status: int, body: bytes, kind: str, error: type[Exception], fragment: str
) -> None:
    """Synthetic bad bodies and statuses become the workbench error naming the pair."""
    source = get_source("ecb")
    async with _client(_reply(status, body, kind)) as client:
        with pytest.raises(error, match=fragment):
            await source.fetch_history(client, "EUR/USD", D(2026, 1, 1), D(2026, 1, 9))


@pytest.mark.asyncio
async def test_ecb_refuses_a_non_euro_base_without_a_request() -> None:
    """The ECB publishes EUR -> X only: USD/JPY is not found, and nothing is sent."""
    handler = _reply(200, raw(ECB_CSV), "text/csv")
    async with _client(handler) as client:
        with pytest.raises(SymbolNotFound, match="euro rates only"):
            await get_source("ecb").fetch_history(client, "USD/JPY", D(2026, 1, 1), D(2026, 1, 9))
    assert handler.seen == []  # type: ignore[attr-defined]


# -- Frankfurter ----------------------------------------------------------------------------


def test_frankfurter_reads_all_three_shapes() -> None:
    """v1 day, v1 series and v2 list all give the ECB's 2026-03-18 USD rate 1.15."""
    day = parse_frankfurter(
        load("frankfurter_v1_latest_DERIVED_from_ecb.json"), base="EUR", quote="USD"
    )
    listed = parse_frankfurter(
        load("frankfurter_v2_rates_DERIVED_from_ecb.json"), base="EUR", quote="GBP"
    )
    series = parse_frankfurter(
        load("frankfurter_v1_timeseries_SYNTHETIC_from_ecb.json"), base="EUR", quote="USD"
    )
    assert day == [(D(2026, 3, 18), 1.15)]
    assert listed == [(D(2026, 3, 18), 0.86393)]
    assert series == [(D(2026, 3, 16), 1.1478), (D(2026, 3, 17), 1.1531), (D(2026, 3, 18), 1.15)]


@pytest.mark.asyncio
async def test_frankfurter_request_names_range_base_and_symbol() -> None:
    """The v1 time-series path carries the range; base and symbols are query parameters."""
    handler = _reply(200, raw("frankfurter_v1_timeseries_SYNTHETIC_from_ecb.json"))
    source = get_source("frankfurter", base_url="http://mirror.test")
    async with _client(handler) as client:
        history = await source.fetch_history(client, "EUR/USD", D(2026, 3, 16), D(2026, 3, 18))
    url = handler.seen[0].url  # type: ignore[attr-defined]
    assert url.path == "/v1/2026-03-16..2026-03-18"
    assert dict(url.params) == {"base": "EUR", "symbols": "USD"}
    assert [b.close for b in history.bars] == [1.1478, 1.1531, 1.15]


@pytest.mark.asyncio
async def test_frankfurter_errors() -> None:
    """The recorded 404 is not found; a 422 names its message; another base is malformed."""
    source = get_source("frankfurter")
    async with _client(_reply(404, raw("frankfurter_v1_error_404.json"))) as client:
        with pytest.raises(SymbolNotFound, match="EUR/XYZ: not found"):
            await source.fetch_history(client, "EUR/XYZ", D(2026, 3, 16), D(2026, 3, 18))
    refused = json.dumps({"message": "invalid date"}).encode()
    async with _client(_reply(422, refused)) as client:
        with pytest.raises(QuoteError, match="HTTP 422: invalid date"):
            await source.fetch_history(client, "EUR/USD", D(2026, 3, 16), D(2026, 3, 18))
    # synthetic: the recorded day re-labelled with another base
    other = {**load("frankfurter_v1_latest_DERIVED_from_ecb.json"), "base": "USD"}
    async with _client(_reply(200, json.dumps(other).encode())) as client:
        with pytest.raises(MalformedResponse, match="base 'USD', not EUR"):
            await source.fetch_history(client, "EUR/USD", D(2026, 3, 16), D(2026, 3, 18))
    async with _client(_reply(200, b"not json")) as client:
        with pytest.raises(MalformedResponse, match="not JSON"):
            await source.fetch_history(client, "EUR/USD", D(2026, 3, 16), D(2026, 3, 18))


# -- Yahoo ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_yahoo_reads_the_recorded_eurusd_chart() -> None:
    """EURUSD=X's three recorded closes become EUR/USD rates on their own dates."""
    handler = _reply(200, raw("yahoo_chart_EURUSD_X.json"))
    source = get_source("yahoo", base_url="http://mirror.test")
    async with _client(handler) as client:
        history = await source.fetch_history(client, "EUR/USD", D(2020, 1, 1), D(2020, 1, 3))
    assert handler.seen[0].url.path == "/v8/finance/chart/EURUSD=X"  # type: ignore[attr-defined]
    # the recorded close values, bars stamped 00:00 UTC in Europe/London
    assert [(b.date, b.close) for b in history.bars] == [
        (D(2020, 1, 1), 1.1220825910568237),
        (D(2020, 1, 2), 1.1220825910568237),
        (D(2020, 1, 3), 1.1171437501907349),
    ]
    assert history.provider == "yahoo"


@pytest.mark.asyncio
async def test_yahoo_errors() -> None:
    """The recorded 404 is not found; a chart in another currency is malformed (synthetic)."""
    source = get_source("yahoo")
    async with _client(_reply(404, raw("yahoo_chart_not_found_404.json"))) as client:
        with pytest.raises(SymbolNotFound):
            await source.fetch_history(client, "EUR/XYZ", D(2020, 1, 1), D(2020, 1, 3))
    chart = load("yahoo_chart_EURUSD_X.json")
    chart["chart"]["result"][0]["meta"]["currency"] = "JPY"
    async with _client(_reply(200, json.dumps(chart).encode())) as client:
        with pytest.raises(MalformedResponse, match="in JPY, not USD"):
            await source.fetch_history(client, "EUR/USD", D(2020, 1, 1), D(2020, 1, 3))


# -- pairs and the engine -------------------------------------------------------------------


def test_pairs_from_the_command_line() -> None:
    """A code means EUR/code, a pair is itself, sub-units read their currency, EUR adds nothing."""
    assert parse_pairs(["USD", "GBp", "EUR", "GBP/USD", "USD"]) == [
        ("EUR", "USD"),
        ("EUR", "GBP"),
        ("GBP", "USD"),
    ]
    with pytest.raises(UnknownCurrency, match="three letters"):
        parse_pairs(["usd"])
    with pytest.raises(UnknownCurrency, match="same currency"):
        split_pair("USD/USD")
    with pytest.raises(QuoteError, match="choose one of: ecb, frankfurter, yahoo, demo"):
        get_source("fixer")


@pytest.mark.asyncio
async def test_engine_retries_a_503_then_stores_the_answer() -> None:
    """A 503 is retried by the quote engine; the second answer is used (two requests)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503, content=b"busy")
        return httpx.Response(200, content=raw(ECB_CSV), headers={"content-type": "text/csv"})

    async with _client(handler) as client:
        (result,) = await run_pairs(
            [("EUR", "USD")], [get_source("ecb")], start=D(2026, 3, 18), end=D(2026, 3, 18),
            client=client,
        )  # fmt: skip
    assert len(seen) == 2
    assert result.ok
    assert result.source == "ecb"
    assert result.rates == [(D(2026, 3, 18), 1.15)]


@pytest.mark.asyncio
async def test_engine_falls_back_to_the_next_source_and_says_which_answered() -> None:
    """ECB down (503 every time): Frankfurter answers, and the result names it."""
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == "ecb.test":
            return httpx.Response(503, content=b"down")
        return httpx.Response(200, content=raw("frankfurter_v1_timeseries_SYNTHETIC_from_ecb.json"))

    sources = [
        get_source("ecb", base_url="http://ecb.test"),
        get_source("frankfurter", base_url="http://ff.test"),
    ]
    async with _client(handler) as client:
        (result,) = await run_pairs(
            [("EUR", "USD")], sources, start=D(2026, 3, 16), end=D(2026, 3, 18), client=client,
            retries=1,
        )  # fmt: skip
    assert hosts == ["ecb.test", "ecb.test", "ff.test"]  # one retry, then the fallback
    assert result.source == "frankfurter"
    assert [r for _, r in result.rates] == [1.1478, 1.1531, 1.15]


@pytest.mark.asyncio
async def test_engine_reports_each_pair_in_request_order() -> None:
    """A not-found pair is an error beside the good one; nothing raises for the batch."""

    def handler(request: httpx.Request) -> httpx.Response:
        if "XYZ" in request.url.path:
            return httpx.Response(404, content=b"No results found.")
        return httpx.Response(200, content=raw(ECB_CSV), headers={"content-type": "text/csv"})

    async with _client(handler) as client:
        results = await run_pairs(
            [("EUR", "XYZ"), ("EUR", "GBP")], [get_source("ecb")], start=D(2026, 3, 17),
            end=D(2026, 3, 18), client=client,
        )  # fmt: skip
    assert [(r.quote, r.error) for r in results] == [("XYZ", "not found"), ("GBP", None)]
    assert "the ECB publishes no XYZ rates" in (results[0].message or "")
    assert results[1].rates == [(D(2026, 3, 17), 0.8643), (D(2026, 3, 18), 0.86393)]


# -- live (need the internet; deselected by default) ----------------------------------------

#: the ECB's published EUR/USD fixings of 2024-01-02 .. 05, as in its eurofxref-hist file
ECB_EURUSD_2024_01 = [
    (D(2024, 1, 2), 1.0956),
    (D(2024, 1, 3), 1.0919),
    (D(2024, 1, 4), 1.0953),
    (D(2024, 1, 5), 1.0921),
]


@pytest.mark.network
@pytest.mark.parametrize("name", ["ecb", "frankfurter"])
def test_live_ecb_rates_match_the_published_fixings(name: str) -> None:
    """The live ECB API and Frankfurter give the ECB's own EUR/USD fixings of early 2024."""
    import asyncio

    async def fetch() -> list[tuple[dt.date, float]]:
        async with httpx.AsyncClient(timeout=30) as client:
            history = await get_source(name).fetch_history(
                client, "EUR/USD", D(2024, 1, 1), D(2024, 1, 5)
            )
        return [(b.date, b.close) for b in history.bars]

    assert asyncio.run(fetch()) == ECB_EURUSD_2024_01


@pytest.mark.network
def test_live_yahoo_eurusd_is_near_the_ecb_fixing() -> None:
    """Yahoo's EURUSD=X closes of early 2024 are within 1% of the ECB's fixings."""
    import asyncio

    async def fetch() -> dict[dt.date, float]:
        async with httpx.AsyncClient(timeout=30) as client:
            history = await get_source("yahoo").fetch_history(
                client, "EUR/USD", D(2024, 1, 2), D(2024, 1, 5)
            )
        return {b.date: b.close for b in history.bars}

    got = asyncio.run(fetch())
    for day, fixing in ECB_EURUSD_2024_01:
        assert got[day] == pytest.approx(fixing, rel=0.01)


@pytest.mark.asyncio
async def test_frankfurter_asks_a_long_range_a_year_at_a_time() -> None:
    """2024-01-01..2025-06-30 goes as two requests: 365 days, then the rest; rates are merged."""
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        first = request.url.path.split("/")[-1].split("..")[0]
        body = {"amount": 1.0, "base": "EUR", "start_date": first, "end_date": first,
                "rates": {first: {"USD": 1.1}}}  # fmt: skip
        return httpx.Response(200, json=body)

    async with _client(handler) as client:
        history = await get_source("frankfurter").fetch_history(
            client, "EUR/USD", D(2024, 1, 1), D(2025, 6, 30)
        )
    # 2024 is a leap year: 365 days from 2024-01-01 end on 2024-12-30
    assert paths == ["/v1/2024-01-01..2024-12-30", "/v1/2024-12-31..2025-06-30"]
    assert [b.date for b in history.bars] == [D(2024, 1, 1), D(2024, 12, 31)]
