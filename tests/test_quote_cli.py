"""`workbench quotes`, `history` and `trade` through click's CliRunner: JSON contracts, exits."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from _quote_helpers import RunningServer, quote_server
from click.testing import CliRunner

from workbench.cli import cli
from workbench.demo.market import daily_bars, latest_price

__all__ = ["quote_server"]

Start = Callable[..., RunningServer]
QUOTE_KEYS = ["symbol", "price", "currency", "volume", "time", "provider", "error"]


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def transactions(db: Path) -> list[tuple[object, ...]]:
    """Every stored transaction row (type, symbol, quantity, price, fee, account), or none."""
    if not db.exists():
        return []
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT type, symbol, quantity, price, fee, account FROM transactions ORDER BY id"
        ).fetchall()


def test_quotes_json_is_an_array_in_request_order(db_path: Path) -> None:
    """quotes --json: one object per symbol, exact keys, request order, errors as short reasons."""
    code, out, _ = run("quotes", "WBUS", "NOPE", "ACME", "--json", "--db", str(db_path))
    assert code == 0
    items = json.loads(out)
    assert [i["symbol"] for i in items] == ["WBUS", "NOPE", "ACME"]
    assert all(list(i) == QUOTE_KEYS for i in items)
    assert items[1] == {
        "symbol": "NOPE", "price": None, "currency": None, "volume": None, "time": None,
        "provider": "demo", "error": "not found",
    }  # fmt: skip
    acme = items[2]
    at = dt.datetime.fromisoformat(acme["time"])
    assert acme["price"] == latest_price("ACME", seed=7, at=at)
    assert (acme["currency"], acme["provider"], acme["error"]) == ("USD", "demo", None)


def test_quotes_are_stored_with_provider_and_fetch_time(db_path: Path) -> None:
    """Successful quotes land in the quotes table; failed ones do not."""
    run("quotes", "ACME", "NOPE", "--json", "--db", str(db_path))
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute("SELECT symbol, provider, fetched_at IS NOT NULL FROM quotes").fetchall()
    assert rows == [("ACME", "demo", True)]


def test_quotes_exit_1_when_nothing_succeeded(db_path: Path) -> None:
    """Only unknown symbols: the JSON array is still printed, exit status 1."""
    code, out, _ = run("quotes", "NOPE", "ALSO-NOPE", "--json", "--db", str(db_path))
    assert code == 1
    assert [i["error"] for i in json.loads(out)] == ["not found", "not found"]


def test_quotes_text_output_and_no_progress_bar_off_a_terminal(db_path: Path) -> None:
    """Plain output has one line per symbol; stderr stays empty when it is not a terminal."""
    code, out, err = run("quotes", "ACME", "NWND", "--db", str(db_path))
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["ACME", "NWND"]
    assert err == ""


def test_quotes_from_a_real_server_via_base_url(quote_server: Start, db_path: Path) -> None:
    """--base-url alone selects the workbench provider and talks to that server."""
    server = quote_server(universe=3, seed=13)
    code, out, _ = run(
        "quotes", "U00003", "U00004", "--base-url", server.base_url, "--json", "--db", str(db_path)
    )
    assert code == 0
    first, second = json.loads(out)
    at = dt.datetime.fromisoformat(first["time"])
    assert first["price"] == latest_price("U00003", seed=13, at=at)
    assert first["provider"] == "workbench"
    assert second["error"] == "not found"
    # both symbols in one batch request (GET /v1/quotes?symbols=U00003,U00004)
    assert [(r.kind, r.count) for r in server.state.requests] == [("batch", 2)]


def test_quotes_fall_back_across_comma_separated_providers(
    quote_server: Start, db_path: Path
) -> None:
    """--provider workbench,demo: a failing workbench server hands every symbol to demo."""
    server = quote_server(fail_rate=1.0)
    code, out, _ = run(
        "quotes", "ACME", "NWND", "--provider", "workbench,demo", "--base-url", server.base_url,
        "--json", "--db", str(db_path),
    )  # fmt: skip
    assert code == 0
    assert [(i["provider"], i["error"]) for i in json.loads(out)] == [("demo", None)] * 2
    assert server.state.request_count() >= 2


def test_unknown_provider_is_a_usage_error(db_path: Path) -> None:
    """--provider nope exits 2 and names the valid providers."""
    code, _, err = run("quotes", "ACME", "--provider", "nope", "--db", str(db_path))
    assert code == 2
    assert "yahoo" in err


def test_history_json_returns_the_stored_bars_and_skips_cached_days(db_path: Path) -> None:
    """history --json: bars equal the demo market's; a second run fetches nothing new."""
    args = ["history", "VHLF", "--start", "2024-02-05", "--end", "2024-02-16", "--json"]
    code, out, _ = run(*args, "--db", str(db_path))
    assert code == 0
    [item] = json.loads(out)
    reference = daily_bars("VHLF", seed=7, start=dt.date(2024, 2, 5), end=dt.date(2024, 2, 16))
    assert [b["date"] for b in item["bars"]] == [d.isoformat() for d in reference["date"]]
    assert [b["close"] for b in item["bars"]] == reference["close"].to_list()
    assert (item["currency"], item["provider"], item["error"]) == ("EUR", "demo", None)
    assert (item["stored"], item["cached"]) == (10, 0)
    code, out, _ = run(*args, "--db", str(db_path))
    [again] = json.loads(out)
    assert (again["stored"], again["cached"], again["fetched"]) == (0, 10, 0)
    assert again["bars"] == item["bars"]


