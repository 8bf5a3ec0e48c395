//! The benchmark report (`target/bench-report.md`; [`crate::html`] draws the same as plots): medians from criterion's
//! `target/criterion/**/new/estimates.json`, their ratios to the floor and to the peers, the
//! whole-process figures from `benches/process.rs`, what was not measured and why, and the
//! issue's targets marked met, missed or not measured.
//!
//! Naming convention the benches follow so that this can pair rows without a table of names:
//! criterion group = the figure and the path (`ttfb_function_url`, `ttfb_iwrs`, `ttfb_api_gateway`,
//! `chunk_latency_function_url`, `throughput_function_url`, `runtime_cost`); function id =
//! `<subject>/<case>`. Subjects: [`FLOOR`]; [`OURS`] (in-process); `lambda-stream-process` and
//! `official-process` (the example binaries under our emulator); `cargo-lambda+<subject>` (the
//! same binary under cargo-lambda's emulator). A row is compared with the floor of the same case
//! (else the group's floor nearest in size), with the official runtime (`lambda-stream` ->
//! `official` in its subject) and with cargo-lambda's emulator (`cargo-lambda+` prefix), same case.
//!
//! Targets are judged on unrounded numbers: each [`Verdict`] carries its [`Figure`]s as `f64`
//! with their [`Unit`], and only the report prints them (a 1.504x ratio misses a 1.5x target even
//! though it prints as 1.50x). "Ahead of a peer" needs a lead of [`AHEAD_MARGIN`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::concurrency::{ConcurrencyFigure, FUNCTION_URL, IWRS};

/// The subject of the floor rows.
pub const FLOOR: &str = "floor";
/// The subject of our in-process rows.
pub const OURS: &str = "lambda-stream";
/// The subject of our runtime binary under our emulator.
pub const OURS_PROCESS: &str = "lambda-stream-process";

/// One criterion result.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Criterion group (figure and path).
    pub group: String,
    /// Who was measured.
    pub subject: String,
    /// With which parameters.
    pub case: String,
    /// Median time per iteration, nanoseconds.
    pub median_ns: f64,
    /// Bytes per iteration when the group measures throughput.
    pub bytes: Option<u64>,
    /// Time per iteration of each criterion sample, nanoseconds (`new/sample.json`; empty when
    /// absent): the distribution the HTML report plots.
    pub samples_ns: Vec<f64>,
}

impl Measurement {
    /// MB/s (10^6 bytes per second) for throughput rows.
    pub fn mb_per_s(&self) -> Option<f64> {
        self.bytes.map(|b| b as f64 / 1e6 / (self.median_ns / 1e9))
    }
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    throughput: Option<BTreeMap<String, u64>>,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct EstimatesJson {
    median: Estimate,
}

/// Reads one result from a criterion `new/` directory's two files.
pub fn parse_measurement(benchmark_json: &str, estimates_json: &str) -> Result<Measurement, String> {
    let bench: BenchmarkJson = serde_json::from_str(benchmark_json).map_err(|e| format!("benchmark.json: {e}"))?;
    let estimates: EstimatesJson = serde_json::from_str(estimates_json).map_err(|e| format!("estimates.json: {e}"))?;
    let function = bench.function_id.unwrap_or_default();
    let (subject, case) = function.split_once('/').unwrap_or((function.as_str(), ""));
    Ok(Measurement {
        group: bench.group_id,
        subject: subject.to_owned(),
        case: case.to_owned(),
        median_ns: estimates.median.point_estimate,
        bytes: bench.throughput.and_then(|t| t.get("Bytes").or_else(|| t.get("BytesDecimal")).copied()),
        samples_ns: Vec::new(),
    })
}

#[derive(Deserialize)]
struct SampleJson {
    iters: Vec<f64>,
    times: Vec<f64>,
}

/// Time per iteration of each sample in a criterion `new/sample.json` (total time / iterations).
pub fn parse_samples(sample_json: &str) -> Result<Vec<f64>, String> {
    let sample: SampleJson = serde_json::from_str(sample_json).map_err(|e| format!("sample.json: {e}"))?;
    Ok(sample.iters.iter().zip(&sample.times).filter(|(i, _)| **i > 0.0).map(|(i, t)| t / i).collect())
}

/// Every result under `criterion_dir` written at or after `since` (older ones are from earlier
/// runs and would pass a skipped case off as measured).
pub fn read_criterion(criterion_dir: &Path, since: Option<SystemTime>) -> Vec<Measurement> {
    let mut found = Vec::new();
    let mut stack = vec![criterion_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                let estimates = path.join("estimates.json");
                let fresh = std::fs::metadata(&estimates)
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| since.is_none_or(|since| modified >= since));
                if !fresh {
                    continue;
                }
                if let (Ok(b), Ok(e)) =
                    (std::fs::read_to_string(path.join("benchmark.json")), std::fs::read_to_string(&estimates))
                    && let Ok(mut m) = parse_measurement(&b, &e)
                {
                    m.samples_ns = std::fs::read_to_string(path.join("sample.json"))
                        .ok()
                        .and_then(|s| parse_samples(&s).ok())
                        .unwrap_or_default();
                    found.push(m);
                }
            } else {
                stack.push(path);
            }
        }
    }
    found.sort_by(|a, b| (&a.group, &a.case, &a.subject).cmp(&(&b.group, &b.case, &b.subject)));
    found
}

/// Peak memory of one process while a large response streamed through it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryFigure {
    /// Which process (`lambda-stream emulate`, the runtime binary).
    pub process: String,
    /// The runtime of the setup, one of [`MEMORY_RUNTIMES`] (empty in files written before it).
    #[serde(default)]
    pub runtime: String,
    /// Which setup it was part of.
    pub setup: String,
    /// VmRSS before the large response, KiB.
    pub before_kib: u64,
    /// VmHWM (peak RSS) after it, KiB.
    pub peak_kib: u64,
}

/// Spawn -> first `GET /next`, over several starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStartFigure {
    /// Which runtime binary.
    pub runtime: String,
    /// Starts measured.
    pub runs: usize,
    /// Median, milliseconds.
    pub median_ms: f64,
    /// Fastest, milliseconds.
    pub min_ms: f64,
    /// Slowest, milliseconds.
    pub max_ms: f64,
}

/// A whole large response through processes, timed once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamFigure {
    /// Which setup.
    pub setup: String,
    /// Bytes received.
    pub bytes: u64,
    /// Seconds from request to last byte: the median of [`runs`](Self::runs).
    pub seconds: f64,
    /// Seconds of each stream, in the order they ran (the runtimes' streams alternate, so that a
    /// busy moment of the machine falls on both); empty in files from before they were kept.
    #[serde(default)]
    pub runs: Vec<f64>,
}

/// The size of a release bootstrap, as deployed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeFigure {
    /// Which runtime (the same labels as the cold-start figures).
    pub runtime: String,
    /// The binary's file name.
    pub binary: String,
    /// Its size in bytes, as built (symbols kept, the workspace's release profile).
    pub bytes: u64,
}

/// What `benches/process.rs` writes to `target/bench-process.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessFigures {
    /// Peak memory per process.
    pub memory: Vec<MemoryFigure>,
    /// Cold starts per runtime.
    pub cold_start: Vec<ColdStartFigure>,
    /// The large responses the memory figures were taken during.
    pub streams: Vec<StreamFigure>,
    /// Release bootstrap sizes (absent from files of older runs).
    #[serde(default)]
    pub sizes: Vec<SizeFigure>,
}

/// The label of our runtime in the whole-process figures.
pub const OURS_LABEL: &str = "lambda-stream";
/// The label of the official runtime in the whole-process figures.
pub const OFFICIAL_LABEL: &str = "official lambda_runtime";

/// How a [`Figure`]'s value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A ratio to the floor (`1.23x`).
    Ratio,
    /// A time ratio to a peer: below 1 is ahead.
    TimeRatio,
    /// A share of a peer's MB/s: above 1 is ahead.
    RateRatio,
    /// Nanoseconds, printed in a readable unit.
    Nanos,
    /// Mebibytes.
    Mib,
    /// MB/s (10^6 bytes per second).
    MbPerS,
}

/// One figure a target is judged by. The value stays a number until the report prints it, so a
/// verdict is never judged on rounded text.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// What was measured (a case, or a subject, group and case, or a process and setup).
    pub label: String,
    /// The value, in `unit`.
    pub value: f64,
    /// How to read it.
    pub unit: Unit,
}

