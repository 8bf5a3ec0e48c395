#!/usr/bin/env bash
# Mutation testing with cargo-mutants: which changes to a package's code its own tests catch
# (docs/mutants.md keeps the scores and the mutants left, with why).
#
#   bash ci/mutants.sh PACKAGE [cargo-mutants options]   every mutant of one package, against that
#                                                        package's own tests (-p PACKAGE); e.g.
#                                                        bash ci/mutants.sh lambda-stream-emulator --file 'crates/emulator/src/http.rs'
#   bash ci/mutants.sh --in-diff BASE                    only the mutants in lines changed since the
#                                                        git revision BASE (a pull request's base),
#                                                        against the workspace tests of the packages
#                                                        those lines belong to
#
# Installs cargo-mutants (the version docs/mutants.md was measured with) when it is missing. Results
# go to target/mutants/ (mutants.out/: outcomes.json, caught.txt, missed.txt, ...). Slow: every
# mutant is a build and a test run, so a whole package takes from minutes (protocol) to hours
# (emulator) on 2 cores; CI runs it nightly (ci/workflows/mutants.yml), not on every push.
set -euo pipefail
cd "$(dirname "$0")/.."
version=27.1.0
if ! cargo mutants --version 2>/dev/null | grep -q "$version"; then
    cargo install cargo-mutants --locked --version "$version"
fi
mkdir -p target/mutants
# The emulator's TLS listener (src/tls.rs and the code behind `cfg(feature = "tls")`) is compiled
# only with its `tls` feature, which the CLI always turns on: without it those mutants would build
# unchanged code and count as missed.
emulator_features=(--features lambda-stream-emulator/tls)
case "${1:-}" in
  "" | -h | --help)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
  --in-diff)
    base=${2:?usage: bash ci/mutants.sh --in-diff BASE}
    diff=target/mutants/changes.diff
    git diff "$base" -- 'crates/*.rs' 'crates/**/*.rs' > "$diff"
    if [ ! -s "$diff" ]; then
        echo "mutants: no Rust source changed since $base"
        exit 0
    fi
    # The packages whose sources changed, each tested by its own tests.
    packages=$(git diff --name-only "$base" -- 'crates/*' | sed -n 's#^\(crates/[^/]*\(/[^/]*\)\{0,1\}\)/src/.*#\1#p' | sort -u |
        while read -r dir; do
            [ -f "$dir/Cargo.toml" ] && sed -n 's/^name = "\(.*\)"/\1/p' "$dir/Cargo.toml" | head -1
        done)
    args=()
    for p in $packages; do
        args+=(-p "$p")
        [ "$p" = lambda-stream-emulator ] && args+=("${emulator_features[@]}")
    done
    exec cargo mutants --in-diff "$diff" "${args[@]}" --output target/mutants --timeout-multiplier 3
    ;;
  *)
    package=$1
    shift
    args=(-p "$package")
    [ "$package" = lambda-stream-emulator ] && args+=("${emulator_features[@]}")
    exec cargo mutants "${args[@]}" --output target/mutants --timeout-multiplier 3 "$@"
    ;;
esac
