//! # lambda-stream
//!
//! Write AWS Lambda **response-streaming** functions in Rust. A handler gets the event, a
//! [`ResponseStreamWriter`] and a [`LambdaContext`]; every [`write`](ResponseStreamWriter::write)
//! becomes one HTTP chunk on the Runtime API's `POST /response`, sent at once, so the caller sees
//! bytes while the function is still working. The wire facts, with their sources, are in the
//! repository's `docs/protocol.md` and are encoded by [`lambda_stream_protocol`].
//!
//! ```no_run
//! use std::time::Duration;
//! use lambda_stream::{BoxError, LambdaContext, ResponseStreamWriter, handler_fn};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), lambda_stream::Error> {
//!     // The Swift runtime's `SendNumbersWithPause`, in Rust.
//!     lambda_stream::run(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
//!         for i in 1..=3 {
//!             writer.write(format!("{i}\n")).await?;
//!             tokio::time::sleep(Duration::from_millis(500)).await;
//!         }
//!         writer.finish().await?;
//!         Ok::<(), BoxError>(())
//!     }))
//!     .await
//! }
//! ```
//!
//! ## Parts
//! - [`StreamingHandler`], [`handler_fn`], [`FunctionError`]: what a function author implements,
//!   and how a handler's error is reported.
//! - [`ResponseStreamWriter`] and [`StreamError`]: the response, with strict state rules. Misuse
//!   (finishing twice, writing after finishing, headers after the body) is a typed error, never a
//!   panic, and is kept apart from Runtime API faults ([`StreamError::is_misuse`]).
//! - [`json_handler_fn`], [`json_request_handler_fn`], [`decode_event`] (feature `json`): handlers
//!   that take the author's `serde::Deserialize` type, raw or from a function URL or API Gateway
//!   request's body; a payload that does not decode is answered with a 400 before the first byte.
//! - [`LambdaContext`] and [`Config`]: what Lambda tells about the invocation and the function.
//! - [`Runtime`] and [`RuntimeBuilder`]: the Runtime API client loop on hyper 1.x: `GET /next`
//!   (no timeout), the streamed or buffered `POST /response`, `POST /error` before the first body
//!   byte, real HTTP/1.1 trailers after it, and `POST /runtime/init/error` when set-up fails.
//! - [`run`]: the `main`-level entry point that reads the environment and serves forever.
//! - `local` (feature `local`, debug builds only): local mode, the embedded emulator on
//!   127.0.0.1:7000.
//!
//! ## Layers
//! Every module's imports point one way, down this list (nothing imports a module above it):
//! - `local`: local mode; uses `runtime`, `handler`, `context`, `error`.
//! - `runtime`: the loop; uses `writer`, `handler`, `client`, `context`, `endpoint`, `error`.
//! - `event` (beside `runtime`, independent of it): typed JSON events; uses `handler`, `writer`,
//!   `context`, `error`.
//! - `handler`: what authors implement; uses `writer`, `context`.
//! - `writer`: performs the state machine's actions through the client; uses `state`, `client`,
//!   `error`.
//! - `state` (the writer's rules, pure, no I/O; uses `error`) and `client` (the Runtime API over
//!   hyper, returning only its own `ClientError`; uses `endpoint`): independent of each other.
//! - `endpoint` (uses `error`), `context` (uses nothing of the crate).
//! - `error`: [`Error`] and [`StreamError`]; uses nothing of the crate.
//!
//! ## Why it looks like this
//! - The endpoint and the function's configuration are injected ([`RuntimeBuilder::endpoint`],
//!   [`RuntimeBuilder::config`]); only [`run`] and [`Config::from_env`], called from `main`, read the
//!   environment. Tests point the runtime at a scripted peer on 127.0.0.1 port 0.
//! - A handler's future need not be `Send`: the loop awaits it in place and only the HTTP body pump
//!   runs on a spawned task, fed through a bounded channel (so a slow reader slows the writer down
//!   instead of growing memory).
//! - A failing or panicking handler never takes the process down: its invocation is reported as an
//!   error (`/error` before the first byte, trailers after) and the loop serves the next one.
//!
//! ## Which tokio runtime: a current-thread one
//! Start the loop on a current-thread runtime, `#[tokio::main(flavor = "current_thread")]`, as
//! every example here does. The loop awaits the handler on the task that called [`run`]. Under
//! the default `#[tokio::main]` that task is the main thread's `block_on`, outside tokio's worker
//! pool, while the Runtime API connection runs on a worker. Then every chunk crosses threads: the
//! writer queues it and wakes a worker, and the worker wakes the main thread when the queue has
//! room again. On one thread the handler and the connection take turns with no wake-up at all.
//! Measured on a 64 MB stream through the emulator (docs/performance.md, "Fifth round"), the
//! process made 19–27 context switches per MB on the default runtime and under one on a
//! current-thread one, and spent about a sixth less CPU per MB. A
//! [`write`](ResponseStreamWriter::write) yields once, so its chunk leaves before the handler
//! goes on even there. One thread also suits Lambda, which gives a function one vCPU's worth of
//! CPU time at 1,769 MB of memory and less below
//! (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html>). A function that
//! needs worker threads for its own CPU-bound work keeps them: if its handler's future is `Send`,
//! `tokio::spawn(lambda_stream::run(handler)).await` runs the loop on a worker of the default
//! runtime, next to its connection.
//!
//! ## Cargo features
//! - `json` (on by default): typed events (`event` module). Off, the crate builds neither serde's
//!   derive nor `aws_lambda_events`.
//! - `local` (on by default), **effective in debug builds only**: [`run`] starts the embedded
//!   emulator when `AWS_LAMBDA_RUNTIME_API` is unset, so that `cargo run` serves
//!   `127.0.0.1:7000/invoke` (and every other front end of `lambda-stream-emulator`) as the Swift
//!   runtime's local server does. See the `local` module. As in the Swift runtime, whose local
//!   server exists only in debug builds, a release build (`cargo build --release`, what is
//!   deployed to Lambda) has no local mode even with the feature on: the `local` module is not
//!   compiled, the emulator is not linked, and [`run`] without `AWS_LAMBDA_RUNTIME_API` fails with
//!   [`Error::NoLocalMode`]. The feature still gates the emulator dependency: turn it off
//!   (`default-features = false`) to not build the emulator at all.

