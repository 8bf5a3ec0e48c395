//! `soak`: the emulator's memory under long abuse, measured as the emulator process's resident
//! set (`just soak`, `ci/soak.sh`).
//!
//! It starts `bench-emulate -- conditional-streaming` (the emulate command without the CLI's AWS
//! SDKs; both binaries are looked up next to this one, so build them in the same profile), warms
//! up, notes the emulator's RSS, then runs, in order:
//! 1. `--disconnects N` (default 1,000) function URL calls of `scenario=large&size_mb=2` whose
//!    client hangs up after the first body bytes (the function keeps streaming into the void);
//! 2. `--posts N` (default 1,000) function URL POSTs with a 1 MiB body (`scenario=empty`, so the
//!    time goes to moving the payload, not to the function's pauses);
//! 3. `--streams N` (default 100) full streams of `--stream-mb` (default 199) MB, read to the end
//!    and counted byte for byte. 199 MB is the largest whole-MB body whose stream fits Lambda's
//!    200 MB cap once the prelude's bytes are counted: a 200 MB body is cut at the cap, as it
//!    would be on Lambda.
//!
//! After each phase it prints the RSS, and at the end the peak (`VmHWM`). It exits non-zero when
//! the final RSS is more than `--max-growth-mib` (default 16) above the baseline, or when any call
//! did not behave (wrong status, short body).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use lambda_stream_bench::client::{BoxError, HttpClient, http_client};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// What to run; parsed from `--name value` pairs.
#[derive(Debug, Clone)]
struct Plan {
    disconnects: usize,
    posts: usize,
    streams: usize,
    stream_mb: u64,
    max_growth_mib: f64,
}

impl Plan {
    fn from_args() -> Result<Self, BoxError> {
        let mut plan = Plan { disconnects: 1000, posts: 1000, streams: 100, stream_mb: 199, max_growth_mib: 16.0 };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
            match flag.as_str() {
                "--disconnects" => plan.disconnects = value.parse().map_err(|e| bad(&e))?,
                "--posts" => plan.posts = value.parse().map_err(|e| bad(&e))?,
                "--streams" => plan.streams = value.parse().map_err(|e| bad(&e))?,
                "--stream-mb" => plan.stream_mb = value.parse().map_err(|e| bad(&e))?,
                "--max-growth-mib" => plan.max_growth_mib = value.parse().map_err(|e| bad(&e))?,
                other => {
                    return Err(format!(
                        "unknown option {other}; use --disconnects N --posts N --streams N --stream-mb MB --max-growth-mib MIB"
                    )
                    .into());
                }
            }
        }
        Ok(plan)
    }
}

/// `VmRSS` or `VmHWM` of a process, in MiB.
fn status_mib(pid: u32, field: &str) -> Result<f64, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|rest| rest.trim_start_matches(':').split_whitespace().next()))
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))?
        .parse()?;
    Ok(kib / 1024.0)
}

fn sibling(name: &str) -> Result<PathBuf, BoxError> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name(name);
    if !path.exists() {
        return Err(format!(
            "{} is missing: build it in the same profile (ci/soak.sh runs `cargo build --release -p lambda-stream-bench -p example-conditional-streaming \
             --bin soak --bin bench-emulate --bin conditional-streaming`)",
            path.display()
        )
        .into());
    }
    Ok(path)
}

async fn start_emulator(bootstrap: &Path) -> Result<(Child, String), BoxError> {
    let mut child = Command::new(sibling("bench-emulate")?)
        .arg("--")
        .arg(bootstrap)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let line = BufReader::new(stdout).lines().next_line().await?.ok_or("bench-emulate printed nothing")?;
    let url = line.strip_prefix("listening on ").ok_or_else(|| format!("unexpected first line {line:?}"))?;
    Ok((child, url.to_owned()))
}

async fn call(
    client: &HttpClient,
    url: &str,
    body: Bytes,
    expected: http::StatusCode,
) -> Result<hyper::Response<hyper::body::Incoming>, BoxError> {
    let request = http::Request::post(url).body(Full::new(body))?;
    let response = client.request(request).await?;
    if response.status() != expected {
        return Err(format!("{url} answered {}, not {expected}", response.status()).into());
    }
    Ok(response)
}

