//! Buffered answers (SWIFT `LambdaRuntimeClient.swift`): `finish`/`write_and_finish` as the first
//! body call sends one `POST /response` with a `Content-Length` when the total is at most 6 MB
//! (`limits::MAX_BUFFERED_RESPONSE_BYTES`), and streams otherwise. Status and headers with an empty
//! body still reach the caller (NODE issue 97).

use lambda_stream::{
    BoxError, Bytes, LambdaContext, Prelude, ResponseStreamWriter, Runtime, StreamingHandler, handler_fn,
};
use lambda_stream_protocol::limits::MAX_BUFFERED_RESPONSE_BYTES;
use lambda_stream_protocol::names;
use lambda_stream_test_support::runtime_api_peer::{PostKind, RecordedRequest, RuntimeApiPeer};

const INTEGRATION: &str = names::HTTP_INTEGRATION_CONTENT_TYPE;

async fn serve_one<H: StreamingHandler>(handler: H) -> RecordedRequest {
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push_event(Bytes::new());
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id));
    assert!(post.ended_cleanly);
    // serve(1) returned, so every request the runtime made was answered, and the peer records a
    // request before answering it: a second one would be queued already.
    assert!(peer.next_post_within(std::time::Duration::ZERO).await.is_none(), "one request only");
    post
}

fn assert_buffered(post: &RecordedRequest, body: &[u8]) {
    assert!(!post.is_chunked(), "a buffered answer is not chunked");
    assert_eq!(post.content_length(), Some(body.len() as u64));
    assert_eq!(post.header(names::RESPONSE_MODE), None, "no streaming mode on a buffered answer");
    assert_eq!(post.header("trailer"), None);
    assert_eq!(post.body(), body);
}

fn assert_streamed(post: &RecordedRequest, body_len: usize) {
    assert!(post.is_chunked());
    assert_eq!(post.content_length(), None);
    assert_eq!(post.header(names::RESPONSE_MODE), Some(names::RESPONSE_MODE_STREAMING));
    assert_eq!(post.body().len(), body_len);
}

#[tokio::test]
async fn finish_as_the_first_call_sends_an_empty_buffered_answer() {
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.finish().await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_buffered(&post, b"");
    assert_eq!(post.header("content-type"), Some(names::DEFAULT_STREAM_CONTENT_TYPE));
}

#[tokio::test]
async fn write_and_finish_as_the_first_call_is_buffered() {
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.set_content_type("application/json")?;
        writer.write_and_finish(r#"{"ok":true}"#).await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_buffered(&post, br#"{"ok":true}"#);
    assert_eq!(post.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn status_and_headers_with_an_empty_body_reach_the_wire() {
    let head = Prelude::with_status(204).header("x-request", "7").cookie("a=b");
    let sent = head.clone();
    let post = serve_one(handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_status_and_headers(sent.clone()).await?;
        writer.finish().await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_buffered(&post, &head.encode());
    assert_eq!(post.header("content-type"), Some(INTEGRATION));
}

#[tokio::test]
async fn status_and_headers_then_returning_without_finish_still_reach_the_wire() {
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_status_and_headers(Prelude::with_status(404)).await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_buffered(&post, &Prelude::with_status(404).encode());
    assert_eq!(post.header("content-type"), Some(INTEGRATION));
}

#[tokio::test]
async fn returning_without_any_call_sends_an_empty_answer() {
    let post = serve_one(handler_fn(async |_event, _writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_buffered(&post, b"");
}

#[tokio::test]
async fn prelude_and_body_go_buffered_together() {
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_status_and_headers(Prelude::with_status(200)).await?;
        writer.write_and_finish("body").await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    let mut expected = Prelude::with_status(200).encode().to_vec();
    expected.extend_from_slice(b"body");
    assert_buffered(&post, &expected);
}

#[tokio::test]
async fn exactly_six_megabytes_is_still_buffered() {
    let len = MAX_BUFFERED_RESPONSE_BYTES as usize;
    let post = serve_one(handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_and_finish(vec![b'a'; len]).await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    assert!(!post.is_chunked());
    assert_eq!(post.content_length(), Some(len as u64));
    assert_eq!(post.body().len(), len);
}

#[tokio::test]
async fn over_six_megabytes_is_streamed() {
    let len = MAX_BUFFERED_RESPONSE_BYTES as usize + 1;
    let post = serve_one(handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_and_finish(vec![b'b'; len]).await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_streamed(&post, len);
    assert!(post.body().iter().all(|b| *b == b'b'));
}

#[tokio::test]
async fn a_prelude_counts_toward_the_six_megabytes() {
    let len = MAX_BUFFERED_RESPONSE_BYTES as usize;
    let prelude = Prelude::with_status(200).encode();
    let post = serve_one(handler_fn(async move |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_status_and_headers(Prelude::with_status(200)).await?;
        writer.write_and_finish(vec![b'c'; len]).await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_streamed(&post, prelude.len() + len);
    assert_eq!(post.header("content-type"), Some(INTEGRATION));
    assert!(post.body().starts_with(&prelude));
}

#[tokio::test]
async fn finish_after_a_write_is_not_buffered() {
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write(Bytes::new()).await?;
        writer.finish().await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_streamed(&post, 0);
}
