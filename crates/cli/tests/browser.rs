//! What a person sees, checked in a real browser: headless Chromium driven through WebDriver
//! (Debian's `chromium` and `chromium-driver`, which `ci/browser.sh` installs and then runs these
//! tests with `--ignored`). Each test saves screenshots under `target/browser/`.
//!
//! These tests need Chromium, so they are `#[ignore]`d: a plain `cargo test` lists them as ignored
//! by name, and `ci/browser.sh` runs them where Chromium is installed (and says so where it is
//! not). Run by hand: `bash ci/browser.sh`.
//!
//! Chromium is started headless as root with `--no-sandbox`, without GPU, QUIC or any background
//! networking (this machine reaches nothing but loopback), and with a fresh, empty profile.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use lambda_stream_emulator::{BootstrapCommand, Emulator, FunctionConfig, Supervisor, SupervisorConfig};
use serde_json::{Value, json};

/// Generous: a busy 2-core machine runs Chromium and the emulator at once.
const WAIT: Duration = Duration::from_secs(30);

/// Chromium and its WebDriver, started for one test and stopped with it.
struct Browser {
    client: Client,
    driver: tokio::process::Child,
    profile: PathBuf,
}

fn installed(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(program)).find(|p| p.exists())
}

impl Browser {
    async fn start(name: &str) -> Self {
        let (Some(chromium), Some(chromedriver)) = (installed("chromium"), installed("chromedriver")) else {
            panic!(
                "this test needs Debian's chromium and chromium-driver: run `bash ci/browser.sh`, which installs them"
            );
        };
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let ready = async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(WAIT, ready).await.expect("chromedriver listens");
        let profile = std::env::temp_dir().join(format!("lambda-stream-chromium-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({ "goog:chromeOptions": { "binary": chromium, "args": args } });
        let Value::Object(capabilities) = capabilities else { unreachable!() };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Self { client, driver, profile }
    }

    /// Runs `script` (a function body) in the page and returns its value.
    async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns something truthy (checked every 50 ms, up to [`WAIT`]).
    async fn until(&self, what: &str, script: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let value = self.eval(script).await;
            if !matches!(value, Value::Null | Value::Bool(false)) && value != json!(0) && value != json!("") {
                return value;
            }
            assert!(tokio::time::Instant::now() < deadline, "waited {WAIT:?} for {what}; last value {value}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a screenshot as `target/browser/NAME.png` and returns its path.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }

    async fn close(self) {
        let _ = self.client.close().await;
        let mut driver = self.driver;
        let _ = driver.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `target/browser/`, next to the profile directory of this test executable.
fn screenshots() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/browser-HASH → target/
    exe.ancestors().nth(3).unwrap().join("browser")
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; ci/browser.sh installs them and runs this"]
async fn the_dashboard_shows_a_new_invocation_without_a_reload_and_draws_its_timeline() {
    let emulator = Emulator::builder()
        .function(FunctionConfig::new("send-numbers"))
        .dashboard("127.0.0.1:0")
        .build()
        .await
        .unwrap();
    let command = BootstrapCommand::new(lambda_stream_fixtures::bootstrap_path()).arg("--handler").arg("send-numbers");
    let supervisor = Supervisor::start(&emulator, SupervisorConfig::new(command)).await.unwrap();
    let browser = Browser::start("dashboard").await;
    let url = emulator.dashboard_url().unwrap();
    browser.client.goto(&url).await.unwrap();
    browser
        .until("the event stream to connect", "return document.getElementById('live').classList.contains('on')")
        .await;
    assert_eq!(browser.eval("return document.querySelectorAll('tr.invocation').length").await, json!(0));
    assert_eq!(browser.eval("return document.getElementById('function').textContent").await, json!("send-numbers"));
    // A mark that a reload would erase.
    browser.eval("window.notReloaded = true; return true").await;

    // Five numbers, 150 ms apart, through the function URL.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = http
        .post(format!("{}/numbers", emulator.url()))
        .header("content-type", "application/json")
        .body(r#"{"count":5,"pause_ms":150}"#);
    let call = tokio::spawn(response.send());

    // The row appears while the invocation runs, without a reload.
    browser.until("a row for the invocation", "return document.querySelectorAll('tr.invocation').length === 1").await;
    assert_eq!(browser.eval("return window.notReloaded === true").await, json!(true), "the page was not reloaded");
    let body = call.await.unwrap().unwrap().text().await.unwrap();
    assert_eq!(body.lines().count(), 5, "{body:?}");
    browser
        .until("the row to show success", "return document.querySelector('tr.invocation').dataset.state === 'ok'")
        .await;
    let row =
        browser.eval("return [...document.querySelector('tr.invocation').children].map(td => td.textContent)").await;
    assert_eq!(row[3], "function URL", "{row}");
    assert_eq!(row[4], "200", "{row}");
    assert_eq!(row[6], "5", "five chunks to the client: {row}");
    assert!(row[5].as_str().unwrap().ends_with("ms"), "a TTFB: {row}");
    browser.screenshot("dashboard-list").await;

    // Opening it shows both lanes of the timeline, one bar per chunk, and the event and prelude.
    browser.eval("document.querySelector('tr.invocation').click(); return true").await;
    browser.until("the timeline", "return document.querySelector('#timeline svg.timeline') !== null").await;
    let lanes =
        browser.eval("return [...document.querySelectorAll('#timeline g.lane')].map(g => g.dataset.lane)").await;
    assert_eq!(lanes, json!(["client", "runtime"]));
    let client_chunks =
        browser.eval("return document.querySelectorAll('#timeline g.lane[data-lane=client] rect.chunk').length").await;
    assert_eq!(client_chunks, json!(5));
    let runtime_chunks =
        browser.eval("return document.querySelectorAll('#timeline g.lane[data-lane=runtime] rect.chunk').length").await;
    assert!(runtime_chunks.as_u64().unwrap() >= 5, "the prelude and five numbers: {runtime_chunks}");
    let gaps = browser.eval("return document.querySelectorAll('#timeline g.gap').length").await;
    assert!(gaps.as_u64().unwrap() >= 1, "the 150 ms pauses are marked");
    let event = browser.eval("return document.getElementById('event').textContent").await;
    assert!(event.as_str().unwrap().contains("\"rawPath\": \"/numbers\""), "{event}");
    let prelude = browser.eval("return document.getElementById('prelude').textContent").await;
    assert!(prelude.as_str().unwrap().contains("statusCode"), "{prelude}");
    let visible = browser.eval("return document.querySelector('#timeline svg').getBoundingClientRect().height").await;
    assert!(visible.as_f64().unwrap() > 100.0, "the timeline is drawn at a readable size: {visible}");
    browser.screenshot("dashboard-timeline").await;

    // A second invocation appears on top, without a reload.
    let second =
        http.post(format!("{}/again", emulator.url())).body(r#"{"count":2,"pause_ms":1}"#).send().await.unwrap();
    assert_eq!(second.status(), 200);
    browser.until("a second row", "return document.querySelectorAll('tr.invocation').length === 2").await;
    let newest = browser.eval("return document.querySelector('tr.invocation').children[0].textContent").await;
    assert_eq!(newest, json!("2"), "the newest row is on top");
    assert_eq!(browser.eval("return window.notReloaded === true").await, json!(true));

    browser.close().await;
    supervisor.shutdown().await;
    emulator.shutdown().await;
}
