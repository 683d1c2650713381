"""Quote providers: parsers against recorded bodies, requests built, errors mapped, registry.

Expected values are read by hand from the files in tests/fixtures/providers (see its README) or
from public market history, never from the parsers' own output. Bodies marked "synthetic" are
built in the test to reach a case no recording shows; each says what it stands for.
"""

from __future__ import annotations

import datetime as dt
import logging

import httpx
import pytest
from _providers_helpers import (
    Recorder,
    Reply,
    fixed_clock,
    fixture_reply,
    json_reply,
    load,
    running_mirror,
)

from workbench.errors import (
    MalformedResponse,
    ProviderUnavailable,
    QuoteError,
    RateLimited,
    SymbolNotFound,
    WorkbenchError,
)
from workbench.quotes.base import Provider
from workbench.quotes.providers import (
    PROVIDER_NAMES,
    AlphaVantageProvider,
    BinanceProvider,
    CoinGeckoProvider,
    WorkbenchApiProvider,
    YahooProvider,
    binance,
    coingecko,
    get_provider,
    workbench_api,
    yahoo,
)
from workbench.quotes.providers import alphavantage as av

UTC = dt.UTC
D = dt.date
MIRROR = "http://127.0.0.1:9999/mirror"


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    """An aware UTC datetime."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --------------------------------------------------------------------------- yahoo parsers


def test_yahoo_quote_reads_chart_meta() -> None:
    """The AAPL chart's meta gives price 244.87 USD, volume 32129951 at 1739998801."""
    quote = yahoo.parse_chart_quote("AAPL", load("yahoo_chart_AAPL.json"))
    assert quote.price == 244.87
    assert quote.currency == "USD"
    assert quote.volume == 32129951
    assert quote.time == at(2025, 2, 19, 21, 0, 1)
    assert (quote.symbol, quote.provider) == ("AAPL", "yahoo")


@pytest.mark.parametrize(
    ("name", "symbol", "price", "currency"),
    [
        pytest.param("yahoo_chart_BTC-USD.json", "BTC-USD", 97208.17, "USD", id="crypto"),
        pytest.param("yahoo_chart_EURUSD_X.json", "EURUSD=X", 1.0436, "USD", id="fx"),
        pytest.param("yahoo_chart_WSU.DE.json", "WSU.DE", 38.9, "EUR", id="xetra"),
    ],
)
def test_yahoo_quote_other_markets(name: str, symbol: str, price: float, currency: str) -> None:
    """Crypto, FX and German charts give their meta price and currency."""
    quote = yahoo.parse_chart_quote(symbol, load(name))
    assert (quote.price, quote.currency) == (price, currency)


def test_yahoo_history_all_49_bars_of_aapl() -> None:
    """The AAPL chart has 49 daily bars from 2020-08-31 to 2020-11-06, first and last as recorded."""
    history = yahoo.parse_chart_history("AAPL", load("yahoo_chart_AAPL.json"))
    assert len(history.bars) == 49
    first, last = history.bars[0], history.bars[-1]
    assert first.date == D(2020, 8, 31)
    # the split day itself already trades at the new ratio: not multiplied by 4
    assert (first.open, first.close, first.volume) == (
        127.58000183105469,
        129.0399932861328,
        225702700,
    )
    assert (first.high, first.low) == (131, 126)
    assert last.date == D(2020, 11, 6)
    assert last.close == 118.69000244140625
    assert [b.date for b in history.bars] == sorted({b.date for b in history.bars})
    assert history.currency == "USD"


def test_yahoo_history_limited_to_requested_days() -> None:
    """start/end keep 2020-09-01..09-04 (four sessions) and drop the rest."""
    history = yahoo.parse_chart_history(
        "AAPL", load("yahoo_chart_AAPL.json"), start=D(2020, 9, 1), end=D(2020, 9, 4)
    )
    assert [b.date for b in history.bars] == [D(2020, 9, d) for d in (1, 2, 3, 4)]
    assert history.bars[0].close == 134.17999267578125


def test_yahoo_history_undoes_later_split() -> None:
    """Synthetic: Yahoo's 2020-08-28 AAPL close 124.8075 before the 4:1 split is 499.23 as traded."""
    payload = {
        "chart": {
            "result": [
                {
                    "meta": {"currency": "USD", "exchangeTimezoneName": "America/New_York"},
                    "timestamp": [1598621400, 1598880600],  # 08-28 and 08-31 09:30 EDT
                    "events": {
                        "splits": {
                            "1598880600": {"date": 1598880600, "numerator": 4, "denominator": 1}
                        }
                    },
                    "indicators": {
                        "quote": [
                            {
                                "open": [126.0, 127.58],
                                "high": [126.5, 131.0],
                                "low": [124.5, 126.0],
                                "close": [124.8075, 129.04],
                                "volume": [187630000, 225702700],
                            }
                        ]
                    },
                }
            ],
            "error": None,
        }
    }
    bars = yahoo.parse_chart_history("AAPL", payload).bars
    assert bars[0].date == D(2020, 8, 28)
    assert bars[0].close == pytest.approx(499.23)
    assert bars[0].open == pytest.approx(504.0)
    assert bars[0].volume == pytest.approx(46907500)
    assert (bars[1].close, bars[1].volume) == (129.04, 225702700)


def test_yahoo_history_drops_all_null_bars() -> None:
    """Of the 10 BTC-USD positions, the three all-null ones (10-09, 10-12, 10-13) are dropped."""
    history = yahoo.parse_chart_history(
        "BTC-USD", load("yahoo_chart_BTC-USD_with_nulls_trimmed.json")
    )
    assert [b.date for b in history.bars] == [D(2020, 10, d) for d in (7, 8, 10, 11, 14, 15, 16)]
    assert history.bars[2].close == 11296.361328125


def test_yahoo_history_empty_range_is_empty_not_error() -> None:
    """A weekend range has no timestamp key: an empty history in USD."""
    history = yahoo.parse_chart_history(
        "AAPL", load("yahoo_chart_AAPL_empty_range_no_timestamp.json")
    )
    assert history.bars == []
    assert history.currency == "USD"


