#!/usr/bin/env bash
# Read paths under load (issue #15). Fills a store with 1,000,000 demo orders, starts
# `gemba serve` on 127.0.0.1 and drives each path people use with wrk: 32 connections, 2 threads,
# 30 s each (time-out 10 s) after a 3 s warm-up. Prints per path: requests/s, p50 / p99 / max latency, non-2xx
# answers (a 503 is one), socket errors and time-outs, and the server's resident memory
# after it; at the end the server's peak. The kpis rotation asks 50 past dates, each once per
# data version, so most of its answers are computed, not cached.
#
#   bash benches/load.sh [ORDERS] [SECONDS]     # default 1000000 30; needs wrk (apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
orders=${1:-1000000}
secs=${2:-30}
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
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
rss() { awk '/VmRSS/{printf "%.0f MB", $2/1024}' /proc/$server/status; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); store: $orders orders; RSS after start $(rss)"

# Reports what the issue asks for from wrk's own counters; PATHS rotates requests over paths.
cat > "$work/report.lua" <<'LUA'
local paths, i = {}, 0
for p in string.gmatch(os.getenv("PATHS"), "[^|]+") do paths[#paths + 1] = p end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("%8.0f req/s  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  non-2xx %d  timeouts %d  socket errors %d\n",
    summary.requests / s, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status, summary.errors.timeout,
    summary.errors.connect + summary.errors.read + summary.errors.write))
end
LUA
today=$(date +%F)
past=""
for d in $(seq 1 50); do past+="/api/v1/kpis?as_of=$(date -d "$today - $((d * 7)) days" +%F)|"; done
# Each round but the rotation of past dates is warmed for 3 s first (not counted): it measures
# the answers as served from the cache; the first computation of each is timed above.
load() {
  local label=$1 paths=$2 warm=${3:-warm}
  if [ "$warm" = warm ]; then
    PATHS="$paths" wrk -t2 -c32 -d3s --timeout 10s -s "$work/report.lua" "http://127.0.0.1:$port" >/dev/null
  fi
  printf '%-34s' "$label"
  PATHS="$paths" wrk -t2 -c32 -d"${secs}s" --timeout 10s -s "$work/report.lua" "http://127.0.0.1:$port" | tail -1 | tr -d '\n'
  echo "  RSS $(rss)"
}
# One request each first: the first computation of each board and answer, for the record.
for p in "/" "/board?crew=Utilities" "/board?area=Packaging" "/api/v1/kpis"; do
  start=$(date +%s.%N)
  curl -sf -o /dev/null "http://127.0.0.1:$port$p"
  printf 'first %-28s %.2f s\n' "$p" "$(echo "$(date +%s.%N) - $start" | bc)"
done
load "/"                                 "/"
load "/?kiosk=1"                         "/?kiosk=1"
load "/board?crew=Utilities"             "/board?crew=Utilities"
load "/board?area=Packaging"             "/board?area=Packaging"
load "/api/v1/kpis (today)"              "/api/v1/kpis"
load "/api/v1/kpis (50 past dates)"      "${past%|}" cold
load "/api/v1/trend (a year, weekly)"    "/api/v1/trend?metric=backlog_weeks,reactive_pct&from=$(date -d "$today - 364 days" +%F)&to=$today&every=7d"
load "/orders?overdue=1"                 "/orders?overdue=1"
load "/api/v1/pull"                      "/api/v1/pull"
echo "server RSS now $(rss), peak $(awk '/VmHWM/{printf "%.0f MB", $2/1024}' /proc/$server/status)"
