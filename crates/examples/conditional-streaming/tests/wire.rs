//! conditional-streaming on the wire, one test per scenario: the handler run by the lambda-stream
//! runtime against the scripted Runtime API peer (`lambda-stream-test-support`), asserting what
//! reaches the Runtime API: the prelude, the chunks, `/error` before the first byte, trailers after.

use std::time::{Duration, Instant};

use example_conditional_streaming::ConditionalStreaming;
use example_conditional_streaming::scenario::{
    CHUNK_PAUSE, Decision, FAIL_BEFORE_MESSAGE, FAIL_MID_MESSAGE, FAILURE_TYPE, KNOWN, LARGE_PATTERN, MB,
    MID_STREAM_CHUNKS, OK_CHUNKS, SLOW_FIRST_CHUNK, Scenario,
};
use lambda_stream::{ErrorDiagnostic, Prelude, Runtime};
use lambda_stream_protocol::names;
use lambda_stream_test_support::runtime_api_peer::{PostKind, RecordedRequest, RuntimeApiPeer};
use serde_json::{Value, json};

fn split_prelude(body: &[u8]) -> (Prelude, Vec<u8>) {
    let at = body.windows(8).position(|w| w == [0; 8]).expect("a prelude delimiter in the body");
    (Prelude::from_json(&body[..at]).expect("a valid prelude"), body[at + 8..].to_vec())
}

fn raw(scenario: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "scenario": scenario })).unwrap()
}

/// Runs `invocations` invocations of the handler against the peer.
async fn serve(peer: &RuntimeApiPeer, invocations: usize) {
    Runtime::builder()
        .endpoint(peer.endpoint())
        .handler(ConditionalStreaming)
        .build()
        .unwrap()
        .serve(invocations)
        .await
        .unwrap();
}

/// The one response to `event`.
async fn answer(event: Vec<u8>) -> RecordedRequest {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(event);
    serve(&peer, 1).await;
    peer.next_post().await
}

fn expected_prelude(scenario: Scenario) -> Prelude {
    scenario.head().expect("a head").prelude()
}

#[tokio::test]
async fn ok_streams_five_chunks_apart_with_status_headers_and_a_cookie() {
    let post = answer(Vec::new()).await;
    assert!(matches!(post.kind(), PostKind::Response(_)));
    assert!(post.is_chunked(), "ok streams");
    assert_eq!(post.header("content-type"), Some(names::HTTP_INTEGRATION_CONTENT_TYPE));
    let (head, payload) = split_prelude(&post.body());
    assert_eq!(head, expected_prelude(Scenario::Ok));
    assert_eq!(head.cookies, ["scenario=ok; Path=/; HttpOnly"]);
    assert_eq!(payload, OK_CHUNKS.concat().as_bytes());
    assert!(post.ended_cleanly);
    assert_eq!(post.trailers, None);
    // Not buffered: the first chunk arrived well before the last (four pauses; half is the bound).
    let at = |needle: &str| {
        post.chunks.iter().find(|c| c.bytes.windows(needle.len()).any(|w| w == needle.as_bytes())).unwrap().at
    };
    let spread = at(OK_CHUNKS[4]) - at(OK_CHUNKS[0]);
    assert!(spread >= CHUNK_PAUSE * 2, "first and last chunk {spread:?} apart");
}

