# Sourced by ci/trace-hops.sh and ci/runtime-cost.sh: `start_emulate NAME BINARY`
# checks that perf is installed, builds the release binaries if BINARY or bench-emulate is missing
# (the same build as ci/bench.sh), and starts `bench-emulate -- BINARY` in the background. It sets
# `scratch` (a temporary directory removed on exit), `pid` (the emulator's, killed on exit) and
# `url` (where it listens). NAME prefixes its error messages.
start_emulate() {
  local name="$1" bin="$2" target="${CARGO_TARGET_DIR:-target}"
  local emulate="$target/release/bench-emulate"
  # Before the build: a missing perf should not cost minutes of compiling first.
  command -v perf >/dev/null || { echo "$name: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
  if [[ ! -x $emulate || ! -x $bin ]]; then
    cargo build --profile bench --locked -p lambda-stream-bench -p example-conditional-streaming -p peer-official \
      --bins --bench codec --bench e2e --bench process --bench concurrency
  fi
  scratch="$(mktemp -d)"
  trap 'kill "$pid" 2>/dev/null || true; rm -rf "$scratch"' EXIT
  RUST_LOG=warn "$emulate" -- "$bin" >"$scratch/out" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$scratch/out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$scratch/out")"
  [[ -n $url ]] || { echo "$name: bench-emulate did not start" >&2; exit 1; }
}
