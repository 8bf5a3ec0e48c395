#!/usr/bin/env bash
# The conformance run CI keeps as files: lambda-stream's examples (+ the probe) under our emulator,
# as one self-contained HTML page with a wire timeline per scenario (target/conform-report.html),
# as JSON (target/conform-report.json), and that JSON as a one-column matrix page
# (target/conform-matrix.html; `bash ci/conform-matrix.sh` builds the full matrix). Exits non-zero
# on unexpected failures or stale deviations, as `lambda-stream conform` does, after writing all.
# Standalone: `bash ci/conform-report.sh`.
set -uo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

bash ci/build-debug.sh -q || exit 1
bin="$target/debug/lambda-stream"
status=0
# One run, both reports.
"$bin" conform --label ours --expected ci/expected/ours.toml --format html --output "$target/conform-report.html" \
    --json-output "$target/conform-report.json" \
    || { echo "conform-report: unexpected results (see $target/conform-report.html)" >&2; status=1; }
"$bin" report "$target/conform-report.json" --output "$target/conform-matrix.html" || status=1
echo "wrote $target/conform-report.html, $target/conform-report.json and $target/conform-matrix.html"
exit $status
