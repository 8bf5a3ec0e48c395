//! The same scenario files against LocalStack's free edition in a container: the conformance stack
//! deployed there (`templates/conformance.json`), every scenario that can run remotely through the
//! remote target (function URLs signed with SigV4, InvokeWithResponseStream and Invoke through
//! aws-sdk-lambda, LocalStack's endpoint), with `ci/expected/localstack.toml`.
//!
//! `#[ignore]`d and named `container_*`: `ci/test-local.sh` runs it with `--ignored container_`
//! only when `docker info` succeeds and reports it as skipped otherwise (no Docker engine on the
//! development machine: it has never run there). LocalStack runs the functions in containers of
//! its own, so the engine's socket is mounted into LocalStack's.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lambda_stream_aws::template::{CONFORMANCE_BIN, Template};
use lambda_stream_aws::{
    AwsConfig, Builder, ConformanceEndpoints, DeployOptions, Deployer, PackageOptions, TeardownGuard,
};
use lambda_stream_conformance::remote::{Remote, RemoteConfig};
use lambda_stream_conformance::report::{Format, render, table};
use lambda_stream_conformance::run::{RunOptions, run};
use lambda_stream_conformance::{Catalogue, Expected, Target, scenario};
use testcontainers_modules::localstack::LocalStack;
use testcontainers_modules::testcontainers::core::{IntoContainerPort as _, Mount};
use testcontainers_modules::testcontainers::runners::AsyncRunner as _;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt as _};

/// Pinned, as in crates/aws/tests/localstack.rs: what the free edition offers changes between releases.
const LOCALSTACK_TAG: &str = "4.5";
const REGION: &str = "us-east-1";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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
async fn container_localstack_runs_the_conformance_scenarios() {
    let (_container, endpoint) = localstack().await;
    let aws = AwsConfig::local(&endpoint, REGION);
    let clients = aws.connect().await.expect("clients");
    let deployer = Deployer::new(clients.clone()).polling(Duration::from_millis(500), Duration::from_secs(300));

    let mut package = PackageOptions::new(CONFORMANCE_BIN);
    package.package = Some("lambda-stream-conformance".into());
    package.manifest_path = Some(workspace().join("Cargo.toml"));
    package.builder = Builder::Auto;
    package.output = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("localstack/conformance-bootstrap.zip");
    let made = tokio::task::spawn_blocking(move || lambda_stream_aws::package::package(&package))
        .await
        .unwrap()
        .expect("package conformance-bootstrap");

    let mut options = DeployOptions::new("ls-localstack-conformance", &made.zip);
    options.template = Template::conformance();
    options.poll_interval = Duration::from_millis(500);
    let mut guard = TeardownGuard { deployer: deployer.clone(), cleanup: None };
    let deployment = match deployer.deploy(&options, &mut |p| eprintln!("{p:?}")).await {
        Ok(d) => d,
        Err(failed) => {
            guard.cleanup = failed.cleanup.clone();
            panic!("deploy on LocalStack failed: {}", failed.error);
        }
    };
    guard.cleanup = Some(deployment.cleanup());
    let mut endpoints = ConformanceEndpoints::from_outputs(&deployment.stack, &deployment.outputs).expect("outputs");
    // LocalStack names its URLs on its own port 4566; the container's is mapped elsewhere.
    let port = endpoint.rsplit(':').next().unwrap().to_owned();
    for url in endpoints.urls.values_mut() {
        *url = url.replacen(":4566", &format!(":{port}"), 1);
    }

    let remote = Remote::connect(RemoteConfig {
        urls: endpoints.urls,
        functions: endpoints.functions,
        endpoints: BTreeMap::new(),
        aws,
    })
    .await
    .expect("the remote target");
    let mut run_options = RunOptions::new(Target::Remote(Arc::new(remote)));
    run_options.label = "localstack".into();
    run_options.expected =
        Expected::load(&workspace().join("ci/expected/localstack.toml")).expect("ci/expected/localstack.toml");
    let report = run(&Catalogue::embedded().unwrap(), scenario::embedded().unwrap(), &run_options).await.unwrap();
    println!("{}", table(&report));
    // The `localstack` column of ci/expected/MATRIX.md (ci/conform-matrix.sh reads it from here).
    let json = workspace().join("target/conform-localstack.json");
    std::fs::write(&json, render(&report, Format::Json).unwrap()).expect("writing the JSON report");
    assert!(report.ok(), "LocalStack: unexpected failures, stale deviations or target errors (table above)");
}
