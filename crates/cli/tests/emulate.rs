//! `lambda-stream emulate` as a user runs it: a real process, the one `listening on` line on
//! stdout, a bootstrap process it supervises, and a clean stop on SIGTERM that takes the bootstrap
//! down with it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use lambda_stream_protocol::{env, names};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_lambda-stream");

/// `fixture-bootstrap` (its default `env-report` handler answers with its pid and environment).
fn test_bootstrap() -> PathBuf {
    lambda_stream_fixtures::bootstrap_path()
}

#[tokio::test]
async fn emulate_prints_its_address_serves_the_bootstrap_and_stops_cleanly() {
    let mut child = Command::new(CLI)
        .args(["emulate", "--port", "0", "--function-name", "cli-test", "--"])
        .arg(test_bootstrap())
        .env("EXTRA_FROM_TEST", "passed-through")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line()).await.unwrap().unwrap().unwrap();
    let url = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("first stdout line was {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let http = reqwest::Client::new();
    let response = http.post(format!("{url}/invoke")).body("hello").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let report: serde_json::Value = response.json().await.unwrap();
    // The bootstrap got the Lambda variables on top of our own environment.
    assert_eq!(report[env::FUNCTION_NAME], "cli-test");
    assert_eq!(report["EXTRA_FROM_TEST"], "passed-through");
    assert!(report[env::RUNTIME_API].as_str().unwrap().starts_with("127.0.0.1:"));
    let bootstrap_pid = report["pid"].as_u64().unwrap();
    assert!(PathBuf::from(format!("/proc/{bootstrap_pid}")).exists());

    // The IWRS front end answers for the function's name and 404s for another one.
    let unknown =
        http.post(format!("{url}/2021-11-15/functions/other/response-streaming-invocations")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.headers()[names::AMZN_ERROR_TYPE], "ResourceNotFoundException");

    // SIGTERM stops the emulator and its bootstrap.
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "emulate exited with {status}");
    let gone = async {
        while PathBuf::from(format!("/proc/{bootstrap_pid}")).exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone).await.expect("the bootstrap outlived the emulator");
}

#[tokio::test]
async fn emulate_explains_bad_arguments() {
    let no_bootstrap = Command::new(CLI).args(["emulate"]).output().await.unwrap();
    assert!(!no_bootstrap.status.success());
    let stderr = String::from_utf8_lossy(&no_bootstrap.stderr);
    assert!(stderr.contains("<BOOTSTRAP>"), "{stderr}");

    let bad_timeout = Command::new(CLI).args(["emulate", "--timeout", "901", "--", "x"]).output().await.unwrap();
    assert!(!bad_timeout.status.success());
    let stderr = String::from_utf8_lossy(&bad_timeout.stderr);
    assert!(stderr.contains("outside Lambda's range"), "{stderr}");

    let iam_without_keys = Command::new(CLI)
        .args(["emulate", "--auth", "iam", "--"])
        .arg(test_bootstrap())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .await
        .unwrap();
    assert!(!iam_without_keys.status.success());
    let stderr = String::from_utf8_lossy(&iam_without_keys.stderr);
    assert!(stderr.contains("--auth iam needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "{stderr}");
}

#[tokio::test]
async fn a_missing_bootstrap_is_reported_with_its_path() {
    let output = Command::new(CLI)
        .args(["emulate", "--", "/nonexistent/bootstrap"])
        .env("RUST_LOG", "off")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/bootstrap"), "{stderr}");
}

#[tokio::test]
async fn emulate_with_api_gateway_prints_a_second_line_and_serves_the_rest_api() {
    let mut child = Command::new(CLI)
        .args(["emulate", "--api-gateway", "--stage", "v1", "--api-key", "k", "--function-name", "gw", "--"])
        .arg(test_bootstrap())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let wait = Duration::from_secs(30);
    let first = tokio::time::timeout(wait, stdout.next_line()).await.unwrap().unwrap().unwrap();
    let url =
        first.strip_prefix("listening on ").unwrap_or_else(|| panic!("first stdout line was {first:?}")).to_owned();
    let second = tokio::time::timeout(wait, stdout.next_line()).await.unwrap().unwrap().unwrap();
    let api = second.strip_prefix("api gateway on ").unwrap_or_else(|| panic!("second stdout line was {second:?}"));
    assert!(api.starts_with("http://127.0.0.1:") && api.ends_with("/v1"), "{api}");
    assert!(!api.starts_with(&url), "the REST API has a listener of its own: {api} vs {url}");

    let http = reqwest::Client::new();
    let no_key = http.get(format!("{api}/x")).send().await.unwrap();
    assert_eq!(no_key.status(), 403);
    let other_stage = http.get(format!("{}/prod/x", api.trim_end_matches("/v1"))).header("x-api-key", "k").send();
    assert_eq!(other_stage.await.unwrap().status(), 403);
    // The test bootstrap answers plain JSON, not the prelude API Gateway requires: 500.
    let response = http.get(format!("{api}/x")).header("x-api-key", "k").send().await.unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.headers().contains_key("x-amz-apigw-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"message": "Internal server error"}));
    // The function URL still has every path of its own port.
    assert_eq!(http.post(format!("{url}/invoke")).body("hi").send().await.unwrap().status(), 200);

    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "emulate exited with {status}");

    let stage_alone = Command::new(CLI).args(["emulate", "--stage", "v1", "--", "x"]).output().await.unwrap();
    assert!(!stage_alone.status.success(), "--stage needs --api-gateway");
}

#[tokio::test]
async fn emulate_serves_the_dashboard_on_a_port_of_its_own() {
    let mut child = Command::new(CLI)
        .args(["emulate", "--dashboard", "--function-name", "watched", "--"])
        .arg(test_bootstrap())
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), stderr.next_line()).await.unwrap().unwrap().unwrap();
    let dashboard = line.strip_prefix("dashboard on ").unwrap_or_else(|| panic!("stderr said {line:?}")).to_owned();
    assert!(dashboard.starts_with("http://127.0.0.1:"), "loopback: {dashboard}");
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line()).await.unwrap().unwrap().unwrap();
    let url = line.strip_prefix("listening on ").unwrap().to_owned();
    assert!(!dashboard.starts_with(&url), "not the function URL's port");

    let http = reqwest::Client::new();
    let page = http.get(&dashboard).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("lambda-stream"));
    assert_eq!(http.post(format!("{url}/invoke")).body("hello").send().await.unwrap().status(), 200);
    let list: serde_json::Value =
        http.get(format!("{dashboard}api/invocations")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["front_end"], "/invoke");
}