@pytest.mark.parametrize(
    ("name", "symbol", "dates", "first_close", "currency"),
    [
        pytest.param("yahoo_chart_AAPL_single_day.json", "AAPL", [D(2020, 1, 2)],
                     75.0875015258789, "USD", id="single-day"),
        pytest.param("yahoo_chart_WSU.DE.json", "WSU.DE",
                     [D(2023, 8, 4), D(2023, 8, 7), D(2023, 8, 8)], 34.45000076293945, "EUR",
                     id="xetra-07utc"),
        pytest.param("yahoo_chart_EURUSD_X.json", "EURUSD=X",
                     [D(2020, 1, 1), D(2020, 1, 2), D(2020, 1, 3)], 1.1220825910568237, "USD",
                     id="fx-00utc"),
        pytest.param("yahoo_chart_BTC-USD.json", "BTC-USD",
                     [D(2020, 1, 1), D(2020, 1, 2), D(2020, 1, 3)], 7200.17431640625, "USD",
                     id="crypto"),
    ],
)  # fmt: skip
def test_yahoo_history_dates_and_closes(
    name: str, symbol: str, dates: list[dt.date], first_close: float, currency: str
) -> None:
    """Each recorded chart gives its bar dates (exchange-local) and first close."""
    history = yahoo.parse_chart_history(symbol, load(name))
    assert [b.date for b in history.bars] == dates
    assert history.bars[0].close == first_close
    assert history.currency == currency


def test_yahoo_history_dates_in_exchange_time_zone() -> None:
    """Synthetic: Sydney's 10:00 AEDT open on 2024-01-15 is 23:00 UTC the day before."""
    payload = {
        "chart": {
            "result": [
                {
                    "meta": {"currency": "AUD", "exchangeTimezoneName": "Australia/Sydney"},
                    "timestamp": [1705273200],
                    "indicators": {"quote": [{"close": [7.5]}]},
                }
            ],
            "error": None,
        }
    }
    assert [b.date for b in yahoo.parse_chart_history("BHP.AX", payload).bars] == [D(2024, 1, 15)]


def test_yahoo_pence_become_pounds() -> None:
    """The AAPL single-day body relabelled GBp reports GBP and prices divided by 100."""
    payload = load("yahoo_chart_AAPL_single_day.json")
    payload["chart"]["result"][0]["meta"]["currency"] = "GBp"
    quote = yahoo.parse_chart_quote("X.L", payload)
    assert quote.price == pytest.approx(2.4487)
    assert quote.currency == "GBP"
    bar = yahoo.parse_chart_history("X.L", payload).bars[0]
    assert bar.close == pytest.approx(0.750875015258789)
    assert bar.volume == 135480400  # shares, not money: unchanged


def test_yahoo_not_found_body() -> None:
    """The delisted-MDLY body (chart.error Not Found) is SymbolNotFound."""
    with pytest.raises(SymbolNotFound, match="delisted"):
        yahoo.parse_chart_quote("MDLY", load("yahoo_chart_not_found_404.json"))


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param([], id="array"),
        pytest.param({"chart": {"result": [{"meta": {}}], "error": None}}, id="no-price"),
        pytest.param({"chart": {"result": [{"meta": {"regularMarketPrice": "n/a"}}]}}, id="text"),
        pytest.param({"quoteResponse": {"result": []}}, id="v7-shape"),
        pytest.param(
            {"chart": {"result": [{"meta": {"regularMarketPrice": 1, "regularMarketTime": 1e20}}]}},
            id="absurd-time",
        ),
    ],
)
def test_yahoo_quote_malformed(payload: object) -> None:
    """Bodies without a numeric meta price are MalformedResponse."""
    with pytest.raises(MalformedResponse):
        yahoo.parse_chart_quote("AAPL", payload)


def test_yahoo_history_mismatched_arrays_malformed() -> None:
    """A close array shorter than the timestamps is MalformedResponse, not a silent shift."""
    payload = load("yahoo_chart_BTC-USD.json")
    payload["chart"]["result"][0]["indicators"]["quote"][0]["close"].pop()
    with pytest.raises(MalformedResponse):
        yahoo.parse_chart_history("BTC-USD", payload)


# --------------------------------------------------------------------------- yahoo requests


@pytest.mark.asyncio
async def test_yahoo_quote_request() -> None:
    """fetch_quote asks the v8 chart of the symbol for one day, with a browser user agent."""
    recorder = Recorder(fixture_reply("yahoo_chart_AAPL.json"))
    async with recorder.client() as client:
        quote = await YahooProvider().fetch_quote(client, "AAPL")
    assert str(recorder.url) == (
        "https://query1.finance.yahoo.com/v8/finance/chart/AAPL?range=1d&interval=1d"
    )
    assert recorder.requests[0].headers["user-agent"].startswith("Mozilla/5.0")
    assert quote.price == 244.87


@pytest.mark.asyncio
async def test_yahoo_base_url_keeps_path() -> None:
    """A mirror base URL with a prefix keeps /v8/finance/chart/{symbol} after it."""
    recorder = Recorder(fixture_reply("yahoo_chart_EURUSD_X.json"))
    async with recorder.client() as client:
        await YahooProvider(base_url=MIRROR + "/").fetch_quote(client, "EURUSD=X")
    url = recorder.url
    assert (url.scheme, url.host, url.port) == ("http", "127.0.0.1", 9999)
    assert url.raw_path.startswith(b"/mirror/v8/finance/chart/EURUSD=X?")


@pytest.mark.asyncio
async def test_yahoo_symbol_escaped_in_path() -> None:
    """An index symbol's caret is escaped and a slash cannot change the path."""
    recorder = Recorder(fixture_reply("yahoo_chart_AAPL.json"))
    async with recorder.client() as client:
        provider = YahooProvider()
        await provider.fetch_quote(client, "^GSPC")
        await provider.fetch_quote(client, "../v7/x")
    assert recorder.requests[0].url.raw_path.startswith(b"/v8/finance/chart/%5EGSPC?")
    assert recorder.requests[1].url.raw_path.startswith(b"/v8/finance/chart/..%2Fv7%2Fx?")


