//! The benchmark report (`target/bench-report.md`): medians from criterion's
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
    })
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
                    && let Ok(m) = parse_measurement(&b, &e)
                {
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

/// A target of the issue, judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Met, with the figure that shows it.
    Met(String),
    /// Missed, with the figure that shows it.
    Missed(String),
    /// No figure to judge it by, and why.
    NotMeasured(String),
}

/// The memory target: each process at most this peak while 200 MB stream.
pub const MEMORY_TARGET_KIB: u64 = 32 * 1024;

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

/// `m` is ahead of `reference` (faster).
fn ahead(m: &Measurement, reference: &Measurement) -> bool {
    if is_throughput(m) { ratio(m, reference) > 1.0 } else { ratio(m, reference) < 1.0 }
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

fn official_subject(subject: &str) -> Option<String> {
    subject.contains(OURS).then(|| subject.replacen(OURS, "official", 1)).filter(|s| s != subject)
}

fn cargo_lambda_subject(subject: &str) -> Option<String> {
    (!subject.starts_with("cargo-lambda+") && subject != FLOOR && subject.ends_with("-process"))
        .then(|| format!("cargo-lambda+{subject}"))
}

/// Judges the issue's targets.
pub fn verdicts(all: &[Measurement], process: Option<&ProcessFigures>) -> Vec<(String, Verdict)> {
    let mut out = Vec::new();
    let rows = |group: &str, subject: &str| -> Vec<&Measurement> {
        all.iter().filter(|m| m.group == group && m.subject == subject).collect()
    };
    for (group, label) in [("ttfb_function_url", "function URL"), ("ttfb_iwrs", "InvokeWithResponseStream")] {
        let name = format!("TTFB overhead <= 1.5x floor ({label})");
        let judged: Vec<String> = rows(group, OURS)
            .into_iter()
            .filter_map(|m| floor_for(all, m).map(|f| (m, ratio(m, f))))
            .map(|(m, r)| format!("{} {r:.2}x", m.case))
            .collect();
        out.push((name, judge_all(&judged, |s| parse_trailing_ratio(s) <= 1.5, "no in-process and floor pair")));
    }
    let small: Vec<String> = rows("chunk_latency_function_url", OURS)
        .into_iter()
        .filter(|m| m.case.starts_with("write_16B") || m.case.starts_with("write_1KiB"))
        .map(|m| format!("{} {}", m.case, human_time(m.median_ns)))
        .collect();
    let small_ok = rows("chunk_latency_function_url", OURS)
        .into_iter()
        .filter(|m| m.case.starts_with("write_16B") || m.case.starts_with("write_1KiB"))
        .all(|m| m.median_ns < 1e6);
    out.push((
        "small-write latency < 1 ms median".to_owned(),
        if small.is_empty() {
            Verdict::NotMeasured("no per-chunk latency rows".into())
        } else if small_ok {
            Verdict::Met(small.join(", "))
        } else {
            Verdict::Missed(small.join(", "))
        },
    ));
    let tp: Vec<String> = rows("throughput_function_url", OURS)
        .into_iter()
        .filter_map(|m| floor_for(all, m).map(|f| format!("{} {:.2}x", m.case, ratio(m, f))))
        .collect();
    out.push((
        "throughput >= 1/2 floor".to_owned(),
        judge_all(&tp, |s| parse_trailing_ratio(s) >= 0.5, "no in-process and floor pair"),
    ));
    for (peer, name, make) in [
        (
            "official runtime",
            "ahead of the official runtime (TTFB, throughput)",
            official_subject as fn(&str) -> Option<String>,
        ),
        ("cargo-lambda", "ahead of cargo-lambda's emulator (TTFB, throughput)", cargo_lambda_subject),
    ] {
        let mut figures = Vec::new();
        let mut all_ahead = true;
        // Against the official runtime: our runtime binary, same emulator. Against cargo-lambda:
        // our emulator, with whichever binary ran under both (ours may fail under cargo-lambda).
        let compared = |m: &&Measurement| {
            let subject_ok = if peer == "cargo-lambda" {
                cargo_lambda_subject(&m.subject).is_some()
            } else {
                m.subject == OURS_PROCESS
            };
            subject_ok && (m.group.starts_with("ttfb") || m.group.starts_with("throughput"))
        };
        for m in all.iter().filter(compared) {
            if let Some(other) = make(&m.subject).and_then(|s| same_case(all, m, &s)) {
                all_ahead &= ahead(m, other);
                let unit =
                    if is_throughput(m) { "MB/s ratio, above 1 is ahead" } else { "time ratio, below 1 is ahead" };
                figures.push(format!("{} {} {} {:.2}x ({unit})", m.subject, m.group, m.case, ratio(m, other)));
            }
        }
        out.push((
            name.to_owned(),
            if figures.is_empty() {
                Verdict::NotMeasured(format!("no {peer} rows to compare with"))
            } else if all_ahead {
                Verdict::Met(figures.join(", "))
            } else {
                Verdict::Missed(figures.join(", "))
            },
        ));
    }
    let memory = process.map(|p| p.memory.as_slice()).unwrap_or_default();
    out.push((
        "memory flat, <= 32 MiB per process while ~200 MB stream".to_owned(),
        if memory.is_empty() {
            Verdict::NotMeasured("no whole-process figures (benches/process.rs did not run)".into())
        } else {
            let text: Vec<String> = memory
                .iter()
                .map(|m| format!("{} ({}) {:.1} MiB", m.process, m.setup, m.peak_kib as f64 / 1024.0))
                .collect();
            if memory.iter().all(|m| m.peak_kib <= MEMORY_TARGET_KIB) {
                Verdict::Met(text.join(", "))
            } else {
                Verdict::Missed(text.join(", "))
            }
        },
    ));
    out
}

fn parse_trailing_ratio(s: &str) -> f64 {
    s.rsplit(' ').next().and_then(|r| r.trim_end_matches('x').parse().ok()).unwrap_or(f64::NAN)
}

fn judge_all(figures: &[String], ok: impl Fn(&str) -> bool, missing: &str) -> Verdict {
    if figures.is_empty() {
        Verdict::NotMeasured(missing.to_owned())
    } else if figures.iter().all(|f| ok(f)) {
        Verdict::Met(figures.join(", "))
    } else {
        Verdict::Missed(figures.join(", "))
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

/// The report as Markdown.
pub fn render(inputs: &Inputs) -> String {
    let all = &inputs.measurements;
    let mut md = String::new();
    let _ = writeln!(md, "# lambda-stream benchmark report\n");
    for note in &inputs.notes {
        let _ = writeln!(md, "- {note}");
    }
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
    let _ = writeln!(md, "\n## Whole-process figures\n");
    match &inputs.process {
        None => {
            let _ = writeln!(md, "Not measured: `benches/process.rs` wrote no `target/bench-process.json`.");
        }
        Some(p) => {
            let _ =
                writeln!(md, "| process | setup | RSS before (MiB) | peak VmHWM (MiB) |\n| --- | --- | --- | --- |");
            for m in &p.memory {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.1} | {:.1} |",
                    m.process,
                    m.setup,
                    m.before_kib as f64 / 1024.0,
                    m.peak_kib as f64 / 1024.0
                );
            }
            let _ = writeln!(
                md,
                "\n| large response through processes | bytes | seconds | MB/s |\n| --- | --- | --- | --- |"
            );
            for s in &p.streams {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.2} | {:.0} |",
                    s.setup,
                    s.bytes,
                    s.seconds,
                    s.bytes as f64 / 1e6 / s.seconds
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
    }
    let _ = writeln!(md, "\n## Targets\n\n| target | verdict | figures |\n| --- | --- | --- |");
    for (name, verdict) in verdicts(all, inputs.process.as_ref()) {
        let (word, text) = match verdict {
            Verdict::Met(t) => ("met", t),
            Verdict::Missed(t) => ("**MISSED**", t),
            Verdict::NotMeasured(t) => ("not measured", t),
        };
        let _ = writeln!(md, "| {name} | {word} | {text} |");
    }
    let _ = writeln!(md, "\n## Not measured\n");
    if inputs.skipped.is_empty() {
        let _ = writeln!(md, "Nothing was skipped.");
    }
    for (case, reason) in &inputs.skipped {
        let _ = writeln!(md, "- {case}: {reason}");
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, subject: &str, case: &str, median_ns: f64, bytes: Option<u64>) -> Measurement {
        Measurement { group: group.into(), subject: subject.into(), case: case.into(), median_ns, bytes }
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
        assert!(matches!(v["ahead of the official runtime (TTFB, throughput)"], Verdict::Met(_)));
        assert!(matches!(v["ahead of cargo-lambda's emulator (TTFB, throughput)"], Verdict::NotMeasured(_)));
        assert!(matches!(v["memory flat, <= 32 MiB per process while ~200 MB stream"], Verdict::NotMeasured(_)));

        let process = ProcessFigures {
            memory: vec![MemoryFigure {
                process: "emulator".into(),
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
    }
}
