//! InvokeWithResponseStream: `POST /2021-11-15/functions/{name}/response-streaming-invocations`.
//!
//! One event-stream `PayloadChunk` per runtime chunk as it arrives, then `InvokeComplete`
//! (IWRS API reference). Errors, also before the first byte, arrive in `InvokeComplete`
//! (`ErrorCode`, `ErrorDetails`) under a 200, as AWS does.
//!
//! ## `Content-Type` of the answer
//! aws-sdk-lambda maps the HTTP `Content-Type` header to `ResponseStreamContentType`
//! (`protocol_serde/shape_invoke_with_response_stream.rs`). One header cannot carry both the
//! event-stream type and the function's type; the emulator sends
//! `application/vnd.amazon.eventstream` as docs/protocol.md §2 records for AWS, so SDK callers
//! see that value there. The function's own content type is kept in the recorder.

use std::sync::Arc;

use http::{HeaderValue, StatusCode};
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::InvokeEvent;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::names;

use super::{ClientCall, InvocationType, aws_head, client_call, log_tail, wants_tail};
use crate::http::{self as h, FrameSender, ResponseBody};
use crate::invocation::{Event, FrontEnd, Invocation, InvocationStream, NewInvocation};
use crate::platform::Platform;
use crate::recorder::ClientEnd;
use crate::shaping::Shaper;

/// Serves one InvokeWithResponseStream call for function identifier `name`.
pub(crate) async fn serve(platform: Arc<Platform>, req: Request<Incoming>, name: &str) -> Response<ResponseBody> {
    let call = match client_call(&platform, req, name).await {
        Ok(call) => call,
        Err(refusal) => return *refusal,
    };
    let ClientCall { parts, body, kind, context, qualifier, executed_version } = call;
    match kind {
        InvocationType::DryRun => {
            return aws_head(StatusCode::NO_CONTENT, &uuid::Uuid::new_v4().to_string(), &executed_version, h::empty());
        }
        InvocationType::Event => {
            return h::aws_error(
                StatusCode::BAD_REQUEST,
                Some("InvalidParameterValueException"),
                "InvokeWithResponseStream supports only RequestResponse and DryRun invocation types",
            );
        }
        InvocationType::RequestResponse => {}
    }
    let tail = wants_tail(&parts);
    let mut new = NewInvocation::new(body, FrontEnd::InvokeWithResponseStream);
    new.client_context = context;
    new.qualifier = qualifier;
    let (invocation, stream) = platform.submit(new);
    let id = invocation.id.clone();
    let (tx, response_body) = h::channel();
    let mut response = aws_head(StatusCode::OK, &id, &executed_version, response_body);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(names::EVENT_STREAM_CONTENT_TYPE));
    platform.recorder.client_head(&id, 200, h::header_list(response.headers()));
    tokio::spawn(relay(platform.clone(), id, stream, tx, tail.then(|| invocation.clone())));
    response
}

/// One PayloadChunk frame per runtime chunk as it arrives, then InvokeComplete.
async fn relay(
    platform: Arc<Platform>,
    id: String,
    mut stream: InvocationStream,
    tx: FrameSender,
    tail_of: Option<Arc<Invocation>>,
) {
    let mut shaper = platform.limits.bandwidth.map(Shaper::new);
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
                let log_result = match &tail_of {
                    Some(invocation) => Some(log_tail(&platform, invocation).await),
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
            platform.recorder.client_end(&id, ClientEnd::Disconnected);
            return;
        }
        platform.recorder.client_chunk(&id, len);
        if last {
            platform.recorder.client_end(&id, ClientEnd::Completed);
            return;
        }
    }
}
