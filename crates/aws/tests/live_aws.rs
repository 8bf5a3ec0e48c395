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

async fn url_once(clients: &Clients, url: &str, body: &str) -> (u16, Vec<(Duration, usize)>, String, Duration) {
    let client = FunctionUrlClient::new(clients.credentials().await.unwrap(), clients.region()).unwrap();
    let response = client.send(&UrlRequest::post_json(url, body.to_owned())).await.expect("function URL");
    let status = response.status.as_u16();
    let chunks = response.collect().await.expect("body");
    let ttfb = chunks.first().map(|c| c.at).unwrap_or_default();
    let text: String = chunks.iter().map(|c| String::from_utf8_lossy(&c.bytes).into_owned()).collect();
    (status, chunks.iter().map(|c| (c.at, c.bytes.len())).collect(), text, ttfb)
}

#[tokio::test]
#[ignore = "live AWS: needs LAMBDA_STREAM_AWS=1 and credentials; run by just test-aws"]
async fn live_send_numbers_streams_through_url_and_iwrs_with_cold_and_warm_ttfb() {
    let clients = live().await;
    let (_guard, deployment) = deploy_example(&clients, "send-numbers", "example-send-numbers").await;
    let url = deployment.function_url().unwrap().to_owned();
    let body = r#"{"count":3,"pause_ms":1000}"#;

    let (status, chunks, text, cold) = url_once(&clients, &url, body).await;
    assert_eq!(status, 200);
    assert_eq!(text, "Number: 1\nNumber: 2\nNumber: 3\n");
    let last = chunks.last().unwrap().0;
    assert!(last - cold >= Duration::from_millis(1500), "first byte {cold:?}, last {last:?}: Lambda buffered?");
    let (_, _, _, warm) = url_once(&clients, &url, body).await;
    println!("TTFB function URL: cold {cold:?}, warm {warm:?}");

    let mut response =
        invoke_with_response_stream(&clients.lambda, deployment.function_name().unwrap(), body.to_owned())
            .await
            .expect("IWRS");
    assert_eq!(response.status, 200);
    let mut payload = Vec::new();
    let mut complete = None;
    while let Some(event) = response.next_event().await {
        match event.expect("event") {
            IwrsEvent::Chunk(c) => payload.push(c),
            IwrsEvent::Complete { error_code, .. } => complete = Some(error_code),
        }
    }
    assert_eq!(complete, Some(None), "InvokeComplete without error");
    let all: Vec<u8> = payload.iter().flat_map(|c| c.bytes.to_vec()).collect();
    assert!(String::from_utf8_lossy(&all).ends_with("Number: 3\n"), "prelude unstripped, then the numbers");
    println!("TTFB InvokeWithResponseStream (warm): {:?}", response.ttfb());
}

#[tokio::test]
#[ignore = "live AWS: needs LAMBDA_STREAM_AWS=1 and credentials; run by just test-aws"]
async fn live_conditional_streaming_prelude_reaches_url_callers() {
    let clients = live().await;
    let (_guard, deployment) = deploy_example(&clients, "conditional-streaming", "example-conditional-streaming").await;
    let url = deployment.function_url().unwrap().to_owned();
    let (status, chunks, _text, ttfb) = url_once(&clients, &url, "{}").await;
    assert!(status > 0 && !chunks.is_empty(), "an answer with a body");
    println!("conditional-streaming via URL: status {status}, {} chunks, TTFB cold {ttfb:?}", chunks.len());
    // An unsigned request is refused by an AWS_IAM URL.
    let unsigned = reqwest::Client::new().post(&url).body("{}").send().await.expect("answer");
    assert_eq!(unsigned.status(), 403);
}
