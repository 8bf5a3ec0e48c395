//! End-to-end criterion benchmarks: TTFB (function URL, InvokeWithResponseStream and the API
//! Gateway REST API), per-chunk latency, throughput and the runtime's own cost, each next to the
//! floor and the peers.
//!
//! Every setup starts once and serves all iterations (invocations are cheap, start-up is not what
//! is measured here; `benches/process.rs` measures cold start). Group and function names follow
//! the convention in `lambda_stream_bench::report`: group = figure and path, function =
//! `<subject>/<case>`. Baselines that cannot run are skipped with a printed reason.
//!
//! The TTFB and per-chunk figures run twice: quiet, then contended (group name suffixed
//! `_contended`) with a [`Hog`] thread busy on every core, floor and in-process stack only, so the
//! report has both columns from one run. `LAMBDA_STREAM_BENCH_CONTENDED=0` leaves the second pass
//! out.
//!
//! `LAMBDA_STREAM_BENCH_MODE=short` (set by `ci/bench.sh short`) leaves out the 200 MB criterion
//! case, which would take most of the CI budget; `benches/process.rs` still streams 199 MB through
//! processes, three times per runtime.

use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_lambda::config::{Credentials, Region, StalledStreamProtectionConfig};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvokeWithResponseStreamResponseEvent;
use criterion::{Criterion, Throughput};
use http::StatusCode;
use hyper::body::Incoming;
use lambda_stream_bench::client::{BoxError, HttpClient, drain, fetch_exactly, http_client, post, read_bytes, ttfb};
use lambda_stream_bench::floor::Floor;
use lambda_stream_bench::hog::Hog;
use lambda_stream_bench::in_process::{FUNCTION, InProcess, spawn_runtime};
use lambda_stream_bench::peers::{CargoLambda, OFFICIAL, OURS, note_skip, release_bin, spawn_function};
use lambda_stream_bench::sink::{RawRuntime, Sink};
use lambda_stream_bench::{ChunkCommand, ChunkSlot, Directive, pattern};
use lambda_stream_emulator::{BootstrapCommand, Emulator, FunctionConfig, Supervisor, SupervisorConfig};
use tokio::runtime::Runtime as Tokio;
use tokio::sync::{mpsc, oneshot};

/// The example scenario that answers at once with a small JSON body: the peers' "handler writing
/// at once".
const AT_ONCE: &str = "scenario_bad-request";
const AT_ONCE_QUERY: &str = "/?scenario=bad-request";
const AT_ONCE_EVENT: &str = r#"{"scenario":"bad-request"}"#;
/// The status `bad-request` answers with, on purpose: the one case where a 400 is the answer measured.
const AT_ONCE_STATUS: StatusCode = StatusCode::BAD_REQUEST;

/// The function-URL TTFB case of the process setups: the example's `large` scenario at 1 MB, whose
/// first 64 KiB write goes out at once. Both runtimes stream it, so it runs under cargo-lambda too
/// (`bad-request` is a buffered answer with a prelude from our runtime, which cargo-lambda answers
/// with a 500); 1 MB keeps the rest of the body, read outside the measured time, short.
const STREAMED_AT_ONCE: &str = "scenario_large_1MB";
const STREAMED_AT_ONCE_QUERY: &str = "/?scenario=large&size_mb=1";

/// A binary of ours or the peer's, supervised by our emulator as a child process.
struct Emulated {
    subject: &'static str,
    emulator: Emulator,
    supervisor: Supervisor,
}

/// A binary under cargo-lambda's emulator.
struct UnderCargoLambda {
    subject: &'static str,
    cargo_lambda: CargoLambda,
    _function: tokio::process::Child,
}

struct Setups {
    client: HttpClient,
    floor: Floor,
    ours: InProcess,
    emulated: Vec<Emulated>,
    cargo_lambda: Vec<UnderCargoLambda>,
}

fn binaries() -> Vec<(&'static str, PathBuf)> {
    let mut found = Vec::new();
    for (subject, bin) in [("lambda-stream-process", OURS), ("official-process", OFFICIAL)] {
        match release_bin(bin) {
            Ok(path) => found.push((subject, path)),
            Err(reason) => note_skip(&format!("{subject} (all figures)"), &reason),
        }
    }
    found
}

