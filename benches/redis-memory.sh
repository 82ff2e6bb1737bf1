#!/usr/bin/env bash
# Bytes of Redis memory per live session: the axum demo on Redis (db 13, a prefix of its own),
# one sign-in to load the scripts and make the subject's keys, then 500 sign-ins of the same
# user with a browser user agent; the server's `used_memory` before and after, divided by the
# sessions added. Twice: with no limit on sessions per subject (500 live, the issue's figure)
# and with the default limit of 100 (the subject's index stays small). The sum of
# `MEMORY USAGE` over the run's keys is printed beside it: it counts the values and keys but
# not the keyspace's own tables, and no other client's writes. Throttling is off: its
# counters are not sessions. Medians of ROUNDS runs (default 3). Needs the Redis on
# 127.0.0.1:6379 (scripts/test-deps.sh); the run's keys are deleted at the end, nothing else.
# Usage: benches/redis-memory.sh [sign-ins, default 500] [rounds, default 3]
#   PROFILE=dev benches/redis-memory.sh   # the debug build (argon2 is optimized in it too)
set -euo pipefail
cd "$(dirname "$0")/.."

SIGNINS="${1:-500}"
ROUNDS="${2:-3}"
PORT="${PORT:-18480}"
HOST="http://127.0.0.1:$PORT"
PROFILE="${PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"

. benches/common.sh
need curl:curl python3:python3 redis-cli:redis-tools

cargo build --quiet --profile "$PROFILE" --example axum_demo
bin="$CARGO_TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/examples/axum_demo"
redis=(redis-cli -h 127.0.0.1 -p 6379 -n 13)
agent='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'
server=""
prefix=""
# The run's keys only: other tests share this Redis.
forget() {
  [ -n "$prefix" ] || return 0
  "${redis[@]}" --scan --pattern "$prefix:*" | while read -r key; do "${redis[@]}" DEL "$key" >/dev/null; done
}
stop() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }; }
trap 'stop; forget' EXIT

used() { "${redis[@]}" INFO memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }
signin() {
  curl -s -o /dev/null -w '%{http_code}' -X POST "$HOST/api/rest/signin" -A "$agent" \
    --form login=john.doe@email.org --form 'password=#thePassword1234!'
}

run() { # max_sessions: appends "bytes-per-session memory-usage-per-session live encodings" to results
  prefix="redis-memory-$RANDOM$RANDOM"
  env PORT="$PORT" RUST_LOG=warn TOKENGATE_STORE=redis://127.0.0.1:6379/13 \
    TOKENGATE_STORE_PREFIX="$prefix" TOKENGATE_MAX_SESSIONS="$1" \
    TOKENGATE_THROTTLE_PER_LOGIN=0 TOKENGATE_THROTTLE_PER_ADDRESS=0 "$bin" 2>/dev/null &
  server=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "$HOST/health" && break; sleep 0.1; done
  [ "$(signin)" = 201 ] || { echo "redis-memory: the first sign-in failed" >&2; exit 1; }
  local index="$prefix:{john.doe@email.org}:sessions" first live before after status total encodings
  first=$("${redis[@]}" ZCARD "$index")
  before=$(used)
  for _ in $(seq 1 "$SIGNINS"); do
    status=$(signin)
    [ "$status" = 201 ] || { echo "redis-memory: a sign-in answered $status" >&2; exit 1; }
  done
  after=$(used)
  stop
  total=0
  encodings=""
  while read -r key; do
    total=$((total + $("${redis[@]}" MEMORY USAGE "$key" SAMPLES 0)))
    encodings="$encodings $("${redis[@]}" TYPE "$key")/$("${redis[@]}" OBJECT ENCODING "$key")"
  done < <("${redis[@]}" --scan --pattern "$prefix:*")
  live=$("${redis[@]}" ZCARD "$index")
  results+=("$(( (after - before) / (live - first) )) $(( total / live )) $live $(echo "$encodings" | tr ' ' '\n' | sort | uniq -c | awk 'NF == 2 { printf "%s×%s ", $1, $2 }')")
  forget
  prefix=""
}

for max in none 100; do
  results=()
  for _ in $(seq 1 "$ROUNDS"); do
    run "$max"
  done
  printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
max_sessions = sys.argv[1]
rows = [line.split(maxsplit=3) for line in sys.stdin if line.strip()]
used = [int(r[0]) for r in rows]
usage = [int(r[1]) for r in rows]
runs = ", ".join(map(str, used))
keys = rows[0][3].strip() if len(rows[0]) > 3 else ""
print(f"max_sessions={max_sessions}: {rows[0][2]} live sessions; used_memory {statistics.median(used):.0f} B per session"
      f" (runs: {runs}); MEMORY USAGE of the keys {statistics.median(usage):.0f} B per session; keys: {keys}")
' "$max"
done
