//! # lambda-stream-fuzz
//!
//! Coverage-guided fuzz targets for the parts of lambda-stream that read bytes an attacker, a
//! broken runtime or a broken peer controls. The engine is libFuzzer, driven by cargo-fuzz on the
//! stable toolchain (sanitizer-coverage instrumentation through stable `-C` flags, no sanitizer);
//! docs/fuzzing.md says how to run it and why it works on stable.
//!
//! ## Parts
//! - [`input`]: the one input layout most targets share: a body and the points where it is cut
//!   into chunks, since every decoder here must give the same answer however its input arrives.
//! - One module per target, each with a `check` (the oracle: it panics when an invariant breaks,
//!   which is what the engine reports as a crash) and `seeds` (real inputs made with the protocol
//!   crate, from which the committed corpus was started):
//!   [`prelude`], [`event_stream`], [`event_stream_roundtrip`], [`diagnostic`], [`paths`], and
//!   for the emulator (feature `fuzzing` of `lambda-stream-emulator`): [`sigv4`] (the SigV4
//!   verifier), [`url_event`] (the function URL event builder) and [`emulator`] (a whole
//!   emulator fed arbitrary bytes on the client and the runtime side; [`request`] is the raw
//!   request layout the first two share).
//! - [`TARGETS`]: the registry of targets by name. `fuzz_targets/<name>.rs` is a one-line
//!   wrapper around the target's `check`; `tests/corpus.rs` replays the committed corpus through
//!   the same `check` under plain `cargo test`, and `examples/seeds.rs` writes the seeds.
//!
//! ## Why the oracles live in a library
//! A crash found by the engine must be reproducible without the engine, and the corpus is worth
//! replaying on every CI run even where no fuzzing time is spent. Keeping the checks here, free of
//! libFuzzer, gives both.
//!
//! ## Adding a target
//! Add a module with `check` and `seeds`, list it in [`TARGETS`], add `fuzz_targets/<name>.rs`
//! and a `[[bin]]` in Cargo.toml, then run `cargo run --example seeds` to create its corpus
//! directory. Targets that need the emulator (the SigV4 verifier, the function-URL event builder,
//! a whole emulator fed arbitrary bytes on the client and runtime side) add a dependency on
//! `lambda-stream-emulator` and follow the same shape; see docs/fuzzing.md.

#![forbid(unsafe_code)]

pub mod diagnostic;
pub mod emulator;
pub mod event_stream;
pub mod event_stream_roundtrip;
pub mod input;
pub mod paths;
pub mod prelude;
pub mod request;
pub mod sigv4;
pub mod url_event;

/// A named seed input.
pub type Seed = (&'static str, Vec<u8>);

/// One fuzz target: its name (the `fuzz_targets/<name>.rs` binary and the `corpus/<name>/`
/// directory), its oracle and its seeds.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The binary's and the corpus directory's name.
    pub name: &'static str,
    /// Runs one input; panics when an invariant does not hold.
    pub check: fn(&[u8]),
    /// Real inputs the corpus starts from.
    pub seeds: fn() -> Vec<Seed>,
}

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    Target { name: "prelude", check: prelude::check, seeds: prelude::seeds },
    Target { name: "event_stream", check: event_stream::check, seeds: event_stream::seeds },
    Target {
        name: "event_stream_roundtrip",
        check: event_stream_roundtrip::check,
        seeds: event_stream_roundtrip::seeds,
    },
    Target { name: "diagnostic", check: diagnostic::check, seeds: diagnostic::seeds },
    Target { name: "paths", check: paths::check, seeds: paths::seeds },
    Target { name: "sigv4", check: sigv4::check, seeds: sigv4::seeds },
    Target { name: "url_event", check: url_event::check, seeds: url_event::seeds },
    Target { name: "emulator", check: emulator::check, seeds: emulator::seeds },
];
