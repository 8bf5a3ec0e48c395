//! The response writer and its state rules.
//!
//! The rules come from the Swift runtime (SWIFT `LambdaRuntimeClient.swift`, `LambdaHandlers.swift`)
//! with its crashes turned into typed errors, and the buffered first-call `finish` it does; the
//! state lives in one private enum, [`State`], whose doc comment draws the diagram.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::Frame;
use lambda_stream_protocol::limits::MAX_BUFFERED_RESPONSE_BYTES;
use lambda_stream_protocol::{ErrorDiagnostic, Prelude, names, prelude};

use crate::client::{ClientError, RuntimeApiClient, StreamingExchange, header_safe};
use crate::error::StreamError;

/// A client error seen while performing the writer's response: a lost connection or a refusal.
fn stream_error(e: ClientError) -> StreamError {
    match e {
        ClientError::Transport(reason) => StreamError::Disconnected { reason },
        ClientError::Status { status, body } => StreamError::Rejected { status, body },
    }
}

/// The state of one response.
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
/// Every other call is misuse and leaves the state as it was:
/// `write_status_and_headers` in HeadersSet ([`StreamError::HeadersTwice`]), in Streaming
/// ([`StreamError::HeadersAfterBody`]), in Finished ([`StreamError::HeadersAfterFinish`]); `write` in
/// Finished ([`StreamError::WriteAfterFinish`]); `finish`/`write_and_finish` in Finished
/// ([`StreamError::FinishAfterFinish`]); `set_content_type` in Streaming or Finished
/// ([`StreamError::ContentTypeAfterStart`]).
enum State {
    /// Nothing set, nothing sent.
    Idle,
    /// Status and headers set and held, so that a following `finish` can still go buffered.
    HeadersSet(Prelude),
    /// The streamed `POST /response` is open; its head and the prelude (if any) are sent.
    Streaming(StreamingExchange),
    /// The response ended and Lambda accepted it.
    Finished,
    /// The Runtime API failed us; the response is lost.
    Failed(StreamError),
}

/// What the runtime should do after the handler failed (see [`ResponseStreamWriter::fail`]).
pub(crate) enum FailOutcome {
    /// No byte was sent: report through `POST /error`.
    NotStarted(ErrorDiagnostic),
    /// Reported through trailers, or nothing more can be done (already finished, or broken).
    Done,
}

/// The response of one invocation.
///
/// Each [`write`](Self::write) goes out as one HTTP chunk at once; `write().await` waits while the
/// Runtime API reads slowly (a bounded channel of two frames plus hyper's 64 KiB buffer), so
/// memory does not grow with the response.
///
/// - [`write_status_and_headers`](Self::write_status_and_headers) sets an HTTP-integration prelude
///   (status, headers, cookies) for function URLs. It is held until the first `write` or `finish`
///   and then sent ahead of the body as two chunks of its own (the JSON, then the delimiter); to get the status to the caller before
///   the first real chunk, write an empty chunk (`writer.write(Bytes::new())`), which sends the head
///   and nothing else.
/// - [`finish`](Self::finish) or [`write_and_finish`](Self::write_and_finish) as the first body
///   call sends one buffered `POST /response` with a `Content-Length` when the total is at most
///   6 MB, and streams otherwise.
/// - The `Content-Type` is `application/vnd.awslambda.http-integration-response` when a prelude
///   was set (an author's [`set_content_type`](Self::set_content_type) then goes into the prelude's
///   headers, unless it has its own), else the author's, else `application/octet-stream`.
pub struct ResponseStreamWriter {
    state: State,
    content_type: Option<String>,
    client: RuntimeApiClient,
    request_id: String,
}

impl std::fmt::Debug for ResponseStreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Idle => "Idle",
            State::HeadersSet(_) => "HeadersSet",
            State::Streaming(_) => "Streaming",
            State::Finished => "Finished",
            State::Failed(_) => "Failed",
        };
        f.debug_struct("ResponseStreamWriter").field("request_id", &self.request_id).field("state", &state).finish()
    }
}

impl ResponseStreamWriter {
    pub(crate) fn new(client: RuntimeApiClient, request_id: String) -> Self {
        Self { state: State::Idle, content_type: None, client, request_id }
    }

    /// Sets the response's `Content-Type`; only before the first `write` or `finish`.
    pub fn set_content_type(&mut self, content_type: impl Into<String>) -> Result<(), StreamError> {
        match &self.state {
            State::Idle | State::HeadersSet(_) => {}
            State::Streaming(_) | State::Finished => return Err(StreamError::ContentTypeAfterStart),
            State::Failed(e) => return Err(e.clone()),
        }
        let value = content_type.into();
        if HeaderValue::from_str(&value).is_err() {
            return Err(StreamError::InvalidContentType { value });
        }
        self.content_type = Some(value);
        Ok(())
    }

