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

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::InvokeEvent;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::names;

use super::{ClientCall, InvocationType, aws_head, client_call, log_tail, wants_tail};
use crate::http::{self as h, BodyError, ResponseBody};
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
    let shaper = platform.limits.bandwidth.map(Shaper::new);
    let tail_of = tail.then(|| invocation.clone());
    let relay = Relay { platform: platform.clone(), id: id.clone(), stream, shaper, tail_of, ended: false };
    let mut response = aws_head(StatusCode::OK, &id, &executed_version, h::pulled(relay, Relay::step));
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(names::EVENT_STREAM_CONTENT_TYPE));
    platform.recorder.client_head(&id, 200, h::header_list(response.headers()));
    response
}

/// The answer's body: one PayloadChunk frame per runtime chunk, read from the invocation's events
/// when hyper asks for the next frame (see [`h::pulled`]), then InvokeComplete. When the client
/// goes away hyper drops the body and with it the invocation's stream.
struct Relay {
    platform: Arc<Platform>,
    id: String,
    stream: InvocationStream,
    shaper: Option<Shaper>,
    /// The invocation whose log tail goes out, when the caller asked for it.
    tail_of: Option<Arc<Invocation>>,
    /// InvokeComplete has gone out.
    ended: bool,
}

impl Relay {
    async fn step(mut self) -> Option<(Result<Bytes, BodyError>, Self)> {
        if self.ended {
            return None;
        }
        let frame = loop {
            match self.stream.next().await {
                Event::Start { .. } => {}
                Event::Chunk(bytes) => {
                    if let Some(shaper) = &mut self.shaper {
                        shaper.take(bytes.len()).await;
                    }
                    break InvokeEvent::PayloadChunk(bytes).encode();
                }
                Event::Done(result) => {
                    let log_result = match &self.tail_of {
                        Some(invocation) => Some(log_tail(&self.platform, invocation).await),
                        None => None,
                    };
                    let (error_code, error_details) = match result {
                        Ok(()) => (None, None),
                        Err(e) => (Some(e.error_type), Some(e.details)),
                    };
                    let done = InvokeComplete { error_code, error_details, log_result };
                    self.ended = true;
                    break InvokeEvent::InvokeComplete(done).encode();
                }
            }
        };
        self.platform.recorder.client_chunk(&self.id, frame.len());
        if self.ended {
            self.platform.recorder.client_end(&self.id, ClientEnd::Completed);
        }
        Some((Ok(frame), self))
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.ended {
            self.platform.recorder.client_end(&self.id, ClientEnd::Disconnected);
        }
    }
}