impl Figure {
    fn new(label: impl Into<String>, value: f64, unit: Unit) -> Self {
        Self { label: label.into(), value, unit }
    }
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.value;
        match self.unit {
            Unit::Ratio => write!(f, "{} {v:.2}x", self.label),
            Unit::TimeRatio => write!(f, "{} {v:.2}x (time ratio, below 1 is ahead)", self.label),
            Unit::RateRatio => write!(f, "{} {v:.2}x (MB/s ratio, above 1 is ahead)", self.label),
            Unit::Nanos => write!(f, "{} {}", self.label, human_time(v)),
            Unit::Mib => write!(f, "{} {v:.1} MiB", self.label),
            Unit::MbPerS => write!(f, "{} {v:.0} MB/s", self.label),
        }
    }
}

/// A target of the issue, judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Met, with the figures that show it.
    Met(Vec<Figure>),
    /// Missed, with the figures that show it.
    Missed(Vec<Figure>),
    /// No figure to judge it by, and why.
    NotMeasured(String),
}

impl Verdict {
    /// The verdict's word and its figures (or reason) as the report prints them.
    pub fn text(&self) -> (&'static str, String) {
        let join = |figures: &[Figure]| figures.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        match self {
            Verdict::Met(figures) => ("met", join(figures)),
            Verdict::Missed(figures) => ("**MISSED**", join(figures)),
            Verdict::NotMeasured(why) => ("not measured", why.clone()),
        }
    }
}

/// The memory target: each process at most this peak while 200 MB stream.
pub const MEMORY_TARGET_KIB: u64 = 32 * 1024;
/// The TTFB target: at most this many times the floor's time to first byte, quiet and contended.
pub const TTFB_MAX_RATIO: f64 = 1.2;
/// The per-chunk latency target: at most this many times the floor's, for every write size.
pub const CHUNK_MAX_RATIO: f64 = 1.2;
/// The in-process throughput target for the 64 MiB stream, MB/s (1 GB/s).
pub const IN_PROCESS_MIN_MB_S: f64 = 1000.0;
/// The concurrency target: p99 TTFB at N = 64 at most this many times p50 TTFB at N = 1.
pub const CONCURRENCY_MAX_RATIO: f64 = 5.0;
/// Suffix of the contended groups (`ttfb_function_url_contended`): the same figure measured with
/// a busy thread on every core.
pub const CONTENDED: &str = "_contended";
/// A figure compared with the committed baseline is flagged when it is worse by more than this
/// share (25%).
pub const BASELINE_TOLERANCE: f64 = 0.25;
/// How much better than a peer counts as ahead: 5%. Criterion's 10-sample medians of whole
/// processes on a busy 2-core machine move by a few percent from run to run, so a smaller lead
/// is not a lead.
pub const AHEAD_MARGIN: f64 = 0.05;

fn is_throughput(m: &Measurement) -> bool {
    m.bytes.is_some()
}

/// The floor row a measurement is compared with: same group and case, else the group's floor
/// nearest in bytes per iteration (or the only one).
pub fn floor_for<'a>(all: &'a [Measurement], m: &Measurement) -> Option<&'a Measurement> {
    let floors: Vec<&Measurement> = all.iter().filter(|f| f.group == m.group && f.subject == FLOOR).collect();
    floors
        .iter()
        .find(|f| f.case == m.case)
        .copied()
        .or_else(|| floors.iter().min_by_key(|f| f.bytes.unwrap_or(0).abs_diff(m.bytes.unwrap_or(0))).copied())
}

/// The row of `subject` with the same group and case.
pub fn same_case<'a>(all: &'a [Measurement], m: &Measurement, subject: &str) -> Option<&'a Measurement> {
    all.iter().find(|o| o.group == m.group && o.case == m.case && o.subject == subject)
}

/// How `m` compares with `reference`: time ratio for latency figures (below 1 is faster), share
/// of the reference's MB/s for throughput figures (above 1 is faster).
pub fn ratio(m: &Measurement, reference: &Measurement) -> f64 {
    if is_throughput(m) {
        m.mb_per_s().unwrap_or(0.0) / reference.mb_per_s().unwrap_or(f64::NAN)
    } else {
        m.median_ns / reference.median_ns
    }
}

/// Whether a peer comparison of `unit` is ahead by at least [`AHEAD_MARGIN`].
fn ahead(figure: &Figure) -> bool {
    match figure.unit {
        Unit::RateRatio => figure.value >= 1.0 + AHEAD_MARGIN,
        _ => figure.value <= 1.0 - AHEAD_MARGIN,
    }
}

/// A duration in ns, in a readable unit.
pub fn human_time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The official runtime's subject for one of ours (`lambda-stream-process` → `official-process`).
pub fn official_subject(subject: &str) -> Option<String> {
    subject.contains(OURS).then(|| subject.replacen(OURS, "official", 1)).filter(|s| s != subject)
}

/// cargo-lambda's subject for one of ours (`X-process` → `cargo-lambda+X-process`).
pub fn cargo_lambda_subject(subject: &str) -> Option<String> {
    (!subject.starts_with("cargo-lambda+") && subject != FLOOR && subject.ends_with("-process"))
        .then(|| format!("cargo-lambda+{subject}"))
}

/// What users would pick instead of us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// The official `lambda_runtime` crate, under our emulator.
    Official,
    /// cargo-lambda's emulator, with whichever binary ran under both.
    CargoLambda,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Official => "official runtime",
            Peer::CargoLambda => "cargo-lambda",
        }
    }

    fn target(self) -> String {
        let margin = AHEAD_MARGIN * 100.0;
        match self {
            Peer::Official => format!("ahead of the official runtime by >= {margin:.0}% (TTFB, throughput)"),
            Peer::CargoLambda => format!("ahead of cargo-lambda's emulator by >= {margin:.0}% (TTFB, throughput)"),
        }
    }

    /// The peer's row subject for one of ours.
    fn subject(self, ours: &str) -> Option<String> {
        match self {
            Peer::Official => official_subject(ours),
            Peer::CargoLambda => cargo_lambda_subject(ours),
        }
    }

    /// Our rows compared with the peer: against the official runtime our runtime binary under the
    /// same emulator; against cargo-lambda our emulator (ours may fail under cargo-lambda).
    fn compares(self, m: &Measurement) -> bool {
        let subject_ok = match self {
            Peer::Official => m.subject == OURS_PROCESS,
            Peer::CargoLambda => cargo_lambda_subject(&m.subject).is_some(),
        };
        subject_ok && (m.group.starts_with("ttfb") || m.group.starts_with("throughput"))
    }
}

/// Judges the issue's targets (issue 15's list, then the memory target of the first round).
pub fn verdicts(inputs: &Inputs) -> Vec<(String, Verdict)> {
    let all = inputs.measurements.as_slice();
    let process = inputs.process.as_ref();
    let mut out = Vec::new();
    let paths = [
        ("ttfb_function_url", "function URL", &["quiet", "contended"][..]),
        ("ttfb_iwrs", "InvokeWithResponseStream", &["quiet", "contended"][..]),
        // API Gateway's TTFB is measured quiet only.
        ("ttfb_api_gateway", "API Gateway", &["quiet"][..]),
    ];
    for (group, label, loads) in paths {
        for &load in loads {
            let name = format!("TTFB <= {TTFB_MAX_RATIO}x floor ({label}, {load})");
            let group = if load == "quiet" { group.to_owned() } else { format!("{group}{CONTENDED}") };
            let judged = judge_all(floor_ratios(all, &group), |f| f.value <= TTFB_MAX_RATIO, &no_rows(&group));
            out.push((name, judged));
        }
    }
    for load in ["quiet", "contended"] {
        let group = if load == "quiet" {
            "chunk_latency_function_url".to_owned()
        } else {
            format!("chunk_latency_function_url{CONTENDED}")
        };
        let name = format!("per-chunk latency <= {CHUNK_MAX_RATIO}x floor (16 B, 1 KiB, 64 KiB writes, {load})");
        out.push((name, judge_all(floor_ratios(all, &group), |f| f.value <= CHUNK_MAX_RATIO, &no_rows(&group))));
    }
    out.push(cold_start_verdict(process));
    out.push(size_verdict(process));
    out.push(process_throughput_verdict(all, process));
    out.push(in_process_throughput_verdict(all));
    out.extend([Peer::Official, Peer::CargoLambda].map(|peer| peer_verdict(all, peer)));
    out.extend(concurrency_verdicts(&inputs.concurrency));
    out.push(memory_verdict(process));
    out
}

fn no_rows(group: &str) -> String {
    format!("no in-process and floor pair in {group}")
}

