#!/usr/bin/env bash
# PostgreSQL's own floor for the import benchmark (issue #17): how long the server alone takes to
# write 1,000,000 orders that are already inside it, with no client, no COPY through a socket and
# no parsing. Same cluster settings as benches/import.sh (PostgreSQL's default durability,
# shared_buffers 2 GB, max_wal_size 4 GB), gemba's own `orders` table (its schema made by
# `gemba`, which is why a debug build is enough). Rows of the demo's shape are generated in SQL
# into a staging table once; then, three rounds each, into an emptied `orders`:
#   insert        INSERT … SELECT with the (source, id) key in place (what an import must do)
#   upsert        INSERT … ON CONFLICT (source, id) DO NOTHING (the conflict check's price)
#   shuffled …    both again with the rows in no order of their key (as a CMMS export comes;
#                 every insert then lands on another page of the key's index)
#   no key        INSERT … SELECT with the key dropped (the price of the index)
# When any of these is above SQLite's whole import in docs/performance.md, a PostgreSQL import on
# this machine cannot reach it whatever the client does.
#
#   bash benches/pg_floor.sh [ROWS]        # default 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
cargo build --locked >&2
. .ci/pg.sh
trap pg_down EXIT
unset GEMBA_TEST_PG
PG_DURABLE=1 PG_OPTS="-c shared_buffers=2GB -c max_wal_size=4GB" pg_up >&2
db="${GEMBA_TEST_PG%/*}/floor"
psql "$GEMBA_TEST_PG" -qc "CREATE DATABASE floor"
target/debug/gemba --db "$db" imports >/dev/null
# One statement timed per line of output; everything between them (emptying the table, a
# checkpoint so no round pays for the previous one's dirty pages) runs with timing off.
{
  cat <<'SQL'
CREATE UNLOGGED TABLE staged (LIKE orders);
INSERT INTO staged (source, id, title, kind, status, priority, site, area, crew, assignee,
    asset_id, asset_name, asset_criticality, created_at, due_at, completed_at, updated_at,
    estimated_hours, actual_hours, downtime_hours, cost, failure_code)
SELECT 'demo', 'WO-' || lpad(g::text, 7, '0'),
       (ARRAY['Replace bearing on', 'Inspect', 'Lubricate', 'Fix leak at'])[1 + g % 4] || ' pump P-' || (g % 400),
       (ARRAY['emergency', 'corrective', 'preventive', 'corrective', 'preventive'])[1 + g % 5],
       (ARRAY['done', 'done', 'done', 'open', 'in_progress'])[1 + g % 5],
       1 + g % 4, 'North', 'Area ' || (g % 6), 'Crew ' || (g % 12), 'tech' || (g % 60),
       'P-' || (g % 400), 'Pump P-' || (g % 400), 1 + g % 5,
       1700000000000 + g * 30000, 1700000000000 + g * 30000 + 604800000,
       CASE WHEN g % 5 < 3 THEN 1700000000000 + g * 30000 + 86400000 END,
       1700000000000 + g * 30000 + 86400000,
       1 + g % 8, CASE WHEN g % 5 < 3 THEN 0.5 + g % 7 END, CASE WHEN g % 5 = 0 THEN 1.5 END,
       CASE WHEN g % 3 = 0 THEN 120 + g % 900 END, CASE WHEN g % 5 = 0 THEN 'BRG' END
FROM generate_series(1::bigint, :rows) g;
VACUUM ANALYZE staged;
CREATE UNLOGGED TABLE shuffled AS SELECT * FROM staged ORDER BY md5(id);
VACUUM ANALYZE shuffled;
SQL
  round() { # label, statement
    printf '%s\n' "TRUNCATE orders;" "CHECKPOINT;" "\\echo $1" "\\timing on" "$2" "\\timing off"
  }
  for r in 1 2 3; do round insert "INSERT INTO orders SELECT * FROM staged;"; done
  for r in 1 2 3; do
    round upsert "INSERT INTO orders SELECT * FROM staged ON CONFLICT (source, id) DO NOTHING;"
  done
  for r in 1 2 3; do round "shuffled insert" "INSERT INTO orders SELECT * FROM shuffled;"; done
  for r in 1 2 3; do
    round "shuffled upsert" "INSERT INTO orders SELECT * FROM shuffled ON CONFLICT (source, id) DO NOTHING;"
  done
  echo "ALTER TABLE orders DROP CONSTRAINT orders_pkey;"
  for r in 1 2 3; do round "no key" "INSERT INTO orders SELECT * FROM staged;"; done
} | psql "$db" -qAt -v ON_ERROR_STOP=1 -v rows="$rows" | awk -v rows="$rows" '
  /^Time: / { s = $2 / 1000; printf "%-16s %6.2f s  %9.0f rows/s\n", label, s, rows / s; next }
  { label = $0 }'
