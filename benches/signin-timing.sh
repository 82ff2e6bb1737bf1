#!/usr/bin/env bash
# Sign-in time for an unknown login vs a wrong password against the release axum demo, on
# 127.0.0.1, alternating the two so that machine noise hits both alike. Prints the medians and
# their ratio (the goal: within 10%). Usage: benches/signin-timing.sh [rounds, default 200]
#   EXAMPLE=axum_postgres benches/signin-timing.sh   # users in PostgreSQL (PostgresDirectory),
#   on DATABASE_URL (default: the test database); the known user is signed up first
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-200}"
PORT="${PORT:-18080}"
HOST="http://127.0.0.1:$PORT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"

example="${EXAMPLE:-axum_demo}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo build --quiet --release --example "$example"
# Throttling off: this measures the credential check, not the 429.
TOKENGATE_THROTTLE_PER_LOGIN=0 TOKENGATE_THROTTLE_PER_ADDRESS=0 PORT="$PORT" RUST_LOG=warn \
  "$CARGO_TARGET_DIR/release/examples/$example" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "$HOST/health" && break; sleep 0.1; done

attempt() { # login password -> seconds
  curl --silent --output /dev/null --write-out '%{time_total}\n' --request POST \
    --url "$HOST/api/rest/signin" --form "login=$1" --form "password=$2"
}

known=john.doe@email.org
if [ "$example" = axum_postgres ]; then
  known="timing-$RANDOM$RANDOM@example.org"
  curl -s -o /dev/null -X POST "$HOST/api/rest/signup" -H 'content-type: application/json' \
    -d "{\"email\": \"$known\", \"password\": \"a long enough password\"}"
fi
unknown=$(mktemp); wrong=$(mktemp)
for _ in $(seq 1 10); do attempt "$known" warm-up >/dev/null; done
for i in $(seq 1 "$rounds"); do
  attempt "nobody-$i@example.org" 'wrong password' >> "$unknown"
  attempt "$known" 'wrong password' >> "$wrong"
done

python3 - "$unknown" "$wrong" "$rounds" "$example" <<'PY'
import statistics, sys
unknown = [float(x) for x in open(sys.argv[1])]
wrong = [float(x) for x in open(sys.argv[2])]
mu, mw = statistics.median(unknown), statistics.median(wrong)
print(f"rounds: {sys.argv[3]} each, alternating, {sys.argv[4]}")
print(f"median unknown login : {mu * 1000:.2f} ms")
print(f"median wrong password: {mw * 1000:.2f} ms")
print(f"ratio unknown/wrong  : {mu / mw:.3f}")
PY
rm -f "$unknown" "$wrong"