    /// Sets the HTTP status, headers and cookies callers of a function URL get (the prelude).
    pub async fn write_status_and_headers(&mut self, head: Prelude) -> Result<(), StreamError> {
        match &self.state {
            State::Idle => {
                self.state = State::HeadersSet(head);
                Ok(())
            }
            State::HeadersSet(_) => Err(StreamError::HeadersTwice),
            State::Streaming(_) => Err(StreamError::HeadersAfterBody),
            State::Finished => Err(StreamError::HeadersAfterFinish),
            State::Failed(e) => Err(e.clone()),
        }
    }

    /// Sends `chunk` as one HTTP chunk, at once; waits while the Runtime API is slow to read.
    /// An empty chunk sends nothing but starts the response (its head and prelude).
    ///
    /// A write hands its chunk to the connection and returns; a Runtime API fault that happens
    /// afterwards surfaces on a later call, and [`finish`](Self::finish), which waits for Lambda's
    /// answer, reports it at the latest.
    pub async fn write(&mut self, chunk: impl Into<Bytes>) -> Result<(), StreamError> {
        match &self.state {
            State::Finished => return Err(StreamError::WriteAfterFinish),
            State::Failed(e) => return Err(e.clone()),
            State::Idle | State::HeadersSet(_) => self.start_streaming().await?,
            State::Streaming(_) => {}
        }
        self.send(chunk.into()).await
    }

    /// Ends the response. As the first body call it sends a buffered answer (the prelude, if set,
    /// and nothing else); after writes it ends the chunked body. Waits for Lambda's answer.
    pub async fn finish(&mut self) -> Result<(), StreamError> {
        match &self.state {
            State::Finished => Err(StreamError::FinishAfterFinish),
            State::Failed(e) => Err(e.clone()),
            State::Idle | State::HeadersSet(_) => self.send_buffered(Bytes::new()).await,
            State::Streaming(_) => self.end_stream(None).await,
        }
    }

    /// Writes `chunk` and ends the response. As the first body call it sends one buffered answer
    /// when the prelude and `chunk` add up to at most 6 MB, and streams them otherwise.
    pub async fn write_and_finish(&mut self, chunk: impl Into<Bytes>) -> Result<(), StreamError> {
        let chunk = chunk.into();
        match &self.state {
            State::Finished => Err(StreamError::FinishAfterFinish),
            State::Failed(e) => Err(e.clone()),
            State::Idle | State::HeadersSet(_) => {
                let prelude_len = match &self.state {
                    State::HeadersSet(p) => self.prelude_bytes(p).len(),
                    _ => 0,
                };
                if (prelude_len + chunk.len()) as u64 <= MAX_BUFFERED_RESPONSE_BYTES {
                    self.send_buffered(chunk).await
                } else {
                    self.start_streaming().await?;
                    self.send(chunk).await?;
                    self.end_stream(None).await
                }
            }
            State::Streaming(_) => {
                self.send(chunk).await?;
                self.end_stream(None).await
            }
        }
    }

    /// The content type of the request head.
    fn wire_content_type(&self, with_prelude: bool) -> String {
        if with_prelude {
            names::HTTP_INTEGRATION_CONTENT_TYPE.to_owned()
        } else {
            self.content_type.clone().unwrap_or_else(|| names::DEFAULT_STREAM_CONTENT_TYPE.to_owned())
        }
    }

    /// The prelude as sent: the author's content type moves into it when it names none.
    fn prelude_bytes(&self, prelude: &Prelude) -> Bytes {
        match &self.content_type {
            Some(ct) if !has_header(prelude, "content-type") => {
                prelude.clone().header("content-type", ct.as_str()).encode()
            }
            _ => prelude.encode(),
        }
    }

    /// Idle/HeadersSet → Streaming: opens the streamed request and queues the prelude chunk.
    async fn start_streaming(&mut self) -> Result<(), StreamError> {
        let prelude = match &self.state {
            State::HeadersSet(p) => Some(self.prelude_bytes(p)),
            _ => None,
        };
        let content_type = self.wire_content_type(prelude.is_some());
        match self.client.start_stream(&self.request_id, &content_type) {
            Ok(exchange) => self.state = State::Streaming(exchange),
            Err(e) => {
                let e = stream_error(e);
                self.state = State::Failed(e.clone());
                return Err(e);
            }
        }
        match prelude {
            // The JSON and its eight-NUL delimiter go as two chunks, as NODE
            // (`src/HttpResponseStream.js`) and RUST (`lambda-runtime/src/requests.rs`) write them.
            // Lambda does not care where chunks split, but cargo-lambda's emulator reads the first
            // chunk as the JSON and the second as the delimiter, and fails the call otherwise.
            Some(bytes) => {
                let json_len = bytes.len() - prelude::DELIMITER.len();
                self.send(bytes.slice(..json_len)).await?;
                self.send(bytes.slice(json_len..)).await
            }
            None => Ok(()),
        }
    }

