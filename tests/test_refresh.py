"""`workbench refresh` against the real quote server: what it fetches, its exit codes, its lock."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _quote_helpers import RunningServer, quote_server
from click.testing import CliRunner

from workbench.cli import cli
from workbench.demo.market import daily_bars
from workbench.fx.demo_rates import demo_rates
from workbench.fx.store import read_rates
from workbench.ledger import import_csv
from workbench.ledger.prices_csv import import_prices_csv
from workbench.refresh import describe_fetch_times, last_fetch_times, lock_path
from workbench.store import connect, read_latest_quotes, read_prices

__all__ = ["quote_server"]

Start = Callable[..., RunningServer]
SRC = Path(__file__).resolve().parents[1] / "src"
TODAY = dt.date.today()


def _today() -> dt.date:
    """Today as the command just run saw it (not :data:`TODAY`, read when the module was
    collected: a run that passes midnight would expect one day too few)."""
    return dt.date.today()


#: the last bar imported for ACME before a refresh; the refresh fetches what follows
LAST_STORED = TODAY - dt.timedelta(days=10)

LEDGER = """date,type,symbol,quantity,price,amount,currency
2024-01-02,DEPOSIT,,,,100000,USD
2024-01-03,BUY,ACME,10,100,,USD
2024-01-03,BUY,NWND,5,10,,USD
2024-02-01,SELL,NWND,5,12,,USD
"""


def _ledger(db: Path, tmp_path: Path, extra: str = "") -> None:
    """ACME held, NWND bought and sold out (not held), ACME priced up to LAST_STORED at 1.0."""
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER + extra)
    import_csv(db, ledger)
    prices = tmp_path / "prices.csv"
    prices.write_text(f"date,symbol,close\n2024-01-03,ACME,1.0\n{LAST_STORED},ACME,1.0\n")
    import_prices_csv(db, prices)


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI in-process; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def spawn(*args: str) -> subprocess.Popen[str]:
    """The CLI in its own process (so two runs really are two processes)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    code = "from workbench.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_lock(db: Path, pid: int) -> None:
    """Wait until process ``pid`` holds the refresh lock (it writes its pid into the file)."""
    deadline = time.monotonic() + 60
    lock = lock_path(db)
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip() == str(pid):
            return
        time.sleep(0.02)
    raise AssertionError("the first refresh never took the lock")


def test_refresh_stores_quotes_and_only_the_missing_history(
    quote_server: Start, db_path: Path, tmp_path: Path
) -> None:
    """Held ACME and the benchmark get a quote and the bars after their last stored bar (the
    demo market's, as the server serves them); NWND, sold out, is not asked for at all."""
    _ledger(db_path, tmp_path)
    server = quote_server()
    code, out, err = run(
        "refresh", "--base-url", server.base_url, "--benchmark", "WBUS", "--db", str(db_path)
    )
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    assert out.startswith("refresh: 1 held symbols + benchmark WBUS; quotes 2/2; history 2 fetched")
    # quotes go in one batch request (kind "batch", symbols "ACME,WBUS"), history one by one
    asked = {symbol for r in server.state.requests for symbol in r.symbol.split(",")}
    assert asked == {"ACME", "WBUS"}
    with connect(db_path, read_only=True) as con:
        quotes = read_latest_quotes(con)
        prices = read_prices(con)
    assert quotes.select("symbol", "provider").rows() == [
        ("ACME", "workbench"),
        ("WBUS", "workbench"),
    ]
    acme = prices.filter(prices["symbol"] == "ACME")
    kept = acme.filter(acme["date"] <= LAST_STORED)
    assert kept["close"].cast(float).to_list() == [1.0, 1.0]  # stored bars not fetched again
    new = acme.filter(acme["date"] > LAST_STORED)
    reference = daily_bars("ACME", seed=7, start=LAST_STORED + dt.timedelta(days=1), end=_today())
    assert new["date"].to_list() == reference["date"].to_list()
    assert new["close"].cast(float).to_list() == pytest.approx(reference["close"].to_list())
    wbus = prices.filter(prices["symbol"] == "WBUS")
    # never priced: the benchmark's history starts with the ledger (2024-01-02)
    expected = daily_bars("WBUS", seed=7, start=dt.date(2024, 1, 2), end=_today())
    assert wbus["date"].to_list() == expected["date"].to_list()


