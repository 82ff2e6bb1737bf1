#!/usr/bin/env bash
# schemathesis (from PyPI) against both demos, from their own /api/rest/openapi.json: every
# check (no server errors, statuses, content types, headers and bodies as documented, methods
# not documented answered 405...), the examples, coverage, fuzzing and stateful phases (the
# links sign-in → token → sessions → sign-out), bounded in examples and time; once with a
# bearer header, as a signed-in client sends, and once without any credentials, as an outside
# fuzzer does.
# Usage: scripts/schemathesis.sh [demo...]   (default: axum_demo actix_demo)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
venv="$HOME/.cache/tokengate-venv"
[ -x "$venv/bin/schemathesis" ] || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
}
demos=("$@"); [ ${#demos[@]} -gt 0 ] || demos=(axum_demo actix_demo)
port=18590
cargo build --quiet --examples
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true' EXIT
for demo in "${demos[@]}"; do
  # Throttling stays on (429 is documented); a generous per-address limit keeps the run
  # about the endpoints rather than about the limit.
  PORT=$port RUST_LOG=warn TOKENGATE_THROTTLE_PER_ADDRESS=100000 \
    "$CARGO_TARGET_DIR/debug/examples/$demo" 2>"/tmp/schemathesis-$demo.log" &
  server=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  token=$(curl -s -X POST "http://127.0.0.1:$port/api/rest/signin" --form login=john.doe@email.org \
    --form 'password=#thePassword1234!' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
  for auth in bearer none; do
    echo "schemathesis: $demo, credentials: $auth"
    header=(); config=scripts/schemathesis-anonymous.toml
    [ "$auth" = none ] || { header=(--header "Authorization: Bearer $token"); config=scripts/schemathesis.toml; }
    timeout 300 "$venv/bin/schemathesis" --config-file "$config" run "http://127.0.0.1:$port/api/rest/openapi.json" \
      --checks all --max-examples 40 --max-response-time 5 --no-color --seed 1 "${header[@]}"
  done
  kill "$server"; wait "$server" 2>/dev/null || true; server=
done
