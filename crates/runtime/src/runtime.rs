//! The Runtime API loop: fetch an invocation, run the handler, report its outcome, repeat.
//!
//! The builder checks the endpoint; the loop owns the client, parses each `/next` answer into a
//! [`LambdaContext`](crate::LambdaContext), runs the handler with a fresh writer, and hands the
//! handler's outcome to the writer (which finishes, reports or logs it). Only a failed `GET /next`
//! or a failed set-up ends the loop; the client's errors become [`Error`]s here.
//!
//! ## When the Runtime API misbehaves
//! Nothing the Runtime API sends can panic the loop; what it costs is kept as small as it can be:
//! - A fault while answering an invocation (`/response` or `/error` refused with 413 or 500, the
//!   connection reset mid-body, a slow reader) costs that invocation: the writer returns the fault
//!   to the handler, the loop logs it, and serves the next invocation.
//! - A `/next` answer whose headers cannot be read (request id missing or unusable, headers not
//!   text, a bad deadline) costs that invocation: it is reported to `/error` when its request id
//!   is usable, skipped otherwise, and the loop goes on.
//! - A broken `/next` answer (no connection, the connection closed before or during the answer, a
//!   head that is not HTTP or too large, a truncated event) is logged and `/next` is asked again;
//!   after [`MAX_BROKEN_NEXT`] in a row the Runtime API is taken as gone and [`Runtime::run`]
//!   returns [`Error::RuntimeApi`].
//! - An error status on `/next` ends the loop with [`Error::UnexpectedStatus`] at once: the
//!   Runtime API answers `/next` with an error only in a non-recoverable state, where the runtime
//!   should exit promptly (RT-API, "Next invocation": 403, 500) and Lambda starts a new process.

use std::future::{Future, pending};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt as _;
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::{ErrorDiagnostic, paths};

use crate::client::{ClientError, NextInvocation, RuntimeApiClient};
use crate::context::{Config, parse_invocation};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::handler::{BoxError, StreamingHandler, diagnostic_for_error, diagnostic_for_panic, panic_message};
use crate::writer::{ResponseStreamWriter, report_error};

/// A client error on a request the loop cannot do without: fatal, `run` returns it.
fn api_error(request: &'static str, e: ClientError) -> Error {
    match e {
        ClientError::Transport(reason) => Error::RuntimeApi { request, reason },
        ClientError::Status { status, body } => Error::UnexpectedStatus { request, status, body },
    }
}

/// Broken `/next` answers in a row after which the Runtime API is taken as gone (see the module
/// documentation): enough to ride out one bad answer, few enough that a dead endpoint ends the
/// process at once instead of spinning.
const MAX_BROKEN_NEXT: u32 = 3;

/// The type parameter of a [`RuntimeBuilder`] that has no handler yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHandler;

type InitFuture<H> = Pin<Box<dyn Future<Output = Result<H, BoxError>> + Send>>;

enum Source<H> {
    Ready(H),
    Init(Box<dyn FnOnce() -> InitFuture<H> + Send>),
}

/// Builds a [`Runtime`]: an endpoint (or a [`Config`] naming one) and a handler.
///
/// ```no_run
/// # async fn f() -> Result<(), lambda_stream::Error> {
/// use lambda_stream::{BoxError, Config, LambdaContext, ResponseStreamWriter, Runtime, handler_fn};
///
/// let handler = handler_fn(async |event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
///     writer.write_and_finish(event).await?;
///     Ok::<(), BoxError>(())
/// });
/// Runtime::builder()
///     .endpoint("http://127.0.0.1:9000/.rt")
///     .config(Config::new("echo"))
///     .handler(handler)
///     .build()?
///     .run()
///     .await
/// # }
/// ```
pub struct RuntimeBuilder<H = NoHandler> {
    endpoint: Option<String>,
    config: Config,
    source: Source<H>,
}

impl<H> std::fmt::Debug for RuntimeBuilder<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder").field("endpoint", &self.endpoint).field("config", &self.config).finish()
    }
}