/// Cold start (median spawn -> first `GET /next`) against the official runtime's.
fn cold_start_verdict(process: Option<&ProcessFigures>) -> (String, Verdict) {
    let name = "cold start <= the official runtime's (median spawn -> first GET /next)".to_owned();
    let figures = process.map(|p| p.cold_start.as_slice()).unwrap_or_default();
    let ours = figures.iter().find(|c| c.runtime == OURS_LABEL);
    let official = figures.iter().find(|c| c.runtime == OFFICIAL_LABEL);
    let verdict = match (ours, official) {
        (Some(o), Some(p)) => {
            let figure = Figure::new(
                format!("{:.2} ms / {:.2} ms", o.median_ms, p.median_ms),
                o.median_ms / p.median_ms,
                Unit::TimeRatio,
            );
            judge_all(vec![figure], |f| f.value <= 1.0, "")
        }
        _ => Verdict::NotMeasured("no cold-start pair (benches/process.rs did not measure both runtimes)".into()),
    };
    (name, verdict)
}

/// Release bootstrap size against the official runtime's, same example. The binaries are those
/// `ci/bench.sh` builds together with the benches, so cargo has unified their dependencies'
/// features with the benches' (both grow, by different amounts); the sizes as deployed, each
/// built on its own, are in docs/performance.md ("Size against the official runtime").
fn size_verdict(process: Option<&ProcessFigures>) -> (String, Verdict) {
    let name = "release bootstrap size <= the official runtime's (same example, bench build)".to_owned();
    let sizes = process.map(|p| p.sizes.as_slice()).unwrap_or_default();
    let ours = sizes.iter().find(|s| s.runtime == OURS_LABEL);
    let official = sizes.iter().find(|s| s.runtime == OFFICIAL_LABEL);
    let verdict = match (ours, official) {
        (Some(o), Some(p)) => {
            let figure =
                Figure::new(format!("{} B / {} B", o.bytes, p.bytes), o.bytes as f64 / p.bytes as f64, Unit::Ratio);
            judge_all(vec![figure], |f| f.value <= 1.0, "")
        }
        _ => Verdict::NotMeasured("no size pair (benches/process.rs found not both release binaries)".into()),
    };
    (name, verdict)
}

/// Streams through processes (64 MB criterion case, 199 MB whole-process stream): at least the
/// official runtime's MB/s.
fn process_throughput_verdict(all: &[Measurement], process: Option<&ProcessFigures>) -> (String, Verdict) {
    let name = "throughput through processes >= the official runtime's (64 MB, 199 MB)".to_owned();
    let mut figures: Vec<Figure> = all
        .iter()
        .filter(|m| m.subject == OURS_PROCESS && is_throughput(m))
        .filter_map(|m| {
            let other = official_subject(&m.subject).and_then(|s| same_case(all, m, &s))?;
            Some(Figure::new(format!("{} {}", m.group, m.case), ratio(m, other), Unit::RateRatio))
        })
        .collect();
    let streams = process.map(|p| p.streams.as_slice()).unwrap_or_default();
    let rate = |s: &StreamFigure| s.bytes as f64 / 1e6 / s.seconds;
    if let (Some(o), Some(p)) = (
        streams.iter().find(|s| s.setup.contains(&format!("+ {OURS_LABEL} "))),
        streams.iter().find(|s| s.setup.contains(OFFICIAL_LABEL)),
    ) {
        figures.push(Figure::new(format!("{} MB stream", o.bytes / 1_000_000), rate(o) / rate(p), Unit::RateRatio));
    }
    (name, judge_all(figures, |f| f.value >= 1.0, "no throughput pair of our runtime and the official one"))
}

/// The 64 MiB in-process stream: at least 1 GB/s.
fn in_process_throughput_verdict(all: &[Measurement]) -> (String, Verdict) {
    let name = format!("64 MiB in-process stream >= {IN_PROCESS_MIN_MB_S:.0} MB/s");
    let figures: Vec<Figure> = rows(all, "throughput_function_url", OURS)
        .filter(|m| m.case.starts_with("64MiB"))
        .filter_map(|m| m.mb_per_s().map(|r| Figure::new(&m.case, r, Unit::MbPerS)))
        .collect();
    (name, judge_all(figures, |f| f.value >= IN_PROCESS_MIN_MB_S, "no in-process 64 MiB row"))
}

/// p99 TTFB at N = 64 against p50 TTFB at N = 1, per path, for our runtime under our emulator,
/// judged; the floor's own ratio under the same load shown beside it (not judged): how much of the
/// tail the machine makes with no Lambda logic at all.
fn concurrency_verdicts(figures: &[ConcurrencyFigure]) -> Vec<(String, Verdict)> {
    [FUNCTION_URL, IWRS]
        .into_iter()
        .map(|path| {
            let name = format!("concurrency: p99 TTFB at N = 64 <= {CONCURRENCY_MAX_RATIO}x p50 at N = 1 ({path})");
            let tail = |subject: &str, label: &str| {
                let at =
                    |n: usize| figures.iter().find(|f| f.subject == subject && f.path == path && f.concurrency == n);
                at(1).zip(at(64)).map(|(one, many)| {
                    Figure::new(
                        format!("{label}{} / {}", human_time(many.p99_ttfb_ns), human_time(one.p50_ttfb_ns)),
                        many.p99_ttfb_ns / one.p50_ttfb_ns,
                        Unit::Ratio,
                    )
                })
            };
            let verdict = match tail(OURS_PROCESS, "") {
                Some(ours) => {
                    let met = ours.value <= CONCURRENCY_MAX_RATIO;
                    let shown: Vec<Figure> =
                        [Some(ours), tail(FLOOR, "the floor under the same load: ")].into_iter().flatten().collect();
                    if met { Verdict::Met(shown) } else { Verdict::Missed(shown) }
                }
                None => Verdict::NotMeasured("no N = 1 and N = 64 figures (benches/concurrency.rs)".into()),
            };
            (name, verdict)
        })
        .collect()
}

fn rows<'a>(all: &'a [Measurement], group: &str, subject: &str) -> impl Iterator<Item = &'a Measurement> {
    all.iter().filter(move |m| m.group == group && m.subject == subject)
}

/// Our in-process rows of `group` as ratios to their floor.
fn floor_ratios(all: &[Measurement], group: &str) -> Vec<Figure> {
    rows(all, group, OURS)
        .filter_map(|m| floor_for(all, m).map(|f| Figure::new(&m.case, ratio(m, f), Unit::Ratio)))
        .collect()
}

/// Ahead of a peer, by [`AHEAD_MARGIN`], in every TTFB and throughput case both ran.
fn peer_verdict(all: &[Measurement], peer: Peer) -> (String, Verdict) {
    let figures: Vec<Figure> = all
        .iter()
        .filter(|m| peer.compares(m))
        .filter_map(|m| {
            let other = peer.subject(&m.subject).and_then(|s| same_case(all, m, &s))?;
            let unit = if is_throughput(m) { Unit::RateRatio } else { Unit::TimeRatio };
            Some(Figure::new(format!("{} {} {}", m.subject, m.group, m.case), ratio(m, other), unit))
        })
        .collect();
    (peer.target(), judge_all(figures, ahead, &format!("no {} rows to compare with", peer.name())))
}

/// The runtimes whose setups the memory verdict needs, each as two figures (the emulator's and
/// the runtime's peak), as `benches/process.rs` labels them.
pub const MEMORY_RUNTIMES: [&str; 2] = [OURS_LABEL, OFFICIAL_LABEL];

/// The two processes of each setup, as [`MemoryFigure::process`] starts.
const MEMORY_PROCESSES: [&str; 2] = ["emulator", "runtime"];

/// Peak memory per process while the large response streamed. The target names every process of
/// every setup in [`MEMORY_RUNTIMES`]: a figure over the limit misses it; otherwise any figure
/// missing (a run that failed, a process not found) leaves it "not measured", never met on the
/// figures that happened to be taken.
fn memory_verdict(process: Option<&ProcessFigures>) -> (String, Verdict) {
    let name = "memory flat, <= 32 MiB per process while ~200 MB stream".to_owned();
    let memory = process.map(|p| p.memory.as_slice()).unwrap_or_default();
    if memory.is_empty() {
        return (name, Verdict::NotMeasured("no whole-process figures (benches/process.rs did not run)".into()));
    }
    let figures: Vec<Figure> = memory
        .iter()
        .map(|m| Figure::new(format!("{} ({})", m.process, m.setup), m.peak_kib as f64 / 1024.0, Unit::Mib))
        .collect();
    let limit_mib = MEMORY_TARGET_KIB as f64 / 1024.0;
    let missing: Vec<String> = MEMORY_RUNTIMES
        .iter()
        .flat_map(|runtime| MEMORY_PROCESSES.map(|p| (*runtime, p)))
        .filter(|(runtime, p)| !memory.iter().any(|m| m.runtime == *runtime && m.process.starts_with(p)))
        .map(|(runtime, p)| format!("{p} of the {runtime} setup"))
        .collect();
    let judged = judge_all(figures, |f| f.value <= limit_mib, "");
    match judged {
        Verdict::Met(_) if !missing.is_empty() => {
            (name, Verdict::NotMeasured(format!("no figure for: {}", missing.join(", "))))
        }
        other => (name, other),
    }
}

