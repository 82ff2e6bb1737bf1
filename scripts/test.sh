#!/usr/bin/env bash
# The test command: installs and starts what the tests need when missing (Redis, PostgreSQL,
# Chromium), starts a local Redis Cluster of three masters on free ports for the run (unless
# TEST_REDIS_CLUSTER_URL names one), then tests the whole workspace, every feature, doctests
# included: every test binary runs, even after one fails, and the run closes with one line
# that adds them all up (and the binaries that failed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh
if [ -z "${TEST_REDIS_CLUSTER_URL:-}" ]; then
  cluster=$(mktemp -d)
  trap 'scripts/redis-cluster.sh stop "$cluster"' EXIT
  TEST_REDIS_CLUSTER_URL=$(scripts/redis-cluster.sh start "$cluster")
  export TEST_REDIS_CLUSTER_URL
fi
log=$(mktemp)
status=0
# The summary reads cargo's lines as words: no colour codes in them.
export CARGO_TERM_COLOR=never
cargo test --workspace --all-features --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
awk -v status="$status" '
  /^ *Running / { binary = $NF; gsub(/^\(|\)$/, "", binary); sub(/.*\//, "", binary); sub(/-[0-9a-f]+$/, "", binary) }
  /^ *Doc-tests / { binary = "doctests of " $2 }
  /^test result: / {
    passed += $4; failed += $6; skipped += $8
    if ($3 != "ok.") failing = failing "\n  " binary
  }
  # Cargo names every target that failed, those that crashed before their summary too.
  /^error: [0-9]+ targets? failed:/ { listing = 1; next }
  listing && /^ +`/ { targets = targets "\n" $0; next }
  { listing = 0 }
  END {
    if (targets != "") print "failed targets:" targets
    else if (failing != "") print "failed binaries:" failing
    if (status != 0 && failed == 0 && targets == "")
      print "the build failed: the tests after it did not run"
    printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped
  }
' "$log"
rm -f "$log"
exit "$status"
