#!/usr/bin/env bash
# Regenerates ci/expected/MATRIX.md: every conformance rule against every runtime x emulator pair,
# with the evidence per cell. Runtimes (the function side):
#
#   ours      lambda-stream's examples (+ the probe)
#   official  the official lambda_runtime peer (crates/peers/official; no probe)
#   node      AWS's Node.js runtime interface client, npm aws-lambda-ric built by ci/node-ric.sh,
#             serving crates/peers/node/handlers.mjs (+ as much of the probe as Node expresses)
#   lwa       the AWS Lambda Web Adapter, crates.io lambda_web_adapter installed by ci/lwa.sh, in
#             front of crates/peers/lwa/app.mjs (Node's http module; + the probe's HTTP-expressible
#             parts). Its install takes about 2 minutes, so --check leaves it as committed.
#   broken    the negative controls (crates/conformance/tests/broken_runtime.rs): under our
#             emulator, one run per defect of the deliberately broken runtime
#             (`fixture-bootstrap --break DEFECT`) or platform (a proxy with a `PlatformDefect`);
#             the column names, per rule, the defects that fail it (every rule must have one).
#             Under cargo-lambda: the broken fixture with its writer/trailer defects at once.
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
# A column that cannot run here is written as "not run" with the reason, never as pass. A failure
# of the matrix writer itself fails the script.
#
#   ci/conform-matrix.sh --check   runs the cheap columns (ours, official, broken) and fails when
#                                  their verdicts differ from the committed MATRIX.md (a stale
#                                  matrix), or when a run has unexpected results. It writes nothing.
#                                  CI runs this. CONFORM_BROKEN_REPORTS=DIR reuses the broken
#                                  reports a test run already wrote there (LAMBDA_STREAM_CONFORM_OUT);
#                                  CONFORM_OURS_REPORT=FILE the `ours` run ci/conform-report.sh made
#                                  (same bootstraps, same expected file).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=write
if [ "${1:-}" = "--check" ]; then
    mode=check
fi
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

