//! The client front ends, one file each: the function URL ([`function_url`]), the Swift-style
//! local endpoint ([`local`]), InvokeWithResponseStream ([`iwrs`]), the buffered Invoke
//! ([`invoke`]) and API Gateway ([`api_gateway`], on a listener of its own). This module holds
//! what they share: admission (body size, SigV4), the checks the two Invoke APIs make in AWS's
//! order, and the guard that closes a record when a client leaves; [`relay`] holds what the two
//! front ends that answer with the function's own status and headers (function URL, API
//! Gateway) share: the head, the prelude, the header rules and the streamed body.
//!
//! Every front end relays what the runtime sends as it arrives: the hyper response body reads
//! the invocation's small bounded event channel itself whenever hyper wants the next frame (no
//! task and no second channel in between), so nothing is collected (except by the buffered
//! Invoke, whose contract is to collect) and a slow client slows the runtime rather than growing
//! memory.
//!
//! ## Errors clients see
//! - **Function URL / `/invoke`**, error before the first body byte (or a malformed prelude, or a
//!   status outside 200–599): 502 with `{"errorType","errorMessage"}` (the function's or the
//!   platform's error, normalised type). AWS answers an opaque `{"Message":"Internal Server
//!   Error"}`; locally the cause is what a developer needs, so the emulator names it. After the
//!   head was sent: the body ends with an error, so hyper drops the connection without the
//!   terminating zero-length chunk (docs/protocol.md §2, "Function URLs"), and the error is logged
//!   and recorded.
//! - **InvokeWithResponseStream**: always 200 once the function exists; errors arrive in the
//!   final `InvokeComplete` (`ErrorCode` = normalised type, `ErrorDetails` = the error JSON
//!   document, docs/protocol.md §2's choice), also when nothing was streamed before, as AWS does.
//! - **Invoke**: 200 with `X-Amz-Function-Error: Unhandled` and the error JSON as the body.
//! - Unknown function or qualifier (IWRS, Invoke): 404 `ResourceNotFoundException`,
//!   `{"Type":"User","message":"Function not found: ARN"}` like AWS.
//! - A request body over the cap: 413 `RequestTooLargeException`; a broken one (bad chunked
//!   framing, shorter than its `Content-Length`): 400 `InvalidRequestContentException`.
//! - A client context that is not base64 JSON, or longer than 3,583 bytes of base64 (the cap the
//!   Invoke API reference gives): 400 `InvalidRequestContentException`.
//! - SigV4 refused: 403 `{"Message": what is wrong}` with `x-amzn-errortype` set as AWS names it.
//! - **API Gateway** answers in its own shape, `{"message": ...}`: see [`api_gateway`].
//!
//! ## Chunk boundaries
//! A chunk is relayed as hyper hands it over from the runtime's connection: a small chunk (what
//! runtimes write per `write` call) arrives whole and becomes one client chunk or one
//! `PayloadChunk`; a chunk larger than one socket read may be handed over, and so relayed, in
//! several pieces, each as soon as it is read.

pub(crate) mod api_gateway;
pub(crate) mod function_url;
pub(crate) mod invoke;
pub(crate) mod iwrs;
pub(crate) mod local;
pub(crate) mod relay;

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use hyper::Request;
use hyper::Response;
use hyper::body::Incoming;
use lambda_stream_protocol::names;

use crate::auth;
use crate::config::{Auth, QualifierError};
use crate::http::{self as h, ResponseBody};
use crate::invocation::Invocation;
use crate::logs::TAIL_BYTES;
use crate::platform::Platform;
use crate::recorder::{ClientEnd, Recorder};

/// The longest `X-Amz-Client-Context` Lambda takes: 3,583 bytes of base64 (Invoke and
/// InvokeWithResponseStream API references, "ClientContext").
pub(crate) const MAX_CLIENT_CONTEXT_BYTES: usize = 3583;

/// An answer that refuses a request (boxed: responses are large and refusals rare).
pub(crate) type Refused = Box<Response<ResponseBody>>;

/// A request that passed admission.
pub(crate) struct Admitted {
    pub(crate) parts: http::request::Parts,
    pub(crate) body: Bytes,
    /// The IAM caller's access key, when `Auth::Iam` verified the request.
    pub(crate) caller: Option<String>,
}

/// Reads the request body (capped) and checks auth. On refusal, the answer to send.
pub(crate) async fn admit(platform: &Platform, req: Request<Incoming>) -> Result<Admitted, Refused> {
    let (parts, body) = req.into_parts();
    let max = usize::try_from(platform.limits.max_request_bytes).unwrap_or(usize::MAX);
    let body = h::read_limited(body, max).await.map_err(|e| {
        tracing::info!(path = %parts.uri.path(), "refused: {e}");
        Box::new(h::unreadable_request(&e))
    })?;
    let caller = match &platform.auth {
        Auth::None => None,
        Auth::Iam { access_key_id, secret_access_key } => {
            let expected = auth::Expected { access_key_id, secret_access_key, service: auth::LAMBDA };
            match auth::verify(&parts, &body, expected, SystemTime::now()) {
                Ok(key) => Some(key),
                Err(refusal) => {
                    tracing::info!(path = %parts.uri.path(), "refused: {}", refusal.message);
                    return Err(Box::new(h::aws_error(
                        StatusCode::FORBIDDEN,
                        Some(refusal.error_type),
                        &refusal.message,
                    )));
                }
            }
        }
    };
    Ok(Admitted { parts, body, caller })
}

/// What `X-Amz-Invocation-Type` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

