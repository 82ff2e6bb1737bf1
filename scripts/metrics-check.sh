#!/usr/bin/env bash
# The metrics as another parser reads them: each demo is started, signed in to, refreshed and
# refused, then its `/metrics` is parsed by the Prometheus client library for Python
# (`prometheus_client.parser`), which must find every metric with its type and the counts
# the requests made.
# Usage: scripts/metrics-check.sh [axum_demo actix_demo]
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-18096}"
host="http://127.0.0.1:$port"
demos=("$@")
[ ${#demos[@]} -gt 0 ] || demos=(axum_demo actix_demo)
fail() { echo "metrics-check: $*" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

venv="${XDG_CACHE_HOME:-$HOME/.cache}/tokengate-prometheus-venv"
if ! "$venv/bin/python" -c 'import prometheus_client.parser' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'prometheus-client>=0.20,<1'
fi

pid=""
log=$(mktemp)
stop() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }; }
trap 'stop; rm -f "$log"' EXIT

for demo in "${demos[@]}"; do
  cargo build --quiet --all-features --example "$demo"
  if curl -s -o /dev/null "$host/health"; then fail "port $port is already in use"; fi
  env PORT="$port" "${CARGO_TARGET_DIR:-target}/debug/examples/$demo" 2>"$log" &
  pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "$host/health" && break; sleep 0.1; done
  curl -s -o /dev/null "$host/health" || { cat "$log" >&2; fail "$demo did not start"; }

  signin=$(curl -s -X POST "$host/api/rest/signin" \
    --form login=john.doe@email.org --form 'password=#thePassword1234!')
  refresh=$(field refreshToken <<<"$signin")
  curl -s -o /dev/null -X POST "$host/api/rest/token" --form token="$refresh"
  curl -s -o /dev/null -X POST "$host/api/rest/signin" \
    --form login=john.doe@email.org --form password=wrong
  curl -s -o /dev/null "$host/api/rest/me"
  curl -s -o /dev/null -X POST "$host/api/rest/signout" --form token="$refresh"

  content_type=$(curl -s -o /dev/null -w '%{content_type}' "$host/metrics")
  [ "$content_type" = "text/plain; version=0.0.4; charset=utf-8" ] \
    || fail "$demo: /metrics is $content_type"
  curl -s "$host/metrics" | "$venv/bin/python" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families

demo = sys.argv[1]
families = {family.name: family for family in text_string_to_metric_families(sys.stdin.read())}

def fail(why):
    sys.exit("metrics-check: %s: %s" % (demo, why))

expected = {
    "tokengate_signins": "counter",
    "tokengate_refreshes": "counter",
    "tokengate_signouts": "counter",
    "tokengate_guard_refusals": "counter",
    "tokengate_store_operation_seconds": "histogram",
}
for name, kind in expected.items():
    if name not in families:
        fail("no %s among %s" % (name, sorted(families)))
    if families[name].type != kind:
        fail("%s is a %s, not a %s" % (name, families[name].type, kind))

def value(family, sample_name, **labels):
    return sum(s.value for s in families[family].samples
               if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()))

checks = [
    ("tokengate_signins", "tokengate_signins_total", dict(method="password", outcome="success"), 1),
    ("tokengate_signins", "tokengate_signins_total", dict(method="password", outcome="wrong_credentials"), 1),
    ("tokengate_refreshes", "tokengate_refreshes_total", dict(outcome="success"), 1),
    ("tokengate_signouts", "tokengate_signouts_total", dict(scope="local"), 1),
    ("tokengate_guard_refusals", "tokengate_guard_refusals_total", dict(reason="missing_token"), 1),
    ("tokengate_store_operation_seconds", "tokengate_store_operation_seconds_count", dict(store="memory", operation="create"), 1),
]
for family, sample, labels, want in checks:
    got = value(family, sample, **labels)
    if got != want:
        fail("%s%s is %s, expected %s" % (sample, labels, got, want))
buckets = [s for s in families["tokengate_store_operation_seconds"].samples if s.name.endswith("_bucket")]
if not any(s.labels.get("le") == "+Inf" for s in buckets):
    fail("the store histogram has no +Inf bucket")
print("metrics-check: %s: %d families parsed" % (demo, len(families)))
' "$demo"
  stop
done
