//! The `conditional-streaming` binary unchanged behind the emulator's API Gateway REST API
//! (`EmulateOptions::api_gateway`): it reads its scenario from the payload 1.0 event (query or
//! body) and every scenario gets what API Gateway gives a streaming Lambda proxy integration's
//! caller (docs/protocol.md §6).

use std::time::Duration;

use example_conditional_streaming::scenario::{
    Decision, LARGE_PATTERN, MB, MID_STREAM_CHUNKS, OK_CHUNKS, SLOW_FIRST_CHUNK, Scenario,
};
use lambda_stream_emulator::{ApiGatewayConfig, EmulateOptions, Emulation, emulate};
use serde_json::{Value, json};

async fn start(timeout: Duration) -> (Emulation, String) {
    let mut options = EmulateOptions::new(env!("CARGO_BIN_EXE_conditional-streaming"));
    options.timeout = timeout;
    options.api_gateway = Some(ApiGatewayConfig::new("prod"));
    let emulation = emulate(options).await.expect("the emulator and the function start");
    let url = emulation.emulator.api_gateway_url().expect("an API Gateway listener");
    (emulation, url)
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
    aborted: bool,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn read(mut response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    let aborted = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    Answer { status, headers, body, aborted }
}

async fn get(url: &str) -> Answer {
    read(reqwest::get(url).await.expect("API Gateway answers")).await
}

async fn post(url: &str, event: &Value) -> Answer {
    let client = reqwest::Client::new();
    let response = client.post(url).header("content-type", "application/json").body(event.to_string()).send();
    read(response.await.expect("API Gateway answers")).await
}

#[tokio::test]
async fn scenarios_come_from_the_rest_event_query_or_body() {
    let (emulation, url) = start(Duration::from_secs(15)).await;
    let by_query = get(&format!("{url}/anything?scenario=ok")).await;
    let by_body = post(&format!("{url}/"), &json!({"scenario": "ok"})).await;
    let by_nothing = get(&url).await;
    for answer in [&by_query, &by_body, &by_nothing] {
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.header("x-scenario"), Some("ok"));
        assert_eq!(answer.header("set-cookie"), Some("scenario=ok; Path=/; HttpOnly"));
        assert!(answer.header("x-amz-apigw-id").is_some());
        assert_eq!(answer.body, OK_CHUNKS.concat().as_bytes());
        assert!(!answer.aborted);
    }
    // The query wins over the body, as on the function URL.
    let answer = post(&format!("{url}/x?scenario=not-found"), &json!({"scenario": "ok"})).await;
    assert_eq!(answer.status, 404);
    for (name, status) in [("bad-request", 400), ("unauthorized", 401), ("server-error", 500)] {
        let expected = Decision::Run(Scenario::from_name(name, 0).unwrap()).json_answer().unwrap();
        let answer = get(&format!("{url}/?scenario={name}")).await;
        assert_eq!(answer.status, status, "{name}");
        assert_eq!(answer.body, expected.body.as_bytes(), "{name}: the function's own body, not API Gateway's");
    }
    let large = get(&format!("{url}/?scenario=large&size_mb=2")).await;
    assert_eq!(large.body.len() as u64, 2 * MB);
    assert!(large.body.iter().enumerate().all(|(i, b)| *b == LARGE_PATTERN[i % LARGE_PATTERN.len()]));
    let empty = get(&format!("{url}/?scenario=empty")).await;
    assert_eq!((empty.status, empty.body.len()), (204, 0));
    emulation.shutdown().await;
}

#[tokio::test]
async fn failures_get_api_gateways_answers_and_the_next_call_succeeds() {
    let (emulation, url) = start(Duration::from_secs(2)).await;
    let before = get(&format!("{url}/?scenario=fail-before-first-byte")).await;
    assert_eq!(before.status, 502);
    assert_eq!(serde_json::from_slice::<Value>(&before.body).unwrap(), json!({"message": "Internal server error"}));

    let mid = get(&format!("{url}/?scenario=fail-mid-stream")).await;
    assert_eq!(mid.status, 200, "the head was already sent");
    assert_eq!(mid.body, MID_STREAM_CHUNKS.concat().as_bytes());
    assert!(mid.aborted, "the body is cut");

    let slow = get(&format!("{url}/?scenario=slow")).await;
    assert_eq!(slow.status, 200);
    assert!(slow.body.starts_with(SLOW_FIRST_CHUNK.as_bytes()));
    assert!(slow.aborted, "the function timeout cuts the body");

    let ok = get(&format!("{url}/?scenario=ok")).await;
    assert_eq!((ok.status, ok.aborted), (200, false));
    emulation.shutdown().await;
}
