//! The peers on the official runtime, run as child processes under the emulator and called through
//! reqwest: their happy paths must work, and the official runtime's known deviations are pinned
//! here (each assertion is a claim of `crates/peers/README.md`), so a release that fixes one makes
//! its test fail and the README gets updated.

use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use example_conditional_streaming::scenario::{
    FAIL_BEFORE_MESSAGE, FAIL_MID_MESSAGE, FAILURE_TYPE, MID_STREAM_CHUNKS, OK_CHUNKS,
};
use lambda_stream_emulator::{EmulateOptions, Emulation, emulate};
use lambda_stream_protocol::diagnostic::error_types;
use lambda_stream_protocol::event_stream::InvokeComplete;
use lambda_stream_protocol::{EventStreamDecoder, InvokeEvent, env};
use serde_json::{Value, json};

const SEND_NUMBERS: &str = env!("CARGO_BIN_EXE_official-send-numbers");
const CONDITIONAL: &str = env!("CARGO_BIN_EXE_official-conditional-streaming");

async fn start(bootstrap: &str) -> Emulation {
    emulate(EmulateOptions::new(bootstrap)).await.expect("the emulator and the peer start")
}

#[derive(Debug)]
struct UrlAnswer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    chunks: Vec<(Vec<u8>, Instant)>,
    aborted: bool,
}

impl UrlAnswer {
    fn body(&self) -> Vec<u8> {
        self.chunks.iter().flat_map(|(b, _)| b.clone()).collect()
    }
}

async fn url_post(emulation: &Emulation, event: &Value) -> UrlAnswer {
    let mut response = reqwest::Client::new()
        .post(format!("{}/", emulation.emulator.url()))
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .await
        .expect("the function URL answers");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let mut chunks = Vec::new();
    let aborted = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => chunks.push((chunk.to_vec(), Instant::now())),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    UrlAnswer { status, headers, chunks, aborted }
}

/// InvokeWithResponseStream by hand (reqwest and the project's event-stream decoder): the payload
/// and the InvokeComplete.
async fn iwrs(emulation: &Emulation, function: &str, payload: &[u8]) -> (Vec<u8>, InvokeComplete) {
    let url = format!("{}/2021-11-15/functions/{function}/response-streaming-invocations", emulation.emulator.url());
    let mut response = reqwest::Client::new().post(url).body(payload.to_vec()).send().await.expect("IWRS answers");
    assert_eq!(response.status(), 200);
    let mut decoder = EventStreamDecoder::new();
    let mut body = Vec::new();
    let mut complete = None;
    while let Some(chunk) = response.chunk().await.expect("the event stream ends cleanly") {
        decoder.push(&chunk);
        while let Some(event) = decoder.next_event().expect("well-formed frames") {
            match event {
                InvokeEvent::PayloadChunk(bytes) => body.extend_from_slice(&bytes),
                InvokeEvent::InvokeComplete(done) => complete = Some(done),
            }
        }
    }
    decoder.finish().expect("no truncated frame");
    (body, complete.expect("InvokeComplete"))
}

/// The payload after the prelude delimiter.
fn after_prelude(payload: &[u8]) -> Vec<u8> {
    let at = payload.windows(8).position(|w| w == [0; 8]).expect("a prelude delimiter");
    payload[at + 8..].to_vec()
}

#[tokio::test]
async fn official_send_numbers_streams_like_ours() {
    let emulation = start(SEND_NUMBERS).await;
    let answer = url_post(&emulation, &json!({"pause_ms": 300})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "text/plain");
    assert_eq!(answer.headers["x-my-custom-header"], "streaming-example");
    assert_eq!(answer.body(), b"Number: 1\nNumber: 2\nNumber: 3\n");
    assert!(!answer.aborted);
    let first = answer.chunks.iter().find(|(b, _)| b.starts_with(b"Number: 1")).unwrap().1;
    let last = answer.chunks.iter().find(|(b, _)| b.starts_with(b"Number: 3")).unwrap().1;
    // Not buffered: two 300 ms pauses lie between the lines. Half that span is the bound, so a first
    // chunk late by a loaded scheduler (CI saw 103 ms) does not fail it; a buffered body gives ~0.
    assert!(last - first >= Duration::from_millis(300), "lines {:?} apart: buffered?", last - first);
    emulation.shutdown().await;
}

#[tokio::test]
async fn official_conditional_streaming_answers_ok_and_json_scenarios() {
    let emulation = start(CONDITIONAL).await;
    let ok = url_post(&emulation, &json!({"scenario": "ok"})).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers["set-cookie"], "scenario=ok; Path=/; HttpOnly");
    assert_eq!(ok.body(), OK_CHUNKS.concat().as_bytes());
    assert!(!ok.aborted);
    let not_found = url_post(&emulation, &json!({"scenario": "not-found"})).await;
    assert_eq!(not_found.status, 404);
    let body: Value = serde_json::from_slice(&not_found.body()).unwrap();
    assert_eq!(body["error"], "not-found");
    let empty = url_post(&emulation, &json!({"scenario": "empty"})).await;
    assert_eq!(empty.status, 204);
    assert!(empty.body().is_empty());

    let (payload, complete) = iwrs(&emulation, "official-conditional-streaming", br#"{"scenario":"ok"}"#).await;
    assert_eq!(after_prelude(&payload), OK_CHUNKS.concat().as_bytes());
    assert_eq!(complete.error_code, None);
    emulation.shutdown().await;
}