@pytest.mark.asyncio
async def test_yahoo_history_request() -> None:
    """History asks period1 = start 00:00 UTC (1598832000), period2 = now, daily, with splits."""
    recorder = Recorder(fixture_reply("yahoo_chart_AAPL.json"))
    provider = YahooProvider(clock=fixed_clock(at(2025, 2, 20, 12)))
    async with recorder.client() as client:
        history = await provider.fetch_history(client, "AAPL", D(2020, 8, 31), D(2020, 11, 6))
    params = recorder.url.params
    assert recorder.url.path == "/v8/finance/chart/AAPL"
    assert params["period1"] == "1598832000"
    assert params["period2"] == "1740052800"
    assert (params["interval"], params["events"]) == ("1d", "split")
    assert len(history.bars) == 49


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(
            fixture_reply("yahoo_chart_not_found_404.json", 404), SymbolNotFound, id="404"
        ),
        pytest.param(fixture_reply("yahoo_429_body.txt", 429), RateLimited, id="429-text"),
        pytest.param(fixture_reply("yahoo_429_body.txt", 200), MalformedResponse, id="200-text"),
        pytest.param(json_reply({"detail": "x"}, 503), ProviderUnavailable, id="503"),
        pytest.param(
            json_reply({"finance": {"result": None, "error": {"code": "Unauthorized"}}}, 401),
            QuoteError,
            id="401",
        ),
    ],
)
@pytest.mark.asyncio
async def test_yahoo_http_errors(reply: Reply | Exception, error: type[Exception]) -> None:
    """404, plain-text 429, non-JSON 200, 503 and 401 map to the workbench errors."""
    recorder = Recorder(reply)
    async with recorder.client() as client:
        with pytest.raises(error):
            await YahooProvider().fetch_quote(client, "MDLY")


@pytest.mark.asyncio
async def test_yahoo_429_retry_after() -> None:
    """The plain-text 429 carries its Retry-After seconds."""
    recorder = Recorder(fixture_reply("yahoo_429_body.txt", 429, **{"retry-after": "30"}))
    async with recorder.client() as client:
        with pytest.raises(RateLimited) as caught:
            await YahooProvider().fetch_quote(client, "AAPL")
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(httpx.ReadTimeout("slow"), id="timeout"),
        pytest.param(httpx.ConnectError("refused"), id="refused"),
    ],
)
@pytest.mark.asyncio
async def test_transport_failures_are_unavailable(exc: Exception) -> None:
    """Timeouts and refused connections are ProviderUnavailable with the httpx cause kept."""
    async with Recorder(exc).client() as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await YahooProvider().fetch_quote(client, "AAPL")
    assert caught.value.__cause__ is exc


@pytest.mark.asyncio
async def test_unfollowed_redirect_names_host() -> None:
    """A redirect (Yahoo's EU consent page) is a QuoteError naming the host, not an HTML parse."""
    location = "https://guce.yahoo.com/consent?sessionId=3_cc-session"
    reply = Reply(302, b"", {"location": location})
    async with Recorder(reply).client() as client:
        with pytest.raises(QuoteError, match=r"redirected to guce\.yahoo\.com") as caught:
            await YahooProvider().fetch_quote(client, "AAPL")
    assert "sessionId" not in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "error"),
    [
        pytest.param("http://127.0.0.1:notaport", QuoteError, id="bad-port"),
        pytest.param("ftp://127.0.0.1", ProviderUnavailable, id="scheme"),
    ],
)
@pytest.mark.asyncio
async def test_bad_base_url(base_url: str, error: type[Exception]) -> None:
    """A base URL httpx cannot use is a QuoteError, not an httpx exception."""
    async with httpx.AsyncClient() as client:
        with pytest.raises(error):
            await YahooProvider(base_url=base_url).fetch_quote(client, "AAPL")


@pytest.mark.asyncio
async def test_empty_symbol_makes_no_request() -> None:
    """A blank symbol is SymbolNotFound before any request."""
    recorder = Recorder(fixture_reply("yahoo_chart_AAPL.json"))
    async with recorder.client() as client:
        with pytest.raises(SymbolNotFound):
            await YahooProvider().fetch_quote(client, "  ")
    assert recorder.requests == []


# --------------------------------------------------------------------------- binance


def test_binance_ticker_ccxt_recording() -> None:
    """BTCUSDT: last 73346.14, quote volume 9254480.3601184, closeTime 1710328244727 ms, USD."""
    quote = binance.parse_ticker("BTCUSDT", load("binanceus_ticker_24hr_BTCUSDT_ccxt.json"))
    assert quote.price == 73346.14
    assert quote.volume == 9254480.3601184
    assert quote.time == at(2024, 3, 13, 11, 10, 44) + dt.timedelta(milliseconds=727)
    assert quote.currency == "USD"


def test_binance_ticker_docs_example() -> None:
    """The docs' BNBBTC ticker: 4.000002 BTC, quote volume 15.3, integer closeTime."""
    quote = binance.parse_ticker("BNBBTC", load("binance_ticker_24hr_docs_example.json"))
    assert (quote.price, quote.currency, quote.volume) == (4.000002, "BTC", 15.3)
    assert quote.time == at(2017, 7, 12, 14, 31, 39) + dt.timedelta(milliseconds=40)


def test_binance_daily_klines() -> None:
    """The two 1d klines are 2021-01-01 and 01-02 with their decimal-string prices as floats."""
    history = binance.parse_klines("BTCUSDT", load("binance_klines_BTCUSDT_1d.json"))
    first, second = history.bars
    assert first.date == D(2021, 1, 1)
    assert (first.open, first.high, first.low, first.close) == (28923.63, 29600, 28624.57, 29331.69)
    assert first.volume == 1582526989.16187265  # quote-asset (USDT) volume, field 7
    assert (second.date, second.close) == (D(2021, 1, 2), 32178.33)
    assert history.currency == "USD"


def test_binance_hourly_kline_dated_by_utc_open() -> None:
    """The ccxt 1h kline opening 1710327600000 ms is dated 2024-03-13, close 73347.62."""
    (bar,) = binance.parse_klines("BTCUSDT", load("binanceus_klines_BTCUSDT_1h_ccxt.json")).bars
    assert (bar.date, bar.close, bar.volume) == (D(2024, 3, 13), 73347.62, 17296.8930754)


