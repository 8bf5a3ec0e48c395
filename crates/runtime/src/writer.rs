//! The response writer: the public face of one response. It asks the pure state machine
//! ([`crate::state`]) what each call means and performs the answer through the Runtime API client
//! ([`crate::client`]), turning the client's errors into [`StreamError`]s and telling the machine
//! about them. It holds no rule of its own: the rules, and their property tests, live in `state`.
//!
//! The rules come from the Swift runtime (SWIFT `LambdaRuntimeClient.swift`, `LambdaHandlers.swift`,
//! docs/protocol.md §4) with its crashes turned into typed errors, and the buffered first-call
//! `finish` it does.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::Frame;
use lambda_stream_protocol::{ErrorDiagnostic, Prelude, names, paths};

use crate::client::{ClientError, RuntimeApiClient, StreamingExchange, header_safe};
use crate::error::StreamError;
use crate::state::{Action, Open, Unreported, WriterState};

/// The response of one invocation.
///
/// Each [`write`](Self::write) goes out as one HTTP chunk at once; `write().await` waits while the
/// Runtime API reads slowly (a bounded channel of three frames plus hyper's 64 KiB buffer), so
/// memory does not grow with the response.
///
/// - [`write_status_and_headers`](Self::write_status_and_headers) sets an HTTP-integration prelude
///   (status, headers, cookies) for function URLs. It is held until the first `write` or `finish`
///   and then sent ahead of the body as two chunks of its own (the JSON, then the delimiter); to
///   get the status to the caller before the first real chunk, write an empty chunk
///   (`writer.write(Bytes::new())`), which sends the head and nothing else.
/// - [`finish`](Self::finish) or [`write_and_finish`](Self::write_and_finish) as the first body
///   call sends one buffered `POST /response` with a `Content-Length` when the total is at most
///   6 MB, and streams otherwise.
/// - The `Content-Type` is `application/vnd.awslambda.http-integration-response` when a prelude
///   was set (an author's [`set_content_type`](Self::set_content_type) then goes into the prelude's
///   headers, unless it has its own), else the author's, else `application/octet-stream`.
///
/// # States
///
/// ```text
///                 write_status_and_headers
///        Idle ─────────────────────────────▶ HeadersSet
///         │ │                                  │    │
///         │ │ write                      write │    │ finish / write_and_finish
///         │ └──────────────▶ Streaming ◀───────┘    │   (≤ 6 MB: buffered POST,
///         │                  │   ▲  │                │    else streamed and ended)
///         │                  │   └──┘ write          │
///         │ finish /         │                       │
///         │ write_and_finish │ finish /              │
///         │                  │ write_and_finish      │
///         │                  ▼                       │
///         └──────────────▶ Finished ◀────────────────┘
///
///   any state ── Runtime API fault ──▶ Failed   (every later call returns that fault)
/// ```
///
/// In Idle every call is allowed. In the other states a call the table does not mark "ok" is
/// misuse: it returns its own [`StreamError`] variant, sends nothing and leaves the state as it was.
///
/// | call                        | HeadersSet     | Streaming               | Finished                 |
/// |-----------------------------|----------------|-------------------------|--------------------------|
/// | `write_status_and_headers`  | `HeadersTwice` | `HeadersAfterBody`      | `HeadersAfterFinish`     |
/// | `write`                     | ok             | ok                      | `WriteAfterFinish`       |
/// | `finish`/`write_and_finish` | ok             | ok                      | `FinishAfterFinish`      |
/// | `set_content_type`          | ok             | `ContentTypeAfterStart` | `ContentTypeAfterStart`  |
///
/// In Failed every call returns the fault ([`StreamError::Disconnected`] or
/// [`StreamError::Rejected`]), which [`StreamError::is_misuse`] tells apart from misuse.
///
/// # When the handler ends
///
/// - It returns `Ok(())` **without finishing**: the runtime **finishes** the response (it is never
///   reported as an error). From Idle or HeadersSet that is a buffered answer holding only the
///   status and headers, if any were set (so an empty body still delivers them); from Streaming
///   the chunked body ends cleanly, without trailers. Then the runtime serves the next invocation.
/// - It fails (returns `Err` or panics) before any body byte was sent (Idle, HeadersSet): the held
///   status and headers are dropped and the error goes to `POST /error`. After the stream opened
///   (Streaming): the stream ends with the error trailers, the bytes already sent stay sent. After
///   Finished or Failed: the error is logged, the response stands as it was.
///
/// See [`StreamingHandler`](crate::StreamingHandler) for the error documents.
pub struct ResponseStreamWriter {
    state: WriterState,
    /// The streamed `POST /response`, while it is open.
    stream: Option<StreamingExchange>,
    client: RuntimeApiClient,
    request_id: String,
}