impl Setups {
    async fn start() -> Result<Self, BoxError> {
        let client = http_client();
        let floor = Floor::start().await?;
        let ours = InProcess::start().await?;
        let mut emulated = Vec::new();
        let mut cargo_lambda = Vec::new();
        for (subject, path) in binaries() {
            let emulator = Emulator::builder()
                .function(FunctionConfig::new(FUNCTION).timeout(Duration::from_secs(900)))
                .build()
                .await?;
            let supervisor = Supervisor::start(
                &emulator,
                SupervisorConfig::new(BootstrapCommand::new(&path).env("RUST_LOG", "warn")),
            )
            .await?;
            let setup = Emulated { subject, emulator, supervisor };
            // The first call waits for the process to start; later ones are what is measured.
            ttfb(&client, &format!("{}{AT_ONCE_QUERY}", setup.emulator.url()), AT_ONCE_STATUS).await?;
            emulated.push(setup);

            let cl_subject = if subject.starts_with("official") {
                "cargo-lambda+official-process"
            } else {
                "cargo-lambda+lambda-stream-process"
            };
            match start_under_cargo_lambda(&client, cl_subject, &path).await {
                Ok(setup) => cargo_lambda.push(setup),
                Err(reason) => note_skip(&format!("{cl_subject} (function URL figures)"), &reason),
            }
        }
        note_skip(
            "cargo-lambda (InvokeWithResponseStream figures)",
            "not a streaming peer on this path: cargo-lambda serves IWRS on /2015-03-31/... instead of \
             /2021-11-15/... (so SDKs miss it) and collects all frames before answering (spec section 2, \
             cargo-lambda eventstream.rs)",
        );
        Ok(Self { client, floor, ours, emulated, cargo_lambda })
    }

    async fn shutdown(self) {
        for e in self.emulated {
            e.supervisor.shutdown().await;
            e.emulator.shutdown().await;
        }
        for c in self.cargo_lambda {
            c.cargo_lambda.shutdown().await;
        }
        self.ours.shutdown().await;
        drop(self.floor);
    }
}

async fn start_under_cargo_lambda(
    client: &HttpClient,
    subject: &'static str,
    bin: &std::path::Path,
) -> Result<UnderCargoLambda, String> {
    let cargo_lambda = CargoLambda::start().await?;
    let function = spawn_function(bin, &cargo_lambda.runtime_api(), lambda_stream_bench::peers::CARGO_LAMBDA_FUNCTION)
        .map_err(|e| format!("{} did not start: {e}", bin.display()))?;
    let mut setup = UnderCargoLambda { subject, cargo_lambda, _function: function };
    let probe = format!("{}{STREAMED_AT_ONCE_QUERY}", setup.cargo_lambda.url());
    match tokio::time::timeout(Duration::from_secs(30), ttfb(client, &probe, StatusCode::OK)).await {
        Ok(Ok(_)) => Ok(setup),
        Ok(Err(e)) => Err(format!("the first call through cargo-lambda ({STREAMED_AT_ONCE_QUERY}) failed: {e}")),
        Err(_) => {
            let exited = setup._function.try_wait().ok().flatten();
            Err(format!("the first call through cargo-lambda did not answer within 30 s (function exited: {exited:?})"))
        }
    }
}

/// Runs `iters` calls of `one` and adds up the durations each reports.
fn timed<F, Fut>(rt: &Tokio, iters: u64, mut one: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Duration, BoxError>>,
{
    rt.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            total += one().await.unwrap_or_else(|e| panic!("benchmark call failed: {e}"));
        }
        total
    })
}

/// The quiet figures, or the contended ones (group name + [`CONTENDED`], a [`Hog`] running, the
/// floor and our in-process stack only: the targets are ratios to the floor).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Load {
    Quiet,
    Contended,
}

/// Suffix of the contended figures' group names (`ttfb_function_url_contended`).
const CONTENDED: &str = "_contended";

impl Load {
    fn group(self, name: &str) -> String {
        match self {
            Load::Quiet => name.to_owned(),
            Load::Contended => format!("{name}{CONTENDED}"),
        }
    }
}

