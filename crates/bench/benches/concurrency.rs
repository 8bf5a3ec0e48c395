//! The concurrency benchmark (a plain program, like `benches/process.rs`): N = 1, 8 and 64
//! streaming invocations at once through the function URL and InvokeWithResponseStream, against
//! `bench-emulate --concurrency N` (what `lambda-stream emulate --concurrency N` runs) with N
//! copies of our example binary and of the official runtime's, and through cargo-lambda's
//! emulator with N copies of our binary where it is installed and can serve them. See
//! [`lambda_stream_bench::concurrency`] for the figures; they go to `target/bench-concurrency.json`.
//!
//! Each invocation streams the examples' `large` scenario at [`SIZE_MB`] MB in 64 KiB writes and
//! is read to its end; TTFB is request sent -> first body byte (function URL) or first non-empty
//! `PayloadChunk` decoded by aws-sdk-lambda (IWRS). A round starts N invocations together and
//! waits for all; the rounds follow each other. What cannot run is skipped with a printed reason.
//!
//! The floor ([`lambda_stream_bench::floor::Floor`], subject `floor`) takes the same load: N
//! streams of the same size at once through its raw relay, so the report can say how much of the
//! tail at N = 64 is the machine's (two cores carrying N streams) rather than the emulator's.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_lambda::config::{Credentials, Region, StalledStreamProtectionConfig};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvokeWithResponseStreamResponseEvent;
use futures_util::future::join_all;
use lambda_stream_bench::Directive;
use lambda_stream_bench::client::{BoxError, HttpClient, http_client, post};
use lambda_stream_bench::concurrency::{
    ConcurrencyFigure, FILE, FUNCTION_URL, IWRS, LEVELS, cpu_time, percentile, ticks_per_second,
};
use lambda_stream_bench::floor::Floor;
use lambda_stream_bench::peers::{
    CARGO_LAMBDA_FUNCTION, CargoLambda, OFFICIAL, OURS, listening_url, note_skip, release_bin, spawn_function,
};
use lambda_stream_bench::report::FLOOR;
use lambda_stream_bench::target_dir;

/// MB each invocation streams.
const SIZE_MB: u32 = 1;

/// Which path an invocation takes.
#[derive(Clone, Copy)]
enum Route {
    Url,
    Iwrs,
}

/// One invocation's time to first byte and bytes.
type Sample = (Duration, u64);

/// What an invocation asks for: the function URL's path and query, and the IWRS payload.
struct Ask {
    url_path: String,
    iwrs_payload: String,
}

/// The examples' `large` scenario at [`SIZE_MB`] MB.
fn large() -> Ask {
    Ask {
        url_path: format!("/?scenario=large&size_mb={SIZE_MB}"),
        iwrs_payload: format!(r#"{{"scenario":"large","size_mb":{SIZE_MB}}}"#),
    }
}

/// The floor's directive for the same bytes (`Directive::Bytes`, in 64 KiB writes too).
fn floor_large() -> Ask {
    let path = Directive::Bytes(u64::from(SIZE_MB) * 1_000_000).path();
    Ask { url_path: path.clone(), iwrs_payload: path }
}

async fn url_invocation(client: &HttpClient, base: &str, ask: &Ask) -> Result<Sample, BoxError> {
    let start = Instant::now();
    let mut body = post(client, &format!("{base}{}", ask.url_path), http::StatusCode::OK).await?;
    let mut first = None;
    let mut bytes = 0;
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        if let Some(data) = frame?.data_ref().filter(|d| !d.is_empty()) {
            first.get_or_insert_with(|| start.elapsed());
            bytes += data.len() as u64;
        }
    }
    Ok((first.ok_or("the body ended without a byte")?, bytes))
}

fn sdk_client(endpoint: &str) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .endpoint_url(endpoint)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

