#!/usr/bin/env bash
# Benchmarks and their report. `bash ci/bench.sh short` is the quick CI run (few samples, no 200 MB
# criterion case; numbers are indicative only on a shared 2-core machine); `bash ci/bench.sh`
# (full) is what `just bench` runs. Both end by writing and printing target/bench-report.md, and
# writing target/bench-report.html (the same with plots), which CI keeps.
#
# Steps: install cargo-lambda if it is missing (optional peer; a failed install only means the
# report lists it as not measured), build the example binary and the official-runtime peer in
# release mode (the benches run them as processes), run every bench target of lambda-stream-bench
# (codec, e2e with its quiet and contended passes, process, concurrency), then bench-report.
#
# The report compares this run's ratios with the committed ci/bench-baseline.json and flags any
# worse by more than 25%, marking whether the two runs' sample spreads are apart (a change) or
# overlap (rerun first). `bash ci/bench.sh short --update-baseline` (or full) rewrites the
# baseline from this run instead; commit it when the change in figures is meant.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-full}"
update_baseline=0
[[ "${2:-}" == "--update-baseline" ]] && update_baseline=1

case "$mode" in
  short) args=(--warm-up-time 0.2 --measurement-time 1 --sample-size 10 --noplot) ;;
  full) args=(--noplot) ;;
  *) echo "usage: ci/bench.sh [short|full]" >&2; exit 2 ;;
esac

target="${CARGO_TARGET_DIR:-target}"
notes="$target/bench-notes"
# Results of earlier runs must not pass for this one's: the report reads only criterion files
# newer than the marker, and the notes and process figures start empty.
rm -rf "$notes" "$target/bench-process.json" "$target/bench-concurrency.json" "$target/bench-report.md" "$target/bench-report.html"
mkdir -p "$notes"
touch "$notes/.run-start"

if ! command -v cargo-lambda >/dev/null 2>&1; then
  if [[ "${LAMBDA_STREAM_BENCH_NO_INSTALL:-0}" != 1 ]] && command -v pip >/dev/null 2>&1; then
    echo "==> pip install cargo-lambda (optional baseline)"
    pip install --quiet cargo-lambda 2>&1 | tail -n 3 || echo "cargo-lambda did not install; its baseline is reported as not measured"
  fi
fi

# One package selection for the build and the run: cargo unifies features over the selected
# packages, so building the binaries in a separate `cargo build -p ...` would compile tokio, hyper
# and the AWS SDK a second time with other features (minutes on two cores). The bench profile puts
# the binaries in target/release, where the benches look for them.
packages=(-p lambda-stream-bench -p example-conditional-streaming -p peer-official)
benches=(--bench codec --bench e2e --bench process --bench concurrency)
echo "==> release build: example binary, official-runtime peer, benches"
build_start=$(date +%s)
cargo build --profile bench --locked "${packages[@]}" --bins "${benches[@]}"
build_seconds=$(( $(date +%s) - build_start ))
{
  echo "mode: $mode (criterion args: ${args[*]})"
  echo "machine: $(nproc) cores, $(uname -sm); shared with other work, so medians are noisy"
  echo "release build of the benches and the peer binaries this run: ${build_seconds}s (incremental when cached)"
} > "$notes/run.info"

echo "==> cargo bench -p lambda-stream-bench ($mode)"
LAMBDA_STREAM_BENCH_MODE="$mode" cargo bench --locked "${packages[@]}" "${benches[@]}" -- "${args[@]}"

echo "==> report"
# Built above with the same features (`cargo run -p` alone would resolve them anew and rebuild).
if [[ $update_baseline == 1 ]]; then
  "$target/release/bench-report" --write-baseline ci/bench-baseline.json
else
  "$target/release/bench-report" --baseline ci/bench-baseline.json
fi
