//! The Runtime API (`/2018-06-01`), the function's side of the emulator.
//!
//! - `GET /runtime/invocation/next`: long poll; answers with the event and the headers of RT-API
//!   (request id, deadline in epoch ms, function ARN, trace id, client context when given).
//! - `POST /runtime/invocation/{id}/response`: streamed (`Lambda-Runtime-Function-Response-Mode:
//!   streaming`, chunked, trailers) or buffered (no mode header, content-length). The body is read
//!   frame by frame with hyper's `Body::frame()` and each chunk is passed on as it arrives.
//! - `POST /runtime/invocation/{id}/error` and `POST /runtime/init/error`.
//!
//! A misbehaving runtime gets an RIE-shaped JSON error (`{"errorMessage","errorType"}`) and a
//! recorded [`Fault`](crate::Fault); nothing it sends stops the emulator:
//!
//! | runtime does | answer | recorded |
//! | --- | --- | --- |
//! | unknown request id | 400 `InvalidRequestID` (as RIE) | fault `UnknownRequestId` |
//! | second answer for an id | 409 `InvocationAlreadyAnswered` | fault `AlreadyAnswered` |
//! | answer after the deadline | 409 `InvocationTimedOut` | fault `LateAnswer` |
//! | mode header not exactly `streaming` | 400 `InvalidFunctionResponseMode` (RIE `rapi/handler/invocationresponse.go`) | fault `InvalidResponseMode` |
//! | broken chunked framing, or hangs up mid-body | (connection broken) | `Runtime.TruncatedResponse`, fault `BrokenBody` |
//! | trailer body not base64 JSON | 202 | error type still reported, fault `InvalidTrailer` |
//! | response over the size cap | 413 | `Function.ResponseSizeTooLarge`, fault `ResponseTooLarge` |
//!
//! Before answering an error the emulator reads what is left of the request body (briefly and up
//! to a cap), so the runtime reads the error instead of a connection reset.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::paths::{self, InvocationPath};
use lambda_stream_protocol::{ErrorDiagnostic, names, normalize_error_type};

use crate::body::{self, ResponseBody};
use crate::invocation::{Event, Invocation, Phase};
use crate::recorder::{ErrorOrigin, FaultKind, InvocationError};
use crate::server::{ConnInfo, Shared};
use crate::time::epoch_millis;

/// How long, and how much, the emulator reads of a request it refuses.
const DRAIN_TIME: Duration = Duration::from_secs(2);
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

pub(crate) async fn handle(shared: Arc<Shared>, conn: ConnInfo, req: Request<Incoming>) -> Response<ResponseBody> {
    let path = req.uri().path().to_owned();
    if path == paths::NEXT {
        if req.method() != Method::GET {
            return rie_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "use GET for /next");
        }
        return next(shared, conn).await;
    }
    let known = path == paths::INIT_ERROR || paths::parse_invocation_path(&path).is_some();
    if known && req.method() != Method::POST {
        return rie_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", format!("use POST for {path}"));
    }
    if path == paths::INIT_ERROR {
        return init_error(shared, req).await;
    }
    match paths::parse_invocation_path(&path) {
        Some(InvocationPath::Response(id)) => {
            let id = id.to_owned();
            response(shared, req, &id).await
        }
        Some(InvocationPath::Error(id)) => {
            let id = id.to_owned();
            error(shared, req, &id).await
        }
        None => {
            shared.recorder.fault(None, FaultKind::UnknownPath, format!("{} {path}", req.method()));
            drain(req.into_body()).await;
            rie_error(StatusCode::NOT_FOUND, "UnknownPath", format!("no Runtime API endpoint at {path}"))
        }
    }
}

