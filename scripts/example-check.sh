#!/usr/bin/env bash
# examples/axum_postgres and its twin actix_postgres as documented: each starts with one
# command against the local PostgreSQL and creates its tables; sign-up, sign-in, a role from the table (granted in SQL,
# seen at the next /token), a disabled user losing the session at the next /token, and bad
# input answered with a JSON 4xx.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
url="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
port=18093
base="http://127.0.0.1:$port/api/rest"
log=$(mktemp)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -f "$log"; }
trap cleanup EXIT
fail() { echo "example-check: ${example:-}: $*" >&2; cat "$log" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

cargo build --quiet --example axum_postgres --example actix_postgres
for example in axum_postgres actix_postgres; do
  env PORT=$port DATABASE_URL="$url" "$CARGO_TARGET_DIR/debug/examples/$example" 2>"$log" &
  pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done

  email="ada-$RANDOM$RANDOM@example.org"
  password="correct horse battery staple"
  signup() { curl -s -w '\n%{http_code}' -X POST "$base/signup" -H 'content-type: application/json' -d "$1"; }
  reply=$(signup '{"email": 7}')
  [ "$(tail -n1 <<<"$reply")" = 400 ] && head -n1 <<<"$reply" | grep -q '"error":"invalid_request"' || fail "a bad sign-up: $reply"
  [ "$(tail -n1 <<<"$(signup 'not json')")" = 400 ] || fail "a sign-up that is not JSON"
  [ "$(tail -n1 <<<"$(signup "{\"email\": \"$email\", \"password\": \"short\"}")")" = 400 ] || fail "a short password"
  reply=$(signup "{\"email\": \"$email\", \"password\": \"$password\"}")
  [ "$(tail -n1 <<<"$reply")" = 201 ] || fail "sign-up: $reply"
  id=$(head -n1 <<<"$reply" | field id)
  [ "$(tail -n1 <<<"$(signup "{\"email\": \"$email\", \"password\": \"$password\"}")")" = 409 ] || fail "a second sign-up"

  tokens=$(curl -s -X POST "$base/signin" --form "login=$email" --form "password=$password")
  refresh=$(field refreshToken <<<"$tokens"); access=$(field accessToken <<<"$tokens")
  [ "$(curl -s "$base/me" -H "authorization: Bearer $access" | field sub)" = "$id" ] || fail "the subject is not the user's id"
  [ "$(code "$base/admin" -H "authorization: Bearer $access")" = 403 ] || fail "a user reached the admin route"
  [ "$(code -X POST "$base/signin" --form "login=$email" --form 'password=wrong password!')" = 401 ] || fail "a wrong password"

  psql -q "$url" -c "UPDATE app_users SET roles = '{user,admin}' WHERE id = $id"
  access=$(curl -s -X POST "$base/token" --form "token=$refresh" | field accessToken)
  [ "$(code "$base/admin" -H "authorization: Bearer $access")" = 200 ] || fail "a role granted in the table did not show at /token"

  psql -q "$url" -c "UPDATE app_users SET disabled = true WHERE id = $id"
  [ "$(code -X POST "$base/token" --form "token=$refresh")" = 401 ] || fail "a disabled user refreshed"
  [ "$(code -X POST "$base/signin" --form "login=$email" --form "password=$password")" = 401 ] || fail "a disabled user signed in"
  psql -q "$url" -c "DELETE FROM app_users WHERE id = $id"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
  echo "example-check: $example signs up, signs in, follows roles and disabled users in its table"
done
