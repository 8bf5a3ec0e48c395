//! # lambda-stream-emulator
//!
//! Plays the AWS Lambda service on 127.0.0.1 for **response streaming**, so that a streaming
//! function can be run, called and checked locally exactly as Lambda would run and relay it. No
//! other local tool streams InvokeWithResponseStream to an AWS SDK chunk by chunk, decodes the
//! HTTP-integration prelude whatever the chunk boundaries, or reports mid-stream errors the way
//! Lambda does; this one does (the wire facts are in the project's `spec/streaming-protocol.md`).
//!
//! ## Parts
//! - [`Emulator`] (built with [`Emulator::builder`]): one listener serving, dispatched by path,
//!   - the **Runtime API** under `/2018-06-01` for the function (`AWS_LAMBDA_RUNTIME_API` =
//!     `HOST:PORT`): `/next`, streamed and buffered `/response`, `/error`, `/init/error`, with
//!     every misbehaviour answered by a clear 4xx or recorded (module `runtime_api`);
//!   - **InvokeWithResponseStream** (`POST /2021-11-15/functions/{name}/response-streaming-invocations`):
//!     one event-stream `PayloadChunk` per runtime chunk as it arrives, then `InvokeComplete`;
//!   - buffered **Invoke** (`POST /2015-03-31/functions/{name}/invocations`);
//!   - the Swift-style local endpoint `/invoke` (POST only, 405 for other methods), which
//!     behaves like a function URL. Unlike Swift's local server, which answers 404 for unknown
//!     paths, every other path here *is* the function URL front end;
//!   - the **function URL** front end on every other path: payload v2.0 in, prelude decoded into
//!     status, headers and cookies, body streamed as it arrives, optional SigV4 ([`Auth::Iam`]).
//! - Limits and time ([`Limits`], [`FunctionConfig::timeout`]): 200 MB streamed cap, 6 MiB
//!   buffered cap, optional Lambda-like bandwidth shaping, per-invocation deadline with
//!   `Sandbox.Timeout`; a client that goes away does not stop the function.
//! - [`Recorder`]: the wire timeline of both legs of every invocation, for tests and the
//!   conformance suite.
//! - [`Supervisor`]: starts a `bootstrap` process (or N) with the Lambda environment, restarts it
//!   when it exits or misses a deadline, and captures its output into tracing and the
//!   [`FunctionLog`] that `LogResult` tails come from.
//! - [`emulate`]: emulator plus supervisor from one set of [`EmulateOptions`], what
//!   `lambda-stream emulate -- <bootstrap>` needs.
//!
//! ## Why it is built this way
//! Streaming means no buffering: between the runtime's request body and the client's response
//! body there are only small bounded channels, so the first byte leaves as soon as it arrives,
//! memory stays flat for a 200 MB response, and a slow client slows the function (backpressure)
//! instead of growing a buffer. Every invocation ends exactly once, by the runtime or by the
//! platform (deadline, size cap, broken body, process exit), and the front end learns which.
//! Deadlines and shaping run on `tokio::time`, so tests can run them on a paused clock.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lambda_stream_emulator::Error> {
//! use lambda_stream_emulator::{Emulator, FunctionConfig};
//! let emulator = Emulator::builder().function(FunctionConfig::new("hello")).build().await?;
//! println!("AWS_LAMBDA_RUNTIME_API={}", emulator.runtime_api());
//! println!("function URL: {}", emulator.url());
//! # Ok(()) }
//! ```

mod auth;
mod body;
mod config;
mod emulate;
mod error;
mod frontends;
mod invocation;
mod logs;
mod payload;
mod recorder;
mod runtime_api;
mod server;
mod shaping;
mod supervisor;
mod time;

pub use config::{Auth, Bandwidth, FunctionConfig, Limits};
pub use emulate::{EmulateOptions, Emulation, emulate};
pub use error::Error;
pub use logs::FunctionLog;
pub use recorder::{
    ChunkRecord, ClientEnd, ClientLeg, ErrorOrigin, Fault, FaultKind, FrontEnd, InvocationError, InvocationRecord,
    Recorder, RuntimeLeg,
};
pub use server::{Emulator, EmulatorBuilder};
pub use supervisor::{BootstrapCommand, Supervisor, SupervisorConfig};
