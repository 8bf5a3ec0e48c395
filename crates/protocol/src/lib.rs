//! # lambda-stream-protocol
//!
//! The wire facts of AWS Lambda response streaming as plain Rust types, with no I/O. Both sides of
//! the wire use it: the runtime (`lambda-stream`) encodes with it, the emulator and the conformance
//! suite decode and judge with it. The facts and their sources are collected in the project's
//! `shared/spec/streaming-protocol.md`; each module cites the part it implements.
//!
//! ## Parts
//! - [`prelude`]: the HTTP-integration prelude (`statusCode`, `headers`, `multiValueHeaders`,
//!   `cookies`, then eight NUL bytes) that function URLs turn into a status line and headers. An
//!   encoder, and an incremental [`prelude::PreludeDecoder`] that accepts the bytes split at any
//!   boundary and gives up with a precise error.
//! - [`diagnostic`]: the error document `{errorType, errorMessage, trace}` a runtime reports, its
//!   `/error` body, its trailer form (type + standard base64 of the JSON) both ways, and the
//!   error-type normalisation Lambda applies.
//! - [`names`]: header names and content types that appear on the wire.
//! - [`env`](mod@env): the environment variables of a Lambda execution environment and of local mode.
//! - [`paths`]: Runtime API and client-facing API paths.
//! - [`limits`]: response sizes, bandwidth shaping, prelude size, timeouts.
//! - [`event_stream`]: InvokeWithResponseStream frames (`PayloadChunk`, `InvokeComplete`) built
//!   on and read with the AWS SDK's own `aws-smithy-eventstream` types, so what we send is what
//!   the SDK decodes.
//!
//! ## Why a crate of its own
//! The runtime and the emulator must agree byte for byte, and neither should depend on the other
//! for that. Keeping the wire format here, free of I/O, also lets property tests hammer the
//! decoders without sockets.

pub mod diagnostic;
pub mod env;
pub mod event_stream;
pub mod limits;
pub mod names;
pub mod paths;
pub mod prelude;

pub use diagnostic::{ErrorDiagnostic, TrailerError, normalize_error_type};
pub use event_stream::{EventStreamDecoder, EventStreamError, InvokeEvent};
pub use prelude::{Prelude, PreludeDecoder, PreludeError, PreludeProgress};
