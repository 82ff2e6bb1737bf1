#!/usr/bin/env bash
# The demos over durable and shared stores, as separate processes:
# - each demo on SQLite, killed with SIGKILL and restarted, still takes its earlier refresh
#   tokens (unlimited included) and still refuses the revoked one;
# - axum_demo and actix_demo on one Redis share sessions: sign in on one, refresh and sign out
#   on the other, and the first refuses the revoked token;
# - the same on one PostgreSQL, and a demo on PostgreSQL killed with SIGKILL and restarted
#   loses no session;
# - a PostgreSQL of its own (on a free port) stopped mid-run: the demo answers 503, a sign-in
#   that failed left no session, and the demo recovers by itself when the database is back.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
A=18091; B=18092
secret="store-check-only-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

fail() { echo "store-check: $*" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
start() { # demo port env...
  local demo=$1 port=$2; shift 2
  env PORT="$port" TOKENGATE_SECRET="$secret" "$@" "$CARGO_TARGET_DIR/debug/examples/$demo" 2>>"$work/$demo.log" &
  pids+=($!)
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && return 0; sleep 0.1; done
  cat "$work/$demo.log" >&2; fail "$demo did not start"
}
signin() { curl -s -X POST "http://127.0.0.1:$1/api/rest/signin" --form login=john.doe@email.org --form 'password=#thePassword1234!' "${@:2}" | field refreshToken; }
status() { curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$1/api/rest/$2" --form "token=$3"; }

cargo build --quiet --all-features --example axum_demo --example actix_demo

for demo in axum_demo actix_demo; do
  db="sqlite://$work/$demo.db"
  start "$demo" $A TOKENGATE_STORE="$db"
  daily=$(signin $A); unlimited=$(signin $A --form exp=unlimited); revoked=$(signin $A)
  [ "$(status $A signout "$revoked")" = 200 ] || fail "$demo: sign-out"
  kill -9 "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  start "$demo" $A TOKENGATE_STORE="$db"
  [ "$(status $A token "$daily")" = 201 ] || fail "$demo: the refresh token did not survive a kill"
  [ "$(status $A token "$unlimited")" = 201 ] || fail "$demo: the unlimited token did not survive a kill"
  [ "$(status $A token "$revoked")" = 401 ] || fail "$demo: a revoked token came back after a kill"
  kill -9 "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  echo "store-check: $demo on SQLite survives SIGKILL (refresh, unlimited, revocation)"
done

redis="redis://127.0.0.1:6379/14"
prefix="store-check-$RANDOM$RANDOM"
start axum_demo $A TOKENGATE_STORE="$redis" TOKENGATE_STORE_PREFIX="$prefix"
start actix_demo $B TOKENGATE_STORE="$redis" TOKENGATE_STORE_PREFIX="$prefix"
refresh=$(signin $A)
[ "$(status $B token "$refresh")" = 201 ] || fail "the second instance does not know the session"
[ "$(status $B signout "$refresh")" = 200 ] || fail "sign-out on the second instance"
[ "$(status $A token "$refresh")" = 401 ] || fail "the first instance still takes the revoked token"
echo "store-check: two instances share sessions through Redis"
kill -9 "${pids[@]}" 2>/dev/null || true; pids=()

postgres="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
prefix="store-check-$RANDOM$RANDOM"
start axum_demo $A TOKENGATE_STORE="$postgres" TOKENGATE_STORE_SCHEMA=tokengate_test TOKENGATE_STORE_PREFIX="$prefix"
start actix_demo $B TOKENGATE_STORE="$postgres" TOKENGATE_STORE_SCHEMA=tokengate_test TOKENGATE_STORE_PREFIX="$prefix"
refresh=$(signin $A); kept=$(signin $A --form exp=unlimited)
[ "$(status $B token "$refresh")" = 201 ] || fail "the second instance does not know the PostgreSQL session"
[ "$(status $B signout "$refresh")" = 200 ] || fail "sign-out on the second instance (PostgreSQL)"
[ "$(status $A token "$refresh")" = 401 ] || fail "the first instance still takes the revoked token (PostgreSQL)"
kill -9 "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
start axum_demo $A TOKENGATE_STORE="$postgres" TOKENGATE_STORE_SCHEMA=tokengate_test TOKENGATE_STORE_PREFIX="$prefix"
[ "$(status $A token "$kept")" = 201 ] || fail "a PostgreSQL session did not survive a kill"
[ "$(status $A token "$refresh")" = 401 ] || fail "a revoked token came back after a kill (PostgreSQL)"
echo "store-check: two instances share sessions through PostgreSQL, and a kill loses none"
kill -9 "${pids[@]}" 2>/dev/null || true; pids=()

# A PostgreSQL of our own, to stop and start: initdb refuses root, so it runs as `postgres`.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$pgbin/initdb" ] || fail "no PostgreSQL server binaries under /usr/lib/postgresql"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pgdir=$(mktemp -d); chmod 755 "$pgdir"; [ "$(id -u)" = 0 ] && chown postgres "$pgdir"
pg() { as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w "$@" >/dev/null; }
trap 'pg stop -m immediate 2>/dev/null || true; cleanup; rm -rf "$pgdir"' EXIT
as_postgres "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
pg -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1" start
own="postgres://postgres@127.0.0.1:$pgport/postgres"
start axum_demo $A TOKENGATE_STORE="$own" TOKENGATE_STORE_TIMEOUT=1s
kept=$(signin $A)
rows() { as_postgres "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -Atc "SELECT count(*) FROM tokengate.sessions" postgres; }
[ "$(rows)" = 1 ] || fail "one sign-in, $(rows) sessions"
pg stop -m immediate
reply=$(curl -s -w '\n%{http_code}' -X POST "http://127.0.0.1:$A/api/rest/signin" --form login=john.doe@email.org --form 'password=#thePassword1234!')
[ "$(tail -n1 <<<"$reply")" = 503 ] && grep -q temporarily_unavailable <<<"$reply" || fail "a sign-in with PostgreSQL down: $reply"
[ "$(status $A token "$kept")" = 503 ] || fail "a refresh with PostgreSQL down is not 503"
[ "$(status $A signout "$kept")" = 503 ] || fail "a sign-out with PostgreSQL down is not 503"
pg -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1" start
back=
for _ in $(seq 1 50); do
  back=$(status $A token "$kept"); [ "$back" = 201 ] && break; sleep 0.2
done
[ "$back" = 201 ] || fail "the demo did not recover when PostgreSQL came back ($back)"
[ "$(rows)" = 1 ] || fail "the sign-in that failed left a session behind ($(rows) sessions)"
[ -n "$(signin $A)" ] && [ "$(rows)" = 2 ] || fail "no sign-in after recovery"
echo "store-check: PostgreSQL stopped mid-run: 503, nothing half-written, recovery by itself"
