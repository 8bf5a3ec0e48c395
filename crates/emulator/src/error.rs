//! The crate's one error type.

use std::time::Duration;

/// What can go wrong when starting, running or asking the emulator.
///
/// Faults of the *peers* (a runtime that posts garbage, a client with a bad signature) are not
/// errors of the library: they are answered on the wire and kept by the [`Recorder`](crate::Recorder).
/// This enum is for the library's caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration is unusable (empty function name, zero concurrency, ...).
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// The bootstrap program could not be started.
    #[error("cannot start the bootstrap {program:?}: {source}")]
    Spawn {
        /// The program.
        program: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TLS certificate or key cannot be used (feature `tls`).
    #[error("TLS: {0}")]
    Tls(String),
    /// Waiting on the recorder gave up.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        after: Duration,
    },
}
