//! Whole-process figures, measured on real processes (not criterion: each figure is a few
//! process starts or a few 200 MB streams, and criterion's statistics would cost minutes).
//!
//! - **Peak memory and throughput** while 199 MB stream ([`LARGE_MB`]): `bench-emulate --
//!   <bootstrap>` (what `lambda-stream emulate` runs, without the CLI's AWS SDK build) started as
//!   a process for each runtime, the examples' `large` scenario read through its function URL
//!   three times each in short mode (seven in full), the two runtimes taking turns so that a busy
//!   moment of the machine falls on both; the throughput is the median run's. VmRSS of the
//!   emulator and of the runtime process before the first stream, and their peak after the last
//!   (VmHWM from `/proc/<pid>/status`: the kernel's own high-water mark, so no sample can miss a
//!   spike). Target: at most 32 MiB each, for our runtime and for the official peer under our
//!   emulator.
//! - **Cold start**: process spawn -> first `GET /next` seen by a minimal Runtime API
//!   ([`Sink`]), our example binary against the official peer's, the median of several starts.
//!
//! - **Bootstrap size**: the release binaries' file sizes (the same example on both runtimes).
//!
//! Writes `target/bench-process.json` for `bench-report`; anything it cannot run is skipped with a
//! printed reason (left in `target/bench-notes/` for the report).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lambda_stream_bench::client::{BoxError, fetch_all, http_client, ttfb};
use lambda_stream_bench::peers::{OFFICIAL, OURS, listening_url, note_skip, release_bin, spawn_function};
use lambda_stream_bench::report::{
    ColdStartFigure, MEMORY_RUNTIMES, MemoryFigure, ProcessFigures, SizeFigure, StreamFigure,
};
use lambda_stream_bench::sink::Sink;
use lambda_stream_bench::target_dir;

/// The large response, in MB: 199, not 200, because the emulator counts the HTTP-integration
/// prelude the example writes first against its 200 MB streamed-response cap and cuts a 200 MB
/// payload just before its end (`Function.ResponseSizeTooLarge`).
const LARGE_MB: u32 = 199;

/// The runtimes measured, labelled as the memory verdict requires them ([`MEMORY_RUNTIMES`]).
const RUNTIMES: [(&str, &str); 2] = [(MEMORY_RUNTIMES[0], OURS), (MEMORY_RUNTIMES[1], OFFICIAL)];

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// [`status_kib`], or an error naming what could not be read: an unreadable figure is not 0 KiB
/// (which would pass any memory target), it is a run that measured nothing.
fn read_kib(pid: u32, field: &str) -> Result<u64, BoxError> {
    status_kib(pid, field).ok_or_else(|| format!("{field} of process {pid} is unreadable (/proc/{pid}/status)").into())
}

/// The children of `pid` (from `/proc/*/stat`, whose 4th field is the parent).
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).ok().is_some_and(|stat| {
                // The command name (2nd field) is in parentheses and may hold spaces.
                stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 }
}