fn judge_all(figures: Vec<Figure>, ok: impl Fn(&Figure) -> bool, missing: &str) -> Verdict {
    if figures.is_empty() {
        Verdict::NotMeasured(missing.to_owned())
    } else if figures.iter().all(ok) {
        Verdict::Met(figures)
    } else {
        Verdict::Missed(figures)
    }
}

/// Everything the report is made from.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Criterion results of this run.
    pub measurements: Vec<Measurement>,
    /// Whole-process figures, if that program ran.
    pub process: Option<ProcessFigures>,
    /// `(case, reason)` of everything skipped.
    pub skipped: Vec<(String, String)>,
    /// Free-form lines about the run (mode, build time, machine).
    pub notes: Vec<String>,
    /// The concurrency figures (`benches/concurrency.rs`), if that program ran.
    pub concurrency: Vec<ConcurrencyFigure>,
    /// The committed baseline to compare with, if one was given.
    pub baseline: Option<Baseline>,
}

/// One ratio of a [`Baseline`], with the direction that is better.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BaselineRatio {
    /// The ratio.
    pub value: f64,
    /// True for MB/s shares (more is better), false for time, size and tail ratios.
    pub higher_is_better: bool,
    /// The ratio's spread within its run, `[lowest, highest]`, from the two sides' criterion
    /// samples ([`ratio_spread`]); absent for figures without samples (cold start, size,
    /// concurrency) and in baselines written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<(f64, f64)>,
}

impl BaselineRatio {
    /// A ratio with no samples behind it.
    fn point(value: f64, higher_is_better: bool) -> Self {
        Self { value, higher_is_better, spread: None }
    }
}

/// The first and third quartiles of `samples` (linear interpolation between the sorted samples);
/// `None` with fewer than four samples, too few to say where the middle half lies.
pub fn quartiles(samples: &[f64]) -> Option<(f64, f64)> {
    if samples.len() < 4 || samples.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let position = q * (sorted.len() - 1) as f64;
        let (below, above) = (position.floor() as usize, position.ceil() as usize);
        sorted[below] + (sorted[above] - sorted[below]) * (position - below as f64)
    };
    Some((at(0.25), at(0.75)))
}

/// How far [`ratio`]`(m, reference)` ranges within this run: the middle half of `m`'s samples
/// against the middle half of the reference's, combined the way that gives the lowest and the
/// highest ratio. Criterion's ten short-mode samples of one figure can spread by tens of percent
/// on a busy machine, and a ratio of two such figures spreads more; a change from the baseline
/// that stays inside both runs' spreads is not evidence of a regression (see [`Comparison`]).
pub fn ratio_spread(m: &Measurement, reference: &Measurement) -> Option<(f64, f64)> {
    let (m_low, m_high) = quartiles(&m.samples_ns)?;
    let (r_low, r_high) = quartiles(&reference.samples_ns)?;
    let spread = if is_throughput(m) {
        // MB/s share = (m bytes / m time) / (reference bytes / reference time).
        let bytes = m.bytes? as f64 / reference.bytes? as f64;
        (bytes * r_low / m_high, bytes * r_high / m_low)
    } else {
        (m_low / r_high, m_high / r_low)
    };
    (spread.0.is_finite() && spread.1.is_finite() && spread.0 > 0.0).then_some(spread)
}

/// The ratios of an earlier run, committed as `ci/bench-baseline.json` (`ci/bench.sh short
/// --update-baseline` rewrites it). Ratios, not times: they travel between machines better, and
/// they are what the targets are about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Where and when it was taken.
    pub note: String,
    /// Each ratio by name (see [`baseline_ratios`]).
    pub ratios: BTreeMap<String, BaselineRatio>,
}

/// Every ratio of this run a later run is compared with: each criterion row to its floor (same
/// case) and to its peers, cold start and bootstrap size to the official runtime's, and the
/// concurrency tail (p99 at N = 64 over p50 at N = 1) of each subject and path.
pub fn baseline_ratios(inputs: &Inputs) -> BTreeMap<String, BaselineRatio> {
    let all = inputs.measurements.as_slice();
    let mut out = BTreeMap::new();
    for m in all.iter().filter(|m| m.subject != FLOOR) {
        let higher_is_better = is_throughput(m);
        let mut put = |kind: &str, other: Option<&Measurement>| {
            if let Some(o) = other {
                let key = format!("{} x {kind}: {} {}", m.group, m.subject, m.case);
                out.insert(key, BaselineRatio { value: ratio(m, o), higher_is_better, spread: ratio_spread(m, o) });
            }
        };
        put("floor", floor_for(all, m).filter(|f| f.case == m.case));
        put("official", official_subject(&m.subject).and_then(|s| same_case(all, m, &s)));
        put("cargo-lambda", cargo_lambda_subject(&m.subject).and_then(|s| same_case(all, m, &s)));
    }
    if let Some(p) = &inputs.process {
        let cold = |label: &str| p.cold_start.iter().find(|c| c.runtime == label);
        if let (Some(o), Some(x)) = (cold(OURS_LABEL), cold(OFFICIAL_LABEL)) {
            let value = o.median_ms / x.median_ms;
            out.insert("cold start x official".into(), BaselineRatio::point(value, false));
        }
        let size = |label: &str| p.sizes.iter().find(|s| s.runtime == label);
        if let (Some(o), Some(x)) = (size(OURS_LABEL), size(OFFICIAL_LABEL)) {
            let value = o.bytes as f64 / x.bytes as f64;
            out.insert("bootstrap size x official".into(), BaselineRatio::point(value, false));
        }
    }
    let c = &inputs.concurrency;
    for one in c.iter().filter(|f| f.concurrency == 1) {
        if let Some(many) = c.iter().find(|f| f.subject == one.subject && f.path == one.path && f.concurrency == 64) {
            let key = format!("concurrency p99 at N=64 x p50 at N=1: {} {}", one.subject, one.path);
            out.insert(key, BaselineRatio::point(many.p99_ttfb_ns / one.p50_ttfb_ns, false));
        }
    }
    out
}

/// One ratio against its baseline.
///
/// A ratio worse by more than [`BASELINE_TOLERANCE`] is flagged, as the report promises. Whether
/// the flag stands out from the noise is a second question: in short mode the same code, run
/// twice, moved a third of its ratios by more than that (docs/performance.md). So each flag also
/// says whether the two runs' spreads ([`ratio_spread`]) are apart: when even the best of this
/// run's middle half is worse than the worst of the baseline's, the change is
/// [`Change::BeyondSpread`]; when they overlap, it is [`Change::WithinSpread`] and the first thing
/// to do is run again. This is a guard against reading noise as a change, not a statistical test:
/// it sees only the spread inside each run, not how much a whole run moves with the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The ratio's name.
    pub key: String,
    /// In the baseline.
    pub before: f64,
    /// In this run.
    pub now: f64,
    /// How much worse this run is, as a share (0.3 = 30% worse; negative = better).
    pub worse_by: f64,
    /// The ratio's spread in this run, when its figures have samples.
    pub spread: Option<(f64, f64)>,
    /// What the change amounts to.
    pub change: Change,
}

/// What a [`Comparison`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Not worse by more than [`BASELINE_TOLERANCE`] (or better).
    Within,
    /// Flagged: worse by more than the tolerance, and this run's spread does not reach back to
    /// the baseline's (or to its value, when the baseline has no spread).
    BeyondSpread,
    /// Flagged, but the two runs' spreads overlap: as likely noise as a change; rerun.
    WithinSpread,
    /// Flagged, and there are no samples to tell noise from change (process and concurrency
    /// figures).
    Unknown,
}

impl Comparison {
    /// Worse by more than [`BASELINE_TOLERANCE`].
    pub fn flagged(&self) -> bool {
        self.change != Change::Within
    }

    /// This run's spread as the report prints it (`low–high`, or `–` without samples).
    pub fn spread_text(&self) -> String {
        self.spread.map_or_else(|| "–".to_owned(), |(low, high)| format!("{low:.2}–{high:.2}"))
    }

    /// The report's mark for this ratio.
    pub fn mark(&self) -> &'static str {
        match self.change {
            Change::Within => "",
            Change::BeyondSpread => "**WORSE**, beyond both runs' spread",
            Change::WithinSpread => "**WORSE**, within the runs' spread: rerun",
            Change::Unknown => "**WORSE**, no samples to judge the noise",
        }
    }
}