mod client;
mod context;
mod endpoint;
mod error;
#[cfg(feature = "json")]
mod event;
mod handler;
#[cfg(all(feature = "local", debug_assertions))]
pub mod local;
mod runtime;
mod state;
mod writer;

pub use bytes::Bytes;
pub use context::{Config, LambdaContext};
pub use endpoint::Endpoint;
#[cfg(feature = "json")]
pub use error::EventError;
pub use error::{Error, StreamError};
#[cfg(feature = "json")]
pub use event::{
    HttpRequest, INVALID_EVENT, JsonEvent, JsonHandlerFn, JsonRequestHandlerFn, decode_event, json_handler_fn,
    json_request_handler_fn,
};
pub use handler::{BoxError, FunctionError, HandlerFn, StreamingHandler, handler_fn};
pub use lambda_stream_protocol::{ErrorDiagnostic, Prelude};
pub use runtime::{NoHandler, Runtime, RuntimeBuilder};
pub use writer::ResponseStreamWriter;

/// Why this build has no local mode, for [`Error::NoLocalMode`].
#[cfg(not(all(feature = "local", debug_assertions)))]
const NO_LOCAL_MODE: &str = if cfg!(feature = "local") {
    "a debug-build feature and this is a release build"
} else {
    "not compiled in (the `local` feature is off)"
};

/// Runs `handler` against the Runtime API named by `AWS_LAMBDA_RUNTIME_API`, forever.
///
/// This is the `main`-level entry point: it reads the environment once ([`Config::from_env`]) and
/// returns only on a fatal Runtime API fault (Lambda then restarts the process). Libraries and
/// tests use [`Runtime::builder`] with an explicit endpoint.
///
/// Without `AWS_LAMBDA_RUNTIME_API` (outside Lambda), in a debug build with the `local` feature
/// (the default), it serves locally instead: see the `local` module. It prints one line with the
/// `curl` command to try and stops on Ctrl-C. In a release build, or without the feature, a
/// missing variable is [`Error::NoLocalMode`], whose message (also printed on stderr) says to use
/// `cargo run` without `--release` or to set `AWS_LAMBDA_RUNTIME_API`.
pub async fn run<H: StreamingHandler>(handler: H) -> Result<(), Error> {
    let config = Config::from_env();
    if config.runtime_api.is_none() {
        #[cfg(all(feature = "local", debug_assertions))]
        return local::run_from_env(handler, config).await;
        #[cfg(not(all(feature = "local", debug_assertions)))]
        {
            let error = Error::NoLocalMode { why: NO_LOCAL_MODE };
            // `main` returning the error prints its Debug form; this is the line a person reads.
            eprintln!("lambda-stream: {error}");
            return Err(error);
        }
    }
    Runtime::builder().config(config).handler(handler).build()?.run().await
}
