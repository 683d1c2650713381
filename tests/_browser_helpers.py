"""Helpers for tests of the apps: demo databases, servers on free ports, kernel sessions.

A marimo app in run mode reports failing cells only on its kernel websocket (the page shows an
empty output and a toast that fades), so these helpers read the kernel's messages: ``cell-op``
outputs on channel ``marimo-error`` (except ``ancestor-stopped``), until ``completed-run``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
APP_NAMES = ("batch", "gains", "ledger", "portfolio", "quotes", "risk")
#: the access token of the protected serve app (the `protected_app` fixture in conftest.py)
SERVE_TOKEN = "s3cret-token"
SERVE_BEARER = {"Authorization": f"Bearer {SERVE_TOKEN}"}
WORKBENCH = Path(sys.executable).with_name("workbench")


def build_demo_db(path: Path) -> Path:
    """Write the deterministic demo database (seed 7) at ``path``."""
    from workbench.demo import write_demo

    write_demo(path, seed=7)
    return path


def demo_template(tmp_path_factory: Any) -> Path:
    """The demo database built once per test session (under pytest's base temp dir).

    Tests never use it directly: each takes a private copy (:func:`copy_db`) in its tmp_path.
    """
    path = Path(tmp_path_factory.getbasetemp()) / "demo-template" / "workbench.duckdb"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        build_demo_db(path)
    return path


def copy_db(template: Path, target: Path) -> Path:
    """A private copy of a template database, so each test has its own file."""
    shutil.copyfile(template, target)
    return target


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    base: str,
    *,
    timeout: float = 60.0,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``{base}/healthz`` until it answers 200 (or the process dies, or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            output = log.read_text(errors="replace") if log is not None else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{output}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base} did not become healthy in {timeout} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server process, killing it if it has not exited within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def serve_process(
    db: Path,
    *,
    token: str | None = None,
    token_file: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``workbench serve`` as a subprocess on a free port; yields (base URL, process).

    ``extra_env`` adds environment variables (e.g. ``WORKBENCH_SQL_TIMEOUT``).

    Its output goes to ``serve.log`` beside the database (a pipe nobody reads could fill up).
    """
    port = free_port()
    args = [str(WORKBENCH), "serve", "--port", str(port), "--db", str(db)]
    if token_file is not None:
        args += ["--token-file", str(token_file)]
    env = {
        k: v for k, v in os.environ.items() if k not in ("WORKBENCH_TOKEN", "WORKBENCH_READ_ONLY")
    }
    if token is not None:
        env["WORKBENCH_TOKEN"] = token
    env["WORKBENCH_NOTEBOOKS"] = str(NOTEBOOKS)
    env.update(extra_env or {})
    log_path = db.parent / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=db.parent)
        try:
            wait_healthy(base, proc=proc, log=log_path)
            yield base, proc
        finally:
            stop_process(proc)


@contextlib.contextmanager
def uvicorn_thread(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free 127.0.0.1 port; yields the base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="error", ws="websockets-sansio", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class KernelRun:
    """What one app session's kernel sent until its first run completed."""

    names: dict[str, str] = field(default_factory=dict)  # cell id -> cell (function) name
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # cell id -> last output
    errors: list[dict[str, Any]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    outcome: str | None = None

    def output_of(self, name: str) -> str:
        """The last output (HTML or text) of the cell with this function name."""
        for cell_id, cell_name in self.names.items():
            if cell_name == name:
                return str(self.outputs.get(cell_id, {}).get("data", ""))
        raise KeyError(name)

    def all_output(self) -> str:
        """Every cell's output, concatenated."""
        return "\n".join(str(o.get("data", "")) for o in self.outputs.values())


def cell_errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The real errors in one kernel message (a cell's own failure, not a stopped ancestor)."""
    if message.get("op") != "cell-op":
        return []
    data = message.get("data", message)
    output = data.get("output") or {}
    if output.get("channel") != "marimo-error":
        return []
    errors = output.get("data") or []
    return [e for e in errors if e.get("type") not in ("ancestor-stopped", "ancestor-prevented")]


def run_app_session(
    base: str, name: str, *, headers: dict[str, str] | None = None, timeout: float = 90.0
) -> KernelRun:
    """Open an app's kernel websocket, collect outputs and errors until the run completes."""
    from websockets.sync.client import connect

    session = f"s_{uuid.uuid4().hex[:8]}"
    url = base.replace("http://", "ws://") + f"/apps/{name}/ws?session_id={session}"
    run = KernelRun()
    deadline = time.monotonic() + timeout
    with connect(url, additional_headers=headers or {}, open_timeout=30, max_size=None) as ws:
        while time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            op = message.get("op")
            data = message.get("data", message)
            if op == "kernel-ready":
                run.names = dict(zip(data["cell_ids"], data["names"], strict=True))
                run.codes = list(data.get("codes", []))
            elif op == "cell-op":
                if data.get("output"):
                    run.outputs[data["cell_id"]] = data["output"]
                run.errors.extend(cell_errors(message))
            elif op == "completed-run":
                run.outcome = data.get("outcome")
                return run
    raise TimeoutError(f"app {name} did not complete its run in {timeout} s")
