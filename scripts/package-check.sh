#!/usr/bin/env bash
# The crates tokengate publishes, checked as crates.io and docs.rs will take them:
#   1. every manifest's `rust-version` is the toolchain this runs with (no older one is proven),
#      and every crate is either listed here as published, with what crates.io shows (description,
#      license, repository, readme) and docs.rs's `all-features`, or `publish = false`;
#   2. a package carries its sources and README, not the workspace's tests, benches or scripts;
#   3. `cargo package --workspace` builds each package from its own files, in dependency order
#      (cargo stands in a local registry for the crates not on crates.io yet);
#   4. each crate's docs build alone with every feature, as docs.rs builds them (the workspace's
#      `cargo doc` unifies features across crates and would hide a crate that needs another's);
#   5. `cargo install --path crates/tokengate-cli` installs the `tokengate` command.
# About a minute on a warm target directory. The first run builds each package's dependencies
# with that package's own features (a few GB more in the target directory, several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tokengate-target}"
export CARGO_TERM_COLOR=never
fail() { echo "package-check: $*" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# What goes to crates.io, in dependency order. A new crate is added here or says `publish = false`.
published=(tokengate-store tokengate-sqlite tokengate-redis tokengate-postgres tokengate-core
  tokengate-tower tokengate-actix tokengate tokengate-cli)

# 1. Manifests.
toolchain=$(rustc --version | sed -E 's/^rustc ([0-9]+\.[0-9]+)\..*/\1/')
cargo metadata --no-deps --format-version 1 --locked >"$work/metadata.json"
python3 - "$work/metadata.json" "$toolchain" "${published[@]}" <<'EOF'
import json, sys
toolchain, published = sys.argv[2], set(sys.argv[3:])
problems = []
with open(sys.argv[1], encoding="utf-8") as metadata:
    members = {p["name"]: p for p in json.load(metadata)["packages"]}
for name in sorted(published - members.keys()):
    problems.append(f"{name}: listed as published but not a workspace member")
for name, package in sorted(members.items()):
    if package["rust_version"] not in (None, toolchain):
        problems.append(f"{name}: rust-version {package['rust_version']}, but CI builds with "
                        f"{toolchain}; a lower one is not proven")
    if name not in published:
        if package["publish"] != []:
            problems.append(f"{name}: not in the published list, so it wants `publish = false`")
        continue
    if package["publish"] is not None:
        problems.append(f"{name}: published, but its manifest restricts `publish`")
    for field in ("description", "license", "repository", "readme", "rust_version"):
        if not package.get(field):
            problems.append(f"{name}: no `{field.replace('_', '-')}` (crates.io shows it)")
    docs_rs = (package.get("metadata") or {}).get("docs", {}).get("rs", {})
    if docs_rs.get("all-features") is not True:
        problems.append(f"{name}: no `[package.metadata.docs.rs] all-features = true`")
if problems:
    sys.exit("package-check: " + "\npackage-check: ".join(problems))
EOF

# 2. What each package carries (`--allow-dirty`: the tree as it is checked out, built and tested).
for name in "${published[@]}"; do
  files=$(cargo package --list --allow-dirty --locked -p "$name")
  echo "$files" | grep -qx 'README.md' || fail "$name: its package has no README.md"
  echo "$files" | grep -qE '^src/(lib|main)\.rs$' || fail "$name: its package has no src/lib.rs or src/main.rs"
  extra=$(echo "$files" | grep -vE '^(src/.+|README\.md|CHANGELOG\.md|SECURITY\.md|Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|\.cargo_vcs_info\.json)$' || true)
  [ -z "$extra" ] || fail "$name: its package carries files a user does not need:"$'\n'"$extra"
done

# 3. Every package, built from its own files. `--workspace` takes `publish = false` members
# too (the demo's path dependency would stop it), so those are left out by name. `--quiet`
# also hides cargo's note for each test and bench the packages leave out.
# Cargo unpacks the packages of its stand-in registry under CARGO_HOME and, finding a crate of
# the same name and version unpacked by an earlier run, builds that one: the sources of the
# last run would be verified, not these. Our own crates are never fetched from anywhere else.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/tokengate-*-[0-9]* \
  "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/tokengate-*-[0-9]*.crate
exclude=()
while read -r name; do exclude+=(--exclude "$name"); done < <(
  python3 -c 'import json,sys; [print(p["name"]) for p in json.load(open(sys.argv[1]))["packages"] if p["publish"] == []]' \
    "$work/metadata.json")
cargo package --workspace "${exclude[@]}" --allow-dirty --locked --quiet

# 4. Each crate's docs alone, with every feature (a crate with no library has none).
for name in "${published[@]}"; do
  RUSTDOCFLAGS="-D warnings" cargo doc -p "$name" --all-features --no-deps --locked --quiet
done

# 5. The command, installed from the checkout as the README says (a debug build: it shares the
# target directory's artifacts, and the binary's name is what is checked).
root="$work/install"
cargo install --path crates/tokengate-cli --locked --debug --root "$root" --quiet
installed=$(ls "$root/bin")
[ "$installed" = tokengate ] || fail "cargo install put '$installed' in bin/, not the tokengate command"
"$root/bin/tokengate" --version | grep -q '^tokengate ' || fail "the installed command does not answer --version"
echo "package-check: ${#published[@]} crates package, build, document and install"
