//! The client front ends: function URL (and the Swift-style `/invoke`), InvokeWithResponseStream,
//! and the buffered Invoke.
//!
//! Every front end relays what the runtime sends as it arrives: a relay task reads the
//! invocation's events and pushes each chunk into a small bounded channel that feeds the hyper
//! response body, so nothing is collected (except by the buffered Invoke, whose contract is to
//! collect) and a slow client slows the runtime rather than growing memory.
//!
//! ## Errors clients see
//! - **Function URL / `/invoke`**, error before the first body byte (or a malformed prelude):
//!   502 with `{"errorType","errorMessage"}` (the function's or the platform's error, normalised
//!   type). AWS answers an opaque `{"Message":"Internal Server Error"}`; locally the cause is what
//!   a developer needs, so the emulator names it. After the head was sent: the body ends with an
//!   error, so hyper drops the connection without the terminating zero-length chunk (spec §2,
//!   "Function URLs"), and the error is logged and recorded.
//! - **InvokeWithResponseStream**: always 200 once the function exists; errors arrive in the
//!   final `InvokeComplete` (`ErrorCode` = normalised type, `ErrorDetails` = the error JSON
//!   document, spec §2's choice), also when nothing was streamed before, as AWS does.
//! - **Invoke**: 200 with `X-Amz-Function-Error: Unhandled` and the error JSON as the body.
//! - Unknown function (IWRS, Invoke): 404 `ResourceNotFoundException`,
//!   `{"Type":"User","message":"Function not found: ARN"}` like AWS.
//! - SigV4 refused: 403 `{"Message": what is wrong}` with `x-amzn-errortype` set as AWS names it.
//!
//! ## Chunk boundaries
//! A chunk is relayed as hyper hands it over from the runtime's connection: a small chunk (what
//! runtimes write per `write` call) arrives whole and becomes one client chunk or one
//! `PayloadChunk`; a chunk larger than one socket read may be handed over, and so relayed, in
//! several pieces, each as soon as it is read.
//!
//! ## `Content-Type` of an IWRS answer
//! aws-sdk-lambda maps the HTTP `Content-Type` header to `ResponseStreamContentType`
//! (`protocol_serde/shape_invoke_with_response_stream.rs`). One header cannot carry both the
//! event-stream type and the function's type; the emulator sends
//! `application/vnd.amazon.eventstream` as spec §2 records for AWS, so SDK callers see that
//! value there. The function's own content type is kept in the recorder.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::{InvokeEvent, PreludeDecoder, PreludeProgress, names};

use crate::auth;
use crate::body::{self, Cut, FrameSender, ResponseBody};
use crate::config::Auth;
use crate::invocation::{Event, InvocationStream};
use crate::logs::TAIL_BYTES;
use crate::payload::{UrlRequestInfo, function_url_event};
use crate::recorder::{ClientEnd, FaultKind, FrontEnd, InvocationError};
use crate::runtime_api::read_limited;
use crate::server::{ConnInfo, Shared};
use crate::shaping::Shaper;

/// Pause before cutting a log tail, so the last lines a process printed have crossed its pipe.
const LOG_SETTLE: Duration = Duration::from_millis(50);

/// An answer that refuses a request (boxed: responses are large and refusals rare).
type Refused = Box<Response<ResponseBody>>;

