//! Live AWS: the conformance scenarios on real Lambda. Deploys the conformance stack
//! (`templates/conformance.json`: send-numbers, conditional-streaming and the probe on one
//! conformance-bootstrap zip, each behind an `AWS_IAM` / `RESPONSE_STREAM` function URL), measures
//! the time to the first byte cold and warm on each path (function URL, InvokeWithResponseStream,
//! Invoke), runs every scenario that can run remotely with `ci/expected/aws.toml`, writes the JUnit
//! report, and always tears down (a drop guard here, a trap in `ci/test-aws.sh`).
//!
//! Opt-in only: `#[ignore]`d; asked for without `LAMBDA_STREAM_AWS=1` and credentials it fails
//! with the reason before any AWS call. Run by `just test-aws`. Never run from this repository's
//! development machine (it has no AWS access): see `ci/expected/aws.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lambda_stream_aws::live::Env;
use lambda_stream_aws::template::{CONFORMANCE_BIN, Template};
use lambda_stream_aws::{
    AwsConfig, Cleanup, Clients, ConformanceEndpoints, DeployOptions, Deployer, FunctionUrlClient, InvokeOptions,
    IwrsEvent, PackageOptions, TeardownGuard, UrlRequest, invoke_buffered, invoke_with_response_stream_with,
};
use lambda_stream_conformance::remote::{Remote, RemoteConfig};
use lambda_stream_conformance::report::{Format, render, table};
use lambda_stream_conformance::run::{RunOptions, run};
use lambda_stream_conformance::{Catalogue, Expected, Target, scenario};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn live() -> Clients {
    if let Err(reason) = Env::from_process().live_aws() {
        panic!("live AWS test asked for, but it cannot run: {reason}");
    }
    AwsConfig::default().connect().await.expect("AWS clients (region and credentials)")
}

/// Packages conformance-bootstrap and deploys the conformance stack; the guard tears it down.
async fn deploy(clients: &Clients) -> (TeardownGuard, ConformanceEndpoints) {
    let deployer = Deployer::new(clients.clone()).polling(Duration::from_secs(3), Duration::from_secs(900));
    let stack = format!("ls-live-conformance-{}", std::process::id());
    let mut guard =
        TeardownGuard { deployer: deployer.clone(), cleanup: Some(Cleanup { stack: stack.clone(), artifact: None }) };
    let mut package = PackageOptions::new(CONFORMANCE_BIN);
    package.package = Some("lambda-stream-conformance".into());
    package.manifest_path = Some(workspace().join("Cargo.toml"));
    package.output = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("live/conformance-bootstrap.zip");
    let made = tokio::task::spawn_blocking(move || lambda_stream_aws::package::package(&package))
        .await
        .unwrap()
        .expect("package conformance-bootstrap");
    let mut options = DeployOptions::new(&stack, &made.zip);
    options.template = Template::conformance();
    // The probe's small-write and the large answers need room; 256 MB also shortens cold starts.
    options.memory_mb = 256;
    let deployment = match deployer.deploy(&options, &mut |p| eprintln!("{p:?}")).await {
        Ok(d) => d,
        Err(failed) => {
            if let Some(cleanup) = failed.cleanup.clone() {
                guard.cleanup = Some(cleanup);
            }
            panic!("deploy {stack}: {}", failed.error);
        }
    };
    guard.cleanup = Some(deployment.cleanup());
    let endpoints = ConformanceEndpoints::from_outputs(&stack, &deployment.outputs).expect("the stack's outputs");
    (guard, endpoints)
}

