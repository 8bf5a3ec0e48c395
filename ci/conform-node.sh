#!/usr/bin/env bash
# The conformance suite against AWS's Node.js runtime interface client under our emulator (the
# `node` column of ci/expected/MATRIX.md): builds the RIC with ci/node-ric.sh (about 3.5 minutes
# from scratch, seconds when target/node-ric is kept), then runs every scenario with
# ci/expected/node.toml. Where the RIC cannot be built (no root for the apt build tools, npm
# unreachable) it says so and exits 0 with the column SKIPPED, never passed. Standalone:
# `bash ci/conform-node.sh`.
set -uo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if ! bash ci/node-ric.sh; then
    echo "conform-node: SKIPPED: AWS's Node runtime client could not be built here (see above)"
    exit 0
fi
bash ci/build-debug.sh -q || exit 1
node="crates/peers/node/bootstrap"
export LAMBDA_STREAM_NODE_RIC="$(cd "$target/node-ric" && pwd)"
"$target/debug/lambda-stream" conform --label node --expected ci/expected/node.toml \
    --bootstrap "send-numbers=$node handlers.sendNumbers" \
    --bootstrap "conditional-streaming=$node handlers.conditionalStreaming" \
    --bootstrap "probe=$node handlers.probe" \
    --format json --output "$target/conform-node.json"
status=$?
echo "conform-node: report in $target/conform-node.json (exit $status)"
exit $status
