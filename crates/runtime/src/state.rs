//! The writer's rules as a pure state machine: no I/O, no async, no clock.
//!
//! In the manner of h2's `proto/streams/state.rs` and quinn-proto, every writer call goes in as a
//! method call, and out comes either the [`Action`] the writer must perform on the wire or the
//! [`StreamError`] misuse variant that call earns. The writer ([`crate::writer`]) performs the
//! actions through the Runtime API client and tells the machine when the Runtime API failed it
//! ([`WriterState::fault`]); the machine never waits and never fails on its own.
//!
//! Why: the rules (which call is allowed when, buffered or streamed, which misuse variant, what
//! the runtime does when the handler returns or fails) are the part most worth testing, and
//! without I/O they can be driven by property tests through long random call sequences against
//! a reference model in microseconds (`tests` below), while the wire-level tests
//! (`tests/writer_props.rs`) check that the writer carries the actions out.
//!
//! The diagram of the phases is on the public [`ResponseStreamWriter`](crate::ResponseStreamWriter)
//! documentation, where authors see it; this module is its single implementation.
//!
//! Parts:
//! - [`WriterState`]: the phase and the author's content type; one method per call.
//! - [`Action`], [`Open`]: what to put on the wire, in the order the fields are listed.
//! - Pure helpers: the head's content type and the prelude as sent (the author's content type
//!   moves into the prelude's headers when it names none).

use bytes::Bytes;
use lambda_stream_protocol::limits::MAX_BUFFERED_RESPONSE_BYTES;
use lambda_stream_protocol::{ErrorDiagnostic, Prelude, names, prelude};

use crate::error::StreamError;

/// The phase of one response (drawn on [`ResponseStreamWriter`](crate::ResponseStreamWriter)).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Nothing set, nothing sent.
    Idle,
    /// Status and headers set and held, so that a following `finish` can still go buffered.
    HeadersSet(Prelude),
    /// The streamed `POST /response` is open (its head and the prelude, if any, are sent).
    Streaming,
    /// The response is over: ended, sent buffered, or handed to `/error`.
    Finished,
    /// The Runtime API failed the response; every later call returns this fault.
    Failed(StreamError),
}

/// How to open the streamed `POST /response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Open {
    /// The head's `Content-Type`.
    pub(crate) content_type: String,
    /// The prelude as its two chunks, the JSON then the eight-NUL delimiter, to send first.
    ///
    /// Two chunks as NODE (`src/HttpResponseStream.js`) and RUST (`lambda-runtime/src/requests.rs`)
    /// write them: Lambda does not care where chunks split, but cargo-lambda's emulator reads the
    /// first chunk as the JSON and the second as the delimiter, and fails the call otherwise.
    pub(crate) prelude: Option<[Bytes; 2]>,
}

/// Why a failed handler's error cannot go on the wire any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unreported {
    /// The response was already finished (and stands).
    Finished,
    /// The Runtime API had already failed the response with this fault.
    Fault(StreamError),
}

/// What the writer must do for one call. Each variant is one whole step; within [`Action::Stream`]
/// the parts happen in the order of its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing goes on the wire now (status and headers held, an empty write on an open stream).
    Nothing,
    /// On the streamed `POST /response`: open it first if `open` says so, then send `chunk`, then
    /// end the body cleanly and wait for the Runtime API's answer if `end`.
    Stream {
        /// Open the stream (head, then the prelude chunks).
        open: Option<Open>,
        /// One data chunk; never empty (an empty chunk would read as the end of a chunked body).
        chunk: Option<Bytes>,
        /// End the body (no trailers) and wait for the answer.
        end: bool,
    },
    /// One buffered `POST /response` with a `Content-Length`, no streaming mode.
    Buffered {
        /// The request's `Content-Type`.
        content_type: String,
        /// The whole body: the prelude (if any), then the payload.
        body: Bytes,
    },
    /// End the open stream with the error trailers, so the bytes already sent stay sent.
    EndWithTrailers(ErrorDiagnostic),
    /// Nothing was sent: report the error through `POST /error`.
    ReportError(ErrorDiagnostic),
    /// The handler failed when nothing more could be said on the wire: log it.
    Log(ErrorDiagnostic, Unreported),
}