    /// Queues one data frame; waits for room in the channel. Empty chunks are not queued: an empty
    /// chunk in chunked encoding would read as the end of the body.
    async fn send(&mut self, chunk: Bytes) -> Result<(), StreamError> {
        let State::Streaming(exchange) = &self.state else {
            // Callers reach here only in Streaming; anything else is reported, never a panic.
            return Err(StreamError::Disconnected { reason: "internal: no response stream is open".into() });
        };
        if chunk.is_empty() {
            return Ok(());
        }
        if exchange.frames.send(Frame::data(chunk)).await.is_err() {
            return Err(self.broken().await);
        }
        Ok(())
    }

    /// Streaming → Finished (or Failed): ends the body, with `trailers` if given, and waits for the
    /// Runtime API's answer.
    async fn end_stream(&mut self, trailers: Option<HeaderMap>) -> Result<(), StreamError> {
        let State::Streaming(exchange) = std::mem::replace(&mut self.state, State::Finished) else {
            return Err(StreamError::Disconnected { reason: "internal: no response stream is open".into() });
        };
        let StreamingExchange { frames, exchange } = exchange;
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
        self.settle(result)
    }

    /// The body channel closed under us: the exchange ended early. Collects its reason.
    async fn broken(&mut self) -> StreamError {
        let State::Streaming(exchange) = std::mem::replace(&mut self.state, State::Finished) else {
            return StreamError::Disconnected { reason: "internal: no response stream is open".into() };
        };
        let error = match exchange.exchange.await {
            Ok(Err(e)) => stream_error(e),
            Ok(Ok(())) => {
                StreamError::Disconnected { reason: "the Runtime API answered before the response body ended".into() }
            }
            Err(join) => StreamError::Disconnected { reason: format!("the response task ended: {join}") },
        };
        self.state = State::Failed(error.clone());
        error
    }

    /// Idle/HeadersSet → Finished (or Failed): one buffered `POST /response` of prelude + `body`.
    async fn send_buffered(&mut self, body: Bytes) -> Result<(), StreamError> {
        let prelude = match std::mem::replace(&mut self.state, State::Finished) {
            State::HeadersSet(p) => Some(self.prelude_bytes(&p)),
            _ => None,
        };
        let content_type = self.wire_content_type(prelude.is_some());
        let body = match prelude {
            Some(p) if body.is_empty() => p,
            Some(p) => [p, body].concat().into(),
            None => body,
        };
        let result = self.client.post_buffered(&self.request_id, &content_type, body).await.map_err(stream_error);
        self.settle(result)
    }

    fn settle(&mut self, result: Result<(), StreamError>) -> Result<(), StreamError> {
        match &result {
            Ok(()) => self.state = State::Finished,
            Err(e) => self.state = State::Failed(e.clone()),
        }
        result
    }

    /// After the handler returned `Ok`: finishes what it left open.
    pub(crate) async fn complete(&mut self) -> Result<(), StreamError> {
        match &self.state {
            State::Finished | State::Failed(_) => Ok(()),
            State::Idle | State::HeadersSet(_) | State::Streaming(_) => self.finish().await,
        }
    }

    /// After the handler failed: trailers when the stream is open, else tells the runtime to POST
    /// `/error` (nothing was sent) or that nothing more can be done.
    pub(crate) async fn fail(&mut self, diagnostic: ErrorDiagnostic) -> FailOutcome {
        match &self.state {
            State::Idle | State::HeadersSet(_) => {
                // The response now belongs to `/error`; the writer is done with it.
                self.state = State::Finished;
                FailOutcome::NotStarted(diagnostic)
            }
            State::Streaming(_) => {
                let (error_type, error_body) = diagnostic.to_trailers();
                let mut trailers = HeaderMap::new();
                let values =
                    HeaderValue::from_str(&header_safe(&error_type)).ok().zip(HeaderValue::from_str(&error_body).ok());
                if let Some((ty, body)) = values {
                    trailers.insert(names::FUNCTION_ERROR_TYPE, ty);
                    trailers.insert(names::FUNCTION_ERROR_BODY, body);
                }
                if let Err(e) = self.end_stream(Some(trailers)).await {
                    tracing::error!(request_id = %self.request_id, error = %e, "could not deliver the error trailers");
                }
                FailOutcome::Done
            }
            State::Finished => {
                tracing::error!(
                    request_id = %self.request_id,
                    error_type = %diagnostic.error_type,
                    error = %diagnostic.error_message,
                    "the handler failed after finishing its response; the response stands"
                );
                FailOutcome::Done
            }
            State::Failed(e) => {
                tracing::error!(
                    request_id = %self.request_id,
                    error = %diagnostic.error_message,
                    transport = %e,
                    "the handler failed after the Runtime API connection was lost"
                );
                FailOutcome::Done
            }
        }
    }
}

fn has_header(prelude: &Prelude, name: &str) -> bool {
    prelude.headers.keys().chain(prelude.multi_value_headers.keys()).any(|k| k.eq_ignore_ascii_case(name))
}