fn ttfb_function_url(c: &mut Criterion, rt: &Tokio, s: &Setups, load: Load) {
    let mut group = c.benchmark_group(load.group("ttfb_function_url"));
    let case = "handler_writes_16B_at_once";
    let path = Directive::Once(16).path();
    for (subject, base) in [("floor", s.floor.url()), ("lambda-stream", s.ours.url())] {
        let url = format!("{base}{path}");
        group.bench_function(format!("{subject}/{case}"), |b| {
            b.iter_custom(|n| timed(rt, n, || ttfb(&s.client, &url, StatusCode::OK)))
        });
    }
    let processes = s.emulated.iter().map(|e| (e.subject, e.emulator.url()));
    let cargo_lambda = s.cargo_lambda.iter().map(|c| (c.subject, c.cargo_lambda.url()));
    let peers = if load == Load::Quiet { processes.chain(cargo_lambda).collect() } else { Vec::new() };
    for (subject, base) in peers {
        let url = format!("{base}{STREAMED_AT_ONCE_QUERY}");
        group.bench_function(format!("{subject}/{STREAMED_AT_ONCE}"), |b| {
            b.iter_custom(|n| timed(rt, n, || ttfb(&s.client, &url, StatusCode::OK)))
        });
    }
    group.finish();
}

/// TTFB through the emulator's API Gateway REST API (payload 1.0 event, prelude decoded, API
/// Gateway's headers) next to the floor's function URL-shaped relay of the same 16 bytes. API
/// Gateway takes only answers that open with the prelude, so here the handler writes the prelude,
/// then the 16 bytes: two writes where the function URL case has one, and the first body byte
/// comes with the second.
fn ttfb_api_gateway(c: &mut Criterion, rt: &Tokio, s: &Setups) {
    let mut group = c.benchmark_group("ttfb_api_gateway");
    let case = "handler_writes_16B_at_once";
    let path = Directive::Once(16).path();
    for (subject, base) in [("floor", s.floor.url()), ("lambda-stream", s.ours.api_gateway_url())] {
        let url = format!("{base}{path}");
        group.bench_function(format!("{subject}/{case}"), |b| {
            b.iter_custom(|n| timed(rt, n, || ttfb(&s.client, &url, StatusCode::OK)))
        });
    }
    group.finish();
}

fn sdk_client(endpoint: &str) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .endpoint_url(endpoint)
        // A benchmark stream never stalls; the protection's timers are not what is measured.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

/// Request sent -> first PayloadChunk decoded by aws-sdk-lambda; the rest is read outside the
/// measured time.
async fn iwrs_ttfb(client: &aws_sdk_lambda::Client, payload: &str) -> Result<Duration, BoxError> {
    let start = Instant::now();
    let mut output = client
        .invoke_with_response_stream()
        .function_name(FUNCTION)
        .payload(Blob::new(payload.as_bytes()))
        .send()
        .await?;
    let mut elapsed = None;
    while let Some(event) = output.event_stream.recv().await? {
        if let InvokeWithResponseStreamResponseEvent::InvokeComplete(done) = &event
            && let Some(code) = done.error_code()
        {
            return Err(format!("the invocation failed: InvokeComplete ErrorCode {code}").into());
        }
        if elapsed.is_none()
            && let InvokeWithResponseStreamResponseEvent::PayloadChunk(chunk) = event
            && chunk.payload().is_some_and(|p| !p.as_ref().is_empty())
        {
            elapsed = Some(start.elapsed());
        }
    }
    elapsed.ok_or_else(|| "the stream ended without a PayloadChunk".into())
}

fn ttfb_iwrs(c: &mut Criterion, rt: &Tokio, s: &Setups, load: Load) {
    let mut group = c.benchmark_group(load.group("ttfb_iwrs"));
    let case = "handler_writes_16B_at_once";
    let path = Directive::Once(16).path();
    for (subject, base) in [("floor", s.floor.url()), ("lambda-stream", s.ours.url())] {
        let client = rt.block_on(async { sdk_client(&base) });
        group.bench_function(format!("{subject}/{case}"), |b| {
            b.iter_custom(|n| timed(rt, n, || iwrs_ttfb(&client, &path)))
        });
    }
    for e in s.emulated.iter().filter(|_| load == Load::Quiet) {
        let client = rt.block_on(async { sdk_client(&e.emulator.url()) });
        group.bench_function(format!("{}/{AT_ONCE}", e.subject), |b| {
            b.iter_custom(|n| timed(rt, n, || iwrs_ttfb(&client, AT_ONCE_EVENT)))
        });
    }
    group.finish();
}

/// One open `/chunks` response: the bench hands chunks to the function and reads them back.
struct ChunkSession {
    commands: mpsc::Sender<ChunkCommand>,
    body: Incoming,
    sent: u64,
}

/// Bytes one per-chunk session carries at most: well under Lambda's 200 MB streamed-response cap,
/// which the emulator enforces.
const SESSION_BYTES: u64 = 100_000_000;