impl Action {
    /// A stream step, or [`Action::Nothing`] when it has nothing to do.
    fn stream(open: Option<Open>, chunk: Bytes, end: bool) -> Self {
        let chunk = (!chunk.is_empty()).then_some(chunk);
        if open.is_none() && chunk.is_none() && !end { Self::Nothing } else { Self::Stream { open, chunk, end } }
    }
}

/// The rules of one response; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriterState {
    phase: Phase,
    /// The author's content type, until the response starts (then it is used and dropped).
    content_type: Option<String>,
}

impl Default for WriterState {
    fn default() -> Self {
        Self::new()
    }
}

impl WriterState {
    /// A response with nothing set.
    pub(crate) fn new() -> Self {
        Self { phase: Phase::Idle, content_type: None }
    }

    /// The phase's name, for `Debug` output of the writer.
    pub(crate) fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::Idle => "Idle",
            Phase::HeadersSet(_) => "HeadersSet",
            Phase::Streaming => "Streaming",
            Phase::Finished => "Finished",
            Phase::Failed(_) => "Failed",
        }
    }

    /// The Runtime API fault that failed the response, if one did.
    pub(crate) fn fault_seen(&self) -> Option<&StreamError> {
        match &self.phase {
            Phase::Failed(fault) => Some(fault),
            _ => None,
        }
    }

    /// `set_content_type`: only before the response started; the value must fit a header.
    pub(crate) fn set_content_type(&mut self, value: String) -> Result<(), StreamError> {
        match &self.phase {
            Phase::Idle | Phase::HeadersSet(_) => {}
            Phase::Streaming | Phase::Finished => return Err(StreamError::ContentTypeAfterStart),
            Phase::Failed(e) => return Err(e.clone()),
        }
        // Visible ASCII, space and tab, as the error says (all a header value may carry, minus the
        // obs-text bytes above 127 that `http::HeaderValue` would also take and a media type never
        // holds).
        if !value.bytes().all(|b| b == b'\t' || b == b' ' || b.is_ascii_graphic()) {
            return Err(StreamError::InvalidContentType { value });
        }
        self.content_type = Some(value);
        Ok(())
    }

    /// `write_status_and_headers`: held until the first body call.
    pub(crate) fn status_and_headers(&mut self, head: Prelude) -> Result<Action, StreamError> {
        match &self.phase {
            Phase::Idle => {
                self.phase = Phase::HeadersSet(head);
                Ok(Action::Nothing)
            }
            Phase::HeadersSet(_) => Err(StreamError::HeadersTwice),
            Phase::Streaming => Err(StreamError::HeadersAfterBody),
            Phase::Finished => Err(StreamError::HeadersAfterFinish),
            Phase::Failed(e) => Err(e.clone()),
        }
    }

    /// `write`: opens the stream on the first call; an empty chunk sends nothing else.
    pub(crate) fn write(&mut self, chunk: Bytes) -> Result<Action, StreamError> {
        match &self.phase {
            Phase::Finished => Err(StreamError::WriteAfterFinish),
            Phase::Failed(e) => Err(e.clone()),
            Phase::Idle | Phase::HeadersSet(_) => {
                let open = self.open();
                Ok(Action::stream(Some(open), chunk, false))
            }
            Phase::Streaming => Ok(Action::stream(None, chunk, false)),
        }
    }

    /// `finish`: buffered as the first body call, else the end of the stream.
    pub(crate) fn finish(&mut self) -> Result<Action, StreamError> {
        self.write_and_finish_inner(Bytes::new())
    }

    /// `write_and_finish`: buffered as the first body call when the prelude and `chunk` add up to
    /// at most 6 MB (`limits::MAX_BUFFERED_RESPONSE_BYTES`), else streamed and ended.
    pub(crate) fn write_and_finish(&mut self, chunk: Bytes) -> Result<Action, StreamError> {
        self.write_and_finish_inner(chunk)
    }

    fn write_and_finish_inner(&mut self, chunk: Bytes) -> Result<Action, StreamError> {
        match &self.phase {
            Phase::Finished => Err(StreamError::FinishAfterFinish),
            Phase::Failed(e) => Err(e.clone()),
            Phase::Streaming => {
                self.phase = Phase::Finished;
                Ok(Action::stream(None, chunk, true))
            }
            Phase::Idle | Phase::HeadersSet(_) => Ok(self.first_and_last(chunk)),
        }
    }

    /// The handler returned `Ok`: whatever it left open is finished for it (an unfinished
    /// response is finished, never reported as an error).
    pub(crate) fn returned(&mut self) -> Action {
        match &self.phase {
            Phase::Finished | Phase::Failed(_) => Action::Nothing,
            Phase::Streaming => {
                self.phase = Phase::Finished;
                Action::stream(None, Bytes::new(), true)
            }
            Phase::Idle | Phase::HeadersSet(_) => self.first_and_last(Bytes::new()),
        }
    }

    /// The handler failed (error or panic): `/error` when nothing was sent, trailers on an open
    /// stream, a log line when the response is already over.
    pub(crate) fn handler_failed(&mut self, diagnostic: ErrorDiagnostic) -> Action {
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            // Held status and headers were never sent: the response now belongs to `/error`.
            Phase::Idle | Phase::HeadersSet(_) => Action::ReportError(diagnostic),
            Phase::Streaming => Action::EndWithTrailers(diagnostic),
            Phase::Finished => Action::Log(diagnostic, Unreported::Finished),
            Phase::Failed(e) => {
                self.phase = Phase::Failed(e.clone());
                Action::Log(diagnostic, Unreported::Fault(e))
            }
        }
    }

    /// The Runtime API failed the response (the writer saw it while performing an action): every
    /// later call returns `fault`.
    pub(crate) fn fault(&mut self, fault: StreamError) {
        self.phase = Phase::Failed(fault);
    }

    /// Idle/HeadersSet, first body call that also ends: buffered when it fits, else streamed.
    fn first_and_last(&mut self, chunk: Bytes) -> Action {
        let (content_type, prelude) = self.start(Phase::Finished);
        let total = prelude.as_ref().map_or(0, Bytes::len) as u64 + chunk.len() as u64;
        if total > MAX_BUFFERED_RESPONSE_BYTES {
            return Action::stream(Some(opening(content_type, prelude)), chunk, true);
        }
        let body = match prelude {
            Some(p) => [p, chunk].concat().into(),
            None => chunk,
        };
        Action::Buffered { content_type, body }
    }

    /// Idle/HeadersSet → Streaming: how to open the stream.
    fn open(&mut self) -> Open {
        let (content_type, prelude) = self.start(Phase::Streaming);
        opening(content_type, prelude)
    }

    /// Leaves Idle/HeadersSet for `next`: the head's content type and the prelude as sent.
    fn start(&mut self, next: Phase) -> (String, Option<Bytes>) {
        let prelude = match std::mem::replace(&mut self.phase, next) {
            Phase::HeadersSet(p) => Some(self.prelude_bytes(&p)),
            _ => None,
        };
        (self.wire_content_type(prelude.is_some()), prelude)
    }

    /// The content type of the request head: the integration type with a prelude, else the
    /// author's, else `application/octet-stream`. The author's is used up: the response starts.
    fn wire_content_type(&mut self, with_prelude: bool) -> String {
        let authors = self.content_type.take();
        if with_prelude {
            names::HTTP_INTEGRATION_CONTENT_TYPE.to_owned()
        } else {
            authors.unwrap_or_else(|| names::DEFAULT_STREAM_CONTENT_TYPE.to_owned())
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
}

/// The opening of a stream: the prelude split into its JSON and its delimiter.
fn opening(content_type: String, prelude: Option<Bytes>) -> Open {
    let prelude = prelude.map(|bytes| {
        let json_len = bytes.len() - prelude::DELIMITER.len();
        [bytes.slice(..json_len), bytes.slice(json_len..)]
    });
    Open { content_type, prelude }
}

/// Whether the prelude names `name` among its headers, in either map, in any case.
fn has_header(prelude: &Prelude, name: &str) -> bool {
    prelude.headers.keys().chain(prelude.multi_value_headers.keys()).any(|k| k.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests;
