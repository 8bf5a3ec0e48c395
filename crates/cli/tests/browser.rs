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

/// Runs `lambda-stream conform` on `fixture-bootstrap` (every handler; `--break DEFECT` on the
/// send-numbers one when given) and writes the report in `format` to `output`.
async fn conform(label: &str, defect: Option<&str>, format: &str, output: &Path) {
    let fixture = lambda_stream_fixtures::bootstrap_path();
    let fixture = fixture.display();
    let broken = defect.map(|d| format!(" --break {d}")).unwrap_or_default();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambda-stream"))
        .args(["conform", "--label", label, "--format", format, "--output"])
        .arg(output)
        .arg("--bootstrap")
        .arg(format!("send-numbers={fixture} --handler send-numbers{broken}"))
        .arg("--bootstrap")
        .arg(format!("conditional-streaming={fixture} --handler conditional-streaming"))
        .arg("--bootstrap")
        .arg(format!("probe={fixture} --handler probe"))
        .output()
        .await
        .unwrap();
    let status = run.status;
    // A broken run exits non-zero (unexpected failures) after writing its report. (A clean run
    // may still fail a timing rule on a loaded machine; the tests read what its report says.)
    if defect.is_some() {
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            !status.success() && stderr.contains("unexpected failures"),
            "conform {label} found the defect: {stderr}"
        );
    }
    assert!(output.exists(), "{} was written ({status})", output.display());
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; ci/browser.sh installs them and runs this"]
async fn the_html_report_shows_a_timeline_per_scenario_with_its_chunks_and_highlights_failing_rules() {
    let dir = screenshots();
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("conform-report.html");
    conform("fixture-one-chunk", Some("one-chunk"), "html", &report).await;
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(!html.contains("<script") && !html.contains("src=\"http"), "self-contained, no script");

    let browser = Browser::start("report").await;
    browser.client.goto(&file_url(&report)).await.unwrap();
    let scenarios = lambda_stream_conformance::scenario::embedded().unwrap().len();
    let articles = browser.eval("return document.querySelectorAll('article.scenario').length").await;
    assert_eq!(articles, json!(scenarios), "one section per scenario");
    // Every scenario that got an answer has a timeline; the others say why not.
    let shape = browser
        .eval(
            "return [...document.querySelectorAll('article.scenario')].map(a => ({
                 name: a.dataset.scenario,
                 timelines: a.querySelectorAll('svg.timeline').length,
                 said: Number((a.querySelector('.muted').textContent.match(/(\\d+) chunk\\(s\\)/) || [])[1]),
                 drawn: a.querySelectorAll('svg.timeline g.lane[data-lane=client] rect.chunk').length,
                 runtime: a.querySelectorAll('svg.timeline g.lane[data-lane=runtime]').length,
                 note: a.textContent.includes('note:'),
             }))",
        )
        .await;
    let shape = shape.as_array().unwrap();
    let drawn: Vec<&Value> = shape.iter().filter(|s| s["timelines"] == 1).collect();
    assert!(drawn.len() >= scenarios - 2, "nearly every scenario is drawn: {shape:?}");
    for s in shape {
        assert!(s["timelines"] == 1 || s["note"] == true, "no timeline and no reason: {s}");
        if s["timelines"] == 1 {
            assert_eq!(s["drawn"], s["said"], "one bar per chunk the client got: {s}");
        }
    }
    // The local target draws the function's side too (not where the request never reached the
    // function: a dry run, a refused request).
    let with_runtime = shape.iter().filter(|s| s["runtime"] == 1).count();
    assert!(with_runtime * 4 >= drawn.len() * 3, "{with_runtime} of {} timelines have a runtime lane", drawn.len());
    let bars = browser.eval("return document.querySelectorAll('svg.timeline rect.chunk').length").await;
    assert!(bars.as_u64().unwrap() > 50, "{bars} chunk marks in all");

    // The buffering defect fails rules, and those rows stand out.
    let failing = browser
        .eval("return [...document.querySelectorAll('tr.rule[data-verdict=fail]')].map(r => r.dataset.rule)")
        .await;
    let failing: Vec<&str> = failing.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(failing.contains(&"runtime.chunk-per-write"), "{failing:?}");
    let colours = browser
        .eval(
            "const fail = getComputedStyle(document.querySelector('tr.rule[data-verdict=fail]'));
             const pass = getComputedStyle(document.querySelector('tr.rule[data-verdict=pass]'));
             return [fail.backgroundColor, fail.borderLeftColor, pass.backgroundColor];",
        )
        .await;
    assert_eq!(colours[0], "rgb(253, 236, 236)", "a failing rule has a red tint: {colours}");
    assert_eq!(colours[1], "rgb(200, 48, 44)", "and a red edge: {colours}");
    assert_ne!(colours[2], colours[0], "a passing rule does not: {colours}");
    let overall = browser.eval("return document.querySelector('.overall').textContent").await;
    assert_eq!(overall, json!("NOT OK"));
    browser.screenshot("report-summary").await;
    browser.eval("document.querySelector('article.scenario[data-verdict=fail]').scrollIntoView(); return true").await;
    browser.screenshot("report-failing-scenario").await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; ci/browser.sh installs them and runs this"]
async fn the_matrix_puts_runs_side_by_side_with_evidence_on_hover() {
    let dir = screenshots();
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("matrix-fixture.json");
    let bad = dir.join("matrix-fixture-one-chunk.json");
    conform("fixture", None, "json", &good).await;
    conform("fixture-one-chunk", Some("one-chunk"), "json", &bad).await;
    let matrix = dir.join("conform-matrix.html");
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambda-stream"))
        .arg("report")
        .args([&good, &bad])
        .arg("--output")
        .arg(&matrix)
        .status()
        .await
        .unwrap();
    assert!(status.success());

    let browser = Browser::start("matrix").await;
    browser.client.goto(&file_url(&matrix)).await.unwrap();
    let columns = browser.eval("return [...document.querySelectorAll('th[data-run]')].map(th => th.dataset.run)").await;
    assert_eq!(columns, json!(["fixture", "fixture-one-chunk"]));
    let rules = lambda_stream_conformance::Catalogue::embedded().unwrap().rules.len();
    assert_eq!(browser.eval("return document.querySelectorAll('tbody tr').length").await, json!(rules));
    let row = browser
        .eval(
            "const row = document.querySelector('tr[data-rule=\"runtime.chunk-per-write\"]');
             return [...row.querySelectorAll('td.cell')].map(td => [td.dataset.verdict, td.title]);",
        )
        .await;
    let good: Value = serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    let said = good["rules"].as_array().unwrap().iter().find(|r| r["id"] == "runtime.chunk-per-write").unwrap();
    assert_eq!(row[0][0], said["verdict"], "the cell shows the run's verdict: {row}");
    assert_eq!(row[1][0], "fail", "{row}");
    assert!(row[1][1].as_str().unwrap().contains("expected"), "the evidence is the cell's tooltip: {row}");
    browser.screenshot("report-matrix").await;
    browser.close().await;
}