impl<H> RuntimeBuilder<H> {
    /// The Runtime API endpoint (`host:port` or `http://host:port[/prefix]`); wins over the
    /// configuration's `runtime_api`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The function's configuration, handed to every [`LambdaContext`](crate::LambdaContext).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The handler, ready to serve.
    pub fn handler<H2: StreamingHandler>(self, handler: H2) -> RuntimeBuilder<H2> {
        RuntimeBuilder { endpoint: self.endpoint, config: self.config, source: Source::Ready(handler) }
    }

    /// A handler made by a fallible set-up (open a database, read a model), run once when the
    /// runtime starts. A set-up error or panic is posted to `/runtime/init/error` (type
    /// `Runtime.InitError`, or the [`FunctionError`](crate::FunctionError)'s own) and ends
    /// [`Runtime::run`] with [`Error::Init`], as Lambda expects the process to exit then.
    ///
    /// The set-up must be `Send` (unlike the handler's future), so that a [`Runtime`] with a `Send`
    /// handler can be spawned; set-up code that is not can run before the builder instead.
    pub fn init<H2, F, Fut, E>(self, init: F) -> RuntimeBuilder<H2>
    where
        H2: StreamingHandler,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<H2, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let make: Box<dyn FnOnce() -> InitFuture<H2> + Send> = Box::new(move || {
            let fut = init();
            Box::pin(async move { fut.await.map_err(Into::into) })
        });
        RuntimeBuilder { endpoint: self.endpoint, config: self.config, source: Source::Init(make) }
    }
}

impl<H: StreamingHandler> RuntimeBuilder<H> {
    /// Checks the endpoint and makes the runtime. Nothing is connected yet.
    pub fn build(self) -> Result<Runtime<H>, Error> {
        let raw = self.endpoint.or_else(|| self.config.runtime_api.clone()).ok_or(Error::NoEndpoint)?;
        let endpoint = Endpoint::parse(&raw)?;
        Ok(Runtime { client: RuntimeApiClient::new(endpoint), config: Arc::new(self.config), source: self.source })
    }
}

/// The Runtime API loop for one handler.
pub struct Runtime<H> {
    client: RuntimeApiClient,
    config: Arc<Config>,
    source: Source<H>,
}

impl<H> std::fmt::Debug for Runtime<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("endpoint", self.client.endpoint()).field("config", &self.config).finish()
    }
}

impl Runtime<NoHandler> {
    /// Starts building a runtime.
    pub fn builder() -> RuntimeBuilder<NoHandler> {
        RuntimeBuilder { endpoint: None, config: Config::default(), source: Source::Ready(NoHandler) }
    }
}

impl<H: StreamingHandler> Runtime<H> {
    /// The endpoint it talks to.
    pub fn endpoint(&self) -> &Endpoint {
        self.client.endpoint()
    }

    /// Serves invocations until the Runtime API fails (a fatal fault: Lambda restarts the process):
    /// an error status on `GET /next`, or three broken answers in a row (see the module docs).
    pub async fn run(self) -> Result<(), Error> {
        self.serve_loop(None, pending()).await
    }

    /// Serves invocations until `shutdown` completes. Shutdown takes effect while waiting on
    /// `GET /next`, never in the middle of an invocation.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        self.serve_loop(None, shutdown).await
    }

    /// Serves exactly `invocations` answers of `GET /next` that carried an invocation (including
    /// ones whose headers could not be parsed; not the broken answers asked again), then returns.
    /// For tests and tools.
    pub async fn serve(self, invocations: usize) -> Result<(), Error> {
        self.serve_loop(Some(invocations), pending()).await
    }

    async fn serve_loop(self, limit: Option<usize>, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let Runtime { client, config, source } = self;
        let handler = match source {
            Source::Ready(h) => h,
            Source::Init(make) => init_handler(&client, make).await?,
        };
        tracing::info!(endpoint = %client.endpoint(), "serving invocations");
        let mut shutdown = std::pin::pin!(shutdown);
        let mut served = 0_usize;
        let mut broken_in_a_row = 0_u32;
        while limit.is_none_or(|limit| served < limit) {
            let next = tokio::select! {
                biased;
                () = &mut shutdown => {
                    tracing::info!(served, "shutting down");
                    return Ok(());
                }
                next = client.next() => next,
            };
            match next {
                Ok(next) => {
                    broken_in_a_row = 0;
                    served += 1;
                    invoke(&client, &config, &handler, next).await;
                }
                Err(e @ ClientError::Status { .. }) => return Err(api_error("GET /next", e)),
                Err(e @ ClientError::Transport(_)) => {
                    broken_in_a_row += 1;
                    if broken_in_a_row >= MAX_BROKEN_NEXT {
                        return Err(api_error("GET /next", e));
                    }
                    tracing::error!(error = %e, broken_in_a_row, "GET /next got no readable answer; asking again");
                }
            }
        }
        Ok(())
    }
}

