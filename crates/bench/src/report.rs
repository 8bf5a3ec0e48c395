//! The benchmark report (`target/bench-report.md`; [`crate::html`] draws the same as plots): medians from criterion's
//! `target/criterion/**/new/estimates.json`, their ratios to the floor and to the peers, the
//! whole-process figures from `benches/process.rs`, what was not measured and why, and the
//! issue's targets marked met, missed or not measured.
//!
//! Naming convention the benches follow so that this can pair rows without a table of names:
//! criterion group = the figure and the path (`ttfb_function_url`, `ttfb_iwrs`,
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
    /// Seconds from request to last byte.
    pub seconds: f64,
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
}

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
/// The TTFB target: at most this many times the floor's time to first byte.
pub const TTFB_MAX_RATIO: f64 = 1.5;
/// The throughput target: at least this share of the floor's MB/s.
pub const THROUGHPUT_MIN_RATIO: f64 = 0.5;
/// The small-write latency target, ns (median per write): 1 ms.
pub const SMALL_WRITE_MAX_NS: f64 = 1e6;
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

/// Judges the issue's targets.
pub fn verdicts(all: &[Measurement], process: Option<&ProcessFigures>) -> Vec<(String, Verdict)> {
    let mut out = ttfb_verdicts(all);
    out.push(small_write_verdict(all));
    out.push(throughput_verdict(all));
    out.extend([Peer::Official, Peer::CargoLambda].map(|peer| peer_verdict(all, peer)));
    out.push(memory_verdict(process));
    out
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

/// TTFB overhead against the floor, per path.
fn ttfb_verdicts(all: &[Measurement]) -> Vec<(String, Verdict)> {
    [("ttfb_function_url", "function URL"), ("ttfb_iwrs", "InvokeWithResponseStream")]
        .into_iter()
        .map(|(group, label)| {
            let name = format!("TTFB overhead <= {TTFB_MAX_RATIO}x floor ({label})");
            let judged =
                judge_all(floor_ratios(all, group), |f| f.value <= TTFB_MAX_RATIO, "no in-process and floor pair");
            (name, judged)
        })
        .collect()
}

/// Median latency of 16 B and 1 KiB writes.
fn small_write_verdict(all: &[Measurement]) -> (String, Verdict) {
    let small: Vec<Figure> = rows(all, "chunk_latency_function_url", OURS)
        .filter(|m| m.case.starts_with("write_16B") || m.case.starts_with("write_1KiB"))
        .map(|m| Figure::new(&m.case, m.median_ns, Unit::Nanos))
        .collect();
    let name = "small-write latency < 1 ms median".to_owned();
    (name, judge_all(small, |f| f.value < SMALL_WRITE_MAX_NS, "no per-chunk latency rows"))
}

/// Throughput as a share of the floor's.
fn throughput_verdict(all: &[Measurement]) -> (String, Verdict) {
    let figures = floor_ratios(all, "throughput_function_url");
    let verdict = judge_all(figures, |f| f.value >= THROUGHPUT_MIN_RATIO, "no in-process and floor pair");
    ("throughput >= 1/2 floor".to_owned(), verdict)
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
pub const MEMORY_RUNTIMES: [&str; 2] = ["lambda-stream", "official lambda_runtime"];

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
}

/// The report as Markdown: the run's notes, the criterion medians with their ratios, the
/// whole-process figures, the targets judged, and what was not measured.
pub fn render(inputs: &Inputs) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# lambda-stream benchmark report\n");
    for note in &inputs.notes {
        let _ = writeln!(md, "- {note}");
    }
    measurements_table(&mut md, &inputs.measurements);
    process_tables(&mut md, inputs.process.as_ref());
    targets_table(&mut md, &verdicts(&inputs.measurements, inputs.process.as_ref()));
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
    let _ = writeln!(md, "\n| large response through processes | bytes | seconds | MB/s |\n| --- | --- | --- | --- |");
    for s in &p.streams {
        let mbps = s.bytes as f64 / 1e6 / s.seconds;
        let _ = writeln!(md, "| {} | {} | {:.2} | {mbps:.0} |", s.setup, s.bytes, s.seconds);
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

    #[test]
    fn ratios_pair_rows_and_mark_misses() {
        let all = vec![
            m("ttfb_function_url", FLOOR, "16B", 100_000.0, None),
            m("ttfb_function_url", OURS, "16B", 200_000.0, None),
            m("ttfb_iwrs", FLOOR, "16B", 100_000.0, None),
            m("ttfb_iwrs", OURS, "16B", 120_000.0, None),
            m("ttfb_function_url", OURS_PROCESS, "bad-request", 300_000.0, None),
            m("ttfb_function_url", "official-process", "bad-request", 600_000.0, None),
            m("throughput_function_url", FLOOR, "64MiB", 1e8, Some(64 << 20)),
            m("throughput_function_url", OURS, "64MiB", 1.5e8, Some(64 << 20)),
            m("chunk_latency_function_url", OURS, "write_16B", 50_000.0, None),
            m("chunk_latency_function_url", OURS, "write_1KiB", 2e6, None),
        ];
        assert_eq!(ratio(&all[1], &all[0]), 2.0);
        // Throughput: a share of the floor's MB/s; 1.5x the time is 2/3 of the rate.
        assert!((ratio(&all[7], &all[6]) - 2.0 / 3.0).abs() < 1e-9);
        // A case without its own floor row is compared with the group's floor.
        assert_eq!(floor_for(&all, &all[4]).unwrap().case, "16B");
        let v: BTreeMap<String, Verdict> = verdicts(&all, None).into_iter().collect();
        assert!(matches!(v["TTFB overhead <= 1.5x floor (function URL)"], Verdict::Missed(_)));
        assert!(matches!(v["TTFB overhead <= 1.5x floor (InvokeWithResponseStream)"], Verdict::Met(_)));
        assert!(matches!(v["small-write latency < 1 ms median"], Verdict::Missed(_)));
        assert!(matches!(v["throughput >= 1/2 floor"], Verdict::Met(_)));
        assert!(matches!(v["ahead of the official runtime by >= 5% (TTFB, throughput)"], Verdict::Met(_)));
        assert!(matches!(v["ahead of cargo-lambda's emulator by >= 5% (TTFB, throughput)"], Verdict::NotMeasured(_)));
        assert!(matches!(v["memory flat, <= 32 MiB per process while ~200 MB stream"], Verdict::NotMeasured(_)));

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
        let v: BTreeMap<String, Verdict> = verdicts(&all, Some(&process)).into_iter().collect();
        assert!(matches!(v["memory flat, <= 32 MiB per process while ~200 MB stream"], Verdict::Missed(_)));
        let md = render(&Inputs {
            measurements: all,
            process: Some(process),
            skipped: vec![("cargo-lambda".into(), "not installed".into())],
            notes: vec![],
        });
        assert!(md.contains("| ttfb_function_url | lambda-stream | 16B | 200.0 µs | - | 2.00 | - | - |"), "{md}");
        assert!(
            md.contains(
                "| ttfb_function_url | lambda-stream-process | bad-request | 300.0 µs | - | 3.00 (vs 16B) | 0.50 | - |"
            ),
            "{md}"
        );
        assert!(md.contains("- cargo-lambda: not installed"));
        assert!(md.contains("| TTFB overhead <= 1.5x floor (function URL) | **MISSED** | 16B 2.00x |"), "{md}");
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
    fn targets_are_judged_on_the_unrounded_ratio() {
        // 1.504x prints as 1.50x but is over the 1.5x target.
        let all = vec![
            m("ttfb_function_url", FLOOR, "16B", 100_000.0, None),
            m("ttfb_function_url", OURS, "16B", 150_400.0, None),
            m("throughput_function_url", FLOOR, "64MiB", 1e8, Some(64 << 20)),
            m("throughput_function_url", OURS, "64MiB", 2.0 * 1e8 * 1.002, Some(64 << 20)),
        ];
        let v: BTreeMap<String, Verdict> = verdicts(&all, None).into_iter().collect();
        let ttfb = &v["TTFB overhead <= 1.5x floor (function URL)"];
        assert!(matches!(ttfb, Verdict::Missed(_)), "{ttfb:?}");
        assert_eq!(ttfb.text().1, "16B 1.50x");
        // 0.499 of the floor's rate prints as 0.50x but is under half.
        let throughput = &v["throughput >= 1/2 floor"];
        assert!(matches!(throughput, Verdict::Missed(_)), "{throughput:?}");
        assert_eq!(throughput.text().1, "64MiB 0.50x");
    }

    #[test]
    fn ahead_of_a_peer_needs_the_stated_margin() {
        let pair = |ours: f64, official: f64, bytes: Option<u64>| {
            let group = if bytes.is_some() { "throughput_function_url" } else { "ttfb_function_url" };
            vec![m(group, OURS_PROCESS, "c", ours, bytes), m(group, "official-process", "c", official, bytes)]
        };
        let judged = |all: Vec<Measurement>| {
            let v: BTreeMap<String, Verdict> = verdicts(&all, None).into_iter().collect();
            v["ahead of the official runtime by >= 5% (TTFB, throughput)"].clone()
        };
        // TTFB: 3% faster is within the noise, 6% faster is ahead.
        assert!(matches!(judged(pair(97.0, 100.0, None)), Verdict::Missed(_)));
        assert!(matches!(judged(pair(94.0, 100.0, None)), Verdict::Met(_)));
        // Throughput (time per stream): 3% more MB/s is not ahead, 10% more is.
        assert!(matches!(judged(pair(100.0 / 1.03, 100.0, Some(1 << 20))), Verdict::Missed(_)));
        assert!(matches!(judged(pair(100.0 / 1.10, 100.0, Some(1 << 20))), Verdict::Met(_)));
    }
}
