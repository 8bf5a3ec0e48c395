#!/usr/bin/env bash
# Regenerates ci/expected/MATRIX.md: every conformance rule against every runtime/emulator pair
# we can run here, with the evidence per cell.
#
#   ours                  lambda-stream's examples (+ the probe) under our emulator
#   official              the official lambda_runtime peer (crates/peers) under our emulator
#   broken                the negative controls (crates/conformance/tests/broken_runtime.rs): for
#                         each rule, the deliberately broken runtime or platform defects that fail it
#   cargo-lambda          our examples (+ the probe) under `cargo-lambda lambda watch --only-lambda-apis`
#                         (function-URL scenarios; the PyPI package `cargo-lambda` ships the binary)
#   cargo-lambda-official the official peer under cargo-lambda
#
# Each run uses ci/expected/<column>.toml; a run with unexpected failures or stale deviations
# makes this script exit non-zero after writing the matrix, so the expected files stay honest.
# A column that cannot run here (peer not in the workspace, cargo-lambda not installable) is
# written as "not run" with the reason, never as pass. A failure of the matrix writer itself
# fails the script.
#
#   ci/conform-matrix.sh --check   runs the cheap columns (ours, official, broken) and fails when
#                                  their verdicts differ from the committed MATRIX.md (a stale
#                                  matrix), or when a run has unexpected results. It writes nothing.
#                                  CI runs this. CONFORM_BROKEN_REPORTS=DIR reuses the broken
#                                  reports a test run already wrote there (LAMBDA_STREAM_CONFORM_OUT).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=write
if [ "${1:-}" = "--check" ]; then
    mode=check
fi
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

# The negative controls: the test writes one JSON report per defect.
broken_dir="$out/broken"
if [ -n "${CONFORM_BROKEN_REPORTS:-}" ] && ls "$CONFORM_BROKEN_REPORTS"/broken-*.json >/dev/null 2>&1; then
    broken_dir=$CONFORM_BROKEN_REPORTS
else
    LAMBDA_STREAM_CONFORM_OUT="$broken_dir" cargo test -q -p lambda-stream-conformance --test broken_runtime \
        || { echo "conform-matrix: the negative controls failed" >&2; failed=1; }
fi

if cargo build -q -p peer-official 2>/dev/null; then
    conform official --bootstrap send-numbers=target/debug/official-send-numbers \
        --bootstrap conditional-streaming=target/debug/official-conditional-streaming
    # The test that pins the peer's known defects (ignored in plain `cargo test`: it needs this build).
    cargo test -q -p lambda-stream-conformance --test peers -- --ignored || failed=1
else
    echo "official: not run, because the peer-official package does not build in this workspace" >> "$notes"
fi

# cargo-lambda: a virtualenv under target/ keeps the pip install out of the system. Not a cheap
# column: --check leaves it as committed.
venv=target/conform-matrix/cargo-lambda-venv
if [ "$mode" = check ]; then
    :
elif [ ! -x "$venv/bin/cargo-lambda" ]; then
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
if [ "$mode" = check ]; then
    :
elif [ -x "$venv/bin/cargo-lambda" ]; then
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

python3 - "$out" "$broken_dir" ci/expected/MATRIX.md "$mode" <<'PY' || { echo "conform-matrix: the matrix writer failed" >&2; exit 1; }
import glob, json, os, re, sys
out, broken_dir, target, mode = sys.argv[1:5]
columns = ["ours", "official", "broken", "cargo-lambda", "cargo-lambda-official"]
cheap = ["ours", "official", "broken"]
what = {
    "ours": "lambda-stream examples + probe, our emulator",
    "official": "official `lambda_runtime` peer (crates/peers), our emulator",
    "broken": "the negative controls (crates/conformance/tests/broken_runtime.rs): the deliberately broken "
              "runtime (`fixture-bootstrap --break DEFECT`) or platform (a proxy with `PlatformDefect`s) that "
              "fails each rule; every rule must have one",
    "cargo-lambda": "lambda-stream examples + probe, `cargo-lambda lambda watch --only-lambda-apis` (function URL)",
    "cargo-lambda-official": "official peer, cargo-lambda (function URL)",
}
reports = {c: json.load(open(os.path.join(out, c + ".json"))) for c in columns if os.path.exists(os.path.join(out, c + ".json"))}
broken = {}
for path in sorted(glob.glob(os.path.join(broken_dir, "broken-*.json"))):
    defect = os.path.basename(path)[len("broken-"):-len(".json")]
    if defect != "none":
        broken[defect] = json.load(open(path))
notes = open(os.path.join(out, "notes")).read().strip().splitlines()
mark = {"pass": "pass", "partial": "partial", "fail": "**FAIL**", "expected-fail": "fail (expected)", "not-run": "not run"}
def short(ev):
    ev = ev.replace("|", "\\|").replace("\n", " ")
    return ev[:140] + "..." if len(ev) > 140 else ev
def cell(rule):
    v = rule["verdict"]
    evidence = rule.get("evidence") or [""]
    if v == "partial":
        evidence = [e for e in evidence if ": not checked: " in e] or evidence
    ev = short(evidence[0])
    return mark.get(v, v) + (": " + ev if ev and v != "pass" else "")
