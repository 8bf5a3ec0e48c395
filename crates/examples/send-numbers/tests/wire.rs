//! send-numbers on the wire: the handler run by the lambda-stream runtime against the scripted
//! Runtime API peer (`lambda-stream-test-support`), asserting the exact `POST /response` it sends.

use std::time::Duration;

use example_send_numbers::{SendNumbers, line, prelude};
use lambda_stream::{Prelude, Runtime};
use lambda_stream_protocol::names;
use lambda_stream_test_support::runtime_api_peer::{PostKind, RecordedRequest, RuntimeApiPeer};

/// Splits a body at the prelude delimiter (eight 0x00 bytes): the prelude, then the payload.
fn split_prelude(body: &[u8]) -> (Prelude, Vec<u8>) {
    let at = body.windows(8).position(|w| w == [0; 8]).expect("a prelude delimiter in the body");
    (Prelude::from_json(&body[..at]).expect("a valid prelude"), body[at + 8..].to_vec())
}

/// The offsets into the payload, and arrival times, of the recorded chunks that carry a line.
fn line_arrivals(post: &RecordedRequest) -> Vec<(String, std::time::Instant)> {
    post.chunks
        .iter()
        .filter_map(|c| {
            let text = String::from_utf8_lossy(&c.bytes);
            let start = text.find("Number: ")?;
            Some((text[start..].to_owned(), c.at))
        })
        .collect()
}

async fn run_one(peer: &RuntimeApiPeer) {
    Runtime::builder().endpoint(peer.endpoint()).handler(SendNumbers).build().unwrap().serve(1).await.unwrap();
}

#[tokio::test]
async fn the_swift_payload_gets_three_lines_one_second_apart_behind_the_swift_headers() {
    let peer = RuntimeApiPeer::start().await;
    let id = peer.push_event(&br#""this is not used""#[..]);
    run_one(&peer).await;
    let post = peer.next_post().await;
    assert_eq!(post.kind(), PostKind::Response(id));
    assert_eq!(post.header(names::RESPONSE_MODE), Some(names::RESPONSE_MODE_STREAMING));
    assert_eq!(post.header("content-type"), Some(names::HTTP_INTEGRATION_CONTENT_TYPE));
    assert!(post.is_chunked());
    assert!(post.ended_cleanly);
    assert_eq!(post.trailers, None);

    let (head, payload) = split_prelude(&post.body());
    assert_eq!(head, prelude());
    assert_eq!(head.status(), 200);
    assert_eq!(payload, b"Number: 1\nNumber: 2\nNumber: 3\n");

    // Each line is its own chunk, sent when written: about a second between them (generous bounds:
    // a line late by a loaded scheduler shortens the gap after it).
    let arrivals = line_arrivals(&post);
    let lines: Vec<_> = arrivals.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(lines, [line(1), line(2), line(3)]);
    for pair in arrivals.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(gap >= Duration::from_millis(500), "lines {gap:?} apart, expected about 1 s");
        assert!(gap < Duration::from_secs(5), "lines {gap:?} apart, expected about 1 s");
    }
}

#[tokio::test]
async fn a_function_url_request_with_a_base64_body_sets_count_and_pause() {
    let peer = RuntimeApiPeer::start().await;
    // The body {"count":4,"pause_ms":20}, base64-encoded as a function URL sends a body without a
    // text content type.
    let event = serde_json::json!({
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": "",
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": "eyJjb3VudCI6NCwicGF1c2VfbXMiOjIwfQ==",
        "isBase64Encoded": true,
    });
    peer.push_event(serde_json::to_vec(&event).unwrap());
    run_one(&peer).await;
    let post = peer.next_post().await;
    let (head, payload) = split_prelude(&post.body());
    assert_eq!(head, prelude());
    assert_eq!(payload, b"Number: 1\nNumber: 2\nNumber: 3\nNumber: 4\n");
}

#[tokio::test]
async fn count_zero_still_delivers_status_and_headers() {
    let peer = RuntimeApiPeer::start().await;
    peer.push_event(&br#"{"count":0}"#[..]);
    run_one(&peer).await;
    let post = peer.next_post().await;
    let (head, payload) = split_prelude(&post.body());
    assert_eq!(head, prelude());
    assert!(payload.is_empty());
}
