//! Invocations between the front ends and the Runtime API.
//!
//! The types of an invocation, below every handler: [`FrontEnd`], [`InvocationError`] and
//! [`ErrorOrigin`] (public: the recorder and its readers use them), and the in-flight machinery.
//!
//! A front end [`submit`](crate::platform::Platform::submit)s an [`Invocation`] and keeps its
//! [`InvocationStream`]. The invocation waits in the queue until a runtime's `GET /next` takes it;
//! the Runtime API handler then feeds the stream with [`Event`]s as the runtime's body arrives.
//!
//! An invocation ends exactly once ([`Invocation::try_finish`]): either the runtime handler ends it
//! (body complete, `/error`) and sends [`Event::Done`] through the bounded channel behind the
//! chunks, or the platform ends it (timeout, size limit, broken body, process exit) through the
//! `abort` watch, which the stream checks first so a cut is immediate even when chunks are queued.
//! The channel is bounded: a slow client slows the runtime (backpressure) instead of growing memory.

use bytes::Bytes;
use std::sync::Mutex;
use tokio::sync::{mpsc, watch};

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
    /// An API Gateway REST API with a streaming Lambda proxy integration (`/{stage}/{proxy+}`).
    ApiGateway,
}

impl FrontEnd {
    /// A short name for people (the dashboard, reports).
    pub fn name(self) -> &'static str {
        match self {
            Self::FunctionUrl => "function URL",
            Self::LocalInvoke => "/invoke",
            Self::InvokeWithResponseStream => "InvokeWithResponseStream",
            Self::Invoke => "Invoke",
            Self::ApiGateway => "API Gateway",
        }
    }
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

/// Chunks in flight between the runtime's body and the client's; small, so memory stays flat.
pub(crate) const EVENT_BUFFER: usize = 8;

/// What the runtime side tells the front end.
#[derive(Debug)]
pub(crate) enum Event {
    /// The answer's head arrived.
    Start { content_type: String },
    /// A body chunk, as it arrived.
    Chunk(Bytes),
    /// The end: success, or the error to report.
    Done(Result<(), InvocationError>),
}

/// Where an invocation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for `/next`.
    Queued,
    /// Handed to a runtime (on `slot`, if a supervised one), no answer yet.
    Delivered,
    /// Its answer is arriving.
    Responding,
    /// Ended; `by_platform` when the emulator ended it (timeout, size, exit).
    Finished { by_platform: bool },
}

/// What a front end asks the platform to run.
#[derive(Debug)]
pub(crate) struct NewInvocation {
    /// The event the runtime receives.
    pub(crate) payload: Bytes,
    /// Where it came from.
    pub(crate) front_end: FrontEnd,
    /// The request id to use (the function URL's event carries it); a new one when `None`.
    pub(crate) request_id: Option<String>,
    /// The request id the client is given when it differs from the invocation's (API Gateway's).
    pub(crate) client_request_id: Option<String>,
    /// The client context JSON (IWRS, Invoke).
    pub(crate) client_context: Option<String>,
    /// The qualifier the client named (`None`: unqualified).
    pub(crate) qualifier: Option<String>,
}

impl NewInvocation {
    /// An unqualified invocation without client context.
    pub(crate) fn new(payload: Bytes, front_end: FrontEnd) -> Self {
        Self { payload, front_end, request_id: None, client_request_id: None, client_context: None, qualifier: None }
    }
}

/// Headers of the `/next` answer beyond the request id and deadline.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub(crate) client_context: Option<String>,
    pub(crate) cognito_identity: Option<String>,
    pub(crate) trace_id: String,
    /// The ARN the client invoked, with its qualifier when it named one (RT-API
    /// `Lambda-Runtime-Invoked-Function-Arn`).
    pub(crate) invoked_arn: String,
}

