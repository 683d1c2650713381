#!/usr/bin/env bash
# The plain install works: `pip install .` WITHOUT extras into a clean virtualenv in a temporary
# directory, then demo, report, the quote server with one fetch from it, and serve with one app
# page. Catches a runtime import that only the test extra (or a transitive dependency) brings.
# Run by `make test`; alone: .ci/plain_install.sh [python]. Fails loudly at the first problem.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${1:-${PYTHON:-python3}}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/workbench-plain.XXXXXX")"
PIDS=()

cleanup() {
    local pid i
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        # a bounded wait for a graceful stop, then SIGKILL
        for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "plain install: FAILED: $*" >&2
    for log in "$WORK"/*.log; do
        [ -f "$log" ] && { echo "--- $(basename "$log")" >&2; tail -n 30 "$log" >&2; }
    done
    exit 1
}

step() { echo "plain install: $*"; }

# a clean venv; nothing of the caller's environment (PYTHONPATH=src would hide a bad wheel)
unset PYTHONPATH VIRTUAL_ENV WORKBENCH_DB WORKBENCH_TOKEN WORKBENCH_NOTEBOOKS
step "venv in $WORK"
"$PY" -m venv "$WORK/venv" || fail "cannot create a virtualenv with $PY"
VPY="$WORK/venv/bin/python"
WB="$WORK/venv/bin/workbench"
step "pip install . (no extras)"
"$VPY" -m pip install --quiet --disable-pip-version-check "$ROOT" >"$WORK/pip.log" 2>&1 \
    || fail "pip install . failed"
cd "$WORK"  # away from the checkout: only the installed package can be imported
DB="$WORK/demo.duckdb"

free_port() {
    "$VPY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS PID: poll until URL answers 200, the server exits, or time runs out
wait_http() {
    "$VPY" - "$1" "$2" "$3" <<'EOF' || return 1
import os, sys, time, urllib.request
url, limit, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"server (pid {pid}) exited before answering {url}")
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(f"{url} did not answer 200 within {limit:.0f} s")
EOF
}

step "workbench demo"
"$WB" demo --db "$DB" >"$WORK/demo.log" 2>&1 || fail "workbench demo"
step "workbench report"
"$WB" report --db "$DB" >"$WORK/report.log" 2>&1 || fail "workbench report"
grep -q . "$WORK/report.log" || fail "workbench report printed nothing"

QPORT="$(free_port)"
step "workbench quote-server on port $QPORT"
"$WB" quote-server --port "$QPORT" >"$WORK/quote-server.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$QPORT/v1/ACME" 60 "${PIDS[-1]}" || fail "quote server not ready"
step "workbench quotes --provider workbench --base-url http://127.0.0.1:$QPORT"
"$WB" quotes ACME WBUS --provider workbench --base-url "http://127.0.0.1:$QPORT" --json \
    --db "$DB" >"$WORK/quotes.log" 2>&1 || fail "workbench quotes from the quote server"
"$VPY" - "$WORK/quotes.log" <<'EOF' || fail "quotes output"
import json, sys
items = json.load(open(sys.argv[1]))
bad = [i for i in items if i["error"] is not None or not i["price"]]
if [i["symbol"] for i in items] != ["ACME", "WBUS"] or bad:
    sys.exit(f"unexpected quotes: {items}")
EOF

SPORT="$(free_port)"
step "workbench serve on port $SPORT"
"$WB" serve --db "$DB" --port "$SPORT" --notebooks "$ROOT/notebooks" >"$WORK/serve.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$SPORT/healthz" 90 "${PIDS[-1]}" || fail "serve not ready"
"$VPY" - "http://127.0.0.1:$SPORT/apps/ledger/" <<'EOF' || fail "app page"
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
    body = r.read().decode("utf-8", "replace")
    if r.status != 200 or "marimo" not in body.lower():
        sys.exit(f"{sys.argv[1]}: status {r.status}, {len(body)} bytes without a marimo app")
EOF
step "OK: demo, report, quote-server + quotes, serve + /apps/ledger/ from a plain install"
