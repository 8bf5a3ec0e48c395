//! The wire recorder: per invocation, a timeline of both legs.
//!
//! *Runtime leg*: when the runtime took the invocation (`/next`), the head of its answer, each
//! body chunk's size and arrival time, the trailers, the error it reported and any faults.
//! *Client leg*: when the emulator handed the status and headers to the client connection, each
//! chunk's size and time, and how the body ended (completed, aborted with an error, or the client
//! went away). Times are offsets from the recorder's origin on `tokio::time` (so they follow a
//! paused test clock). Client-side times are when the emulator handed the bytes to hyper, which
//! writes them to the socket at once. The recorder keeps sizes and times, and of the payloads only
//! a capped [`Excerpt`]: the first bytes of the event and of the runtime's answer (default
//! [`DEFAULT_EXCERPT_BYTES`], set with `EmulatorBuilder::excerpt_bytes`, 0 keeps none), enough
//! for the dashboard to show the event, the prelude and the start of the body. Memory stays flat
//! whatever the response size.
//!
//! ## Subscribers
//! [`Recorder::subscribe`] hands out a broadcast receiver of [`Change`]s: every record that is
//! opened or changes, and every fault, is announced once, as it happens (the dashboard's live
//! view is built on it; nothing polls). The channel is bounded ([`CHANGE_BUFFER`]); a subscriber
//! that falls behind gets `Lagged` and re-reads the recorder. With no subscriber nothing is sent.
//!
//! ## One lock per change
//! A change takes the state's mutex once and nothing else when nobody waits
//! ([`Recorder::wait_until`] counts its waiters in the state, read under that same lock) and
//! nobody ever subscribed (a flag, set by [`Recorder::subscribe`]): the emulator records every
//! chunk on both legs, and waking an empty `Notify` or counting broadcast receivers takes a lock
//! of its own each (docs/performance.md, "Hand-offs per chunk").
//!
//! Faults that belong to no invocation (a post for an unknown request id) are kept apart, in
//! [`Recorder::faults`].
//!
//! ## Bounded
//! The recorder never grows with traffic: it keeps every invocation still in flight plus the last
//! `history` finished ones (default [`DEFAULT_HISTORY`], set with
//! `EmulatorBuilder::history`), at most [`MAX_CHUNK_RECORDS`] chunk records per leg (the byte
//! totals keep counting beyond), at most [`MAX_FAULTS_PER_INVOCATION`] faults per invocation and
//! the last [`MAX_FAULTS`] faults overall ([`Recorder::fault_count`] keeps counting), each fault
//! message cut to 1 KiB, and two excerpts of at most `excerpt_bytes` each per invocation kept.
//! With the defaults a finished record costs at most 8 KiB of excerpts plus 2 × 1,024 chunk
//! records of 16 bytes (32 KiB), about 40 KiB, so the history of 64 holds under 3 MiB of them
//! whatever the traffic (plus the headers and the error document of each, which Lambda's own
//! limits bound). Records of
//! invocations whose client went away without an end are closed by the front end's guard, so
//! they finish and age out like the others.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;

use crate::Error;
use crate::invocation::{FrontEnd, InvocationError};

/// Chunk records kept per leg; beyond it only the totals grow (a 200 MB stream of tiny chunks must
/// not grow the recorder without bound).
pub const MAX_CHUNK_RECORDS: usize = 1024;
/// Finished invocations kept by default; the oldest are forgotten first.
pub const DEFAULT_HISTORY: usize = 64;
/// Faults kept overall (the newest); older ones are counted, not kept.
pub const MAX_FAULTS: usize = 1024;
/// Faults kept per invocation.
pub const MAX_FAULTS_PER_INVOCATION: usize = 64;
/// Bytes of an error's message and document a record keeps.
pub const MAX_ERROR_TEXT: usize = 4096;
/// Invocations kept whatever their state: a last resort against records that never complete.
const MAX_OPEN_RECORDS: usize = 16_384;
/// Longest fault message kept, in bytes; a longer one is cut (ending in `…`). A runtime chooses
/// some of what goes into a message (a request id in a path can be 60 KiB), and faults are kept.
const MAX_FAULT_MESSAGE_BYTES: usize = 1024;