async fn cold_start(label: &str, bin: &Path, runs: usize) -> Result<ColdStartFigure, BoxError> {
    let sink = Sink::start().await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        sink.reset_first_next();
        let spawned = Instant::now();
        let mut child = spawn_function(bin, &sink.endpoint(), "bench")?;
        let first = sink.first_next(Duration::from_secs(10)).await;
        let _ = child.kill().await;
        let first = first.ok_or("no GET /next within 10 s")?;
        times.push(first.duration_since(spawned).as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(ColdStartFigure {
        runtime: label.to_owned(),
        runs,
        median_ms: median(&times),
        min_ms: times[0],
        max_ms: times[times.len() - 1],
    })
}

/// Sends SIGTERM (the emulator takes its bootstrap down on it), then SIGKILL to whatever is left.
async fn stop(emulator: &mut tokio::process::Child, runtime: Option<u32>) {
    if let Some(pid) = emulator.id() {
        let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    }
    if tokio::time::timeout(Duration::from_secs(5), emulator.wait()).await.is_err() {
        let _ = emulator.kill().await;
    }
    if let Some(pid) = runtime {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
    }
}

/// One runtime's large-stream setup: `bench-emulate -- <bootstrap>` as a process, its runtime
/// process, and their RSS before the first large stream.
struct LargeSetup {
    label: &'static str,
    emulator: tokio::process::Child,
    emulator_pid: u32,
    runtime_pid: u32,
    url: String,
    before: (u64, u64),
    runs: Vec<f64>,
    /// A stream failed (and was noted as skipped): no more streams and no figures.
    failed: bool,
}

/// Starts `bench-emulate -- <bin>` and makes one small call, so that the runtime is up and both
/// processes are past start-up before their RSS is read.
async fn start_large(label: &'static str, emulate: &Path, bin: &Path) -> Result<LargeSetup, BoxError> {
    let mut emulator = tokio::process::Command::new(emulate)
        .arg("--")
        .arg(bin)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let emulator_pid = emulator.id().ok_or("the emulator exited at once")?;
    let started = async {
        let url = listening_url(&mut emulator, Duration::from_secs(30)).await?;
        ttfb(&http_client(), &format!("{url}/?scenario=bad-request"), http::StatusCode::BAD_REQUEST).await?;
        let runtime_pid = *children(emulator_pid).first().ok_or("the emulator's runtime process was not found")?;
        let before = (read_kib(emulator_pid, "VmRSS")?, read_kib(runtime_pid, "VmRSS")?);
        Ok::<_, BoxError>((url, runtime_pid, before))
    }
    .await;
    match started {
        Ok((url, runtime_pid, before)) => {
            Ok(LargeSetup { label, emulator, emulator_pid, runtime_pid, url, before, runs: Vec::new(), failed: false })
        }
        Err(e) => {
            stop(&mut emulator, None).await;
            Err(e)
        }
    }
}

/// Streams [`LARGE_MB`] through `setup` once and keeps its time.
async fn stream_large(setup: &mut LargeSetup) -> Result<(), BoxError> {
    let (elapsed, bytes) =
        fetch_all(&http_client(), &format!("{}/?scenario=large&size_mb={LARGE_MB}", setup.url)).await?;
    if bytes != u64::from(LARGE_MB) * 1_000_000 {
        return Err(format!("the large response had {bytes} bytes, not {LARGE_MB} MB").into());
    }
    setup.runs.push(elapsed.as_secs_f64());
    Ok(())
}

/// Reads both processes' peak RSS after every stream, records the figures and stops the setup.
async fn finish_large(mut setup: LargeSetup, figures: &mut ProcessFigures) -> Result<(), BoxError> {
    let hwm = read_kib(setup.emulator_pid, "VmHWM").and_then(|e| Ok((e, read_kib(setup.runtime_pid, "VmHWM")?)));
    stop(&mut setup.emulator, Some(setup.runtime_pid)).await;
    let hwm = hwm?;
    if setup.runs.is_empty() {
        return Err("no large stream completed".into());
    }
    let label = setup.label;
    let name = format!("emulate + {label} runtime, {LARGE_MB} MB");
    let mut sorted = setup.runs.clone();
    sorted.sort_by(f64::total_cmp);
    figures.streams.push(StreamFigure {
        setup: name.clone(),
        bytes: u64::from(LARGE_MB) * 1_000_000,
        seconds: median(&sorted),
        runs: setup.runs,
    });
    figures.memory.push(MemoryFigure {
        process: "emulator (lambda-stream emulate)".into(),
        runtime: label.to_owned(),
        setup: name.clone(),
        before_kib: setup.before.0,
        peak_kib: hwm.0,
    });
    figures.memory.push(MemoryFigure {
        process: format!("runtime ({label})"),
        runtime: label.to_owned(),
        setup: name,
        before_kib: setup.before.1,
        peak_kib: hwm.1,
    });
    Ok(())
}

fn main() {
    let short = std::env::var("LAMBDA_STREAM_BENCH_MODE").is_ok_and(|m| m == "short");
    // `cargo bench` passes `--bench` and filters; this program takes none of them.
    let runs = if short { 10 } else { 30 };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    // Each runtime's 199 MB stream, taken this many times, alternating.
    let large_rounds = if short { 3 } else { 7 };
    let mut figures = ProcessFigures::default();
    rt.block_on(async {
        let mut large = Vec::new();
        // Built with the benches: the same package's binary.
        let emulate = Path::new(env!("CARGO_BIN_EXE_bench-emulate"));
        for (label, name) in RUNTIMES {
            let bin = match release_bin(name) {
                Ok(bin) => bin,
                Err(reason) => {
                    note_skip(&format!("cold start and memory ({label})"), &reason);
                    continue;
                }
            };
            if let Ok(meta) = std::fs::metadata(&bin) {
                println!("release bootstrap {label}: {} bytes", meta.len());
                figures.sizes.push(SizeFigure {
                    runtime: label.to_owned(),
                    binary: name.to_owned(),
                    bytes: meta.len(),
                });
            }
            match cold_start(label, &bin, runs).await {
                Ok(figure) => {
                    println!(
                        "cold start {label}: median {:.1} ms (min {:.1}, max {:.1}, {runs} runs)",
                        figure.median_ms, figure.min_ms, figure.max_ms
                    );
                    figures.cold_start.push(figure);
                }
                Err(e) => note_skip(&format!("cold start ({label})"), &e.to_string()),
            }
            match start_large(label, emulate, &bin).await {
                Ok(setup) => large.push(setup),
                Err(e) => note_skip(&format!("memory while a large response streams ({label})"), &e.to_string()),
            }
        }
        // The large streams take turns, ours then the official runtime's, so that a busy moment of
        // the machine falls on both rather than on one runtime's whole figure.
        for _ in 0..large_rounds {
            for setup in large.iter_mut().filter(|s| !s.failed) {
                if let Err(e) = stream_large(setup).await {
                    note_skip(&format!("memory while a large response streams ({})", setup.label), &e.to_string());
                    setup.failed = true;
                }
            }
        }
        for mut setup in large {
            let label = setup.label;
            if setup.failed {
                stop(&mut setup.emulator, Some(setup.runtime_pid)).await;
                continue;
            }
            match finish_large(setup, &mut figures).await {
                Ok(()) => {
                    if let Some(s) = figures.streams.last() {
                        println!(
                            "{LARGE_MB} MB through {label}: median {:.3} s ({:.0} MB/s) of {} runs {:.3?}",
                            s.seconds,
                            f64::from(LARGE_MB) / s.seconds,
                            s.runs.len(),
                            s.runs
                        );
                    }
                    for m in figures.memory.iter().rev().take(2) {
                        println!(
                            "memory {} ({}): {:.1} MiB before, peak {:.1} MiB",
                            m.process,
                            m.setup,
                            m.before_kib as f64 / 1024.0,
                            m.peak_kib as f64 / 1024.0
                        );
                    }
                }
                Err(e) => note_skip(&format!("memory while a large response streams ({label})"), &e.to_string()),
            }
        }
    });
    let out = target_dir().join("bench-process.json");
    match serde_json::to_string_pretty(&figures).map(|json| std::fs::write(&out, json)) {
        Ok(Ok(())) => println!("whole-process figures written to {}", out.display()),
        other => eprintln!("could not write {}: {other:?}", out.display()),
    }
}
