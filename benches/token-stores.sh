#!/usr/bin/env bash
# /token on the three shared-or-not stores, side by side in one run, and what a /token costs
# PostgreSQL. The release axum demo pinned to core 0, wrk pinned to core 1, POST
# /api/rest/token over 64 sessions in turn (rotation off) for DURATION seconds, ROUNDS times
# per store, the stores alternating round by round: memory, Redis (127.0.0.1:6379, db 13) and a
# PostgreSQL of the script's own (a free port, pg_stat_statements loaded). Then, on that
# PostgreSQL: statements per /token (pg_stat_statements calls over 200 refreshes, rotation off
# and on) and the bytes a session row takes (heap and indexes, over 20 000 rows shaped as the
# demo's sign-ins write them).
# Usage: benches/token-stores.sh [seconds per run, default 3] [rounds, default 3]
#   BIN=/path/to/another/build/axum_demo benches/token-stores.sh   # measure another build
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-3}"
ROUNDS="${2:-3}"
PORT="${PORT:-18380}"
HOST="http://127.0.0.1:$PORT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
export RUST_LOG=warn

. benches/common.sh
need wrk:wrk taskset:util-linux curl:curl python3:python3

if [ -n "${BIN:-}" ]; then
  bin="$BIN"
else
  cargo build --quiet --release --example axum_demo
  bin="$CARGO_TARGET_DIR/release/examples/axum_demo"
fi
work=$(mktemp -d); chmod 755 "$work"
server=""
stop() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }; }

# The PostgreSQL of this run: initdb refuses root, so it runs as `postgres`.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" != 0 ] || chown postgres "$work"
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg() { as_postgres "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w "$@" >/dev/null; }
trap 'stop; pg stop -m fast 2>/dev/null || true; rm -rf "$work"' EXIT
as_postgres "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
pg -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements" start
psql() { as_postgres "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -Atq "$@" postgres; }
psql -c "CREATE EXTENSION pg_stat_statements"
postgres="postgres://postgres@127.0.0.1:$pgport/postgres"

secret="bench-only-secret-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
launch() { # env...
  env PORT="$PORT" TOKENGATE_SECRET="$secret" "$@" taskset -c 0 "$bin" 2>>"$work/server.log" &
  server=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "$HOST/health" && return 0; sleep 0.1; done
  cat "$work/server.log" >&2; echo "token-stores: the demo did not start" >&2; exit 1
}
refresh_token() {
  curl -s -X POST "$HOST/api/rest/signin" --form login=john.doe@email.org --form 'password=#thePassword1234!' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["refreshToken"])'
}
SESSIONS=64
rps() { # file of refresh tokens, one per line
  {
    echo 'wrk.method = "POST"'
    echo 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
    echo 'local tokens = {'
    sed 's/.*/  "token=&",/' "$1"
    echo '}'
    echo 'local next = 0'
    echo 'request = function()'
    echo '  next = next % #tokens + 1'
    echo '  return wrk.format(nil, nil, nil, tokens[next])'
    echo 'end'
  } > "$work/token.lua"
  taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" -s "$work/token.lua" "$HOST/api/rest/token" \
    | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non-2xx " $4 > "/dev/stderr"}'
}
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

declare -A stores=(
  [memory]="memory"
  [redis]="redis://127.0.0.1:6379/13"
  [postgres]="$postgres"
)
declare -A runs
for round in $(seq 1 "$ROUNDS"); do
  for name in memory redis postgres; do
    launch TOKENGATE_STORE="${stores[$name]}" TOKENGATE_STORE_PREFIX="bench-$RANDOM$RANDOM"
    for _ in $(seq 1 $SESSIONS); do refresh_token; done > "$work/tokens"
    rps "$work/tokens" >/dev/null   # warm-up: prepared statements, scripts cached, pools full
    runs[$name]="${runs[$name]:-} $(rps "$work/tokens")"
    stop
  done
done
echo "POST /api/rest/token over $SESSIONS sessions, wrk -t1 -c32 -d${DURATION}s, $ROUNDS rounds, median req/s:"
m_memory=$(median ${runs[memory]}); m_redis=$(median ${runs[redis]}); m_pg=$(median ${runs[postgres]})
for name in memory redis postgres; do
  m=$(median ${runs[$name]})
  python3 -c "import sys; print(f'  {sys.argv[1]:9} {float(sys.argv[2]):9.0f}  ({float(sys.argv[2]) / float(sys.argv[3]):.2f} of memory)  runs:{sys.argv[4]}')" \
    "$name" "$m" "$m_memory" "${runs[$name]}"
done

echo "PostgreSQL statements per /token (pg_stat_statements, 200 refreshes):"
for rotation in false true; do
  launch TOKENGATE_STORE="$postgres" TOKENGATE_ROTATION=$rotation TOKENGATE_STORE_PREFIX="ops-$rotation"
  token=$(refresh_token)
  answer=$(curl -s -X POST "$HOST/api/rest/token" --form "token=$token")
  [ "$rotation" = false ] || token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["refreshToken"])' "$answer")
  psql -c "SELECT pg_stat_statements_reset()" >/dev/null
  for _ in $(seq 1 200); do
    answer=$(curl -s -X POST "$HOST/api/rest/token" --form "token=$token")
    [ "$rotation" = false ] || token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["refreshToken"])' "$answer")
  done
  stop
  psql -F ' ' -c "SELECT calls, regexp_replace(left(query, 60), '\s+', ' ', 'g') FROM pg_stat_statements
                  WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC" > "$work/statements"
  python3 - "$rotation" "$work/statements" <<'PY'
import sys
rows = [line.split(" ", 1) for line in open(sys.argv[2]) if line.strip()]
total = sum(int(calls) for calls, _ in rows)
print(f"  rotation={sys.argv[1]}: {total / 200:.2f} statements per /token")
for calls, query in rows:
    print(f"    {int(calls) / 200:.2f}  {query.strip()}")
PY
done

echo "PostgreSQL bytes per session row (20 000 rows shaped as the demo's, indexes included):"
launch TOKENGATE_STORE="$postgres" TOKENGATE_STORE_PREFIX=rows
curl -s -o /dev/null -X POST "$HOST/api/rest/signin" -A 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36' \
  --form login=john.doe@email.org --form 'password=#thePassword1234!'
stop
psql -c "VACUUM ANALYZE tokengate.sessions"
before=$(psql -c "SELECT pg_total_relation_size('tokengate.sessions')")
psql -c "INSERT INTO tokengate.sessions
           SELECT ns, substr(md5(random()::text), 1, 22), subject || i, application, claims,
                  created_at, refreshed_at, expires_at, substr(md5(random()::text), 1, 22),
                  previous, rotated_at, user_agent, address
           FROM tokengate.sessions, generate_series(1, 20000) AS i WHERE ns = 'rows'"
psql -c "VACUUM ANALYZE tokengate.sessions"
after=$(psql -c "SELECT pg_total_relation_size('tokengate.sessions')")
heap=$(psql -c "SELECT avg(pg_column_size(s.*))::int FROM tokengate.sessions s WHERE ns = 'rows'")
python3 -c "import sys; print(f'  {(int(sys.argv[2]) - int(sys.argv[1])) / 20000:.0f} bytes per session on disk (table, TOAST and indexes); {sys.argv[3]} bytes of row data')" "$before" "$after" "$heap"