@pytest.mark.parametrize(
    ("symbol", "currency"),
    [
        ("BTCUSDT", "USD"), ("BTCFDUSD", "USD"), ("ethusdc", "USD"), ("BTC-USDT", "USD"),
        ("ETHBTC", "BTC"), ("BTCEUR", "EUR"), ("BNBETH", "ETH"), ("ABCXYZ", None), ("USDT", None),
    ],
)  # fmt: skip
def test_binance_quote_currency_from_suffix(symbol: str, currency: str | None) -> None:
    """USD stablecoin pairs are USD; other quote assets as they are; unknown suffixes None."""
    assert binance.quote_currency(symbol) == currency


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"lastPrice": "abc"}, id="text-price"),
        pytest.param({"symbol": "BTCUSDT"}, id="no-price"),
        pytest.param([1, 2], id="array"),
    ],
)
def test_binance_ticker_malformed(payload: object) -> None:
    """A ticker without a numeric lastPrice is MalformedResponse."""
    with pytest.raises(MalformedResponse):
        binance.parse_ticker("BTCUSDT", payload)


def test_binance_short_kline_malformed() -> None:
    """A kline row without the quote-volume field is MalformedResponse."""
    with pytest.raises(MalformedResponse):
        binance.parse_klines("BTCUSDT", [[1609459200000, "1", "2", "0.5", "1.5", "10"]])


@pytest.mark.asyncio
async def test_binance_quote_request() -> None:
    """BTC-USDT asks ticker/24hr?symbol=BTCUSDT and answers under the caller's spelling."""
    recorder = Recorder(fixture_reply("binanceus_ticker_24hr_BTCUSDT_ccxt.json"))
    async with recorder.client() as client:
        quote = await BinanceProvider().fetch_quote(client, "BTC-USDT")
    assert str(recorder.url) == "https://api.binance.com/api/v3/ticker/24hr?symbol=BTCUSDT"
    assert (quote.symbol, quote.price) == ("BTC-USDT", 73346.14)


@pytest.mark.asyncio
async def test_binance_history_request() -> None:
    """Klines run from 1609459200000 (2021-01-01) to 1609631999999 (the end of 01-02)."""
    recorder = Recorder(fixture_reply("binance_klines_BTCUSDT_1d.json"))
    async with recorder.client() as client:
        provider = BinanceProvider(base_url=MIRROR)
        history = await provider.fetch_history(client, "BTCUSDT", D(2021, 1, 1), D(2021, 1, 2))
    url = recorder.url
    assert (url.host, url.port, url.path) == ("127.0.0.1", 9999, "/mirror/api/v3/klines")
    assert dict(url.params) == {
        "symbol": "BTCUSDT",
        "interval": "1d",
        "startTime": "1609459200000",
        "endTime": "1609631999999",
        "limit": "1000",
    }
    assert [b.date for b in history.bars] == [D(2021, 1, 1), D(2021, 1, 2)]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(fixture_reply("binance_error_invalid_symbol_docs_example.json", 400),
                     SymbolNotFound, id="400-invalid-symbol"),
        pytest.param(json_reply({"code": -1100, "msg": "Illegal characters"}, 400), QuoteError,
                     id="400-other"),
        pytest.param(json_reply({"code": -1003, "msg": "Too many"}, 429), RateLimited, id="429"),
        pytest.param(json_reply({"code": -1003, "msg": "banned"}, 418), RateLimited, id="418"),
        pytest.param(json_reply({}, 503), ProviderUnavailable, id="503"),
        pytest.param(fixture_reply("yahoo_429_body.txt", 200), MalformedResponse, id="200-text"),
    ],
)  # fmt: skip
@pytest.mark.asyncio
async def test_binance_http_errors(reply: Reply | Exception, error: type[Exception]) -> None:
    """Binance's 400 -1121 is not-found, other 400s stay errors, 418/429 are rate limits."""
    async with Recorder(reply).client() as client:
        with pytest.raises(error) as caught:
            await BinanceProvider().fetch_quote(client, "NOPE")
    if error is QuoteError:
        assert not isinstance(caught.value, SymbolNotFound)


@pytest.mark.asyncio
async def test_binance_429_retry_after() -> None:
    """A 429's Retry-After seconds are kept."""
    reply = json_reply({"code": -1003}, 429, **{"retry-after": "7"})
    async with Recorder(reply).client() as client:
        with pytest.raises(RateLimited) as caught:
            await BinanceProvider().fetch_history(client, "BTCUSDT", D(2021, 1, 1), D(2021, 1, 2))
    assert caught.value.retry_after == 7.0


# --------------------------------------------------------------------------- coingecko


@pytest.mark.parametrize(
    ("name", "symbol", "price"),
    [
        ("coingecko_simple_price_bitcoin_usd.json", "BTC", 7984.89),
        ("coingecko_simple_price_bitcoin_usd.json", "bitcoin", 7984.89),
        ("coingecko_simple_price_ethereum_with_market_cap.json", "ETH", 4208.38),
        ("coingecko_simple_price_multi.json", "olympus", 30.3),
        ("coingecko_simple_price_multi.json", "eth", 3015.64),
    ],
)
def test_coingecko_simple_price(name: str, symbol: str, price: float) -> None:
    """Tickers and ids pick their coin's usd price from the body."""
    quote = coingecko.parse_simple_price(symbol, load(name))
    assert (quote.symbol, quote.price, quote.currency) == (symbol, price, "USD")


def test_coingecko_simple_price_volume_and_time() -> None:
    """Synthetic: include_24hr_vol and include_last_updated_at fields fill volume and time."""
    body = {"bitcoin": {"usd": 42000.5, "usd_24h_vol": 1.5e10, "last_updated_at": 1704067200}}
    quote = coingecko.parse_simple_price("BTC", body)
    assert (quote.volume, quote.time) == (1.5e10, at(2024, 1, 1))


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        pytest.param(load("coingecko_simple_price_unknown_id.json"), SymbolNotFound, id="empty"),
        pytest.param({"bitcoin": {}}, SymbolNotFound, id="no-vs-price"),
        pytest.param(load("coingecko_error_429.json"), RateLimited, id="429-body"),
        pytest.param({"bitcoin": {"usd": "lots"}}, MalformedResponse, id="text-price"),
    ],
)
def test_coingecko_simple_price_errors(payload: object, error: type[Exception]) -> None:
    """{} (unknown id) is not-found; the 429 body is a rate limit; junk is malformed."""
    with pytest.raises(error):
        coingecko.parse_simple_price("BTC", payload)


