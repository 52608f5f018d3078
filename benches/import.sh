#!/usr/bin/env bash
# Import benchmark (issue: foundation). Builds the release binary, writes a 1,000,000-row generic
# CSV with `gemba demo --csv`, imports it into an empty SQLite store, then imports it again (all
# upserts). Prints rows/s and peak RSS of each import.
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
import resource, subprocess, sys, time
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
    print("   ", r.stdout.strip().splitlines()[0])
run("import into an empty store")
run("re-import (all upserts)   ")
PY
