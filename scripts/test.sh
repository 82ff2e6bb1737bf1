#!/usr/bin/env bash
# The test command: installs what the tests need when missing, then the whole workspace,
# every feature, doctests included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh
exec cargo test --workspace --all-features "$@"
