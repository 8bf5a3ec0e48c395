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
