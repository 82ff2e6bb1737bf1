#!/usr/bin/env bash
# Clients generated from each demo's served OpenAPI document, used with no edit:
# openapi-python-client (PyPI); openapi-typescript with openapi-fetch (npm), whose client is
# type-checked by tsc before it runs; and oas3-gen (crates.io: progenitor reads OpenAPI 3.0
# only), whose client sends JSON bodies only. Each signs in (multipart, urlencoded, JSON; the
# Rust one JSON), refreshes, reads /me and the sessions, signs out, and reads a 401 and a 429 as
# the documented Error (scripts/generated-clients/).
# Usage: scripts/generated-clients.sh [demo...]   (default: axum_demo actix_demo)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
venv="$HOME/.cache/tokengate-generators-venv"
[ -x "$venv/bin/openapi-python-client" ] && [ -x "$venv/bin/ruff" ] || {
  python3 -m venv "$venv"
  # ruff: the generator formats what it writes with it.
  "$venv/bin/pip" install --quiet 'openapi-python-client>=0.29,<0.30' ruff
}
node_dir="$HOME/.cache/tokengate-generators-node"
mkdir -p "$node_dir"
cp scripts/generated-clients/package.json scripts/generated-clients/tsconfig.json \
  scripts/generated-clients/typescript_client.mts "$node_dir/"
[ -x "$node_dir/node_modules/.bin/tsc" ] || npm install --silent --prefix "$node_dir" >/dev/null
rust_dir="$HOME/.cache/tokengate-generators-rust"
[ -x "$rust_dir/bin/bin/oas3-gen" ] || \
  cargo install --quiet --locked --root "$rust_dir/bin" oas3-gen --version 0.29.0
rm -rf "$rust_dir/runner"; mkdir -p "$rust_dir/runner"
cp -r scripts/generated-clients/rust_runner/. "$rust_dir/runner/"
printf '[workspace]\nmembers = ["client", "runner"]\nresolver = "3"\n' > "$rust_dir/Cargo.toml"
demos=("$@"); [ ${#demos[@]} -gt 0 ] || demos=(axum_demo actix_demo)
cargo build --quiet --examples
work=$(mktemp -d)
port=18660
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for demo in "${demos[@]}"; do
  PORT=$port RUST_LOG=warn "$CARGO_TARGET_DIR/debug/examples/$demo" 2>"/tmp/generated-clients-$demo.log" &
  server=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  base="http://127.0.0.1:$port"
  curl -s --fail "$base/api/rest/openapi.json" > "$work/openapi.json"

  echo "generated clients: openapi-python-client, against $demo"
  rm -rf "$work/py"; mkdir -p "$work/py"
  # Any warning means a part of the document the generator could not read.
  PATH="$venv/bin:$PATH" "$venv/bin/openapi-python-client" generate --path "$work/openapi.json" --meta none \
    --output-path "$work/py/tokengate_client" > "$work/py.log" 2>&1 || { cat "$work/py.log"; exit 1; }
  if grep -qiE 'warning|error|unable|could not' "$work/py.log"; then cat "$work/py.log"; exit 1; fi
  "$venv/bin/python" scripts/generated-clients/python_client.py "$work/py" "$base"

  echo "generated clients: openapi-typescript and openapi-fetch, against $demo"
  (cd "$node_dir" && npx --no-install openapi-typescript "$work/openapi.json" -o schema.d.ts >/dev/null \
    && npx --no-install tsc -p . && node dist/typescript_client.mjs "$base")

  echo "generated clients: oas3-gen, against $demo"
  rm -rf "$rust_dir/client"
  "$rust_dir/bin/bin/oas3-gen" generate client-mod --color never -i "$work/openapi.json" \
    -o "$rust_dir/client" --workspace > "$work/rust.log" 2>&1 || { cat "$work/rust.log"; exit 1; }
  cargo build --quiet --manifest-path "$rust_dir/Cargo.toml" -p runner
  "$CARGO_TARGET_DIR/debug/runner" "$base"

  kill "$server"; wait "$server" 2>/dev/null || true; server=
  port=$((port + 1))
done
