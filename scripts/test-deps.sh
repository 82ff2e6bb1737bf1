#!/usr/bin/env bash
# Installs and starts what the tests need, when it is missing: Redis (up on 127.0.0.1:6379),
# PostgreSQL (up on 127.0.0.1:5432, trust auth for local connections, with a database `test`),
# headless Chromium and its WebDriver (the cookie-mode and passkey browser tests), OpenSSL's
# headers (passkeys), curl, openssl (the README's run line), python3 and its venv (the seed's curl script, which checks our JWKS with PyJWT), and Node.js with npm (the
# outside verifiers' jose).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v pg_isready >/dev/null 2>&1 || missing+=(postgresql)
# OpenSSL's headers: webauthn-rs (passkeys) builds on them.
{ command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl; } || missing+=(libssl-dev pkg-config)

if [ ${#missing[@]} -gt 0 ]; then
  echo "test-deps: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The shared Redis of the conformance suite (the store tests start their own as well).
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test-deps: starting redis-server on 127.0.0.1:6379" >&2
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test-deps: redis-server does not answer on 127.0.0.1:6379; the tests need it" >&2
  exit 1
fi

# The PostgreSQL of the conformance suite and the store tests (their tables in schema
# `tokengate_test` of database `test`, rows kept apart per server by namespace).
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "test-deps: starting PostgreSQL" >&2
  for cluster in /etc/postgresql/*/main; do
    version=$(basename "$(dirname "$cluster")")
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 100); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.1; done
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "test-deps: PostgreSQL does not answer on 127.0.0.1:5432; the tests need it" >&2
  exit 1
fi
if ! psql -h 127.0.0.1 -U postgres -d test -c 'SELECT 1' >/dev/null 2>&1; then
  echo "test-deps: creating database test" >&2
  psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test' >/dev/null 2>&1 \
    || as_root su postgres -c "psql -c 'CREATE DATABASE test'" >/dev/null
fi
