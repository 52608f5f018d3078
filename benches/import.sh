#!/usr/bin/env bash
# Import benchmark (issue: foundation). Builds the release binary, writes a 1,000,000-row generic
# CSV with `gemba demo --csv`, imports it into an empty SQLite store, then imports it again (all
# upserts), three times over. Prints rows/s and peak RSS of each import, then the medians.
#
#   bash benches/import.sh [ROWS]        # default 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
cargo build --release --locked >&2
bin=target/release/gemba
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
csv="$work/orders.csv"
"$bin" demo --seed 1 --csv "$csv" --orders "$rows" --until 2026-03-31 >/dev/null
echo "csv: $rows rows, $(du -h "$csv" | cut -f1)"
python3 - "$bin" "$csv" "$work/bench.db" "$rows" <<'PY'
# Three rounds of (import into an empty store, re-import): this machine is shared and its speed
# moves by a fifth from one minute to the next, so every round is printed, then the medians.
import os, resource, statistics, subprocess, sys, time
bin, csv, db, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def run(label):
    t = time.perf_counter()
    r = subprocess.run([bin, "--db", f"sqlite:{db}", "import", csv, "--profile", "generic"],
                       capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{label} failed: {r.stderr}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{label}: {dt:.2f} s, {rows / dt:,.0f} rows/s, peak RSS (max so far) {rss:,.0f} MB")
    for line in r.stdout.strip().splitlines():
        print("   ", line)
    return dt
first, again = [], []
for round in range(3):
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    first.append(run("import into an empty store"))
    again.append(run("re-import (all upserts)   "))
for label, times in (("import", first), ("re-import", again)):
    m = statistics.median(times)
    print(f"median {label}: {m:.2f} s, {rows / m:,.0f} rows/s end to end")
PY