/// Runs the set-up; its failure goes to `/runtime/init/error` (RT-API).
async fn init_handler<H>(
    client: &RuntimeApiClient,
    make: Box<dyn FnOnce() -> InitFuture<H> + Send>,
) -> Result<H, Error> {
    let outcome = AssertUnwindSafe(async move { make().await }).catch_unwind().await;
    let diagnostic = match outcome {
        Ok(Ok(handler)) => return Ok(handler),
        Ok(Err(e)) => {
            let mut d = diagnostic_for_error(e);
            if d.error_type == error_types::FUNCTION_UNHANDLED {
                d.error_type = error_types::RUNTIME_INIT_ERROR.to_owned();
            }
            d
        }
        Err(panic) => ErrorDiagnostic::new(
            error_types::RUNTIME_INIT_ERROR,
            format!("the handler's set-up panicked: {}", panic_message(&*panic)),
        ),
    };
    tracing::error!(error_type = %diagnostic.error_type, error = %diagnostic.error_message, "handler set-up failed");
    if let Err(e) = client.post_error(paths::INIT_ERROR, &diagnostic).await {
        tracing::error!(error = %e, "could not report the set-up failure to /runtime/init/error");
    }
    Err(Error::Init { error_type: diagnostic.error_type, message: diagnostic.error_message })
}

/// One invocation, start to end. Never fails: whatever goes wrong is reported and logged, and the
/// loop goes on.
async fn invoke<H: StreamingHandler>(
    client: &RuntimeApiClient,
    config: &Arc<Config>,
    handler: &H,
    next: NextInvocation,
) {
    let context = match parse_invocation(&next.headers, config) {
        Ok(context) => context,
        Err(invalid) => {
            let Some(request_id) = invalid.request_id else {
                tracing::error!(reason = %invalid.reason, "skipping an invocation that cannot be reported");
                return;
            };
            tracing::error!(%request_id, reason = %invalid.reason, "invalid invocation");
            let diagnostic = ErrorDiagnostic::new(
                error_types::RUNTIME_INVALID_INVOCATION,
                format!("the runtime could not read the invocation: {}", invalid.reason),
            );
            report_error(client, &request_id, &diagnostic).await;
            return;
        }
    };
    let request_id = context.request_id.clone();
    tracing::debug!(%request_id, "invocation received");
    let mut writer = ResponseStreamWriter::new(client.clone(), request_id.clone());
    let outcome = AssertUnwindSafe(handler.handle(next.event, &mut writer, context)).catch_unwind().await;
    let diagnostic = match outcome {
        Ok(Ok(())) => {
            // Returned without finishing: the writer finishes the response (never an error). A
            // Runtime API fault the handler was told about and let pass is logged here.
            if let Err(e) = writer.complete().await {
                tracing::error!(%request_id, error = %e, "the response did not reach Lambda");
            }
            return;
        }
        Ok(Err(e)) => diagnostic_for_error(e.into()),
        Err(panic) => diagnostic_for_panic(&*panic),
    };
    tracing::error!(%request_id, error_type = %diagnostic.error_type, error = %diagnostic.error_message, "handler failed");
    writer.fail(diagnostic).await;
}
