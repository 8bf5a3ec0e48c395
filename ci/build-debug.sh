#!/usr/bin/env bash
# The debug binaries the CI scripts run (the CLI, the examples, the fixtures, the peers), built with
# the package selection and dependency features of the workspace test build (`cargo test
# --workspace`), so after it this is a no-op. cargo unifies dependency features over the selected
# packages and, when test targets are among them, over their dev-dependencies too; a
# `cargo build -p ...` of a few binaries resolves other features and recompiles tokio, hyper and
# everything above them (about 3 minutes on two cores), then overwrites the test build's binaries
# in target/debug. Run alone, it also builds the test targets: slower once, shared afterwards.
# Extra arguments go to cargo (e.g. -q).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --locked --bins --tests "$@"
