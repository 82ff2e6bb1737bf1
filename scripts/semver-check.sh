#!/usr/bin/env bash
# The public API of every published crate against the last release (the newest tag reachable
# from HEAD), with cargo-semver-checks: a change that breaks users needs the version bump that
# says so. Before the first tag there is nothing to compare with, and nothing is installed.
#
# cargo-semver-checks is built from crates.io once (several minutes) and kept under
# ~/.cache, one directory per version, so CI builds it again only when the pinned version
# changes. A newer Rust may need a newer cargo-semver-checks (it reads rustdoc's JSON).
# The comparison builds every library's rustdoc JSON twice (the tag's and the checkout's):
# about a minute on a warm target directory, some twenty on a cold one.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
export CARGO_TERM_COLOR=never
version=0.51.0

if ! tag=$(git describe --tags --abbrev=0 2>/dev/null); then
  echo "semver-check: no release tag yet, so no earlier API to compare with"
  exit 0
fi

root="$HOME/.cache/cargo-semver-checks-$version"
if [ ! -x "$root/bin/cargo-semver-checks" ]; then
  echo "semver-check: building cargo-semver-checks $version into $root" >&2
  # Its own target directory, removed afterwards: a release build of a tool does not belong
  # among the workspace's artifacts.
  CARGO_TARGET_DIR="$root/build" cargo install cargo-semver-checks \
    --version "$version" --locked --root "$root" --quiet
  rm -rf "$root/build"
fi

echo "semver-check: the API against $tag"
# Crates with `publish = false` are left out by cargo-semver-checks itself.
PATH="$root/bin:$PATH" cargo semver-checks --workspace --baseline-rev "$tag"
