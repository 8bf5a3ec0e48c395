//! End to end: the `send-numbers` binary as a child process under the emulator
//! (`lambda_stream_emulator::emulate`, 127.0.0.1 port 0), called through reqwest (function URL and
//! `/invoke`) and aws-sdk-lambda (`invoke_with_response_stream`): status, headers, body, and that
//! the lines arrive as they are written, not all at the end.

use std::time::{Duration, Instant};

use aws_sdk_lambda::config::{Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvokeWithResponseStreamResponseEvent;
use example_send_numbers::prelude;
use lambda_stream_emulator::{EmulateOptions, Emulation, emulate};
use serde_json::json;

/// The pause these tests ask for between the three lines.
const PAUSE_MS: u64 = 300;

/// The "not buffered" bound for three lines [`PAUSE_MS`] apart: half the two pauses. A buffered
/// body gives ~0; a first line late by a loaded scheduler (CI has seen ~100 ms) still passes.
const HALF_OF_TWO_PAUSES: Duration = Duration::from_millis(PAUSE_MS);

async fn start() -> Emulation {
    emulate(EmulateOptions::new(env!("CARGO_BIN_EXE_send-numbers"))).await.expect("the emulator and the function start")
}

/// Reads a response body chunk by chunk, with the arrival time of each.
async fn timed_body(mut response: reqwest::Response) -> Vec<(Vec<u8>, Instant)> {
    let mut chunks = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("the body ends cleanly") {
        chunks.push((chunk.to_vec(), Instant::now()));
    }
    chunks
}

/// The time between the chunk that has `first` and the one that has `last`.
fn spread(chunks: &[(Vec<u8>, Instant)], first: &str, last: &str) -> Duration {
    let at = |needle: &str| {
        chunks
            .iter()
            .find(|(bytes, _)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or_else(|| panic!("no chunk holds {needle:?}"))
            .1
    };
    at(last) - at(first)
}

#[tokio::test]
async fn the_function_url_streams_the_lines_apart_with_the_swift_headers() {
    let emulation = start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/", emulation.emulator.url()))
        .header("content-type", "application/json")
        .body(json!({"pause_ms": PAUSE_MS}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.headers()["x-my-custom-header"], "streaming-example");
    assert!(response.headers().get("set-cookie").is_none(), "send-numbers sets no cookie");
    let chunks = timed_body(response).await;
    let body: Vec<u8> = chunks.iter().flat_map(|(b, _)| b.clone()).collect();
    assert_eq!(body, b"Number: 1\nNumber: 2\nNumber: 3\n");
    let spread = spread(&chunks, "Number: 1", "Number: 3");
    assert!(spread >= HALF_OF_TWO_PAUSES, "first and last line only {spread:?} apart: buffered?");
    emulation.shutdown().await;
}

#[tokio::test]
async fn invoke_with_no_body_is_the_swift_example_one_line_a_second() {
    // What `curl -N -X POST http://127.0.0.1:7000/invoke` does against local mode.
    let emulation = start().await;
    let response = reqwest::Client::new().post(format!("{}/invoke", emulation.emulator.url())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-my-custom-header"], "streaming-example");
    let chunks = timed_body(response).await;
    let body: Vec<u8> = chunks.iter().flat_map(|(b, _)| b.clone()).collect();
    assert_eq!(body, b"Number: 1\nNumber: 2\nNumber: 3\n");
    let spread = spread(&chunks, "Number: 1", "Number: 3");
    assert!(spread >= Duration::from_secs(1), "default pause is one second; lines {spread:?} apart");
    emulation.shutdown().await;
}

#[tokio::test]
async fn invoke_with_response_stream_relays_each_line_as_its_own_payload_chunk() {
    let emulation = start().await;
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "e2e"))
        .endpoint_url(emulation.emulator.url())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let client = aws_sdk_lambda::Client::from_conf(config);
    let output = client
        .invoke_with_response_stream()
        .function_name("send-numbers")
        .payload(Blob::new(json!({"count": 3, "pause_ms": PAUSE_MS}).to_string()))
        .send()
        .await
        .expect("InvokeWithResponseStream answers");
    assert_eq!(output.status_code, 200);
    let mut stream = output.event_stream;
    let mut chunks = Vec::new();
    let mut complete = None;
    while let Some(event) = stream.recv().await.expect("a well-formed event stream") {
        match event {
            InvokeWithResponseStreamResponseEvent::PayloadChunk(chunk) => {
                chunks.push((chunk.payload.map(Blob::into_inner).unwrap_or_default(), Instant::now()));
            }
            InvokeWithResponseStreamResponseEvent::InvokeComplete(done) => complete = Some(done),
            other => panic!("unexpected event {other:?}"),
        }
    }
    let complete = complete.expect("InvokeComplete");
    assert_eq!(complete.error_code, None);
    // IWRS callers get the prelude bytes as they were written (spec §1), then the lines.
    let mut expected = prelude().encode().to_vec();
    expected.extend_from_slice(b"Number: 1\nNumber: 2\nNumber: 3\n");
    let payload: Vec<u8> = chunks.iter().flat_map(|(b, _)| b.clone()).collect();
    assert_eq!(payload, expected);
    let spread = spread(&chunks, "Number: 1", "Number: 3");
    assert!(spread >= HALF_OF_TWO_PAUSES, "first and last line only {spread:?} apart: buffered?");
    emulation.shutdown().await;
}