def test_a_second_refresh_asks_for_no_history(
    quote_server: Start, db_path: Path, tmp_path: Path
) -> None:
    """Right after a refresh the history is up to date: only quotes are requested again."""
    _ledger(db_path, tmp_path)
    server = quote_server()
    args = ("refresh", "--base-url", server.base_url, "--benchmark", "WBUS", "--db", str(db_path))
    assert run(*args)[0] == 0
    before = [(r.kind, r.count) for r in server.state.requests]
    code, out, _ = run(*args)
    assert code == 0
    again = [(r.kind, r.count) for r in server.state.requests][len(before) :]
    assert again == [("batch", 2)]  # both quotes in one batch request, no history
    assert "history 0 fetched, 2 up to date, 0 new bars" in out


def test_a_symbol_the_provider_lacks_makes_a_partial_refresh(
    quote_server: Start, db_path: Path, tmp_path: Path
) -> None:
    """Exit 3 when some symbols fail; the line names them, and the others are stored."""
    _ledger(db_path, tmp_path, "2024-01-04,BUY,NOPE1,1,5,,USD\n")
    server = quote_server()
    code, out, _ = run(
        "refresh", "--base-url", server.base_url, "--benchmark", "", "--db", str(db_path)
    )
    assert code == 3
    assert "failed: quote NOPE1 (not found), history NOPE1 (not found)" in out
    assert "; partial in " in out
    with connect(db_path, read_only=True) as con:
        assert read_latest_quotes(con)["symbol"].to_list() == ["ACME"]


def test_nothing_fetched_is_exit_1(quote_server: Start, db_path: Path, tmp_path: Path) -> None:
    """With the quote server gone, every request fails: exit 1 and nothing stored."""
    _ledger(db_path, tmp_path)
    server = quote_server()
    server.stop()
    code, out, _ = run(
        "refresh", "--base-url", server.base_url, "--timeout", "1", "--db", str(db_path)
    )
    assert code == 1
    assert "quotes 0/1" in out
    assert "nothing fetched in" in out
    assert last_fetch_times(db_path)["quotes"] is None


def test_nothing_to_refresh_is_exit_0(db_path: Path, tmp_path: Path) -> None:
    """A ledger holding no position and no priced benchmark has nothing to fetch."""
    ledger = tmp_path / "cash.csv"
    ledger.write_text("date,type,amount\n2024-01-02,DEPOSIT,100\n")
    import_csv(db_path, ledger)
    code, out, _ = run("refresh", "--base-url", "http://127.0.0.1:9", "--db", str(db_path))
    assert (code, out) == (0, "refresh: nothing to refresh (no position held and no benchmark)\n")


def test_an_unknown_fx_provider_is_a_usage_error(db_path: Path) -> None:
    """--fx-provider with a name no FX source has exits 2 naming the name and the option,
    before anything is fetched (no database is created)."""
    code, _, err = run("refresh", "--fx-provider", "ECB, fixer", "--db", str(db_path))
    assert code == 2
    assert "'fixer' is not one of ecb, frankfurter, yahoo, demo" in err
    assert "--fx-provider" in err
    assert not db_path.exists()


def test_rates_of_held_foreign_currencies_are_refreshed(
    quote_server: Start, db_path: Path, tmp_path: Path
) -> None:
    """Cash held in EUR brings the EUR/USD rates from the quote server's demo FX route (the
    synthetic rates of workbench.fx.demo_rates), from two weeks before the ledger to today."""
    _ledger(db_path, tmp_path, "2024-01-05,DEPOSIT,,,,50,EUR\n")
    server = quote_server()
    code, out, _ = run(
        "refresh", "--base-url", server.base_url, "--benchmark", "", "--db", str(db_path)
    )
    assert code == 0, out
    expected = demo_rates("EUR", "USD", dt.date(2023, 12, 19), _today())
    assert f"fx 1/1 pairs, {len(expected)} new rates" in out
    with connect(db_path, read_only=True) as con:
        rates = read_rates(con, currencies=["EUR", "USD"])
    assert rates.select("base", "quote", "source").unique().rows() == [("EUR", "USD", "demo")]
    assert list(zip(rates["date"], rates["rate"], strict=True)) == expected
    code, out, _ = run(
        "refresh", "--base-url", server.base_url, "--benchmark", "", "--db", str(db_path)
    )
    assert code == 0
    assert "fx 1/1 pairs, 0 new rates" in out


