#!/usr/bin/env bash
# Where an invocation's time goes inside the emulator, counted rather than timed: `perf stat` on
# a running `bench-emulate` process (the emulator only; its runtime is another process) while
# one curl process makes K requests on a keep-alive connection. Per request it prints the
# emulator's CPU time, context switches (a thread going to sleep and being woken: every
# hand-off between tasks that finds the other side asleep costs one or two), system calls, and
# connections accepted (from the curl client and from the runtime: 0 per request when both keep
# their connections alive).
#
#   bash ci/trace-hops.sh [K]        (default K = 500; needs `perf` and curl)
#
# TRACE_HOPS_RUNTIME=PATH runs another runtime binary under the emulator (default: our release
# `conditional-streaming`), e.g. an older build to compare with.
#
# Three kinds of request, function URL and InvokeWithResponseStream each: `large` at 0 MB (the
# prelude only: the per-invocation cost), at 1 MB (16 writes of up to 64 KiB: 1 MB minus the
# 0 MB figure, divided by 16, is the per-chunk cost). It builds the two release binaries it runs
# if they are missing (the same build as ci/bench.sh). Figures are for docs/performance.md; on a
# shared machine run it twice and take the lower.
set -euo pipefail
cd "$(dirname "$0")/.."
k="${1:-500}"
target="${CARGO_TARGET_DIR:-target}"
bin="${TRACE_HOPS_RUNTIME:-$target/release/conditional-streaming}"
# shellcheck source=ci/perf-emulate.sh
source ci/perf-emulate.sh
start_emulate trace-hops "$bin"

# One curl config of K requests: curl reuses the connection for all of them. `next` between them
# keeps each request's options its own (without it curl joins every `data` line into one body
# with `&`, which made each IWRS request an invalid event and its answer an error).
requests() { # path kind size
  for i in $(seq "$k"); do
    [[ $i -gt 1 ]] && echo next
    if [[ $2 == url ]]; then
      printf 'url = "%s/?scenario=large&size_mb=%s"\nrequest = "POST"\n' "$url" "$3"
    else
      printf 'url = "%s/2021-11-15/functions/bench/response-streaming-invocations"\ndata = "{\\"scenario\\":\\"large\\",\\"size_mb\\":%s}"\n' "$url" "$3"
    fi
    printf 'output = "/dev/null"\nwrite-out = "%%{http_code} %%{size_download}\\n"\n'
  done
}

# Every answer must be a 200 of at least the size asked for: a figure of error answers is no figure.
check_answers() { # file size_mb
  local bad
  bad=$(awk -v min="$(( $2 * 1000000 ))" '$1 != 200 || $2 < min' "$1" | head -n 3)
  if [[ -n $bad || $(wc -l < "$1") -ne $k ]]; then
    echo "trace-hops: expected $k answers of status 200 and at least $2 MB; saw e.g.: ${bad:-$(wc -l < "$1") answers}" >&2
    exit 1
  fi
}

printf '%-34s %10s %14s %12s %14s %12s\n' "requests ($k each)" "wall s" "CPU us/req" "ctx sw/req" "syscalls/req" "accepts/req"
for kind in url iwrs; do
  for size in 0 1; do
    requests x "$kind" "$size" >"$scratch/cfg"
    curl -s -K "$scratch/cfg" >"$scratch/answers" # warm-up: connection, runtime, allocator
    check_answers "$scratch/answers" "$size"
    perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_accept4 -p "$pid" -o "$scratch/stat" -- \
      bash -c "start=\$(date +%s.%N); curl -s -K '$scratch/cfg' >'$scratch/answers'; echo \$(echo \"\$(date +%s.%N) - \$start\" | bc) > '$scratch/wall'"
    check_answers "$scratch/answers" "$size"
    clock_ms="$(awk -F, '$3 == "task-clock" {print $1}' "$scratch/stat")"
    switches="$(awk -F, '$3 == "context-switches" {print $1}' "$scratch/stat")"
    syscalls="$(awk -F, '$3 == "raw_syscalls:sys_enter" {print $1}' "$scratch/stat")"
    accepts="$(awk -F, '$3 == "syscalls:sys_enter_accept4" {print $1}' "$scratch/stat")"
    label="$([[ $kind == url ]] && echo "function URL" || echo "IWRS"), large ${size} MB"
    printf '%-34s %10.2f %14.1f %12.2f %14.1f %12.2f\n' "$label" "$(cat "$scratch/wall")" \
      "$(echo "$clock_ms * 1000 / $k" | bc -l)" "$(echo "$switches / $k" | bc -l)" \
      "$(echo "$syscalls / $k" | bc -l)" "$(echo "$accepts / $k" | bc -l)"
  done
done
