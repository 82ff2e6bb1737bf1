#!/usr/bin/env bash
# Runs the seed's curl commands, as written (host replaced), against each demo server and
# checks 201 / 201 / 200 and the JSON fields; then starts each demo with an Ed25519 key and has
# PyJWT (another JOSE library) verify an access token with the key from /api/rest/jwks.
# Usage: scripts/seed-curl.sh [axum_demo ...]
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8080}"
HOST="http://127.0.0.1:${PORT}"
demos=("$@")
[ ${#demos[@]} -gt 0 ] || demos=(axum_demo)

fail() { echo "seed-curl: $*" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }

# PyJWT in a virtual environment of its own, made once.
venv="${XDG_CACHE_HOME:-$HOME/.cache}/tokengate-pyjwt"
if ! "$venv/bin/python" -c 'import jwt, cryptography' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'pyjwt[crypto]>=2.8'
fi
keydir=$(mktemp -d)
"$venv/bin/python" - "$keydir/ed25519.pem" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
pem = Ed25519PrivateKey.generate().private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
open(sys.argv[1], "wb").write(pem)
PY

server_pid=""
stop_server() { [ -z "$server_pid" ] || { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; }; }
trap 'stop_server; rm -rf "$keydir"' EXIT

start_server() { # demo, extra env...
  local demo="$1"; shift
  if curl -s -o /dev/null "$HOST/health"; then fail "port $PORT is already in use"; fi
  env PORT="$PORT" "$@" "${CARGO_TARGET_DIR:-target}/debug/examples/$demo" 2>"/tmp/seed-curl-$demo.log" &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$HOST/health" && return 0
    sleep 0.1
  done
  cat "/tmp/seed-curl-$demo.log" >&2
  fail "$demo did not start"
}

for demo in "${demos[@]}"; do
  cargo build --quiet --all-features --example "$demo"
  start_server "$demo"

  # Sign-in, exactly as the seed writes it.
  signin=$(curl --silent --write-out '\n%{http_code}' --request POST \
    --url "$HOST/api/rest/signin?=" \
    --header 'Content-Type: multipart/form-data' \
    --form login=john.doe@email.org \
    --form 'password=#thePassword1234!')
  [ "$(status_of "$signin")" = 201 ] || fail "$demo signin: $signin"
  refresh=$(body_of "$signin" | field refreshToken)
  access=$(body_of "$signin" | field accessToken)

  # Token service.
  token=$(curl --silent --write-out '\n%{http_code}' --request POST \
    --url "$HOST/api/rest/token" \
    --header 'Content-Type: multipart/form-data' \
    --form token="$refresh")
  [ "$(status_of "$token")" = 201 ] || fail "$demo token: $token"
  [ "$(body_of "$token" | field refreshToken)" = "$refresh" ] || fail "$demo token: refresh token changed"
  access=$(body_of "$token" | field accessToken)

  # Invoking a service with the Authentication header, as the seed says.
  me=$(curl --silent --write-out '\n%{http_code}' --url "$HOST/api/rest/me" \
    --header "Authentication: Bearer $access")
  [ "$(status_of "$me")" = 200 ] || fail "$demo me: $me"
  [ "$(body_of "$me" | field sub)" = john.doe@email.org ] || fail "$demo me: wrong subject"

  # Sign-out.
  signout=$(curl --silent --write-out '\n%{http_code}' --request POST \
    --url "$HOST/api/rest/signout" \
    --header 'Content-Type: multipart/form-data' \
    --form token="$refresh")
  [ "$(status_of "$signout")" = 200 ] || fail "$demo signout: $signout"

  again=$(curl --silent --write-out '\n%{http_code}' --request POST \
    --url "$HOST/api/rest/token" \
    --header 'Content-Type: multipart/form-data' \
    --form token="$refresh")
  [ "$(status_of "$again")" = 401 ] || fail "$demo: revoked refresh token accepted: $again"

  # Application key login.
  app=$(curl --silent --write-out '\n%{http_code}' --request POST \
    --url "$HOST/api/rest/signin" \
    --header 'Content-Type: multipart/form-data' \
    --form login=demo-key --form password=demo-secret --form application=demo-app)
  [ "$(status_of "$app")" = 201 ] || fail "$demo application signin: $app"
  app_access=$(body_of "$app" | field accessToken)
  [ "$(curl --silent --url "$HOST/api/rest/me" --header "Authorization: Bearer $app_access" | field app)" = demo-app ] \
    || fail "$demo: application name missing from claims"
  stop_server

  # The environment sets the lifetimes.
  start_server "$demo" TOKENGATE_ACCESS_TTL=2s
  short=$(curl --silent --request POST --url "$HOST/api/rest/signin" \
    --form login=john.doe@email.org --form 'password=#thePassword1234!' | field accessToken)
  lifetime=$(python3 -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; c=json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4))); print(c["exp"]-c["iat"])' "$short")
  [ "$lifetime" = 2 ] || fail "$demo: TOKENGATE_ACCESS_TTL=2s gave a $lifetime s token"
  stop_server

  # A misspelt variable stops start-up, naming it, rather than being ignored.
  if env PORT="$PORT" TOKENGATE_ACESS_TTL=1s "${CARGO_TARGET_DIR:-target}/debug/examples/$demo" \
      2>"/tmp/seed-curl-$demo-misspelt.log"; then
    fail "$demo started with TOKENGATE_ACESS_TTL=1s"
  fi
  grep -q 'TOKENGATE_ACESS_TTL' "/tmp/seed-curl-$demo-misspelt.log" \
    || fail "$demo: the refusal does not name TOKENGATE_ACESS_TTL: $(cat "/tmp/seed-curl-$demo-misspelt.log")"

  # EdDSA keys, published as a JWKS and verified by PyJWT.
  start_server "$demo" TOKENGATE_ALGORITHM=EdDSA "TOKENGATE_KEY_FILE=$keydir/ed25519.pem"
  eddsa=$(curl --silent --request POST --url "$HOST/api/rest/signin" \
    --form login=john.doe@email.org --form 'password=#thePassword1234!' | field accessToken)
  curl --silent --fail "$HOST/api/rest/jwks" > "$keydir/jwks.json" || fail "$demo: no JWKS"
  "$venv/bin/python" - "$keydir/jwks.json" "$eddsa" <<'PY' || fail "$demo: PyJWT refused the EdDSA token"
import json, sys
import jwt
jwks = jwt.PyJWKSet.from_dict(json.load(open(sys.argv[1])))
token = sys.argv[2]
kid = jwt.get_unverified_header(token)["kid"]
key = next(k for k in jwks.keys if k.key_id == kid)
claims = jwt.decode(token, key=key.key, algorithms=["EdDSA"], issuer="tokengate",
                    options={"require": ["exp", "iat", "sub"]})
assert claims["sub"] == "john.doe@email.org", claims
assert not any("d" in k for k in json.load(open(sys.argv[1]))["keys"]), "private key published"
PY
  stop_server
  echo "seed-curl: $demo passed (201 / 201 / 200, revoked token refused, application key, TTL from env, EdDSA via JWKS and PyJWT)"
done
