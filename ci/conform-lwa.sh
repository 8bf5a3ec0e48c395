#!/usr/bin/env bash
# The conformance suite against the AWS Lambda Web Adapter ([LWA], crates.io `lambda_web_adapter`,
# binary `lambda-adapter`) under our emulator: the `lwa` column of ci/expected/MATRIX.md. The
# adapter runs in front of crates/peers/lwa/app.mjs (Node's http module, no npm packages), which
# answers send-numbers, conditional-streaming and the parts of the probe HTTP can express; the
# deviations are in ci/expected/lwa.toml.
#
# It installs the adapter with ci/lwa.sh (cargo install --locked into target/lwa: 68 s from
# scratch on this project's 2-core machine when idle, 131 s while other builds ran; seconds when
# target/lwa is kept), then runs every scenario (about 35 s). Together that is more than the 90 s
# a new CI step may take (CI is near its limit), so .ci/run does not run this: run it by hand, `bash ci/conform-lwa.sh` (or `bash ci/conform-matrix.sh`,
# which includes the column). The committed `lwa`, `cargo-lambda-lwa` and `cargo-lambda-iwrs-lwa`
# columns come from `bash ci/conform-matrix.sh` on that machine on 2026-12-01 with
# lambda_web_adapter 0.9.1 and Node 20. Where the adapter cannot be built (no registry, no Node)
# it says SKIPPED and exits 0: the column is then "not run", never passed.
set -uo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if ! command -v "${LAMBDA_STREAM_LWA_NODE:-node}" >/dev/null 2>&1; then
    echo "conform-lwa: SKIPPED: no node on PATH for the web app (crates/peers/lwa/app.mjs)"
    exit 0
fi
if ! bash ci/lwa.sh; then
    echo "conform-lwa: SKIPPED: the AWS Lambda Web Adapter could not be built here (see above)"
    exit 0
fi
bash ci/build-debug.sh -q || exit 1
lwa="crates/peers/lwa/bootstrap"
export LAMBDA_STREAM_LWA="$(cd "$target/lwa" && pwd)"
"$target/debug/lambda-stream" conform --label lwa --expected ci/expected/lwa.toml \
    --bootstrap "send-numbers=$lwa send-numbers" \
    --bootstrap "conditional-streaming=$lwa conditional-streaming" \
    --bootstrap "probe=$lwa probe" \
    --format json --output "$target/conform-lwa.json"
status=$?
echo "conform-lwa: report in $target/conform-lwa.json (exit $status)"
exit $status
