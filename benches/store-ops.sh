#!/usr/bin/env bash
# Redis round trips per /token: the axum demo on Redis, 200 refreshes, and the server's own
# command statistics before and after. A script call (EVALSHA) is one round trip; the commands
# it runs inside Redis are counted apart. Needs the Redis on 127.0.0.1:6379 (scripts/test-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-18280}"
HOST="http://127.0.0.1:$PORT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
cargo build --quiet --release --example axum_demo
redis=(redis-cli -h 127.0.0.1 -p 6379)
prefix="store-ops-$RANDOM$RANDOM"
for rotation in false true; do
  TOKENGATE_STORE=redis://127.0.0.1:6379/13 TOKENGATE_STORE_PREFIX="$prefix" TOKENGATE_ROTATION=$rotation \
    PORT="$PORT" RUST_LOG=warn "$CARGO_TARGET_DIR/release/examples/axum_demo" 2>/dev/null &
  server=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "$HOST/health" && break; sleep 0.1; done
  refresh=$(curl -s -X POST "$HOST/api/rest/signin" --form login=john.doe@email.org \
    --form 'password=#thePassword1234!' | python3 -c 'import json,sys; print(json.load(sys.stdin)["refreshToken"])')
  # One refresh first, so that the script is cached on the server (EVALSHA from then on).
  curl -s -o /dev/null -X POST "$HOST/api/rest/token" --form "token=$refresh"
  "${redis[@]}" CONFIG RESETSTAT >/dev/null
  for _ in $(seq 1 200); do
    answer=$(curl -s -X POST "$HOST/api/rest/token" --form "token=$refresh")
    [ "$rotation" = false ] || refresh=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["refreshToken"])' "$answer")
  done
  "${redis[@]}" INFO commandstats > "/tmp/store-ops-$rotation.txt"
  kill $server; wait $server 2>/dev/null || true
  python3 - "$rotation" "/tmp/store-ops-$rotation.txt" <<'PY'
import sys
sent = inside = 0
client = {"evalsha", "eval", "ping", "unwatch", "exists", "get", "multi", "exec", "hello", "client", "select"}
for line in open(sys.argv[2]):
    if not line.startswith("cmdstat_") or line.startswith(("cmdstat_config", "cmdstat_info")):
        continue
    name = line[len("cmdstat_"):].split(":")[0]
    calls = int(line.split("calls=")[1].split(",")[0])
    if name in client:
        sent += calls
    else:
        inside += calls
print(f"rotation={sys.argv[1]}: {sent / 200:.2f} round trips per /token, {inside / 200:.2f} commands inside the script")
PY
done