/// `message`, cut at a character boundary to at most [`MAX_FAULT_MESSAGE_BYTES`].
fn bounded(mut message: String) -> String {
    if message.len() > MAX_FAULT_MESSAGE_BYTES {
        message.truncate(message.floor_char_boundary(MAX_FAULT_MESSAGE_BYTES - '…'.len_utf8()));
        message.push('…');
    }
    message
}

/// Bytes of the event and of the runtime's answer kept per invocation by default.
pub const DEFAULT_EXCERPT_BYTES: usize = 4096;
/// Changes a subscriber may fall behind before it is told it lagged.
pub const CHANGE_BUFFER: usize = 1024;

/// What changed in the recorder, announced to [`Recorder::subscribe`]rs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The record of this invocation was opened or changed.
    Invocation(Arc<str>),
    /// A fault was recorded (it may also have changed an invocation's record, announced apart).
    Fault,
}

/// The first bytes of a payload, and how long the payload was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excerpt {
    /// At most the recorder's `excerpt_bytes` first bytes (a copy: the payload itself is not kept).
    pub bytes: Bytes,
    /// The payload's whole length.
    pub total: u64,
}

impl Excerpt {
    /// Whether bytes were left out.
    pub fn is_truncated(&self) -> bool {
        (self.bytes.len() as u64) < self.total
    }

    fn of(payload: &[u8], cap: usize) -> Self {
        Self { bytes: Bytes::copy_from_slice(&payload[..payload.len().min(cap)]), total: payload.len() as u64 }
    }

    /// Appends what still fits under `cap` of `more`, and counts all of it.
    fn extend(&mut self, more: &[u8], cap: usize) {
        let room = cap.saturating_sub(self.bytes.len());
        if room > 0 && !more.is_empty() {
            let mut kept = Vec::with_capacity(self.bytes.len() + room.min(more.len()));
            kept.extend_from_slice(&self.bytes);
            kept.extend_from_slice(&more[..room.min(more.len())]);
            self.bytes = kept.into();
        }
        self.total += more.len() as u64;
    }
}

/// One body chunk: its size and when it crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRecord {
    /// Offset from the recorder's origin.
    pub at: Duration,
    /// Bytes in the chunk.
    pub len: usize,
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
    /// Body chunks as they arrived (the first [`MAX_CHUNK_RECORDS`] kept).
    pub chunks: Vec<ChunkRecord>,
    /// Body chunks counted, including those beyond [`MAX_CHUNK_RECORDS`].
    pub chunk_count: u64,
    /// Total body bytes.
    pub bytes: u64,
    /// The start of the body (`/response`: with the prelude, if any; `/error`: the error document).
    pub body: Excerpt,
    /// Trailers, when the body ended with some.
    pub trailers: Option<Vec<(String, String)>>,
    /// When the body ended (or broke off).
    pub ended_at: Option<Duration>,
    /// When the runtime asked for its next invocation after this one: its handler returned (work
    /// after the response included). `None` until then, and when the process died first. With
    /// several runtimes polling outside supervision the emulator cannot tell which one asks, so
    /// there it is the next `/next` of any of them.
    pub returned_at: Option<Duration>,
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
    /// Body chunks counted, including those beyond [`MAX_CHUNK_RECORDS`].
    pub chunk_count: u64,
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
    /// The request id the client was given, when it is not the runtime's: API Gateway answers
    /// with its own `x-amzn-RequestId` (`requestContext.requestId` in the event).
    pub client_request_id: Option<String>,
    /// The front end the client used.
    pub front_end: FrontEnd,
    /// The start of the event the runtime received (for a function URL: the payload 2.0 JSON).
    pub event: Excerpt,
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
    /// Wakes [`Recorder::wait_until`].
    changed: Notify,
    /// Announces each change to subscribers.
    changes: broadcast::Sender<Change>,
    /// Someone called [`Recorder::subscribe`]; until then no change is announced there.
    subscribed: AtomicBool,
    /// Bytes kept of each payload.
    excerpt_bytes: usize,
    /// Finished invocations kept.
    history: usize,
}

