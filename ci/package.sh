#!/usr/bin/env bash
# Packaging check for the crates users depend on, as `cargo publish` would build them. Standalone:
# `bash ci/package.sh`. Needs the crates.io index (network to the registry); publishes nothing.
#
# Which crates: every workspace package whose manifest does not say `publish = false`, read from
# `cargo metadata`, so a new crate is either marked unpublished (with the reason in its manifest)
# or checked here. Today: lambda-stream-protocol, lambda-stream-emulator, lambda-stream.
#
# What it checks, per crate (`cargo package` with verification, all of them in one call, so cargo
# puts the ones not on crates.io yet into a temporary local registry for each other):
#   - the manifest can be published: every dependency has a version (a path-only dependency that
#     is not a dev-dependency fails), description and license are set, no warning from cargo
#     (missing metadata, for instance, fails this script);
#   - the .crate file holds the crate's own files only, and the crate BUILDS FROM THAT TARBALL
#     ALONE (its library and binaries, default features, against the locked dependency versions):
#     an include_str!/include_bytes!, a build script or a module path that reaches outside the
#     crate's directory fails here.
# What it does not check: tests, examples and benches of the packaged crates (cargo verifies the
# build only; dev-dependencies without a version are dropped from the published manifest), other
# feature combinations, or that the versions are not on crates.io already.
set -euo pipefail
cd "$(dirname "$0")/.."

crates=$(cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
for package in meta["packages"]:
    # `publish` is null when publishing is allowed, [] when `publish = false`.
    if package["id"] in members and package["publish"] is None:
        print(package["name"])
')
if [ -z "$crates" ]; then
  echo "no publishable crate found: did every manifest get publish = false?" >&2
  exit 1
fi

args=()
for crate in $crates; do args+=(-p "$crate"); done

# Cargo unpacks the temporary local registry it builds for these crates under
# $CARGO_HOME/registry/src/<hash of the registry's path>/NAME-VERSION and does not unpack again when
# that directory exists. The path (target/package/tmp-registry) is the same on every run of the
# same checkout, so a second run verified the tarballs against the FIRST run's sources (CI failed
# on a constant renamed since). Remove those stale copies first; the crates.io cache
# (index.crates.io-*) is left alone, and none of these names is on crates.io.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
for crate in $crates; do
  for stale in "$cargo_home"/registry/src/*/"$crate"-[0-9]*; do
    case "$stale" in
      */registry/src/index.crates.io-*) ;;
      *) if [ -d "$stale" ]; then rm -rf -- "$stale"; echo "    removed stale unpacked copy $stale"; fi ;;
    esac
  done
done
echo "==> cargo package --locked --allow-dirty ${args[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --allow-dirty: the check is about what the crates contain, so it also runs before a commit.
cargo package --locked --allow-dirty "${args[@]}" 2>&1 | tee "$log"
if grep -E '^(warning|error)(\[|:)' "$log" >/dev/null; then
  echo "cargo package reported warnings (above); fix them, a published manifest should be clean" >&2
  exit 1
fi
echo "    packaged and built from their tarballs: $(echo $crates)"
