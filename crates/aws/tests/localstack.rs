//! deploy, invoke through the function URL, and teardown against LocalStack's free edition in a
//! container (testcontainers-modules, image pinned below). `#[ignore]`d and named `container_*`:
//! `ci/test-local.sh` runs them with `--ignored container_` only when `docker info` succeeds and
//! reports them as skipped otherwise. LocalStack runs the function in its own Docker container,
//! so the engine's socket is mounted into LocalStack's.
//!
//! What LocalStack's free edition does differently from AWS (function URLs buffered, no
//! InvokeWithResponseStream) is written in `ci/expected/localstack.toml`; these tests assert
//! only what holds on both.

mod common;

use common::Guard;

use std::time::Duration;

use lambda_stream_aws::{AwsConfig, Builder, DeployOptions, Deployer, FunctionUrlClient, PackageOptions, UrlRequest};
use testcontainers_modules::localstack::LocalStack;
use testcontainers_modules::testcontainers::core::{IntoContainerPort as _, Mount};
use testcontainers_modules::testcontainers::runners::AsyncRunner as _;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt as _};

/// Pinned: LocalStack's behaviour (and what its free edition offers) changes between releases.
const LOCALSTACK_TAG: &str = "4.5";
const REGION: &str = "us-east-1";

async fn localstack() -> (ContainerAsync<LocalStack>, String) {
    let container = LocalStack::default()
        .with_tag(LOCALSTACK_TAG)
        .with_env_var("SERVICES", "s3,sts,iam,lambda,cloudformation,logs")
        .with_mount(Mount::bind_mount("/var/run/docker.sock", "/var/run/docker.sock"))
        .start()
        .await
        .expect("LocalStack starts (is a Docker engine running?)");
    let port = container.get_host_port_ipv4(4566.tcp()).await.expect("mapped port");
    (container, format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
#[ignore = "needs a Docker engine (LocalStack container); run by ci/test-local.sh when `docker info` succeeds"]
async fn container_localstack_deploys_and_answers_through_the_function_url() {
    let (_container, endpoint) = localstack().await;
    let clients = AwsConfig::local(&endpoint, REGION).connect().await.expect("clients");
    let deployer = Deployer::new(clients.clone()).polling(Duration::from_millis(500), Duration::from_secs(300));

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("localstack");
    let mut package = PackageOptions::new("send-numbers");
    package.package = Some("example-send-numbers".into());
    package.manifest_path = Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml"));
    package.builder = Builder::Auto;
    package.output = dir.join("send-numbers.zip");
    let made = tokio::task::spawn_blocking(move || lambda_stream_aws::package::package(&package))
        .await
        .unwrap()
        .expect("package send-numbers");

    let mut options = DeployOptions::new("ls-localstack", &made.zip);
    options.poll_interval = Duration::from_millis(500);
    let mut guard = Guard { deployer: deployer.clone(), cleanup: None };
    let deployment = match deployer.deploy(&options, &mut |p| eprintln!("{p:?}")).await {
        Ok(d) => d,
        Err(failed) => {
            guard.cleanup = failed.cleanup.clone();
            panic!("deploy on LocalStack failed: {}", failed.error);
        }
    };
    guard.cleanup = Some(deployment.cleanup());

    // LocalStack answers function URLs on its own port, host *.lambda-url.REGION.localhost.localstack.cloud.
    let url = deployment.function_url().expect("FunctionUrl output").to_owned();
    let port = endpoint.rsplit(':').next().unwrap();
    let url = url.replacen(":4566", &format!(":{port}"), 1);
    let client = FunctionUrlClient::new(clients.credentials().await.unwrap(), REGION).unwrap();
    let response = client
        .send(&UrlRequest::post_json(&url, r#"{"count":3,"pause_ms":200}"#))
        .await
        .expect("the function URL answers");
    assert_eq!(response.status, 200);
    assert_eq!(response.headers.get("x-my-custom-header").map(|v| v.to_str().unwrap()), Some("streaming-example"));
    let body: Vec<u8> = response.collect().await.unwrap().iter().flat_map(|c| c.bytes.to_vec()).collect();
    assert_eq!(String::from_utf8_lossy(&body), "Number: 1\nNumber: 2\nNumber: 3\n");

    let cleanup = guard.cleanup.take().unwrap();
    let report = deployer.teardown(&cleanup, &mut |_| {}).await.expect("teardown");
    assert_eq!(report.stack_deleted.as_deref(), Some("ls-localstack"));
    assert!(deployer.describe_stack("ls-localstack").await.unwrap().is_none());
}
