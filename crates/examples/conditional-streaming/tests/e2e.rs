//! End to end: the `conditional-streaming` binary as a child process under the emulator
//! (`lambda_stream_emulator::emulate`, 127.0.0.1 port 0), called through real clients: reqwest on
//! the function URL and `/invoke`, aws-sdk-lambda's `invoke_with_response_stream`. Every scenario's
//! answer is pinned on both paths, and after each failure a second invocation succeeds.

use std::time::Duration;

use aws_sdk_lambda::config::{Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvokeWithResponseStreamResponseEvent;
use example_conditional_streaming::scenario::{
    Decision, FAIL_BEFORE_MESSAGE, FAIL_MID_MESSAGE, FAILURE_TYPE, KNOWN, LARGE_PATTERN, MB, MID_STREAM_CHUNKS,
    OK_CHUNKS, REDIRECT_LOCATION, REDIRECT_STATUS, SLOW_FIRST_CHUNK, Scenario,
};
use lambda_stream_emulator::{EmulateOptions, Emulation, emulate};
use lambda_stream_protocol::diagnostic::error_types;
use serde_json::{Value, json};

const FUNCTION: &str = "conditional-streaming";

async fn start(timeout: Duration) -> Emulation {
    let mut options = EmulateOptions::new(env!("CARGO_BIN_EXE_conditional-streaming"));
    options.timeout = timeout;
    emulate(options).await.expect("the emulator and the function start")
}

/// What a reqwest caller of the function URL (or `/invoke`) got.
#[derive(Debug)]
struct UrlAnswer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
    /// The body error when the transfer was cut (no terminating chunk).
    aborted: Option<String>,
}

impl UrlAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn read(response: reqwest::Response) -> UrlAnswer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut response = response;
    let mut body = Vec::new();
    let mut aborted = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                aborted = Some(format!("{e:?}"));
                break;
            }
        }
    }
    UrlAnswer { status, headers, body, aborted }
}

/// POSTs `event` as JSON to the function URL (`path` `/` or `/invoke`).
async fn url_post(emulation: &Emulation, path: &str, event: &Value) -> UrlAnswer {
    let url = format!("{}{path}", emulation.emulator.url());
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .await
        .expect("the function URL answers");
    read(response).await
}

/// What an aws-sdk-lambda caller of InvokeWithResponseStream got.
#[derive(Debug)]
struct IwrsAnswer {
    status: i32,
    /// The payload chunks, in order.
    chunks: Vec<Vec<u8>>,
    error_code: Option<String>,
    error_details: Option<String>,
}

