//! End to end: the `streaming-codable` binary as a child process under the emulator
//! (`lambda_stream_emulator::emulate`, 127.0.0.1 port 0), called the three ways its event
//! arrives: raw on `/invoke`, wrapped in a function URL request (the function URL, and a whole
//! request document posted to `/invoke` as Swift's README does), and raw through
//! InvokeWithResponseStream (aws-sdk-lambda). Then the refusals (a payload that does not decode,
//! a count out of range) and the background work after `finish`.

use std::time::{Duration, Instant};

use aws_sdk_lambda::config::{Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvokeWithResponseStreamResponseEvent;
use lambda_stream_emulator::{EmulateOptions, Emulation, emulate};
use regex::Regex;
use serde_json::{Value, json};

async fn start() -> Emulation {
    emulate(EmulateOptions::new(env!("CARGO_BIN_EXE_streaming-codable")))
        .await
        .expect("the emulator and the function start")
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// A response body chunk by chunk, each with its arrival time.
async fn timed_body(mut response: reqwest::Response) -> Vec<(Vec<u8>, Instant)> {
    let mut chunks = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("the body ends cleanly") {
        chunks.push((chunk.to_vec(), Instant::now()));
    }
    chunks
}

async fn json_body(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

fn text(chunks: &[(Vec<u8>, Instant)]) -> String {
    String::from_utf8(chunks.iter().flat_map(|(b, _)| b.clone()).collect()).unwrap()
}

/// Checks the lines of a successful answer: `count` message lines, then the completion line.
fn assert_lines(body: &str, count: usize, message: &str) {
    let line = Regex::new(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] Message (\d+)/(\d+): (.*)$").unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), count + 1, "{body:?}");
    for (i, l) in lines[..count].iter().enumerate() {
        let captures = line.captures(l).unwrap_or_else(|| panic!("{l:?} is not a message line"));
        assert_eq!(captures[1].parse::<usize>().unwrap(), i + 1);
        assert_eq!(captures[2].parse::<usize>().unwrap(), count);
        assert_eq!(&captures[3], message);
    }
    assert_eq!(lines[count], format!("✅ Successfully sent {count} messages"));
}

/// The time between the chunks holding `first` and `last`.
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
async fn invoke_takes_the_posted_json_as_the_event_and_streams_the_lines() {
    // Swift's README: curl --data '{"count": 3, "message": "Hello World!", "delayMs": 1000}' .../invoke
    let emulation = start().await;
    let response = http()
        .post(format!("{}/invoke", emulation.emulator.url()))
        .body(r#"{"count": 3, "message": "Hello World!", "delayMs": 300}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
    let chunks = timed_body(response).await;
    assert_lines(&text(&chunks), 3, "Hello World!");
    assert!(chunks.len() >= 3, "one chunk per write: {} chunks", chunks.len());
    let spread = spread(&chunks, "Message 1/3", "Message 3/3");
    // Half the two 300 ms pauses: a buffered body gives ~0, a late first chunk under load ~100 ms less.
    assert!(spread >= Duration::from_millis(300), "first and last message only {spread:?} apart: buffered?");
    emulation.shutdown().await;
}

#[tokio::test]
async fn the_function_url_body_is_decoded_from_its_request() {
    let emulation = start().await;
    let response = http()
        .post(format!("{}/any/path?x=1", emulation.emulator.url()))
        .header("content-type", "application/json")
        .body(json!({"count": 2, "message": "via a URL", "delayMs": 250}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let chunks = timed_body(response).await;
    assert_lines(&text(&chunks), 2, "via a URL");
    assert!(spread(&chunks, "Message 1/2", "Message 2/2") >= Duration::from_millis(200));
    // A binary body reaches the function base64-encoded; it is decoded before the JSON.
    let response = http()
        .post(format!("{}/", emulation.emulator.url()))
        .header("content-type", "application/octet-stream")
        .body(json!({"count": 1, "message": "binary", "delayMs": 0}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_lines(&response.text().await.unwrap(), 1, "binary");
    emulation.shutdown().await;
}

#[tokio::test]
async fn a_whole_function_url_request_posted_to_invoke_is_read_as_one() {
    // Swift's README simulates a function URL by posting a request document to /invoke.
    let emulation = start().await;
    let document = include_str!("../events/function-url-request.json");
    let response = http().post(format!("{}/invoke", emulation.emulator.url())).body(document).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_lines(&response.text().await.unwrap(), 2, "From a function URL request");
    emulation.shutdown().await;
}

fn sdk(emulation: &Emulation) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "e2e"))
        .endpoint_url(emulation.emulator.url())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

/// The PayloadChunks of one InvokeWithResponseStream call, timed, and its InvokeComplete error code.
async fn iwrs(emulation: &Emulation, payload: Value) -> (Vec<(Vec<u8>, Instant)>, Option<String>) {
    let output = sdk(emulation)
        .invoke_with_response_stream()
        .function_name("streaming-codable")
        .payload(Blob::new(payload.to_string()))
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
    (chunks, complete.expect("InvokeComplete").error_code)
}

#[tokio::test]
async fn invoke_with_response_stream_gets_the_lines_alone_as_written() {
    let emulation = start().await;
    let (chunks, error) = iwrs(&emulation, json!({"count": 3, "message": "over IWRS", "delayMs": 300})).await;
    assert_eq!(error, None);
    // No prelude: the answer is the lines, nothing before them.
    assert_lines(&text(&chunks), 3, "over IWRS");
    assert!(chunks.len() >= 4, "one PayloadChunk per write: {}", chunks.len());
    assert!(spread(&chunks, "Message 1/3", "Message 3/3") >= Duration::from_millis(300));
    emulation.shutdown().await;
}

#[tokio::test]
async fn a_payload_that_does_not_decode_is_a_400_before_the_first_byte() {
    let emulation = start().await;
    let url = emulation.emulator.url();
    for (path, body) in [("/invoke", r#"{"count": "three", "message": "m"}"#), ("/", r#"{"message": "no count"}"#)] {
        let response = http().post(format!("{url}{path}")).body(body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path} {body}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let error = json_body(response).await;
        assert_eq!(error["errorType"], "InvalidEvent");
        let message = error["errorMessage"].as_str().unwrap();
        assert!(message.contains("does not decode as StreamingRequest"), "{message}");
    }
    let response = http().post(format!("{url}/invoke")).body("not json").send().await.unwrap();
    assert_eq!(response.status(), 400);
    let message = json_body(response).await["errorMessage"].as_str().unwrap().to_owned();
    assert!(message.starts_with("the event does not decode as StreamingRequest: expected ident"), "{message}");
    // A function URL request without a body says so.
    let response = http().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let message = json_body(response).await["errorMessage"].as_str().unwrap().to_owned();
    assert_eq!(message, "the function URL request's body is empty: send JSON for StreamingRequest as the request body");
    // InvokeWithResponseStream: the same answer, prelude and all, as the payload; no function error.
    let (chunks, error) = iwrs(&emulation, json!({"count": 1})).await;
    assert_eq!(error, None);
    let payload = text(&chunks);
    assert!(payload.starts_with(r#"{"statusCode":400"#), "{payload:?}");
    assert!(payload.contains(r#""errorType":"InvalidEvent""#), "{payload:?}");
    emulation.shutdown().await;
}

#[tokio::test]
async fn a_count_out_of_range_is_refused_with_swifts_message() {
    let emulation = start().await;
    let response = http()
        .post(format!("{}/invoke", emulation.emulator.url()))
        .body(r#"{"count": 0, "message": "m"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.text().await.unwrap(), "Error: Count must be between 1 and 100, got: 0\n");
    emulation.shutdown().await;
}

#[tokio::test]
async fn background_work_runs_after_the_response_and_the_next_invocation_waits_for_it() {
    let emulation = start().await;
    let url = format!("{}/invoke", emulation.emulator.url());
    let first = http()
        .post(&url)
        .body(r#"{"count": 1, "message": "first", "delayMs": 0, "backgroundMs": 1500}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let request_id = first.headers()["x-amzn-requestid"].to_str().unwrap().to_owned();
    assert_lines(&first.text().await.unwrap(), 1, "first");
    let first_ended = Instant::now();
    // Sent at once: it waits until the handler has done its background work and returned.
    let second = http().post(&url).body(r#"{"count": 1, "message": "second", "delayMs": 0}"#).send().await.unwrap();
    let second_head = Instant::now();
    assert_lines(&second.text().await.unwrap(), 1, "second");
    let waited = second_head - first_ended;
    assert!(waited >= Duration::from_millis(1200), "the second answer started {waited:?} after the first ended");
    // The emulator's record: the handler returned (asked for more) well after the body ended.
    let record = emulation.emulator.recorder().invocation(&request_id).expect("the first invocation's record");
    let (client_end, _) = record.client.end.clone().unwrap();
    let returned = record.runtime.returned_at.expect("the handler returned");
    assert!(
        returned - client_end >= Duration::from_millis(1400),
        "returned {:?} after the body",
        returned - client_end
    );
    let log = emulation.emulator.log().lines();
    let position = |needle: &str| log.iter().position(|l| l.contains(needle));
    let (work, done) = (position("Background work: cleaning up"), position("Background work completed"));
    assert!(work.is_some() && done > work, "{log:#?}");
    emulation.shutdown().await;
}