impl std::fmt::Debug for ResponseStreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStreamWriter")
            .field("request_id", &self.request_id)
            .field("state", &self.state.phase_name())
            .finish()
    }
}

/// A client error seen while performing the writer's response: a lost connection or a refusal.
fn stream_error(e: ClientError) -> StreamError {
    match e {
        ClientError::Transport(reason) => StreamError::Disconnected { reason },
        ClientError::Status { status, body } => StreamError::Rejected { status, body },
    }
}

impl ResponseStreamWriter {
    pub(crate) fn new(client: RuntimeApiClient, request_id: String) -> Self {
        Self { state: WriterState::new(), stream: None, client, request_id }
    }

    /// Sets the response's `Content-Type`; only before the first `write` or `finish`.
    pub fn set_content_type(&mut self, content_type: impl Into<String>) -> Result<(), StreamError> {
        self.state.set_content_type(content_type.into())
    }

    /// Sets the HTTP status, headers and cookies callers of a function URL get (the prelude).
    pub async fn write_status_and_headers(&mut self, head: Prelude) -> Result<(), StreamError> {
        let action = self.state.status_and_headers(head)?;
        self.perform(action).await
    }

    /// Sends `chunk` as one HTTP chunk, at once; waits while the Runtime API is slow to read.
    /// An empty chunk sends nothing but starts the response (its head and prelude).
    ///
    /// A write queues its chunk for the connection's task and yields once, so that the chunk
    /// leaves before the handler goes on even when that task shares the handler's thread (a
    /// current-thread runtime, as the crate's docs advise). A Runtime API fault that happens
    /// afterwards surfaces on a later call, and [`finish`](Self::finish), which waits for Lambda's
    /// answer, reports it at the latest.
    pub async fn write(&mut self, chunk: impl Into<Bytes>) -> Result<(), StreamError> {
        let action = self.state.write(chunk.into())?;
        self.perform(action).await
    }

    /// Ends the response. As the first body call it sends a buffered answer (the prelude, if set,
    /// and nothing else); after writes it ends the chunked body. Waits for Lambda's answer.
    pub async fn finish(&mut self) -> Result<(), StreamError> {
        let action = self.state.finish()?;
        self.perform(action).await
    }

    /// Writes `chunk` and ends the response. As the first body call it sends one buffered answer
    /// when the prelude and `chunk` add up to at most 6 MB, and streams them otherwise.
    pub async fn write_and_finish(&mut self, chunk: impl Into<Bytes>) -> Result<(), StreamError> {
        let action = self.state.write_and_finish(chunk.into())?;
        self.perform(action).await
    }

    /// After the handler returned `Ok`: finishes what it left open (see the type's documentation).
    /// Returns the Runtime API fault that lost the response, if one did (even one the handler was
    /// told about and let pass), so that the runtime logs it.
    pub(crate) async fn complete(&mut self) -> Result<(), StreamError> {
        let action = self.state.returned();
        self.perform(action).await?;
        self.state.fault_seen().map_or(Ok(()), |fault| Err(fault.clone()))
    }

    /// After the handler failed: `/error`, trailers, or a log line (see the type's documentation).
    pub(crate) async fn fail(&mut self, diagnostic: ErrorDiagnostic) {
        let action = self.state.handler_failed(diagnostic);
        // Performing a failure's action reports its own problems; it has nothing to return.
        let _ = self.perform(action).await;
    }

    /// Carries out one action of the state machine.
    async fn perform(&mut self, action: Action) -> Result<(), StreamError> {
        match action {
            Action::Nothing => Ok(()),
            Action::Stream { open, chunk, end } => {
                if let Some(open) = open {
                    self.open(open).await?;
                }
                if let Some(chunk) = chunk {
                    self.send(chunk).await?;
                }
                if end {
                    self.end(None).await?;
                } else {
                    // A `write` (the only call that leaves the stream open) is sent at once on a
                    // current-thread runtime too: the connection's task shares this thread and
                    // runs only when this task yields, so without this a handler that computes
                    // before its next await would hold the chunk (or the head that an empty write
                    // sends) back until then. One yield after all of the call's frames are
                    // queued, so the prelude's two frames leave in one write with the first chunk.
                    tokio::task::yield_now().await;
                }
                Ok(())
            }
            Action::Buffered { content_type, body } => {
                let result = self.client.post_buffered(&self.request_id, &content_type, body).await;
                result.map_err(|e| self.fault(stream_error(e)))
            }
            Action::EndWithTrailers(diagnostic) => {
                if let Err(e) = self.end(Some(error_trailers(&diagnostic))).await {
                    tracing::error!(request_id = %self.request_id, error = %e, "could not deliver the error trailers");
                }
                Ok(())
            }
            Action::ReportError(diagnostic) => {
                report_error(&self.client, &self.request_id, &diagnostic).await;
                Ok(())
            }
            Action::Log(diagnostic, Unreported::Finished) => {
                tracing::error!(
                    request_id = %self.request_id,
                    error_type = %diagnostic.error_type,
                    error = %diagnostic.error_message,
                    "the handler failed after finishing its response; the response stands"
                );
                Ok(())
            }
            Action::Log(diagnostic, Unreported::Fault(fault)) => {
                tracing::error!(
                    request_id = %self.request_id,
                    error_type = %diagnostic.error_type,
                    error = %diagnostic.error_message,
                    transport = %fault,
                    "the handler failed after the Runtime API connection was lost"
                );
                Ok(())
            }
        }
    }

