//! The `send-numbers` binary unchanged behind the emulator's API Gateway REST API: its prelude
//! becomes the status and headers, and each number arrives as it is written.

use std::time::{Duration, Instant};

use lambda_stream_emulator::{ApiGatewayConfig, EmulateOptions, emulate};

#[tokio::test]
async fn numbers_stream_through_api_gateway_as_they_are_written() {
    let mut options = EmulateOptions::new(env!("CARGO_BIN_EXE_send-numbers"));
    options.api_gateway = Some(ApiGatewayConfig::new("prod"));
    let emulation = emulate(options).await.expect("the emulator and the function start");
    let url = emulation.emulator.api_gateway_url().expect("an API Gateway listener");
    let client = reqwest::Client::new();
    let mut response =
        client.post(format!("{url}/numbers")).body(r#"{"count": 3, "pause_ms": 300}"#).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.headers()["x-my-custom-header"], "streaming-example");
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let mut arrivals = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        arrivals.push((Instant::now(), chunk));
    }
    let body: Vec<u8> = arrivals.iter().flat_map(|(_, c)| c.to_vec()).collect();
    assert_eq!(body, b"Number: 1\nNumber: 2\nNumber: 3\n");
    let lead = arrivals.last().unwrap().0 - arrivals[0].0;
    assert!(lead >= Duration::from_millis(300), "the first number only {lead:?} before the last: buffered?");
    emulation.shutdown().await;
}
