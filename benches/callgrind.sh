#!/usr/bin/env bash
# User-space instructions per request under callgrind: a figure that does not move with the
# VM's noise (the same build gives the same count within 1%), unlike req/s.
#
# Each server runs under `valgrind --tool=callgrind --instr-atstart=no`; instrumentation is
# switched on (`callgrind_control -i on`) only while a fixed number of requests is sent over
# one keep-alive connection, then switched off and dumped. Per server: GET /health (public:
# routed, no token) and GET /api/rest/ping (guarded: the token checked), for our axum and actix
# demos (HS256; EdDSA with the verified-token cache; HS256 with strict revocation) and the
# hand-written peers (axum + jsonwebtoken `from_fn`, actix-web-httpauth + jsonwebtoken).
#
# Usage: benches/callgrind.sh [requests per measurement, default 1000]
#   BIN_DIR=/a/dir/of/the/four/binaries benches/callgrind.sh   # measure another build
#   SAME_TOKEN=1 ...   # the HS256 demos also measured with one token signed by the other build
#                      # (TOKEN_BIN_DIR), to tell the guard's code from what a token carries
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS="${1:-1000}"
PORT="${PORT:-18190}"
HOST="http://127.0.0.1:$PORT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
export RUST_LOG=warn

. benches/common.sh
need valgrind:valgrind curl:curl python3:python3 openssl:openssl

servers
work=$(mktemp -d)
server=""
stop() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }; }
trap 'stop; rm -rf "$work"' EXIT

secret="callgrind-only-secret-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
openssl genpkey -algorithm ed25519 -out "$work/ed25519.pem" 2>/dev/null

launch() { # binary env...
  local name=$1; shift
  rm -f "$work"/callgrind.out.*
  env PORT="$PORT" TOKENGATE_SECRET="$secret" TOKENGATE_ACCESS_TTL=1h "$@" \
    valgrind --tool=callgrind --instr-atstart=no --dump-instr=no \
      --callgrind-out-file="$work/callgrind.out.%p" "$BIN_DIR/$name" 2>>"$work/server.log" &
  server=$!
  for _ in $(seq 1 600); do curl -s -o /dev/null "$HOST/health" && return 0; sleep 0.1; done
  cat "$work/server.log" >&2; echo "callgrind: $name did not start" >&2; exit 1
}
# Instructions per request for `path`, over $REQUESTS requests on one connection.
count() { # path [token]
  local auth=() urls=()
  [ -z "${2:-}" ] || auth=(-H "Authorization: Bearer $2")
  for _ in $(seq 1 "$REQUESTS"); do urls+=(-o /dev/null "$HOST$1"); done
  curl -s -o /dev/null "${auth[@]}" "$HOST$1"   # the connection's first request, uncounted
  callgrind_control -z "$server" >/dev/null 2>&1
  callgrind_control -i on "$server" >/dev/null 2>&1
  curl -s "${auth[@]}" "${urls[@]}"
  callgrind_control -i off "$server" >/dev/null 2>&1
  callgrind_control -d "$server" >/dev/null 2>&1
  local dump
  dump=$(ls -t "$work"/callgrind.out.* | head -1)
  awk -v n="$REQUESTS" '/^totals:/ {print int($2 / n); exit}' "$dump"
}

printf '%-28s %12s %12s %12s\n' server "public/req" "guarded/req" "guard cost"
measure() { # label binary token env...
  local label=$1 name=$2 tok=$3; shift 3
  launch "$name" "$@"
  [ "$tok" != "own" ] || tok=$(token)
  # Warm-up: lazy statics, allocator pools, the verify cache.
  curl -s -o /dev/null "$HOST/health"
  curl -s -o /dev/null -H "Authorization: Bearer $tok" "$HOST/api/rest/ping"
  local public guarded
  public=$(count /health)
  guarded=$(count /api/rest/ping "$tok")
  printf '%-28s %12s %12s %12s\n' "$label" "$public" "$guarded" "$((guarded - public))"
  stop
}

measure axum_hs256 axum_demo own
launch axum_demo; shared=$(token); stop
measure actix_hs256 actix_demo own
if [ -n "${SAME_TOKEN:-}" ]; then
  # A token of the other build's demo, on the same secret: the same bytes for both builds.
  other=$BIN_DIR; BIN_DIR=$TOKEN_BIN_DIR; launch axum_demo; foreign=$(token); stop; BIN_DIR=$other
  measure axum_hs256_other_token axum_demo "$foreign"
  measure actix_hs256_other_token actix_demo "$foreign"
fi
measure axum_eddsa_cache axum_demo own TOKENGATE_ALGORITHM=EdDSA TOKENGATE_KEY_FILE="$work/ed25519.pem"
measure axum_hs256_strict axum_demo own TOKENGATE_STRICT_REVOCATION=true
measure peer_axum_jsonwebtoken peer_axum_guard "$shared"
measure peer_actix_httpauth peer_actix_httpauth "$shared"
echo "callgrind: $(date -u +%Y-%m-%dT%H:%MZ), $REQUESTS requests per figure, user-space instructions, $(valgrind --version)"
