#!/usr/bin/env bash
# The README's applications, made from exactly its blocks as a new user would: beside a
# checkout named `tokengate`, `cargo new hello`, the `[dependencies]` block appended to its
# Cargo.toml, the `src/main.rs` block (and the customising chapter's `src/bin/tenant.rs`),
# then built, run with the README's command, and signed in to.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}/readme"
port=18095
base="http://127.0.0.1:$port/api/rest"
work=$(mktemp -d)
log="$work/server.log"
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "readme-check: ${app:-}: $*" >&2; [ -f "$log" ] && cat "$log" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# The block after the marker `<!-- readme-check: NAME -->`, without its fences.
block() {
  python3 - "$1" <<'EOF'
import re, sys
text = open("README.md", encoding="utf-8").read()
marker = "<!-- readme-check: %s -->" % sys.argv[1]
at = text.find(marker)
if at < 0:
    sys.exit("readme-check: no block marked %r in README.md" % sys.argv[1])
found = re.compile(r"\s*```[^\n]*\n(.*?)\n```", re.S).match(text, at + len(marker))
if not found:
    sys.exit("readme-check: the marker %r is not followed by a fenced block" % sys.argv[1])
print(found.group(1))
EOF
}

# Start the application binary `$1` as the README runs it, and wait for its port.
serve() {
  if curl -s --max-time 10 -o /dev/null "$base/me"; then fail "port $port is taken by another server"; fi
  (cd "$work/hello" && TOKENGATE_SECRET=$(openssl rand -hex 32) PORT=$port \
    exec "$CARGO_TARGET_DIR/debug/$1" >"$log" 2>&1) &
  pid=$!
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || fail "$1 exited"
    curl -s --max-time 10 -o /dev/null "$base/me" && return
    sleep 0.1
  done
  fail "$1 did not listen on $port"
}
stop() { kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; }

sign_in() {
  curl -s --max-time 10 -X POST "$base/signin" --form login=ada@example.org --form 'password=correct horse'
}

ln -s "$repo" "$work/tokengate"
for app in axum actix; do
  rm -rf "$work/hello"
  (cd "$work" && cargo new --quiet --vcs none --name hello hello)
  # What follows `[package]` in the new Cargo.toml is the README's, in place of its empty
  # `[dependencies]`.
  sed -i '/^\[dependencies\]$/,$d' "$work/hello/Cargo.toml"
  block "$app Cargo.toml" >>"$work/hello/Cargo.toml"
  block "$app src/main.rs" >"$work/hello/src/main.rs"
  if [ "$app" = axum ]; then
    mkdir -p "$work/hello/src/bin"
    block "axum src/bin/tenant.rs" >"$work/hello/src/bin/tenant.rs"
    (cd "$work/hello" && cargo add --quiet serde --features derive && cargo add --quiet tracing-subscriber@0.3)
  fi
  # The versions this repository is tested with; the blocks stay as the README has them.
  cp "$repo/Cargo.lock" "$work/hello/Cargo.lock"
  (cd "$work/hello" && cargo build --quiet) || fail "the README's blocks do not build"

  # The run line of the README, as it is there.
  run=$(block "axum run")
  [ "${run%%$'\n'*}" = 'TOKENGATE_SECRET=$(openssl rand -hex 32) PORT=3000 cargo run' ] \
    || fail "the run line changed; change this check with it"
  serve hello
  reply=$(sign_in)
  access=$(field accessToken <<<"$reply") || fail "sign-in: $reply"
  me=$(curl -s --max-time 10 "$base/me" -H "authorization: Bearer $access")
  [ "$me" = '"ada@example.org"' ] || fail "GET /me: $me"
  admin=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$base/admin" -H "authorization: Bearer $access")
  [ "$admin" = 200 ] || fail "the admin role from user_with_roles: $admin"
  anonymous=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$base/me")
  [ "$anonymous" = 401 ] || fail "GET /me without a token: $anonymous"
  stop

  if [ "$app" = axum ]; then
    app=tenant
    serve tenant
    access=$(sign_in | field accessToken) || fail "sign-in"
    reply=$(curl -s --max-time 10 "$base/tenant" -H "authorization: Bearer $access")
    [ "$reply" = "ada@example.org of example.org" ] || fail "GET /tenant: $reply"
    echoed=$(curl -s --max-time 10 -o /dev/null -D - "$base/tenant" -H 'x-request-id: r-42' | tr -d '\r' | grep -i '^x-request-id:' || true)
    [ "$echoed" = "x-request-id: r-42" ] || fail "on_error did not echo the request id: '$echoed'"
    stop
    app=axum
  fi
  echo "readme-check: $app: built from the README, signed in, guarded"
done