impl ChunkSession {
    async fn open(client: &HttpClient, base: &str, slot: &ChunkSlot) -> Result<Self, BoxError> {
        let (commands, receiver) = mpsc::channel(1);
        *slot.lock().unwrap() = Some(receiver);
        let url = format!("{base}{}", Directive::Chunks.path());
        // The response head may only come with the first body byte, so a one-byte primer goes out
        // while the request waits for it.
        let primer = async {
            let (written, _) = oneshot::channel();
            commands.send(ChunkCommand { bytes: pattern(1), written }).await
        };
        let (body, primed) = tokio::join!(post(client, &url, StatusCode::OK), primer);
        primed.map_err(|_| "the function did not take the chunk session")?;
        let mut session = Self { commands, body: body?, sent: 1 };
        read_bytes(&mut session.body, 1).await?;
        Ok(session)
    }

    /// `write()` returned -> the client holds the bytes.
    async fn one(&mut self, bytes: &bytes::Bytes) -> Result<Duration, BoxError> {
        let (written, returned) = oneshot::channel();
        self.commands.send(ChunkCommand { bytes: bytes.clone(), written }).await.map_err(|_| "the session ended")?;
        let arrived = read_bytes(&mut self.body, bytes.len()).await?;
        self.sent += bytes.len() as u64;
        let returned = returned.await?;
        // The client can hold the bytes before the writer's task notes that write() returned;
        // that counts as no latency rather than a negative one.
        Ok(arrived.saturating_duration_since(returned))
    }

    async fn close(mut self) -> Result<(), BoxError> {
        drop(self.commands);
        drain(&mut self.body).await?;
        Ok(())
    }
}

fn chunk_latency(c: &mut Criterion, rt: &Tokio, s: &Setups, load: Load) {
    let mut group = c.benchmark_group(load.group("chunk_latency_function_url"));
    for (label, size) in [("16B", 16), ("1KiB", 1024), ("64KiB", 64 * 1024)] {
        let bytes = pattern(size);
        for (subject, base, slot) in
            [("floor", s.floor.url(), s.floor.chunk_slot()), ("lambda-stream", s.ours.url(), s.ours.chunk_slot())]
        {
            let session = Cell::new(None::<ChunkSession>);
            group.bench_function(format!("{subject}/write_{label}"), |b| {
                b.iter_custom(|n| {
                    rt.block_on(async {
                        // Taken out for the awaits below, put back for the next call.
                        let mut guard = session.take();
                        let mut total = Duration::ZERO;
                        for _ in 0..n {
                            // A session ends before the 200 MB streamed-response cap would cut it
                            // (64 KiB writes reach it within seconds); reopening is not timed.
                            if guard.as_ref().is_none_or(|s| s.sent + bytes.len() as u64 > SESSION_BYTES) {
                                if let Some(old) = guard.take() {
                                    old.close().await.expect("the session closes");
                                }
                                guard =
                                    Some(ChunkSession::open(&s.client, &base, &slot).await.expect("a chunk session"));
                            }
                            total += guard.as_mut().expect("opened above").one(&bytes).await.expect("a chunk");
                        }
                        session.set(guard);
                        total
                    })
                })
            });
            if let Some(session) = session.into_inner() {
                rt.block_on(session.close()).expect("the session closes");
            }
        }
    }
    group.finish();
    if load == Load::Contended {
        return;
    }
    note_skip(
        "per-chunk latency of the peers (official runtime, cargo-lambda)",
        "needs a handler that writes on the bench's command; the example binaries have none, so it is \
         measured for lambda-stream in-process against the floor only",
    );
}

fn throughput(c: &mut Criterion, rt: &Tokio, s: &Setups, short: bool) {
    let mut group = c.benchmark_group("throughput_function_url");
    group.sample_size(10);
    let mut sizes = vec![("64MiB", 64_u64 << 20)];
    if short {
        note_skip(
            "throughput_function_url 200MB (criterion)",
            "short mode (CI) leaves the 200 MB criterion case out for time; benches/process.rs streams 199 MB through processes three times per runtime, in turns",
        );
    } else {
        sizes.push(("200MB", 200_000_000));
    }
    for (label, total) in sizes {
        group.throughput(Throughput::Bytes(total));
        let path = Directive::Bytes(total).path();
        for (subject, base) in [("floor", s.floor.url()), ("lambda-stream", s.ours.url())] {
            let url = format!("{base}{path}");
            group.bench_function(format!("{subject}/{label}_in_64KiB_writes"), |b| {
                b.iter_custom(|n| timed(rt, n, || fetch_exactly(&s.client, &url, total)))
            });
        }
    }
    // The examples' `large` scenario: 64 MB (10^6) in 64 KiB writes, through every process setup.
    group.throughput(Throughput::Bytes(64_000_000));
    let processes = s.emulated.iter().map(|e| (e.subject, e.emulator.url()));
    let cargo_lambda = s.cargo_lambda.iter().map(|c| (c.subject, c.cargo_lambda.url()));
    for (subject, base) in processes.chain(cargo_lambda) {
        let url = format!("{base}/?scenario=large&size_mb=64");
        group.bench_function(format!("{subject}/scenario_large_64MB"), |b| {
            b.iter_custom(|n| timed(rt, n, || fetch_exactly(&s.client, &url, 64_000_000)))
        });
    }
    group.finish();
}

