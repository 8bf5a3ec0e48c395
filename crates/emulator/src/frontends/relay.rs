//! What the two HTTP front ends that answer with the function's own status and headers (the
//! function URL and API Gateway) share: waiting for the head of the answer, decoding the prelude
//! at any chunk split, putting the function's headers on the response without the ones it may not
//! set, and the body that streams the rest.
//!
//! ## Parts
//! - [`Timers`]: the clocks a front end puts on the function's stream. The function URL has none
//!   (the platform's invocation deadline is the only one); API Gateway has an idle timeout and an
//!   integration timeout. Both run on `tokio::time`, so tests pause the clock.
//! - [`await_head`]: the answer's head, or why there is none ([`Failure`]). [`HeadRule`] says
//!   whether the prelude is read when the content type announces it (function URL) or always
//!   (API Gateway reads every streamed answer as prelude, APIGW "Lambda proxy integration format
//!   for response streaming").
//! - [`set_headers`]: the function's headers minus hop-by-hop ones and the names the front end
//!   owns (RFC 9110 §7.6.1: a proxy frames the message itself).
//! - [`body`]: the client's body, which reads the function's chunks itself when hyper asks for
//!   the next frame (on hyper's connection task, [`h::pulled`]; no relay task, no second channel),
//!   passing them through optional shapers, under the timers, holding the body to a declared
//!   `Content-Length` when the front end passes one on. A mid-stream error, an expired timer or a
//!   length mismatch cuts the body (hyper then ends the chunked transfer without its terminating
//!   chunk). When hyper drops the body because the client went away (a write to it failed: client
//!   listeners allow half-close, so a silent stream does not notice), that is recorded at once.
//!
//! ## Headers a function may not set
//! `connection` and every header it names, `keep-alive`, `proxy-connection`, `te`, `trailer`,
//! `transfer-encoding` and `upgrade`, plus the names the front end passes in `owned` (its request
//! id and the like). Each dropped header is logged.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use hyper::Response;
use lambda_stream_protocol::{PreludeDecoder, PreludeProgress, names};
use tokio::time::Instant;

use crate::http::{self as h, BodyError, Cut, ResponseBody};
use crate::invocation::{Event, InvocationError, InvocationStream};
use crate::platform::Platform;
use crate::recorder::ClientEnd;
use crate::shaping::Shaper;

/// Error type recorded (and, on a function URL, answered) for an answer whose prelude could not be used.
pub(crate) const MALFORMED_PRELUDE: &str = "Runtime.MalformedPrelude";

/// Headers of the connection, not of the message (RFC 9110 §7.6.1), and the message framing the
/// emulator owns.
const HOP_BY_HOP: [&str; 7] =
    ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/// Which clock ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// No data from the function for the idle timeout.
    Idle(Duration),
    /// The integration timeout passed since the call.
    Integration(Duration),
}

impl std::fmt::Display for Expiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expiry::Idle(d) => write!(f, "no data from the function for {:.1} s (idle timeout)", d.as_secs_f64()),
            Expiry::Integration(d) => write!(f, "the integration timeout of {:.1} s passed", d.as_secs_f64()),
        }
    }
}

/// The clocks on a function's stream: an idle timeout (restarted by every event) and an overall
/// deadline. `Timers::default()` has none.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timers {
    pub(crate) idle: Option<Duration>,
    /// The deadline and the timeout it came from (for the message).
    pub(crate) deadline: Option<(Instant, Duration)>,
}

impl Timers {
    /// The next event of the stream, or the clock that ran out first.
    pub(crate) async fn next(&self, stream: &mut InvocationStream) -> Result<Event, Expiry> {
        let deadline = self.deadline.map(|(at, _)| at);
        let idle_at = self.idle.map(|idle| Instant::now() + idle);
        let wake = match (deadline, idle_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(wake) = wake else { return Ok(stream.next().await) };
        match tokio::time::timeout_at(wake, stream.next()).await {
            Ok(event) => Ok(event),
            Err(_) => Err(match (self.deadline, self.idle) {
                (Some((at, timeout)), _) if at <= Instant::now() => Expiry::Integration(timeout),
                (_, Some(idle)) => Expiry::Idle(idle),
                (Some((_, timeout)), None) => Expiry::Integration(timeout),
                (None, None) => Expiry::Idle(Duration::ZERO),
            }),
        }
    }
}

/// What the client's response head is made of.
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(String, String)>,
    /// Body bytes that arrived with the end of the prelude (or the first chunk without one).
    pub(crate) first: Option<Bytes>,
    /// The answer ended before any body byte.
    pub(crate) finished: bool,
}

