#!/usr/bin/env bash
# API docs of every workspace crate, with warnings as errors. Standalone: `bash ci/docs.sh`.
# rustdoc's own warnings (broken or ambiguous intra-doc links, bad code blocks, ...) fail through
# RUSTDOCFLAGS; cargo's warnings (an output file name used twice, for instance) are not rustdoc's,
# so the output is checked for them too.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> RUSTDOCFLAGS=\"-D warnings\" cargo doc --no-deps --workspace --locked"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked 2>&1 | tee "$log"
if grep -E '^warning(\[|:)' "$log" >/dev/null; then
  echo "cargo doc reported warnings (above)" >&2
  exit 1
fi
echo "    docs build without warnings"