async fn iwrs_invocation(client: &aws_sdk_lambda::Client, ask: &Ask) -> Result<Sample, BoxError> {
    let start = Instant::now();
    let mut output = client
        .invoke_with_response_stream()
        .function_name("bench")
        .payload(Blob::new(ask.iwrs_payload.as_str()))
        .send()
        .await?;
    let mut first = None;
    let mut bytes = 0;
    while let Some(event) = output.event_stream.recv().await? {
        if let InvokeWithResponseStreamResponseEvent::PayloadChunk(chunk) = event
            && let Some(data) = chunk.payload().filter(|p| !p.as_ref().is_empty())
        {
            first.get_or_insert_with(|| start.elapsed());
            bytes += data.as_ref().len() as u64;
        }
    }
    Ok((first.ok_or("the stream ended without a PayloadChunk")?, bytes))
}

/// Rounds per level: enough invocations for a p99 to mean something without taking minutes.
fn rounds(n: usize, short: bool) -> usize {
    let invocations = if short { 64 } else { 256 };
    (invocations / n).max(if short { 2 } else { 4 })
}

/// Runs the rounds of one level and makes its figure. `cpu` reads the emulator's CPU clock.
async fn measure(
    subject: &str,
    path: Route,
    n: usize,
    short: bool,
    base: &str,
    ask: &Ask,
    cpu: impl Fn() -> Option<Duration>,
) -> Result<ConcurrencyFigure, BoxError> {
    let (client, sdk) = (http_client(), sdk_client(base));
    let (client, sdk) = (&client, &sdk);
    let one = move |_| async move {
        match path {
            Route::Url => url_invocation(client, base, ask).await,
            Route::Iwrs => iwrs_invocation(sdk, ask).await,
        }
    };
    // A warm-up round: every runtime copy has started and every connection is open.
    for result in join_all((0..n).map(one)).await {
        result?;
    }
    let (cpu_before, started) = (cpu(), Instant::now());
    let mut samples = Vec::new();
    for _ in 0..rounds(n, short) {
        let round = tokio::time::timeout(Duration::from_secs(120), join_all((0..n).map(one)))
            .await
            .map_err(|_| format!("{n} invocations at once did not end within 120 s"))?;
        for result in round {
            samples.push(result?);
        }
    }
    let wall = started.elapsed();
    let cpu_used = cpu().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    let ttfb: Vec<Duration> = samples.iter().map(|s| s.0).collect();
    let bytes: u64 = samples.iter().map(|s| s.1).sum();
    let figure = ConcurrencyFigure {
        subject: subject.to_owned(),
        path: match path {
            Route::Url => FUNCTION_URL,
            Route::Iwrs => IWRS,
        }
        .to_owned(),
        concurrency: n,
        invocations: samples.len(),
        bytes,
        p50_ttfb_ns: percentile(&ttfb, 50.0).unwrap_or_default().as_nanos() as f64,
        p99_ttfb_ns: percentile(&ttfb, 99.0).unwrap_or_default().as_nanos() as f64,
        mb_per_s: bytes as f64 / 1e6 / wall.as_secs_f64(),
        emulator_cpu_s_per_gb: cpu_used.map(|c| c.as_secs_f64() / (bytes as f64 / 1e9)),
    };
    println!(
        "concurrency {subject} {} N={n}: {} invocations, TTFB p50 {:.2} ms p99 {:.2} ms, {:.0} MB/s, emulator CPU {} s/GB",
        figure.path,
        figure.invocations,
        figure.p50_ttfb_ns / 1e6,
        figure.p99_ttfb_ns / 1e6,
        figure.mb_per_s,
        figure.emulator_cpu_s_per_gb.map_or("?".to_owned(), |c| format!("{c:.2}")),
    );
    Ok(figure)
}

/// `bench-emulate --concurrency n -- bin` as a process, and its URL once it listens.
async fn start_emulator(emulate: &Path, bin: &Path, n: usize) -> Result<(tokio::process::Child, String), BoxError> {
    let mut child = tokio::process::Command::new(emulate)
        .args(["--concurrency", &n.to_string(), "--"])
        .arg(bin)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let url = listening_url(&mut child, Duration::from_secs(60)).await?;
    Ok((child, url))
}

/// SIGTERM (the emulator takes its bootstraps down with it), then SIGKILL.
async fn stop(mut child: tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    }
    if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

