//! The buffered Invoke API: `POST /2015-03-31/functions/{name}/invocations`.
//!
//! Its contract is to collect: the runtime's whole answer (streamed or not) is gathered up to the
//! buffered cap (6 MiB + 100 B, as Lambda enforces) and sent in one body. A function error is a
//! 200 with `X-Amz-Function-Error: Unhandled` and the error document as the body; `Event` is
//! accepted at once with 202 and its answer dropped; `DryRun` is a 204 (Invoke API reference).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, StatusCode};
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::names;

use super::{ClientCall, ClientGuard, InvocationType, aws_head, client_call, log_tail, wants_tail};
use crate::http::{self as h, ResponseBody};
use crate::invocation::{Event, FrontEnd, InvocationError, NewInvocation};
use crate::platform::Platform;
use crate::recorder::{ClientEnd, FaultKind};

/// Serves one Invoke call for function identifier `name`.
pub(crate) async fn serve(platform: Arc<Platform>, req: Request<Incoming>, name: &str) -> Response<ResponseBody> {
    let call = match client_call(&platform, req, name).await {
        Ok(call) => call,
        Err(refusal) => return *refusal,
    };
    let ClientCall { parts, body, kind, context, qualifier, executed_version } = call;
    let mut new = NewInvocation::new(body, FrontEnd::Invoke);
    new.client_context = context;
    new.qualifier = qualifier;
    match kind {
        InvocationType::DryRun => {
            aws_head(StatusCode::NO_CONTENT, &uuid::Uuid::new_v4().to_string(), &executed_version, h::empty())
        }
        InvocationType::Event => {
            // Asynchronous: accepted at once. Nobody listens to the answer: the Runtime API reads
            // it to its end without passing it on (runtime_api.rs `deliver`).
            let (invocation, stream) = platform.submit(new);
            drop(stream);
            let id = invocation.id.clone();
            let response = aws_head(StatusCode::ACCEPTED, &id, &executed_version, h::empty());
            platform.recorder.client_head(&id, 202, h::header_list(response.headers()));
            platform.recorder.client_end(&id, ClientEnd::Completed);
            response
        }
        InvocationType::RequestResponse => {
            let tail = wants_tail(&parts);
            request_response(platform, new, &executed_version, tail).await
        }
    }
}

/// A synchronous invocation: collect the answer, then answer once.
async fn request_response(
    platform: Arc<Platform>,
    new: NewInvocation,
    executed_version: &str,
    tail: bool,
) -> Response<ResponseBody> {
    let (invocation, mut stream) = platform.submit(new);
    let id = invocation.id.clone();
    let guard = ClientGuard::new(&platform.recorder, &id);
    let max = platform.limits.max_buffered_response_bytes;
    let mut collected = BytesMut::new();
    let mut content_type = "application/json".to_owned();
    let result = loop {
        match stream.next().await {
            Event::Start { content_type: ct } => content_type = ct,
            Event::Chunk(bytes) => {
                if (collected.len() + bytes.len()) as u64 > max {
                    let error = InvocationError::platform(
                        error_types::FUNCTION_RESPONSE_SIZE_TOO_LARGE,
                        format!("Response payload size exceeded maximum allowed payload size ({max} bytes)."),
                    );
                    platform.recorder.fault(Some(&id), FaultKind::ResponseTooLarge, &error.error_message);
                    platform.abort(&invocation, error.clone());
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
    let mut response = aws_head(StatusCode::OK, &id, executed_version, h::full(body_bytes));
    let headers = response.headers_mut();
    let ct = if function_error { "application/json" } else { content_type.as_str() };
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("application/json")),
    );
    if function_error {
        headers.insert(names::AMZ_FUNCTION_ERROR, HeaderValue::from_static("Unhandled"));
    }
    if tail && let Ok(v) = HeaderValue::from_str(&log_tail(&platform, &invocation).await) {
        response.headers_mut().insert(names::AMZ_LOG_RESULT, v);
    }
    platform.recorder.client_head(&id, 200, h::header_list(response.headers()));
    platform.recorder.client_chunk(&id, len);
    platform.recorder.client_end(&id, ClientEnd::Completed);
    guard.disarm();
    response
}