def test_coingecko_market_chart_intraday_samples() -> None:
    """Six 5-minute samples of 2018-08-27 make one bar closing at the last, 6706.8989..."""
    history = coingecko.parse_market_chart(
        "bitcoin", load("coingecko_market_chart_bitcoin_usd_days1_prices_only.json")
    )
    (bar,) = history.bars
    assert (bar.date, bar.close) == (D(2018, 8, 27), 6706.898948451269)
    assert (bar.open, bar.high, bar.low, bar.volume) == (None, None, None, None)
    assert history.currency == "USD"


def test_coingecko_market_chart_midnight_closes_previous_day() -> None:
    """Synthetic daily body: 00:00 samples close the day before; the last sample is today's."""
    ms = 1000
    body = {
        "prices": [[1704153600 * ms, 100.0], [1704240000 * ms, 110.0], [1704294000 * ms, 115.0]],
        "total_volumes": [[1704153600 * ms, 5.0], [1704240000 * ms, 6.0], [1704294000 * ms, 7.0]],
    }
    bars = coingecko.parse_market_chart("BTC", body).bars
    assert [(b.date, b.close, b.volume) for b in bars] == [
        (D(2024, 1, 1), 100.0, 5.0),
        (D(2024, 1, 2), 110.0, 6.0),
        (D(2024, 1, 3), 115.0, 7.0),
    ]


def test_coingecko_market_chart_unknown_coin() -> None:
    """The coins/{id} not-found body is SymbolNotFound."""
    with pytest.raises(SymbolNotFound):
        coingecko.parse_market_chart("nope", load("coingecko_error_coin_not_found.json"))


@pytest.mark.parametrize(
    ("symbol", "resolved"),
    [
        ("BTC", ("bitcoin", "usd")), ("eth", ("ethereum", "usd")), ("BTC-EUR", ("bitcoin", "eur")),
        ("usd-coin", ("usd-coin", "usd")), ("Shiba-Inu", ("shiba-inu", "usd")),
    ],
)  # fmt: skip
def test_coingecko_resolve(symbol: str, resolved: tuple[str, str]) -> None:
    """Tickers map to ids, TICKER-VS sets the currency, ids pass through lower-cased."""
    assert coingecko.resolve(symbol) == resolved


@pytest.mark.asyncio
async def test_coingecko_quote_request() -> None:
    """BTC asks simple/price for ids=bitcoin in usd with volume and update time."""
    recorder = Recorder(fixture_reply("coingecko_simple_price_bitcoin_usd.json"))
    async with recorder.client() as client:
        quote = await CoinGeckoProvider().fetch_quote(client, "BTC")
    assert str(recorder.url) == (
        "https://api.coingecko.com/api/v3/simple/price?ids=bitcoin&vs_currencies=usd"
        "&include_24hr_vol=true&include_last_updated_at=true"
    )
    assert quote.price == 7984.89


@pytest.mark.asyncio
async def test_coingecko_history_request() -> None:
    """History asks market_chart of the id with days back to start and daily interval."""
    recorder = Recorder(fixture_reply("coingecko_market_chart_bitcoin_usd_days1_prices_only.json"))
    provider = CoinGeckoProvider(base_url=MIRROR, clock=fixed_clock(at(2024, 1, 3, 15)))
    async with recorder.client() as client:
        await provider.fetch_history(client, "BTC", D(2024, 1, 1), D(2024, 1, 3))
    assert recorder.url.path == "/mirror/api/v3/coins/bitcoin/market_chart"
    assert dict(recorder.url.params) == {"vs_currency": "usd", "days": "3", "interval": "daily"}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(fixture_reply("coingecko_simple_price_unknown_id.json"), SymbolNotFound,
                     id="200-empty"),
        pytest.param(fixture_reply("coingecko_error_coin_not_found.json", 404), SymbolNotFound,
                     id="404"),
        pytest.param(fixture_reply("coingecko_error_429.json", 429), RateLimited, id="429"),
        pytest.param(json_reply({"error": {"status": {"error_code": 10012,
                     "error_message": "exceeds the allowed time range"}}}, 401), QuoteError,
                     id="401-range"),
        pytest.param(Reply(200, b"<html>cf</html>", {}), MalformedResponse, id="200-html"),
    ],
)  # fmt: skip
@pytest.mark.asyncio
async def test_coingecko_http_errors(reply: Reply | Exception, error: type[Exception]) -> None:
    """CoinGecko's 200 {}, 404, 429 JSON, 401 and HTML bodies map to the workbench errors."""
    async with Recorder(reply).client() as client:
        with pytest.raises(error) as caught:
            await CoinGeckoProvider().fetch_quote(client, "nope")
    if error is QuoteError:
        assert "allowed time range" in str(caught.value)


@pytest.mark.asyncio
async def test_coingecko_429_retry_after() -> None:
    """The recorded 429 came with retry-after: 119."""
    reply = fixture_reply("coingecko_error_429.json", 429, **{"retry-after": "119"})
    async with Recorder(reply).client() as client:
        with pytest.raises(RateLimited) as caught:
            await CoinGeckoProvider().fetch_quote(client, "BTC")
    assert caught.value.retry_after == 119.0