/// Why there is no head.
pub(crate) enum Failure {
    /// The function or the platform ended the invocation with an error before the first byte.
    Error(InvocationError),
    /// The prelude could not be used.
    Prelude(String),
    /// A clock of [`Timers`] ran out before the head.
    Expired(Expiry),
}

/// How the head is read from the function's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadRule {
    /// Function URL: the prelude when the content type announces it, else status 200 with the
    /// runtime's content type; an empty prelude body means 200 without headers.
    PreludeIfAnnounced,
    /// API Gateway: every answer must open with a prelude; an empty body has none.
    PreludeAlways,
}

/// The headers of the prelude that a front end answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PreludeHeaders {
    /// `Content-Length` renamed to `x-amzn-remapped-content-length` (function URL).
    Remapped,
    /// As the function wrote them (API Gateway keeps `Content-Length`).
    AsWritten,
}

/// Waits for the runtime's answer to start and produces the response head.
pub(crate) async fn await_head(
    stream: &mut InvocationStream,
    timers: Timers,
    rule: HeadRule,
    wanted: PreludeHeaders,
) -> Result<Head, Failure> {
    let content_type = loop {
        match timers.next(stream).await.map_err(Failure::Expired)? {
            Event::Start { content_type } => break content_type,
            Event::Chunk(_) => continue,
            Event::Done(Ok(())) => break names::DEFAULT_STREAM_CONTENT_TYPE.to_owned(),
            Event::Done(Err(e)) => return Err(Failure::Error(e)),
        }
    };
    if rule == HeadRule::PreludeAlways || is_http_integration(&content_type) {
        decode_prelude(stream, timers, rule, wanted).await
    } else {
        first_byte(stream, timers, content_type).await
    }
}

/// Whether a content type names the HTTP-integration prelude (parameters ignored).
fn is_http_integration(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(names::HTTP_INTEGRATION_CONTENT_TYPE))
}

/// Decodes the prelude from however many chunks it spans.
async fn decode_prelude(
    stream: &mut InvocationStream,
    timers: Timers,
    rule: HeadRule,
    wanted: PreludeHeaders,
) -> Result<Head, Failure> {
    let mut decoder = PreludeDecoder::new();
    loop {
        match timers.next(stream).await.map_err(Failure::Expired)? {
            Event::Start { .. } => {}
            Event::Chunk(bytes) => match decoder.push(bytes) {
                Ok(PreludeProgress::NeedMore) => {}
                Ok(PreludeProgress::Complete { prelude, rest }) => {
                    let code = prelude.status();
                    let status =
                        StatusCode::from_u16(code).ok().filter(|s| (200..=599).contains(&s.as_u16())).ok_or_else(
                            || Failure::Prelude(format!("statusCode {code} is not a final status (200 to 599)")),
                        )?;
                    let first = (!rest.is_empty()).then_some(rest);
                    let headers = match wanted {
                        PreludeHeaders::Remapped => prelude.response_headers(),
                        PreludeHeaders::AsWritten => prelude.merged_headers(),
                    };
                    return Ok(Head { status, headers, first, finished: false });
                }
                Err(e) => return Err(Failure::Prelude(e.to_string())),
            },
            Event::Done(Ok(())) => {
                // An empty body: nothing to decode. The function URL lets the defaults stand (a
                // lenient choice); API Gateway requires metadata and the delimiter.
                if decoder.consumed() == 0 && rule == HeadRule::PreludeIfAnnounced {
                    return Ok(Head { status: StatusCode::OK, headers: Vec::new(), first: None, finished: true });
                }
                let e = decoder.finish().err().map(|e| e.to_string()).unwrap_or_default();
                return Err(Failure::Prelude(e));
            }
            Event::Done(Err(e)) => return Err(Failure::Error(e)),
        }
    }
}

/// Without a prelude: status 200, the runtime's content type, and the wait for the first byte,
/// so that an error before it can still be answered with a status.
async fn first_byte(stream: &mut InvocationStream, timers: Timers, content_type: String) -> Result<Head, Failure> {
    let headers = vec![("content-type".to_owned(), content_type)];
    loop {
        match timers.next(stream).await.map_err(Failure::Expired)? {
            Event::Start { .. } => {}
            Event::Chunk(bytes) => {
                return Ok(Head { status: StatusCode::OK, headers, first: Some(bytes), finished: false });
            }
            Event::Done(Ok(())) => return Ok(Head { status: StatusCode::OK, headers, first: None, finished: true }),
            Event::Done(Err(e)) => return Err(Failure::Error(e)),
        }
    }
}

