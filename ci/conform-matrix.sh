#!/usr/bin/env bash
# Regenerates ci/expected/MATRIX.md: every conformance rule against every runtime/emulator pair
# we can run here, with the evidence per cell.
#
#   ours                  lambda-stream's examples (+ the probe) under our emulator
#   official              the official lambda_runtime peer (crates/peers) under our emulator
#   cargo-lambda          our examples (+ the probe) under `cargo-lambda lambda watch --only-lambda-apis`
#                         (function-URL scenarios; the PyPI package `cargo-lambda` ships the binary)
#   cargo-lambda-official the official peer under cargo-lambda
#
# The rows come in groups, one per front end (function side, function URL, InvokeWithResponseStream,
# buffered Invoke, limits, writer rules, API Gateway REST API, local server): the prefix of the
# rule's id. The API Gateway group runs on our emulator's REST API listener (the `api-gateway`
# request path); cargo-lambda has no API Gateway front end, so that group is "not run" there.
#
# Each run uses ci/expected/<column>.toml; a run with unexpected failures or stale deviations
# makes this script exit non-zero after writing the matrix, so the expected files stay honest.
# A column that cannot run here (peer not in the workspace, cargo-lambda not installable) is
# written as "not run" with the reason, never as pass.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$(mktemp -d)
# start_cargo_lambda runs inside $(...), a subshell that cannot hand variables back: the pids of
# what it starts go into "$out/pids", and the trap stops them all.
cleanup() {
    for pid in $(cat "$out/pids" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    rm -rf "$out"
}
trap cleanup EXIT

cargo build -q -p lambda-stream-cli -p example-send-numbers -p example-conditional-streaming \
    -p lambda-stream-conformance --bins || exit 1
bin=target/debug/lambda-stream
failed=0
notes="$out/notes"
: > "$notes"

conform() { # column, then conform arguments
    local column=$1
    shift
    "$bin" conform --label "$column" --expected "ci/expected/$column.toml" --format json \
        --output "$out/$column.json" "$@" || { echo "conform-matrix: $column has unexpected results" >&2; failed=1; }
}

conform ours

if cargo build -q -p peer-official 2>/dev/null; then
    conform official --bootstrap send-numbers=target/debug/official-send-numbers \
        --bootstrap conditional-streaming=target/debug/official-conditional-streaming
    # The test that pins the peer's known defects (ignored in plain `cargo test`: it needs this build).
    cargo test -q -p lambda-stream-conformance --test peers -- --ignored || failed=1
else
    echo "official: not run, because the peer-official package does not build in this workspace" >> "$notes"
fi

# cargo-lambda: a virtualenv under target/ keeps the pip install out of the system.
venv=target/conform-matrix/cargo-lambda-venv
if [ ! -x "$venv/bin/cargo-lambda" ]; then
    python3 -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/pip" install -q cargo-lambda >/dev/null 2>&1
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# One cargo-lambda per handler: it serves a single function, `_`, per process.
start_cargo_lambda() { # handler, bootstrap command... ; prints the function URL base
    local handler=$1
    shift
    local port dir
    port=$(free_port)
    dir="$out/cl-$handler"
    mkdir -p "$dir"
    # cargo-lambda reads a Cargo manifest even with --only-lambda-apis; give it an empty package.
    printf '[package]\nname = "cl-%s"\nversion = "0.0.0"\nedition = "2021"\n[[bin]]\nname = "f"\npath = "f.rs"\n' \
        "${handler//[^a-z]/}" > "$dir/Cargo.toml"
    echo 'fn main() {}' > "$dir/f.rs"
    (cd "$dir" && exec "$root/$venv/bin/cargo-lambda" lambda watch --only-lambda-apis -A 127.0.0.1 -P "$port" \
        > "$dir/cargo-lambda.log" 2>&1) &
    echo $! >> "$out/pids"
    # Up to 30 s: on a busy 2-core machine cargo-lambda can take several seconds to listen.
    for _ in $(seq 300); do
        (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 \
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 "$@" > "$dir/function.log" 2>&1 &
    echo $! >> "$out/pids"
    echo "$handler=http://127.0.0.1:$port/lambda-url/_"
}
if [ -x "$venv/bin/cargo-lambda" ]; then
    conform cargo-lambda --target function-url \
        --url "$(start_cargo_lambda send-numbers "$root/target/debug/send-numbers")" \
        --url "$(start_cargo_lambda conditional-streaming "$root/target/debug/conditional-streaming")" \
        --url "$(start_cargo_lambda probe "$root/target/debug/conformance-bootstrap" probe)"
    if [ -x target/debug/official-conditional-streaming ]; then
        conform cargo-lambda-official --target function-url \
            --url "$(start_cargo_lambda send-numbers "$root/target/debug/official-send-numbers")" \
            --url "$(start_cargo_lambda conditional-streaming "$root/target/debug/official-conditional-streaming")"
    fi
else
    echo "cargo-lambda: not run, because \`pip install cargo-lambda\` did not give a cargo-lambda binary here" >> "$notes"
fi

python3 - "$out" ci/expected/MATRIX.md <<'PY'
import json, os, sys
out, target = sys.argv[1], sys.argv[2]
columns = ["ours", "official", "cargo-lambda", "cargo-lambda-official"]
what = {
    "ours": "lambda-stream examples + probe, our emulator",
    "official": "official `lambda_runtime` peer (crates/peers), our emulator",
    "cargo-lambda": "lambda-stream examples + probe, `cargo-lambda lambda watch --only-lambda-apis` (function URL)",
    "cargo-lambda-official": "official peer, cargo-lambda (function URL)",
}
reports = {c: json.load(open(os.path.join(out, c + ".json"))) for c in columns if os.path.exists(os.path.join(out, c + ".json"))}
notes = open(os.path.join(out, "notes")).read().strip().splitlines()
mark = {"pass": "pass", "fail": "**FAIL**", "expected-fail": "fail (expected)", "not-run": "not run"}
def cell(rule):
    v = rule["verdict"]
    ev = (rule.get("evidence") or [""])[0].replace("|", "\\|").replace("\n", " ")
    if len(ev) > 140:
        ev = ev[:140] + "..."
    return mark.get(v, v) + (": " + ev if ev and v != "pass" else "")
lines = ["# Conformance matrix", "",
         "Generated by `just conform-matrix` (`ci/conform-matrix.sh`); do not edit. Rules are in",
         "`crates/conformance/rules.toml`, scenarios in `scenarios/`, expected deviations per column in",
         "`ci/expected/<column>.toml`. A cell says pass, **FAIL** (unexpected), fail (expected: listed",
         "deviation) or not run, with the first piece of evidence.", "", "Columns:"]
for c in columns:
    lines.append(f"- `{c}`: {what[c]}" + ("" if c in reports else " (not run)"))
for n in notes:
    lines.append(f"- {n}")
lines += ["", "| rule | " + " | ".join(c for c in columns if c in reports) + " |",
          "| --- |" + " --- |" * len(reports)]
ids = [r["id"] for r in reports["ours"]["rules"]]
groups = {"runtime": "Function side (Runtime API)", "url": "Function URL", "iwrs": "InvokeWithResponseStream",
          "invoke": "Buffered Invoke", "limits": "Limits", "writer": "Writer rules",
          "apigw": "API Gateway REST API (response streaming)", "local": "Local server"}
group = None
for rid in ids:
    prefix = rid.split(".")[0]
    if prefix != group:
        group = prefix
        lines.append(f"| **{groups.get(prefix, prefix)}** |" + " |" * len(reports))
    row = [f"`{rid}`"]
    for c in columns:
        if c in reports:
            rule = next(r for r in reports[c]["rules"] if r["id"] == rid)
            row.append(cell(rule))
    lines.append("| " + " | ".join(row) + " |")
lines += ["", "## Totals", ""]
for c, rep in reports.items():
    counts = {}
    for r in rep["rules"]:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    lines.append(f"- `{c}`: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) +
                 f"; stale deviations {len(rep['stale'])}")
open(target, "w").write("\n".join(lines) + "\n")
PY
echo "wrote ci/expected/MATRIX.md"
# The same matrix as one HTML page, evidence on hover, kept in target/ with the runs' JSON.
mkdir -p target/conform-matrix
cp "$out"/*.json target/conform-matrix/ 2>/dev/null
columns=()
for c in ours official cargo-lambda cargo-lambda-official; do
    [ -f "$out/$c.json" ] && columns+=("$out/$c.json")
done
"$bin" report "${columns[@]}" --output target/conform-matrix.html && echo "wrote target/conform-matrix.html"
exit $failed
