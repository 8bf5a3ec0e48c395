//! Invocations between the front ends and the Runtime API.
//!
//! A front end [`submit`](crate::server::Shared::submit)s an [`Invocation`] and keeps its
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

use crate::recorder::InvocationError;

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

/// Headers of the `/next` answer beyond the request id and deadline.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub(crate) client_context: Option<String>,
    pub(crate) cognito_identity: Option<String>,
    pub(crate) trace_id: String,
}

/// One invocation, shared by the front end, the Runtime API and the deadline task.
#[derive(Debug)]
pub(crate) struct Invocation {
    pub(crate) id: String,
    pub(crate) payload: Bytes,
    pub(crate) context: Context,
    /// Log sequence number when the invocation started: its log tail starts there.
    pub(crate) log_start: u64,
    pub(crate) events: mpsc::Sender<Event>,
    abort: watch::Sender<Option<InvocationError>>,
    state: Mutex<(Phase, Option<u32>)>,
}

impl Invocation {
    pub(crate) fn new(id: String, payload: Bytes, context: Context, log_start: u64) -> (Self, InvocationStream) {
        let (events, rx) = mpsc::channel(EVENT_BUFFER);
        let (abort, abort_rx) = watch::channel(None);
        let invocation =
            Self { id, payload, context, log_start, events, abort, state: Mutex::new((Phase::Queued, None)) };
        (invocation, InvocationStream { rx, abort: abort_rx })
    }

    pub(crate) fn phase(&self) -> Phase {
        self.state.lock().unwrap().0
    }

    /// The supervised slot that took it, if any.
    pub(crate) fn slot(&self) -> Option<u32> {
        self.state.lock().unwrap().1
    }

    /// `/next` handed it out.
    pub(crate) fn deliver(&self, slot: Option<u32>) {
        let mut state = self.state.lock().unwrap();
        if state.0 == Phase::Queued {
            *state = (Phase::Delivered, slot);
        }
    }

    /// An answer starts; returns the phase it was in (only `Delivered` lets it start).
    pub(crate) fn begin_answer(&self) -> Phase {
        let mut state = self.state.lock().unwrap();
        let before = state.0;
        if before == Phase::Delivered {
            state.0 = Phase::Responding;
        }
        before
    }

    /// Ends the invocation from the runtime side; `false` when it had already ended.
    pub(crate) fn try_finish(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        if matches!(state.0, Phase::Finished { .. }) {
            return false;
        }
        state.0 = Phase::Finished { by_platform: false };
        true
    }

    /// Ends the invocation from the platform side with `error`; `false` when it had already ended.
    pub(crate) fn abort(&self, error: InvocationError) -> bool {
        {
            let mut state = self.state.lock().unwrap();
            if matches!(state.0, Phase::Finished { .. }) {
                return false;
            }
            state.0 = Phase::Finished { by_platform: true };
        }
        self.abort.send_replace(Some(error));
        true
    }

    /// Resolves when the platform has ended the invocation.
    pub(crate) async fn aborted(&self) {
        let mut rx = self.abort.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }
}

/// The front end's end of an invocation.
#[derive(Debug)]
pub(crate) struct InvocationStream {
    rx: mpsc::Receiver<Event>,
    abort: watch::Receiver<Option<InvocationError>>,
}

impl InvocationStream {
    /// The next event; a platform abort wins over queued chunks.
    pub(crate) async fn next(&mut self) -> Event {
        loop {
            if let Some(error) = self.abort.borrow().clone() {
                return Event::Done(Err(error));
            }
            tokio::select! {
                biased;
                changed = self.abort.changed() => {
                    if changed.is_err() {
                        // The invocation is gone without an end: report it rather than hang.
                        return Event::Done(Err(InvocationError::platform(
                            lambda_stream_protocol::diagnostic::error_types::RUNTIME_TRUNCATED_RESPONSE,
                            "the invocation was dropped before it ended",
                        )));
                    }
                }
                event = self.rx.recv() => {
                    return event.unwrap_or_else(|| Event::Done(Err(InvocationError::platform(
                        lambda_stream_protocol::diagnostic::error_types::RUNTIME_TRUNCATED_RESPONSE,
                        "the runtime's answer ended without a result",
                    ))));
                }
            }
        }
    }
}
