//! `lambda-stream dev` as a user runs it, on a small function crate the test writes into a temporary
//! directory (std only, so it builds in a second or two without the network): the first build is
//! served, a save is rebuilt and swapped in while an invocation is in flight on the old process,
//! a broken save leaves the last good build serving, and SIGTERM stops everything.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const CLI: &str = env!("CARGO_BIN_EXE_lambda-stream");
/// Builds run on a busy 2-core machine: generous.
const BUILD_WAIT: Duration = Duration::from_secs(240);

/// A minimal runtime speaking the Runtime API with std only. It answers every invocation with
/// `VERSION pid PID`; an event naming a gate (`gate:PATH;`) is first acknowledged by creating
/// `PATH.taken`, then answered only once `PATH` exists.
const FUNCTION: &str = r#"
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

const VERSION: &str = "@VERSION@";

fn request(api: &str, head: &str, body: &[u8]) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(api).unwrap();
    write!(stream, "{head}\r\nHost: {api}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
    stream.write_all(body).unwrap();
    let mut reader = BufReader::new(stream);
    let mut id = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("lambda-runtime-aws-request-id:") {
            id = v.trim().to_owned();
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (id, body)
}

fn main() {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap();
    loop {
        let (id, event) = request(&api, "GET /2018-06-01/runtime/invocation/next HTTP/1.1", b"");
        let event = String::from_utf8_lossy(&event).into_owned();
        if let Some(rest) = event.split("gate:").nth(1) {
            let gate = rest.split(';').next().unwrap().to_owned();
            std::fs::write(format!("{gate}.taken"), b"").unwrap();
            while !std::path::Path::new(&gate).exists() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let answer = format!("{VERSION} pid {}", std::process::id());
        let head = format!("POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1");
        request(&api, &head, answer.as_bytes());
    }
}
"#;

struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("lambda-stream-dev-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"devfn\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        let project = Self { dir };
        project.version("v1");
        project
    }

    fn version(&self, version: &str) {
        std::fs::write(self.dir.join("src/main.rs"), FUNCTION.replace("@VERSION@", version)).unwrap();
    }

    fn break_it(&self) {
        std::fs::write(self.dir.join("src/main.rs"), "fn main() { this does not compile }\n").unwrap();
    }

    fn manifest(&self) -> PathBuf {
        self.dir.join("Cargo.toml")
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(self.dir.with_extension("gate"));
        let _ = std::fs::remove_file(self.dir.with_extension("gate.taken"));
    }
}

/// The next line on stdout, skipping `no change` lines (cargo's first build writes Cargo.lock
/// into the watched project, which triggers a build that finds nothing to do).
async fn line(lines: &mut Lines<BufReader<ChildStdout>>, wait: Duration) -> String {
    loop {
        let line = tokio::time::timeout(wait, lines.next_line())
            .await
            .expect("a status line in time")
            .unwrap()
            .expect("stdout open");
        if !line.starts_with("no change") {
            return line;
        }
    }
}

/// A running `lambda-stream dev` and its stdout, past the `listening on` line.
struct Dev {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    url: String,
}

impl Dev {
    async fn start(args: &[&str], manifest: &Path) -> Self {
        let mut child = Command::new(CLI)
            .args(["dev", "--port", "0"])
            .args(args)
            .arg("--manifest-path")
            .arg(manifest)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = line(&mut lines, Duration::from_secs(60)).await;
        let url = first.strip_prefix("listening on ").unwrap_or_else(|| panic!("first line {first:?}")).to_owned();
        Self { child, lines, url }
    }
}

async fn invoke(http: &reqwest::Client, url: &str, event: &str) -> String {
    // Text, so the function URL event carries the body as it is (not base64).
    let response =
        http.post(format!("{url}/invoke")).header("content-type", "text/plain").body(event.to_owned()).send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200, "invocation {event:?}");
    response.text().await.unwrap()
}

async fn wait_for_file(path: &Path) {
    let wait = async {
        while !path.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(BUILD_WAIT, wait).await.unwrap_or_else(|_| panic!("{} never appeared", path.display()));
}

#[tokio::test]
async fn dev_serves_rebuilds_and_swaps_without_dropping_an_invocation() {
    let project = Project::new("swap");
    let Dev { mut child, mut lines, url } = Dev::start(&["--timeout", "120"], &project.manifest()).await;
    let built = line(&mut lines, BUILD_WAIT).await;
    assert!(built.starts_with("built devfn (build 1"), "{built}");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let v1 = invoke(&http, &url, "hello").await;
    assert!(v1.starts_with("v1 pid "), "{v1}");

    // An invocation held by the v1 process across the swap (the gate lies outside the watched
    // project, so opening it rebuilds nothing).
    let gate = project.dir.with_extension("gate");
    let held = tokio::spawn({
        let (http, url, event) = (http.clone(), url.clone(), format!("gate:{};", gate.display()));
        async move { invoke(&http, &url, &event).await }
    });
    wait_for_file(&project.dir.with_extension("gate.taken")).await;

    project.version("v2");
    let rebuilt = line(&mut lines, BUILD_WAIT).await;
    assert!(rebuilt.starts_with("rebuilt devfn (build 2"), "{rebuilt}");
    assert!(rebuilt.contains("1 in flight finish on the old process"), "{rebuilt}");
    let v2 = invoke(&http, &url, "hello").await;
    assert!(v2.starts_with("v2 pid "), "a new invocation goes to the new build: {v2}");
    std::fs::write(&gate, b"open").unwrap();
    let finished = held.await.unwrap();
    assert_eq!(finished, v1, "the in-flight invocation finished on the old process");

    // A broken save: the compiler's error is shown (stderr) and v2 keeps serving.
    project.break_it();
    let failed = line(&mut lines, BUILD_WAIT).await;
    assert!(failed.starts_with("build failed"), "{failed}");
    assert!(failed.contains("still serving build 2"), "{failed}");
    assert_eq!(invoke(&http, &url, "hello").await, v2, "the last good build still serves");

    project.version("v3");
    let fixed = line(&mut lines, BUILD_WAIT).await;
    assert!(fixed.starts_with("rebuilt devfn (build 3"), "{fixed}");
    assert!(invoke(&http, &url, "hello").await.starts_with("v3 pid "));

    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "dev exited with {status}");
}

#[tokio::test]
async fn dev_explains_what_it_cannot_serve() {
    let project = Project::new("explain");
    let output = Command::new(CLI)
        .args(["dev", "--bin", "nope", "--manifest-path"])
        .arg(project.manifest())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no bin target \"nope\"") && stderr.contains("devfn (-p devfn)"), "{stderr}");
}

/// This workspace's root manifest (two levels above this crate).
fn workspace_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml")
}

#[tokio::test]
#[ignore = "builds the official peer with its own feature set (minutes on a fresh target dir); ci/test-local.sh runs it"]
async fn dev_serves_any_bin_of_the_workspace_such_as_the_official_runtime_peer() {
    let Dev { mut child, mut lines, url } =
        Dev::start(&["--bin", "official-send-numbers"], &workspace_manifest()).await;
    let built = line(&mut lines, BUILD_WAIT).await;
    assert!(built.starts_with("built official-send-numbers (build 1"), "{built}");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let body = invoke(&http, &url, r#"{"count":3,"pause_ms":1}"#).await;
    assert_eq!(body.lines().count(), 3, "three numbers streamed by the official runtime: {body:?}");
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "dev exited with {status}");
}
