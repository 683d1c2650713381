"""Quote fetching: workbench's engine vs plain aiohttp vs plain httpx, side by side in one run.

Starts ``workbench quote-server --universe N --latency-ms L`` in a separate process (uvicorn),
then fetches N symbols at concurrency C with each client, in rotating order, and prints wall
times, client CPU, server CPU, the ideal bound N x latency / C and the ratios the bars use.
Clients:

- ``workbench``: the engine as a user gets it (batches of 100 on ``/v1/quotes``);
- ``wb-single``: the engine asking one symbol per request (its default client: the
  hand-written HTTP/1.1 transport for ``http://``);
- ``wb-aiohttp``: the same, through the aiohttp transport under httpx's API (the
  one-transport alternative: the hand-written one stays only if >= 10% faster than this);
- ``aiohttp``: plain aiohttp, one request per symbol (the DESIGN.md section 6 baseline);
- ``httpx``: plain ``httpx.AsyncClient``.

Ratios printed: wb-single / ideal (bar <= 1.5), wb-single vs aiohttp throughput (bar >= 0.9),
wb-single vs wb-aiohttp (>= 1.10 keeps the hand-written transport), and symbols per second
batched vs one request per symbol.

    .venv/bin/python benchmarks/fetch.py            # 2,000 symbols, 20 ms, concurrency 100
    .venv/bin/python benchmarks/fetch.py --quick    # a smoke run: 400 symbols, one round
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def start_server(
    port: int, *, universe: int, latency_ms: float, pythonpath: str | None = None
) -> subprocess.Popen[bytes]:
    """Run ``workbench quote-server`` and wait until it answers."""
    exe = shutil.which("workbench", path=str(Path(sys.executable).parent)) or "workbench"
    command = [exe, "quote-server", "--port", str(port), "--universe", str(universe)]
    command += ["--latency-ms", str(latency_ms)]
    env = dict(os.environ)
    if pythonpath:  # uvicorn picks httptools/uvloop by itself when they can be imported
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("quote server did not start")


async def pool(symbols: list[str], fetch: Callable[[str], Awaitable[bool]], workers: int) -> int:
    """The same bounded worker pool for the baseline clients; returns the successes."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for symbol in symbols:
        queue.put_nowait(symbol)
    ok = 0

    async def worker() -> None:
        nonlocal ok
        while True:
            try:
                symbol = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                success = await fetch(symbol)
            except Exception:  # a baseline client's failure counts, it does not end the run
                success = False
            ok += success  # after the await: `ok += await ...` would read ok before it

    await asyncio.gather(*(worker() for _ in range(workers)))
    return ok


async def run_aiohttp(base: str, symbols: list[str], concurrency: int) -> int:
    """Plain aiohttp: one session, GET and decode JSON."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def fetch(symbol: str) -> bool:
            async with session.get(f"{base}/v1/{symbol}") as response:
                body = await response.json()
                return response.status == 200 and "price" in body

        return await pool(symbols, fetch, concurrency)


async def run_httpx(base: str, symbols: list[str], concurrency: int) -> int:
    """Plain httpx.AsyncClient (httpcore transport)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def fetch(symbol: str) -> bool:
            response = await client.get(f"{base}/v1/{symbol}")
            return response.status_code == 200 and "price" in response.json()

        return await pool(symbols, fetch, concurrency)


async def run_workbench(base: str, symbols: list[str], concurrency: int) -> int:
    """workbench.quotes.fetch_quotes with the workbench provider: batches, default client."""
    from workbench.quotes.engine import fetch_quotes
    from workbench.quotes.providers import get_provider

    provider = get_provider("workbench", base_url=base)
    results = await fetch_quotes(symbols, provider=provider, concurrency=concurrency)
    return sum(r.ok for r in results)


async def run_workbench_single(base: str, symbols: list[str], concurrency: int) -> int:
    """The engine asking one symbol per request (its default client)."""
    from workbench.quotes.engine import fetch_quotes
    from workbench.quotes.providers import WorkbenchApiProvider

    provider = WorkbenchApiProvider(base_url=base, batch_size=1)
    results = await fetch_quotes(symbols, provider=provider, concurrency=concurrency)
    return sum(r.ok for r in results)


async def run_workbench_aiohttp(base: str, symbols: list[str], concurrency: int) -> int:
    """One symbol per request through the aiohttp transport for http:// too (one transport)."""
    from workbench.quotes.aiohttp_transport import AiohttpTransport
    from workbench.quotes.client import USER_AGENT, QuoteClient
    from workbench.quotes.engine import fetch_quotes
    from workbench.quotes.providers import WorkbenchApiProvider

    provider = WorkbenchApiProvider(base_url=base, batch_size=1)
    client = QuoteClient(
        transport=AiohttpTransport(limit=concurrency), headers={"user-agent": USER_AGENT}
    )
    async with client:
        results = await fetch_quotes(
            symbols, provider=provider, concurrency=concurrency, client=client
        )
    return sum(r.ok for r in results)


