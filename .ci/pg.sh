# PostgreSQL for the tests, sourced by .ci/test: `pg_up` exports GEMBA_TEST_PG (and
# GEMBA_TEST_PG_ROOTCERT, the CA of the server's TLS certificate) for a server the tests may
# create databases on; `pg_down` removes what pg_up started.
#
# A server already answering at GEMBA_TEST_PG is used as it is (it then needs TLS, with its CA
# in GEMBA_TEST_PG_ROOTCERT, for the TLS tests). Otherwise a throwaway cluster is made in a
# temporary folder on a free loopback port, with a self-signed certificate for 127.0.0.1 and
# localhost, Debian's postgresql installed with apt-get first when it is missing.

pg_dir=""

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_up() {
  if [ -n "${GEMBA_TEST_PG:-}" ]; then
    if psql "$GEMBA_TEST_PG" -Atc 'select 1' >/dev/null 2>&1; then
      echo "== PostgreSQL: the server at GEMBA_TEST_PG"
      return 0
    fi
    echo "error: GEMBA_TEST_PG is set but no server answers there; unset it to let the tests start their own" >&2
    return 1
  fi
  local bin
  bin=$(pg_bin)
  if [ -z "$bin" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      echo "installing postgresql for the tests (apt-get)" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bin=$(pg_bin)
    fi
    if [ -z "$bin" ]; then
      echo "error: the store's tests need PostgreSQL: install it (sudo apt-get install postgresql), or point GEMBA_TEST_PG at a server where they may create databases" >&2
      return 1
    fi
  fi
  if ! command -v openssl >/dev/null 2>&1; then
    echo "error: the PostgreSQL TLS tests need openssl (sudo apt-get install openssl)" >&2
    return 1
  fi
  pg_dir=$(mktemp -d /tmp/gemba-pg.XXXXXX)
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # A CA of its own and a server certificate it signs (webpki refuses a CA as the server's).
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Gemba test CA" \
    -keyout "$pg_dir/ca.key" -out "$pg_dir/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
    -keyout "$pg_dir/server.key" -out "$pg_dir/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$pg_dir/server.ext"
  openssl x509 -req -in "$pg_dir/server.csr" -CA "$pg_dir/ca.crt" -CAkey "$pg_dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$pg_dir/server.ext" -out "$pg_dir/server.crt" >/dev/null 2>&1
  chmod 600 "$pg_dir/server.key"
  local as=()
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses root: the cluster belongs to the postgres user.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres "$pg_dir"
    chmod 755 "$pg_dir"
    chmod 644 "$pg_dir/server.crt" "$pg_dir/ca.crt"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1 \
    || { cat "$pg_dir/initdb.log" >&2; return 1; }
  # A throwaway cluster for tests: durability off for speed (the server's durability is not
  # what they test). PG_DURABLE=1 (the benchmarks) keeps PostgreSQL's defaults.
  local fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_DURABLE:-0}" = 1 ] && fast=""
  # PG_OPTS: more server settings (the benchmarks size shared_buffers as a server would be).
  fast="$fast ${PG_OPTS:-}"
  "${as[@]}" "$bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 $fast -c max_connections=300 -c ssl=on -c ssl_cert_file=$pg_dir/server.crt -c ssl_key_file=$pg_dir/server.key" \
    start >/dev/null || { cat "$pg_dir/server.log" >&2; return 1; }
  export GEMBA_TEST_PG="postgres://postgres@127.0.0.1:$port/postgres"
  export GEMBA_TEST_PG_ROOTCERT="$pg_dir/ca.crt"
  export GEMBA_TEST_PG_DATA="$pg_dir/data"
  export GEMBA_TEST_PG_CTL="${as[*]} $bin/pg_ctl"
  echo "== PostgreSQL: a throwaway cluster on 127.0.0.1:$port ($pg_dir)"
}

pg_down() {
  if [ -n "$pg_dir" ] && [ -d "$pg_dir" ]; then
    local as=()
    [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$(pg_bin)/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}