    /// The Runtime API failed the response: the machine keeps the fault, the caller gets it.
    fn fault(&mut self, fault: StreamError) -> StreamError {
        self.state.fault(fault.clone());
        fault
    }

    /// Opens the streamed request and queues the prelude's two chunks.
    async fn open(&mut self, open: Open) -> Result<(), StreamError> {
        let exchange =
            self.client.start_stream(&self.request_id, &open.content_type).map_err(|e| self.fault(stream_error(e)))?;
        self.stream = Some(exchange);
        for chunk in open.prelude.into_iter().flatten() {
            self.send(chunk).await?;
        }
        Ok(())
    }

    /// Queues one data frame; waits for room in the channel.
    async fn send(&mut self, chunk: Bytes) -> Result<(), StreamError> {
        let Some(stream) = &self.stream else {
            // The machine sends only on an open stream; anything else is reported, never a panic.
            return Err(StreamError::Disconnected { reason: "internal: no response stream is open".into() });
        };
        if stream.frames.send(Frame::data(chunk)).await.is_err() {
            return Err(self.broken().await);
        }
        Ok(())
    }

    /// Ends the body, with `trailers` if given, and waits for the Runtime API's answer.
    async fn end(&mut self, trailers: Option<HeaderMap>) -> Result<(), StreamError> {
        let Some(StreamingExchange { frames, exchange }) = self.stream.take() else {
            return Err(StreamError::Disconnected { reason: "internal: no response stream is open".into() });
        };
        if let Some(trailers) = trailers
            && frames.send(Frame::trailers(trailers)).await.is_err()
        {
            tracing::debug!("the response body was gone before its trailers could be queued");
        }
        // Dropping the sender ends the body: hyper writes the last chunk (and the trailers).
        drop(frames);
        let result = match exchange.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(stream_error(e)),
            Err(join) => Err(StreamError::Disconnected { reason: format!("the response task ended: {join}") }),
        };
        result.map_err(|e| self.fault(e))
    }

    /// The body channel closed under us: the exchange ended early. Collects its reason.
    async fn broken(&mut self) -> StreamError {
        let error = match self.stream.take() {
            Some(stream) => match stream.exchange.await {
                Ok(Err(e)) => stream_error(e),
                Ok(Ok(())) => StreamError::Disconnected {
                    reason: "the Runtime API answered before the response body ended".into(),
                },
                Err(join) => StreamError::Disconnected { reason: format!("the response task ended: {join}") },
            },
            None => StreamError::Disconnected { reason: "internal: no response stream is open".into() },
        };
        self.fault(error)
    }
}

/// The error trailers (RT-CUSTOM): the type, and the standard base64 of the error document.
fn error_trailers(diagnostic: &ErrorDiagnostic) -> HeaderMap {
    let (error_type, error_body) = diagnostic.to_trailers();
    let mut trailers = HeaderMap::new();
    let values = HeaderValue::from_str(&header_safe(&error_type)).ok().zip(HeaderValue::from_str(&error_body).ok());
    if let Some((ty, body)) = values {
        trailers.insert(names::FUNCTION_ERROR_TYPE, ty);
        trailers.insert(names::FUNCTION_ERROR_BODY, body);
    }
    trailers
}

/// `POST /invocation/{id}/error`; a failure to report is logged (nothing else can be done).
pub(crate) async fn report_error(client: &RuntimeApiClient, request_id: &str, diagnostic: &ErrorDiagnostic) {
    if let Err(e) = client.post_error(&paths::error(request_id), diagnostic).await {
        tracing::error!(%request_id, error = %e, "could not report the error to /error");
    }
}