/// Whether `now`'s spread is apart from `before`'s in the worse direction: the best reading of
/// this run is worse than the worst of the baseline (its value, when it recorded no spread).
/// `None` when this run's ratio has no spread.
fn apart(before: &BaselineRatio, now: &BaselineRatio) -> Option<bool> {
    let (now_low, now_high) = now.spread?;
    let (before_low, before_high) = before.spread.unwrap_or((before.value, before.value));
    Some(if now.higher_is_better { now_high < before_low } else { now_low > before_high })
}

/// This run's ratios against the baseline's, for every name both have.
pub fn compare(baseline: &Baseline, now: &BTreeMap<String, BaselineRatio>) -> Vec<Comparison> {
    baseline
        .ratios
        .iter()
        .filter_map(|(key, before)| {
            let now = now.get(key)?;
            let worse_by =
                if before.higher_is_better { before.value / now.value - 1.0 } else { now.value / before.value - 1.0 };
            // Written as `>` so that a ratio that is not a number is not flagged (as before).
            let change = if worse_by > BASELINE_TOLERANCE {
                match apart(before, now) {
                    Some(true) => Change::BeyondSpread,
                    Some(false) => Change::WithinSpread,
                    None => Change::Unknown,
                }
            } else {
                Change::Within
            };
            Some(Comparison {
                key: key.clone(),
                before: before.value,
                now: now.value,
                worse_by,
                spread: now.spread,
                change,
            })
        })
        .collect()
}

/// The report as Markdown: the run's notes, the criterion medians with their ratios, the
/// whole-process figures, the targets judged, and what was not measured.
pub fn render(inputs: &Inputs) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# lambda-stream benchmark report\n");
    for note in &inputs.notes {
        let _ = writeln!(md, "- {note}");
    }
    targets_table(&mut md, &verdicts(inputs));
    contended_table(&mut md, &inputs.measurements);
    concurrency_table(&mut md, &inputs.concurrency);
    baseline_table(&mut md, inputs);
    measurements_table(&mut md, &inputs.measurements);
    process_tables(&mut md, inputs.process.as_ref());
    let _ = writeln!(md, "\n## Not measured\n");
    if inputs.skipped.is_empty() {
        let _ = writeln!(md, "Nothing was skipped.");
    }
    for (case, reason) in &inputs.skipped {
        let _ = writeln!(md, "- {case}: {reason}");
    }
    md
}

/// One row per criterion result: median, MB/s, and the ratios to the floor and the peers.
fn measurements_table(md: &mut String, all: &[Measurement]) {
    let _ = writeln!(
        md,
        "\nMedians. `x floor`: time / floor's time for latency figures (lower is better), MB/s / floor's MB/s \
         for throughput (higher is better). `x official`, `x cargo-lambda`: the same against the official \
         runtime under our emulator and against cargo-lambda's emulator with the same binary.\n"
    );
    let _ = writeln!(md, "| figure | subject | case | median | MB/s | x floor | x official | x cargo-lambda |");
    let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for m in all {
        let vs = |other: Option<&Measurement>| other.map_or("-".to_owned(), |o| format!("{:.2}", ratio(m, o)));
        let floor = if m.subject == FLOOR {
            "1.00".to_owned()
        } else {
            floor_for(all, m).map_or("-".to_owned(), |f| {
                let r = format!("{:.2}", ratio(m, f));
                if f.case == m.case { r } else { format!("{r} (vs {})", f.case) }
            })
        };
        let official = vs(official_subject(&m.subject).and_then(|s| same_case(all, m, &s)));
        let cargo_lambda = vs(cargo_lambda_subject(&m.subject).and_then(|s| same_case(all, m, &s)));
        let mbps = m.mb_per_s().map_or("-".to_owned(), |v| format!("{v:.0}"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {mbps} | {floor} | {official} | {cargo_lambda} |",
            m.group,
            m.subject,
            m.case,
            human_time(m.median_ns)
        );
    }
    if all.is_empty() {
        let _ = writeln!(md, "| (no criterion results from this run) | | | | | | | |");
    }
}

/// Peak memory, the large responses and cold starts from `benches/process.rs`.
fn process_tables(md: &mut String, process: Option<&ProcessFigures>) {
    let _ = writeln!(md, "\n## Whole-process figures\n");
    let Some(p) = process else {
        let _ = writeln!(md, "Not measured: `benches/process.rs` wrote no `target/bench-process.json`.");
        return;
    };
    let _ = writeln!(md, "| process | setup | RSS before (MiB) | peak VmHWM (MiB) |\n| --- | --- | --- | --- |");
    for m in &p.memory {
        let (before, peak) = (m.before_kib as f64 / 1024.0, m.peak_kib as f64 / 1024.0);
        let _ = writeln!(md, "| {} | {} | {before:.1} | {peak:.1} |", m.process, m.setup);
    }
    let _ = writeln!(
        md,
        "\n| large response through processes | bytes | runs | median seconds | MB/s (median) | MB/s (slowest–fastest) |\n| --- | --- | --- | --- | --- | --- |"
    );
    for s in &p.streams {
        let mbps = |seconds: f64| s.bytes as f64 / 1e6 / seconds;
        let slowest = s.runs.iter().copied().fold(f64::NAN, f64::max);
        let fastest = s.runs.iter().copied().fold(f64::NAN, f64::min);
        let range =
            if s.runs.is_empty() { "–".to_owned() } else { format!("{:.0}–{:.0}", mbps(slowest), mbps(fastest)) };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.3} | {:.0} | {range} |",
            s.setup,
            s.bytes,
            s.runs.len().max(1),
            s.seconds,
            mbps(s.seconds)
        );
    }
    let _ = writeln!(
        md,
        "\n| cold start (spawn -> first GET /next) | runs | median | min | max |\n| --- | --- | --- | --- | --- |"
    );
    for c in &p.cold_start {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            c.runtime, c.runs, c.median_ms, c.min_ms, c.max_ms
        );
    }
}

/// Our in-process rows that were measured quiet and contended, side by side, as ratios to the
/// floor measured under the same load.
fn contended_table(md: &mut String, all: &[Measurement]) {
    let _ = writeln!(
        md,
        "\n## Quiet and contended\n\nThe same figure without and with a busy thread on every core (`x floor` \
         against the floor under the same load).\n\n| figure | case | quiet median | quiet x floor | contended median | contended x floor |\n| --- | --- | --- | --- | --- | --- |"
    );
    let mut any = false;
    for quiet in all.iter().filter(|m| m.subject == OURS && !m.group.ends_with(CONTENDED)) {
        let contended_group = format!("{}{CONTENDED}", quiet.group);
        let Some(contended) =
            all.iter().find(|m| m.group == contended_group && m.subject == OURS && m.case == quiet.case)
        else {
            continue;
        };
        any = true;
        let x = |m: &Measurement| floor_for(all, m).map_or("-".to_owned(), |f| format!("{:.2}", ratio(m, f)));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            quiet.group,
            quiet.case,
            human_time(quiet.median_ns),
            x(quiet),
            human_time(contended.median_ns),
            x(contended)
        );
    }
    if !any {
        let _ = writeln!(md, "| (no contended figures in this run) | | | | | |");
    }
}