/// Puts the function's headers on the response, without hop-by-hop headers and without the names
/// in `owned` (which the front end sets itself).
pub(crate) fn set_headers(
    response: &mut Response<ResponseBody>,
    headers: Vec<(String, String)>,
    owned: &[&str],
    id: &str,
) {
    let named_by_connection: Vec<String> = headers
        .iter()
        .filter(|(name, _)| name == "connection")
        .flat_map(|(_, value)| value.split(',').map(|n| n.trim().to_ascii_lowercase()))
        .collect();
    for (name, value) in headers {
        if HOP_BY_HOP.contains(&name.as_str()) || named_by_connection.contains(&name) || owned.contains(&name.as_str())
        {
            tracing::warn!(request_id = %id, "dropped prelude header {name:?}: the front end sets it, not the function");
            continue;
        }
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => tracing::warn!(request_id = %id, "dropped an invalid prelude header {name:?}: {value:?}"),
        }
    }
}

/// Ends the client leg of an answer sent without a body (no body at all, `HEAD`, 204, 304). The
/// stream is let go: when the function is still writing, the Runtime API sees that nobody listens
/// and reads the rest of its answer to the end without passing it on, so the runtime is never
/// left blocked on a body nobody reads (runtime_api.rs `deliver`).
pub(crate) fn end_without_body(platform: &Platform, id: &str, stream: InvocationStream) {
    platform.recorder.client_end(id, ClientEnd::Completed);
    drop(stream);
}

/// What a relay enforces besides passing chunks on.
#[derive(Debug, Default)]
pub(crate) struct RelayRules {
    /// Token buckets every chunk passes through, in order (Lambda's, then API Gateway's).
    pub(crate) shapers: Vec<Shaper>,
    /// Clocks on the function's stream.
    pub(crate) timers: Timers,
    /// Body bytes still owed to a `Content-Length` the client was given (counting any first
    /// chunk already sent); `None` when the body is chunked.
    pub(crate) remaining: Option<u64>,
}

/// The client's body of a streamed answer: the function's chunks as they arrive, read by hyper's
/// connection task itself when it asks for the next frame ([`h::pulled`]: no relay task and no
/// second channel between the invocation's events and the socket, docs/performance.md). `first`
/// is the body's start that came with the head (the end of the prelude, or the first chunk); it
/// is the first frame, so without shaping it leaves in the same write as the head.
pub(crate) fn body(
    platform: Arc<Platform>,
    id: String,
    stream: InvocationStream,
    first: Option<Bytes>,
    rules: RelayRules,
) -> ResponseBody {
    let relay = Relay { platform, id, stream: Some(stream), pending: first, rules, overflowed: false, ended: false };
    h::pulled(relay, Relay::step)
}

/// The state of a streamed body between two frames.
struct Relay {
    platform: Arc<Platform>,
    id: String,
    /// `None` only while [`Drop`] hands it to the task that reads its rest.
    stream: Option<InvocationStream>,
    /// A chunk to send before reading the stream again (the one that came with the head).
    pending: Option<Bytes>,
    rules: RelayRules,
    /// The function wrote past its declared `Content-Length`: the part that fitted went out, the
    /// body is cut next.
    overflowed: bool,
    /// The client leg's end is recorded (completed or cut); nothing more is sent.
    ended: bool,
}

