//! Live AWS: deploy both examples, invoke each through the SigV4-signed function URL and through
//! InvokeWithResponseStream, assert they stream, record TTFB cold and warm, and always tear down
//! (a drop guard here; `ci/test-aws.sh` also sweeps with a trap). Opt-in only: `#[ignore]`d, and
//! when asked for without `LAMBDA_STREAM_AWS=1` and credentials each test fails with the reason
//! before any AWS call (a skip must not count as a pass). Run by `just test-aws`.

mod common;

use common::Guard;

use std::time::Duration;

use lambda_stream_aws::live::Env;
use lambda_stream_aws::{
    AwsConfig, Cleanup, Clients, DeployOptions, Deployer, Deployment, FunctionUrlClient, IwrsEvent, PackageOptions,
    UrlRequest, invoke_with_response_stream,
};

/// The gate. These tests are `#[ignore]`d, so they run only when asked for (`just test-aws`, which
/// checks the opt-in first); asked for without `LAMBDA_STREAM_AWS=1` and credentials, they fail
/// with the reason rather than pass having checked nothing.
async fn live() -> Clients {
    if let Err(reason) = Env::from_process().live_aws() {
        panic!("live AWS test asked for, but it cannot run: {reason}");
    }
    AwsConfig::default().connect().await.expect("AWS clients (region and credentials)")
}

async fn deploy_example(clients: &Clients, bin: &str, package: &str) -> (Guard, Deployment) {
    let deployer = Deployer::new(clients.clone()).polling(Duration::from_secs(3), Duration::from_secs(900));
    let stack = format!("ls-live-{bin}-{}", std::process::id());
    let mut guard =
        Guard { deployer: deployer.clone(), cleanup: Some(Cleanup { stack: stack.clone(), artifact: None }) };
    let mut options = PackageOptions::new(bin);
    options.package = Some(package.into());
    options.manifest_path = Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml"));
    options.output = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("live/{bin}.zip"));
    let made = tokio::task::spawn_blocking(move || lambda_stream_aws::package::package(&options))
        .await
        .unwrap()
        .expect("package");
    let deployment = match deployer.deploy(&DeployOptions::new(&stack, &made.zip), &mut |p| eprintln!("{p:?}")).await {
        Ok(d) => d,
        Err(failed) => {
            if let Some(cleanup) = failed.cleanup.clone() {
                guard.cleanup = Some(cleanup);
            }
            panic!("deploy {stack}: {}", failed.error);
        }
    };
    guard.cleanup = Some(deployment.cleanup());
    (guard, deployment)
}

/// What a function URL caller got.
struct UrlAnswer {
    status: u16,
    headers: http::HeaderMap,
    chunks: Vec<(Duration, usize)>,
    body: Vec<u8>,
    ttfb: Duration,
}

impl UrlAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn url_once(clients: &Clients, url: &str, body: &str) -> UrlAnswer {
    let client = FunctionUrlClient::new(clients.credentials().await.unwrap(), clients.region()).unwrap();
    let response = client.send(&UrlRequest::post_json(url, body.to_owned())).await.expect("function URL");
    let (status, headers) = (response.status.as_u16(), response.headers.clone());
    let chunks = response.collect().await.expect("a body that ends normally (not cut)");
    let ttfb = chunks.first().map(|c| c.at).unwrap_or_default();
    let body: Vec<u8> = chunks.iter().flat_map(|c| c.bytes.to_vec()).collect();
    UrlAnswer { status, headers, chunks: chunks.iter().map(|c| (c.at, c.bytes.len())).collect(), body, ttfb }
}

/// The PayloadChunks of an InvokeWithResponseStream call joined, and its `InvokeComplete`
/// `ErrorCode` (`Some(None)`: completed without error; `None`: no `InvokeComplete` at all).
async fn iwrs_once(
    clients: &Clients,
    deployment: &Deployment,
    body: &str,
) -> (Vec<u8>, Option<Option<String>>, Duration) {
    let mut response =
        invoke_with_response_stream(&clients.lambda, deployment.function_name().unwrap(), body.to_owned())
            .await
            .expect("IWRS");
    assert_eq!(response.status, 200);
    let mut payload = Vec::new();
    let mut complete = None;
    while let Some(event) = response.next_event().await {
        match event.expect("event") {
            IwrsEvent::Chunk(c) => payload.extend_from_slice(&c.bytes),
            IwrsEvent::Complete { error_code, .. } => complete = Some(error_code),
        }
    }
    (payload, complete, response.ttfb().unwrap_or_default())
}

/// Splits an IWRS payload into the prelude JSON (which SDK callers get unstripped, spec section 1)
/// and the body after its eight NUL bytes; panics, naming what it saw, when there is no prelude.
fn split_prelude(payload: &[u8]) -> (serde_json::Value, &[u8]) {
    let at = payload
        .windows(8)
        .position(|w| w == [0_u8; 8])
        .unwrap_or_else(|| panic!("no prelude delimiter in {:?}", String::from_utf8_lossy(payload)));
    let json = serde_json::from_slice(&payload[..at])
        .unwrap_or_else(|e| panic!("the prelude is not JSON ({e}): {:?}", String::from_utf8_lossy(&payload[..at])));
    (json, &payload[at + 8..])
}

