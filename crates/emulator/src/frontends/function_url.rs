//! The function URL front end (every path of the public listener that no other front end owns):
//! payload v2.0 in, status/headers from the prelude, body streamed as it arrives.
//!
//! Phases of one request: admission (body cap, SigV4), the event and the invocation, the head
//! (wait for the runtime's answer to start; decode the prelude at any chunk split, or take the
//! runtime's content type; an error before the first body byte is a 502), the response head
//! (sanitised headers), then the relay task that streams the rest.
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
use crate::http::{self as h, Cut, FrameSender, ResponseBody};
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
    let (tx, response_body) = if streaming {
        let (tx, body) = h::channel();
        (Some(tx), body)
    } else {
        (None, h::empty())
    };
    let mut response = Response::new(response_body);
    *response.status_mut() = head.status;
    set_headers(&mut response, head.headers, &id);
    platform.recorder.client_head(&id, head.status.as_u16(), h::header_list(response.headers()));
    guard.disarm();
    match tx {
        Some(tx) => {
            let first = send_first_with_head(&platform, &id, &tx, head.first);
            tokio::spawn(relay(platform.clone(), id, stream, first, tx));
        }
        None => {
            platform.recorder.client_end(&id, ClientEnd::Completed);
            if !head.finished {
                tokio::spawn(async move { while !matches!(stream.next().await, Event::Done(_)) {} });
            }
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

/// Without shaping, the first chunk goes into the body before hyper gets the head, so the two
/// leave in one write instead of the head alone and the chunk after a wake-up of the relay task.
/// The channel is new and empty, so there is room. With shaping, the chunk waits for its tokens
/// in the relay like any other. Returns the chunk when it is still to be sent.
fn send_first_with_head(platform: &Platform, id: &str, tx: &FrameSender, first: Option<Bytes>) -> Option<Bytes> {
    match first {
        Some(bytes) if platform.limits.bandwidth.is_none() => {
            let len = bytes.len();
            match tx.try_send(Ok(bytes)) {
                Ok(()) => {
                    platform.recorder.client_chunk(id, len);
                    None
                }
                Err(unsent) => unsent.into_inner().ok(),
            }
        }
        other => other,
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

/// Pushes body chunks to the client as they arrive; ends the body with an error on a mid-stream
/// failure. The stream is dropped when the client goes away, so the runtime's further chunks are
/// read and discarded by the Runtime API side.
async fn relay(
    platform: Arc<Platform>,
    id: String,
    mut stream: InvocationStream,
    first: Option<Bytes>,
    tx: FrameSender,
) {
    let mut shaper = platform.limits.bandwidth.map(Shaper::new);
    let mut pending = first;
    loop {
        let bytes = match pending.take() {
            Some(bytes) => bytes,
            None => match stream.next().await {
                Event::Start { .. } => continue,
                Event::Chunk(bytes) => bytes,
                Event::Done(Ok(())) => {
                    platform.recorder.client_end(&id, ClientEnd::Completed);
                    return;
                }
                Event::Done(Err(e)) => {
                    let reason = format!("{}: {}", e.error_type, e.error_message);
                    tracing::warn!(request_id = %id, "stream cut after the head was sent: {reason}");
                    flushed(&tx).await;
                    let _ = tx.send(Err(Box::new(Cut(reason.clone())))).await;
                    platform.recorder.client_end(&id, ClientEnd::Aborted { reason });
                    return;
                }
            },
        };
        if let Some(shaper) = &mut shaper {
            shaper.take(bytes.len()).await;
        }
        let len = bytes.len();
        if tx.send(Ok(bytes)).await.is_err() {
            tracing::info!(request_id = %id, "client went away; the function's further output is dropped");
            platform.recorder.client_end(&id, ClientEnd::Disconnected);
            return;
        }
        platform.recorder.client_chunk(&id, len);
    }
}

/// Waits until hyper has taken every queued frame and had a moment to flush it. hyper drops
/// what it has buffered but not yet written when the body then fails, so without this wait the
/// last chunks before a mid-stream error could be lost instead of reaching the client.
async fn flushed(tx: &FrameSender) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while tx.capacity() < tx.max_capacity() && tokio::time::Instant::now() < deadline && !tx.is_closed() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}
