//! The Runtime API (`/2018-06-01`), the function's side of the emulator. It is served only on the
//! Runtime API listeners (loopback, handed to the bootstraps), never on the public listener, as on
//! Lambda, where the Runtime API is reachable only from inside the execution environment.
//!
//! - `GET /runtime/invocation/next`: long poll; answers with the event and the headers of RT-API
//!   (request id, deadline in epoch ms, invoked function ARN, trace id, client context when given).
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
//! | response (or `/error` document) over the size cap | 413 | `Function.ResponseSizeTooLarge`, fault `ResponseTooLarge` |
//! | `/init/error` | 202 | the queued invocations fail with the reported error, fault `InitError` |
//!
//! Before answering an error the emulator reads what is left of the request body (briefly and up
//! to a cap), so the runtime reads the error instead of a connection reset.

use std::sync::Arc;

use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::paths::{self, InvocationPath};
use lambda_stream_protocol::{ErrorDiagnostic, names, normalize_error_type};
use tokio::sync::mpsc::error::TrySendError;

use crate::http::{self as h, ResponseBody, accepted, rie_error};
use crate::invocation::{ErrorOrigin, Event, Invocation, InvocationError, Phase};
use crate::platform::{Known, Platform};
use crate::recorder::FaultKind;
use crate::time::epoch_millis;

/// Largest `/init/error` body read; the rest is ignored.
const MAX_INIT_ERROR_BYTES: usize = 1024 * 1024;

/// Serves one Runtime API request from the process on `slot` (`None`: a runtime started by hand).
pub(crate) async fn handle(
    platform: Arc<Platform>,
    slot: Option<u32>,
    req: Request<Incoming>,
) -> Response<ResponseBody> {
    let path = req.uri().path().to_owned();
    if path == paths::NEXT {
        if req.method() != Method::GET {
            return rie_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "use GET for /next");
        }
        return next(platform, slot).await;
    }
    let known = path == paths::INIT_ERROR || paths::parse_invocation_path(&path).is_some();
    if known && req.method() != Method::POST {
        return rie_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", format!("use POST for {path}"));
    }
    if path == paths::INIT_ERROR {
        return init_error(platform, req).await;
    }
    match paths::parse_invocation_path(&path) {
        Some(InvocationPath::Response(id)) => {
            let id = id.to_owned();
            response(platform, req, &id).await
        }
        Some(InvocationPath::Error(id)) => {
            let id = id.to_owned();
            error(platform, req, &id).await
        }
        None => {
            platform.recorder.fault(None, FaultKind::UnknownPath, format!("{} {path}", req.method()));
            h::drain(req.into_body()).await;
            rie_error(StatusCode::NOT_FOUND, "UnknownPath", format!("no Runtime API endpoint at {path}"))
        }
    }
}

/// `GET /next`: waits for an invocation and hands it out.
async fn next(platform: Arc<Platform>, slot: Option<u32>) -> Response<ResponseBody> {
    let invocation = platform.next_invocation(slot).await;
    platform.recorder.update(&invocation.id, |r, at| r.runtime.taken_at = Some(at));
    platform.log.push_line(format!("START RequestId: {} Version: $LATEST", invocation.id));

    let deadline = epoch_millis(std::time::SystemTime::now()) + platform.function.timeout.as_millis() as u64;
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(names::REQUEST_ID, &invocation.id)
        .header(names::DEADLINE_MS, deadline.to_string())
        .header(names::INVOKED_FUNCTION_ARN, &invocation.context.invoked_arn)
        .header(names::TRACE_ID, &invocation.context.trace_id);
    if let Some(context) = &invocation.context.client_context {
        builder = builder.header(names::CLIENT_CONTEXT, context);
    }
    if let Some(identity) = &invocation.context.cognito_identity {
        builder = builder.header(names::COGNITO_IDENTITY, identity);
    }
    builder.body(h::full(invocation.take_payload())).unwrap_or_else(|e| {
        rie_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", format!("cannot build /next answer: {e}"))
    })
}

