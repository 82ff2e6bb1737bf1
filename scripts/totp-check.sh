#!/usr/bin/env bash
# A second factor driven by a TOTP client that is not ours: pyotp (PyPI) reads the otpauth URI
# each demo gives, computes the codes, and the demos take them (scripts/totp/check.py).
# Usage: scripts/totp-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
venv="$HOME/.cache/tokengate-totp-venv"
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import pyotp' 2>/dev/null || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'pyotp>=2.9,<3'
}
cargo build --quiet --examples
port=18680
for demo in axum_demo actix_demo; do
  "$venv/bin/python" scripts/totp/check.py "$CARGO_TARGET_DIR/debug/examples/$demo" "$port"
  port=$((port + 10))
done
