#!/usr/bin/env bash
# Regenerates ci/expected/MATRIX.md: every conformance rule against every runtime x emulator pair,
# with the evidence per cell. Runtimes (the function side):
#
#   ours      lambda-stream's examples (+ the probe)
#   official  the official lambda_runtime peer (crates/peers/official; no probe)
#   node      AWS's Node.js runtime interface client, npm aws-lambda-ric built by ci/node-ric.sh,
#             serving crates/peers/node/handlers.mjs (+ as much of the probe as Node expresses)
#   broken    the deliberately broken fixture (fixture-bootstrap --break with every defect): the
#             suite must catch each defect
#
# Emulators (the service side): our emulator (the local target; column = the runtime's name),
# cargo-lambda's function URLs (`cargo-lambda-<runtime>`, `cargo-lambda` for ours) and
# cargo-lambda's InvokeWithResponseStream (`cargo-lambda-iwrs-<runtime>`), from
# `cargo-lambda lambda watch --only-lambda-apis` (the PyPI package ships the binary). The AWS and
# LocalStack columns come from `just test-aws` / the container tests and say "not run here" until
# such a run left its report in target/.
#
# The rows come in groups, one per front end (function side, function URL, InvokeWithResponseStream,
# buffered Invoke, limits, writer rules, API Gateway REST API, local server): the prefix of the
# rule's id. The API Gateway group runs on our emulator's REST API listener (the `api-gateway`
# request path); cargo-lambda has no API Gateway front end, so that group is "not run" there.
#
# Each run uses ci/expected/<column>.toml; a run with unexpected failures or stale deviations
# makes this script exit non-zero after writing the matrix, so the expected files stay honest.
# A column that cannot run here is written as "not run" with the reason, never as pass.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$(mktemp -d)
# start_cargo_lambda runs inside $(...), a subshell that cannot hand variables back: the pids of
# what it starts go into "$out/pids", and stop_cargo_lambda/the trap stop them.
stop_started() {
    for pid in $(cat "$out/pids" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    : > "$out/pids"
}
cleanup() {
    stop_started
    rm -rf "$out"
}
trap cleanup EXIT

cargo build -q -p lambda-stream-cli -p example-send-numbers -p example-conditional-streaming \
    -p lambda-stream-conformance -p lambda-stream-fixtures --bins || exit 1
bin=target/debug/lambda-stream
failed=0
notes="$out/notes"
: > "$notes"
not_run() { # column, reason
    printf '%s\t%s\n' "$1" "$2" >> "$notes"
}

conform() { # column, then conform arguments
    local column=$1
    shift
    echo "==> $column"
    "$bin" conform --label "$column" --expected "ci/expected/$column.toml" --format json \
        --output "$out/$column.json" "$@" > "$out/$column.log" 2>&1 \
        || { echo "conform-matrix: $column has unexpected results:" >&2; grep -m 20 'FAIL\|STALE\|Error' "$out/$column.log" >&2; failed=1; }
}

# ---- the runtimes: one bootstrap command line per handler ---------------------------------------
all_defects="error-in-body,trailer-not-base64,one-chunk,no-trailer-declared,finish-twice-wrong-error,write-after-finish-accepted,headers-after-body-accepted,return-without-finish-crashes,empty-body-drops-status,event-reencoded,finish-at-return"
runtime_cmd() { # runtime handler -> the command, or nothing when that runtime has no such handler
    local runtime=$1 handler=$2
    case "$runtime/$handler" in
        ours/probe) echo "$root/target/debug/conformance-bootstrap probe" ;;
        ours/*) echo "$root/target/debug/$handler" ;;
        official/probe) ;;
        official/*) echo "$root/target/debug/official-$handler" ;;
        node/send-numbers) echo "$root/crates/peers/node/bootstrap handlers.sendNumbers" ;;
        node/conditional-streaming) echo "$root/crates/peers/node/bootstrap handlers.conditionalStreaming" ;;
        node/probe) echo "$root/crates/peers/node/bootstrap handlers.probe" ;;
        broken/*) echo "$root/target/debug/fixture-bootstrap --handler $handler --break $all_defects" ;;
    esac
}
handlers="send-numbers conditional-streaming probe"
runtimes=()
runtimes+=(ours)
if cargo build -q -p peer-official 2>/dev/null; then
    runtimes+=(official)
    # The test that pins the peer's known defects (ignored in plain `cargo test`: it needs this build).
    cargo test -q -p lambda-stream-conformance --test peers -- --ignored || failed=1
else
    for c in official cargo-lambda-official cargo-lambda-iwrs-official; do
        not_run "$c" "the peer-official package does not build in this workspace"
    done
fi
if bash ci/node-ric.sh > "$out/node-ric.log" 2>&1; then
    runtimes+=(node)
else
    why=$(tail -1 "$out/node-ric.log")
    for c in node cargo-lambda-node cargo-lambda-iwrs-node; do
        not_run "$c" "AWS's Node runtime client could not be built here (bash ci/node-ric.sh: $why)"
    done
fi
runtimes+=(broken)

# ---- our emulator -----------------------------------------------------------------------------
for runtime in "${runtimes[@]}"; do
    args=()
    for handler in $handlers; do
        cmd=$(runtime_cmd "$runtime" "$handler")
        [ -n "$cmd" ] && args+=(--bootstrap "$handler=$cmd")
    done
    conform "$runtime" "${args[@]}"
done

# ---- cargo-lambda -----------------------------------------------------------------------------
# A virtualenv under target/ keeps the pip install out of the system.
venv=target/conform-matrix/cargo-lambda-venv
if [ ! -x "$venv/bin/cargo-lambda" ]; then
    python3 -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/pip" install -q cargo-lambda >/dev/null 2>&1
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# One cargo-lambda per handler: it serves a single function, `_`, per process.
start_cargo_lambda() { # handler, bootstrap command words... ; prints HANDLER=http://127.0.0.1:PORT
    local handler=$1
    shift
    local port dir
    port=$(free_port)
    dir="$out/cl-$handler-$port"
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
    # shellcheck disable=SC2068 # the command's words, split on purpose
    AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 \
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 $@ > "$dir/function.log" 2>&1 &
    echo $! >> "$out/pids"
    echo "$handler=http://127.0.0.1:$port"
}
# AWS's Node client takes AWS_LAMBDA_RUNTIME_API only as HOST:PORT (parseHostPort in
# aws-lambda-ric 4.0.2 throws "Invalid hostnamePort" on anything else), and cargo-lambda serves its
# Runtime API only under the /.rt prefix (at the root, /next never hands out an invocation).
node_cl="AWS's Node client accepts AWS_LAMBDA_RUNTIME_API only as HOST:PORT, and cargo-lambda serves the Runtime API only under /.rt"
if [ -x "$venv/bin/cargo-lambda" ]; then
    for runtime in "${runtimes[@]}"; do
        suffix=$([ "$runtime" = ours ] || echo "-$runtime")
        if [ "$runtime" = node ]; then
            not_run cargo-lambda-node "$node_cl"
            not_run cargo-lambda-iwrs-node "$node_cl"
            continue
        fi
        # Function URLs: a fresh cargo-lambda per handler and column.
        urls=()
        for handler in $handlers; do
            cmd=$(runtime_cmd "$runtime" "$handler")
            [ -n "$cmd" ] && urls+=(--url "$(start_cargo_lambda "$handler" $cmd)/lambda-url/_")
        done
        conform "cargo-lambda$suffix" --target function-url "${urls[@]}"
        stop_started
        # InvokeWithResponseStream, under cargo-lambda's path (/2015-03-31/...): function `_`.
        endpoints=()
        for handler in $handlers; do
            cmd=$(runtime_cmd "$runtime" "$handler")
            [ -n "$cmd" ] && endpoints+=(--endpoint "$(start_cargo_lambda "$handler" $cmd)" --function-name "$handler=_")
        done
        conform "cargo-lambda-iwrs$suffix" --target iwrs --iwrs-api-version 2015-03-31 "${endpoints[@]}"
        stop_started
    done
else
    for runtime in ours official node broken; do
        suffix=$([ "$runtime" = ours ] || echo "-$runtime")
        not_run "cargo-lambda$suffix" "\`pip install cargo-lambda\` did not give a cargo-lambda binary here"
        not_run "cargo-lambda-iwrs$suffix" "\`pip install cargo-lambda\` did not give a cargo-lambda binary here"
    done
fi

# ---- AWS and LocalStack: only from a real run's report ------------------------------------------
if [ -f target/conform-aws.json ]; then
    cp target/conform-aws.json "$out/aws.json"
else
    not_run aws "not run here: needs LAMBDA_STREAM_AWS=1 and AWS credentials (\`just test-aws\` writes target/conform-aws.json)"
fi
if [ -f target/conform-localstack.json ]; then
    cp target/conform-localstack.json "$out/localstack.json"
else
    not_run localstack "not run here: needs a Docker engine (the container_ tests of crates/conformance/tests/localstack.rs)"
fi

python3 - "$out" ci/expected/MATRIX.md <<'PY'
import json, os, sys
out, target = sys.argv[1], sys.argv[2]
runtimes = [
    ("ours", "lambda-stream's examples + probe"),
    ("official", "official `lambda_runtime` 1.5.0 peer (crates/peers/official; no probe)"),
    ("node", "AWS's Node.js runtime interface client, npm `aws-lambda-ric` 4.0.2 (crates/peers/node, built by `ci/node-ric.sh`)"),
    ("broken", "the broken fixture, `fixture-bootstrap --break` with every defect"),
]
emulators = [
    ("our emulator", lambda r: r),
    ("cargo-lambda URL", lambda r: "cargo-lambda" + ("" if r == "ours" else "-" + r)),
    ("cargo-lambda IWRS", lambda r: "cargo-lambda-iwrs" + ("" if r == "ours" else "-" + r)),
]
columns = [e[1](r) for r, _ in runtimes for e in emulators] + ["aws", "localstack"]
reports = {c: json.load(open(os.path.join(out, c + ".json"))) for c in columns if os.path.exists(os.path.join(out, c + ".json"))}
notes = {}
for line in open(os.path.join(out, "notes")).read().splitlines():
    column, reason = line.split("\t", 1)
    notes[column] = reason
mark = {"pass": "pass", "fail": "**FAIL**", "expected-fail": "fail (expected)", "not-run": "not run"}
short = {"pass": "pass", "fail": "**FAIL**", "expected-fail": "xfail", "not-run": "–"}
def totals(rep):
    counts = {}
    for r in rep["rules"]:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts
def summary(c):
    if c not in reports:
        return "not run: " + notes.get(c, "no report")
    t = totals(reports[c])
    return (f"`{c}`: {t.get('pass', 0)} pass, {t.get('expected-fail', 0)} xfail, "
            f"{t.get('fail', 0)} FAIL, {t.get('not-run', 0)} not run")
def esc(text, limit=160):
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."
lines = ["# Conformance matrix", "",
         "Generated by `just conform-matrix` (`ci/conform-matrix.sh`); do not edit. Rules are in",
         "`crates/conformance/rules.toml`, scenarios in `scenarios/`, expected deviations and scenarios",
         "a runtime cannot express per column in `ci/expected/<column>.toml`. A cell says pass,",
         "**FAIL** (unexpected), xfail (an expected deviation, with its reason below) or – (not run:",
         "the column cannot run that scenario; the reason is below). Not run is never counted as pass.",
         "", "## Runtimes × emulators", "",
         "| runtime | " + " | ".join(e[0] for e in emulators) + " |",
         "| --- |" + " --- |" * len(emulators)]
for r, what in runtimes:
    lines.append(f"| **{r}**: {what} | " + " | ".join(summary(e[1](r)) for e in emulators) + " |")
lines += ["", "Live services:", ""]
for c, what in [("aws", "AWS Lambda, the conformance stack (`just test-aws`, `ci/expected/aws.toml`)"),
                ("localstack", "LocalStack through testcontainers (`ci/expected/localstack.toml`)")]:
    lines.append(f"- `{c}`, {what}: " + summary(c))
ran = [c for c in columns if c in reports]
lines += ["", "## Rules", "", "| rule | " + " | ".join(f"`{c}`" for c in ran) + " |",
          "| --- |" + " --- |" * len(ran)]
ids = [r["id"] for r in reports["ours"]["rules"]]
groups = {"runtime": "Function side (Runtime API)", "url": "Function URL", "iwrs": "InvokeWithResponseStream",
          "invoke": "Buffered Invoke", "limits": "Limits", "writer": "Writer rules",
          "apigw": "API Gateway REST API (response streaming)", "local": "Local server"}
group = None
for rid in ids:
    prefix = rid.split(".")[0]
    if prefix != group:
        group = prefix
        lines.append(f"| **{groups.get(prefix, prefix)}** |" + " |" * len(ran))
    row = [f"`{rid}`"]
    for c in ran:
        rule = next(r for r in reports[c]["rules"] if r["id"] == rid)
        row.append(short.get(rule["verdict"], rule["verdict"]))
    lines.append("| " + " | ".join(row) + " |")
lines += ["", "## Why each cell that is not a pass", ""]
for c in ran:
    rep = reports[c]
    lines += [f"### `{c}`", ""]
    cells = [r for r in rep["rules"] if r["verdict"] != "pass"]
    if not cells:
        lines.append("Every rule passes.")
    for r in cells:
        evidence = esc((r.get("evidence") or [""])[0])
        reason = (r.get("deviation") or {}).get("reason")
        line = f"- `{r['id']}` {mark[r['verdict']]}: {evidence}"
        if reason:
            line += f" — expected because: {esc(reason, 600)}"
        lines.append(line)
    if rep["stale"]:
        lines.append(f"- stale deviations: {len(rep['stale'])}")
    lines.append("")
open(target, "w").write("\n".join(lines).rstrip("\n") + "\n")
PY
echo "wrote ci/expected/MATRIX.md"
# The same matrix as one HTML page, evidence on hover, kept in target/ with the runs' JSON.
mkdir -p target/conform-matrix
cp "$out"/*.json target/conform-matrix/ 2>/dev/null
reports=()
for f in "$out"/*.json; do
    [ -f "$f" ] && reports+=("$f")
done
"$bin" report "${reports[@]}" --output target/conform-matrix.html && echo "wrote target/conform-matrix.html"
exit $failed