fn runtime_cost(c: &mut Criterion, rt: &Tokio) {
    let mut group = c.benchmark_group("runtime_cost");
    let cases = [
        ("invocation_16B_at_once", Directive::Once(16)),
        ("invocation_1MiB_in_64KiB_writes", Directive::Bytes(1 << 20)),
    ];
    for subject in ["floor", "lambda-stream"] {
        let sink = rt.block_on(Sink::start()).expect("a sink");
        // The floor is a plain hyper client making the same two requests; ours is the real loop.
        let (raw, ours) = if subject == "floor" {
            (Some(RawRuntime::spawn(sink.endpoint())), None)
        } else {
            (None, Some(spawn_runtime(sink.endpoint(), ChunkSlot::default())))
        };
        for (case, directive) in cases {
            let event = directive.path();
            group.bench_function(format!("{subject}/{case}"), |b| {
                b.iter_custom(|n| {
                    timed(rt, n, || async {
                        let start = Instant::now();
                        sink.invoke(event.clone()).await?;
                        Ok(start.elapsed())
                    })
                })
            });
        }
        drop(raw);
        if let Some((stop, thread)) = ours {
            // The loop is waiting on /next, where shutdown takes effect.
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
    for (subject, bin) in binaries() {
        let sink = rt.block_on(Sink::start()).expect("a sink");
        let Ok(child) = rt.block_on(async { spawn_function(&bin, &sink.endpoint(), FUNCTION) }) else {
            note_skip(&format!("runtime_cost/{subject}"), &format!("{} did not start", bin.display()));
            continue;
        };
        group.bench_function(format!("{subject}/{AT_ONCE}"), |b| {
            b.iter_custom(|n| {
                timed(rt, n, || async {
                    let start = Instant::now();
                    sink.invoke(AT_ONCE_EVENT).await?;
                    Ok(start.elapsed())
                })
            })
        });
        // Killing a child (kill_on_drop) needs the runtime's context.
        let _guard = rt.enter();
        drop(child);
    }
    group.finish();
}

fn main() {
    let short = std::env::var("LAMBDA_STREAM_BENCH_MODE").is_ok_and(|m| m == "short");
    let mut c = Criterion::default().configure_from_args();
    // Two workers for the emulator, the relay and the clients; each runtime loop has its own thread.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let setups = match rt.block_on(Setups::start()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("the benchmark setups did not start: {e}");
            std::process::exit(1);
        }
    };
    ttfb_function_url(&mut c, &rt, &setups, Load::Quiet);
    ttfb_iwrs(&mut c, &rt, &setups, Load::Quiet);
    ttfb_api_gateway(&mut c, &rt, &setups);
    chunk_latency(&mut c, &rt, &setups, Load::Quiet);
    throughput(&mut c, &rt, &setups, short);
    runtime_cost(&mut c, &rt);
    if std::env::var("LAMBDA_STREAM_BENCH_CONTENDED").is_ok_and(|v| v == "0") {
        note_skip("contended figures", "LAMBDA_STREAM_BENCH_CONTENDED=0 left them out");
    } else {
        // Side by side with the quiet figures of the same run: same setups, a busy thread per core.
        let hog = Hog::on_every_core();
        println!("contended figures: {} busy threads running", hog.threads());
        ttfb_function_url(&mut c, &rt, &setups, Load::Contended);
        ttfb_iwrs(&mut c, &rt, &setups, Load::Contended);
        chunk_latency(&mut c, &rt, &setups, Load::Contended);
        drop(hog);
    }
    rt.block_on(setups.shutdown());
    c.final_summary();
}
