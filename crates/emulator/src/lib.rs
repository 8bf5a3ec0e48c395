//! # lambda-stream-emulator
//!
//! Plays the AWS Lambda service on 127.0.0.1 for **response streaming**, so that a streaming
//! function can be run, called and checked locally exactly as Lambda would run and relay it. No
//! other local tool streams InvokeWithResponseStream to an AWS SDK chunk by chunk, decodes the
//! HTTP-integration prelude whatever the chunk boundaries, or reports mid-stream errors the way
//! Lambda does; this one does (the wire facts are in the project's `docs/protocol.md`).
//!
//! ## Parts
//! - [`Emulator`] (built with [`Emulator::builder`]) listens twice, as Lambda is reached twice
//!   (three times with API Gateway):
//!   - the **public listener** serves clients only, dispatched by path:
//!     **InvokeWithResponseStream** (`POST /2021-11-15/functions/{name}/response-streaming-invocations`,
//!     one event-stream `PayloadChunk` per runtime chunk as it arrives, then `InvokeComplete`),
//!     buffered **Invoke** (`POST /2015-03-31/functions/{name}/invocations`), the Swift-style
//!     local endpoint `/invoke` (POST only; the body is the event, the answer's prelude is
//!     decoded), and the **function URL** on every other path
//!     (payload v2.0 in, prelude decoded into status, headers and cookies, body streamed as it
//!     arrives, optional SigV4 with [`Auth::Iam`] covering the body);
//!   - the **API Gateway listener**, when [`EmulatorBuilder::api_gateway`] asks for one
//!     ([`ApiGatewayConfig`]): a REST API at `/{stage}/{proxy+}` whose Lambda proxy integration
//!     streams (payload 1.0 event in, the prelude read at any split, API Gateway's errors, idle
//!     and integration timeouts, optional SigV4 for `execute-api` and API key), on a port of its
//!     own ([`Emulator::api_gateway_url`]) so the function URL keeps every path;
//!   - **Runtime API listeners** on loopback serve the function's side (`/2018-06-01`: `/next`,
//!     streamed and buffered `/response`, `/error`, `/init/error`), one per supervised process
//!     and one for runtimes started by hand ([`Emulator::runtime_api`]). A client can never
//!     reach them through the public port.
//! - Limits and time ([`Limits`], [`FunctionConfig::timeout`]): 200 MB streamed cap, 6 MiB
//!   buffered cap, 6 MiB request cap, 3,583-byte client context, optional Lambda-like (and, on
//!   the API Gateway front end, API Gateway-like) bandwidth shaping, per-invocation deadline with `Sandbox.Timeout`, a queue deadline so callers never
//!   wait for a runtime that does not come, and init failures answered as Lambda answers them.
//! - [`Recorder`]: the wire timeline of both legs of every invocation in flight and a bounded
//!   history of finished ones (sizes and times, and a capped [`Excerpt`] of the event and of the
//!   answer), for tests, the conformance suite and the dashboard; [`Recorder::subscribe`]
//!   announces every change as it happens.
//! - The **dashboard** ([`EmulatorBuilder::dashboard`]): a live page on a listener of its own
//!   with every invocation as it happens and each one's wire timeline, drawn by [`timeline`]
//!   (also used by the HTML reports of other crates).
//! - [`Supervisor`]: starts a `bootstrap` process (or N) with the Lambda environment, restarts it
//!   when it exits or misses a deadline, captures its output into tracing and the
//!   [`FunctionLog`] that `LogResult` tails come from, and [replaces](Supervisor::replace) the
//!   program without dropping an invocation (`lambda-stream dev`).
//! - `TlsConfig` (feature `tls`): HTTPS on the public listener, with a self-signed certificate
//!   made at start-up or one from PEM files, so that remote clients (SigV4, the AWS SDK's HTTPS
//!   client, a custom trust root) can be tested against it on 127.0.0.1.
//! - [`emulate`]: emulator plus supervisor from one set of [`EmulateOptions`], what
//!   `lambda-stream emulate -- <bootstrap>` needs.
//!
//! ## Inside, in layers (each module imports only from the layers below it)
//! 1. `config`, `error`, `time`, `logs`, `auth` (SigV4 verifier), `payload` (function URL event
//!    builder), `rest_event` (API Gateway REST event builder), `shaping` (token bucket), `http`
//!    (response bodies, bounded body reading, the JSON error answers), `tls` (feature `tls`:
//!    certificate and acceptor);
//! 2. `invocation` (one invocation in flight and its public types), then `recorder`, then
//!    `timeline`;
//! 3. `platform`: the shared state of the one function (queue, registry of what is in flight,
//!    recorder, log, slots) and the rules by which the platform ends invocations;
//! 4. `runtime_api`, `frontends` (`function_url`, `api_gateway`, `local`, `iwrs`, `invoke`, and
//!    `relay`, what the two HTTP front ends share) and `dashboard`;
//! 5. `server`: builder, handle, accept loops, dispatch;
//! 6. `supervisor`, then `emulate`.
//!
//! ## Why it is built this way
//! Streaming means no buffering: between the runtime's request body and the client's response
//! body there are only small bounded channels, so the first byte leaves as soon as it arrives,
//! memory stays flat for a 200 MB response, and a slow client slows the function (backpressure)
//! instead of growing a buffer. Every invocation ends exactly once, by the runtime or by the
//! platform (deadline, size cap, broken body, process exit, init failure), and the front end
//! learns which. Memory is bounded by what is in flight: an invocation drops its event once the
//! runtime has it and leaves the registry when it ends; the recorder and the dashboard keep a
//! bounded history. Every request path faces an attacker:
//! malformed, oversized, unsigned or out-of-order input gets the status and error type Lambda
//! would give, and a handler panic (there should be none) is answered 500 instead of dropping the
//! connection. Deadlines and shaping run on `tokio::time`, so tests can run them on a paused clock.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lambda_stream_emulator::Error> {
//! use lambda_stream_emulator::{Emulator, FunctionConfig};
//! let emulator = Emulator::builder().function(FunctionConfig::new("hello")).build().await?;
//! println!("AWS_LAMBDA_RUNTIME_API={}", emulator.runtime_api());
//! println!("function URL: {}", emulator.url());
//! assert_ne!(emulator.runtime_api_addr(), emulator.local_addr());
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod dashboard;
mod emulate;
mod error;
mod frontends;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod invocation;
mod logs;
mod payload;
mod platform;
mod recorder;
mod rest_event;
mod runtime_api;
mod server;
mod shaping;
mod supervisor;
mod time;
pub mod timeline;
#[cfg(feature = "tls")]
mod tls;

pub use config::{ApiGatewayConfig, Auth, Bandwidth, EndpointType, FunctionConfig, Limits};
pub use emulate::{EmulateOptions, Emulation, emulate};
pub use error::Error;
pub use invocation::{ErrorOrigin, FrontEnd, InvocationError};
pub use logs::FunctionLog;
pub use recorder::{
    CHANGE_BUFFER, Change, ChunkRecord, ClientEnd, ClientLeg, DEFAULT_EXCERPT_BYTES, DEFAULT_HISTORY, Excerpt, Fault,
    FaultKind, InvocationRecord, MAX_CHUNK_RECORDS, MAX_ERROR_TEXT, MAX_FAULTS, MAX_FAULTS_PER_INVOCATION, Recorder,
    RuntimeLeg,
};
pub use server::{Emulator, EmulatorBuilder};
pub use supervisor::{BootstrapCommand, Drained, Supervisor, SupervisorConfig};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;
