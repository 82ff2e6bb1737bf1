#!/usr/bin/env bash
# Access tokens of a real OpenID provider on both demos: panva's oidc-provider (npm, an OpenID
# Certified implementation) runs on this machine with keys it makes at start, and each demo,
# configured with one `[[issuers]]` table for it, takes its tokens (scripts/oidc-provider).
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
  port=$((port + 10))
done
