# Thin aliases over cargo and the standalone scripts in ci/. `just --list` shows them.

# The workspace tests, and the container tests when a Docker engine answers.
test-local:
    bash ci/test-local.sh

# Live AWS: deploy both examples and the conformance stack, invoke (signed URL + IWRS), TTFB cold/warm
# per path, every remote scenario with ci/expected/aws.toml (JUnit), always tear down.
# Does nothing (and says why) unless LAMBDA_STREAM_AWS=1 and credentials are set.
test-aws:
    bash ci/test-aws.sh

# Offline AWS checks: cfn-lint, zigbuild packaging, deploy/teardown against moto (pip-installs them).
aws-offline:
    bash ci/aws-offline.sh

# cargo fmt --check and clippy -D warnings, as CI runs them.
lint:
    bash ci/lint.sh

# Benchmarks and target/bench-report.md (+ .html with plots); `just bench` runs the full set, `just bench short` the quick CI version.
bench mode="full":
    bash ci/bench.sh {{mode}}

# The same run, then ci/bench-baseline.json rewritten from it (the report of later runs flags ratios worse by > 25%); commit it when the change is meant.
bench-baseline mode="short":
    bash ci/bench.sh {{mode}} --update-baseline

# Everything CI runs.
ci:
    bash .ci/run

# The conformance suite against our runtime on the local emulator (pass options after, e.g. `just conform --format json`).
conform *args:
    cargo run -q -p lambda-stream-cli -- conform {{args}}

# Regenerates ci/expected/MATRIX.md: every rule against 4 runtimes (ours, official, AWS's Node client, the broken fixture) x 3 emulators (ours, cargo-lambda URL and IWRS); the broken column holds the negative controls.
conform-matrix:
    bash ci/conform-matrix.sh

# Fails when MATRIX.md's cheap columns (ours, official, broken) no longer match a fresh run, as CI checks.
conform-matrix-check:
    bash ci/conform-matrix.sh --check

# AWS's Node runtime client (npm aws-lambda-ric, built by ci/node-ric.sh into target/node-ric) under our emulator.
conform-node:
    bash ci/conform-node.sh

# The AWS Lambda Web Adapter (crates.io lambda_web_adapter, installed by ci/lwa.sh into target/lwa, about 2 minutes) in front of crates/peers/lwa/app.mjs under our emulator.
conform-lwa:
    bash ci/conform-lwa.sh

# Mutation testing of one package against its own tests (slow: minutes to hours), or `just mutants --in-diff BASE`. See docs/mutants.md.
mutants *args="lambda-stream-protocol":
    bash ci/mutants.sh {{args}}

# The conformance run CI keeps: target/conform-report.html (a timeline per scenario), .json, and a matrix page.
conform-report:
    bash ci/conform-report.sh

# Browser tests in headless Chromium (installs Debian's chromium and chromium-driver when missing); screenshots in target/browser/.
browser:
    bash ci/browser.sh

# The emulator's memory under long abuse (disconnects, 1 MiB POSTs, 200 MB streams); `just soak short` for a quick run.
soak mode="full":
    bash ci/soak.sh {{mode}}
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer, stable toolchain): each target for MINUTES; findings fail it. See docs/fuzzing.md.
fuzz minutes="10":
    bash ci/fuzz.sh {{minutes}}
