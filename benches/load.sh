#!/usr/bin/env bash
# Throughput, guarded vs unguarded, on 127.0.0.1, in one run: each server pinned to core 0,
# wrk pinned to core 1, GET /health (unguarded) and GET /api/rest/ping (guarded) alternating,
# for the axum and actix demos (HS256; and EdDSA with the verified-token cache) and for the
# peers people write by hand (axum + jsonwebtoken from_fn; actix-web-httpauth + jsonwebtoken).
# Then the sign-in storm: guarded p99 while another client signs in as fast as it can, vs idle.
# Usage: benches/load.sh [seconds per run, default 3] [rounds, default 3]
#   BIN_DIR=/a/dir/of/the/four/binaries benches/load.sh   # measure another build
#   ONLY=storm BIN_DIR=/a/dir/with/axum_demo benches/load.sh   # the sign-in storm alone
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-3}"
ROUNDS="${2:-3}"
PORT="${PORT:-18180}"
HOST="http://127.0.0.1:$PORT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
export RUST_LOG=warn

. benches/common.sh
need wrk:wrk taskset:util-linux curl:curl python3:python3 openssl:openssl

servers
bin="$BIN_DIR"
work=$(mktemp -d)
server=""
stop() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }; }
trap 'stop; rm -rf "$work"' EXIT

secret="load-test-only-secret-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
openssl genpkey -algorithm ed25519 -out "$work/ed25519.pem"

launch() { # binary env...
  local name=$1; shift
  env PORT="$PORT" TOKENGATE_SECRET="$secret" TOKENGATE_ACCESS_TTL=1h "$@" taskset -c 0 "$bin/$name" 2>>"$work/server.log" &
  server=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "$HOST/health" && return 0; sleep 0.1; done
  cat "$work/server.log" >&2; echo "load: $name did not start" >&2; exit 1
}
rps() { # path [token]
  local auth=()
  [ -z "${2:-}" ] || auth=(-H "Authorization: Bearer $2")
  taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" "${auth[@]}" "$HOST$1" | awk '/Requests\/sec/ {print $2}'
}
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

if [ "${ONLY:-}" != storm ]; then
declare -A guarded unguarded
measure() { # label binary token env...
  local label=$1 name=$2 tok=$3; shift 3
  launch "$name" "$@"
  [ "$tok" != "own" ] || tok=$(token)
  local plain=() ping=()
  rps /health >/dev/null   # warm-up
  for _ in $(seq 1 "$ROUNDS"); do
    plain+=("$(rps /health)")
    ping+=("$(rps /api/rest/ping "$tok")")
  done
  unguarded[$label]=$(median "${plain[@]}")
  guarded[$label]=$(median "${ping[@]}")
  stop
}

# Our demos sign their own tokens; the peers verify one of ours (same HS256 secret).
measure axum_hs256 axum_demo own
launch axum_demo; shared=$(token); stop
measure actix_hs256 actix_demo own
measure axum_eddsa axum_demo own TOKENGATE_ALGORITHM=EdDSA TOKENGATE_KEY_FILE="$work/ed25519.pem"
measure axum_hs256_cache axum_demo own TOKENGATE_VERIFY_CACHE=true
measure peer_axum peer_axum_guard "$shared"
measure peer_actix peer_actix_httpauth "$shared"

echo "load: $(date -u +%Y-%m-%dT%H:%MZ), ${DURATION}s per run, median of $ROUNDS, wrk -t1 -c32, server on core 0, wrk on core 1"
printf '%-18s %12s %12s %8s\n' server "unguarded/s" "guarded/s" ratio
for label in axum_hs256 axum_hs256_cache axum_eddsa actix_hs256 peer_axum peer_actix; do
  python3 -c 'import sys; u,g=float(sys.argv[2]),float(sys.argv[3]); print(f"{sys.argv[1]:<18} {u:12.0f} {g:12.0f} {g/u:8.2f}")' \
    "$label" "${unguarded[$label]}" "${guarded[$label]}"
done
python3 -c 'import sys; print(f"EdDSA guard (cache) / HS256 guard, axum: {float(sys.argv[1])/float(sys.argv[2]):.2f} (throughput; the time ratio is the inverse)")' \
  "${guarded[axum_eddsa]}" "${guarded[axum_hs256]}"
fi

# The sign-in storm: guarded p99 alone, then while another client signs in non-stop.
cat > "$work/signin.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "login=john.doe%40email.org&password=%23thePassword1234%21"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
p99() { # wrk output -> p99 in ms
  awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}'
}
# 16 sign-ins of one login in flight at once: the per-login limit (10 by default) is raised
# above that, so that every one of them is verified and the storm is all Argon2 work.
launch axum_demo TOKENGATE_THROTTLE_PER_LOGIN=64
tok=$(token)
idle=$(taskset -c 1 wrk -t1 -c8 -d"${DURATION}s" --latency -H "Authorization: Bearer $tok" "$HOST/api/rest/ping" | p99)
taskset -c 1 wrk -t1 -c16 -d"$((DURATION + 2))s" -s "$work/signin.lua" "$HOST/api/rest/signin" > "$work/storm.txt" &
storm=$!
sleep 1
busy=$(taskset -c 1 wrk -t1 -c8 -d"${DURATION}s" --latency -H "Authorization: Bearer $tok" "$HOST/api/rest/ping" | p99)
wait "$storm"
signins=$(awk '/Requests\/sec/ {print $2}' "$work/storm.txt")
refused=$(awk '/Non-2xx/ {print $5}' "$work/storm.txt")
[ -z "$refused" ] || echo "load: $refused storm sign-ins were not 201" >&2
stop
python3 -c 'import sys; i,b=float(sys.argv[1]),float(sys.argv[2]); print(f"sign-in storm ({float(sys.argv[3]):.0f} sign-ins/s): guarded p99 idle {i:.2f} ms, during storm {b:.2f} ms, ratio {b/i:.2f}")' \
  "$idle" "$busy" "$signins"