/// Hands an event to the front end, waiting for room; false when the front end has gone or the
/// platform ended the invocation. Called for every chunk: it borrows, it does not clone, and when
/// the channel has room (the usual case) it sets up no watch on the abort (whose waiter list is
/// a lock taken twice). The caller checks the phase before each chunk, so a chunk is queued only
/// while the invocation runs; one sent at the very moment the platform ends it may go either way,
/// as with the `select!` below.
async fn deliver(invocation: &Invocation, event: Event) -> bool {
    let event = match invocation.events.try_send(event) {
        Ok(()) => return true,
        Err(TrySendError::Closed(_)) => return false,
        Err(TrySendError::Full(event)) => event,
    };
    tokio::select! {
        sent = invocation.events.send(event) => sent.is_ok(),
        _ = invocation.aborted() => false,
    }
}

/// A refused answer: what to record and what to send.
struct Refusal {
    status: StatusCode,
    error_type: &'static str,
    message: String,
    kind: FaultKind,
    /// The request id, when it names an invocation the emulator knows.
    known: bool,
}

/// Checks that invocation `id` may be answered now.
fn admit(platform: &Platform, id: &str) -> Result<Arc<Invocation>, Refusal> {
    let refuse =
        |status, error_type, message: String, kind, known| Refusal { status, error_type, message, kind, known };
    let invocation = match platform.lookup(id) {
        None => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "InvalidRequestID",
                format!("unknown request id {id:?}: no invocation with this id was handed out"),
                FaultKind::UnknownRequestId,
                false,
            ));
        }
        Some(Known::Ended { by_platform }) => return Err(ended(id, by_platform)),
        Some(Known::InFlight(invocation)) => invocation,
    };
    match invocation.begin_answer() {
        Phase::Delivered => Ok(invocation),
        Phase::Queued => Err(refuse(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            format!("request id {id:?} has not been handed out by /next yet"),
            FaultKind::UnknownRequestId,
            true,
        )),
        Phase::Finished { by_platform } => Err(ended(id, by_platform)),
        Phase::Responding => Err(ended(id, false)),
    }
}

/// The refusal for an answer to an invocation that is already answered or ended.
fn ended(id: &str, by_platform: bool) -> Refusal {
    if by_platform {
        Refusal {
            status: StatusCode::CONFLICT,
            error_type: "InvocationTimedOut",
            message: format!(
                "invocation {id} already ended (deadline passed, size limit or runtime exit); this answer is dropped"
            ),
            kind: FaultKind::LateAnswer,
            known: true,
        }
    } else {
        Refusal {
            status: StatusCode::CONFLICT,
            error_type: "InvocationAlreadyAnswered",
            message: format!("invocation {id} was already answered; a second /response or /error is refused"),
            kind: FaultKind::AlreadyAnswered,
            known: true,
        }
    }
}