@pytest.mark.asyncio
async def test_coingecko_key_in_header_not_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key (here from COINGECKO_API_KEY) goes in x-cg-demo-api-key, not the URL or repr."""
    monkeypatch.setenv("COINGECKO_API_KEY", "CG-secret-123")
    recorder = Recorder(fixture_reply("coingecko_simple_price_bitcoin_usd.json"))
    provider = CoinGeckoProvider()
    async with recorder.client() as client:
        await provider.fetch_quote(client, "BTC")
    assert recorder.requests[0].headers["x-cg-demo-api-key"] == "CG-secret-123"
    assert "CG-secret-123" not in str(recorder.url)
    assert "CG-secret-123" not in repr(provider)
    assert provider.rate_limit == coingecko.DEMO_KEY_RATE_LIMIT > coingecko.KEYLESS_RATE_LIMIT


# --------------------------------------------------------------------------- alphavantage

SECRET = "AVSECRETKEY42"


@pytest.fixture
def no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither provider key is set in the environment."""
    monkeypatch.delenv("ALPHAVANTAGE_API_KEY", raising=False)
    monkeypatch.delenv("COINGECKO_API_KEY", raising=False)


@pytest.mark.parametrize(
    ("name", "symbol", "price", "volume", "day"),
    [
        ("alphavantage_global_quote_IBM.json", "IBM", 121.74, 2528814, at(2020, 5, 8)),
        ("alphavantage_global_quote_MSFT.json", "MSFT", 112.13, 29062853, at(2018, 10, 5)),
    ],
)
def test_alphavantage_global_quote(
    name: str, symbol: str, price: float, volume: float, day: dt.datetime
) -> None:
    """GLOBAL_QUOTE's decimal strings give price, volume and the latest trading day, in USD."""
    quote = av.parse_global_quote(symbol, load(name))
    assert (quote.price, quote.volume, quote.time, quote.currency) == (price, volume, day, "USD")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("alphavantage_global_quote_unknown_symbol.json", SymbolNotFound),
        ("alphavantage_error_invalid_symbol_time_series_daily.json", SymbolNotFound),
        ("alphavantage_rate_limit_note_legacy.json", RateLimited),
        ("alphavantage_rate_limit_information_2025.json", RateLimited),
    ],
)
def test_alphavantage_http_200_errors(name: str, error: type[Exception]) -> None:
    """Empty Global Quote and Error Message are not-found; Note and Information are rate limits."""
    with pytest.raises(error):
        av.parse_global_quote("XXXX", load(name))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param({"Information": "Thank you for using Alpha Vantage! This is a premium "
                      "endpoint. You may subscribe..."}, QuoteError, id="premium"),
        pytest.param({"Error Message": "the parameter apikey is invalid or missing."}, QuoteError,
                     id="bad-key"),
    ],
)  # fmt: skip
def test_alphavantage_errors_waiting_will_not_fix(body: object, error: type[Exception]) -> None:
    """Synthetic: premium-only and bad-key bodies are plain QuoteErrors, not limits or not-found."""
    with pytest.raises(error) as caught:
        av.parse_global_quote("IBM", body)
    assert type(caught.value) is QuoteError


def test_alphavantage_note_retry_after_a_minute() -> None:
    """The per-minute Note suggests waiting 60 s; the daily Information gives no time."""
    with pytest.raises(RateLimited) as note:
        av.parse_global_quote("IBM", load("alphavantage_rate_limit_note_legacy.json"))
    with pytest.raises(RateLimited) as info:
        av.parse_global_quote("IBM", load("alphavantage_rate_limit_information_2025.json"))
    assert (note.value.retry_after, info.value.retry_after) == (60.0, None)


def test_alphavantage_daily_series() -> None:
    """TIME_SERIES_DAILY's two IBM days come oldest first with as-traded prices."""
    history = av.parse_time_series_daily("IBM", load("alphavantage_time_series_daily_IBM.json"))
    first, second = history.bars
    assert (first.date, first.open, first.high, first.low) == (
        D(2020, 5, 7),
        122.98,
        123.26,
        120.85,
    )
    assert (first.close, first.volume) == (121.23, 4412047)
    assert (second.date, second.close, second.volume) == (D(2020, 5, 8), 121.79, 2538547)


def test_alphavantage_adjusted_series_uses_raw_close() -> None:
    """The premium adjusted body gives the unadjusted 4. close and the 6. volume."""
    body = load("alphavantage_time_series_daily_adjusted_IBM_premium.json")
    bars = av.parse_time_series_daily("IBM", body, start=D(2020, 5, 8)).bars
    assert [(b.date, b.close, b.volume) for b in bars] == [(D(2020, 5, 8), 121.805, 2542577)]


def test_alphavantage_daily_series_errors() -> None:
    """The invalid-symbol Error Message on TIME_SERIES_DAILY is SymbolNotFound."""
    with pytest.raises(SymbolNotFound, match="Invalid API call"):
        av.parse_time_series_daily(
            "XXXX", load("alphavantage_error_invalid_symbol_time_series_daily.json")
        )


@pytest.mark.parametrize(
    ("symbol", "currency"),
    [("IBM", "USD"), ("SHOP.TRT", "CAD"), ("MBG.DEX", "EUR"), ("TSCO.LON", None), ("X.ZZZ", None)],
)
def test_alphavantage_currency_from_suffix(symbol: str, currency: str | None) -> None:
    """No suffix is a US listing; documented suffixes give their currency; London stays unknown."""
    assert av.currency_of(symbol) == currency


@pytest.mark.asyncio
async def test_alphavantage_quote_request(no_env_keys: None) -> None:
    """GLOBAL_QUOTE goes to {base}/query with function, symbol and the key."""
    recorder = Recorder(fixture_reply("alphavantage_global_quote_IBM.json"))
    async with recorder.client() as client:
        await AlphaVantageProvider(api_key=SECRET, base_url=MIRROR).fetch_quote(client, "IBM")
    assert str(recorder.url) == (
        f"http://127.0.0.1:9999/mirror/query?function=GLOBAL_QUOTE&symbol=IBM&apikey={SECRET}"
    )


@pytest.mark.parametrize(
    ("start", "outputsize"), [(D(2026, 9, 1), "compact"), (D(2020, 5, 7), "full")]
)
@pytest.mark.asyncio
async def test_alphavantage_history_request(start: dt.date, outputsize: str) -> None:
    """Recent starts ask the free compact series; older ones the (premium) full series."""
    recorder = Recorder(fixture_reply("alphavantage_time_series_daily_IBM.json"))
    provider = AlphaVantageProvider(api_key=SECRET, clock=fixed_clock(at(2026, 11, 25)))
    async with recorder.client() as client:
        await provider.fetch_history(client, "IBM", start, D(2026, 11, 24))
    params = recorder.url.params
    assert (params["function"], params["symbol"]) == ("TIME_SERIES_DAILY", "IBM")
    assert params["outputsize"] == outputsize


