//! The wire recorder: per invocation, a timeline of both legs.
//!
//! *Runtime leg*: when the runtime took the invocation (`/next`), the head of its answer, each
//! body chunk's size and arrival time, the trailers, the error it reported and any faults.
//! *Client leg*: when the emulator handed the status and headers to the client connection, each
//! chunk's size and time, and how the body ended (completed, aborted with an error, or the client
//! went away). Times are offsets from the recorder's origin on `tokio::time` (so they follow a
//! paused test clock). Client-side times are when the emulator handed the bytes to hyper, which
//! writes them to the socket at once; the recorder keeps sizes, never payload bytes, so memory
//! stays flat whatever the response size.
//!
//! Faults that belong to no invocation (a post for an unknown request id) are kept apart, in
//! [`Recorder::faults`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::Error;

/// Chunks kept per leg; beyond it only the totals grow (a 200 MB stream of tiny chunks must not
/// grow the recorder without bound).
const MAX_CHUNK_RECORDS: usize = 100_000;
/// Finished invocations kept; the oldest are forgotten first.
const MAX_RECORDS: usize = 10_000;

/// Which front end a client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrontEnd {
    /// A function URL (any path not reserved).
    FunctionUrl,
    /// The Swift-style local `POST /invoke`.
    LocalInvoke,
    /// `InvokeWithResponseStream`.
    InvokeWithResponseStream,
    /// Buffered `Invoke`.
    Invoke,
}

/// One body chunk: its size and when it crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRecord {
    /// Offset from the recorder's origin.
    pub at: Duration,
    /// Bytes in the chunk.
    pub len: usize,
}

/// Where an invocation's error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorOrigin {
    /// The runtime's trailers after body bytes.
    Trailers,
    /// The runtime's `POST /error`.
    ErrorEndpoint,
    /// The emulator itself (timeout, size limit, truncated response, process exit).
    Platform,
}

/// The error an invocation ended with, as reported to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationError {
    /// The type clients see, normalised as Lambda does (`Function.UnhandledError`, `Sandbox.Timeout`).
    pub error_type: String,
    /// The message.
    pub error_message: String,
    /// The error document clients get (IWRS `ErrorDetails`, the buffered Invoke body, the URL's
    /// 502 body): the runtime's JSON when it sent a readable one, else one made from type and message.
    pub details: String,
    /// Where it came from.
    pub origin: ErrorOrigin,
}

impl InvocationError {
    /// An error the emulator itself reports.
    pub fn platform(error_type: &str, error_message: impl Into<String>) -> Self {
        let error_message = error_message.into();
        let details = serde_json::json!({ "errorType": error_type, "errorMessage": error_message }).to_string();
        Self { error_type: error_type.to_owned(), error_message, details, origin: ErrorOrigin::Platform }
    }
}

/// A runtime misbehaviour the emulator answered or worked around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The invocation it concerns, if the request id was known.
    pub request_id: Option<String>,
    /// What kind of fault.
    pub kind: FaultKind,
    /// The message the emulator answered or logged.
    pub message: String,
    /// Offset from the recorder's origin.
    pub at: Duration,
}

/// Kinds of [`Fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// `/response` or `/error` for a request id the emulator never handed out.
    UnknownRequestId,
    /// A second answer for an invocation that was already answered (or is being answered).
    AlreadyAnswered,
    /// An answer that came after the invocation had timed out or was otherwise ended.
    LateAnswer,
    /// `Lambda-Runtime-Function-Response-Mode` other than `streaming`.
    InvalidResponseMode,
    /// The request body broke off: invalid chunked framing, or the connection closed mid-body.
    BrokenBody,
    /// The trailer error body was not base64 JSON; the type was still reported.
    InvalidTrailer,
    /// The HTTP-integration prelude could not be decoded.
    MalformedPrelude,
    /// The response passed the size limit.
    ResponseTooLarge,
    /// The runtime process exited while it held the invocation.
    ProcessExited,
    /// A request the Runtime API does not know.
    UnknownPath,
    /// The runtime reported `POST /runtime/init/error`.
    InitError,
}

