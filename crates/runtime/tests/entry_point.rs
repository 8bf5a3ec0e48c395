//! `lambda_stream::run`, the `main`-level entry point, in a real process: the crate's example
//! `send_numbers_minimal` (which `cargo test` builds next to the test binaries) started with the
//! environment Lambda sets, and, in this debug build, without it (local mode).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lambda_stream_test_support::runtime_api_peer::RuntimeApiPeer;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const EXAMPLE: &str = "send_numbers_minimal";

/// The example binary: `target/<profile>/examples/`, beside the `deps/` this test runs from.
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("examples").join(EXAMPLE);
    assert!(path.is_file(), "{} is missing: `cargo test -p lambda-stream` builds it", path.display());
    path
}

fn spawn(command: &mut Command) -> Child {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true).spawn().unwrap()
}

#[tokio::test]
async fn run_serves_the_runtime_api_named_by_the_environment() {
    let peer = RuntimeApiPeer::start().await;
    let mut child = spawn(
        Command::new(example())
            .env("AWS_LAMBDA_RUNTIME_API", peer.endpoint())
            .env("AWS_LAMBDA_FUNCTION_NAME", "entry")
            .env_remove("LOCAL_LAMBDA_PORT"),
    );
    // The process reaches the loop: it asks the peer for work (and waits there).
    let started = Instant::now();
    while peer.next_polls() == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "no GET /next from the process within 20 s");
        assert!(child.try_wait().unwrap().is_none(), "the process exited instead of serving");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(child.try_wait().unwrap().is_none(), "still serving");
    child.kill().await.unwrap();
}

#[cfg(all(feature = "local", debug_assertions))]
#[tokio::test]
async fn run_without_a_runtime_api_serves_locally_in_a_debug_build() {
    let mut child = spawn(
        Command::new(example())
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env_remove("AWS_LAMBDA_FUNCTION_NAME")
            .env("LOCAL_LAMBDA_PORT", "0")
            .env("RUST_LOG", "off"),
    );
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let hint = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("lambda-stream local mode:") {
                return line;
            }
        }
        panic!("the process ended without the local-mode line");
    })
    .await
    .expect("the local-mode line within 20 s");
    // The function is named after the binary, and the line says what to run.
    assert!(hint.contains(&format!("function `{EXAMPLE}` listening")), "{hint}");
    let url = hint.split("curl -N -X POST ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/invoke"), "{hint}");
    // The first number streams at once (the example pauses a second between numbers).
    let mut response = reqwest::Client::new().post(&url).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(20), response.chunk()).await.unwrap().unwrap();
    assert_eq!(first.as_deref(), Some(&b"1\n"[..]));
    child.kill().await.unwrap();
}