/// Where an invocation is, which supervised slot took it and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    phase: Phase,
    slot: Option<u32>,
    /// When `/next` handed it out: its deadline counts from there.
    delivered_at: Option<tokio::time::Instant>,
    /// The count of `GET /next` calls on `slot` when this invocation was handed out: the runtime's
    /// next call after it counts higher (see `Platform::settle_log`).
    poll: u64,
}

/// One invocation, shared by the front end, the Runtime API and the deadline keeper.
#[derive(Debug)]
pub(crate) struct Invocation {
    pub(crate) id: String,
    /// The event, until `/next` takes it: the invocation does not keep its payload while it runs,
    /// so memory is held only by what is in flight.
    payload: Mutex<Option<Bytes>>,
    pub(crate) context: Context,
    /// Log sequence number when the invocation started: its log tail starts there.
    pub(crate) log_start: u64,
    pub(crate) events: mpsc::Sender<Event>,
    abort: watch::Sender<Option<InvocationError>>,
    /// Every transition goes through `send_if_modified`, so each is atomic and observable.
    state: watch::Sender<State>,
    /// Set when the runtime that took it asked for its next invocation: its handler returned, so
    /// work it did after the response (background work) is over. On Lambda an invocation lasts
    /// until then, its timeout included (RT-API: the runtime calls `/next` when it is done;
    /// SWIFT `Examples/BackgroundTasks/README.md`).
    returned: watch::Sender<bool>,
}

impl Invocation {
    pub(crate) fn new(id: String, payload: Bytes, context: Context, log_start: u64) -> (Self, InvocationStream) {
        let (events, rx) = mpsc::channel(EVENT_BUFFER);
        let (abort, abort_rx) = watch::channel(None);
        let invocation = Self {
            id,
            payload: Mutex::new(Some(payload)),
            context,
            log_start,
            events,
            abort,
            state: watch::Sender::new(State { phase: Phase::Queued, slot: None, delivered_at: None, poll: 0 }),
            returned: watch::Sender::new(false),
        };
        (invocation, InvocationStream { rx, abort: abort_rx })
    }

    /// Takes the event out to hand it to the runtime (once; empty afterwards).
    pub(crate) fn take_payload(&self) -> Bytes {
        self.payload.lock().unwrap().take().unwrap_or_default()
    }

    pub(crate) fn phase(&self) -> Phase {
        self.state.borrow().phase
    }

    /// The supervised slot that took it, if any.
    pub(crate) fn slot(&self) -> Option<u32> {
        self.state.borrow().slot
    }

    /// When `/next` handed it out (`None` while queued, or when it ended there).
    pub(crate) fn delivered_at(&self) -> Option<tokio::time::Instant> {
        self.state.borrow().delivered_at
    }

    /// `/next` hands it out, as call number `poll` of `slot`; false when it is no longer queued
    /// (the platform ended it).
    pub(crate) fn deliver(&self, slot: Option<u32>, poll: u64) -> bool {
        self.state.send_if_modified(|state| {
            let queued = state.phase == Phase::Queued;
            if queued {
                *state = State { phase: Phase::Delivered, slot, delivered_at: Some(tokio::time::Instant::now()), poll };
            }
            queued
        })
    }

    /// The `GET /next` call that took it (its slot's count then), `None` while queued.
    pub(crate) fn taken_by_poll(&self) -> Option<(Option<u32>, u64)> {
        let state = self.state.borrow();
        (state.phase != Phase::Queued && state.poll > 0).then_some((state.slot, state.poll))
    }

    /// An answer starts; returns the phase it was in (only `Delivered` lets it start).
    pub(crate) fn begin_answer(&self) -> Phase {
        let mut before = Phase::Queued;
        self.state.send_if_modified(|state| {
            before = state.phase;
            let starts = before == Phase::Delivered;
            if starts {
                state.phase = Phase::Responding;
            }
            starts
        });
        before
    }

