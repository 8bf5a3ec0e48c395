#!/usr/bin/env bash
# Installs the AWS Lambda Web Adapter ([LWA], the crates.io package `lambda_web_adapter`, binary
# `lambda-adapter`) into target/lwa/bin for the conformance matrix's `lwa` column:
#
#   cargo install --locked --root target/lwa lambda_web_adapter --version $LWA_VERSION
#
# `--locked` builds it with the Cargo.lock published in the crate, so the column is reproducible.
# The crate's own release profile asks for fat LTO and one codegen unit (slow on 2 cores); the
# install turns both off (CARGO_PROFILE_RELEASE_*), which changes speed, not behaviour. A second
# run with the same version does nothing. Prints how long it took. When it cannot be
# built (no registry, a toolchain too old) it exits non-zero with the reason on the last line;
# ci/conform-lwa.sh then reports the column SKIPPED. Standalone: `bash ci/lwa.sh`.
set -uo pipefail
cd "$(dirname "$0")/.."
# 0.9.1 is the newest stable release on crates.io (1.0.0-rc1 is a pre-release); it builds with
# rustc 1.95.
version="${LWA_VERSION:-0.9.1}"
root="${CARGO_TARGET_DIR:-target}/lwa"
bin="$root/bin/lambda-adapter"
stamp="$root/version"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    echo "lwa: lambda_web_adapter $version already in $root"
    exit 0
fi
start=$(date +%s)
echo "==> cargo install lambda_web_adapter $version into $root (a few minutes on 2 cores)"
if ! CARGO_INCREMENTAL=0 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install --locked --force --root "$root" lambda_web_adapter --version "$version"; then
    echo "lwa: cargo install of lambda_web_adapter $version failed (see above): the adapter cannot be built here" >&2
    exit 1
fi
echo "$version" > "$stamp"
echo "lwa: lambda_web_adapter $version installed in $root in $(( $(date +%s) - start )) s"