fn invocation_type(parts: &http::request::Parts) -> Result<InvocationType, Refused> {
    match parts.headers.get(names::INVOCATION_TYPE).map(|v| v.to_str().unwrap_or("")) {
        None | Some("RequestResponse") => Ok(InvocationType::RequestResponse),
        Some("Event") => Ok(InvocationType::Event),
        Some("DryRun") => Ok(InvocationType::DryRun),
        Some(other) => Err(Box::new(h::aws_error(
            StatusCode::BAD_REQUEST,
            Some("InvalidParameterValueException"),
            &format!("X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, got {other:?}"),
        ))),
    }
}

/// `X-Amz-Client-Context`: base64 of a JSON object, at most 3,583 bytes, passed to the runtime
/// as JSON.
fn client_context(parts: &http::request::Parts) -> Result<Option<String>, Refused> {
    let Some(value) = parts.headers.get(names::AMZ_CLIENT_CONTEXT) else {
        return Ok(None);
    };
    let refuse = |message: String| {
        Box::new(h::aws_error(StatusCode::BAD_REQUEST, Some("InvalidRequestContentException"), &message))
    };
    if value.len() > MAX_CLIENT_CONTEXT_BYTES {
        return Err(refuse(format!(
            "Client context must be at most {MAX_CLIENT_CONTEXT_BYTES} bytes of base64, got {} bytes.",
            value.len()
        )));
    }
    STANDARD
        .decode(value.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| serde_json::from_str::<serde_json::Value>(s).is_ok_and(|v| v.is_object()))
        .map(Some)
        .ok_or_else(|| refuse("Client context must be a valid Base64-encoded JSON object.".into()))
}

/// The `Qualifier` query parameter, if any.
fn qualifier_param(uri: &http::Uri) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == "Qualifier").then(|| crate::payload::decode_query(value))
    })
}

/// Whether the caller asked for the log tail (`X-Amz-Log-Type: Tail`).
fn wants_tail(parts: &http::request::Parts) -> bool {
    parts.headers.get(names::LOG_TYPE).is_some_and(|v| v == "Tail")
}

/// The base64 log tail of an invocation: what the function printed since it started, at most
/// 4 KB, as Lambda's `LogResult`. Cut once the runtime that served it asked for its next
/// invocation and its output is in (`Platform::settle_log`): not after a pause, which a busy
/// machine can outlast.
async fn log_tail(platform: &Platform, invocation: &Invocation) -> String {
    platform.settle_log(invocation).await;
    STANDARD.encode(platform.log.tail_since(invocation.log_start, TAIL_BYTES))
}

/// The head of an IWRS or Invoke answer: status, executed version, request id.
fn aws_head(status: StatusCode, id: &str, executed_version: &str, body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(executed_version) {
        headers.insert(names::EXECUTED_VERSION, v);
    }
    if let Ok(v) = HeaderValue::from_str(id) {
        headers.insert(names::AMZN_REQUEST_ID, v);
    }
    response
}

/// A client API call (IWRS or Invoke) that passed the checks both APIs share.
pub(crate) struct ClientCall {
    pub(crate) parts: http::request::Parts,
    pub(crate) body: Bytes,
    pub(crate) kind: InvocationType,
    pub(crate) context: Option<String>,
    /// The qualifier named (in the function name or `?Qualifier=`), `None` when unqualified.
    pub(crate) qualifier: Option<String>,
    /// `X-Amz-Executed-Version`: `$LATEST`, or the version the qualifier runs.
    pub(crate) executed_version: String,
}

/// The checks IWRS and Invoke share, in AWS's order: method, function name and qualifier, auth
/// and size, then the invocation type and client context headers.
pub(crate) async fn client_call(
    platform: &Platform,
    req: Request<Incoming>,
    name: &str,
) -> Result<ClientCall, Refused> {
    if req.method() != Method::POST {
        return Err(Box::new(h::method_not_allowed()));
    }
    let qualifier = match platform.function.resolve(name, qualifier_param(req.uri()).as_deref()) {
        Ok(qualifier) => qualifier,
        Err(QualifierError::NotFound(arn)) => return Err(Box::new(h::function_not_found(&arn))),
        Err(QualifierError::Conflict) => {
            return Err(Box::new(h::aws_error(
                StatusCode::BAD_REQUEST,
                Some("InvalidParameterValueException"),
                "The derived qualifier from the function name does not match the specified qualifier.",
            )));
        }
    };
    let executed_version =
        qualifier.as_deref().and_then(|q| platform.function.executed_version(q)).unwrap_or("$LATEST").to_owned();
    let Admitted { parts, body, caller: _ } = admit(platform, req).await?;
    let kind = invocation_type(&parts)?;
    let context = client_context(&parts)?;
    Ok(ClientCall { parts, body, kind, context, qualifier, executed_version })
}

/// Closes an invocation's client leg as `Disconnected` when a front end's future is dropped
/// before the client got its answer (hyper drops it when the client goes away), so the record
/// completes and ages out of the recorder like any other.
pub(crate) struct ClientGuard {
    recorder: Recorder,
    id: Option<String>,
}

impl ClientGuard {
    pub(crate) fn new(recorder: &Recorder, id: &str) -> Self {
        Self { recorder: recorder.clone(), id: Some(id.to_owned()) }
    }

    /// The front end answered; the relay (if any) records how the body ends.
    pub(crate) fn disarm(mut self) {
        self.id = None;
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.recorder.client_end(&id, ClientEnd::Disconnected);
        }
    }
}