    /// Ends the invocation from the runtime side; `false` when it had already ended.
    pub(crate) fn try_finish(&self) -> bool {
        self.state.send_if_modified(|state| {
            let open = !matches!(state.phase, Phase::Finished { .. });
            if open {
                state.phase = Phase::Finished { by_platform: false };
            }
            open
        })
    }

    /// Ends the invocation from the platform side with `error`; `false` when it had already
    /// ended, or when `only_if_queued` and a runtime has taken it.
    pub(crate) fn abort(&self, error: InvocationError, only_if_queued: bool) -> bool {
        let ended = self.state.send_if_modified(|state| {
            let applies = if only_if_queued {
                state.phase == Phase::Queued
            } else {
                !matches!(state.phase, Phase::Finished { .. })
            };
            if applies {
                state.phase = Phase::Finished { by_platform: true };
            }
            applies
        });
        if ended {
            // A queued invocation that ends here never needs its event.
            self.payload.lock().unwrap().take();
            self.abort.send_replace(Some(error));
        }
        ended
    }

    /// Resolves when the platform has ended the invocation.
    pub(crate) async fn aborted(&self) {
        let mut rx = self.abort.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }

    /// Resolves when the invocation has ended, by the runtime or the platform.
    pub(crate) async fn finished(&self) {
        let _ = self.state.subscribe().wait_for(|s| matches!(s.phase, Phase::Finished { .. })).await;
    }

    /// The runtime that took it asked for its next invocation (see the field's documentation).
    pub(crate) fn mark_returned(&self) {
        self.returned.send_replace(true);
    }

    /// Whether the runtime that took it has asked for its next invocation.
    pub(crate) fn has_returned(&self) -> bool {
        *self.returned.borrow()
    }

    /// Whether the platform ended it.
    pub(crate) fn is_aborted(&self) -> bool {
        self.abort.borrow().is_some()
    }

    /// Whether nothing of it can still run out of time: its handler returned (the runtime asked
    /// for its next invocation) and it ended. A runtime that asks again without answering has
    /// returned but left its caller waiting, so both are needed (found by the `emulator` fuzz
    /// target).
    pub(crate) fn is_settled(&self) -> bool {
        self.has_returned() && matches!(self.phase(), Phase::Finished { .. })
    }
}

/// The front end's end of an invocation.
#[derive(Debug)]
pub(crate) struct InvocationStream {
    rx: mpsc::Receiver<Event>,
    abort: watch::Receiver<Option<InvocationError>>,
}

impl InvocationStream {
    /// The next event. After a platform abort (deadline, size cap, process exit) the chunks the
    /// runtime sent before it, already queued here, still go out first, then the abort's error:
    /// the bytes before a cut are delivered, however far the relay lags behind (a queued end
    /// of the runtime's own is dropped, the platform's error wins). Once the invocation itself
    /// is gone (its last holder dropped it after it ended), the events still queued are read out.
    pub(crate) async fn next(&mut self) -> Event {
        loop {
            if let Some(error) = self.abort.borrow().clone() {
                while let Ok(event) = self.rx.try_recv() {
                    if !matches!(event, Event::Done(_)) {
                        return event;
                    }
                }
                return Event::Done(Err(error));
            }
            if self.abort.has_changed().is_err() {
                return self.queued().await;
            }
            tokio::select! {
                biased;
                // Err: the invocation is gone; the loop then reads what it queued.
                _ = self.abort.changed() => {}
                event = self.rx.recv() => return event.unwrap_or_else(no_result),
            }
        }
    }

    async fn queued(&mut self) -> Event {
        self.rx.recv().await.unwrap_or_else(no_result)
    }
}

/// The end reported when the runtime side went away without one (it cannot hang the client).
fn no_result() -> Event {
    Event::Done(Err(InvocationError::platform(
        lambda_stream_protocol::diagnostic::error_types::RUNTIME_TRUNCATED_RESPONSE,
        "the runtime's answer ended without a result",
    )))
}
