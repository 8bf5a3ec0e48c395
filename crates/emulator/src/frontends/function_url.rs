//! The function URL front end (every path of the public listener that no other front end owns):
//! payload v2.0 in, status/headers from the prelude, body streamed as it arrives.
//!
//! Phases of one request: admission (body cap, SigV4), the event and the invocation, the head
//! (wait for the runtime's answer to start; decode the prelude at any chunk split, or take the
//! runtime's content type; an error before the first body byte is a 502), the response head
//! (sanitised headers), then the body, which streams the rest as hyper asks for it.
//!
//! The waiting, the prelude, the header rules and the relay are shared with API Gateway
//! ([`super::relay`]).
//!
//! ## Headers a function may not set
//! The emulator frames the client's response itself, as the function URL service does, so the
//! prelude's connection-level and framing headers are dropped (a proxy must not forward them,
//! RFC 9110 §7.6.1; the list is in [`super::relay`]). `content-length` arrives renamed to
//! `x-amzn-remapped-content-length` (docs/protocol.md §1). `x-amzn-requestid` is the emulator's:
//! a function's value is dropped. Each dropped header is logged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::names;

use super::relay::{self, Failure, HeadRule, MALFORMED_PRELUDE, PreludeHeaders, RelayRules, Timers};
use super::{Admitted, ClientGuard, admit};
use crate::http::{self as h, ResponseBody};
use crate::invocation::{FrontEnd, InvocationError, NewInvocation};
use crate::payload::{UrlRequestInfo, function_url_event};
use crate::platform::Platform;
use crate::recorder::{ClientEnd, FaultKind};
use crate::shaping::Shaper;

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

    let head =
        match relay::await_head(&mut stream, Timers::default(), HeadRule::PreludeIfAnnounced, PreludeHeaders::Remapped)
            .await
        {
            Ok(head) => head,
            Err(failure) => {
                guard.disarm();
                return bad_gateway(&platform, &id, failure);
            }
        };
    // No body may follow the head for these (RFC 9110 §6.4.1): the rest of the answer is read
    // to its end and dropped (`relay::end_without_body`).
    let bodiless = parts.method == Method::HEAD || matches!(head.status.as_u16(), 204 | 304);
    let streaming = !head.finished && !bodiless;
    let (response_body, unsent) = if streaming {
        let rules = RelayRules {
            shapers: platform.limits.bandwidth.map(Shaper::new).into_iter().collect(),
            ..RelayRules::default()
        };
        (relay::body(platform.clone(), id.clone(), stream, head.first, rules), None)
    } else {
        (h::empty(), Some(stream))
    };
    let mut response = Response::new(response_body);
    *response.status_mut() = head.status;
    relay::set_headers(&mut response, head.headers, &[names::AMZN_REQUEST_ID], &id);
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(names::AMZN_REQUEST_ID, v);
    }
    platform.recorder.client_head(&id, head.status.as_u16(), h::header_list(response.headers()));
    guard.disarm();
    if let Some(stream) = unsent {
        relay::end_without_body(&platform, &id, stream);
    }
    response
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
        // The function URL puts no clock of its own on the stream (`Timers::default()`); the
        // platform's deadline ends the invocation with an error instead.
        Failure::Expired(expiry) => InvocationError::platform(error_types::SANDBOX_TIMEOUT, expiry.to_string()),
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
