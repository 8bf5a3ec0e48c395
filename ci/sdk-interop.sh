#!/usr/bin/env bash
# Another language's AWS SDK (Python boto3) against `lambda-stream emulate`: decodes the
# InvokeWithResponseStream event stream chunk by chunk. Standalone: `bash ci/sdk-interop.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c "import boto3" 2>/dev/null; then
  echo "==> installing boto3 (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check boto3
fi
echo "==> building the CLI and the example handlers"
bash ci/build-debug.sh
echo "==> boto3 invoke_with_response_stream against the emulator"
python3 ci/sdk_interop.py target/debug
