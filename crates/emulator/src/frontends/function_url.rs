//! The function URL front end (every path of the public listener that no other front end owns):
//! payload v2.0 in, status/headers from the prelude, body streamed as it arrives.
//!
//! Phases of one request: admission (body cap, SigV4), the event and the invocation, the head
//! (wait for the runtime's answer to start; decode the prelude at any chunk split, or take the
//! runtime's content type; an error before the first body byte is a 502), the response head
//! (sanitised headers), then the body, whose every frame hyper's connection task reads straight
//! from the invocation's events when it wants the next ([`Relay`]: no task and no channel between).
//!
//! ## Headers a function may not set
//! The emulator frames the client's response itself, as the function URL service does, so the
//! prelude's connection-level and framing headers are dropped (a proxy must not forward them,
//! RFC 9110 §7.6.1): `connection` and every header it names, `keep-alive`, `proxy-connection`,
//! `te`, `trailer`, `transfer-encoding` and `upgrade`. `content-length` arrives renamed to
//! `x-amzn-remapped-content-length` (docs/protocol.md §1). `x-amzn-requestid` is the emulator's:
//! a function's value is dropped. Each dropped header is logged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::{PreludeDecoder, PreludeProgress, names};

use super::{Admitted, ClientGuard, admit};
use crate::http::{self as h, BodyError, Cut, ResponseBody};
use crate::invocation::{Event, FrontEnd, InvocationError, InvocationStream, NewInvocation};
use crate::payload::{UrlRequestInfo, function_url_event};
use crate::platform::Platform;
use crate::recorder::{ClientEnd, FaultKind};
use crate::shaping::Shaper;

/// Error type of a 502 for an answer whose prelude could not be used.
const MALFORMED_PRELUDE: &str = "Runtime.MalformedPrelude";

/// Headers of the connection, not of the message (RFC 9110 §7.6.1), and the message framing the
/// emulator owns.
const HOP_BY_HOP: [&str; 7] =
    ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/// Serves one function URL request (or `/invoke`, with `front_end` saying which: its event is the
/// raw body).
pub(crate) async fn serve(
    platform: Arc<Platform>,
    peer: SocketAddr,
    req: Request<Incoming>,
    front_end: FrontEnd,
) -> Response<ResponseBody> {
    let Admitted { parts, body, caller } = match admit(&platform, req).await {
        Ok(admitted) => admitted,
        Err(refusal) => return *refusal,
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let info = UrlRequestInfo {
        request_id: &request_id,
        peer,
        account_id: &platform.function.account_id,
        iam_access_key: caller.as_deref(),
        now: SystemTime::now(),
    };
    // `/invoke` passes its body as the event, byte for byte (frontends/local.rs says why); a
    // function URL wraps the request in payload format 2.0.
    let event = match front_end {
        FrontEnd::LocalInvoke => body,
        _ => Bytes::from(function_url_event(&parts, &body, &info)),
    };
    let mut new = NewInvocation::new(event, front_end);
    new.request_id = Some(request_id.clone());
    let (_invocation, mut stream) = platform.submit(new);
    let id = request_id;
    let guard = ClientGuard::new(&platform.recorder, &id);

    let head = match await_head(&mut stream).await {
        Ok(head) => head,
        Err(failure) => {
            guard.disarm();
            return bad_gateway(&platform, &id, failure);
        }
    };
    // No body may follow the head for these (RFC 9110 §6.4.1): the rest of the answer is read
    // and dropped, so the runtime is not left blocked on a body nobody reads.
    let bodiless = parts.method == Method::HEAD || matches!(head.status.as_u16(), 204 | 304);
    let streaming = !head.finished && !bodiless;
    let mut response = Response::new(h::empty());
    *response.status_mut() = head.status;
    set_headers(&mut response, head.headers, &id);
    platform.recorder.client_head(&id, head.status.as_u16(), h::header_list(response.headers()));
    guard.disarm();
    if streaming {
        // The first chunk is the body's first frame: hyper polls it right after writing the head,
        // so the two leave in one write (unless shaping makes the chunk wait for its tokens).
        let shaper = platform.limits.bandwidth.map(Shaper::new);
        let relay = Relay { platform: platform.clone(), id, stream, pending: head.first, shaper, ended: false };
        *response.body_mut() = h::pulled(relay, Relay::step);
    } else {
        platform.recorder.client_end(&id, ClientEnd::Completed);
        if !head.finished {
            tokio::spawn(async move { while !matches!(stream.next().await, Event::Done(_)) {} });
        }
    }
    response
}

/// What the client's response head is made of.
struct Head {
    status: StatusCode,
    headers: Vec<(String, String)>,
    /// Body bytes that arrived with the end of the prelude (or the first chunk without one).
    first: Option<Bytes>,
    /// The answer ended before any body byte.
    finished: bool,
}

/// Why there is no head: the client gets a 502.
enum Failure {
    /// The function or the platform ended the invocation with an error before the first byte.
    Error(InvocationError),
    /// The prelude could not be used.
    Prelude(String),
}

/// Waits for the runtime's answer to start and produces the response head.
async fn await_head(stream: &mut InvocationStream) -> Result<Head, Failure> {
    let content_type = loop {
        match stream.next().await {
            Event::Start { content_type } => break content_type,
            Event::Chunk(_) => continue,
            Event::Done(Ok(())) => break names::DEFAULT_STREAM_CONTENT_TYPE.to_owned(),
            Event::Done(Err(e)) => return Err(Failure::Error(e)),
        }
    };
    if is_http_integration(&content_type) {
        decode_prelude(stream).await
    } else {
        first_byte(stream, content_type).await
    }
}

/// Where a content type names the HTTP-integration prelude (parameters ignored).
fn is_http_integration(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(names::HTTP_INTEGRATION_CONTENT_TYPE))
}