/// The concurrency figures.
fn concurrency_table(md: &mut String, figures: &[ConcurrencyFigure]) {
    let _ = writeln!(
        md,
        "\n## Concurrency\n\nN streaming invocations at once through processes (`benches/concurrency.rs`); \
         emulator CPU is the emulator process's user + system time per GB relayed.\n\n\
         | subject | path | N | invocations | p50 TTFB | p99 TTFB | MB/s | emulator CPU s/GB |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for f in figures {
        let cpu = f.emulator_cpu_s_per_gb.map_or("-".to_owned(), |c| format!("{c:.2}"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {:.0} | {cpu} |",
            f.subject,
            f.path,
            f.concurrency,
            f.invocations,
            human_time(f.p50_ttfb_ns),
            human_time(f.p99_ttfb_ns),
            f.mb_per_s
        );
    }
    if figures.is_empty() {
        let _ = writeln!(md, "| (not measured: benches/concurrency.rs wrote no figures) | | | | | | | |");
    }
}

/// This run's ratios against the committed baseline.
fn baseline_table(md: &mut String, inputs: &Inputs) {
    let _ = writeln!(md, "\n## Against the baseline\n");
    let Some(baseline) = &inputs.baseline else {
        let _ = writeln!(
            md,
            "No baseline was given (`ci/bench-baseline.json`; `ci/bench.sh short --update-baseline` writes it)."
        );
        return;
    };
    let now = baseline_ratios(inputs);
    let comparisons = compare(baseline, &now);
    let count = |change: Change| comparisons.iter().filter(|c| c.change == change).count();
    let flagged = comparisons.iter().filter(|c| c.flagged()).count();
    let _ = writeln!(
        md,
        "Baseline: {}. {} ratios compared, {flagged} worse by more than {:.0}% (flagged **WORSE**): \
         {} beyond both runs' spread, {} within it, {} without samples to tell. \
         Positive change = worse (a time ratio up, or an MB/s share down). The spread is the ratio's range over \
         the middle half of each side's criterion samples in this run; a flag whose spread overlaps \
         the baseline's is as likely noise as a change, so rerun before looking for a cause.\n\n\
         | ratio | baseline | now | spread now | change | |\n| --- | --- | --- | --- | --- | --- |",
        baseline.note,
        comparisons.len(),
        BASELINE_TOLERANCE * 100.0,
        count(Change::BeyondSpread),
        count(Change::WithinSpread),
        count(Change::Unknown),
    );
    for c in &comparisons {
        let _ = writeln!(
            md,
            "| {} | {:.2} | {:.2} | {} | {:+.0}% | {} |",
            c.key,
            c.before,
            c.now,
            c.spread_text(),
            c.worse_by * 100.0,
            c.mark()
        );
    }
    let missing: Vec<&String> = baseline.ratios.keys().filter(|k| !now.contains_key(*k)).collect();
    if !missing.is_empty() {
        let _ = writeln!(
            md,
            "\nIn the baseline but not measured in this run: {}.",
            missing.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("; ")
        );
    }
}

/// The targets, each with its verdict and figures.
fn targets_table(md: &mut String, verdicts: &[(String, Verdict)]) {
    let _ = writeln!(md, "\n## Targets\n\n| target | verdict | figures |\n| --- | --- | --- |");
    for (name, verdict) in verdicts {
        let (word, text) = verdict.text();
        let _ = writeln!(md, "| {name} | {word} | {text} |");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, subject: &str, case: &str, median_ns: f64, bytes: Option<u64>) -> Measurement {
        Measurement {
            group: group.into(),
            subject: subject.into(),
            case: case.into(),
            median_ns,
            bytes,
            samples_ns: vec![],
        }
    }

    #[test]
    fn parses_criterion_files() {
        let bench = r#"{"group_id":"ttfb_function_url","function_id":"lambda-stream/handler_writes_16B_at_once","value_str":null,"throughput":null,"full_id":"x","directory_name":"x","title":"x"}"#;
        let est = r#"{"mean":{"point_estimate":2.0},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":150000.5,"standard_error":1.0}}"#;
        let parsed = parse_measurement(bench, est).unwrap();
        assert_eq!(parsed, m("ttfb_function_url", "lambda-stream", "handler_writes_16B_at_once", 150000.5, None));
        let bench =
            r#"{"group_id":"throughput_function_url","function_id":"floor/64MiB","throughput":{"Bytes":67108864}}"#;
        assert_eq!(parse_measurement(bench, est).unwrap().bytes, Some(67_108_864));
        assert!(parse_measurement("{", est).is_err());
        let samples = parse_samples(r#"{"sampling_mode":"Linear","iters":[1.0,2.0,0.0],"times":[100.0,300.0,5.0]}"#);
        assert_eq!(samples.unwrap(), vec![100.0, 150.0], "time per iteration; empty samples dropped");
        assert!(parse_samples("{}").is_err());
    }

    fn inputs(measurements: Vec<Measurement>, process: Option<ProcessFigures>) -> Inputs {
        Inputs { measurements, process, ..Inputs::default() }
    }

    fn judged(inputs: &Inputs) -> BTreeMap<String, Verdict> {
        verdicts(inputs).into_iter().collect()
    }

    #[test]
    fn ratios_pair_rows_and_mark_misses() {
        let all = vec![
            m("ttfb_function_url", FLOOR, "16B", 100_000.0, None),
            m("ttfb_function_url", OURS, "16B", 200_000.0, None),
            m("ttfb_iwrs", FLOOR, "16B", 100_000.0, None),
            m("ttfb_iwrs", OURS, "16B", 110_000.0, None),
            m("ttfb_iwrs_contended", FLOOR, "16B", 300_000.0, None),
            m("ttfb_iwrs_contended", OURS, "16B", 600_000.0, None),
            m("ttfb_function_url", OURS_PROCESS, "bad-request", 300_000.0, None),
            m("ttfb_function_url", "official-process", "bad-request", 600_000.0, None),
            m("throughput_function_url", FLOOR, "64MiB", 1e8, Some(64 << 20)),
            m("throughput_function_url", OURS, "64MiB", 1.5e8, Some(64 << 20)),
            m("chunk_latency_function_url", FLOOR, "write_16B", 50_000.0, None),
            m("chunk_latency_function_url", OURS, "write_16B", 55_000.0, None),
            m("chunk_latency_function_url", FLOOR, "write_64KiB", 50_000.0, None),
            m("chunk_latency_function_url", OURS, "write_64KiB", 70_000.0, None),
        ];
        assert_eq!(ratio(&all[1], &all[0]), 2.0);
        // Throughput: a share of the floor's MB/s; 1.5x the time is 2/3 of the rate.
        assert!((ratio(&all[9], &all[8]) - 2.0 / 3.0).abs() < 1e-9);
        // A case without its own floor row is compared with the group's floor.
        assert_eq!(floor_for(&all, &all[6]).unwrap().case, "16B");
        let v = judged(&inputs(all.clone(), None));
        assert!(matches!(v["TTFB <= 1.2x floor (function URL, quiet)"], Verdict::Missed(_)));
        assert!(matches!(v["TTFB <= 1.2x floor (InvokeWithResponseStream, quiet)"], Verdict::Met(_)));
        assert!(matches!(v["TTFB <= 1.2x floor (InvokeWithResponseStream, contended)"], Verdict::Missed(_)));
        assert!(matches!(v["TTFB <= 1.2x floor (function URL, contended)"], Verdict::NotMeasured(_)));
        // 64 KiB writes at 1.4x miss, though 16 B ones at 1.1x are fine.
        assert!(matches!(v["per-chunk latency <= 1.2x floor (16 B, 1 KiB, 64 KiB writes, quiet)"], Verdict::Missed(_)));
        // 64 MiB in 0.15 s is 447 MB/s: under 1 GB/s.
        assert!(matches!(v["64 MiB in-process stream >= 1000 MB/s"], Verdict::Missed(_)));
        assert!(
            matches!(v["TTFB <= 1.2x floor (API Gateway, quiet)"], Verdict::NotMeasured(_)),
            "no ttfb_api_gateway rows in this run: not measured, never met"
        );
        assert!(matches!(v["ahead of the official runtime by >= 5% (TTFB, throughput)"], Verdict::Met(_)));
        assert!(matches!(v["ahead of cargo-lambda's emulator by >= 5% (TTFB, throughput)"], Verdict::NotMeasured(_)));
        assert!(matches!(v["memory flat, <= 32 MiB per process while ~200 MB stream"], Verdict::NotMeasured(_)));
        assert!(matches!(
            v["concurrency: p99 TTFB at N = 64 <= 5x p50 at N = 1 (function URL)"],
            Verdict::NotMeasured(_)
        ));

        let process = ProcessFigures {
            memory: vec![MemoryFigure {
                process: "emulator".into(),
                runtime: MEMORY_RUNTIMES[0].into(),
                setup: "s".into(),
                before_kib: 5000,
                peak_kib: 40_000,
            }],
            ..Default::default()
        };
        let v = judged(&inputs(all.clone(), Some(process.clone())));
        assert!(matches!(v["memory flat, <= 32 MiB per process while ~200 MB stream"], Verdict::Missed(_)));
        let md = render(&Inputs {
            measurements: all,
            process: Some(process),
            skipped: vec![("cargo-lambda".into(), "not installed".into())],
            ..Inputs::default()
        });
        assert!(md.contains("| ttfb_function_url | lambda-stream | 16B | 200.0 µs | - | 2.00 | - | - |"), "{md}");
        assert!(
            md.contains(
                "| ttfb_function_url | lambda-stream-process | bad-request | 300.0 µs | - | 3.00 (vs 16B) | 0.50 | - |"
            ),
            "{md}"
        );
        assert!(md.contains("- cargo-lambda: not installed"));
        assert!(md.contains("| TTFB <= 1.2x floor (function URL, quiet) | **MISSED** | 16B 2.00x |"), "{md}");
        // The quiet and contended columns side by side.
        assert!(md.contains("| ttfb_iwrs | 16B | 110.0 µs | 1.10 | 600.0 µs | 2.00 |"), "{md}");
        assert!(
            md.contains(
                "| ahead of the official runtime by >= 5% (TTFB, throughput) | met | lambda-stream-process \
                 ttfb_function_url bad-request 0.50x (time ratio, below 1 is ahead) |"
            ),
            "{md}"
        );
    }

    #[test]
    fn the_memory_target_needs_every_figure_it_names() {
        let figure = |process: &str, runtime: &str, peak_kib: u64| MemoryFigure {
            process: format!("{process} (x)"),
            runtime: runtime.into(),
            setup: format!("emulate + {runtime}"),
            before_kib: 4000,
            peak_kib,
        };
        let judged = |memory: Vec<MemoryFigure>| {
            let process = ProcessFigures { memory, ..Default::default() };
            memory_verdict(Some(&process)).1
        };
        let ours = || vec![figure("emulator", MEMORY_RUNTIMES[0], 9000), figure("runtime", MEMORY_RUNTIMES[0], 3000)];
        // Only our setup measured (the official run failed): not measured, not met.
        let v = judged(ours());
        assert!(matches!(&v, Verdict::NotMeasured(why) if why.contains("official lambda_runtime")), "{v:?}");
        // Every figure there and under the limit: met.
        let mut all = ours();
        all.extend([figure("emulator", MEMORY_RUNTIMES[1], 9000), figure("runtime", MEMORY_RUNTIMES[1], 5000)]);
        assert!(matches!(judged(all.clone()), Verdict::Met(f) if f.len() == 4));
        // One over the limit misses it, even with another figure missing.
        let mut over = ours();
        over[1].peak_kib = 40_000;
        assert!(matches!(judged(over), Verdict::Missed(_)));
        // One process of a setup missing is not measured either.
        all.remove(3);
        assert!(matches!(judged(all), Verdict::NotMeasured(why) if why.contains("runtime of the official")));
    }

    #[test]
    fn process_and_concurrency_targets() {
        let process = ProcessFigures {
            cold_start: vec![
                ColdStartFigure { runtime: OURS_LABEL.into(), runs: 10, median_ms: 1.2, min_ms: 1.0, max_ms: 2.0 },
                ColdStartFigure { runtime: OFFICIAL_LABEL.into(), runs: 10, median_ms: 1.1, min_ms: 1.0, max_ms: 2.0 },
            ],
            sizes: vec![
                SizeFigure { runtime: OURS_LABEL.into(), binary: "a".into(), bytes: 900 },
                SizeFigure { runtime: OFFICIAL_LABEL.into(), binary: "b".into(), bytes: 1000 },
            ],
            streams: vec![
                StreamFigure {
                    setup: format!("emulate + {OURS_LABEL} runtime, 199 MB"),
                    bytes: 199_000_000,
                    seconds: 0.3,
                    runs: vec![0.25, 0.3, 0.5],
                },
                StreamFigure {
                    setup: format!("emulate + {OFFICIAL_LABEL} runtime, 199 MB"),
                    bytes: 199_000_000,
                    seconds: 0.2,
                    runs: vec![],
                },
            ],
            ..Default::default()
        };
        let figure = |path: &str, n: usize, p50: f64, p99: f64| ConcurrencyFigure {
            subject: OURS_PROCESS.into(),
            path: path.into(),
            concurrency: n,
            invocations: 64,
            bytes: 64_000_000,
            p50_ttfb_ns: p50,
            p99_ttfb_ns: p99,
            mb_per_s: 500.0,
            emulator_cpu_s_per_gb: Some(0.5),
        };
        let mut inputs = inputs(vec![], Some(process));
        let floor = |path: &str, n: usize, p50: f64, p99: f64| ConcurrencyFigure {
            subject: FLOOR.into(),
            emulator_cpu_s_per_gb: None,
            ..figure(path, n, p50, p99)
        };
        inputs.concurrency = vec![
            figure(FUNCTION_URL, 1, 1e6, 2e6),
            figure(FUNCTION_URL, 64, 3e6, 4e6),
            figure(IWRS, 1, 1e6, 2e6),
            figure(IWRS, 64, 3e6, 6e6),
            // The floor's IWRS tail is far worse (80x), and it is shown, never judged.
            floor(IWRS, 1, 0.5e6, 1e6),
            floor(IWRS, 64, 30e6, 40e6),
        ];
        let v = judged(&inputs);
        let key = "cold start <= the official runtime's (median spawn -> first GET /next)";
        assert!(matches!(v[key], Verdict::Missed(_)), "1.2 ms against 1.1 ms");
        assert!(matches!(
            v["release bootstrap size <= the official runtime's (same example, bench build)"],
            Verdict::Met(_)
        ));
        // 663 MB/s against 995 MB/s.
        assert!(matches!(
            v["throughput through processes >= the official runtime's (64 MB, 199 MB)"],
            Verdict::Missed(_)
        ));
        assert!(matches!(v["concurrency: p99 TTFB at N = 64 <= 5x p50 at N = 1 (function URL)"], Verdict::Met(_)));
        let iwrs = &v["concurrency: p99 TTFB at N = 64 <= 5x p50 at N = 1 (InvokeWithResponseStream)"];
        assert!(matches!(iwrs, Verdict::Missed(_)));
        assert_eq!(iwrs.text().1, "6.00 ms / 1.00 ms 6.00x, the floor under the same load: 40.00 ms / 500.0 µs 80.00x");
        // No floor figures for the function URL: ours alone.
        let url = &v["concurrency: p99 TTFB at N = 64 <= 5x p50 at N = 1 (function URL)"];
        assert_eq!(url.text().1, "4.00 ms / 1.00 ms 4.00x");
        let md = render(&inputs);
        assert!(
            md.contains("| lambda-stream-process | function URL | 64 | 64 | 3.00 ms | 4.00 ms | 500 | 0.50 |"),
            "{md}"
        );
        // The large streams: the median's rate and the slowest and fastest run's; a figure from
        // before runs were kept counts as one run with no range.
        assert!(md.contains("| 199000000 | 3 | 0.300 | 663 | 398–796 |"), "{md}");
        assert!(md.contains("| 199000000 | 1 | 0.200 | 995 | – |"), "{md}");
    }

    #[test]
    fn the_baseline_flags_a_ratio_worse_by_more_than_a_quarter() {
        let run = |ours_ttfb: f64, ours_rate_ns: f64| {
            inputs(
                vec![
                    m("ttfb_function_url", FLOOR, "16B", 100.0, None),
                    m("ttfb_function_url", OURS, "16B", ours_ttfb, None),
                    m("throughput_function_url", FLOOR, "64MiB", 100.0, Some(1 << 20)),
                    m("throughput_function_url", OURS, "64MiB", ours_rate_ns, Some(1 << 20)),
                ],
                None,
            )
        };
        let before = Baseline { note: "then".into(), ratios: baseline_ratios(&run(110.0, 100.0)) };
        assert_eq!(before.ratios.len(), 2, "{before:?}");
        // TTFB 1.10x -> 1.40x floor is 27% worse; throughput 1.0 -> 0.8 of the floor is 25% worse,
        // which is not more than a quarter.
        let now = run(140.0, 125.0);
        let comparisons = compare(&before, &baseline_ratios(&now));
        let flagged: Vec<&str> = comparisons.iter().filter(|c| c.flagged()).map(|c| c.key.as_str()).collect();
        assert_eq!(flagged, vec!["ttfb_function_url x floor: lambda-stream 16B"], "{comparisons:?}");
        let rate = comparisons.iter().find(|c| c.key.starts_with("throughput")).unwrap();
        assert!((rate.worse_by - 0.25).abs() < 1e-9, "{rate:?}");
        // Better is never flagged, and the report names the baseline.
        let mut better = run(100.0, 80.0);
        assert!(compare(&before, &baseline_ratios(&better)).iter().all(|c| !c.flagged() && c.worse_by < 0.0));
        better.baseline = Some(before.clone());
        assert!(render(&better).contains("Baseline: then. 2 ratios compared, 0 worse"));
        let mut worse = now;
        worse.baseline = Some(before);
        let md = render(&worse);
        assert!(
            md.contains(
                "| ttfb_function_url x floor: lambda-stream 16B | 1.10 | 1.40 | – | +27% | **WORSE**, no samples to judge the noise |"
            ),
            "{md}"
        );
        // It round-trips through JSON as committed.
        let json = serde_json::to_string(&Baseline { note: "n".into(), ratios: baseline_ratios(&worse) }).unwrap();
        assert_eq!(serde_json::from_str::<Baseline>(&json).unwrap().ratios.len(), 2);
    }

    #[test]
    fn quartiles_interpolate_and_need_four_samples() {
        assert_eq!(quartiles(&[9.0, 1.0, 5.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0]), Some((3.0, 7.0)));
        let ten: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        assert_eq!(quartiles(&ten), Some((3.25, 7.75)));
        assert_eq!(quartiles(&[1.0, 2.0, 3.0, 4.0]), Some((1.75, 3.25)));
        assert_eq!(quartiles(&[1.0, 2.0, 3.0]), None);
        assert_eq!(quartiles(&[1.0, 2.0, f64::NAN, 4.0]), None);
    }

    /// A measurement whose ten samples run evenly from `median × (1 - spread)` to
    /// `median × (1 + spread)`, so that their middle half is `median × (1 ± spread / 2)`.
    fn sampled(group: &str, subject: &str, median_ns: f64, bytes: Option<u64>, spread: f64) -> Measurement {
        let mut out = m(group, subject, "c", median_ns, bytes);
        out.samples_ns = (0..10).map(|i| median_ns * (1.0 + spread * (f64::from(i) - 4.5) / 4.5)).collect();
        out
    }

    #[test]
    fn a_ratios_spread_combines_the_middle_halves_of_both_sides() {
        let floor = sampled("ttfb_function_url", FLOOR, 100.0, None, 0.2);
        let ours = sampled("ttfb_function_url", OURS, 200.0, None, 0.2);
        let (low, high) = quartiles(&ours.samples_ns).unwrap();
        let (f_low, f_high) = quartiles(&floor.samples_ns).unwrap();
        assert_eq!(ratio_spread(&ours, &floor), Some((low / f_high, high / f_low)));
        let (low, high) = ratio_spread(&ours, &floor).unwrap();
        assert!(low < 2.0 && 2.0 < high, "{low} {high}");
        // Throughput: a share of MB/s, so a slower (longer) sample of ours is the low end, and the
        // bytes of the two sides count.
        let floor = sampled("throughput_function_url", FLOOR, 100.0, Some(1_000), 0.2);
        let ours = sampled("throughput_function_url", OURS, 100.0, Some(2_000), 0.2);
        let (low, high) = ratio_spread(&ours, &floor).unwrap();
        assert!((ratio(&ours, &floor) - 2.0).abs() < 1e-9);
        assert!(low < 2.0 && 2.0 < high && (low * high - 4.0).abs() < 1e-9, "{low} {high}");
        // Samples of zero time (a clock too coarse for the figure) give no usable range: not an
        // infinite ratio, nor a ratio of zero.
        let zero = |subject: &str| sampled("ttfb_function_url", subject, 0.0, None, 0.2);
        let ttfb = sampled("ttfb_function_url", OURS, 200.0, None, 0.2);
        assert_eq!(ratio_spread(&ttfb, &zero(FLOOR)), None, "infinite high end");
        assert_eq!(ratio_spread(&zero(OURS), &sampled("ttfb_function_url", FLOOR, 100.0, None, 0.2)), None, "zero");
        let mut zero_low_quartile = sampled("ttfb_function_url", FLOOR, 100.0, None, 0.2);
        zero_low_quartile.samples_ns[..4].fill(0.0);
        assert_eq!(ratio_spread(&ttfb, &zero_low_quartile), None, "finite low end, infinite high end");
        // No samples on either side: no spread.
        assert_eq!(ratio_spread(&m("g", OURS, "c", 1.0, None), &floor), None);
        assert_eq!(ratio_spread(&ours, &m("g", FLOOR, "c", 1.0, None)), None);
    }

    #[test]
    fn a_flag_says_whether_the_runs_spreads_are_apart() {
        let run = |ours_ttfb: f64, spread: f64, ours_rate_ns: f64| {
            inputs(
                vec![
                    sampled("ttfb_function_url", FLOOR, 100.0, None, spread),
                    sampled("ttfb_function_url", OURS, ours_ttfb, None, spread),
                    sampled("throughput_function_url", FLOOR, 100.0, Some(1 << 20), spread),
                    sampled("throughput_function_url", OURS, ours_rate_ns, Some(1 << 20), spread),
                ],
                None,
            )
        };
        let change = |before: &Baseline, now: &Inputs| -> Vec<Change> {
            compare(before, &baseline_ratios(now)).iter().map(|c| c.change).collect()
        };
        // Throughput first (the keys sort so). Tight samples (±2%): 1.1x -> 1.5x the floor and
        // 1.0 -> 0.7 of its MB/s are apart.
        let before = Baseline { note: "then".into(), ratios: baseline_ratios(&run(110.0, 0.02, 100.0)) };
        assert!(before.ratios.values().all(|r| r.spread.is_some()), "{before:?}");
        assert_eq!(change(&before, &run(150.0, 0.02, 143.0)), vec![Change::BeyondSpread, Change::BeyondSpread]);
        // The same medians with samples spread ±60%: the middle halves overlap.
        let wide = Baseline { note: "then".into(), ratios: baseline_ratios(&run(110.0, 0.6, 100.0)) };
        assert_eq!(change(&wide, &run(150.0, 0.6, 143.0)), vec![Change::WithinSpread, Change::WithinSpread]);
        // Within the tolerance nothing is flagged, however tight the samples.
        assert_eq!(change(&before, &run(130.0, 0.02, 110.0)), vec![Change::Within, Change::Within]);
        // A baseline written before spreads were kept: this run's spread against its value.
        let mut old = before.clone();
        old.ratios.values_mut().for_each(|r| r.spread = None);
        assert_eq!(change(&old, &run(150.0, 0.02, 143.0)), vec![Change::BeyondSpread, Change::BeyondSpread]);
        assert_eq!(change(&old, &run(150.0, 0.6, 143.0)), vec![Change::WithinSpread, Change::WithinSpread]);
        // The report says which is which, and counts them.
        let mut now = run(150.0, 0.6, 143.0);
        now.baseline = Some(before);
        let md = render(&now);
        assert!(
            md.contains("2 worse by more than 25% (flagged **WORSE**): 0 beyond both runs' spread, 2 within it"),
            "{md}"
        );
        assert!(md.contains("| +36% | **WORSE**, within the runs' spread: rerun |"), "{md}");
        // The spread survives the committed JSON; an old baseline without it still reads.
        let json = serde_json::to_string(&Baseline { note: "n".into(), ratios: baseline_ratios(&now) }).unwrap();
        let read = serde_json::from_str::<Baseline>(&json).unwrap().ratios;
        for (key, ratio) in baseline_ratios(&now) {
            let (low, high) = read[&key].spread.unwrap();
            let (want_low, want_high) = ratio.spread.unwrap();
            assert!((low - want_low).abs() < 1e-12 && (high - want_high).abs() < 1e-12, "{key}");
        }
        let old_json = r#"{"note":"n","ratios":{"x":{"value":1.0,"higher_is_better":false}}}"#;
        assert_eq!(serde_json::from_str::<Baseline>(old_json).unwrap().ratios["x"].spread, None);
    }

    #[test]
    fn targets_are_judged_on_the_unrounded_ratio() {
        // 1.204x prints as 1.20x but is over the 1.2x target.
        let all = vec![
            m("ttfb_function_url", FLOOR, "16B", 100_000.0, None),
            m("ttfb_function_url", OURS, "16B", 120_400.0, None),
        ];
        let v = judged(&inputs(all, None));
        let ttfb = &v["TTFB <= 1.2x floor (function URL, quiet)"];
        assert!(matches!(ttfb, Verdict::Missed(_)), "{ttfb:?}");
        assert_eq!(ttfb.text().1, "16B 1.20x");
    }

    #[test]
    fn ahead_of_a_peer_needs_the_stated_margin() {
        let pair = |ours: f64, official: f64, bytes: Option<u64>| {
            let group = if bytes.is_some() { "throughput_function_url" } else { "ttfb_function_url" };
            vec![m(group, OURS_PROCESS, "c", ours, bytes), m(group, "official-process", "c", official, bytes)]
        };
        let judged = |all: Vec<Measurement>| {
            judged(&inputs(all, None))["ahead of the official runtime by >= 5% (TTFB, throughput)"].clone()
        };
        // TTFB: 3% faster is within the noise, 6% faster is ahead.
        assert!(matches!(judged(pair(97.0, 100.0, None)), Verdict::Missed(_)));
        assert!(matches!(judged(pair(94.0, 100.0, None)), Verdict::Met(_)));
        // Throughput (time per stream): 3% more MB/s is not ahead, 10% more is.
        assert!(matches!(judged(pair(100.0 / 1.03, 100.0, Some(1 << 20))), Verdict::Missed(_)));
        assert!(matches!(judged(pair(100.0 / 1.10, 100.0, Some(1 << 20))), Verdict::Met(_)));
    }
}