/// The runtime side of an invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeLeg {
    /// When `/next` handed the invocation out.
    pub taken_at: Option<Duration>,
    /// When the answer's head (`/response` or `/error`) arrived.
    pub head_at: Option<Duration>,
    /// Whether the answer declared `Lambda-Runtime-Function-Response-Mode: streaming`.
    pub streaming: bool,
    /// The answer's content type.
    pub content_type: Option<String>,
    /// The answer's headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body chunks as they arrived (at most 100,000 kept).
    pub chunks: Vec<ChunkRecord>,
    /// Total body bytes.
    pub bytes: u64,
    /// Trailers, when the body ended with some.
    pub trailers: Option<Vec<(String, String)>>,
    /// When the body ended (or broke off).
    pub ended_at: Option<Duration>,
}

/// How the client's body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEnd {
    /// All bytes sent and the body ended normally (for IWRS: after InvokeComplete).
    Completed,
    /// The body was cut with an error (no terminating chunk), after the head had been sent.
    Aborted {
        /// Why.
        reason: String,
    },
    /// The client went away before the end; later chunks were dropped.
    Disconnected,
}

/// The client side of an invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientLeg {
    /// When the client's request arrived.
    pub received_at: Option<Duration>,
    /// When the status and headers were handed to the connection.
    pub head_at: Option<Duration>,
    /// The status sent.
    pub status: Option<u16>,
    /// The headers sent.
    pub headers: Vec<(String, String)>,
    /// Body chunks (for IWRS: event-stream frames) as sent.
    pub chunks: Vec<ChunkRecord>,
    /// Total body bytes sent.
    pub bytes: u64,
    /// How and when the body ended.
    pub end: Option<(Duration, ClientEnd)>,
}

/// Everything recorded about one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationRecord {
    /// The request id the runtime saw.
    pub request_id: String,
    /// The front end the client used.
    pub front_end: FrontEnd,
    /// The runtime leg.
    pub runtime: RuntimeLeg,
    /// The client leg.
    pub client: ClientLeg,
    /// `None` while running; `Some(Ok)` for success, `Some(Err)` with the reported error.
    pub outcome: Option<Result<(), InvocationError>>,
    /// Faults of the runtime concerning this invocation.
    pub faults: Vec<Fault>,
}

impl InvocationRecord {
    /// Whether both legs have ended.
    pub fn is_complete(&self) -> bool {
        self.outcome.is_some() && self.client.end.is_some()
    }

    /// The error the invocation ended with, if any.
    pub fn error(&self) -> Option<&InvocationError> {
        self.outcome.as_ref().and_then(|o| o.as_ref().err())
    }
}

