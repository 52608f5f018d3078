#!/usr/bin/env bash
# The API contract test: schemathesis, with every check, against a live `gemba serve` with the
# demo plant on a free loopback port, writing with the API token. It passes only when nothing is
# reported: no schema-valid request refused (a rule the document cannot state answers 422, see
# schemathesis.toml and docs/reliability.md), no undocumented status or content type, no 5xx.
# .ci/test runs it after the tests, with their debug build of gemba.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.32.5
if ! command -v schemathesis >/dev/null 2>&1; then
  if command -v pip3 >/dev/null 2>&1; then
    echo "installing schemathesis $version for the API contract test (pip)" >&2
    pip3 install -q "schemathesis==$version" >&2
  fi
  if ! command -v schemathesis >/dev/null 2>&1; then
    echo "error: the API contract test needs schemathesis: pip3 install schemathesis==$version" >&2
    exit 1
  fi
fi
bin=target/debug/gemba
[ -x "$bin" ] || cargo build --locked --bin gemba
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
GEMBA_API_TOKEN=$token "$bin" --db "sqlite:$work/gemba.db" serve --demo --addr "127.0.0.1:$port" \
  >"$work/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "error: gemba serve stopped" >&2; exit 1; }
  sleep 0.5
done
# A fixed seed: the same requests every run, so a failure here is the code's, not the dice's.
schemathesis run "http://127.0.0.1:$port/api/v1/openapi.json" --url "http://127.0.0.1:$port" \
  --checks all --header "Authorization: Bearer $token" \
  --seed 1 --generation-deterministic --max-examples 20 --workers 1 \
  || { echo "== the server's log"; tail -n 50 "$work/server.log"; exit 1; }