/// fail-before-first-byte reaches callers as an error, but not with the handler's error type: the
/// official runtime sends the header `lambda-runtime-function-error-type: unhandled` whatever the
/// `Diagnostic` says (`src/requests.rs`, `EventErrorRequest`), the emulator takes the header's type
/// first as RIE does (`crates/emulator/src/runtime_api.rs`), and `unhandled` is not of the form
/// `Category.Reason`, so it becomes `Function.Unknown`. The message survives.
#[tokio::test]
async fn official_fail_before_first_byte_loses_its_error_type_pinned_defect() {
    let emulation = start(CONDITIONAL).await;
    let answer = url_post(&emulation, &json!({"scenario": "fail-before-first-byte"})).await;
    assert_eq!(answer.status, 502);
    let body: Value = serde_json::from_slice(&answer.body()).unwrap();
    assert_eq!(body["errorType"], error_types::FUNCTION_UNKNOWN, "{body}");
    assert_ne!(body["errorType"], FAILURE_TYPE);
    assert_eq!(body["errorMessage"], FAIL_BEFORE_MESSAGE);
    let (payload, complete) =
        iwrs(&emulation, "official-conditional-streaming", br#"{"scenario":"fail-before-first-byte"}"#).await;
    assert!(payload.is_empty());
    assert_eq!(complete.error_code.as_deref(), Some(error_types::FUNCTION_UNKNOWN));
    assert!(complete.error_details.unwrap_or_default().contains(FAILURE_TYPE), "the body still names it");
    // The next invocation is served.
    let ok = url_post(&emulation, &json!({"scenario": "ok"})).await;
    assert_eq!(ok.body(), OK_CHUNKS.concat().as_bytes());
    emulation.shutdown().await;
}

/// The known defect (lambda_runtime `src/requests.rs`, `src/types.rs` `to_tailer`): a mid-stream
/// error is written into the body as text, the stream then ends normally, so URL callers get a
/// clean 200 with the text appended and IWRS callers an InvokeComplete without an error.
#[tokio::test]
async fn official_fail_mid_stream_writes_the_error_into_the_body_pinned_defect() {
    let emulation = start(CONDITIONAL).await;
    let error_text = format!("{FAILURE_TYPE}: {FAIL_MID_MESSAGE}");
    let trailer_text = format!(
        "Lambda-Runtime-Function-Error-Type: Runtime.StreamError\r\nLambda-Runtime-Function-Error-Body: {}\r\n",
        base64::engine::general_purpose::STANDARD.encode(&error_text)
    );
    let mut expected = MID_STREAM_CHUNKS.concat().into_bytes();
    expected.extend_from_slice(trailer_text.as_bytes());

    let answer = url_post(&emulation, &json!({"scenario": "fail-mid-stream"})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body(), expected, "the would-be trailers are body text");
    assert!(!answer.aborted, "the body ends cleanly: URL callers cannot tell it failed");

    let (payload, complete) =
        iwrs(&emulation, "official-conditional-streaming", br#"{"scenario":"fail-mid-stream"}"#).await;
    assert_eq!(after_prelude(&payload), expected);
    assert_eq!(complete.error_code, None, "no InvokeComplete error: IWRS callers cannot tell it failed");
    emulation.shutdown().await;
}

/// The official runtime parses every event as JSON before the handler runs (`src/deserializer.rs`,
/// `src/layers/api_response.rs`): a non-JSON raw event never reaches the handler, so the peer
/// cannot answer it with our 400; the runtime reports a deserialisation error instead.
#[tokio::test]
async fn official_non_json_events_fail_before_the_handler() {
    let emulation = start(CONDITIONAL).await;
    let (payload, complete) = iwrs(&emulation, "official-conditional-streaming", b"this is not json").await;
    assert!(payload.is_empty());
    assert!(complete.error_code.is_some(), "{complete:?}");
    let details = complete.error_details.unwrap_or_default();
    assert!(details.contains("failed to deserialize"), "{details}");
    emulation.shutdown().await;
}

/// Runs a peer binary with exactly `env` and returns (success, stderr). The environment is the
/// child's own (`Command::env_clear`), nothing is set in this process.
fn run_with_env(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(SEND_NUMBERS);
    command.env_clear();
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("the peer binary runs");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

const LAMBDA_ENV: [(&str, &str); 3] =
    [(env::FUNCTION_NAME, "f"), (env::FUNCTION_VERSION, env::LATEST_VERSION), (env::FUNCTION_MEMORY_SIZE, "128")];

#[test]
fn official_runtime_panics_without_memory_size() {
    let vars: Vec<_> = LAMBDA_ENV
        .iter()
        .copied()
        .filter(|(k, _)| *k != env::FUNCTION_MEMORY_SIZE)
        .chain([(env::RUNTIME_API, "127.0.0.1:9")])
        .collect();
    let (ok, stderr) = run_with_env(&vars);
    assert!(!ok);
    assert!(stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(&format!("Missing {} env var", env::FUNCTION_MEMORY_SIZE)), "{stderr}");
}

#[test]
fn official_runtime_panics_on_a_runtime_api_with_a_prefix_and_no_scheme() {
    let vars: Vec<_> = LAMBDA_ENV.iter().copied().chain([(env::RUNTIME_API, "127.0.0.1:9/.rt")]).collect();
    let (ok, stderr) = run_with_env(&vars);
    assert!(!ok);
    assert!(stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("Unable to convert to URL"), "{stderr}");
}
