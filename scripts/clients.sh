#!/usr/bin/env bash
# Real outside clients against the demos: grpcio (PyPI) against the gRPC demo, websockets
# (PyPI) against the WebSocket echo of both REST demos. Each demo runs with a secret made for
# this run, which the checks use to make expired tokens and tickets.
# Usage: scripts/clients.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
venv="$HOME/.cache/tokengate-clients-venv"
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import grpc, grpc_tools, websockets' 2>/dev/null || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'grpcio>=1.60,<2' 'grpcio-tools>=1.60,<2' 'websockets>=13,<16'
}
cargo build --quiet --examples
secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
port=18610
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true' EXIT
run() {
  local demo=$1 check=$2
  PORT=$port RUST_LOG=warn TOKENGATE_SECRET=$secret \
    "$CARGO_TARGET_DIR/debug/examples/$demo" 2>"/tmp/clients-$demo.log" &
  server=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  echo "clients: $check against $demo"
  "$venv/bin/python" "scripts/clients/$check" "http://127.0.0.1:$port" "$secret"
  kill "$server"; wait "$server" 2>/dev/null || true; server=
}
run grpc_demo grpc_check.py
run axum_demo ws_check.py
run actix_demo ws_check.py