#[derive(Debug, Default)]
struct State {
    order: VecDeque<String>,
    records: HashMap<String, InvocationRecord>,
    faults: VecDeque<Fault>,
    fault_count: u64,
    /// Calls of [`Recorder::wait_until`] in progress; changes wake `changed` only when there are.
    waiters: usize,
}

impl State {
    /// Forgets the oldest finished records beyond `history`, and the oldest of any kind beyond
    /// the hard cap.
    fn prune(&mut self, history: usize) {
        let finished = self.records.values().filter(|r| r.is_complete()).count();
        let mut excess = finished.saturating_sub(history);
        if excess > 0 {
            let records = &mut self.records;
            self.order.retain(|id| {
                if excess > 0 && records.get(id).is_some_and(InvocationRecord::is_complete) {
                    records.remove(id);
                    excess -= 1;
                    false
                } else {
                    true
                }
            });
        }
        while self.order.len() > MAX_OPEN_RECORDS {
            if let Some(old) = self.order.pop_front() {
                self.records.remove(&old);
            }
        }
    }
}

impl Recorder {
    pub(crate) fn new(history: usize, excerpt_bytes: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                state: Mutex::new(State::default()),
                changed: Notify::new(),
                changes: broadcast::Sender::new(CHANGE_BUFFER),
                subscribed: AtomicBool::new(false),
                excerpt_bytes,
                history,
            }),
        }
    }

    /// Every change from now on, as it happens (see the module doc, "Subscribers").
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.subscribed.store(true, Ordering::SeqCst);
        self.inner.changes.subscribe()
    }

    /// How many finished invocations are kept (`EmulatorBuilder::history`).
    pub fn history(&self) -> usize {
        self.inner.history
    }

    /// Bytes kept of each event and answer (`EmulatorBuilder::excerpt_bytes`).
    pub fn excerpt_bytes(&self) -> usize {
        self.inner.excerpt_bytes
    }

    /// Wakes the waiters when there are (`waiting`, read under the state's lock with the change)
    /// and tells the subscribers (if any) that `change` happened.
    fn announce(&self, waiting: bool, change: impl FnOnce() -> Change) {
        if waiting {
            self.inner.changed.notify_waiters();
        }
        if self.inner.subscribed.load(Ordering::SeqCst) && self.inner.changes.receiver_count() > 0 {
            let _ = self.inner.changes.send(change());
        }
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

    /// One invocation by request id: the runtime's, or the one its client was given
    /// ([`InvocationRecord::client_request_id`]).
    pub fn invocation(&self, request_id: &str) -> Option<InvocationRecord> {
        let state = self.inner.state.lock().unwrap();
        state
            .records
            .get(request_id)
            .or_else(|| state.records.values().find(|r| r.client_request_id.as_deref() == Some(request_id)))
            .cloned()
    }

    /// Reads one invocation in place (no copy of its chunk records); `None` when it is not kept.
    pub(crate) fn inspect<T>(&self, request_id: &str, read: impl FnOnce(&InvocationRecord) -> T) -> Option<T> {
        self.inner.state.lock().unwrap().records.get(request_id).map(read)
    }

    /// Reads every invocation kept in place, oldest first.
    pub(crate) fn each<T>(&self, mut read: impl FnMut(&InvocationRecord) -> T) -> Vec<T> {
        let state = self.inner.state.lock().unwrap();
        state.order.iter().filter_map(|id| state.records.get(id)).map(&mut read).collect()
    }

    /// The runtime faults kept (the newest [`MAX_FAULTS`]), including those tied to no known
    /// invocation, oldest first.
    pub fn faults(&self) -> Vec<Fault> {
        self.inner.state.lock().unwrap().faults.iter().cloned().collect()
    }

    /// Every runtime fault seen since the start, including those no longer kept.
    pub fn fault_count(&self) -> u64 {
        self.inner.state.lock().unwrap().fault_count
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
        // Counted before the first check: a change made after that check sees the count and
        // wakes `changed`, one made before it is seen by the check.
        let _waiting = Waiting::new(self);
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

    /// Opens the record of a new invocation; `event` is what the runtime will receive (only its
    /// excerpt is kept); `client_request_id` is the id its client is given when it is not the
    /// invocation's (API Gateway's).
    pub(crate) fn open(&self, request_id: &str, client_request_id: Option<String>, front_end: FrontEnd, event: &[u8]) {
        let now = self.now();
        let mut state = self.inner.state.lock().unwrap();
        state.order.push_back(request_id.to_owned());
        let client = ClientLeg { received_at: Some(now), ..ClientLeg::default() };
        state.records.insert(
            request_id.to_owned(),
            InvocationRecord {
                request_id: request_id.to_owned(),
                client_request_id,
                front_end,
                event: Excerpt::of(event, self.inner.excerpt_bytes),
                runtime: RuntimeLeg::default(),
                client,
                outcome: None,
                faults: Vec::new(),
            },
        );
        state.prune(self.inner.history);
        let waiting = state.waiters > 0;
        drop(state);
        self.announce(waiting, || Change::Invocation(request_id.into()));
    }

    pub(crate) fn update(&self, request_id: &str, f: impl FnOnce(&mut InvocationRecord, Duration)) {
        let now = self.now();
        let mut state = self.inner.state.lock().unwrap();
        if let Some(record) = state.records.get_mut(request_id) {
            let was_complete = record.is_complete();
            f(record, now);
            // The history is trimmed when a record completes, not only when one opens.
            if !was_complete && record.is_complete() {
                state.prune(self.inner.history);
            }
        }
        let waiting = state.waiters > 0;
        drop(state);
        self.announce(waiting, || Change::Invocation(request_id.into()));
    }

    /// A body chunk of the runtime's answer arrived (`/response`), or the body of `/error`.
    pub(crate) fn runtime_chunk(&self, request_id: &str, data: &[u8]) {
        let cap = self.inner.excerpt_bytes;
        self.update(request_id, |r, at| {
            r.runtime.bytes += data.len() as u64;
            r.runtime.chunk_count += 1;
            r.runtime.body.extend(data, cap);
            if r.runtime.chunks.len() < MAX_CHUNK_RECORDS {
                r.runtime.chunks.push(ChunkRecord { at, len: data.len() });
            }
        });
    }

    /// The body of the runtime's `/error`: kept as the answer's excerpt, not as a chunk.
    pub(crate) fn runtime_error_body(&self, request_id: &str, data: &[u8]) {
        let cap = self.inner.excerpt_bytes;
        self.update(request_id, |r, _| {
            r.runtime.bytes += data.len() as u64;
            r.runtime.body = Excerpt::of(data, cap);
        });
    }

    pub(crate) fn client_chunk(&self, request_id: &str, len: usize) {
        self.update(request_id, |r, at| {
            r.client.bytes += len as u64;
            r.client.chunk_count += 1;
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
        // The error document can be as large as a buffered response (6 MiB); the record keeps
        // its start, so the history stays small. Clients get the whole document from the front
        // end, not from here.
        let outcome = outcome.map_err(|mut e| {
            cap_text(&mut e.details, MAX_ERROR_TEXT);
            cap_text(&mut e.error_message, MAX_ERROR_TEXT);
            e
        });
        self.update(request_id, |r, _| {
            if r.outcome.is_none() {
                r.outcome = Some(outcome);
            }
        });
    }

    pub(crate) fn fault(&self, request_id: Option<&str>, kind: FaultKind, message: impl Into<String>) {
        let message = bounded(message.into());
        let fault = Fault { request_id: request_id.map(str::to_owned), kind, message, at: self.now() };
        tracing::warn!(request_id = ?fault.request_id, kind = ?fault.kind, "runtime fault: {}", fault.message);
        let mut state = self.inner.state.lock().unwrap();
        if let Some(record) = request_id.and_then(|id| state.records.get_mut(id))
            && record.faults.len() < MAX_FAULTS_PER_INVOCATION
        {
            record.faults.push(fault.clone());
        }
        if state.faults.len() >= MAX_FAULTS {
            state.faults.pop_front();
        }
        state.faults.push_back(fault);
        state.fault_count += 1;
        let waiting = state.waiters > 0;
        drop(state);
        if let Some(id) = request_id {
            self.announce(waiting, || Change::Invocation(id.into()));
        }
        self.announce(waiting, || Change::Fault);
    }
}

/// One call of [`Recorder::wait_until`], counted in the state while it lasts (also when the call
/// is dropped before it returns).
struct Waiting<'a>(&'a Recorder);

impl<'a> Waiting<'a> {
    fn new(recorder: &'a Recorder) -> Self {
        recorder.inner.state.lock().unwrap().waiters += 1;
        Self(recorder)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.inner.state.lock() {
            state.waiters -= 1;
        }
    }
}

/// Cuts `text` to at most `max` bytes (at a char boundary), saying how long it was.
fn cap_text(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let total = text.len();
    text.truncate(text.floor_char_boundary(max));
    text.push_str(&format!("... ({total} bytes in all)"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiters(recorder: &Recorder) -> usize {
        recorder.inner.state.lock().unwrap().waiters
    }

    /// Changes wake `changed` only while someone waits, so the count must follow every waiter in
    /// and out, also one dropped before it returns.
    #[tokio::test(start_paused = true)]
    async fn waiters_are_counted_while_they_wait_and_woken_by_a_change() {
        let recorder = Recorder::new(4, 16);
        recorder.open("early", None, FrontEnd::FunctionUrl, b"{}");
        let r = recorder.clone();
        let waiting = tokio::spawn(async move { r.wait_for("id", Duration::from_secs(60)).await });
        while waiters(&recorder) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(waiters(&recorder), 1);
        recorder.open("id", None, FrontEnd::FunctionUrl, b"{}");
        recorder.client_end("id", ClientEnd::Completed);
        recorder.outcome("id", Ok(()));
        let record = waiting.await.unwrap().expect("the change woke the waiter");
        assert_eq!(record.request_id, "id");
        assert_eq!(waiters(&recorder), 0);

        let dropped = tokio::time::timeout(Duration::from_secs(1), recorder.wait_for("early", Duration::from_secs(60)));
        assert!(dropped.await.is_err(), "`early` never completes");
        assert_eq!(waiters(&recorder), 0, "a wait dropped before it returned is no longer counted");
        let timed_out = recorder.wait_for("early", Duration::from_secs(1)).await;
        assert!(matches!(timed_out, Err(Error::Timeout { .. })), "{timed_out:?}");
        assert_eq!(waiters(&recorder), 0);
    }

    /// A fault is a change of its own: it wakes a waiter even when nothing else happens.
    #[tokio::test(start_paused = true)]
    async fn a_fault_alone_wakes_a_waiter() {
        let recorder = Recorder::new(4, 16);
        let r = recorder.clone();
        let waiting = tokio::spawn(async move {
            r.wait_until(Duration::from_secs(60), "a fault", |r| (r.fault_count() > 0).then(|| r.faults())).await
        });
        while waiters(&recorder) == 0 {
            tokio::task::yield_now().await;
        }
        recorder.fault(None, FaultKind::UnknownRequestId, "an answer for no invocation");
        let faults = waiting.await.unwrap().expect("the fault woke the waiter");
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].message, "an answer for no invocation");
    }

    /// A fault message is kept whole up to 1,024 bytes, and a longer one cut to at most that,
    /// ending with an ellipsis, at a character boundary.
    #[test]
    fn fault_messages_are_cut_to_1024_bytes() {
        let recorder = Recorder::new(4, 16);
        let whole = "x".repeat(MAX_FAULT_MESSAGE_BYTES);
        recorder.fault(None, FaultKind::UnknownRequestId, whole.clone());
        recorder.fault(None, FaultKind::UnknownRequestId, "é".repeat(MAX_FAULT_MESSAGE_BYTES));
        let faults = recorder.faults();
        assert_eq!(faults[0].message, whole);
        let cut = &faults[1].message;
        assert!(cut.ends_with('…') && cut.len() <= MAX_FAULT_MESSAGE_BYTES, "{} bytes", cut.len());
        assert!(cut.len() > MAX_FAULT_MESSAGE_BYTES - 2 - '…'.len_utf8(), "{} bytes", cut.len());
    }

    /// Records of invocations that never complete are still bounded: past
    /// `MAX_OPEN_RECORDS` the oldest go.
    #[test]
    fn open_records_are_capped_oldest_first() {
        let recorder = Recorder::new(4, 16);
        for n in 0..=MAX_OPEN_RECORDS {
            recorder.open(&format!("r{n}"), None, FrontEnd::FunctionUrl, b"");
        }
        let state = recorder.inner.state.lock().unwrap();
        assert_eq!((state.order.len(), state.records.len()), (MAX_OPEN_RECORDS, MAX_OPEN_RECORDS));
        assert!(!state.records.contains_key("r0") && state.records.contains_key("r1"));
    }

    /// Each leg counts every chunk and its bytes, and keeps exactly the first
    /// [`MAX_CHUNK_RECORDS`] chunk records.
    #[test]
    fn chunks_are_all_counted_and_the_first_1024_kept() {
        let recorder = Recorder::new(4, 16);
        recorder.open("id", None, FrontEnd::FunctionUrl, b"{}");
        let more = MAX_CHUNK_RECORDS + 2;
        for _ in 0..more {
            recorder.runtime_chunk("id", b"abc");
            recorder.client_chunk("id", 5);
        }
        let record = recorder.invocation("id").unwrap();
        assert_eq!((record.runtime.chunk_count, record.runtime.bytes), (more as u64, 3 * more as u64));
        assert_eq!((record.client.chunk_count, record.client.bytes), (more as u64, 5 * more as u64));
        assert_eq!(record.runtime.chunks.len(), MAX_CHUNK_RECORDS);
        assert_eq!(record.client.chunks.len(), MAX_CHUNK_RECORDS);
        assert!(record.runtime.chunks.iter().all(|c| c.len == 3) && record.client.chunks.iter().all(|c| c.len == 5));
    }

    /// An `/error` document is recorded by its size and its start, kept to the recorder's
    /// excerpt size (which the recorder reports, for the dashboard).
    #[test]
    fn an_error_document_is_recorded_by_size_and_excerpt() {
        let recorder = Recorder::new(16, 4);
        assert_eq!(recorder.excerpt_bytes(), 4);
        assert_eq!(Recorder::new(16, 4096).excerpt_bytes(), 4096);
        recorder.open("id", None, FrontEnd::FunctionUrl, b"{}");
        recorder.runtime_error_body("id", b"{\"errorType\":\"E\"}");
        let record = recorder.invocation("id").unwrap();
        assert_eq!(record.runtime.bytes, 17);
        assert_eq!((&record.runtime.body.bytes[..], record.runtime.body.total), (&b"{\"er"[..], 17));
    }

    /// A record is complete when both legs have ended, not when one has.
    #[test]
    fn a_record_is_complete_only_when_both_legs_ended() {
        let recorder = Recorder::new(16, 4);
        recorder.open("client-first", None, FrontEnd::FunctionUrl, b"{}");
        recorder.client_end("client-first", ClientEnd::Completed);
        recorder.open("outcome-first", None, FrontEnd::FunctionUrl, b"{}");
        recorder.outcome("outcome-first", Ok(()));
        let complete = |id: &str| recorder.invocation(id).unwrap().is_complete();
        assert!(!complete("client-first") && !complete("outcome-first"));
        recorder.outcome("client-first", Ok(()));
        recorder.client_end("outcome-first", ClientEnd::Disconnected);
        assert!(complete("client-first") && complete("outcome-first"));
    }

    /// One invocation keeps its first [`MAX_FAULTS_PER_INVOCATION`] faults; the recorder's list
    /// and count have them all.
    #[test]
    fn an_invocation_keeps_its_first_64_faults() {
        let recorder = Recorder::new(16, 4);
        recorder.open("id", None, FrontEnd::FunctionUrl, b"{}");
        let more = MAX_FAULTS_PER_INVOCATION + 3;
        for n in 0..more {
            recorder.fault(Some("id"), FaultKind::UnknownRequestId, format!("fault {n}"));
        }
        let kept: Vec<String> = recorder.invocation("id").unwrap().faults.into_iter().map(|f| f.message).collect();
        let first: Vec<String> = (0..MAX_FAULTS_PER_INVOCATION).map(|n| format!("fault {n}")).collect();
        assert_eq!(kept, first);
        assert_eq!((recorder.faults().len(), recorder.fault_count()), (more, more as u64));
    }
}
