# Thin aliases over cargo and the standalone scripts in ci/. `just --list` shows them.

# The workspace tests, and the container tests when a Docker engine answers.
test-local:
    bash ci/test-local.sh

# Live AWS scenarios; does nothing (and says why) unless LAMBDA_STREAM_AWS=1 and credentials are set.
test-aws:
    bash ci/test-aws.sh

# cargo fmt --check and clippy -D warnings, as CI runs them.
lint:
    bash ci/lint.sh

# Benchmarks; `just bench` runs the full set, `just bench short` the quick CI version.
bench mode="full":
    bash ci/bench.sh {{mode}}

# Everything CI runs.
ci:
    bash .ci/run