#[tokio::test]
async fn the_json_error_scenarios_answer_their_status_with_a_json_body() {
    for (name, status) in [("bad-request", 400), ("unauthorized", 401), ("not-found", 404), ("server-error", 500)] {
        let post = answer(raw(name)).await;
        assert!(matches!(post.kind(), PostKind::Response(_)), "{name}");
        // A whole answer written at once goes buffered, with a Content-Length.
        assert_eq!(post.content_length(), Some(post.body().len() as u64), "{name}");
        let (head, payload) = split_prelude(&post.body());
        assert_eq!(head.status(), status, "{name}");
        assert_eq!(head.headers.get("content-type").map(String::as_str), Some("application/json"), "{name}");
        assert_eq!(head.headers.get("x-scenario").map(String::as_str), Some(name));
        let body: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(body["error"], name);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let post = answer(raw("unauthorized")).await;
    let (head, _) = split_prelude(&post.body());
    assert!(head.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn unreadable_and_unknown_requests_get_400_saying_why() {
    let post = answer(b"this is not json".to_vec()).await;
    let (head, payload) = split_prelude(&post.body());
    assert_eq!(head.status(), 400);
    let body: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(body["error"], "bad-request");
    assert!(body["message"].as_str().unwrap().contains("not JSON"));

    let post = answer(raw("teapot")).await;
    let (head, payload) = split_prelude(&post.body());
    assert_eq!(head.status(), 400);
    let body: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(body["error"], "unknown-scenario");
    assert_eq!(body["known"], json!(KNOWN));
    assert_eq!(Decision::Unknown("teapot".into()).json_answer().unwrap().body.as_bytes(), payload);
}

#[tokio::test]
async fn a_function_url_query_picks_the_scenario() {
    let event = json!({
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": "scenario=not-found",
        "queryStringParameters": {"scenario": "not-found"},
        "requestContext": {"http": {"method": "GET", "path": "/"}},
        "isBase64Encoded": false,
    });
    let post = answer(serde_json::to_vec(&event).unwrap()).await;
    let (head, _) = split_prelude(&post.body());
    assert_eq!(head.status(), 404);
}

#[tokio::test]
async fn fail_before_first_byte_posts_error_and_the_next_invocation_succeeds() {
    let peer = RuntimeApiPeer::start().await;
    let failing = peer.push_event(raw("fail-before-first-byte"));
    let next = peer.push_event(raw("ok"));
    serve(&peer, 2).await;

    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Error(failing));
    assert_eq!(post.header(names::FUNCTION_ERROR_TYPE), Some(FAILURE_TYPE));
    assert_eq!(post.error_document(), ErrorDiagnostic::new(FAILURE_TYPE, FAIL_BEFORE_MESSAGE));

    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(next));
    assert_eq!(split_prelude(&post.body()).1, OK_CHUNKS.concat().as_bytes());
}

#[tokio::test]
async fn fail_mid_stream_sends_chunks_then_trailers_and_the_next_invocation_succeeds() {
    let peer = RuntimeApiPeer::start().await;
    let failing = peer.push_event(raw("fail-mid-stream"));
    let next = peer.push_event(raw("empty"));
    serve(&peer, 2).await;

    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(failing));
    assert!(post.is_chunked());
    let (head, payload) = split_prelude(&post.body());
    assert_eq!(head, expected_prelude(Scenario::FailMidStream));
    assert_eq!(payload, MID_STREAM_CHUNKS.concat().as_bytes(), "the error is not in the body");
    assert!(post.ended_cleanly, "the body ends with its trailers, properly framed");
    let error = post.trailer_error().expect("error trailers").expect("a decodable error body");
    assert_eq!(error.error_type, FAILURE_TYPE);
    assert_eq!(error.error_message, FAIL_MID_MESSAGE);

    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(next));
}

#[tokio::test]
async fn slow_starts_streaming_and_keeps_going_with_heartbeats() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(raw("slow"));
    let endpoint = peer.endpoint();
    let runtime = tokio::spawn(async move {
        Runtime::builder().endpoint(endpoint).handler(ConditionalStreaming).build().unwrap().serve(1).await
    });
    let head_len = expected_prelude(Scenario::Slow).encode().len() as u64;
    let first = head_len + SLOW_FIRST_CHUNK.len() as u64;
    let heartbeat = first + "heartbeat 1\n".len() as u64;
    let started = Instant::now();
    // The first chunk comes at once ...
    while peer.body_bytes_received() < first {
        assert!(started.elapsed() < Duration::from_secs(5), "the first chunk did not arrive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ... the first heartbeat about five seconds later, and the response does not end.
    while peer.body_bytes_received() < heartbeat {
        assert!(started.elapsed() < Duration::from_secs(10), "no heartbeat within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() >= Duration::from_secs(4), "the heartbeat came too early: {:?}", started.elapsed());
    assert_eq!(peer.body_bytes_received(), heartbeat, "nothing but the first chunk and one heartbeat");
    // The heartbeat arriving is the signal that the stream is still open; the peer records a
    // request only once its body ended, so none may be recorded yet.
    assert!(peer.next_post_within(Duration::ZERO).await.is_none(), "slow must not finish");
    runtime.abort();
}

#[tokio::test]
async fn large_streams_size_mb_of_the_pattern() {
    let post = answer(br#"{"scenario":"large","size_mb":3}"#.to_vec()).await;
    assert!(post.is_chunked());
    let (head, payload) = split_prelude(&post.body());
    assert_eq!(head, expected_prelude(Scenario::Large { size_mb: 3 }));
    assert_eq!(payload.len() as u64, 3 * MB);
    assert!(payload.iter().enumerate().all(|(i, b)| *b == LARGE_PATTERN[i % LARGE_PATTERN.len()]));
    assert!(post.chunks.len() > 1, "streamed in many chunks, not one");
    assert!(post.ended_cleanly);
}

#[tokio::test]
async fn empty_and_redirect_deliver_status_and_headers_without_a_body() {
    for (name, scenario, status) in [("empty", Scenario::Empty, 204), ("redirect", Scenario::Redirect, 302)] {
        let post = answer(raw(name)).await;
        assert!(matches!(post.kind(), PostKind::Response(_)), "{name}");
        // Nothing was written: one buffered answer holding only the prelude, so nothing is left to end.
        assert_eq!(post.body(), expected_prelude(scenario).encode(), "{name}");
        assert_eq!(post.content_length(), Some(post.body().len() as u64), "{name}");
        let (head, payload) = split_prelude(&post.body());
        assert_eq!(head.status(), status, "{name}");
        assert!(payload.is_empty(), "{name}");
    }
}
