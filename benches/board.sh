#!/usr/bin/env bash
# Board benchmark (issue: the daily visual board). Fills a store with 1,000,000 demo orders,
# starts `gemba serve` on 127.0.0.1, warms the cache, then loads the board page with wrk:
# 32 concurrent connections over loopback, 2 threads, 20 s. Prints requests/s, latency
# percentiles and the server's resident memory.
#
#   bash benches/board.sh [ORDERS]        # default 1000000; needs wrk (apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
orders=${1:-1000000}
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "error: this benchmark needs wrk: apt-get install wrk" >&2; exit 1
  fi
fi
cargo build --release --locked >&2
bin=$PWD/target/release/gemba
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export GEMBA_DB="sqlite:$work/bench.db" GEMBA_CONFIG="$PWD/config/gemba.toml"
"$bin" demo --orders "$orders" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --addr "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
echo "store: $orders orders; server pid $server, RSS after start $(awk '/VmRSS/{print $2/1024 " MB"}' /proc/$server/status)"
start=$(date +%s.%N)
curl -sf -o /dev/null "http://127.0.0.1:$port/"
echo "first board request (computes and caches the plant board): $(echo "$(date +%s.%N) - $start" | bc) s"
wrk -t2 -c32 -d20s --latency "http://127.0.0.1:$port/" | sed -n '1,20p'
echo "server RSS now $(awk '/VmRSS/{print $2/1024 " MB"}' /proc/$server/status), peak $(awk '/VmHWM/{print $2/1024 " MB"}' /proc/$server/status)"
