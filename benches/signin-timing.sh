#!/usr/bin/env bash
# Sign-in time for an unknown login vs a wrong password against the release axum demo, on
# 127.0.0.1, alternating the two so that machine noise hits both alike. Prints the medians and
# their ratio (the goal: within 10%). Usage: benches/signin-timing.sh [rounds, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-200}"
PORT="${PORT:-18080}"
HOST="http://127.0.0.1:$PORT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"

cargo build --quiet --release --example axum_demo
# Throttling off: this measures the credential check, not the 429.
TOKENGATE_THROTTLE_PER_LOGIN=0 TOKENGATE_THROTTLE_PER_ADDRESS=0 PORT="$PORT" RUST_LOG=warn \
  "$CARGO_TARGET_DIR/release/examples/axum_demo" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "$HOST/health" && break; sleep 0.1; done

attempt() { # login password -> seconds
  curl --silent --output /dev/null --write-out '%{time_total}\n' --request POST \
    --url "$HOST/api/rest/signin" --form "login=$1" --form "password=$2"
}

unknown=$(mktemp); wrong=$(mktemp)
for _ in $(seq 1 10); do attempt john.doe@email.org warm-up >/dev/null; done
for i in $(seq 1 "$rounds"); do
  attempt "nobody-$i@example.org" 'wrong password' >> "$unknown"
  attempt john.doe@email.org 'wrong password' >> "$wrong"
done

python3 - "$unknown" "$wrong" "$rounds" <<'PY'
import statistics, sys
unknown = [float(x) for x in open(sys.argv[1])]
wrong = [float(x) for x in open(sys.argv[2])]
mu, mw = statistics.median(unknown), statistics.median(wrong)
print(f"rounds: {sys.argv[3]} each, alternating")
print(f"median unknown login : {mu * 1000:.2f} ms")
print(f"median wrong password: {mw * 1000:.2f} ms")
print(f"ratio unknown/wrong  : {mu / mw:.3f}")
PY
rm -f "$unknown" "$wrong"