CLIENTS = {
    "workbench": run_workbench,
    "wb-single": run_workbench_single,
    "wb-aiohttp": run_workbench_aiohttp,
    "aiohttp": run_aiohttp,
    "httpx": run_httpx,
}


def main() -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per client")
    parser.add_argument(
        "--httpx-rounds",
        type=int,
        default=1,
        help="timed runs of plain httpx (each takes ~20 s of full CPU, disturbing the others)",
    )
    parser.add_argument("--quick", action="store_true", help="400 symbols, one round")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    parser.add_argument(
        "--server-pythonpath",
        default=None,
        help="extra import path for the server process only (e.g. a dir with httptools)",
    )
    args = parser.parse_args()
    if args.quick:
        args.symbols, args.rounds = 400, 1
    names = [n for n in args.clients.split(",") if n]
    symbols = [f"U{i:05d}" for i in range(1, args.symbols + 1)]
    ideal = args.symbols * args.latency_ms / 1000.0 / args.concurrency

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"starting quote server on {base} (universe {args.symbols}, {args.latency_ms:g} ms)")
    server = start_server(
        port,
        universe=args.symbols,
        latency_ms=args.latency_ms,
        pythonpath=args.server_pythonpath,
    )
    walls: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    server_cpus: dict[str, list[float]] = {n: [] for n in names}
    try:
        for name in names:  # warm-up: connections, imports, server caches
            asyncio.run(CLIENTS[name](base, symbols[:200], args.concurrency))
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                if name == "httpx" and len(walls[name]) >= args.httpx_rounds:
                    continue
                server_before = process_cpu(server.pid)
                cpu_before = time.process_time()
                started = time.perf_counter()
                ok = asyncio.run(CLIENTS[name](base, symbols, args.concurrency))
                walls[name].append(time.perf_counter() - started)
                cpus[name].append(time.process_time() - cpu_before)
                server_cpus[name].append(process_cpu(server.pid) - server_before)
                if ok != len(symbols):
                    print(f"  warning: {name} got {ok}/{len(symbols)} quotes")
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(
        f"\n{args.symbols} symbols, {args.latency_ms:g} ms latency, concurrency"
        f" {args.concurrency}, {args.rounds} round(s), {os.cpu_count()} CPUs"
    )
    print(f"ideal bound N x latency / concurrency = {ideal:.3f} s\n")
    print(f"{'client':<10} {'wall med':>9} {'wall min':>9} {'x ideal':>8} {'sym/s':>7}"
          f" {'client CPU/req':>15} {'server CPU/req':>15}")  # fmt: skip
    median = {n: statistics.median(walls[n]) for n in names}
    for name in names:
        per_req = statistics.median(cpus[name]) / args.symbols * 1e6
        server_per_req = statistics.median(server_cpus[name]) / args.symbols * 1e6
        print(
            f"{name:<10} {median[name]:>8.3f}s {min(walls[name]):>8.3f}s"
            f" {median[name] / ideal:>7.2f}x {args.symbols / median[name]:>7.0f}"
            f" {per_req:>12.0f} us {server_per_req:>12.0f} us"
        )
    best = {n: min(walls[n]) for n in names}
    print("\n(median / best round; best is least disturbed by other load on the machine)")

    def paired(a: str, b: str) -> str:
        # rounds run back to back, so a per-round ratio cancels slow drifts in machine load
        ratios = [x / y for x, y in zip(walls[a], walls[b], strict=False)]
        rounds = ", ".join(f"{r:.2f}" for r in ratios)
        return f"{statistics.median(ratios):.2f}x (rounds: {rounds})"

    for name in ("wb-single", "workbench"):
        if name in names:
            print(
                f"{name} / ideal{'':<13}: {median[name] / ideal:.2f}x"
                f" / {best[name] / ideal:.2f}x{'   (bar <= 1.5)' if name == 'wb-single' else ''}"
            )
    if "wb-single" in names and "aiohttp" in names:
        print(f"wb-single throughput / aiohttp  : {paired('aiohttp', 'wb-single')}   (bar >= 0.9)")
    if "wb-single" in names and "wb-aiohttp" in names:
        print(
            f"hand-written / aiohttp transport: {paired('wb-aiohttp', 'wb-single')}"
            "   (keep it only if >= 1.10)"
        )
    if "workbench" in names and "wb-single" in names:
        print(
            f"symbols/s batched {args.symbols / median['workbench']:,.0f} vs one per request"
            f" {args.symbols / median['wb-single']:,.0f}: {paired('wb-single', 'workbench')}"
        )


if __name__ == "__main__":
    main()
