#!/usr/bin/env bash
# Workbook import benchmark (issue #16): the same generic rows as benches/import.sh, written as
# an .xlsx with date cells (openpyxl, write-only), imported into an empty SQLite store three
# times. Prints rows/s and peak RSS of each import, then the median, beside the same rows as CSV.
#
#   bash benches/workbook.sh [ROWS]        # default 100000; needs python3 with openpyxl
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
python3 -c 'import openpyxl' 2>/dev/null || { echo "error: this benchmark needs openpyxl: pip install openpyxl" >&2; exit 1; }
cargo build --release --locked >&2
bin=target/release/gemba
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" demo --seed 1 --csv "$work/orders.csv" --orders "$rows" --until 2026-03-31 >/dev/null
python3 - "$work/orders.csv" "$work/orders.xlsx" <<'PY'
import csv, datetime, sys
import openpyxl
src, dst = sys.argv[1], sys.argv[2]
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet("Orders")
with open(src, newline="") as f:
    r = csv.reader(f)
    header = next(r)
    ws.append(header)
    dates = {i for i, h in enumerate(header) if h.endswith("_at") or h == "scheduled_start"}
    nums = {i for i, h in enumerate(header) if h.endswith("_hours") or h in ("cost", "priority", "asset_criticality", "pm_interval_days")}
    for row in r:
        out = []
        for i, v in enumerate(row):
            if v == "":
                out.append(None)
            elif i in dates:
                out.append(datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).replace(tzinfo=None))
            elif i in nums:
                out.append(float(v))
            else:
                out.append(v)
        ws.append(out)
wb.save(dst)
PY
echo "rows: $rows; xlsx $(du -h "$work/orders.xlsx" | cut -f1), csv $(du -h "$work/orders.csv" | cut -f1)"
python3 - "$bin" "$work" "$rows" <<'PY'
import os, resource, statistics, subprocess, sys, time
bin, work, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
def run(file, label):
    db = os.path.join(work, "bench.db")
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    t = time.perf_counter()
    r = subprocess.run([bin, "--db", f"sqlite:{db}", "import", file, "--profile", "generic"],
                       capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{label} failed: {r.stderr}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{label}: {dt:.2f} s, {rows / dt:,.0f} rows/s, peak RSS (max so far) {rss:,.0f} MB")
    return dt
for file, label in (("orders.xlsx", "xlsx"), ("orders.csv", "csv ")):
    times = [run(os.path.join(work, file), label) for _ in range(3)]
    m = statistics.median(times)
    print(f"median {label}: {m:.2f} s, {rows / m:,.0f} rows/s end to end")
PY
