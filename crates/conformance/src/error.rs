//! The crate's one error type.

use std::path::PathBuf;

/// Why the suite could not run (a scenario that fails is a result, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A scenario, catalogue or expected-deviations file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not valid TOML of the expected shape.
    #[error("{what} is invalid: {message}")]
    Parse {
        /// The file or entry.
        what: String,
        /// The parser's message.
        message: String,
    },
    /// Scenarios and the catalogue disagree, or a scenario asks for something impossible.
    #[error("invalid suite: {0}")]
    Invalid(String),
    /// A target is misconfigured (missing bootstrap binary, bad URL, ...).
    #[error("{0}")]
    Target(String),
    /// The emulator could not be started.
    #[error("emulator: {0}")]
    Emulator(#[from] lambda_stream_emulator::Error),
    /// A report could not be written.
    #[error("writing the report: {0}")]
    Report(String),
}
