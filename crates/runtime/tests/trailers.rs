//! Errors after the first body byte (RT-CUSTOM): real HTTP/1.1 trailers
//! `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body` (standard base64
//! of `{"errorType","errorMessage","trace"}`), never text in the body (the RUST and SWIFT defects
//! the spec names).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_stream::{
    BoxError, Bytes, ErrorDiagnostic, FunctionError, LambdaContext, ResponseStreamWriter, Runtime, StreamingHandler,
    handler_fn,
};
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::names;
use lambda_stream_test_support::runtime_api_peer::{PostKind, RecordedRequest, RuntimeApiPeer};

async fn serve_one<H: StreamingHandler>(handler: H) -> RecordedRequest {
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push_event(Bytes::new());
    Runtime::builder().endpoint(peer.endpoint()).handler(handler).build().unwrap().serve(1).await.unwrap();
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id), "an error after the first byte is not an /error post");
    // serve(1) returned, so every request the runtime made was answered, and the peer records a
    // request before answering it: a second one would be queued already.
    assert!(peer.next_post_within(std::time::Duration::ZERO).await.is_none(), "one request only");
    post
}

fn assert_trailer_error(post: &RecordedRequest, expected: &ErrorDiagnostic) {
    assert!(post.ended_cleanly, "trailers end the chunked body properly: {:?}", post.body_error);
    assert_eq!(post.trailer(names::FUNCTION_ERROR_TYPE), Some(expected.error_type.as_str()));
    let encoded = post.trailer(names::FUNCTION_ERROR_BODY).expect("the error body trailer");
    let json: serde_json::Value = serde_json::from_slice(&STANDARD.decode(encoded).expect("standard base64")).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "errorType": expected.error_type,
            "errorMessage": expected.error_message,
            "trace": [],
        })
    );
    assert_eq!(post.trailer_error().unwrap().unwrap(), *expected);
}

#[tokio::test]
async fn an_error_after_the_first_byte_becomes_trailers() {
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write("partial ").await?;
        writer.write("answer").await?;
        Err::<(), BoxError>(std::io::Error::other("the database went away").into())
    }))
    .await;
    assert_eq!(post.body(), "partial answer", "the body holds exactly what was written, no error text");
    assert_trailer_error(&post, &ErrorDiagnostic::new(error_types::FUNCTION_UNHANDLED, "the database went away"));
}

#[tokio::test]
async fn a_panic_after_the_first_byte_becomes_trailers() {
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write("partial").await?;
        if writer.write("").await.is_ok() {
            panic!("index out of range");
        }
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_eq!(post.body(), "partial");
    assert_trailer_error(
        &post,
        &ErrorDiagnostic::new(error_types::FUNCTION_PANIC, "the handler panicked: index out of range"),
    );
}

#[tokio::test]
async fn a_function_error_names_its_own_trailer_type() {
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write("x").await?;
        Err::<(), BoxError>(FunctionError::new("Function.QuotaExceeded", "too many rows").into())
    }))
    .await;
    assert_trailer_error(&post, &ErrorDiagnostic::new("Function.QuotaExceeded", "too many rows"));
}

#[tokio::test]
async fn an_error_after_an_empty_write_still_uses_trailers() {
    // An empty write starts the response (head and prelude), so the error can no longer go to /error.
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write_status_and_headers(lambda_stream::Prelude::with_status(500)).await?;
        writer.write(Bytes::new()).await?;
        Err::<(), BoxError>("late".into())
    }))
    .await;
    assert_eq!(post.body(), lambda_stream::Prelude::with_status(500).encode());
    assert_trailer_error(&post, &ErrorDiagnostic::new(error_types::FUNCTION_UNHANDLED, "late"));
}

#[tokio::test]
async fn a_successful_stream_has_no_trailers() {
    let post = serve_one(handler_fn(async |_event, writer: &mut ResponseStreamWriter, _ctx: LambdaContext| {
        writer.write("ok").await?;
        writer.finish().await?;
        Ok::<(), BoxError>(())
    }))
    .await;
    assert_eq!(post.trailers, None);
    assert!(post.ended_cleanly);
}