async fn under_our_emulator(subject: &str, bin: &Path, short: bool, ticks: u64, figures: &mut Vec<ConcurrencyFigure>) {
    let emulate = Path::new(env!("CARGO_BIN_EXE_bench-emulate"));
    for n in LEVELS {
        let (child, url) = match start_emulator(emulate, bin, n).await {
            Ok(started) => started,
            Err(e) => {
                note_skip(&format!("concurrency {subject} N={n}"), &e.to_string());
                continue;
            }
        };
        let pid = child.id();
        for path in [Route::Url, Route::Iwrs] {
            match measure(subject, path, n, short, &url, &large(), || pid.and_then(|p| cpu_time(p, ticks))).await {
                Ok(figure) => figures.push(figure),
                Err(e) => note_skip(&format!("concurrency {subject} N={n}"), &e.to_string()),
            }
        }
        stop(child).await;
    }
}

async fn under_cargo_lambda(bin: &Path, short: bool, ticks: u64, figures: &mut Vec<ConcurrencyFigure>) {
    let subject = "cargo-lambda+lambda-stream-process";
    for n in LEVELS {
        let cargo_lambda = match CargoLambda::start().await {
            Ok(c) => c,
            Err(reason) => {
                note_skip(&format!("concurrency {subject} (all levels)"), &reason);
                return;
            }
        };
        let mut functions = Vec::new();
        for _ in 0..n {
            match spawn_function(bin, &cargo_lambda.runtime_api(), CARGO_LAMBDA_FUNCTION) {
                Ok(child) => functions.push(child),
                Err(e) => note_skip(&format!("concurrency {subject} N={n}"), &format!("a function did not start: {e}")),
            }
        }
        let pid = cargo_lambda.pid();
        let base = cargo_lambda.url();
        match measure(subject, Route::Url, n, short, &base, &large(), || pid.and_then(|p| cpu_time(p, ticks))).await {
            Ok(figure) => figures.push(figure),
            Err(e) => note_skip(&format!("concurrency {subject} function URL N={n}"), &e.to_string()),
        }
        drop(functions);
        cargo_lambda.shutdown().await;
    }
    note_skip(
        &format!("concurrency {subject} InvokeWithResponseStream"),
        "cargo-lambda serves IWRS on /2015-03-31/... and collects every frame before answering, so SDKs \
         do not reach it as a stream (as in the e2e figures)",
    );
}

/// The floor under the same load. Its relay runs in this process, beside the clients, so it has
/// no emulator CPU figure of its own.
async fn floor(short: bool, figures: &mut Vec<ConcurrencyFigure>) {
    let floor = match Floor::start().await {
        Ok(floor) => floor,
        Err(e) => {
            note_skip("concurrency floor", &e.to_string());
            return;
        }
    };
    let base = floor.url();
    for n in LEVELS {
        for path in [Route::Url, Route::Iwrs] {
            match measure(FLOOR, path, n, short, &base, &floor_large(), || None).await {
                Ok(figure) => figures.push(figure),
                Err(e) => note_skip(&format!("concurrency floor N={n}"), &e.to_string()),
            }
        }
    }
}

fn main() {
    let short = std::env::var("LAMBDA_STREAM_BENCH_MODE").is_ok_and(|m| m == "short");
    let ticks = ticks_per_second();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let mut figures = Vec::new();
    rt.block_on(async {
        floor(short, &mut figures).await;
        for (subject, name) in [("lambda-stream-process", OURS), ("official-process", OFFICIAL)] {
            match release_bin(name) {
                Ok(bin) => under_our_emulator(subject, &bin, short, ticks, &mut figures).await,
                Err(reason) => note_skip(&format!("concurrency {subject}"), &reason),
            }
        }
        match release_bin(OURS) {
            Ok(bin) => under_cargo_lambda(&bin, short, ticks, &mut figures).await,
            Err(reason) => note_skip("concurrency cargo-lambda", &reason),
        }
    });
    let out = target_dir().join(FILE);
    match serde_json::to_string_pretty(&figures).map(|json| std::fs::write(&out, json)) {
        Ok(Ok(())) => println!("concurrency figures written to {}", out.display()),
        other => eprintln!("could not write {}: {other:?}", out.display()),
    }
}
