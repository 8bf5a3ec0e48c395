#!/usr/bin/env bash
# What ships to Lambda carries only the runtime: builds example-send-numbers as Lambda gets it
# (release, default features, which include `local`) and checks the binary holds no emulator:
#   1. no symbol of lambda_stream_emulator (nor of aws_sigv4, a dependency only the emulator has),
#      with a positive control that the binary has symbols at all (a stripped one proves nothing);
#   2. none of a few strings only the emulator and local mode contain;
#   3. started without AWS_LAMBDA_RUNTIME_API it fails at once with the message that local mode is
#      a debug-build feature (instead of serving 127.0.0.1:7000);
# and prints the binary's size.
#
#   bash ci/release-check.sh                      # the check (CI)
#   bash ci/release-check.sh --negative-control   # builds with debug assertions on in release (so
#       local mode and the emulator are compiled in) and passes only if the checks above FAIL on
#       that binary: proof the check can fail. A second full release build; not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=check
case "${1:-}" in
    "") ;;
    --negative-control) mode=negative ;;
    *) echo "usage: $0 [--negative-control]" >&2; exit 2 ;;
esac

target_dir="${CARGO_TARGET_DIR:-target}"
if [[ $mode == negative ]]; then
    # A target directory of its own: other profile settings would rebuild everything in place.
    target_dir="target/release-check-local"
    export CARGO_TARGET_DIR="$target_dir"
    export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
    export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=false
fi

cargo build --release --locked -q -p example-send-numbers
bin="$target_dir/release/send-numbers"
[[ -x $bin ]] || { echo "release-check: $bin was not built" >&2; exit 1; }

failures=()

# 1. Symbols. The positive control: the runtime's own symbols must be there, else nm sees nothing.
symbols=$(nm "$bin" 2>/dev/null || true)
# (Mangled names spell a path segment as its length and name: `13lambda_stream`.)
if ! grep -q '13lambda_stream' <<<"$symbols"; then
    echo "release-check: $bin has no lambda_stream symbols (stripped?); the symbol check cannot work" >&2
    exit 1
fi
for crate in lambda_stream_emulator aws_sigv4; do
    count=$(grep -c "$crate" <<<"$symbols" || true)
    if [[ $count -gt 0 ]]; then
        failures+=("$count symbols of $crate, e.g. $(grep -m1 "$crate" <<<"$symbols" | awk '{print $NF}' | cut -c1-120)")
    fi
done

# 2. Strings only the emulator (server timeout, START log line, Runtime API answer) and local mode
#    (its curl hint) contain.
for text in "Task timed out after" "START RequestId: " "InvocationAlreadyAnswered" "lambda-stream local mode"; do
    if grep -qaF "$text" "$bin"; then
        failures+=("the emulator/local-mode string \"$text\"")
    fi
done

# 3. Without AWS_LAMBDA_RUNTIME_API: a clear error, not a local server (port 0, should it start).
set +e
output=$(env -u AWS_LAMBDA_RUNTIME_API LOCAL_LAMBDA_PORT=0 timeout 10 "$bin" 2>&1 </dev/null)
status=$?
set -e
if [[ $status -eq 0 || $status -eq 124 ]]; then
    failures+=("started without AWS_LAMBDA_RUNTIME_API it exited with status $status (124: still running after 10 s)")
elif ! grep -q "local mode (the embedded emulator on 127.0.0.1:7000) is a debug-build feature" <<<"$output" \
    || ! grep -q "cargo run" <<<"$output"; then
    failures+=("started without AWS_LAMBDA_RUNTIME_API it did not say local mode is a debug-build feature: $(head -c 300 <<<"$output")")
fi

bytes=$(stat -c %s "$bin")
echo "release-check: $bin: $bytes bytes ($(awk "BEGIN { printf \"%.2f\", $bytes / 1048576 }") MiB)"

if [[ $mode == check ]]; then
    if [[ ${#failures[@]} -gt 0 ]]; then
        echo "release-check: FAILED, the release binary carries local mode or the emulator:" >&2
        printf '  - %s\n' "${failures[@]}" >&2
        exit 1
    fi
    echo "release-check: ok: no emulator symbol or string, and no local mode in the release binary"
else
    if [[ ${#failures[@]} -lt 3 ]]; then
        echo "release-check --negative-control: FAILED: with local mode compiled in, only ${#failures[@]} finding(s):" >&2
        printf '  - %s\n' "${failures[@]}" >&2
        exit 1
    fi
    echo "release-check --negative-control: ok: the check catches a binary with local mode compiled in:"
    printf '  - %s\n' "${failures[@]}"
fi