/// `GET /next`: waits for an invocation and hands it out.
async fn next(shared: Arc<Shared>, conn: ConnInfo) -> Response<ResponseBody> {
    let invocation = loop {
        let next = shared.queue_rx.lock().await.recv().await;
        let Some(invocation) = next else {
            return rie_error(StatusCode::SERVICE_UNAVAILABLE, "ShuttingDown", "the emulator is shutting down");
        };
        // An invocation the platform already ended while queued is skipped.
        if invocation.phase() == Phase::Queued {
            break invocation;
        }
    };
    invocation.deliver(conn.slot);
    shared.recorder.update(&invocation.id, |r, at| r.runtime.taken_at = Some(at));
    shared.log.push_line(format!("START RequestId: {} Version: $LATEST", invocation.id));
    shared.start_deadline(invocation.clone());

    let deadline = epoch_millis(std::time::SystemTime::now()) + shared.function.timeout.as_millis() as u64;
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(names::REQUEST_ID, &invocation.id)
        .header(names::DEADLINE_MS, deadline.to_string())
        .header(names::INVOKED_FUNCTION_ARN, shared.function.arn())
        .header(names::TRACE_ID, &invocation.context.trace_id);
    if let Some(context) = &invocation.context.client_context {
        builder = builder.header(names::CLIENT_CONTEXT, context);
    }
    if let Some(identity) = &invocation.context.cognito_identity {
        builder = builder.header(names::COGNITO_IDENTITY, identity);
    }
    builder.body(body::full(invocation.payload.clone())).unwrap_or_else(|e| {
        rie_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", format!("cannot build /next answer: {e}"))
    })
}

/// Hands an event to the front end, waiting for room; false when the front end has gone or the
/// platform ended the invocation. Called for every chunk: it borrows, it does not clone.
async fn deliver(invocation: &Invocation, event: Event) -> bool {
    tokio::select! {
        sent = invocation.events.send(event) => sent.is_ok(),
        _ = invocation.aborted() => false,
    }
}

