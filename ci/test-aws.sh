#!/usr/bin/env bash
# Live-AWS scenarios, in two parts, tearing everything down also when a step fails (drop guards in
# the tests, and the trap below, which sweeps every lambda-stream-tagged stack named ls-live-*, the
# tests' prefix, so that the account's other lambda-stream stacks are left alone):
# 1. crates/aws/tests/live_aws.rs: package and deploy both examples, invoke them through the
#    SigV4-signed function URL and InvokeWithResponseStream, assert they stream.
# 2. crates/conformance/tests/live_aws.rs: deploy the conformance stack (the three handlers, each
#    behind an AWS_IAM / RESPONSE_STREAM function URL), print TTFB cold and warm per path (function
#    URL, InvokeWithResponseStream, Invoke), run every scenario that can run remotely with
#    ci/expected/aws.toml, and write the JUnit report to target/conform-aws.xml.
# Opt-in only: nothing here contacts AWS unless LAMBDA_STREAM_AWS=1 and credentials are present.
# Standalone: `bash ci/test-aws.sh` (`just test-aws`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${LAMBDA_STREAM_AWS:-}" != "1" ]; then
  echo "test-aws: SKIPPED. Live AWS tests run only with LAMBDA_STREAM_AWS=1 (they deploy real, billed resources)."
  exit 0
fi
if [ -z "${AWS_ACCESS_KEY_ID:-}" ] && [ -z "${AWS_PROFILE:-}" ] && [ -z "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" ]; then
  echo "test-aws: LAMBDA_STREAM_AWS=1 but no credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a web identity)." >&2
  exit 2
fi

echo "==> building the lambda-stream command (for the sweep on exit)"
cargo build -p lambda-stream-cli --locked
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cli="$target_dir/debug/lambda-stream"

# Whatever happens below, leave nothing behind.
sweep() {
  status=$?
  echo "==> teardown --all-tagged (trap; exit status so far: $status)"
  "$cli" teardown --all-tagged --name-prefix ls-live- --yes || echo "test-aws: the sweep failed; run '$cli teardown --all-tagged --name-prefix ls-live- --yes' by hand" >&2
  exit "$status"
}
trap sweep EXIT

echo "==> live scenarios (crates/aws/tests/live_aws.rs)"
cargo test -p lambda-stream-aws --locked --test live_aws -- --ignored --nocapture --test-threads 1

echo "==> the conformance suite on AWS (crates/conformance/tests/live_aws.rs; JUnit: $target_dir/conform-aws.xml)"
LAMBDA_STREAM_JUNIT="$target_dir/conform-aws.xml" \
  cargo test -p lambda-stream-conformance --locked --test live_aws -- --ignored --nocapture --test-threads 1
