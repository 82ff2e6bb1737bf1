#!/usr/bin/env bash
# A real OpenID provider with both demos: panva's oidc-provider (npm, an OpenID Certified
# implementation) runs on this machine with keys it makes at start. Each demo, configured with
# one `[[issuers]]` table for it, takes its access tokens (check.py); and, configured with one
# `[[providers]]` table, signs its users in, as an app and in headless Chromium (signin.py).
# Usage: scripts/issuers-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
export OIDC_PROVIDER_NODE="$HOME/.cache/tokengate-oidc-provider"
mkdir -p "$OIDC_PROVIDER_NODE"
cp scripts/oidc-provider/package.json scripts/oidc-provider/provider.mjs "$OIDC_PROVIDER_NODE/"
installed=$(node -p 'require(process.argv[1]).version' \
  "$OIDC_PROVIDER_NODE/node_modules/oidc-provider/package.json" 2>/dev/null || true)
wanted=$(node -p 'require(process.argv[1]).dependencies["oidc-provider"]' "$PWD/scripts/oidc-provider/package.json")
[ "$installed" = "$wanted" ] || npm install --silent --prefix "$OIDC_PROVIDER_NODE" >/dev/null
cargo build --quiet --examples
port=18730
for demo in axum_demo actix_demo; do
  python3 scripts/oidc-provider/check.py "$CARGO_TARGET_DIR/debug/examples/$demo" "$port" $((port + 1))
  python3 scripts/oidc-provider/signin.py "$CARGO_TARGET_DIR/debug/examples/$demo" $((port + 2)) $((port + 3))
  port=$((port + 10))
done
