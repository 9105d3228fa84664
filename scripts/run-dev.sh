#!/usr/bin/env bash
# `make run`: the web server on HOST:PORT and, beside it, the scheduler (`flask workflows tick`) once a
# minute, as cron or a systemd timer would run it in production. Ctrl+C stops both.
set -euo pipefail
BIN="${BIN:-.venv/bin}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-5000}"

(
  while true; do
    "$BIN/flask" workflows tick >/dev/null 2>>instance/tick.log || true
    sleep 60
  done
) &
TICKER=$!
trap 'kill "$TICKER" 2>/dev/null || true' EXIT INT TERM

"$BIN/flask" run --host "$HOST" --port "$PORT"
