#!/usr/bin/env bash
# Benchmarks. `bash ci/bench.sh short` is the quick CI run (few samples, numbers are indicative
# only on a shared 2-core machine); `bash ci/bench.sh` (full) is what `just bench` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-full}"

case "$mode" in
  short) args=(--warm-up-time 0.2 --measurement-time 0.5 --sample-size 10 --noplot) ;;
  full) args=(--noplot) ;;
  *) echo "usage: ci/bench.sh [short|full]" >&2; exit 2 ;;
esac

echo "==> cargo bench -p lambda-stream-bench ($mode)"
cargo bench -p lambda-stream-bench --locked -- "${args[@]}"