/// Checks that invocation `id` may be answered now; on refusal, the answer to send.
fn admit(shared: &Shared, id: &str) -> Result<Arc<Invocation>, (StatusCode, &'static str, String, FaultKind)> {
    let Some(invocation) = shared.lookup(id) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            format!("unknown request id {id:?}: no invocation with this id was handed out"),
            FaultKind::UnknownRequestId,
        ));
    };
    match invocation.begin_answer() {
        Phase::Delivered => Ok(invocation),
        Phase::Queued => Err((
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            format!("request id {id:?} has not been handed out by /next yet"),
            FaultKind::UnknownRequestId,
        )),
        Phase::Finished { by_platform: true } => Err((
            StatusCode::CONFLICT,
            "InvocationTimedOut",
            format!(
                "invocation {id} already ended (deadline passed, size limit or runtime exit); this answer is dropped"
            ),
            FaultKind::LateAnswer,
        )),
        Phase::Responding | Phase::Finished { by_platform: false } => Err((
            StatusCode::CONFLICT,
            "InvocationAlreadyAnswered",
            format!("invocation {id} was already answered; a second /response or /error is refused"),
            FaultKind::AlreadyAnswered,
        )),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

/// `POST /response`.
async fn response(shared: Arc<Shared>, req: Request<Incoming>, id: &str) -> Response<ResponseBody> {
    let (parts, mut body) = req.into_parts();
    let mode = header_str(&parts.headers, names::RESPONSE_MODE).map(str::to_owned);
    if let Some(mode) = &mode
        && mode != names::RESPONSE_MODE_STREAMING
    {
        let message = format!(
            "{} must be exactly \"{}\", got {mode:?}",
            "Lambda-Runtime-Function-Response-Mode",
            names::RESPONSE_MODE_STREAMING
        );
        shared.recorder.fault(
            shared.lookup(id).map(|i| i.id.clone()).as_deref(),
            FaultKind::InvalidResponseMode,
            &message,
        );
        drain(body).await;
        return rie_error(StatusCode::BAD_REQUEST, "InvalidFunctionResponseMode", message);
    }
    let invocation = match admit(&shared, id) {
        Ok(invocation) => invocation,
        Err((status, error_type, message, kind)) => {
            let known = shared.lookup(id).is_some().then_some(id);
            shared.recorder.fault(known, kind, &message);
            drain(body).await;
            return rie_error(status, error_type, message);
        }
    };
    let streaming = mode.is_some();
    let content_type = header_str(&parts.headers, "content-type")
        .map(str::to_owned)
        .unwrap_or_else(|| if streaming { names::DEFAULT_STREAM_CONTENT_TYPE } else { "application/json" }.to_owned());
    shared.recorder.update(id, |r, at| {
        r.runtime.head_at = Some(at);
        r.runtime.streaming = streaming;
        r.runtime.content_type = Some(content_type.clone());
        r.runtime.headers = header_list(&parts.headers);
    });

    let cap =
        if streaming { shared.limits.max_streamed_response_bytes } else { shared.limits.max_buffered_response_bytes };
    let declared = header_str(&parts.headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if !streaming && declared.is_some_and(|len| len > cap) {
        let error = too_large(cap);
        shared.recorder.fault(Some(id), FaultKind::ResponseTooLarge, &error.error_message);
        shared.abort(&invocation, error.clone());
        drain(body).await;
        return rie_error(StatusCode::PAYLOAD_TOO_LARGE, "Function.ResponseSizeTooLarge", error.error_message);
    }

    // `forward` turns false when the client has gone or the platform ended the invocation: the
    // body is still read to its end (the function keeps running, as on AWS) but dropped.
    let mut forward = deliver(&invocation, Event::Start { content_type: content_type.clone() }).await;
    let mut total: u64 = 0;
    let mut over_cap = false;
    let mut trailers: Option<HeaderMap> = None;
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    if data.is_empty() {
                        continue;
                    }
                    total += data.len() as u64;
                    shared.recorder.runtime_chunk(id, data.len());
                    if total > cap && !over_cap {
                        over_cap = true;
                        forward = false;
                        let error = too_large(cap);
                        shared.recorder.fault(Some(id), FaultKind::ResponseTooLarge, &error.error_message);
                        shared.abort(&invocation, error);
                    }
                    if forward {
                        forward = !matches!(invocation.phase(), Phase::Finished { .. })
                            && deliver(&invocation, Event::Chunk(data)).await;
                    }
                }
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        trailers = Some(t);
                    }
                }
            },
            Some(Err(e)) => {
                let message = format!("the runtime's response body broke off after {total} bytes: {e}");
                shared.recorder.fault(Some(id), FaultKind::BrokenBody, &message);
                shared.abort(
                    &invocation,
                    InvocationError::platform(error_types::RUNTIME_TRUNCATED_RESPONSE, message.clone()),
                );
                return rie_error(StatusCode::BAD_REQUEST, "Runtime.TruncatedResponse", message);
            }
        }
    }
    shared.recorder.update(id, |r, at| {
        r.runtime.ended_at = Some(at);
        r.runtime.trailers = trailers.as_ref().map(header_list);
    });
    if over_cap {
        return rie_error(StatusCode::PAYLOAD_TOO_LARGE, "Function.ResponseSizeTooLarge", too_large(cap).error_message);
    }

    let result = match trailers.as_ref().and_then(|t| header_str(t, names::FUNCTION_ERROR_TYPE)) {
        None => Ok(()),
        Some(error_type) => {
            let raw_body = trailers.as_ref().and_then(|t| header_str(t, names::FUNCTION_ERROR_BODY));
            let diagnostic = match ErrorDiagnostic::from_trailers(error_type, raw_body) {
                Ok(d) => d,
                Err(e) => {
                    shared.recorder.fault(Some(id), FaultKind::InvalidTrailer, e.to_string());
                    ErrorDiagnostic::new(error_type, "")
                }
            };
            Err(function_error(&diagnostic, error_type, None, ErrorOrigin::Trailers))
        }
    };
    if invocation.try_finish() {
        shared.recorder.outcome(id, result.clone());
        shared.log_end(&invocation.id);
        if forward {
            let _ = invocation.events.send(Event::Done(result)).await;
        }
        accepted()
    } else {
        // The platform cut the invocation while this answer was arriving (deadline, process
        // exit, a front end's size limit): not the runtime's fault, it could not know.
        let message = format!("invocation {id} had already ended (deadline passed or limit reached); answer dropped");
        rie_error(StatusCode::CONFLICT, "InvocationTimedOut", message)
    }
}