@pytest.mark.asyncio
async def test_alphavantage_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an argument the key comes from ALPHAVANTAGE_API_KEY."""
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", "ENVKEY9")
    recorder = Recorder(fixture_reply("alphavantage_global_quote_IBM.json"))
    async with recorder.client() as client:
        await AlphaVantageProvider().fetch_quote(client, "IBM")
    assert recorder.url.params["apikey"] == "ENVKEY9"


@pytest.mark.asyncio
async def test_alphavantage_without_key_asks_nothing(no_env_keys: None) -> None:
    """With no key anywhere the provider refuses before sending a request."""
    recorder = Recorder(fixture_reply("alphavantage_global_quote_IBM.json"))
    async with recorder.client() as client:
        with pytest.raises(QuoteError, match="ALPHAVANTAGE_API_KEY"):
            await AlphaVantageProvider().fetch_quote(client, "IBM")
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(fixture_reply("alphavantage_global_quote_unknown_symbol.json"),
                     SymbolNotFound, id="empty-quote"),
        pytest.param(fixture_reply("alphavantage_rate_limit_note_legacy.json"), RateLimited,
                     id="note"),
        pytest.param(fixture_reply("alphavantage_rate_limit_information_2025.json"), RateLimited,
                     id="information"),
        pytest.param(fixture_reply("alphavantage_error_invalid_symbol_time_series_daily.json"),
                     SymbolNotFound, id="error-message"),
        pytest.param(json_reply({}, 429), RateLimited, id="429"),
        pytest.param(json_reply({}, 503), ProviderUnavailable, id="503"),
        pytest.param(Reply(200, f"proxy failed for /query?apikey={SECRET}".encode(), {}),
                     MalformedResponse, id="echoing-proxy"),
        pytest.param(httpx.ConnectError(f"cannot reach /query?apikey={SECRET}"),
                     ProviderUnavailable, id="connect"),
    ],
)  # fmt: skip
@pytest.mark.asyncio
async def test_alphavantage_key_never_shown(
    reply: Reply | Exception,
    error: type[Exception],
    caplog: pytest.LogCaptureFixture,
    no_env_keys: None,
) -> None:
    """No error message, repr or log line (httpx logs each URL) carries the key."""
    caplog.set_level(logging.DEBUG)
    provider = AlphaVantageProvider(api_key=SECRET)
    async with Recorder(reply).client() as client:
        with pytest.raises(error) as caught:
            await provider.fetch_quote(client, "IBM")
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert SECRET not in repr(provider)
    assert SECRET not in caplog.text
    if not isinstance(reply, Exception):
        assert "apikey=<redacted>" in caplog.text  # the request was logged, with the key hidden


# --------------------------------------------------------------------------- workbench API

WB_QUOTE = {"symbol": "AAPL", "price": 189.5, "volume": 1000, "currency": "USD",
            "time": "2026-11-25T15:00:00Z"}  # fmt: skip
WB_HISTORY = {
    "symbol": "AAPL",
    "currency": "USD",
    "bars": [
        {"date": "2026-11-24", "open": 1, "high": 2, "low": 0.5, "close": 1.5, "volume": 10},
        {"date": "2026-11-23", "open": None, "high": None, "low": None, "close": 1.25,
         "volume": None},
    ],
}  # fmt: skip


def test_workbench_quote_body() -> None:
    """The section-5 quote shape maps field by field; Z times are UTC."""
    quote = workbench_api.parse_quote("AAPL", WB_QUOTE)
    assert (quote.price, quote.volume, quote.currency) == (189.5, 1000, "USD")
    assert quote.time == at(2026, 11, 25, 15)


def test_workbench_history_body() -> None:
    """History bars come back oldest first with nulls kept as None."""
    bars = workbench_api.parse_history("AAPL", WB_HISTORY).bars
    assert [(b.date, b.close, b.open) for b in bars] == [
        (D(2026, 11, 23), 1.25, None),
        (D(2026, 11, 24), 1.5, 1),
    ]


def test_workbench_missing_price_malformed() -> None:
    """A quote body without a price is MalformedResponse."""
    with pytest.raises(MalformedResponse):
        workbench_api.parse_quote("AAPL", {"symbol": "AAPL", "price": None})


@pytest.mark.asyncio
async def test_workbench_requests() -> None:
    """Quote asks /v1/{symbol}; history /v1/{symbol}/history?start=&end= under the base URL."""
    quote_rec = Recorder(json_reply(WB_QUOTE))
    history_rec = Recorder(json_reply(WB_HISTORY))
    provider = WorkbenchApiProvider(base_url=MIRROR)
    async with quote_rec.client() as client:
        await provider.fetch_quote(client, "AAPL")
    async with history_rec.client() as client:
        await provider.fetch_history(client, "AAPL", D(2026, 11, 1), D(2026, 11, 24))
    assert str(quote_rec.url) == "http://127.0.0.1:9999/mirror/v1/AAPL"
    assert str(history_rec.url) == (
        "http://127.0.0.1:9999/mirror/v1/AAPL/history?start=2026-11-01&end=2026-11-24"
    )


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(json_reply({"error": "unknown symbol ZZZ"}, 404), SymbolNotFound, id="404"),
        pytest.param(json_reply({"error": "slow down"}, 429, **{"retry-after": "2"}), RateLimited,
                     id="429"),
        pytest.param(json_reply({"error": "injected"}, 503), ProviderUnavailable, id="503"),
    ],
)  # fmt: skip
@pytest.mark.asyncio
async def test_workbench_errors(reply: Reply | Exception, error: type[Exception]) -> None:
    """404 with the server's message, 429 with Retry-After and 503 map to workbench errors."""
    async with Recorder(reply).client() as client:
        with pytest.raises(error) as caught:
            await WorkbenchApiProvider().fetch_quote(client, "ZZZ")
    if isinstance(caught.value, SymbolNotFound):
        assert "unknown symbol ZZZ" in str(caught.value)
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 2.0