/// `invoke --via api-gateway` as a user runs it, against `emulate --api-gateway` with IAM auth:
/// two processes sharing only a key pair in their environments (no AWS is contacted: the key pair
/// comes from the environment and the REST API is the emulator's). The invoke process must sign
/// for execute-api (the emulator refuses anything else), print the body to stdout as it arrives
/// and each chunk's arrival and the TTFB to stderr.
#[tokio::test]
async fn invoke_via_api_gateway_signs_for_execute_api_and_prints_chunks_and_ttfb() {
    let keys = [
        ("AWS_ACCESS_KEY_ID", "AKIDCLITEST"),
        ("AWS_SECRET_ACCESS_KEY", "cli-test-secret"),
        ("AWS_REGION", "us-east-1"),
        // No shared config or profile of the machine's user is read.
        ("AWS_CONFIG_FILE", "/nonexistent/lambda-stream-test-config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/lambda-stream-test-credentials"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let mut child = Command::new(CLI)
        .args(["emulate", "--api-gateway", "--api-gateway-auth", "iam", "--function-name", "numbers", "--"])
        .arg(test_bootstrap())
        .args(["--handler", "send-numbers"])
        .envs(keys)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let wait = Duration::from_secs(30);
    let _listening = tokio::time::timeout(wait, stdout.next_line()).await.unwrap().unwrap().unwrap();
    let second = tokio::time::timeout(wait, stdout.next_line()).await.unwrap().unwrap().unwrap();
    let api = second.strip_prefix("api gateway on ").unwrap_or_else(|| panic!("second stdout line was {second:?}"));

    let invoke = |auth: &'static str| {
        let mut command = Command::new(CLI);
        command
            .args(["invoke", "--api-url", api, "--path", "/numbers", "--api-auth", auth])
            .args(["--data", r#"{"count":3,"pause_ms":400}"#])
            .envs(keys)
            .env("RUST_LOG", "warn");
        command
    };
    let signed = tokio::time::timeout(Duration::from_secs(60), invoke("iam").output()).await.unwrap().unwrap();
    let out = String::from_utf8_lossy(&signed.stdout);
    let err = String::from_utf8_lossy(&signed.stderr);
    assert!(signed.status.success(), "invoke failed: {err}");
    assert_eq!(out, "Number: 1\nNumber: 2\nNumber: 3\n", "{err}");
    assert!(err.contains("SigV4, service execute-api"), "{err}");
    assert!(err.contains("< 200"), "{err}");
    assert!(err.contains("< x-amz-apigw-id: "), "API Gateway's headers are shown: {err}");
    assert!(err.contains("* chunk 1: ") && err.contains("* chunk 3: "), "one line per chunk: {err}");
    assert!(err.contains("REST API: 30 bytes in 3 chunks, TTFB "), "{err}");

    // Unsigned, the IAM REST API refuses it, and invoke says why and fails.
    let unsigned = tokio::time::timeout(Duration::from_secs(60), invoke("none").output()).await.unwrap().unwrap();
    let err = String::from_utf8_lossy(&unsigned.stderr);
    assert!(!unsigned.status.success());
    assert!(err.contains("< 403") && err.contains("execute-api:Invoke"), "{err}");

    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "emulate exited with {status}");
}
