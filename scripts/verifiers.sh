#!/usr/bin/env bash
# Outside verifiers against both demos, each configured with the issuer URL alone: panva's jose
# (npm), PyJWT (PyPI) and jwt-authorizer (crates.io, in interop/jwt-authorizer-peer). Each must
# take an access token, refuse a refresh token and a ticket, and follow a key rotation without a
# restart (scripts/verifiers/check.py).
# Usage: scripts/verifiers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
venv="$HOME/.cache/tokengate-verifiers-venv"
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import jwt, cryptography' 2>/dev/null || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'pyjwt[crypto]>=2.15,<3'
}
export VERIFIERS_NODE="$HOME/.cache/tokengate-verifiers-node"
mkdir -p "$VERIFIERS_NODE"
cp scripts/verifiers/package.json scripts/verifiers/jose_peer.mjs "$VERIFIERS_NODE/"
[ -f "$VERIFIERS_NODE/node_modules/jose/package.json" ] || npm install --silent --prefix "$VERIFIERS_NODE" >/dev/null
cargo build --quiet --examples
cargo build --quiet --release --manifest-path interop/jwt-authorizer-peer/Cargo.toml
port=18630
for demo in axum_demo actix_demo; do
  echo "verifiers: against $demo"
  "$venv/bin/python" scripts/verifiers/check.py "$CARGO_TARGET_DIR/debug/examples/$demo" "$port" \
    "$CARGO_TARGET_DIR/release/jwt-authorizer-peer"
  port=$((port + 10))
done
