#!/usr/bin/env bash
# Formatting and lints, exactly as CI runs them. Standalone: `bash ci/lint.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
