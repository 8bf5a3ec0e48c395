#!/usr/bin/env bash
# What streaming costs a runtime process and the emulator, counted rather than timed: `perf stat`
# on both while one curl process streams `large` answers of SIZE_MB through the function URL,
# REPS times on a keep-alive connection. Checks every answer (a 200 of the size asked), then
# prints the wall-clock rate and, per MB, for each process its CPU time, context switches (a
# thread going to sleep and being woken: a chunk handed between threads costs about one) and
# system calls.
#
#   bash ci/runtime-cost.sh [BINARY] [SIZE_MB] [REPS]
#
# BINARY defaults to our release `conditional-streaming`; give the official runtime's peer
# (target/release/official-conditional-streaming) to compare. SIZE_MB defaults to 64, REPS to 4.
# It builds what it runs if missing (the same build as ci/bench.sh). Figures are for
# docs/performance.md ("Fifth round"); on a shared machine run it a few times, alternating the
# binaries, and compare only figures taken side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
bin="${1:-$target/release/conditional-streaming}"
size="${2:-64}"
reps="${3:-4}"
# shellcheck source=ci/perf-emulate.sh
source ci/perf-emulate.sh
start_emulate runtime-cost "$bin"
# The first invocation starts the runtime process (the emulator spawns it on demand).
curl -s -X POST "$url/?scenario=large&size_mb=1" -o /dev/null
runtime_pid="$(pgrep -P "$pid" | head -n 1)"
[[ -n $runtime_pid ]] || { echo "runtime-cost: the runtime process did not start" >&2; exit 1; }

for i in $(seq "$reps"); do
  [[ $i -gt 1 ]] && echo next
  printf 'url = "%s/?scenario=large&size_mb=%s"\nrequest = "POST"\noutput = "/dev/null"\n' "$url" "$size"
  printf 'write-out = "%%{http_code} %%{size_download}\\n"\n'
done >"$scratch/cfg"

events=task-clock,context-switches,raw_syscalls:sys_enter
perf stat -x, -e "$events" -p "$runtime_pid" -o "$scratch/runtime" -- \
  perf stat -x, -e "$events" -p "$pid" -o "$scratch/emulator" -- \
  bash -c "start=\$(date +%s.%N); curl -s -K '$scratch/cfg' >'$scratch/answers'; echo \"\$(date +%s.%N) - \$start\" | bc >'$scratch/wall'"

# Every answer must be a 200 of the size asked for: a figure of error answers is no figure.
expected="200 $(( size * 1000000 ))"
if [[ $(grep -c "^$expected\$" "$scratch/answers") -ne $reps ]]; then
  echo "runtime-cost: expected $reps answers '$expected', got:" >&2
  sort "$scratch/answers" | uniq -c >&2
  exit 1
fi
mb=$(( size * reps ))
echo "$(basename "$bin"): $reps x $size MB in $(cat "$scratch/wall") s = $(echo "$mb / $(cat "$scratch/wall")" | bc) MB/s"
for process in runtime emulator; do
  awk -F, -v p="$process" -v mb="$mb" '
    $3 == "task-clock" { cpu = $1 / mb }
    $3 == "context-switches" { cs = $1 / mb }
    $3 == "raw_syscalls:sys_enter" { sc = $1 / mb }
    END { printf "  %-8s CPU %.3f ms/MB, %.1f context switches/MB, %.1f system calls/MB\n", p, cpu, cs, sc }' "$scratch/$process"
done