def test_history_of_unknown_symbols_exits_1(db_path: Path) -> None:
    """Every symbol failing is exit status 1 with the reason in the JSON."""
    code, out, _ = run("history", "NOPE", "--start", "2024-01-02", "--json", "--db", str(db_path))
    assert code == 1
    assert json.loads(out)[0]["error"] == "not found"


def test_history_with_a_bad_date_is_a_usage_error(db_path: Path) -> None:
    """--start that is not a date exits 2."""
    code, _, _ = run("history", "ACME", "--start", "last tuesday", "--db", str(db_path))
    assert code == 2


def test_trade_json_records_one_transaction_at_the_quoted_price(
    quote_server: Start, db_path: Path
) -> None:
    """trade buy --json against a real server: the contract, and the row carries that price."""
    server = quote_server(seed=17)
    code, out, _ = run(
        "trade", "buy", "NWND", "4", "--fee", "2.5", "--account", "broker",
        "--base-url", server.base_url, "--json", "--db", str(db_path),
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out)
    assert list(payload) == ["status", "transaction_id", "data"]
    assert payload["status"] == "success"
    data = payload["data"]
    at = dt.datetime.fromisoformat(data["time"])
    assert data["price"] == latest_price("NWND", seed=17, at=at)
    price = Decimal(str(data["price"])).quantize(Decimal("1e-8"))
    assert transactions(db_path) == [
        ("BUY", "NWND", Decimal("4.00000000"), price, Decimal("2.50000000"), "broker")
    ]
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT id FROM transactions").fetchall() == [
            (payload["transaction_id"],)
        ]


def test_trade_sell_after_buy_with_the_demo_provider(db_path: Path) -> None:
    """buy 5 then sell 2 of ACME: two rows, exit 0 both times."""
    assert run("trade", "buy", "ACME", "5", "--db", str(db_path))[0] == 0
    code, out, _ = run("trade", "SELL", "ACME", "2", "--db", str(db_path))
    assert code == 0
    assert out.startswith("sold 2 ACME at ")
    assert [(r[0], r[2]) for r in transactions(db_path)] == [
        ("BUY", Decimal("5.00000000")),
        ("SELL", Decimal("2.00000000")),
    ]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["hold", "ACME", "1"], 2, id="bad-side"),
        pytest.param(["buy", "ACME", "-3"], 1, id="negative-quantity"),
        pytest.param(["buy", "ACME", "lots"], 1, id="non-numeric-quantity"),
        pytest.param(["buy", "NOPE", "1"], 1, id="unknown-symbol"),
        pytest.param(["sell", "ACME", "1"], 1, id="oversell"),
    ],
)
def test_refused_trades_store_nothing(args: list[str], code: int, db_path: Path) -> None:
    """A refused trade exits 1 (2 for a bad side) with one error line and no transaction."""
    exit_code, out, err = run("trade", *args, "--db", str(db_path))
    assert exit_code == code
    assert out == ""
    assert err.strip()
    assert transactions(db_path) == []