/// Forces the next invocation of `function` into a new execution environment (a configuration
/// change retires the warm ones), waiting until the update is done.
async fn retire_environments(clients: &Clients, function: &str, nonce: &str) {
    use aws_sdk_lambda::types::{Environment, LastUpdateStatus};
    clients
        .lambda
        .update_function_configuration()
        .function_name(function)
        .environment(Environment::builder().variables("LAMBDA_STREAM_COLD_START", nonce).build())
        .send()
        .await
        .expect("UpdateFunctionConfiguration");
    for _ in 0..120 {
        let config = clients
            .lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .expect("GetFunctionConfiguration");
        if config.last_update_status() == Some(&LastUpdateStatus::Successful) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("{function}: the configuration update did not finish within 2 minutes");
}

/// Time to the first body byte of one send-numbers call on `path`.
async fn ttfb(clients: &Clients, endpoints: &ConformanceEndpoints, path: &str) -> Duration {
    let body = r#"{"count":2,"pause_ms":200}"#;
    let function = &endpoints.functions["send-numbers"];
    match path {
        "function URL" => {
            let client = FunctionUrlClient::new(clients.credentials().await.unwrap(), clients.region()).unwrap();
            let url = &endpoints.urls["send-numbers"];
            let mut response = client.send(&UrlRequest::post_json(url, body.to_owned())).await.expect("function URL");
            assert_eq!(response.status.as_u16(), 200, "{response:?}");
            let first = response.next_chunk().await.expect("a body").expect("a chunk");
            first.at
        }
        "InvokeWithResponseStream" => {
            let mut response =
                invoke_with_response_stream_with(&clients.lambda, function, body, &InvokeOptions::default())
                    .await
                    .expect("IWRS");
            match response.next_event().await.expect("an event").expect("a readable event") {
                IwrsEvent::Chunk(chunk) => chunk.at,
                IwrsEvent::Complete { .. } => panic!("InvokeComplete before any PayloadChunk"),
            }
        }
        _ => {
            let answer =
                invoke_buffered(&clients.lambda, function, body, &InvokeOptions::default()).await.expect("Invoke");
            assert_eq!(answer.status, 200);
            // The buffered Invoke's first byte comes with its last.
            answer.elapsed
        }
    }
}

#[tokio::test]
#[ignore = "live AWS: needs LAMBDA_STREAM_AWS=1 and credentials; run by just test-aws"]
async fn live_conformance_suite_on_aws() {
    let clients = live().await;
    let (_guard, endpoints) = deploy(&clients).await;

    // TTFB cold and warm per path, before the suite warms everything.
    let function = endpoints.functions["send-numbers"].clone();
    let mut ttfbs = BTreeMap::new();
    for (i, path) in ["function URL", "InvokeWithResponseStream", "Invoke"].into_iter().enumerate() {
        retire_environments(&clients, &function, &format!("{}-{i}", std::process::id())).await;
        let cold = ttfb(&clients, &endpoints, path).await;
        let warm = ttfb(&clients, &endpoints, path).await;
        println!("TTFB {path}: cold {cold:?}, warm {warm:?}");
        ttfbs.insert(path, (cold, warm));
    }

    let remote = Remote::connect(RemoteConfig {
        urls: endpoints.urls.clone(),
        functions: endpoints.functions.clone(),
        endpoints: BTreeMap::new(),
        aws: AwsConfig::default(),
    })
    .await
    .expect("the remote target");
    let mut options = RunOptions::new(Target::Remote(Arc::new(remote)));
    options.label = "aws".into();
    options.expected = Expected::load(&workspace().join("ci/expected/aws.toml")).expect("ci/expected/aws.toml");
    let report = run(&Catalogue::embedded().unwrap(), scenario::embedded().unwrap(), &options).await.unwrap();
    println!("{}", table(&report));
    let junit = std::env::var_os("LAMBDA_STREAM_JUNIT")
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conform-aws.xml"), PathBuf::from);
    std::fs::write(&junit, render(&report, Format::Junit).unwrap()).expect("writing the JUnit report");
    let json = junit.with_extension("json");
    std::fs::write(&json, render(&report, Format::Json).unwrap()).expect("writing the JSON report");
    println!("JUnit: {}; JSON: {}", junit.display(), json.display());
    for (path, (cold, warm)) in &ttfbs {
        println!("TTFB {path}: cold {cold:?}, warm {warm:?}");
    }
    assert!(report.ok(), "conformance on AWS: unexpected failures, stale deviations or target errors (table above)");
}
