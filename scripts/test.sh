#!/usr/bin/env bash
# The test command: installs and starts what the tests need when missing (Redis, PostgreSQL,
# Chromium), starts a local Redis Cluster of three masters on free ports for the run (unless
# TEST_REDIS_CLUSTER_URL names one), then tests the whole workspace, every feature, doctests
# included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh
if [ -z "${TEST_REDIS_CLUSTER_URL:-}" ]; then
  cluster=$(mktemp -d)
  trap 'scripts/redis-cluster.sh stop "$cluster"' EXIT
  TEST_REDIS_CLUSTER_URL=$(scripts/redis-cluster.sh start "$cluster")
  export TEST_REDIS_CLUSTER_URL
fi
cargo test --workspace --all-features "$@"