/// Records a refusal, drains the body and answers it.
async fn refused(platform: &Platform, id: &str, refusal: Refusal, body: Incoming) -> Response<ResponseBody> {
    platform.recorder.fault(refusal.known.then_some(id), refusal.kind, &refusal.message);
    h::drain(body).await;
    rie_error(refusal.status, refusal.error_type, refusal.message)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `POST /response`: checks the head, then relays the body (see [`relay_body`]) and ends the
/// invocation with the trailers' verdict.
async fn response(platform: Arc<Platform>, req: Request<Incoming>, id: &str) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let mode = header_str(&parts.headers, names::RESPONSE_MODE).map(str::to_owned);
    if let Some(mode) = &mode
        && mode != names::RESPONSE_MODE_STREAMING
    {
        let message = format!(
            "Lambda-Runtime-Function-Response-Mode must be exactly \"{}\", got {mode:?}",
            names::RESPONSE_MODE_STREAMING
        );
        let known = matches!(platform.lookup(id), Some(Known::InFlight(_)));
        let refusal = Refusal {
            status: StatusCode::BAD_REQUEST,
            error_type: "InvalidFunctionResponseMode",
            message,
            kind: FaultKind::InvalidResponseMode,
            known,
        };
        return refused(&platform, id, refusal, body).await;
    }
    let invocation = match admit(&platform, id) {
        Ok(invocation) => invocation,
        Err(refusal) => return refused(&platform, id, refusal, body).await,
    };
    let streaming = mode.is_some();
    let content_type = header_str(&parts.headers, "content-type")
        .map(str::to_owned)
        .unwrap_or_else(|| if streaming { names::DEFAULT_STREAM_CONTENT_TYPE } else { "application/json" }.to_owned());
    platform.recorder.update(id, |r, at| {
        r.runtime.head_at = Some(at);
        r.runtime.streaming = streaming;
        r.runtime.content_type = Some(content_type.clone());
        r.runtime.headers = h::header_list(&parts.headers);
    });

    let cap = if streaming {
        platform.limits.max_streamed_response_bytes
    } else {
        platform.limits.max_buffered_response_bytes
    };
    let declared = header_str(&parts.headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if !streaming && declared.is_some_and(|len| len > cap) {
        let error = too_large(cap);
        platform.recorder.fault(Some(id), FaultKind::ResponseTooLarge, &error.error_message);
        platform.abort(&invocation, error.clone());
        h::drain(body).await;
        return rie_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE,
            error.error_message,
        );
    }

    let relayed = match relay_body(&platform, &invocation, body, content_type, cap).await {
        Ok(relayed) => relayed,
        Err(answer) => return answer,
    };
    platform.recorder.update(id, |r, at| {
        r.runtime.ended_at = Some(at);
        r.runtime.trailers = relayed.trailers.as_ref().map(h::header_list);
    });
    let result = trailer_verdict(&platform, id, relayed.trailers.as_ref());
    if platform.finish(&invocation, result.clone()) {
        if relayed.forwarding {
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

/// What [`relay_body`] read.
struct Relayed {
    trailers: Option<HeaderMap>,
    /// Whether the front end still listens (it gets the end event).
    forwarding: bool,
}

/// Reads the runtime's body frame by frame and hands each chunk to the front end as it arrives.
/// `forwarding` turns false when the client has gone or the platform ended the invocation: the
/// body is still read to its end (the function keeps running, as on AWS) but dropped. On a
/// broken body or the size cap, the answer to send instead.
async fn relay_body(
    platform: &Platform,
    invocation: &Invocation,
    mut body: Incoming,
    content_type: String,
    cap: u64,
) -> Result<Relayed, Response<ResponseBody>> {
    let id = invocation.id.as_str();
    // The start goes out with the first chunk (or the end), not alone when the head arrives: the
    // front end waits for the first byte anyway, and two events sent back to back cost it one
    // wake-up instead of two (docs/performance.md, "Hand-offs per chunk").
    let mut start = Some(Event::Start { content_type });
    let mut forwarding = true;
    let mut total: u64 = 0;
    let mut over_cap = false;
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                let message = format!("the runtime's response body broke off after {total} bytes: {e}");
                platform.recorder.fault(Some(id), FaultKind::BrokenBody, &message);
                platform
                    .abort(invocation, InvocationError::platform(error_types::RUNTIME_TRUNCATED_RESPONSE, &message));
                return Err(rie_error(StatusCode::BAD_REQUEST, error_types::RUNTIME_TRUNCATED_RESPONSE, message));
            }
        };
        let data = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                trailers = frame.into_trailers().ok();
                continue;
            }
        };
        if data.is_empty() {
            continue;
        }
        total += data.len() as u64;
        platform.recorder.runtime_chunk(id, &data);
        if total > cap && !over_cap {
            over_cap = true;
            forwarding = false;
            let error = too_large(cap);
            platform.recorder.fault(Some(id), FaultKind::ResponseTooLarge, &error.error_message);
            platform.abort(invocation, error);
        }
        if let Some(start) = start.take().filter(|_| forwarding) {
            forwarding = deliver(invocation, start).await;
        }
        if forwarding {
            forwarding =
                !matches!(invocation.phase(), Phase::Finished { .. }) && deliver(invocation, Event::Chunk(data)).await;
        }
    }
    if let Some(start) = start.take().filter(|_| forwarding && !over_cap) {
        forwarding = deliver(invocation, start).await;
    }
    if over_cap {
        platform.recorder.update(id, |r, at| r.runtime.ended_at = Some(at));
        let message = too_large(cap).error_message;
        return Err(rie_error(StatusCode::PAYLOAD_TOO_LARGE, error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE, message));
    }
    Ok(Relayed { trailers, forwarding })
}

