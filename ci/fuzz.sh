#!/usr/bin/env bash
# Coverage-guided fuzzing of every target in fuzz/ with cargo-fuzz (libFuzzer) on the stable
# toolchain. Standalone: installs the pinned cargo-fuzz itself.
#
#   bash ci/fuzz.sh short        each target for 30 s (CI)
#   bash ci/fuzz.sh MINUTES      each target for MINUTES minutes (`just fuzz`, default 10)
#   bash ci/fuzz.sh merge        merges the working corpus into the committed corpus, minimised
#
# FUZZ_TARGETS="prelude paths" limits the run to those targets. Every run starts by replaying the
# committed corpus (fuzz/corpus/<target>/, read only) and grows a working corpus under
# fuzz/target/corpus/<target>/. A crash, a timeout or an out-of-memory fails the script after all
# targets ran; the reproducer is in fuzz/artifacts/<target>/ and the summary (executions,
# coverage, findings per target) in fuzz/target/fuzz-report.md.
#
# Why this works on stable rustc: `--sanitizer none` makes cargo-fuzz pass only stable flags
# (`-Cpasses=sancov-module` and `-Cllvm-args=-sanitizer-coverage-*`, the instrumentation libFuzzer
# steers by); AddressSanitizer would need the unstable `-Zsanitizer`. docs/fuzzing.md has more.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
MAX_LEN=20000 # above the 16 KiB prelude limit, so the limit can be reached and passed

mode="${1:-10}"
case "$mode" in
    short) seconds=30 ;;
    merge) seconds=0 ;;
    '' | *[!0-9]*) echo "usage: $0 short|MINUTES|merge" >&2; exit 2 ;;
    *) seconds=$((mode * 60)) ;;
esac

if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
rustc --version
cargo fuzz --version

targets="${FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir fuzz)}"
fuzz_args=(--fuzz-dir fuzz --sanitizer none)

echo "==> cargo fuzz build (release, debug assertions, sanitizer-coverage, no sanitizer)"
cargo fuzz build "${fuzz_args[@]}"

if [ "$mode" = merge ]; then
    # The named seeds (examples/seeds.rs) always stay; from the rest, libFuzzer keeps a smallest
    # set of inputs that reaches every code edge the seeds do not (-set_cover_merge on edges alone:
    # hit counts and comparison operands are quickly found again from there, and the repository
    # stays small).
    cargo run --manifest-path fuzz/Cargo.toml --example seeds
    for t in $targets; do
        merged="fuzz/target/corpus-merged/$t"
        rm -rf "$merged" && mkdir -p "$merged" "fuzz/target/corpus/$t"
        cp fuzz/corpus/"$t"/seed-* "$merged"/
        cargo fuzz run "${fuzz_args[@]}" "$t" "$merged" "fuzz/corpus/$t" "fuzz/target/corpus/$t" -- \
            -set_cover_merge=1 -use_counters=0 -use_cmp=0 -use_value_profile=0 -max_len=$MAX_LEN
        rm -rf "fuzz/corpus/$t" && mv "$merged" "fuzz/corpus/$t"
        echo "$t: $(ls "fuzz/corpus/$t" | wc -l) files, $(cat "fuzz/corpus/$t"/* | wc -c) bytes"
    done
    exit 0
fi

report=fuzz/target/fuzz-report.md
{
    echo "# Fuzzing: ${seconds} s per target ($(rustc --version), cargo-fuzz $CARGO_FUZZ_VERSION)"
    echo
    echo "| target | executions | exec/s | coverage (cov) | features (ft) | corpus | findings |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
} >"$report"

# One target per core at a time (FUZZ_JOBS to change it): each libFuzzer process is single-threaded,
# so two targets side by side on two cores get the same executions as one after the other, in
# half the wall time. Each writes its own log and result line; the report keeps the list's order.
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
results=fuzz/target/fuzz-results
rm -rf "$results" && mkdir -p "$results"

fuzz_one() { # target: runs it, writes $results/<target>.row (the report line) and .failed on a finding
    local t=$1 log="fuzz/target/fuzz-$1.log" status=0 last findings
    mkdir -p "fuzz/target/corpus/$t"
    cargo fuzz run "${fuzz_args[@]}" "$t" "fuzz/target/corpus/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -max_len=$MAX_LEN -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    field() { sed -n "s/.* $1: \([0-9]*[kKmM]*\).*/\1/p" <<<"$last"; }
    if [ "$status" -eq 0 ]; then
        findings="none"
    else
        findings="FAILED (exit $status): $(grep -m1 -E '^(==[0-9]+== ERROR|thread .* panicked|SUMMARY)' "$log" || true) $(ls fuzz/artifacts/"$t" 2>/dev/null | tr '\n' ' ' || true)"
        touch "$results/$t.failed"
    fi
    echo "| $t | $(stat number_of_executed_units) | $(stat average_exec_per_sec) | $(field cov) | $(field ft) | $(field corp) | $findings |" >"$results/$t.row"
}

running=0
for t in $targets; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    echo "==> $t for ${seconds} s (log: fuzz/target/fuzz-$t.log)"
    fuzz_one "$t" &
    running=$((running + 1))
done
wait

failed=()
for t in $targets; do
    log="fuzz/target/fuzz-$t.log"
    echo "==> $t"
    if [ -f "$results/$t.failed" ]; then
        failed+=("$t")
        tail -40 "$log"
    else
        tail -3 "$log"
    fi
    if [ -f "$results/$t.row" ]; then
        cat "$results/$t.row" >>"$report"
    else
        failed+=("$t")
        echo "| $t | | | | | | FAILED: no result (see $log) |" >>"$report"
    fi
done

echo
cat "$report"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found a failure in: ${failed[*]} (reproduce: cargo fuzz run --fuzz-dir fuzz --sanitizer none TARGET fuzz/artifacts/TARGET/FILE)" >&2
    exit 1
fi
echo "fuzzing: ${#failed[@]} failed, every target ran ${seconds} s without a finding"