# --------------------------------------------------------------------------- registry


def test_provider_names() -> None:
    """The registry names the six providers, demo first."""
    assert PROVIDER_NAMES == ("demo", "workbench", "yahoo", "binance", "coingecko", "alphavantage")


@pytest.mark.parametrize(
    ("name", "base_url", "in_process"),
    [
        ("demo", "http://demo.invalid", True),
        ("workbench", "http://127.0.0.1:8765", False),
        ("yahoo", "https://query1.finance.yahoo.com", False),
        ("binance", "https://api.binance.com", False),
        ("coingecko", "https://api.coingecko.com", False),
        ("alphavantage", "https://www.alphavantage.co", False),
    ],
)
def test_get_provider_defaults(name: str, base_url: str, in_process: bool) -> None:
    """Each name gives a Provider with that name, its default base URL and in_process flag."""
    provider = get_provider(name)
    assert isinstance(provider, Provider)
    assert (provider.name, provider.base_url) == (name, base_url)
    assert getattr(provider, "in_process") is in_process  # noqa: B009 - not in the Protocol
    assert provider.rate_limit is None or provider.rate_limit > 0


def test_get_provider_base_url_and_case() -> None:
    """Names are case-insensitive and base_url replaces the default."""
    assert get_provider(" Yahoo ", base_url=MIRROR).base_url == MIRROR


def test_get_provider_unknown_lists_names() -> None:
    """An unknown name is a QuoteError (a WorkbenchError) listing every valid name."""
    with pytest.raises(QuoteError) as caught:
        get_provider("bloomberg")
    assert isinstance(caught.value, WorkbenchError)
    for name in PROVIDER_NAMES:
        assert name in str(caught.value)


def test_get_provider_demo_refuses_base_url() -> None:
    """demo never leaves the process, so a base URL for it is refused, not ignored."""
    with pytest.raises(QuoteError, match="workbench"):
        get_provider("demo", base_url=MIRROR)


@pytest.mark.asyncio
async def test_get_provider_passes_api_key(no_env_keys: None) -> None:
    """api_key reaches alphavantage's requests."""
    recorder = Recorder(fixture_reply("alphavantage_global_quote_MSFT.json"))
    async with recorder.client() as client:
        await get_provider("alphavantage", api_key="K1").fetch_quote(client, "MSFT")
    assert recorder.url.params["apikey"] == "K1"


def test_alpha_vantage_rate_limit_is_free_tier() -> None:
    """Alpha Vantage's default pace is the free tier's 5 calls a minute, the slowest of all."""
    limits = {name: get_provider(name).rate_limit for name in PROVIDER_NAMES}
    slowest = limits["alphavantage"]
    assert slowest is not None
    assert slowest == pytest.approx(5 / 60)
    assert all(v is None or v >= slowest for v in limits.values())


# --------------------------------------------------------------------------- real sockets


@pytest.mark.asyncio
async def test_every_provider_through_a_real_mirror(no_env_keys: None) -> None:
    """Over real HTTP on 127.0.0.1, each provider's paths arrive under the /mirror prefix."""
    with running_mirror() as base:
        async with httpx.AsyncClient(timeout=10) as client:
            aapl = await get_provider("yahoo", base_url=base).fetch_quote(client, "AAPL")
            btc = await get_provider("binance", base_url=base).fetch_quote(client, "BTCUSDT")
            cg = await get_provider("coingecko", base_url=base).fetch_quote(client, "BTC")
            ibm = await get_provider("alphavantage", base_url=base, api_key="K").fetch_quote(
                client, "IBM"
            )
            demo1 = await get_provider("workbench", base_url=base).fetch_quote(client, "DEMO1")
            with pytest.raises(SymbolNotFound, match="unknown symbol NOPE"):
                await get_provider("workbench", base_url=base).fetch_quote(client, "NOPE")
    assert (aapl.price, btc.price, cg.price, ibm.price) == (244.87, 73346.14, 7984.89, 121.74)
    assert (demo1.price, demo1.time) == (101.25, at(2026, 11, 25, 15))


# --------------------------------------------------------------------------- live services

LIVE_DAY = D(2024, 1, 2)


async def _live(provider: Provider, symbol: str) -> list[float]:
    """Fetch a quote and the LIVE_DAY bar; return that bar's close."""
    async with httpx.AsyncClient(timeout=20) as client:
        quote = await provider.fetch_quote(client, symbol)
        history = await provider.fetch_history(client, symbol, LIVE_DAY, LIVE_DAY)
    assert quote.price > 0
    assert [b.date for b in history.bars] == [LIVE_DAY]
    return [b.close for b in history.bars]


@pytest.mark.network
@pytest.mark.asyncio
async def test_live_yahoo() -> None:
    """Yahoo answers AAPL's quote and its 2024-01-02 bar (185.64 as traded)."""
    assert await _live(YahooProvider(), "AAPL") == [pytest.approx(185.64, abs=0.01)]


@pytest.mark.network
@pytest.mark.asyncio
async def test_live_binance() -> None:
    """Binance answers BTCUSDT's ticker and its 2024-01-02 kline."""
    (close,) = await _live(BinanceProvider(), "BTCUSDT")
    assert 40_000 < close < 50_000  # BTC traded near 45,000 USDT that day


@pytest.mark.network
@pytest.mark.asyncio
async def test_live_coingecko() -> None:
    """CoinGecko answers bitcoin's price (history only reaches 365 days back keyless)."""
    async with httpx.AsyncClient(timeout=20) as client:
        quote = await CoinGeckoProvider().fetch_quote(client, "BTC")
    assert quote.price > 0
    assert quote.currency == "USD"


@pytest.mark.network
@pytest.mark.asyncio
async def test_live_alphavantage() -> None:
    """Alpha Vantage's public demo key answers IBM's GLOBAL_QUOTE."""
    async with httpx.AsyncClient(timeout=20) as client:
        quote = await AlphaVantageProvider(api_key="demo").fetch_quote(client, "IBM")
    assert quote.price > 0
