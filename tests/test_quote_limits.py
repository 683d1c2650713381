"""Pacing, the failure-rate breaker, daily budgets, provider limits and the retry arithmetic.

State machines run on a hand-moved clock; the convergence check runs the pacer against an
independent model of a token-bucket server (the quote server's own rule) in simulated time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
from pathlib import Path

import pytest

from workbench.errors import ProviderUnavailable, QuoteError, SymbolNotFound
from workbench.quotes.attempts import Attempts
from workbench.quotes.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from workbench.quotes.budget import DailyBudget, load_usage, save_usage
from workbench.quotes.limits import (
    DEFAULT_RETRIES,
    Guards,
    ProviderLimits,
    RetryPolicy,
    limits_for,
)
from workbench.quotes.pacing import Pacer
from workbench.quotes.providers import get_provider
from workbench.quotes.providers.binance import ticker_weight
from workbench.quotes.providers.coingecko import CoinGeckoProvider


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- pacer -------------------------------------------------------------------------------------


def test_an_unpaced_pacer_learns_its_rate_from_the_answers_before_the_first_429() -> None:
    """5 answers in the first second, then a 429: the rate becomes 5/s and Retry-After pauses."""
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    sent = [pacer.try_take() for _ in range(6)]
    assert all(s == 100.0 for s in sent)  # unpaced: all at once
    for s in sent[:5]:
        pacer.on_answer(s)
    clock.now += 0.01
    pacer.on_limited(sent[5], retry_after=1.0)
    assert pacer.rate == pytest.approx(5.0)  # 5 answers / 1 s (the estimate's shortest span)
    assert pacer.try_take() is None  # paused
    clock.now = 101.01
    assert pacer.try_take() == 101.01
    assert pacer.try_take() is None  # next slot 1/5 s later
    clock.now += 0.2
    assert pacer.try_take() is not None


def test_only_a_429_to_a_request_sent_after_the_last_cut_cuts_again() -> None:
    """Ten 429s to requests sent at the old rate cut the rate once, not ten times."""
    clock = FakeClock()
    pacer = Pacer(rate=10.0, clock=clock)
    sent_before = clock.now
    clock.now += 0.5
    for _ in range(10):
        pacer.on_limited(sent_before)
    # no answers seen: the cut is to the floor of half, 10 -> 5
    assert pacer.rate == pytest.approx(5.0)
    assert pacer.limited == 10


def test_a_cut_keeps_between_half_and_ninety_percent_guided_by_goodput() -> None:
    """At 10/s with 8 answers a second, a 429 sets the rate to 8 (inside [5, 9])."""
    clock = FakeClock()
    pacer = Pacer(rate=10.0, clock=clock)
    for _ in range(40):  # 8 per second for 5 s
        clock.now += 0.125
        pacer.on_answer(clock.now)
    pacer.on_limited(clock.now)
    assert pacer.rate == pytest.approx(8.0, rel=0.02)


def test_the_rate_grows_additively_above_the_last_cut_and_never_past_the_ceiling() -> None:
    """After a cut to 4/s, 4 answers (one second) add 5% of 4 = 0.2/s; the ceiling holds."""
    clock = FakeClock()
    pacer = Pacer(rate=8.0, clock=clock)
    pacer.on_limited(clock.now + 1)  # no goodput: halves to 4
    assert pacer.rate == pytest.approx(4.0)
    rate = 4.0
    for _ in range(4):
        pacer.on_answer(clock.now)
        rate += 0.05 * 4.0 / rate  # the additive step, computed by hand
    assert pacer.rate == pytest.approx(rate)
    assert rate == pytest.approx(4.2, abs=0.01)
    for _ in range(10_000):
        pacer.on_answer(clock.now)
    assert pacer.rate == 8.0  # the documented limit is a ceiling


def _simulate(
    server_rate: float, seconds: float, *, latency: float = 0.0
) -> tuple[Pacer, int, int]:
    """Run one pacer against a token-bucket server (burst = one second's worth) in fake time.

    The server follows the quote server's rule: a token per request, refilled at
    ``server_rate``; without one, 429 with Retry-After = ceil(time to the next token). Returns
    (pacer, successes in the second half, 429s in all).
    """
    clock = FakeClock()
    start = clock.now
    pacer = Pacer(clock=clock)
    tokens, refilled = server_rate, clock.now
    late_ok = limited = 0
    step = 0.001
    while clock.now - start < seconds:
        sent = pacer.try_take()
        if sent is None:
            clock.now += step
            continue
        clock.now += latency
        tokens = min(server_rate, tokens + (clock.now - refilled) * server_rate)
        refilled = clock.now
        if tokens < 1.0:
            limited += 1
            pacer.on_limited(sent, retry_after=float(math.ceil((1 - tokens) / server_rate)))
        else:
            tokens -= 1.0
            pacer.on_answer(sent)
            if clock.now - start >= seconds / 2:
                late_ok += 1
    return pacer, late_ok, limited


@pytest.mark.parametrize("server_rate", [2.0, 5.0, 20.0])
def test_the_pacer_converges_on_the_rate_a_server_allows(server_rate: float) -> None:
    """Against a server allowing R/s, the second half of a 120 s run gets >= 85% of R.

    1.6x the limit's own time (the bar) needs >= 62.5% of R on average; the pacer's rate ends
    within [0.6 R, 1.4 R].
    """
    pacer, late_ok, limited = _simulate(server_rate, 120.0)
    assert late_ok >= 0.85 * server_rate * 60
    assert pacer.rate is not None
    assert 0.6 * server_rate <= pacer.rate <= 1.4 * server_rate
    # pacing, not hammering: far fewer 429s than answers
    assert limited < 0.1 * server_rate * 120


# -- breaker -----------------------------------------------------------------------------------


def test_a_provider_failing_half_its_calls_never_opens_the_breaker() -> None:
    """20,000 calls at a 50% failure rate (seeded) leave the breaker closed throughout."""
    breaker = CircuitBreaker(clock=FakeClock())
    rng = random.Random(1)
    for _ in range(20_000):
        if rng.random() < 0.5:
            breaker.record_failure(ProviderUnavailable("x"))
        else:
            breaker.record_success()
        assert breaker.state == CLOSED


def test_a_provider_that_is_down_opens_the_breaker_after_min_calls() -> None:
    """Every call failing: closed for 19 calls, open at the 20th (min_calls)."""
    breaker = CircuitBreaker(clock=FakeClock())
    for _ in range(19):
        breaker.record_failure(ProviderUnavailable("x"))
        assert breaker.state == CLOSED
    breaker.record_failure(ProviderUnavailable("down"))
    assert breaker.state == OPEN
    assert str(breaker.last_error) == "down"


def test_the_threshold_is_a_rate_over_the_window() -> None:
    """2 successes + 18 failures (90%) open it; 3 + 17 (85%) do not."""
    for successes, expected in ((2, OPEN), (3, CLOSED)):
        breaker = CircuitBreaker(clock=FakeClock())
        for _ in range(successes):
            breaker.record_success()
        for _ in range(20 - successes):
            breaker.record_failure(ProviderUnavailable("x"))
        assert breaker.state == expected


def test_old_calls_leave_the_window() -> None:
    """Failures older than window_seconds no longer count toward opening."""
    clock = FakeClock()
    breaker = CircuitBreaker(clock=clock, window_seconds=30)
    for _ in range(19):
        breaker.record_failure(ProviderUnavailable("x"))
    clock.now += 31
    breaker.record_failure(ProviderUnavailable("x"))
    assert breaker.state == CLOSED
    assert breaker.failure_ratio() == (1, 1)


def test_half_open_lets_one_probe_through_and_its_verdict_decides() -> None:
    """open -> half-open after the cool-down (one probe) -> open again or closed."""
    clock = FakeClock()
    breaker = CircuitBreaker(min_calls=2, window=2, cooldown=10, clock=clock)
    breaker.record_failure(ProviderUnavailable("x"))
    breaker.record_failure(ProviderUnavailable("x"))
    assert breaker.state == OPEN
    assert not breaker.allow()
    assert breaker.retry_in() == 10
    clock.now += 10
    assert breaker.state == HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # only one probe
    breaker.record_failure(ProviderUnavailable("x"))
    assert breaker.state == OPEN
    assert breaker.outage() == 10
    clock.now += 10
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == CLOSED
    assert breaker.outage() == 0
    assert breaker.failure_ratio() == (0, 1)  # a fresh window after recovery


def test_an_outage_longer_than_max_outage_is_given_up_on() -> None:
    """given_up() turns true once the breaker has been open for max_outage seconds."""
    clock = FakeClock()
    breaker = CircuitBreaker(min_calls=1, window=1, cooldown=1, max_outage=5, clock=clock)
    breaker.record_failure(ProviderUnavailable("x"))
    clock.now += 4.9
    assert not breaker.given_up()
    clock.now += 0.1
    assert breaker.given_up()


# -- the retry arithmetic ----------------------------------------------------------------------


async def _success_rate(retries: int, failure_rate: float, symbols: int) -> float:
    """The fraction of ``symbols`` priced through Attempts when each try fails at random."""
    rng = random.Random(retries * 1000 + int(failure_rate * 100))

    async def no_sleep(_seconds: float) -> None:
        return None

    attempts = Attempts(policy=RetryPolicy(retries=retries), timeout=5, sleep=no_sleep)
    guard = Guards().get(get_provider("workbench"))

    async def flaky() -> str:
        if rng.random() < failure_rate:
            raise ProviderUnavailable("503")
        return "ok"

    priced = 0
    for _ in range(symbols):
        outcome = await attempts.run(guard, flaky, last_provider=True)
        priced += outcome.value is not None
        assert outcome.sent <= retries + 1
    assert guard.breaker.state == CLOSED
    return priced / symbols


@pytest.mark.parametrize(
    ("retries", "failure_rate"), [(DEFAULT_RETRIES, 0.5), (2, 0.5), (DEFAULT_RETRIES, 0.3)]
)
def test_retries_price_one_minus_p_to_the_k_plus_one(retries: int, failure_rate: float) -> None:
    """k retries at failure rate p price 1 - p^(k+1) of symbols (within 4 sigma of 8,000).

    Defaults: 1 - 0.5^4 = 0.9375 >= 0.8 (the bar for a provider failing half its requests).
    """
    expected = 1 - failure_rate ** (retries + 1)
    n = 8_000
    sigma = math.sqrt(expected * (1 - expected) / n)
    got = asyncio.run(_success_rate(retries, failure_rate, n))
    assert abs(got - expected) <= 4 * sigma
    if retries == DEFAULT_RETRIES and failure_rate == 0.5:
        assert expected == 0.9375
        assert got >= 0.8


def test_not_found_is_final_without_retries() -> None:
    """An operation answering SymbolNotFound is tried once, whatever the retry budget."""
    calls = 0

    async def unknown() -> str:
        nonlocal calls
        calls += 1
        raise SymbolNotFound("nope")

    async def go() -> None:
        attempts = Attempts(policy=RetryPolicy(retries=5), timeout=5)
        outcome = await attempts.run(
            Guards().get(get_provider("workbench")), unknown, last_provider=True
        )
        assert [e.reason for e in outcome.errors] == ["not found"]

    asyncio.run(go())
    assert calls == 1


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    """Delays lie in [0.5, 1) x backoff x 2^n and never above max_delay."""
    attempts = Attempts(
        policy=RetryPolicy(backoff=0.1, max_delay=0.5), timeout=1, rng=random.Random(3)
    )
    for n, base in enumerate([0.1, 0.2, 0.4, 0.5, 0.5]):
        assert 0.5 * base <= attempts.backoff(n) < base


# -- daily budget ------------------------------------------------------------------------------


def test_a_daily_budget_refuses_past_its_cap_and_rolls_over_at_midnight_utc() -> None:
    """25 a day: the 26th take is refused; the next UTC day starts again at 0."""
    day = dt.date(2026, 3, 2)
    budget = DailyBudget("alphavantage", 25, today=lambda: day)
    assert all(budget.take() for _ in range(25))
    assert not budget.take()
    assert budget.used == 25
    day = dt.date(2026, 3, 3)
    assert budget.left == 25


def test_a_budget_the_provider_said_was_spent_is_empty() -> None:
    """exhaust() (the provider's own refusal) leaves nothing, whatever the count."""
    budget = DailyBudget("alphavantage", 25, today=lambda: dt.date(2026, 3, 2))
    budget.take()
    budget.exhaust()
    assert budget.left == 0
    assert "daily" in budget.describe()


def test_daily_counts_survive_in_the_store(tmp_path: Path) -> None:
    """A count saved by one run is restored by the next on the same day, not on the next."""
    db = tmp_path / "usage.duckdb"
    day = dt.date(2026, 3, 2)
    first = DailyBudget("alphavantage", 25, today=lambda: day)
    for _ in range(7):
        first.take()
    save_usage(db, [first])
    second = DailyBudget("alphavantage", 25, today=lambda: day)
    load_usage(db, [second])
    assert second.left == 18
    later = DailyBudget("alphavantage", 25, today=lambda: day + dt.timedelta(days=1))
    load_usage(db, [later])
    assert later.left == 25


# -- provider limits ---------------------------------------------------------------------------


def test_documented_defaults_per_provider() -> None:
    """Rates, bursts, daily caps and batch sizes follow each provider's documentation."""
    assert limits_for(get_provider("yahoo")) == ProviderLimits(rate=2.0, burst=5.0)
    assert limits_for(get_provider("binance")) == ProviderLimits(
        rate=50.0, burst=100.0, batch_size=20
    )  # 6,000 weight a minute / 60 / 2
    assert limits_for(get_provider("alphavantage", api_key="k")) == ProviderLimits(
        rate=5 / 60, daily=25
    )
    assert limits_for(get_provider("workbench")) == ProviderLimits(batch_size=100)
    assert limits_for(CoinGeckoProvider(api_key=None)).rate == pytest.approx(10 / 60)
    assert limits_for(CoinGeckoProvider(api_key="k")).rate == pytest.approx(30 / 60)
    pro = CoinGeckoProvider(api_key="k", base_url="https://pro-api.coingecko.com")
    assert limits_for(pro).rate == pytest.approx(500 / 60)


def test_binance_ticker_weight_follows_its_table() -> None:
    """ticker/24hr weighs 2 for 1-20 symbols, 40 for 21-100, 80 above."""
    assert [ticker_weight(n) for n in (1, 20, 21, 100, 101, 500)] == [2, 2, 40, 40, 80, 80]


def test_the_environment_overrides_the_defaults_and_a_call_overrides_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """WORKBENCH_<P>_RATE_LIMIT / _BATCH_SIZE / _DAILY_LIMIT beat defaults; limits= beats all."""
    monkeypatch.setenv("WORKBENCH_BINANCE_RATE_LIMIT", "7.5")
    monkeypatch.setenv("WORKBENCH_BINANCE_BATCH_SIZE", "5")
    monkeypatch.setenv("WORKBENCH_ALPHAVANTAGE_DAILY_LIMIT", "500")
    monkeypatch.setenv("WORKBENCH_YAHOO_RATE_LIMIT", "none")
    binance = limits_for(get_provider("binance"))
    assert (binance.rate, binance.batch_size) == (7.5, 5)
    assert limits_for(get_provider("alphavantage", api_key="k")).daily == 500
    assert limits_for(get_provider("yahoo")).rate is None
    call = {"binance": ProviderLimits(rate=1.0)}
    assert limits_for(get_provider("binance"), call) == ProviderLimits(rate=1.0)
    monkeypatch.setenv("WORKBENCH_BINANCE_RATE_LIMIT", "fast")
    with pytest.raises(QuoteError, match="WORKBENCH_BINANCE_RATE_LIMIT"):
        limits_for(get_provider("binance"))