def broken_cell(rid):
    caught = []
    for defect, rep in broken.items():
        rule = next((r for r in rep["rules"] if r["id"] == rid), None)
        if rule and rule["verdict"] == "fail":
            caught.append((defect, rule))
    if not caught:
        return "**not caught**"
    names = ", ".join(f"`{d}`" for d, _ in caught)
    return f"fails under {names}: " + short((caught[0][1].get("evidence") or [""])[0])
if broken:
    reports["broken"] = None
ids = [r["id"] for r in reports["ours"]["rules"]]
shown = [c for c in columns if c in reports]
def row_cells(rid):
    cells = {}
    for c in shown:
        if c == "broken":
            cells[c] = broken_cell(rid)
        else:
            cells[c] = cell(next(r for r in reports[c]["rules"] if r["id"] == rid))
    return cells
fresh = {rid: row_cells(rid) for rid in ids}
def verdict_word(text):
    # What a cell says, without its evidence (which carries timings): "pass", "not run",
    # "fail (expected)", "fails under `a`, `b`".
    return re.split(r"(?<!\\): ", text.strip(), maxsplit=1)[0]

if mode == "check":
    committed_rows = {}
    header = None
    for line in open(target).read().splitlines():
        parts = [p.strip() for p in re.split(r"(?<!\\)\|", line)[1:-1]]
        if parts and parts[0] == "rule":
            header = parts[1:]
        elif header and parts and parts[0].startswith("`"):
            committed_rows[parts[0].strip("`")] = dict(zip(header, parts[1:]))
    problems = []
    for rid in ids:
        if rid not in committed_rows:
            problems.append(f"rule {rid} has no row")
            continue
        for c in cheap:
            if c not in shown:
                continue
            before = committed_rows[rid].get(c)
            if before is None:
                problems.append(f"column {c} is missing")
                continue
            if verdict_word(before) != verdict_word(fresh[rid][c]):
                problems.append(f"{rid} [{c}]: committed {verdict_word(before)!r}, now {verdict_word(fresh[rid][c])!r}")
    for rid in committed_rows:
        if rid not in ids:
            problems.append(f"rule {rid} is in MATRIX.md but not in the catalogue")
    if problems:
        print("conform-matrix: ci/expected/MATRIX.md is stale (run `just conform-matrix` and commit it):", file=sys.stderr)
        for p in sorted(set(problems)):
            print("  " + p, file=sys.stderr)
        sys.exit(2)
    print(f"conform-matrix: MATRIX.md matches a fresh run of {', '.join(c for c in cheap if c in shown)}")
    sys.exit(0)

lines = ["# Conformance matrix", "",
         "Generated by `just conform-matrix` (`ci/conform-matrix.sh`); do not edit. Rules are in",
         "`crates/conformance/rules.toml`, scenarios in `scenarios/`, expected deviations per column in",
         "`ci/expected/<column>.toml`. A cell says pass, partial (every check made held, some could not",
         "be made there), **FAIL** (unexpected), fail (expected: listed deviation) or not run, with the",
         "first piece of evidence. The `broken` column names the defects that fail the rule. CI runs",
         "`ci/conform-matrix.sh --check`, which fails when the cheap columns (ours, official, broken) no",
         "longer say what is committed here.", "", "Columns:"]
for c in columns:
    lines.append(f"- `{c}`: {what[c]}" + ("" if c in reports else " (not run)"))
for n in notes:
    lines.append(f"- {n}")
lines += ["", "| rule | " + " | ".join(shown) + " |", "| --- |" + " --- |" * len(shown)]
for rid in ids:
    lines.append("| " + " | ".join([f"`{rid}`"] + [fresh[rid][c] for c in shown]) + " |")
lines += ["", "## Totals", ""]
for c in shown:
    if c == "broken":
        uncaught = [rid for rid in ids if fresh[rid]["broken"] == "**not caught**"]
        lines.append(f"- `broken`: {len(broken)} defects; rules failed by at least one: {len(ids) - len(uncaught)} of {len(ids)}")
        continue
    rep = reports[c]
    counts = {}
    for r in rep["rules"]:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    lines.append(f"- `{c}`: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) +
                 f"; stale deviations {len(rep['stale'])}")
open(target, "w").write("\n".join(lines) + "\n")
PY
if [ "$mode" = write ]; then
    echo "wrote ci/expected/MATRIX.md"
    # The same matrix as one HTML page, evidence on hover, kept in target/ with the runs' JSON.
    mkdir -p target/conform-matrix
    cp "$out"/*.json target/conform-matrix/ 2>/dev/null
    columns=()
    for c in ours official cargo-lambda cargo-lambda-official; do
        [ -f "$out/$c.json" ] && columns+=("$out/$c.json")
    done
    if "$bin" report "${columns[@]}" --output target/conform-matrix.html; then
        echo "wrote target/conform-matrix.html"
    else
        echo "conform-matrix: the HTML matrix writer failed" >&2
        failed=1
    fi
fi
exit $failed
