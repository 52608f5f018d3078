#!/usr/bin/env bash
# Import benchmark. Builds the release binary, writes a 1,000,000-row generic CSV with
# `gemba demo --csv`, and imports it into an empty store, then again into the full one (every row
# an upsert, none changed), three rounds each, first on SQLite, then on PostgreSQL in the same
# run (a throwaway cluster with PostgreSQL's default durability, on this machine, through
# loopback; shared_buffers 2 GB, max_wal_size 4 GB). Prints seconds, rows/s and each import's own peak RSS, then the medians.
#
#   bash benches/import.sh [ROWS] [sqlite|postgres|both]     # default 1000000 both
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
engines=${2:-both}
cargo build --release --locked >&2
bin=target/release/gemba
work=$(mktemp -d)
. .ci/pg.sh
trap 'pg_down; rm -rf "$work"' EXIT
if [ "$engines" != sqlite ]; then
  unset GEMBA_TEST_PG
  # PostgreSQL's default durability; shared_buffers at a quarter of this machine's 24 GiB would
  # be 6 GB, 2 GB holds the table and its index (the default 128 MB is a placeholder).
  PG_DURABLE=1 PG_OPTS="-c shared_buffers=2GB -c max_wal_size=4GB" pg_up >&2
fi
csv="$work/orders.csv"
"$bin" demo --seed 1 --csv "$csv" --orders "$rows" --until 2026-03-31 >/dev/null
echo "csv: $rows rows, $(du -h "$csv" | cut -f1)"
python3 - "$bin" "$csv" "$work" "$rows" "$engines" "${GEMBA_TEST_PG:-}" <<'PY'
# Three rounds of (import into an empty store, re-import) per engine: this machine is shared and
# its speed moves by a fifth from one minute to the next, so every round is printed, then the
# medians.
import os, statistics, subprocess, sys, time
bin, csv, work, rows, engines, server = sys.argv[1:7]
rows = int(rows)

def rss_run(db, label):
    # wait4 gives this import's own peak RSS (not the maximum over every child so far).
    t = time.perf_counter()
    p = subprocess.Popen([bin, "--db", db, "import", csv, "--profile", "generic"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    out, err = p.stdout.read().decode(), p.stderr.read().decode()
    if status != 0:
        sys.exit(f"{label} failed: {err}")
    print(f"{label}: {dt:.2f} s, {rows / dt:,.0f} rows/s, peak RSS {usage.ru_maxrss / 1024:,.0f} MB")
    for line in out.strip().splitlines():
        print("   ", line)
    return dt

def psql(sql):
    subprocess.run(["psql", server, "-qAtc", sql], check=True, capture_output=True)

results = {}
for engine in (["sqlite", "postgres"] if engines == "both" else [engines]):
    first, again = [], []
    for round in range(3):
        if engine == "sqlite":
            path = os.path.join(work, "bench.db")
            for f in (path, path + "-wal", path + "-shm"):
                if os.path.exists(f):
                    os.remove(f)
            db = f"sqlite:{path}"
        else:
            psql("DROP DATABASE IF EXISTS bench WITH (FORCE)")
            psql("CREATE DATABASE bench")
            db = server.rsplit("/", 1)[0] + "/bench?sslmode=disable"
        first.append(rss_run(db, f"{engine}: import into an empty store"))
        again.append(rss_run(db, f"{engine}: re-import (all upserts)   "))
    results[engine] = (first, again)
for engine, (first, again) in results.items():
    for label, times in (("import", first), ("re-import", again)):
        m = statistics.median(times)
        print(f"median {engine} {label}: {m:.2f} s, {rows / m:,.0f} rows/s end to end "
              f"(spread {min(times):.2f}-{max(times):.2f} s)")
PY