#[tokio::test]
#[ignore = "live AWS: needs LAMBDA_STREAM_AWS=1 and credentials; run by just test-aws"]
async fn live_send_numbers_streams_through_url_and_iwrs_with_cold_and_warm_ttfb() {
    let clients = live().await;
    let (_guard, deployment) = deploy_example(&clients, "send-numbers", "example-send-numbers").await;
    let url = deployment.function_url().unwrap().to_owned();
    let body = r#"{"count":3,"pause_ms":1000}"#;

    let cold = url_once(&clients, &url, body).await;
    assert_eq!(cold.status, 200, "{}", cold.text());
    // The example's prelude (crates/examples/send-numbers): its headers, stripped from the body.
    assert_eq!(cold.header("content-type"), Some("text/plain"));
    assert_eq!(cold.header("x-my-custom-header"), Some("streaming-example"));
    assert_eq!(cold.text(), "Number: 1\nNumber: 2\nNumber: 3\n");
    let last = cold.chunks.last().unwrap().0;
    assert!(
        last - cold.ttfb >= Duration::from_millis(1500),
        "first byte {:?}, last {last:?}: Lambda buffered?",
        cold.ttfb
    );
    let warm = url_once(&clients, &url, body).await;
    assert_eq!((warm.status, warm.text()), (200, cold.text()));
    println!("TTFB function URL: cold {:?}, warm {:?}", cold.ttfb, warm.ttfb);

    let (payload, complete, ttfb) = iwrs_once(&clients, &deployment, body).await;
    assert_eq!(complete, Some(None), "InvokeComplete without error");
    // SDK callers get the prelude unstripped at the start, then exactly the numbers.
    let (prelude, rest) = split_prelude(&payload);
    assert_eq!(prelude["statusCode"], 200, "{prelude}");
    assert_eq!(prelude["headers"]["x-my-custom-header"], "streaming-example", "{prelude}");
    assert_eq!(String::from_utf8_lossy(rest), "Number: 1\nNumber: 2\nNumber: 3\n");
    println!("TTFB InvokeWithResponseStream (warm): {ttfb:?}");
}

#[tokio::test]
#[ignore = "live AWS: needs LAMBDA_STREAM_AWS=1 and credentials; run by just test-aws"]
async fn live_conditional_streaming_prelude_reaches_url_callers() {
    let clients = live().await;
    let (_guard, deployment) = deploy_example(&clients, "conditional-streaming", "example-conditional-streaming").await;
    let url = deployment.function_url().unwrap().to_owned();
    // `{}` asks for the `ok` scenario (crates/examples/conditional-streaming/README.md): status,
    // headers and cookie from the prelude, then exactly the five chunks; no prelude byte leaks
    // into the body.
    let ok = url_once(&clients, &url, "{}").await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(ok.header("x-scenario"), Some("ok"));
    let cookies: Vec<&str> = ok.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert_eq!(cookies, ["scenario=ok; Path=/; HttpOnly"]);
    assert_eq!(ok.text(), "chunk 1 of 5\nchunk 2 of 5\nchunk 3 of 5\nchunk 4 of 5\nchunk 5 of 5\n");
    println!("conditional-streaming via URL: {} chunks, TTFB cold {:?}", ok.chunks.len(), ok.ttfb);
    // A status the function chose reaches the caller with its JSON body.
    let unauthorized = url_once(&clients, &url, r#"{"scenario":"unauthorized"}"#).await;
    assert_eq!(unauthorized.status, 401, "{}", unauthorized.text());
    assert_eq!(unauthorized.header("www-authenticate"), Some(r#"Bearer realm="conditional-streaming""#));
    assert_eq!(unauthorized.text(), r#"{"error":"unauthorized","message":"no valid credentials, as asked"}"#);

    // InvokeWithResponseStream: the same answer with the prelude unstripped at the start.
    let (payload, complete, _) = iwrs_once(&clients, &deployment, "{}").await;
    assert_eq!(complete, Some(None), "InvokeComplete without error");
    assert!(payload.starts_with(br#"{"statusCode":200"#), "{:?}", String::from_utf8_lossy(&payload));
    let (prelude, rest) = split_prelude(&payload);
    assert_eq!(prelude["headers"]["x-scenario"], "ok", "{prelude}");
    assert_eq!(prelude["cookies"][0], "scenario=ok; Path=/; HttpOnly", "{prelude}");
    assert_eq!(String::from_utf8_lossy(rest), ok.text());
    // An unsigned request is refused by an AWS_IAM URL.
    let unsigned = reqwest::Client::new().post(&url).body("{}").send().await.expect("answer");
    assert_eq!(unsigned.status(), 403);
}