impl IwrsAnswer {
    fn payload(&self) -> Vec<u8> {
        self.chunks.concat()
    }
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

async fn iwrs(emulation: &Emulation, event: &Value) -> IwrsAnswer {
    let output = sdk(emulation)
        .invoke_with_response_stream()
        .function_name(FUNCTION)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .expect("InvokeWithResponseStream answers");
    let mut answer =
        IwrsAnswer { status: output.status_code, chunks: Vec::new(), error_code: None, error_details: None };
    let mut stream = output.event_stream;
    let mut completed = false;
    while let Some(event) = stream.recv().await.expect("a well-formed event stream") {
        match event {
            InvokeWithResponseStreamResponseEvent::PayloadChunk(chunk) => {
                assert!(!completed, "a payload chunk after InvokeComplete");
                answer.chunks.push(chunk.payload.map(Blob::into_inner).unwrap_or_default());
            }
            InvokeWithResponseStreamResponseEvent::InvokeComplete(done) => {
                completed = true;
                answer.error_code = done.error_code;
                answer.error_details = done.error_details;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(completed, "the stream ended without InvokeComplete");
    answer
}

fn scenario(name: &str) -> Value {
    json!({ "scenario": name })
}

/// What IWRS callers get for a scenario with a head: the prelude bytes, unstripped (spec §1, "SDK
/// callers ... get the prelude bytes unstripped"), then the body.
fn iwrs_payload(scenario: Scenario, body: &[u8]) -> Vec<u8> {
    let mut out = scenario.head().unwrap().prelude().encode().to_vec();
    out.extend_from_slice(body);
    out
}

async fn assert_ok_answers(emulation: &Emulation) {
    let url = url_post(emulation, "/", &scenario("ok")).await;
    assert_eq!(url.status, 200, "{url:?}");
    assert_eq!(url.body, OK_CHUNKS.concat().as_bytes());
    assert!(url.aborted.is_none());
}

#[tokio::test]
async fn ok_streams_on_the_url_invoke_and_iwrs_paths() {
    let emulation = start(Duration::from_secs(15)).await;
    for path in ["/", "/invoke"] {
        let url = url_post(&emulation, path, &json!({})).await;
        assert_eq!(url.status, 200, "{path}");
        assert_eq!(url.header("content-type"), Some("text/plain; charset=utf-8"), "{path}");
        assert_eq!(url.header("x-scenario"), Some("ok"), "{path}");
        assert_eq!(url.header("set-cookie"), Some("scenario=ok; Path=/; HttpOnly"), "{path}");
        assert_eq!(url.body, OK_CHUNKS.concat().as_bytes(), "{path}");
        assert!(url.aborted.is_none(), "{path}: {:?}", url.aborted);
    }
    // The query parameter of a function URL request picks the scenario too.
    let response =
        reqwest::get(format!("{}/?scenario=ok", emulation.emulator.url())).await.expect("the function URL answers");
    assert_eq!(read(response).await.body, OK_CHUNKS.concat().as_bytes());

    let answer = iwrs(&emulation, &scenario("ok")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.error_code, None);
    assert_eq!(answer.payload(), iwrs_payload(Scenario::Ok, OK_CHUNKS.concat().as_bytes()));
    // One PayloadChunk per write, relayed as written: the five chunks arrive as five events.
    assert!(answer.chunks.len() >= OK_CHUNKS.len(), "{} chunks", answer.chunks.len());
    emulation.shutdown().await;
}

#[tokio::test]
async fn json_error_scenarios_answer_their_status_on_both_paths() {
    let emulation = start(Duration::from_secs(15)).await;
    for (name, status) in [("bad-request", 400), ("unauthorized", 401), ("not-found", 404), ("server-error", 500)] {
        let expected = Decision::Run(Scenario::from_name(name, 0).unwrap()).json_answer().unwrap();
        let url = url_post(&emulation, "/", &scenario(name)).await;
        assert_eq!(url.status, status, "{name}");
        assert_eq!(url.header("content-type"), Some("application/json"), "{name}");
        assert_eq!(url.body, expected.body.as_bytes(), "{name}");
        let body: Value = serde_json::from_slice(&url.body).unwrap();
        assert_eq!(body["error"], name);

        let answer = iwrs(&emulation, &scenario(name)).await;
        assert_eq!(answer.status, 200, "{name}: IWRS is 200 whatever the prelude says");
        assert_eq!(answer.error_code, None, "{name}: a 4xx/5xx answer is not a function error");
        let mut expected_payload = expected.head.prelude().encode().to_vec();
        expected_payload.extend_from_slice(expected.body.as_bytes());
        assert_eq!(answer.payload(), expected_payload, "{name}");
    }
    let url = url_post(&emulation, "/", &scenario("unauthorized")).await;
    assert!(url.header("www-authenticate").is_some());
    emulation.shutdown().await;
}

#[tokio::test]
async fn unknown_and_unreadable_requests_get_400() {
    let emulation = start(Duration::from_secs(15)).await;
    let url = url_post(&emulation, "/", &scenario("teapot")).await;
    assert_eq!(url.status, 400);
    let body: Value = serde_json::from_slice(&url.body).unwrap();
    assert_eq!(body["error"], "unknown-scenario");
    assert_eq!(body["known"], json!(KNOWN));
    let answer = iwrs(&emulation, &scenario("teapot")).await;
    assert_eq!(answer.error_code, None);
    let payload = answer.payload();
    assert!(payload.ends_with(url.body.as_slice()), "the same JSON body after the prelude");

    // A body that is not JSON at all, through the URL, and a JSON string as a raw IWRS event.
    let response = reqwest::Client::new()
        .post(format!("{}/", emulation.emulator.url()))
        .header("content-type", "text/plain")
        .body("this is not json")
        .send()
        .await
        .unwrap();
    let url = read(response).await;
    assert_eq!(url.status, 400);
    let body: Value = serde_json::from_slice(&url.body).unwrap();
    assert_eq!(body["error"], "bad-request");
    assert!(body["message"].as_str().unwrap().contains("not JSON"), "{body}");
    let answer = iwrs(&emulation, &json!("this is not used")).await;
    let (_, json_body) = split_prelude(&answer.payload());
    let body: Value = serde_json::from_slice(&json_body).unwrap();
    assert_eq!(body["error"], "bad-request");
    emulation.shutdown().await;
}

fn split_prelude(payload: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let at = payload.windows(8).position(|w| w == [0; 8]).expect("a prelude delimiter");
    (payload[..at].to_vec(), payload[at + 8..].to_vec())
}

#[tokio::test]
async fn fail_before_first_byte_is_a_502_or_an_invoke_complete_error_and_the_next_call_succeeds() {
    let emulation = start(Duration::from_secs(15)).await;
    let url = url_post(&emulation, "/", &scenario("fail-before-first-byte")).await;
    assert_eq!(url.status, 502);
    let body: Value = serde_json::from_slice(&url.body).unwrap();
    assert_eq!(body, json!({"errorType": FAILURE_TYPE, "errorMessage": FAIL_BEFORE_MESSAGE}));
    assert_ok_answers(&emulation).await;

    let answer = iwrs(&emulation, &scenario("fail-before-first-byte")).await;
    assert_eq!(answer.status, 200);
    assert!(answer.payload().is_empty(), "nothing was streamed");
    assert_eq!(answer.error_code.as_deref(), Some(FAILURE_TYPE));
    let details = answer.error_details.expect("error details");
    assert!(details.contains(FAIL_BEFORE_MESSAGE), "{details}");
    assert_ok_answers(&emulation).await;
    emulation.shutdown().await;
}

#[tokio::test]
async fn fail_mid_stream_aborts_the_url_body_or_ends_iwrs_with_the_error_and_the_next_call_succeeds() {
    let emulation = start(Duration::from_secs(15)).await;
    let url = url_post(&emulation, "/", &scenario("fail-mid-stream")).await;
    assert_eq!(url.status, 200, "the head was already sent");
    assert_eq!(url.header("x-scenario"), Some("fail-mid-stream"));
    assert_eq!(url.body, MID_STREAM_CHUNKS.concat().as_bytes(), "the chunks before the failure, no error text");
    assert!(url.aborted.is_some(), "the body must end without its terminating chunk");
    assert_ok_answers(&emulation).await;

    let answer = iwrs(&emulation, &scenario("fail-mid-stream")).await;
    assert_eq!(answer.payload(), iwrs_payload(Scenario::FailMidStream, MID_STREAM_CHUNKS.concat().as_bytes()));
    assert_eq!(answer.error_code.as_deref(), Some(FAILURE_TYPE));
    let details = answer.error_details.expect("error details");
    assert!(details.contains(FAIL_MID_MESSAGE), "{details}");
    assert_ok_answers(&emulation).await;
    emulation.shutdown().await;
}

#[tokio::test]
async fn slow_is_cut_at_the_timeout_and_the_next_call_succeeds() {
    let emulation = start(Duration::from_secs(2)).await;
    let url = url_post(&emulation, "/", &scenario("slow")).await;
    assert_eq!(url.status, 200);
    assert!(url.body.starts_with(SLOW_FIRST_CHUNK.as_bytes()), "{:?}", String::from_utf8_lossy(&url.body));
    assert!(url.aborted.is_some(), "the deadline cuts the body");
    assert_ok_answers(&emulation).await;

    let answer = iwrs(&emulation, &scenario("slow")).await;
    assert_eq!(answer.payload(), iwrs_payload(Scenario::Slow, SLOW_FIRST_CHUNK.as_bytes()));
    assert_eq!(answer.error_code.as_deref(), Some(error_types::SANDBOX_TIMEOUT));
    assert_ok_answers(&emulation).await;
    emulation.shutdown().await;
}

#[tokio::test]
async fn large_streams_size_mb_on_both_paths() {
    let emulation = start(Duration::from_secs(15)).await;
    let size_mb = 2;
    let check = |body: &[u8]| {
        assert_eq!(body.len() as u64, size_mb * MB);
        assert!(body.iter().enumerate().all(|(i, b)| *b == LARGE_PATTERN[i % LARGE_PATTERN.len()]));
    };
    let response =
        reqwest::get(format!("{}/?scenario=large&size_mb={size_mb}", emulation.emulator.url())).await.unwrap();
    let url = read(response).await;
    assert_eq!(url.status, 200);
    assert_eq!(url.header("x-size-bytes"), Some("2000000"));
    assert!(url.aborted.is_none());
    check(&url.body);

    let answer = iwrs(&emulation, &json!({"scenario": "large", "size_mb": size_mb})).await;
    assert_eq!(answer.error_code, None);
    let (_, body) = split_prelude(&answer.payload());
    check(&body);
    assert!(answer.chunks.len() > 1, "streamed in many PayloadChunks");
    emulation.shutdown().await;
}

#[tokio::test]
async fn redirect_sends_its_status_and_location_then_an_ended_empty_body() {
    let emulation = start(Duration::from_secs(15)).await;
    // Not followed: the 302 itself, whose (empty) body must end at once, long before the timeout.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let sent = std::time::Instant::now();
    let response = client
        .post(emulation.emulator.url())
        .header("content-type", "application/json")
        .body(scenario("redirect").to_string())
        .send()
        .await
        .expect("the function URL answers");
    let url = read(response).await;
    assert_eq!(url.status, REDIRECT_STATUS);
    assert_eq!(url.header("location"), Some(REDIRECT_LOCATION));
    assert_eq!(url.header("x-scenario"), Some("redirect"));
    assert!(url.body.is_empty());
    assert!(url.aborted.is_none(), "{:?}", url.aborted);
    assert!(sent.elapsed() < Duration::from_secs(10), "the empty body ended only after {:?}", sent.elapsed());

    // Followed (reqwest's default), the location is this function's `ok`.
    let followed = url_post(&emulation, "/", &scenario("redirect")).await;
    assert_eq!(followed.status, 200);
    assert_eq!(followed.body, OK_CHUNKS.concat().as_bytes());

    let answer = iwrs(&emulation, &scenario("redirect")).await;
    assert_eq!(answer.error_code, None);
    assert_eq!(answer.payload(), iwrs_payload(Scenario::Redirect, b""));
    emulation.shutdown().await;
}

#[tokio::test]
async fn empty_sends_status_and_headers_only() {
    let emulation = start(Duration::from_secs(15)).await;
    let url = url_post(&emulation, "/", &scenario("empty")).await;
    assert_eq!(url.status, 204);
    assert_eq!(url.header("x-scenario"), Some("empty"));
    assert!(url.body.is_empty());
    assert!(url.aborted.is_none());

    let answer = iwrs(&emulation, &scenario("empty")).await;
    assert_eq!(answer.error_code, None);
    assert_eq!(answer.payload(), iwrs_payload(Scenario::Empty, b""));
    emulation.shutdown().await;
}