/// Success, or the function error the trailers report.
fn trailer_verdict(platform: &Platform, id: &str, trailers: Option<&HeaderMap>) -> Result<(), InvocationError> {
    let Some(error_type) = trailers.and_then(|t| header_str(t, names::FUNCTION_ERROR_TYPE)) else {
        return Ok(());
    };
    let raw_body = trailers.and_then(|t| header_str(t, names::FUNCTION_ERROR_BODY));
    let diagnostic = ErrorDiagnostic::from_trailers(error_type, raw_body).unwrap_or_else(|e| {
        platform.recorder.fault(Some(id), FaultKind::InvalidTrailer, e.to_string());
        ErrorDiagnostic::new(error_type, "")
    });
    Err(function_error(&diagnostic, error_type, None, ErrorOrigin::Trailers))
}

/// `POST /error`.
async fn error(platform: Arc<Platform>, req: Request<Incoming>, id: &str) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let invocation = match admit(&platform, id) {
        Ok(invocation) => invocation,
        Err(refusal) => return refused(&platform, id, refusal, body).await,
    };
    platform.recorder.update(id, |r, at| {
        r.runtime.head_at = Some(at);
        r.runtime.content_type = header_str(&parts.headers, "content-type").map(str::to_owned);
        r.runtime.headers = h::header_list(&parts.headers);
    });
    let max = usize::try_from(platform.limits.max_buffered_response_bytes).unwrap_or(usize::MAX);
    let bytes = match h::read_limited(body, max).await {
        Ok(bytes) => bytes,
        // An error document over the buffered cap is an answer too large, as a response would be.
        Err(h::ReadError::TooLarge { .. }) => {
            let error = too_large(platform.limits.max_buffered_response_bytes);
            platform.recorder.fault(Some(id), FaultKind::ResponseTooLarge, &error.error_message);
            platform.recorder.update(id, |r, at| r.runtime.ended_at = Some(at));
            platform.abort(&invocation, error.clone());
            return rie_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE,
                error.error_message,
            );
        }
        Err(e) => {
            let message = e.to_string();
            platform.recorder.fault(Some(id), FaultKind::BrokenBody, &message);
            platform.abort(&invocation, InvocationError::platform(error_types::RUNTIME_TRUNCATED_RESPONSE, &message));
            return rie_error(StatusCode::BAD_REQUEST, "InvalidErrorBody", message);
        }
    };
    platform.recorder.runtime_error_body(id, &bytes);
    let header_type = header_str(&parts.headers, names::FUNCTION_ERROR_TYPE);
    let diagnostic = ErrorDiagnostic::from_error_body(&bytes, header_type);
    let raw_type = header_type.unwrap_or(&diagnostic.error_type).to_owned();
    let error = function_error(&diagnostic, &raw_type, Some(&bytes), ErrorOrigin::ErrorEndpoint);
    platform.recorder.update(id, |r, at| r.runtime.ended_at = Some(at));
    if platform.finish(&invocation, Err(error.clone())) {
        let _ = invocation.events.send(Event::Done(Err(error))).await;
        accepted()
    } else {
        let message = format!("invocation {id} had already ended; /error dropped");
        platform.recorder.fault(Some(id), FaultKind::LateAnswer, &message);
        rie_error(StatusCode::CONFLICT, "InvocationTimedOut", message)
    }
}

/// `POST /init/error`: logged and recorded, and the queued invocations fail with the reported
/// error, as the invocation waiting for a failed execution environment does on Lambda.
async fn init_error(platform: Arc<Platform>, req: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let bytes = h::read_limited(body, MAX_INIT_ERROR_BYTES).await.unwrap_or_default();
    let header_type = header_str(&parts.headers, names::FUNCTION_ERROR_TYPE);
    let diagnostic = ErrorDiagnostic::from_error_body(&bytes, header_type);
    let message = format!("init error {}: {}", diagnostic.error_type, diagnostic.error_message);
    platform.log.push_line(format!("INIT_REPORT Init Error Type: {}", diagnostic.error_type));
    platform.recorder.fault(None, FaultKind::InitError, message);
    let raw_type = header_type.unwrap_or(&diagnostic.error_type).to_owned();
    let error = function_error(&diagnostic, &raw_type, Some(&bytes), ErrorOrigin::ErrorEndpoint);
    platform.init_failed(&error);
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