/// `POST /error`.
async fn error(shared: Arc<Shared>, req: Request<Incoming>, id: &str) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let invocation = match admit(&shared, id) {
        Ok(invocation) => invocation,
        Err((status, error_type, message, kind)) => {
            let known = shared.lookup(id).is_some().then_some(id);
            shared.recorder.fault(known, kind, &message);
            drain(body).await;
            return rie_error(status, error_type, message);
        }
    };
    shared.recorder.update(id, |r, at| {
        r.runtime.head_at = Some(at);
        r.runtime.content_type = header_str(&parts.headers, "content-type").map(str::to_owned);
        r.runtime.headers = header_list(&parts.headers);
    });
    let bytes = match read_limited(body, shared.limits.max_buffered_response_bytes as usize).await {
        Ok(bytes) => bytes,
        Err(message) => {
            shared.recorder.fault(Some(id), FaultKind::BrokenBody, &message);
            shared.abort(&invocation, InvocationError::platform(error_types::RUNTIME_TRUNCATED_RESPONSE, &message));
            return rie_error(StatusCode::BAD_REQUEST, "InvalidErrorBody", message);
        }
    };
    let header_type = header_str(&parts.headers, names::FUNCTION_ERROR_TYPE);
    let diagnostic = ErrorDiagnostic::from_error_body(&bytes, header_type);
    let raw_type = header_type.unwrap_or(&diagnostic.error_type).to_owned();
    let error = function_error(&diagnostic, &raw_type, Some(&bytes), ErrorOrigin::ErrorEndpoint);
    shared.recorder.update(id, |r, at| r.runtime.ended_at = Some(at));
    if invocation.try_finish() {
        shared.recorder.outcome(id, Err(error.clone()));
        shared.log_end(&invocation.id);
        let _ = invocation.events.send(Event::Done(Err(error))).await;
        accepted()
    } else {
        let message = format!("invocation {id} had already ended; /error dropped");
        shared.recorder.fault(Some(id), FaultKind::LateAnswer, &message);
        rie_error(StatusCode::CONFLICT, "InvocationTimedOut", message)
    }
}

/// `POST /init/error`: logged and recorded; the invocations wait for a runtime that starts.
async fn init_error(shared: Arc<Shared>, req: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let bytes = read_limited(body, 1024 * 1024).await.unwrap_or_default();
    let diagnostic = ErrorDiagnostic::from_error_body(&bytes, header_str(&parts.headers, names::FUNCTION_ERROR_TYPE));
    let message = format!("init error {}: {}", diagnostic.error_type, diagnostic.error_message);
    shared.log.push_line(format!("INIT_REPORT Init Error Type: {}", diagnostic.error_type));
    shared.recorder.fault(None, FaultKind::InitError, message);
    accepted()
}

/// The error clients see for a function error: the type normalised as Lambda does, the details
/// the runtime's own JSON when it is JSON, else a document made from the diagnostic.
fn function_error(
    diagnostic: &ErrorDiagnostic,
    raw_type: &str,
    raw_body: Option<&[u8]>,
    origin: ErrorOrigin,
) -> InvocationError {
    let details = raw_body
        .filter(|b| serde_json::from_slice::<serde_json::Value>(b).is_ok_and(|v| v.is_object()))
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_else(|| String::from_utf8_lossy(&diagnostic.to_trailer_json()).into_owned());
    InvocationError {
        error_type: normalize_error_type(raw_type).into_owned(),
        error_message: diagnostic.error_message.clone(),
        details,
        origin,
    }
}

fn too_large(cap: u64) -> InvocationError {
    // AWS's wording for the buffered case: "Response payload size exceeded maximum allowed payload
    // size (6291556 bytes)."
    InvocationError::platform(
        error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE,
        format!("Response payload size exceeded maximum allowed payload size ({cap} bytes)."),
    )
}

fn accepted() -> Response<ResponseBody> {
    // RIE answers 202 with this body (`invocationresponse_test.go`).
    json_response(StatusCode::ACCEPTED, serde_json::json!({ "status": "OK" }))
}

fn rie_error(status: StatusCode, error_type: &str, message: impl Into<String>) -> Response<ResponseBody> {
    json_response(status, serde_json::json!({ "errorMessage": message.into(), "errorType": error_type }))
}

fn json_response(status: StatusCode, value: serde_json::Value) -> Response<ResponseBody> {
    let mut response = Response::new(body::full(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

/// Reads a whole body up to `max` bytes.
pub(crate) async fn read_limited(mut body: Incoming, max: usize) -> Result<Bytes, String> {
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("the request body broke off after {} bytes: {e}", out.len()))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max {
                return Err(format!("the request body is larger than {max} bytes"));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

/// Reads and drops what is left of a refused request, so the peer sees the answer.
pub(crate) async fn drain(mut body: Incoming) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, Bytes::len);
            if seen > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
}