bash ci/build-debug.sh -q || exit 1
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
# Under cargo-lambda, the broken fixture carries these runtime defects at once.
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
        lwa/*) echo "$root/crates/peers/lwa/bootstrap $handler" ;;
        broken/*) echo "$root/target/debug/fixture-bootstrap --handler $handler --break $all_defects" ;;
    esac
}
handlers="send-numbers conditional-streaming probe"
runtimes=()
runtimes+=(ours)
# Built with the workspace above (a workspace member: when it does not build, neither does the rest).
if [ -x target/debug/official-send-numbers ] && [ -x target/debug/official-conditional-streaming ]; then
    runtimes+=(official)
    # The test that pins the peer's known defects (ignored in plain `cargo test`: it needs this build).
    cargo test -q --workspace --test peers -- --ignored || failed=1
else
    for c in official cargo-lambda-official cargo-lambda-iwrs-official; do
        not_run "$c" "the peer-official binaries are not in target/debug (the workspace build made none)"
    done
fi
if [ "$mode" = check ]; then
    : # not a cheap column: --check leaves it as committed
elif bash ci/node-ric.sh > "$out/node-ric.log" 2>&1; then
    runtimes+=(node)
else
    why=$(tail -1 "$out/node-ric.log")
    for c in node cargo-lambda-node cargo-lambda-iwrs-node; do
        not_run "$c" "AWS's Node runtime client could not be built here (bash ci/node-ric.sh: $why)"
    done
fi
if [ "$mode" = check ]; then
    : # not a cheap column: --check leaves it as committed
elif ! command -v node >/dev/null 2>&1; then
    for c in lwa cargo-lambda-lwa cargo-lambda-iwrs-lwa; do
        not_run "$c" "no node on PATH for the web app behind the adapter (crates/peers/lwa/app.mjs)"
    done
elif bash ci/lwa.sh > "$out/lwa.log" 2>&1; then
    runtimes+=(lwa)
else
    why=$(tail -1 "$out/lwa.log")
    for c in lwa cargo-lambda-lwa cargo-lambda-iwrs-lwa; do
        not_run "$c" "the AWS Lambda Web Adapter could not be built here (bash ci/lwa.sh: $why)"
    done
fi
runtimes+=(broken)

# ---- our emulator -----------------------------------------------------------------------------
# The negative controls: the test writes one JSON report per defect.
broken_dir="$out/broken"
if [ -n "${CONFORM_BROKEN_REPORTS:-}" ] && ls "$CONFORM_BROKEN_REPORTS"/broken-*.json >/dev/null 2>&1; then
    broken_dir=$CONFORM_BROKEN_REPORTS
else
    echo "==> broken (the negative controls)"
    LAMBDA_STREAM_CONFORM_OUT="$broken_dir" cargo test -q --workspace --test broken_runtime \
        > "$out/broken.log" 2>&1 \
        || { echo "conform-matrix: the negative controls failed:" >&2; tail -40 "$out/broken.log" >&2; failed=1; }
fi
for runtime in "${runtimes[@]}"; do
    [ "$runtime" = broken ] && continue # its column is the negative controls above
    if [ "$runtime" = ours ] && [ -n "${CONFORM_OURS_REPORT:-}" ] && [ -f "$CONFORM_OURS_REPORT" ]; then
        echo "==> ours (the report of ci/conform-report.sh, $CONFORM_OURS_REPORT)"
        cp "$CONFORM_OURS_REPORT" "$out/ours.json"
        continue
    fi
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
if [ "$mode" = check ]; then
    : # not a cheap column: --check leaves it as committed
elif [ ! -x "$venv/bin/cargo-lambda" ]; then
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
if [ "$mode" = check ]; then
    :
elif [ -x "$venv/bin/cargo-lambda" ]; then
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
    for runtime in ours official node lwa broken; do
        suffix=$([ "$runtime" = ours ] || echo "-$runtime")
        not_run "cargo-lambda$suffix" "\`pip install cargo-lambda\` did not give a cargo-lambda binary here"
        not_run "cargo-lambda-iwrs$suffix" "\`pip install cargo-lambda\` did not give a cargo-lambda binary here"
    done
fi

# ---- AWS and LocalStack: only from a real run's report ------------------------------------------
if [ -f target/conform-aws.json ]; then
    cp target/conform-aws.json "$out/aws.json"
else
    not_run aws "needs LAMBDA_STREAM_AWS=1 and AWS credentials (\`just test-aws\` writes target/conform-aws.json)"
fi
if [ -f target/conform-localstack.json ]; then
    cp target/conform-localstack.json "$out/localstack.json"
else
    not_run localstack "needs a Docker engine (the container_ tests of crates/conformance/tests/localstack.rs)"
fi

python3 - "$out" "$broken_dir" ci/expected/MATRIX.md "$mode" <<'PY'

import glob, json, os, re, sys
out, broken_dir, target, mode = sys.argv[1:5]
runtimes = [
    ("ours", "lambda-stream's examples + probe"),
    ("official", "official `lambda_runtime` 1.5.0 peer (crates/peers/official; no probe)"),
    ("node", "AWS's Node.js runtime interface client, npm `aws-lambda-ric` 4.0.2 (crates/peers/node, built by `ci/node-ric.sh`)"),
    ("lwa", "the AWS Lambda Web Adapter, crates.io `lambda_web_adapter` 0.9.1 (installed by `ci/lwa.sh`), in front of "
            "a Node `http` app (crates/peers/lwa; the probe's HTTP-expressible parts)"),
    ("broken", "the negative controls: under our emulator one run per defect of the broken runtime "
               "(`fixture-bootstrap --break DEFECT`) or platform (a proxy with a `PlatformDefect`), "
               "crates/conformance/tests/broken_runtime.rs; under cargo-lambda the fixture with its "
               "writer and trailer defects at once"),
]
emulators = [
    ("our emulator", lambda r: r),
    ("cargo-lambda URL", lambda r: "cargo-lambda" + ("" if r == "ours" else "-" + r)),
    ("cargo-lambda IWRS", lambda r: "cargo-lambda-iwrs" + ("" if r == "ours" else "-" + r)),
]
columns = [e[1](r) for r, _ in runtimes for e in emulators] + ["aws", "localstack"]
cheap = ["ours", "official", "broken"]
reports = {c: json.load(open(os.path.join(out, c + ".json"))) for c in columns if os.path.exists(os.path.join(out, c + ".json"))}
# The negative controls: one report per defect ("none" is the fixture without defects).
broken = {}
for path in sorted(glob.glob(os.path.join(broken_dir, "broken-*.json"))):
    defect = os.path.basename(path)[len("broken-"):-len(".json")]
    if defect != "none":
        broken[defect] = json.load(open(path))
notes = {}
for line in open(os.path.join(out, "notes")).read().splitlines():
    column, reason = line.split("\t", 1)
    notes[column] = reason
if not broken:
    notes.setdefault("broken", "the negative controls wrote no report")
mark = {"pass": "pass", "partial": "partial", "fail": "**FAIL**", "expected-fail": "fail (expected)", "not-run": "not run"}
short = {"pass": "pass", "partial": "partial", "fail": "**FAIL**", "expected-fail": "xfail", "not-run": "–"}
if "ours" not in reports:
    sys.exit("conform-matrix: the `ours` column has no report")
ids = [r["id"] for r in reports["ours"]["rules"]]
def caught_by(rid):
    return [(d, r) for d, rep in broken.items() for r in rep["rules"] if r["id"] == rid and r["verdict"] == "fail"]
def cell(c, rid):
    if c == "broken":
        caught = caught_by(rid)
        return "fails under " + ", ".join(f"`{d}`" for d, _ in caught) if caught else "**not caught**"
    rule = next(r for r in reports[c]["rules"] if r["id"] == rid)
    return short.get(rule["verdict"], rule["verdict"])
ran = [c for c in columns if c in reports or (c == "broken" and broken)]
fresh = {rid: {c: cell(c, rid) for c in ran} for rid in ids}

if mode == "check":
    committed, header = {}, None
    for line in open(target).read().splitlines():
        parts = [p.strip() for p in re.split(r"(?<!\\)\|", line)[1:-1]]
        if parts and parts[0] == "rule":
            header = [p.strip("`") for p in parts[1:]]
        elif header and parts and parts[0].startswith("`"):
            committed[parts[0].strip("`")] = dict(zip(header, parts[1:]))
    problems = []
    for rid in ids:
        if rid not in committed:
            problems.append(f"rule {rid} has no row")
            continue
        for c in cheap:
            if c not in ran:
                continue
            before = committed[rid].get(c)
            if before is None:
                problems.append(f"column {c} is missing")
            elif before != fresh[rid][c]:
                problems.append(f"{rid} [{c}]: committed {before!r}, now {fresh[rid][c]!r}")
    problems += [f"rule {rid} is in MATRIX.md but not in the catalogue" for rid in committed if rid not in ids]
    if problems:
        print("conform-matrix: ci/expected/MATRIX.md is stale (run `just conform-matrix` and commit it):", file=sys.stderr)
        for p in sorted(set(problems)):
            print("  " + p, file=sys.stderr)
        sys.exit(2)
    print(f"conform-matrix: MATRIX.md matches a fresh run of {', '.join(c for c in cheap if c in ran)}")
    sys.exit(0)

def totals(rep):
    counts = {}
    for r in rep["rules"]:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts
def summary(c):
    if c == "broken" and broken:
        uncaught = [rid for rid in ids if not caught_by(rid)]
        return f"`broken`: {len(broken)} defects; rules failed by at least one: {len(ids) - len(uncaught)} of {len(ids)}"
    if c not in reports:
        return "not run: " + notes.get(c, "no report")
    t = totals(reports[c])
    return (f"`{c}`: {t.get('pass', 0)} pass, {t.get('partial', 0)} partial, {t.get('expected-fail', 0)} xfail, "
            f"{t.get('fail', 0)} FAIL, {t.get('not-run', 0)} not run")
def esc(text, limit=160):
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."
lines = ["# Conformance matrix", "",
         "Generated by `just conform-matrix` (`ci/conform-matrix.sh`); do not edit. Rules are in",
         "`crates/conformance/rules.toml`, scenarios in `scenarios/`, expected deviations and scenarios",
         "a runtime cannot express per column in `ci/expected/<column>.toml`. A cell says pass, partial",
         "(every check made held, some could not be made there), **FAIL** (unexpected), xfail (an",
         "expected deviation, with its reason below) or – (not run: the column cannot run that",
         "scenario; the reason is below). Not run and partial are never counted as pass. The `broken`",
         "column names the defects that fail each rule: every rule must have one (a rule nothing fails",
         "would be a check that cannot fail). CI runs `ci/conform-matrix.sh --check`, which fails when",
         "the cheap columns (ours, official, broken) no longer say what is committed here.",
         "", "## Runtimes × emulators", "",
         "| runtime | " + " | ".join(e[0] for e in emulators) + " |",
         "| --- |" + " --- |" * len(emulators)]
for r, what in runtimes:
    lines.append(f"| **{r}**: {what} | " + " | ".join(summary(e[1](r)) for e in emulators) + " |")
lines += ["", "Live services:", ""]
for c, what in [("aws", "AWS Lambda, the conformance stack (`just test-aws`, `ci/expected/aws.toml`)"),
                ("localstack", "LocalStack through testcontainers (`ci/expected/localstack.toml`)")]:
    lines.append(f"- `{c}`, {what}: " + summary(c))
lines += ["", "## Rules", "", "| rule | " + " | ".join(f"`{c}`" for c in ran) + " |",
          "| --- |" + " --- |" * len(ran)]
groups = {"runtime": "Function side (Runtime API)", "runtime-api": "Runtime API", "url": "Function URL",
          "iwrs": "InvokeWithResponseStream", "invoke": "Buffered Invoke", "limits": "Limits",
          "writer": "Writer rules", "apigw": "API Gateway REST API (response streaming)", "local": "Local server"}
group = None
for rid in ids:
    prefix = rid.split(".")[0]
    if prefix != group:
        group = prefix
        lines.append(f"| **{groups.get(prefix, prefix)}** |" + " |" * len(ran))
    lines.append("| " + " | ".join([f"`{rid}`"] + [fresh[rid][c] for c in ran]) + " |")
lines += ["", "## Why each cell that is not a pass", ""]
for c in ran:
    lines += [f"### `{c}`", ""]
    if c == "broken":
        for rid in ids:
            caught = caught_by(rid)
            if not caught:
                lines.append(f"- `{rid}` **not caught**: no control fails it")
                continue
            lines.append(f"- `{rid}` fails under " + "; ".join(
                f"`{d}` ({esc((r.get('evidence') or [''])[0], 120)})" for d, r in caught))
        lines.append("")
        continue
    rep = reports[c]
    cells = [r for r in rep["rules"] if r["verdict"] != "pass"]
    if not cells:
        lines.append("Every rule passes.")
    for r in cells:
        evidence = r.get("evidence") or [""]
        if r["verdict"] == "partial":
            evidence = [e for e in evidence if ": not checked: " in e] or evidence
        reason = (r.get("deviation") or {}).get("reason")
        line = f"- `{r['id']}` {mark[r['verdict']]}: {esc(evidence[0])}"
        if reason:
            line += f" — expected because: {esc(reason, 600)}"
        lines.append(line)
    if rep["stale"]:
        lines.append(f"- stale deviations: {len(rep['stale'])}")
    lines.append("")
open(target, "w").write("\n".join(lines).rstrip("\n") + "\n")
PY
rc=$?
# 2: --check found the committed matrix stale (it said what differs); anything else: a failure.
if [ $rc = 2 ]; then
    exit 1
elif [ $rc != 0 ]; then
    echo "conform-matrix: the matrix writer failed (exit $rc)" >&2
    exit 1
fi
[ "$mode" = check ] && exit $failed
echo "wrote ci/expected/MATRIX.md"
# The same matrix as one HTML page, evidence on hover, kept in target/ with the runs' JSON.
mkdir -p target/conform-matrix
cp "$out"/*.json target/conform-matrix/ 2>/dev/null
reports=()
for f in "$out"/*.json; do
    [ -f "$f" ] && reports+=("$f")
done
if "$bin" report "${reports[@]}" --output target/conform-matrix.html; then
    echo "wrote target/conform-matrix.html"
else
    echo "conform-matrix: the HTML matrix writer failed" >&2
    failed=1
fi
exit $failed
