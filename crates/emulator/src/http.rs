//! HTTP plumbing every handler shares, in one place: response bodies (a full body, or a
//! channel-fed streaming body that can end with an error), bounded reading of request bodies, and
//! the JSON error answers in the two shapes clients and runtimes expect.
//!
//! - Client APIs answer AWS's JSON error shape, `{"Message": ...}` with the error type in
//!   `x-amzn-errortype` ([`aws_error`]), or Lambda's `{"Type":"User","message":...}` for an
//!   unknown function ([`function_not_found`]).
//! - The Runtime API answers RIE's shape, `{"errorMessage","errorType"}` ([`rie_error`]), and
//!   `202 {"status":"OK"}` for an accepted answer ([`accepted`]).
//! - A request body is read whole only up to a cap ([`read_limited`]); what fails there is told
//!   apart: too large is 413, broken framing or a body shorter than its `Content-Length` is 400
//!   ([`ReadError`]). A refused request's rest is drained briefly ([`drain`]) so the peer reads the
//!   answer instead of a connection reset.

use std::pin::Pin;
use std::task::{Context, Poll};

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use lambda_stream_protocol::names;
use tokio::sync::mpsc;

/// How long, and how much, the emulator reads of a request it refuses.
const DRAIN_TIME: Duration = Duration::from_secs(2);
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// The error a streaming body ends with; hyper then aborts the chunked transfer without its
/// terminating zero-length chunk, which is how a client learns the stream was cut.
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// Every response body the emulator sends.
pub(crate) type ResponseBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BodyError>;

/// Frames pushed by a task of their own (the dashboard's); each is written as soon as hyper polls it.
pub(crate) type FrameSender = mpsc::Sender<Result<Bytes, BodyError>>;

/// Frames a feeding task may run ahead of the socket; small, so a slow client exerts backpressure.
pub(crate) const BODY_BUFFER: usize = 4;

pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, BodyError>>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.rx.poll_recv(cx).map(|item| item.map(|r| r.map(Frame::data)))
    }
}

/// A streaming body and the sender that feeds it (the dashboard's event stream, where a task of
/// its own produces the frames).
pub(crate) fn channel() -> (FrameSender, ResponseBody) {
    let (tx, rx) = mpsc::channel(BODY_BUFFER);
    (tx, ChannelBody { rx }.boxed_unsync())
}

/// A streaming body whose frames `step` makes when hyper asks for the next one, on hyper's own
/// connection task: no task between the source and the socket and no second channel. The front
/// ends' bodies use it (docs/performance.md, "Hand-offs per chunk"). `step` gets the state back
/// with each frame; `None` ends the body, an `Err` frame aborts it.
pub(crate) fn pulled<S, F, Fut>(state: S, step: F) -> ResponseBody
where
    S: Send + 'static,
    F: FnMut(S) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Option<(Result<Bytes, BodyError>, S)>> + Send + 'static,
{
    let frames = futures_util::stream::unfold(state, step);
    http_body_util::StreamBody::new(futures_util::StreamExt::map(frames, |item| item.map(Frame::data))).boxed_unsync()
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

pub(crate) fn empty() -> ResponseBody {
    full(Bytes::new())
}

/// A `std::error::Error` carrying a message, for aborting bodies.
#[derive(Debug)]
pub(crate) struct Cut(pub(crate) String);

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Cut {}

/// Why a request body could not be read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// More than the cap arrived.
    TooLarge {
        /// The cap, in bytes.
        max: usize,
    },
    /// The body broke off: invalid chunked framing, a body shorter than its `Content-Length`, or
    /// the peer hung up mid-body.
    Broken {
        /// Bytes read before it broke.
        after: usize,
        /// What hyper said.
        reason: String,
    },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge { max } => write!(f, "the request body is larger than {max} bytes"),
            ReadError::Broken { after, reason } => {
                write!(
                    f,
                    "the request body broke off after {after} bytes ({reason}): check its framing and Content-Length"
                )
            }
        }
    }
}

/// Reads a whole body up to `max` bytes. A declared `Content-Length` over the cap is refused
/// before anything is read.
pub(crate) async fn read_limited(mut body: Incoming, max: usize) -> Result<Bytes, ReadError> {
    let declared = body.size_hint().exact().map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if declared.is_some_and(|n| n > max) {
        return Err(ReadError::TooLarge { max });
    }
    // Sized up front when the length is declared (no doubling copies for a 6 MiB payload).
    let mut out = BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Broken { after: out.len(), reason: e.to_string() })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max {
                return Err(ReadError::TooLarge { max });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

/// Reads and drops what is left of a refused request (briefly and up to a cap), so the peer sees
/// the answer.
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

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<ResponseBody> {
    let mut response = Response::new(full(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A client API error in AWS's JSON shape: `{"Message": ...}`, the type in `x-amzn-errortype`.
pub(crate) fn aws_error(status: StatusCode, error_type: Option<&str>, message: &str) -> Response<ResponseBody> {
    let mut response = json_response(status, &serde_json::json!({ "Message": message }));
    if let Some(t) = error_type.and_then(|t| HeaderValue::from_str(t).ok()) {
        response.headers_mut().insert(names::AMZN_ERROR_TYPE, t);
    }
    response
}

/// The client API's answer for a request body that could not be read: 413
/// `RequestTooLargeException` when it was too large, 400 `InvalidRequestContentException` when it
/// was broken (a bad request, not an oversize one).
pub(crate) fn unreadable_request(error: &ReadError) -> Response<ResponseBody> {
    match error {
        ReadError::TooLarge { .. } => {
            aws_error(StatusCode::PAYLOAD_TOO_LARGE, Some("RequestTooLargeException"), &error.to_string())
        }
        ReadError::Broken { .. } => {
            aws_error(StatusCode::BAD_REQUEST, Some("InvalidRequestContentException"), &error.to_string())
        }
    }
}

/// Lambda's answer for a function (or qualifier) that does not exist: 404
/// `ResourceNotFoundException`, `{"Type":"User","message":"Function not found: ARN"}`.
pub(crate) fn function_not_found(arn: &str) -> Response<ResponseBody> {
    let body = serde_json::json!({ "Type": "User", "message": format!("Function not found: {arn}") });
    let mut response = json_response(StatusCode::NOT_FOUND, &body);
    response.headers_mut().insert(names::AMZN_ERROR_TYPE, HeaderValue::from_static("ResourceNotFoundException"));
    response
}

/// 405 for a client path that takes only POST.
pub(crate) fn method_not_allowed() -> Response<ResponseBody> {
    aws_error(StatusCode::METHOD_NOT_ALLOWED, None, "Method Not Allowed: use POST")
}

/// A Runtime API error in RIE's shape, `{"errorMessage","errorType"}`.
pub(crate) fn rie_error(status: StatusCode, error_type: &str, message: impl Into<String>) -> Response<ResponseBody> {
    json_response(status, &serde_json::json!({ "errorMessage": message.into(), "errorType": error_type }))
}

/// The Runtime API's answer to an accepted `/response` or `/error`: 202 `{"status":"OK"}`, as RIE
/// answers (RIE `invocationresponse_test.go`).
pub(crate) fn accepted() -> Response<ResponseBody> {
    json_response(StatusCode::ACCEPTED, &serde_json::json!({ "status": "OK" }))
}

/// A response's headers as name/value strings, for the recorder.
pub(crate) fn header_list(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}