/// Reads the timelines; cheap to clone.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    origin: Instant,
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    order: Vec<String>,
    records: HashMap<String, InvocationRecord>,
    faults: Vec<Fault>,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Self { inner: Arc::new(Inner { origin: Instant::now(), state: Mutex::default(), changed: Notify::new() }) }
    }

    /// Time since the recorder's origin (the emulator's start).
    pub fn now(&self) -> Duration {
        self.inner.origin.elapsed()
    }

    /// All invocations still kept, oldest first.
    pub fn invocations(&self) -> Vec<InvocationRecord> {
        let state = self.inner.state.lock().unwrap();
        state.order.iter().filter_map(|id| state.records.get(id).cloned()).collect()
    }

    /// One invocation by request id.
    pub fn invocation(&self, request_id: &str) -> Option<InvocationRecord> {
        self.inner.state.lock().unwrap().records.get(request_id).cloned()
    }

    /// Every runtime fault, including those tied to no known invocation.
    pub fn faults(&self) -> Vec<Fault> {
        self.inner.state.lock().unwrap().faults.clone()
    }

    /// Waits until at least `count` invocations are complete (both legs ended); returns the
    /// complete ones, oldest first.
    pub async fn wait_for_completed(&self, count: usize, timeout: Duration) -> Result<Vec<InvocationRecord>, Error> {
        self.wait_until(timeout, &format!("{count} complete invocation(s)"), |r| {
            let done: Vec<_> = r.invocations().into_iter().filter(InvocationRecord::is_complete).collect();
            (done.len() >= count).then_some(done)
        })
        .await
    }

    /// Waits until the invocation `request_id` is complete.
    pub async fn wait_for(&self, request_id: &str, timeout: Duration) -> Result<InvocationRecord, Error> {
        self.wait_until(timeout, &format!("invocation {request_id} to complete"), |r| {
            r.invocation(request_id).filter(InvocationRecord::is_complete)
        })
        .await
    }

    /// Waits until `check` returns `Some`; re-checked on every recorder change.
    pub async fn wait_until<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&Recorder) -> Option<T>,
    ) -> Result<T, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = check(self) {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(Error::Timeout { what: what.to_owned(), after: timeout });
            }
        }
    }

    pub(crate) fn open(&self, request_id: &str, front_end: FrontEnd) {
        let now = self.now();
        let mut state = self.inner.state.lock().unwrap();
        state.order.push(request_id.to_owned());
        let client = ClientLeg { received_at: Some(now), ..ClientLeg::default() };
        state.records.insert(
            request_id.to_owned(),
            InvocationRecord {
                request_id: request_id.to_owned(),
                front_end,
                runtime: RuntimeLeg::default(),
                client,
                outcome: None,
                faults: Vec::new(),
            },
        );
        if state.order.len() > MAX_RECORDS {
            let old = state.order.remove(0);
            state.records.remove(&old);
        }
        drop(state);
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn update(&self, request_id: &str, f: impl FnOnce(&mut InvocationRecord, Duration)) {
        let now = self.now();
        if let Some(record) = self.inner.state.lock().unwrap().records.get_mut(request_id) {
            f(record, now);
        }
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn runtime_chunk(&self, request_id: &str, len: usize) {
        self.update(request_id, |r, at| {
            r.runtime.bytes += len as u64;
            if r.runtime.chunks.len() < MAX_CHUNK_RECORDS {
                r.runtime.chunks.push(ChunkRecord { at, len });
            }
        });
    }

    pub(crate) fn client_chunk(&self, request_id: &str, len: usize) {
        self.update(request_id, |r, at| {
            r.client.bytes += len as u64;
            if r.client.chunks.len() < MAX_CHUNK_RECORDS {
                r.client.chunks.push(ChunkRecord { at, len });
            }
        });
    }

    pub(crate) fn client_head(&self, request_id: &str, status: u16, headers: Vec<(String, String)>) {
        self.update(request_id, |r, at| {
            r.client.head_at = Some(at);
            r.client.status = Some(status);
            r.client.headers = headers;
        });
    }

    pub(crate) fn client_end(&self, request_id: &str, end: ClientEnd) {
        self.update(request_id, |r, at| {
            if r.client.end.is_none() {
                r.client.end = Some((at, end));
            }
        });
    }

    pub(crate) fn outcome(&self, request_id: &str, outcome: Result<(), InvocationError>) {
        self.update(request_id, |r, _| {
            if r.outcome.is_none() {
                r.outcome = Some(outcome);
            }
        });
    }

    pub(crate) fn fault(&self, request_id: Option<&str>, kind: FaultKind, message: impl Into<String>) {
        let fault = Fault { request_id: request_id.map(str::to_owned), kind, message: message.into(), at: self.now() };
        tracing::warn!(request_id = ?fault.request_id, kind = ?fault.kind, "runtime fault: {}", fault.message);
        let mut state = self.inner.state.lock().unwrap();
        if let Some(record) = request_id.and_then(|id| state.records.get_mut(id)) {
            record.faults.push(fault.clone());
        }
        state.faults.push(fault);
        drop(state);
        self.inner.changed.notify_waiters();
    }
}