impl Relay {
    /// The next frame: a chunk, the end (`None`), or the error that cuts the body.
    async fn step(mut self) -> Option<(Result<Bytes, BodyError>, Self)> {
        if self.ended {
            return None;
        }
        if self.overflowed {
            return Some(self.cut("the function wrote more than the Content-Length it declared".to_owned()).await);
        }
        let stream = self.stream.as_mut()?;
        let bytes = match self.pending.take() {
            Some(bytes) => bytes,
            None => loop {
                match self.rules.timers.next(stream).await {
                    Ok(Event::Start { .. }) => {}
                    Ok(Event::Chunk(bytes)) => break bytes,
                    Ok(Event::Done(Ok(()))) => {
                        if let Some(owed) = self.rules.remaining.filter(|owed| *owed > 0) {
                            let reason =
                                format!("the function ended {owed} bytes short of the Content-Length it declared");
                            return Some(self.cut(reason).await);
                        }
                        self.ended = true;
                        self.platform.recorder.client_end(&self.id, ClientEnd::Completed);
                        return None;
                    }
                    Ok(Event::Done(Err(e))) => {
                        return Some(self.cut(format!("{}: {}", e.error_type, e.error_message)).await);
                    }
                    Err(expiry) => return Some(self.cut(format!("API Gateway closed the stream: {expiry}")).await),
                }
            },
        };
        let bytes = match self.rules.remaining.as_mut() {
            Some(owed) if bytes.len() as u64 > *owed => {
                // Send what was owed, then cut: the client must not get more than it was promised.
                let fits = bytes.slice(..*owed as usize);
                *owed = 0;
                self.overflowed = true;
                if fits.is_empty() {
                    return Some(
                        self.cut("the function wrote more than the Content-Length it declared".to_owned()).await,
                    );
                }
                fits
            }
            Some(owed) => {
                *owed -= bytes.len() as u64;
                for shaper in &mut self.rules.shapers {
                    shaper.take(bytes.len()).await;
                }
                bytes
            }
            None => {
                for shaper in &mut self.rules.shapers {
                    shaper.take(bytes.len()).await;
                }
                bytes
            }
        };
        self.platform.recorder.client_chunk(&self.id, bytes.len());
        Some((Ok(bytes), self))
    }

    /// Ends the body with an error after what was sent so far, and records why.
    async fn cut(mut self, reason: String) -> (Result<Bytes, BodyError>, Self) {
        tracing::warn!(request_id = %self.id, "stream cut after the head was sent: {reason}");
        // hyper has taken every earlier frame (it is asking for this one) but may not have
        // written it yet, and drops what is unwritten when the body fails: while this waits,
        // hyper flushes, so the last chunks before the error reach the client.
        tokio::time::sleep(FLUSH_GRACE).await;
        self.ended = true;
        self.platform.recorder.client_end(&self.id, ClientEnd::Aborted { reason: reason.clone() });
        (Err(Box::new(Cut(reason))), self)
    }
}

impl Drop for Relay {
    /// hyper drops the body when the client goes away, which is recorded at once, and when a
    /// declared `Content-Length` has been sent in full; then the function's rest is still read
    /// (by a task of its own, off the client's path) to record how the answer ended.
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let sent_in_full = self.rules.remaining == Some(0);
        if self.overflowed || (sent_in_full && self.pending.as_ref().is_some_and(|b| !b.is_empty())) {
            let reason = "the function wrote more than the Content-Length it declared".to_owned();
            tracing::warn!(request_id = %self.id, "stream cut after the head was sent: {reason}");
            self.platform.recorder.client_end(&self.id, ClientEnd::Aborted { reason });
            return;
        }
        match (sent_in_full, self.stream.take(), tokio::runtime::Handle::try_current()) {
            (true, Some(stream), Ok(runtime)) => {
                runtime.spawn(rest_after_length(self.platform.clone(), self.id.clone(), stream, self.rules.timers));
            }
            _ => {
                tracing::info!(request_id = %self.id, "client went away; the function's further output is dropped");
                self.platform.recorder.client_end(&self.id, ClientEnd::Disconnected);
            }
        }
    }
}

/// After a declared `Content-Length` went out in full: reads the function's rest under the same
/// clocks and records the client leg's end as the relay would have (any further chunk, an error
/// or an expired clock cuts it; the Runtime API never passes on an empty chunk).
async fn rest_after_length(platform: Arc<Platform>, id: String, mut stream: InvocationStream, timers: Timers) {
    let end = loop {
        match timers.next(&mut stream).await {
            Ok(Event::Start { .. }) => {}
            Ok(Event::Chunk(_)) => {
                break ClientEnd::Aborted {
                    reason: "the function wrote more than the Content-Length it declared".to_owned(),
                };
            }
            Ok(Event::Done(Ok(()))) => break ClientEnd::Completed,
            Ok(Event::Done(Err(e))) => {
                break ClientEnd::Aborted { reason: format!("{}: {}", e.error_type, e.error_message) };
            }
            Err(expiry) => break ClientEnd::Aborted { reason: format!("API Gateway closed the stream: {expiry}") },
        }
    };
    if let ClientEnd::Aborted { reason } = &end {
        tracing::warn!(request_id = %id, "stream cut after the head was sent: {reason}");
    }
    platform.recorder.client_end(&id, end);
}

/// How long a cut body waits before failing, so that hyper writes out the frames before it.
const FLUSH_GRACE: Duration = Duration::from_millis(10);