/// Reads a body to its end and returns its length.
async fn drain(response: hyper::Response<hyper::body::Incoming>) -> Result<u64, BoxError> {
    let mut body = response.into_body();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            total += data.len() as u64;
        }
    }
    Ok(total)
}

/// Calls `large` and hangs up after the first body frame.
async fn disconnect(client: &HttpClient, base: &str) -> Result<(), BoxError> {
    let url = format!("{base}/?scenario=large&size_mb=2");
    let response = call(client, &url, Bytes::new(), http::StatusCode::OK).await?;
    let mut body = response.into_body();
    match body.frame().await {
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(e.into()),
        None => Err("the large stream ended before its first byte".into()),
    }
}

async fn post(client: &HttpClient, base: &str, payload: &Bytes) -> Result<(), BoxError> {
    let url = format!("{base}/?scenario=empty");
    let response = call(client, &url, payload.clone(), http::StatusCode::NO_CONTENT).await?;
    let len = drain(response).await?;
    if len != 0 {
        return Err(format!("the empty scenario answered {len} bytes").into());
    }
    Ok(())
}

async fn stream(client: &HttpClient, base: &str, mb: u64) -> Result<(), BoxError> {
    let url = format!("{base}/?scenario=large&size_mb={mb}");
    let response = call(client, &url, Bytes::new(), http::StatusCode::OK).await?;
    let len = drain(response).await?;
    if len != mb * 1_000_000 {
        return Err(format!("a {mb} MB stream delivered {len} bytes").into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let plan = Plan::from_args()?;
    let bootstrap = sibling("conditional-streaming")?;
    let (emulator, base) = start_emulator(&bootstrap).await?;
    let pid = emulator.id().ok_or("the emulator exited")?;
    // Every phase's clients are fresh, so no pooled connection outlives its phase.
    let payload = Bytes::from(vec![b'p'; 1024 * 1024]);

    // Warm-up: a few of each, so allocator arenas and connection buffers exist before the baseline.
    let client = http_client();
    for _ in 0..20 {
        disconnect(&http_client(), &base).await?;
        post(&client, &base, &payload).await?;
    }
    stream(&client, &base, plan.stream_mb.min(20)).await?;
    drop(client);
    let baseline = status_mib(pid, "VmRSS")?;
    println!("soak: emulator pid {pid}, baseline RSS {baseline:.1} MiB");

    let started = Instant::now();
    for _ in 0..plan.disconnects {
        disconnect(&http_client(), &base).await?;
    }
    println!(
        "soak: {} mid-stream disconnects in {:.1} s -> RSS {:.1} MiB",
        plan.disconnects,
        started.elapsed().as_secs_f64(),
        status_mib(pid, "VmRSS")?
    );

    let started = Instant::now();
    let client = http_client();
    for _ in 0..plan.posts {
        post(&client, &base, &payload).await?;
    }
    drop(client);
    println!(
        "soak: {} POSTs of 1 MiB in {:.1} s -> RSS {:.1} MiB",
        plan.posts,
        started.elapsed().as_secs_f64(),
        status_mib(pid, "VmRSS")?
    );

    let started = Instant::now();
    let client = http_client();
    for _ in 0..plan.streams {
        stream(&client, &base, plan.stream_mb).await?;
    }
    drop(client);
    let seconds = started.elapsed().as_secs_f64();
    let end = status_mib(pid, "VmRSS")?;
    let peak = status_mib(pid, "VmHWM")?;
    println!(
        "soak: {} streams of {} MB in {seconds:.1} s ({:.0} MB/s) -> RSS {end:.1} MiB",
        plan.streams,
        plan.stream_mb,
        (plan.streams as f64 * plan.stream_mb as f64) / seconds
    );
    let growth = end - baseline;
    println!("soak: RSS {baseline:.1} -> {end:.1} MiB ({growth:+.1} MiB), peak {peak:.1} MiB");
    if growth > plan.max_growth_mib {
        return Err(format!("the emulator's RSS grew by {growth:.1} MiB, more than {} MiB", plan.max_growth_mib).into());
    }
    println!("soak: ok (growth within {} MiB)", plan.max_growth_mib);
    Ok(())
}
