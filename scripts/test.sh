#!/usr/bin/env bash
# The test command: the whole workspace, every feature, doctests included.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --all-features "$@"