/// A JSON error answer with an optional `x-amzn-errortype`.
pub(crate) fn json_error(status: StatusCode, error_type: Option<&str>, message: &str) -> Response<ResponseBody> {
    let mut response = Response::new(body::full(serde_json::json!({ "Message": message }).to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(t) = error_type.and_then(|t| HeaderValue::from_str(t).ok()) {
        response.headers_mut().insert(names::AMZN_ERROR_TYPE, t);
    }
    response
}

fn headers_of(response: &Response<ResponseBody>) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}

/// Reads the request body (capped) and checks auth. On refusal, the answer to send.
async fn admit(
    shared: &Shared,
    req: Request<Incoming>,
) -> Result<(http::request::Parts, Bytes, Option<String>), Refused> {
    let (parts, body) = req.into_parts();
    let max = shared.limits.max_request_bytes as usize;
    let body = read_limited(body, max)
        .await
        .map_err(|message| json_error(StatusCode::PAYLOAD_TOO_LARGE, Some("RequestTooLargeException"), &message))?;
    let caller = match &shared.auth {
        Auth::None => None,
        Auth::Iam { access_key_id, secret_access_key } => {
            match auth::verify(&parts, &body, access_key_id, secret_access_key, SystemTime::now()) {
                Ok(key) => Some(key),
                Err(refusal) => {
                    tracing::info!(path = %parts.uri.path(), "refused: {}", refusal.message);
                    return Err(Box::new(json_error(
                        StatusCode::FORBIDDEN,
                        Some(refusal.error_type),
                        &refusal.message,
                    )));
                }
            }
        }
    };
    Ok((parts, body, caller))
}

fn function_not_found(shared: &Shared, identifier: &str) -> Response<ResponseBody> {
    let arn = if identifier.starts_with("arn:") {
        identifier.to_owned()
    } else {
        format!("arn:aws:lambda:{}:{}:function:{identifier}", shared.function.region, shared.function.account_id)
    };
    let mut response = Response::new(body::full(
        serde_json::json!({ "Type": "User", "message": format!("Function not found: {arn}") }).to_string(),
    ));
    *response.status_mut() = StatusCode::NOT_FOUND;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(names::AMZN_ERROR_TYPE, HeaderValue::from_static("ResourceNotFoundException"));
    response
}

fn method_not_allowed() -> Response<ResponseBody> {
    json_error(StatusCode::METHOD_NOT_ALLOWED, None, "Method Not Allowed: use POST")
}

/// Where a content type names the HTTP-integration prelude (parameters ignored).
fn is_http_integration(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(names::HTTP_INTEGRATION_CONTENT_TYPE))
}

/// 502 for an error before the first byte.
fn bad_gateway(shared: &Shared, id: &str, error: &InvocationError) -> Response<ResponseBody> {
    let body = serde_json::json!({ "errorType": error.error_type, "errorMessage": error.error_message }).to_string();
    let mut response = Response::new(body::full(body.clone()));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(id) {
        response.headers_mut().insert(names::AMZN_REQUEST_ID, v);
    }
    shared.recorder.client_head(id, 502, headers_of(&response));
    shared.recorder.client_chunk(id, body.len());
    shared.recorder.client_end(id, ClientEnd::Completed);
    response
}

