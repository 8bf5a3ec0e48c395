//! A handler that returns `Ok` without finishing its response: docs/protocol.md §4 allows
//! "finished or reported"; this runtime **finishes** it (the choice documented on
//! `ResponseStreamWriter` and `StreamingHandler`), never reports it as an error, and serves the
//! next invocation. Each test sends a second invocation to show the loop goes on.

use std::time::Duration;

use lambda_stream::{BoxError, Bytes, LambdaContext, Prelude, ResponseStreamWriter, Runtime, handler_fn};
use lambda_stream_test_support::runtime_api_peer::{PostKind, RecordedRequest, RuntimeApiPeer};

const INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";

/// Serves two invocations: the first with `first` (which returns without finishing), the second
/// answered normally. Returns the first answer after checking the second.
async fn unfinished_then_next(first: &'static str) -> RecordedRequest {
    let peer = RuntimeApiPeer::start().await;
    let unfinished = peer.push_event(first);
    let next = peer.push_event("next");
    let handler = handler_fn(async |event: Bytes, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        match &event[..] {
            b"nothing" => {}
            b"headers" => writer.write_status_and_headers(Prelude::with_status(404).header("x-kept", "1")).await?,
            b"stream" => {
                writer.write("partial ").await?;
                writer.write("answer").await?;
            }
            b"empty-write" => writer.write(Bytes::new()).await?,
            _ => writer.write_and_finish("second answer").await?,
        }
        Ok::<(), BoxError>(())
    });
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(2).await.unwrap();

    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(unfinished), "finished through /response, not reported to /error");
    assert!(post.ended_cleanly, "the answer is complete: {:?}", post.body_error);
    assert_eq!(post.trailers, None, "no error trailers: returning without finishing is not an error");
    let second = peer.next_post().await;
    assert_eq!(second.kind(), PostKind::Response(next), "the runtime served the next invocation");
    assert_eq!(second.body(), "second answer");
    // serve(2) returned, so every request the runtime made was answered, and the peer records a
    // request before answering it: another one would be queued already.
    assert!(peer.next_post_within(Duration::ZERO).await.is_none(), "no other request");
    post
}

#[tokio::test]
async fn an_open_stream_is_ended_cleanly() {
    let post = unfinished_then_next("stream").await;
    assert!(post.is_chunked());
    assert_eq!(post.header("lambda-runtime-function-response-mode"), Some("streaming"));
    assert_eq!(post.body(), "partial answer", "the bytes written stay, nothing is added");
}

#[tokio::test]
async fn a_stream_opened_by_an_empty_write_is_ended_with_no_body() {
    let post = unfinished_then_next("empty-write").await;
    assert!(post.is_chunked());
    assert_eq!(post.body(), "");
}

#[tokio::test]
async fn held_status_and_headers_go_out_as_a_buffered_answer() {
    let post = unfinished_then_next("headers").await;
    assert!(!post.is_chunked());
    assert_eq!(post.header("content-type"), Some(INTEGRATION));
    let prelude = Prelude::with_status(404).header("x-kept", "1").encode();
    assert_eq!(post.content_length(), Some(prelude.len() as u64));
    assert_eq!(post.body(), prelude, "the status and headers reach the caller with an empty body");
}

#[tokio::test]
async fn no_call_at_all_sends_an_empty_buffered_answer() {
    let post = unfinished_then_next("nothing").await;
    assert!(!post.is_chunked());
    assert_eq!(post.content_length(), Some(0));
    assert_eq!(post.header("content-type"), Some("application/octet-stream"));
}
