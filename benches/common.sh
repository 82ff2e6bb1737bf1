# Shared by the load scripts: sourced, not run.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# need COMMAND[:PACKAGE]...: installs each Debian package whose command is missing.
need() {
  local item tool package
  for item in "$@"; do
    tool=${item%%:*}
    package=${item#*:}
    command -v "$tool" >/dev/null 2>&1 || { as_root apt-get update -qq; as_root apt-get install -y -qq "$package" >/dev/null; }
  done
}

# The access token of the seed's user, from the demo on $HOST.
token() {
  curl -s -X POST "$HOST/api/rest/signin" --form login=john.doe@email.org --form 'password=#thePassword1234!' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}

# Builds the demos (examples) and the hand-written peers (benches/peers) in release and sets
# BIN_DIR to a directory holding all four, unless BIN_DIR already names one (another build,
# frozen: copy axum_demo, actix_demo, peer_axum_guard and peer_actix_httpauth there).
servers() {
  [ -z "${BIN_DIR:-}" ] || return 0
  cargo build --quiet --release --example axum_demo --example actix_demo
  cargo build --quiet --release -p tokengate-bench-peers
  BIN_DIR="$CARGO_TARGET_DIR/release/bench-servers"
  mkdir -p "$BIN_DIR"
  local name
  for name in axum_demo actix_demo; do ln -sf "../examples/$name" "$BIN_DIR/$name"; done
  for name in peer_axum_guard peer_actix_httpauth; do ln -sf "../$name" "$BIN_DIR/$name"; done
}