@pytest.mark.slow
def test_two_concurrent_refreshes_never_overlap(
    quote_server: Start, db_path: Path, tmp_path: Path
) -> None:
    """While one refresh runs (slow answers hold it), a second exits 75 at once, naming the
    holder; the first completes; afterwards a refresh runs again."""
    _ledger(db_path, tmp_path)
    server = quote_server(latency_ms=3000)
    args = ("refresh", "--base-url", server.base_url, "--benchmark", "", "--db", str(db_path))
    first = spawn(*args)
    wait_for_lock(db_path, first.pid)
    second = spawn(*args)
    out, err = second.communicate(timeout=60)
    assert first.poll() is None  # the first was still running when the second gave up
    assert second.returncode == 75
    assert out == ""
    assert f"a refresh is already running (process {first.pid} holds " in err
    out, err = first.communicate(timeout=120)
    assert (first.returncode, err) == (0, "")
    assert "quotes 1/1" in out
    server.state.latency_ms = 0
    assert run(*args)[0] == 0


@pytest.mark.slow
def test_a_killed_refresh_leaves_no_stale_lock(
    quote_server: Start, db_path: Path, tmp_path: Path
) -> None:
    """kill -9 during a refresh: the kernel drops the lock, and the next run works."""
    _ledger(db_path, tmp_path)
    server = quote_server(latency_ms=3000)
    args = ("refresh", "--base-url", server.base_url, "--benchmark", "", "--db", str(db_path))
    victim = spawn(*args)
    wait_for_lock(db_path, victim.pid)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    server.state.latency_ms = 0
    code, out, _ = run(*args)
    assert code == 0, out


def test_last_fetch_times_say_when_data_arrived(
    quote_server: Start, db_path: Path, tmp_path: Path
) -> None:
    """Before a refresh there are no quotes; after it, both times fall within the run."""
    _ledger(db_path, tmp_path)
    assert last_fetch_times(db_path)["quotes"] is None
    server = quote_server()
    before = dt.datetime.now(dt.UTC)
    assert run("refresh", "--base-url", server.base_url, "--db", str(db_path))[0] == 0
    after = dt.datetime.now(dt.UTC)
    times = last_fetch_times(db_path)
    assert times["quotes"] is not None
    assert times["prices"] is not None
    assert before <= times["quotes"] <= after
    assert before <= times["prices"] <= after


def test_fetch_times_read_as_a_sentence() -> None:
    """Ages in minutes, hours or days; a table never fetched says so."""
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
    times = {"quotes": now - dt.timedelta(minutes=5), "prices": now - dt.timedelta(days=3)}
    assert describe_fetch_times(times, now=now) == (
        "Quotes last fetched 2026-03-02 11:55 UTC (5 min ago);"
        " prices 2026-02-27 12:00 UTC (3 days ago)."
    )
    assert describe_fetch_times({"quotes": None, "prices": None}, now=now) == (
        "Quotes last fetched never; prices never."
    )


def test_a_symlink_at_the_lock_path_is_refused(db_path: Path, tmp_path: Path) -> None:
    """The lock file is never opened through a symlink (which could truncate its target)."""
    _ledger(db_path, tmp_path)
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    lock_path(db_path).symlink_to(target)
    code, _, err = run("refresh", "--base-url", "http://127.0.0.1:9", "--db", str(db_path))
    assert code == 1
    assert err.startswith(f"error: cannot open the refresh lock {lock_path(db_path)}")
    assert target.read_text() == "keep me"
