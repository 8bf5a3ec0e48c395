//! The baselines that live outside this crate: the example binaries (ours and the official
//! `lambda_runtime` peers from `crates/peers`, built by `ci/bench.sh` into the same target
//! directory) and cargo-lambda's emulator (from PyPI, `pip install cargo-lambda`). Whatever is
//! missing is skipped with a printed reason, which [`note_skip`] also leaves for the report.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use lambda_stream_protocol::env;
use tokio::process::{Child, Command};

use crate::target_dir;

/// Our `conditional-streaming` example (lambda-stream runtime).
pub const OURS: &str = "conditional-streaming";
/// The same example on the official `lambda_runtime` crate (`crates/peers/official`).
pub const OFFICIAL: &str = "official-conditional-streaming";

/// Where skip notes go; `ci/bench.sh` empties it before a run.
pub fn notes_dir() -> PathBuf {
    target_dir().join("bench-notes")
}

/// Prints why `case` is not measured and leaves the reason for the report.
pub fn note_skip(case: &str, reason: &str) {
    eprintln!("skipped: {case}: {reason}");
    let dir = notes_dir();
    let _ = std::fs::create_dir_all(&dir);
    let file: String = case.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let _ = std::fs::write(dir.join(format!("{file}.txt")), format!("{case}\t{reason}\n"));
}

/// A release binary built into this target directory, or why it is not there.
pub fn release_bin(name: &str) -> Result<PathBuf, String> {
    let path = target_dir().join("release").join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not built (ci/bench.sh builds it: cargo build --release -p example-conditional-streaming -p peer-official)",
            path.display()
        ))
    }
}

/// Starts a function binary against the Runtime API at `runtime_api` with the Lambda
/// environment the official runtime insists on (it panics without it: `lambda_runtime`
/// `Config::from_env`). Output is discarded; the child dies with its handle.
pub fn spawn_function(bin: &Path, runtime_api: &str, function_name: &str) -> std::io::Result<Child> {
    Command::new(bin)
        .env(env::RUNTIME_API, runtime_api)
        .env(env::FUNCTION_NAME, function_name)
        .env(env::FUNCTION_VERSION, env::LATEST_VERSION)
        .env(env::FUNCTION_MEMORY_SIZE, "128")
        .env(env::REGION, "us-east-1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

/// A free port on 127.0.0.1 for a program that wants one on its command line.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// cargo-lambda's emulator, `cargo lambda watch --only-lambda-apis`: the Runtime API and the
/// function-URL front end without building anything, so a prebuilt binary can be pointed at it.
#[derive(Debug)]
pub struct CargoLambda {
    child: Child,
    port: u16,
    dir: PathBuf,
}

/// The function name cargo-lambda gives a function it did not start (its `--only-lambda-apis`
/// banner prints `AWS_LAMBDA_FUNCTION_NAME=_`).
pub const CARGO_LAMBDA_FUNCTION: &str = "_";

impl CargoLambda {
    /// Starts it, or says why it cannot: not installed, or not answering within 30 s.
    pub async fn start() -> Result<Self, String> {
        let program = find_in_path("cargo-lambda").ok_or("cargo-lambda is not installed (pip install cargo-lambda)")?;
        // `watch` runs `cargo metadata` first and fails outside a Cargo project, so it gets an
        // empty one of its own.
        let port = free_port().map_err(|e| e.to_string())?;
        let dir = std::env::temp_dir().join(format!("lambda-stream-bench-cargo-lambda-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"bench-fn\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").map_err(|e| e.to_string())?;
        let child = Command::new(program)
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cargo-lambda did not start: {e}"))?;
        let mut me = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if Instant::now() > deadline {
                return Err("cargo-lambda did not listen within 30 s".into());
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                return Err(format!("cargo-lambda exited early: {status}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(me)
    }

    /// `AWS_LAMBDA_RUNTIME_API` as cargo-lambda hands it out: with a scheme and the `/.rt` prefix.
    pub fn runtime_api(&self) -> String {
        format!("http://127.0.0.1:{}/.rt", self.port)
    }

    /// The function URL of the function named [`CARGO_LAMBDA_FUNCTION`].
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/lambda-url/{CARGO_LAMBDA_FUNCTION}", self.port)
    }

    /// Its process id, while it runs (for its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops it.
    pub async fn shutdown(mut self) {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The first `name` on `PATH` that is a file.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// Waits up to `wait` for a `bench-emulate` child (spawned with piped stdout) to print its
/// `listening on URL` line and returns the URL; afterwards its stdout keeps being read in the
/// background so the emulator never blocks on a full pipe.
pub async fn listening_url(child: &mut Child, wait: Duration) -> Result<String, crate::client::BoxError> {
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(wait, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("listening on ") {
                return Some(url.trim().to_owned());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| format!("bench-emulate printed no `listening on` line within {} s", wait.as_secs()))?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(url)
}
