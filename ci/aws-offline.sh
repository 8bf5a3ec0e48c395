#!/usr/bin/env bash
# Offline AWS checks, no AWS account needed: cfn-lint on the templates, packaging with
# cargo-zigbuild (glibc 2.34), and deploy/teardown against moto in server mode on 127.0.0.1.
# Installs what it needs from PyPI (pinned). Standalone: `bash ci/aws-offline.sh`.
# (The recorded-response tests of deploy/teardown need nothing external: they run in
# `cargo test --workspace`.)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> pip install (moto server, cfn-lint, cargo-zigbuild + ziglang)"
python3 -m pip install --quiet --disable-pip-version-check \
  "moto[server]==5.2.1" "cfn-lint==1.51.0" "cargo-zigbuild==0.24.1" "ziglang==0.17.1"

echo "==> cfn-lint templates/lambda-stream.json templates/sam.yaml"
cfn-lint templates/lambda-stream.json templates/sam.yaml
echo "    templates pass cfn-lint"

# A free port on 127.0.0.1, chosen by the kernel.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp)
echo "==> moto server on 127.0.0.1:$port (log: $log)"
moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto server exited:" >&2; cat "$log" >&2; exit 1
  fi
  sleep 0.2
done

# One thread: the sweep test deletes every lambda-stream stack moto holds.
echo "==> cargo test --workspace --test moto --test package (crates/aws: moto and zigbuild tests, --ignored)"
LAMBDA_STREAM_MOTO_ENDPOINT="http://127.0.0.1:$port" \
  cargo test --workspace --locked --test moto --test package -- --ignored --test-threads 1