/// Decodes the prelude from however many chunks it spans.
async fn decode_prelude(stream: &mut InvocationStream) -> Result<Head, Failure> {
    let mut decoder = PreludeDecoder::new();
    loop {
        match stream.next().await {
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
                    return Ok(Head { status, headers: prelude.response_headers(), first, finished: false });
                }
                Err(e) => return Err(Failure::Prelude(e.to_string())),
            },
            Event::Done(Ok(())) => {
                // An empty body: nothing to decode, so the defaults stand (a lenient choice).
                if decoder.consumed() == 0 {
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
/// so that an error before it can still be a 502.
async fn first_byte(stream: &mut InvocationStream, content_type: String) -> Result<Head, Failure> {
    let headers = vec![("content-type".to_owned(), content_type)];
    loop {
        match stream.next().await {
            Event::Start { .. } => {}
            Event::Chunk(bytes) => {
                return Ok(Head { status: StatusCode::OK, headers, first: Some(bytes), finished: false });
            }
            Event::Done(Ok(())) => return Ok(Head { status: StatusCode::OK, headers, first: None, finished: true }),
            Event::Done(Err(e)) => return Err(Failure::Error(e)),
        }
    }
}

/// Puts the function's headers on the response, without the ones it may not set, then the
/// emulator's request id.
fn set_headers(response: &mut Response<ResponseBody>, headers: Vec<(String, String)>, id: &str) {
    let named_by_connection: Vec<String> = headers
        .iter()
        .filter(|(name, _)| name == "connection")
        .flat_map(|(_, value)| value.split(',').map(|n| n.trim().to_ascii_lowercase()))
        .collect();
    for (name, value) in headers {
        if HOP_BY_HOP.contains(&name.as_str()) || named_by_connection.contains(&name) || name == names::AMZN_REQUEST_ID
        {
            tracing::warn!(request_id = %id, "dropped prelude header {name:?}: the function URL sets it, not the function");
            continue;
        }
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => tracing::warn!(request_id = %id, "dropped an invalid prelude header {name:?}: {value:?}"),
        }
    }
    if let Ok(v) = HeaderValue::from_str(id) {
        response.headers_mut().insert(names::AMZN_REQUEST_ID, v);
    }
}

/// 502 for an error before the first byte (a function error, a platform error, or an unusable
/// prelude).
fn bad_gateway(platform: &Platform, id: &str, failure: Failure) -> Response<ResponseBody> {
    let error = match failure {
        Failure::Error(error) => error,
        Failure::Prelude(problem) => {
            let message = format!("malformed HTTP-integration prelude: {problem}");
            platform.recorder.fault(Some(id), FaultKind::MalformedPrelude, &message);
            InvocationError::platform(MALFORMED_PRELUDE, message)
        }
    };
    let body = serde_json::json!({ "errorType": error.error_type, "errorMessage": error.error_message });
    let mut response = h::json_response(StatusCode::BAD_GATEWAY, &body);
    if let Ok(v) = HeaderValue::from_str(id) {
        response.headers_mut().insert(names::AMZN_REQUEST_ID, v);
    }
    platform.recorder.client_head(id, 502, h::header_list(response.headers()));
    platform.recorder.client_chunk(id, body.to_string().len());
    platform.recorder.client_end(id, ClientEnd::Completed);
    response
}

/// The client's body: each frame is the invocation's next chunk, read when hyper asks for it
/// (see [`h::pulled`]). A mid-stream failure ends the body with an error. When the client goes
/// away hyper drops the body, and with it the invocation's stream, so the Runtime API side reads
/// the runtime's further chunks and discards them.
struct Relay {
    platform: Arc<Platform>,
    id: String,
    stream: InvocationStream,
    /// A chunk to send before reading the stream: the one that came with the head.
    pending: Option<Bytes>,
    shaper: Option<Shaper>,
    /// The body has ended (completed or cut) and says so in the recorder.
    ended: bool,
}

impl Relay {
    async fn step(mut self) -> Option<(Result<Bytes, BodyError>, Self)> {
        if self.ended {
            return None;
        }
        let bytes = match self.pending.take() {
            Some(bytes) => bytes,
            None => loop {
                match self.stream.next().await {
                    Event::Start { .. } => {}
                    Event::Chunk(bytes) => break bytes,
                    Event::Done(Ok(())) => {
                        self.end(ClientEnd::Completed);
                        return None;
                    }
                    Event::Done(Err(e)) => {
                        let reason = format!("{}: {}", e.error_type, e.error_message);
                        tracing::warn!(request_id = %self.id, "stream cut after the head was sent: {reason}");
                        // hyper drops what it has buffered but not yet written when the body
                        // fails: a moment for it to flush the last chunks before the cut.
                        tokio::time::sleep(FLUSH_PAUSE).await;
                        self.end(ClientEnd::Aborted { reason: reason.clone() });
                        return Some((Err(Box::new(Cut(reason))), self));
                    }
                }
            },
        };
        if let Some(shaper) = &mut self.shaper {
            shaper.take(bytes.len()).await;
        }
        self.platform.recorder.client_chunk(&self.id, bytes.len());
        Some((Ok(bytes), self))
    }

    fn end(&mut self, end: ClientEnd) {
        self.ended = true;
        self.platform.recorder.client_end(&self.id, end);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.ended {
            tracing::info!(request_id = %self.id, "client went away; the function's further output is dropped");
            self.platform.recorder.client_end(&self.id, ClientEnd::Disconnected);
        }
    }
}

/// How long a cut body waits for hyper to flush what it holds: hyper has taken every earlier
/// frame when it polls for the next, so only its write buffer is left.
const FLUSH_PAUSE: Duration = Duration::from_millis(10);