/// Function URL and `/invoke`: payload v2.0 in, status/headers from the prelude, body streamed.
pub(crate) async fn function_url(
    shared: Arc<Shared>,
    conn: ConnInfo,
    req: Request<Incoming>,
    front_end: FrontEnd,
) -> Response<ResponseBody> {
    let (parts, body, caller) = match admit(&shared, req).await {
        Ok(admitted) => admitted,
        Err(refusal) => return *refusal,
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let info = UrlRequestInfo {
        request_id: &request_id,
        peer: conn.peer,
        account_id: &shared.function.account_id,
        iam_access_key: caller.as_deref(),
        now: SystemTime::now(),
    };
    let event = function_url_event(&parts, &body, &info);
    let (_invocation, mut stream) = shared.submit(event.into(), front_end, None, Some(request_id.clone()));
    let id = request_id;

    let content_type = loop {
        match stream.next().await {
            Event::Start { content_type } => break content_type,
            Event::Chunk(_) => continue,
            Event::Done(Ok(())) => break names::DEFAULT_STREAM_CONTENT_TYPE.to_owned(),
            Event::Done(Err(e)) => return bad_gateway(&shared, &id, &e),
        }
    };

    let mut status = 200u16;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut first: Option<Bytes> = None;
    let mut finished = false;
    if is_http_integration(&content_type) {
        let mut decoder = PreludeDecoder::new();
        loop {
            match stream.next().await {
                Event::Start { .. } => {}
                Event::Chunk(bytes) => match decoder.push(bytes) {
                    Ok(PreludeProgress::NeedMore) => {}
                    Ok(PreludeProgress::Complete { prelude, rest }) => {
                        status = prelude.status();
                        headers = prelude.response_headers();
                        first = (!rest.is_empty()).then_some(rest);
                        break;
                    }
                    Err(e) => return malformed_prelude(&shared, &id, &e.to_string()),
                },
                Event::Done(Ok(())) => {
                    // An empty body: nothing to decode, so the defaults stand (a lenient choice).
                    if decoder.consumed() == 0 {
                        finished = true;
                        break;
                    }
                    let e = decoder.finish().err().map(|e| e.to_string()).unwrap_or_default();
                    return malformed_prelude(&shared, &id, &e);
                }
                Event::Done(Err(e)) => return bad_gateway(&shared, &id, &e),
            }
        }
    } else {
        headers.push(("content-type".into(), content_type));
        // Wait for the first byte, so that an error before it can still be a 502.
        loop {
            match stream.next().await {
                Event::Start { .. } => {}
                Event::Chunk(bytes) => {
                    first = Some(bytes);
                    break;
                }
                Event::Done(Ok(())) => {
                    finished = true;
                    break;
                }
                Event::Done(Err(e)) => return bad_gateway(&shared, &id, &e),
            }
        }
    }

    let (tx, response_body) = if finished {
        (None, body::empty())
    } else {
        let (tx, b) = body::channel();
        (Some(tx), b)
    };
    let mut response = Response::new(response_body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    for (name, value) in headers {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => tracing::warn!(request_id = %id, "dropped an invalid prelude header {name:?}: {value:?}"),
        }
    }
    if !response.headers().contains_key(names::AMZN_REQUEST_ID)
        && let Ok(v) = HeaderValue::from_str(&id)
    {
        response.headers_mut().insert(names::AMZN_REQUEST_ID, v);
    }
    shared.recorder.client_head(&id, status, headers_of(&response));
    match tx {
        None => shared.recorder.client_end(&id, ClientEnd::Completed),
        Some(tx) => {
            // Without shaping, the first chunk goes into the body before hyper gets the head, so
            // the two leave in one write instead of the head alone and the chunk after a wake-up
            // of the relay task. The channel is new and empty, so there is room. With shaping,
            // the chunk waits for its tokens in the relay like any other.
            let first = match first {
                Some(bytes) if shared.limits.bandwidth.is_none() => {
                    let len = bytes.len();
                    match tx.try_send(Ok(bytes)) {
                        Ok(()) => {
                            shared.recorder.client_chunk(&id, len);
                            None
                        }
                        Err(unsent) => unsent.into_inner().ok(),
                    }
                }
                other => other,
            };
            tokio::spawn(relay_http(shared.clone(), id, stream, first, tx));
        }
    }
    response
}

fn malformed_prelude(shared: &Shared, id: &str, problem: &str) -> Response<ResponseBody> {
    let message = format!("malformed HTTP-integration prelude: {problem}");
    shared.recorder.fault(Some(id), FaultKind::MalformedPrelude, &message);
    bad_gateway(shared, id, &InvocationError::platform("Runtime.MalformedPrelude", message))
}

/// Pushes body chunks to the client as they arrive; ends the body with an error on a mid-stream
/// failure. The stream is dropped when the client goes away, so the runtime's further chunks are
/// read and discarded by the Runtime API side.
async fn relay_http(
    shared: Arc<Shared>,
    id: String,
    mut stream: InvocationStream,
    first: Option<Bytes>,
    tx: FrameSender,
) {
    let mut shaper = shared.limits.bandwidth.map(Shaper::new);
    let mut pending = first;
    loop {
        let bytes = match pending.take() {
            Some(bytes) => bytes,
            None => match stream.next().await {
                Event::Start { .. } => continue,
                Event::Chunk(bytes) => bytes,
                Event::Done(Ok(())) => {
                    shared.recorder.client_end(&id, ClientEnd::Completed);
                    return;
                }
                Event::Done(Err(e)) => {
                    let reason = format!("{}: {}", e.error_type, e.error_message);
                    tracing::warn!(request_id = %id, "stream cut after the head was sent: {reason}");
                    flushed(&tx).await;
                    let _ = tx.send(Err(Box::new(Cut(reason.clone())))).await;
                    shared.recorder.client_end(&id, ClientEnd::Aborted { reason });
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
            shared.recorder.client_end(&id, ClientEnd::Disconnected);
            return;
        }
        shared.recorder.client_chunk(&id, len);
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

/// What `X-Amz-Invocation-Type` asks for.
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

fn invocation_type(parts: &http::request::Parts) -> Result<InvocationType, Refused> {
    match parts.headers.get(names::INVOCATION_TYPE).map(|v| v.to_str().unwrap_or("")) {
        None | Some("RequestResponse") => Ok(InvocationType::RequestResponse),
        Some("Event") => Ok(InvocationType::Event),
        Some("DryRun") => Ok(InvocationType::DryRun),
        Some(other) => Err(Box::new(json_error(
            StatusCode::BAD_REQUEST,
            Some("InvalidParameterValueException"),
            &format!("X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, got {other:?}"),
        ))),
    }
}

/// `X-Amz-Client-Context`: base64 of a JSON object, passed to the runtime as JSON.
fn client_context(parts: &http::request::Parts) -> Result<Option<String>, Refused> {
    let Some(value) = parts.headers.get(names::AMZ_CLIENT_CONTEXT) else {
        return Ok(None);
    };
    let decoded = STANDARD
        .decode(value.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| serde_json::from_str::<serde_json::Value>(s).is_ok_and(|v| v.is_object()));
    match decoded {
        Some(json) => Ok(Some(json)),
        None => Err(Box::new(json_error(
            StatusCode::BAD_REQUEST,
            Some("InvalidRequestContentException"),
            "Client context must be a valid Base64-encoded JSON object.",
        ))),
    }
}

fn wants_tail(parts: &http::request::Parts) -> bool {
    parts.headers.get(names::LOG_TYPE).is_some_and(|v| v == "Tail")
}

async fn log_tail(shared: &Shared, id: &str, log_start: u64) -> String {
    let _ = id;
    tokio::time::sleep(LOG_SETTLE).await;
    STANDARD.encode(shared.log.tail_since(log_start, TAIL_BYTES))
}

fn aws_head(status: StatusCode, id: &str, body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(names::EXECUTED_VERSION, HeaderValue::from_static("$LATEST"));
    if let Ok(v) = HeaderValue::from_str(id) {
        headers.insert(names::AMZN_REQUEST_ID, v);
    }
    response
}

/// A client API call (IWRS or Invoke) that passed the checks both APIs share.
struct ClientCall {
    parts: http::request::Parts,
    body: Bytes,
    kind: InvocationType,
    context: Option<String>,
}

/// The checks IWRS and Invoke share, in AWS's order: method, function name, auth and size, then
/// the invocation type and client context headers.
async fn client_call(shared: &Shared, req: Request<Incoming>, name: &str) -> Result<ClientCall, Refused> {
    if req.method() != Method::POST {
        return Err(Box::new(method_not_allowed()));
    }
    if !shared.function.matches(name) {
        return Err(Box::new(function_not_found(shared, name)));
    }
    let (parts, body, _caller) = admit(shared, req).await?;
    let kind = invocation_type(&parts)?;
    let context = client_context(&parts)?;
    Ok(ClientCall { parts, body, kind, context })
}

/// `POST /2021-11-15/functions/{name}/response-streaming-invocations`.
pub(crate) async fn iwrs(
    shared: Arc<Shared>,
    _conn: ConnInfo,
    req: Request<Incoming>,
    name: String,
) -> Response<ResponseBody> {
    let ClientCall { parts, body, kind, context } = match client_call(&shared, req, &name).await {
        Ok(call) => call,
        Err(refusal) => return *refusal,
    };
    match kind {
        InvocationType::DryRun => {
            return aws_head(StatusCode::NO_CONTENT, &uuid::Uuid::new_v4().to_string(), body::empty());
        }
        InvocationType::Event => {
            return json_error(
                StatusCode::BAD_REQUEST,
                Some("InvalidParameterValueException"),
                "InvokeWithResponseStream supports only RequestResponse and DryRun invocation types",
            );
        }
        InvocationType::RequestResponse => {}
    }
    let tail = wants_tail(&parts);
    let (invocation, stream) = shared.submit(body, FrontEnd::InvokeWithResponseStream, context, None);
    let id = invocation.id.clone();
    let (tx, response_body) = body::channel();
    let mut response = aws_head(StatusCode::OK, &id, response_body);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(names::EVENT_STREAM_CONTENT_TYPE));
    shared.recorder.client_head(&id, 200, headers_of(&response));
    let log_start = invocation.log_start;
    tokio::spawn(relay_iwrs(shared.clone(), id, stream, tx, tail.then_some(log_start)));
    response
}

/// One PayloadChunk frame per runtime chunk as it arrives, then InvokeComplete.
async fn relay_iwrs(
    shared: Arc<Shared>,
    id: String,
    mut stream: InvocationStream,
    tx: FrameSender,
    tail_from: Option<u64>,
) {
    let mut shaper = shared.limits.bandwidth.map(Shaper::new);
    loop {
        let (frame, last) = match stream.next().await {
            Event::Start { .. } => continue,
            Event::Chunk(bytes) => {
                if let Some(shaper) = &mut shaper {
                    shaper.take(bytes.len()).await;
                }
                (InvokeEvent::PayloadChunk(bytes).encode(), false)
            }
            Event::Done(result) => {
                let log_result = match tail_from {
                    Some(start) => Some(log_tail(&shared, &id, start).await),
                    None => None,
                };
                let (error_code, error_details) = match result {
                    Ok(()) => (None, None),
                    Err(e) => (Some(e.error_type), Some(e.details)),
                };
                let done = InvokeComplete { error_code, error_details, log_result };
                (InvokeEvent::InvokeComplete(done).encode(), true)
            }
        };
        let len = frame.len();
        if tx.send(Ok(frame)).await.is_err() {
            shared.recorder.client_end(&id, ClientEnd::Disconnected);
            return;
        }
        shared.recorder.client_chunk(&id, len);
        if last {
            shared.recorder.client_end(&id, ClientEnd::Completed);
            return;
        }
    }
}

/// `POST /2015-03-31/functions/{name}/invocations`: the buffered API.
pub(crate) async fn invoke(
    shared: Arc<Shared>,
    _conn: ConnInfo,
    req: Request<Incoming>,
    name: String,
) -> Response<ResponseBody> {
    let ClientCall { parts, body, kind, context } = match client_call(&shared, req, &name).await {
        Ok(call) => call,
        Err(refusal) => return *refusal,
    };
    match kind {
        InvocationType::DryRun => {
            return aws_head(StatusCode::NO_CONTENT, &uuid::Uuid::new_v4().to_string(), body::empty());
        }
        InvocationType::Event => {
            // Asynchronous: accepted at once; the answer is read and dropped.
            let (invocation, mut stream) = shared.submit(body, FrontEnd::Invoke, context, None);
            let id = invocation.id.clone();
            let response = aws_head(StatusCode::ACCEPTED, &id, body::empty());
            shared.recorder.client_head(&id, 202, headers_of(&response));
            shared.recorder.client_end(&id, ClientEnd::Completed);
            tokio::spawn(async move { while !matches!(stream.next().await, Event::Done(_)) {} });
            return response;
        }
        InvocationType::RequestResponse => {}
    }
    let tail = wants_tail(&parts);
    let (invocation, mut stream) = shared.submit(body, FrontEnd::Invoke, context, None);
    let id = invocation.id.clone();
    let max = shared.limits.max_buffered_response_bytes;
    let mut collected = BytesMut::new();
    let mut content_type = "application/json".to_owned();
    let result = loop {
        match stream.next().await {
            Event::Start { content_type: ct } => content_type = ct,
            Event::Chunk(bytes) => {
                if (collected.len() + bytes.len()) as u64 > max {
                    let error = InvocationError::platform(
                        lambda_stream_protocol::diagnostic::error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE,
                        format!("Response payload size exceeded maximum allowed payload size ({max} bytes)."),
                    );
                    shared.recorder.fault(Some(&id), FaultKind::ResponseTooLarge, &error.error_message);
                    shared.abort(&invocation, error.clone());
                    break Err(error);
                }
                collected.extend_from_slice(&bytes);
            }
            Event::Done(result) => break result,
        }
    };
    drop(stream);
    let (body_bytes, function_error) = match result {
        Ok(()) => (collected.freeze(), false),
        Err(e) => (Bytes::from(e.details.into_bytes()), true),
    };
    let len = body_bytes.len();
    let mut response = aws_head(StatusCode::OK, &id, body::full(body_bytes));
    let headers = response.headers_mut();
    let ct = if function_error { "application/json" } else { content_type.as_str() };
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("application/json")),
    );
    if function_error {
        headers.insert(names::AMZ_FUNCTION_ERROR, HeaderValue::from_static("Unhandled"));
    }
    if tail {
        let encoded = log_tail(&shared, &id, invocation.log_start).await;
        if let Ok(v) = HeaderValue::from_str(&encoded) {
            response.headers_mut().insert(names::AMZ_LOG_RESULT, v);
        }
    }
    shared.recorder.client_head(&id, 200, headers_of(&response));
    shared.recorder.client_chunk(&id, len);
    shared.recorder.client_end(&id, ClientEnd::Completed);
    response
}