@pytest.mark.parametrize("command", ["quotes", "history", "trade", "quote-server"])
def test_every_quote_command_has_help(command: str) -> None:
    """--help works and documents --db."""
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "--db" in out


def _run_with_terminal_stderr(args: list[str]) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """`workbench ARGS` as a process whose stderr is a pseudo-terminal: the finished process
    (stdout captured) and every byte it drew on the terminal."""
    main_fd, child_fd = pty.openpty()
    exe = str(Path(sys.executable).parent / "workbench")
    proc = subprocess.run(
        [exe, *args], stdout=subprocess.PIPE, stderr=child_fd, timeout=60, check=False
    )
    os.close(child_fd)
    drawn = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the terminal closed once the child exited
            break
        if not chunk:
            break
        drawn += chunk
    os.close(main_fd)
    return proc, drawn


def test_a_progress_bar_is_drawn_when_stderr_is_a_terminal(tmp_path: Path) -> None:
    """With stderr on a pseudo-terminal the quotes command draws a progress bar there."""
    args = ["quotes", "ACME", "NWND", "GLBX", "--json", "--db", str(tmp_path / "w.duckdb")]
    proc, drawn = _run_with_terminal_stderr(args)
    assert proc.returncode == 0
    assert len(json.loads(proc.stdout)) == 3  # stdout stays pure JSON
    assert b"quotes" in drawn
    assert b"100%" in drawn


def test_quotes_deadline_ends_the_rest_as_rate_limited(quote_server: Start, db_path: Path) -> None:
    """--rate-limit 1 --batch-size 1 --deadline 1.2: at most the symbols of the slots at 0 s and
    1 s are priced, the rest 'rate limited', every one in the JSON."""
    server = quote_server(universe=6)
    symbols = [f"U{i:05d}" for i in range(1, 7)]
    code, out, _ = run(
        "quotes", *symbols, "--base-url", server.base_url, "--rate-limit", "1",
        "--batch-size", "1", "--deadline", "1.2", "--json", "--db", str(db_path),
    )  # fmt: skip
    rows = json.loads(out)
    assert code == (0 if any(r["error"] is None for r in rows) else 1)
    assert [r["symbol"] for r in rows] == symbols
    errors = [r["error"] for r in rows]
    assert errors.count(None) <= 2  # slots at 0 s and 1 s
    assert errors.count("rate limited") == 6 - errors.count(None)
    assert server.state.request_count() == errors.count(None)


def test_quote_server_outage_flag_is_checked(db_path: Path) -> None:
    """--outage takes AFTER:SECONDS; anything else is a usage error (exit 2)."""
    code, _, err = run("quote-server", "--outage", "soon", "--db", str(db_path))
    assert code == 2
    assert "AFTER:SECONDS" in err


def test_the_progress_bar_shows_a_wait_for_the_rate_limit(
    quote_server: Start, tmp_path: Path
) -> None:
    """Paced at 2 requests/s, the bar's label says what it waits for."""
    server = quote_server(universe=6)
    symbols = [f"U{i:05d}" for i in range(1, 7)]
    args = [
        "quotes", *symbols, "--base-url", server.base_url, "--rate-limit", "2",
        "--batch-size", "1", "--json", "--db", str(tmp_path / "w.duckdb"),
    ]  # fmt: skip
    proc, drawn = _run_with_terminal_stderr(args)
    assert proc.returncode == 0
    assert all(r["error"] is None for r in json.loads(proc.stdout))
    assert b"waiting: workbench: 2/s" in drawn
