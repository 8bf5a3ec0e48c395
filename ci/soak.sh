#!/usr/bin/env bash
# The emulator's memory under long abuse: 1,000 mid-stream client disconnects, 1,000 function URL
# POSTs of 1 MiB and 100 full 199 MB streams (the largest that fit the 200 MB cap with their prelude), against `bench-emulate -- conditional-streaming` in
# release. Fails when the emulator's resident set ends more than 16 MiB above where it started.
#   bash ci/soak.sh            the full run (several minutes)
#   bash ci/soak.sh short      a quick run (100 disconnects, 100 POSTs, 5 streams of 199 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p lambda-stream-bench -p example-conditional-streaming --bin soak --bin bench-emulate --bin conditional-streaming
mode="${1:-full}"
[ $# -gt 0 ] && shift
case "$mode" in
  short) exec target/release/soak --disconnects 100 --posts 100 --streams 5 "$@" ;;
  full) exec target/release/soak "$@" ;;
  *) echo "usage: bash ci/soak.sh [full|short] [soak options]" >&2; exit 2 ;;
esac
