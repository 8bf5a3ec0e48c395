//! The benchmark report as one self-contained HTML page with plots (`target/bench-report.html`,
//! written by `bench-report` beside the Markdown one).
//!
//! The same [`Inputs`] as the Markdown report, drawn as inline SVG (no script, no external asset;
//! it opens from `file://`):
//! - **targets**: each of the issue's targets with its verdict (met, missed, not measured) and
//!   its figures, as the Markdown report judges them (on unrounded numbers);
//! - **ratio to the floor**, per figure (criterion group): one bar per subject and case, with the
//!   floor (1x) and, for TTFB, the 1.5x target drawn as lines;
//! - **peers side by side**: per figure and case, the medians of ours, the official runtime and
//!   cargo-lambda's emulator next to each other;
//! - **TTFB distributions**: every criterion sample of the TTFB figures as a dot (time per
//!   iteration), with the median marked, so the spread shows and not only the middle;
//! - **throughput** in MB/s and **memory** (peak RSS per process, with the 32 MiB target);
//! - what was not measured, and why.

use std::fmt::Write as _;

use lambda_stream_emulator::timeline::escape;

use crate::report::{
    FLOOR, Inputs, MEMORY_TARGET_KIB, Measurement, TTFB_MAX_RATIO, Verdict, baseline_ratios, cargo_lambda_subject,
    compare, floor_for, human_time, official_subject, ratio, same_case, verdicts,
};

const WIDTH: f64 = 900.0;
const LABEL: f64 = 330.0;
const BAR: f64 = 18.0;

const STYLE: &str = r#"
body { margin: 0; padding: 16px 28px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; background: #f7f8fa; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; } h3 { font-size: 14px; margin: 14px 0 4px; font-family: ui-monospace, monospace; }
.muted { color: #667; font-size: 12px; }
table { border-collapse: collapse; background: #fff; border: 1px solid #dde; width: 100%; }
th, td { padding: 5px 8px; border-bottom: 1px solid #dde; text-align: left; vertical-align: top; }
th { background: #eef0f4; font-size: 12px; }
tr.met td.verdict { color: #1f8a4c; font-weight: 600; } tr.missed td.verdict { color: #c8302c; font-weight: 600; }
tr.missed { background: #fdecec; } tr.not-measured td.verdict { color: #6b7280; }
svg.plot { background: #fff; border: 1px solid #dde; display: block; margin: 4px 0 10px; }
"#;

/// Colour of a subject's bars: ours blue, the official runtime grey-violet, cargo-lambda orange,
/// the floor green.
fn colour(subject: &str) -> &'static str {
    if subject == FLOOR {
        "#1f8a4c"
    } else if subject.starts_with("cargo-lambda") {
        "#d98a00"
    } else if subject.contains("official") {
        "#7a5fa0"
    } else {
        "#2f6fd6"
    }
}

/// A horizontal bar chart: one bar per row, with vertical reference lines.
fn bars(rows: &[(String, f64, &str, String)], lines: &[(f64, &str)]) -> String {
    let max = rows.iter().map(|r| r.1).chain(lines.iter().map(|l| l.0)).fold(0.0_f64, f64::max).max(f64::MIN_POSITIVE);
    let scale = (WIDTH - LABEL - 90.0) / (max * 1.05);
    let height = 20.0 + BAR * 1.4 * rows.len() as f64;
    let mut svg = format!(
        r#"<svg class="plot bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" font-size="11" font-family="sans-serif">"#
    );
    for (i, (label, value, fill, text)) in rows.iter().enumerate() {
        let y = 10.0 + BAR * 1.4 * i as f64;
        let _ = write!(
            svg,
            r##"<g class="bar"><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">{}</text><rect x="{LABEL}" y="{y:.1}" width="{:.1}" height="{BAR}" fill="{fill}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" fill="#333">{}</text></g>"##,
            LABEL - 6.0,
            y + BAR * 0.72,
            escape(label),
            (value * scale).max(1.0),
            escape(label),
            escape(text),
            LABEL + (value * scale).max(1.0) + 4.0,
            y + BAR * 0.72,
            escape(text),
        );
    }
    for (i, (value, label)) in lines.iter().enumerate() {
        let x = LABEL + value * scale;
        // Labels alternate between the bottom and the top, so close lines do not overlap them.
        let label_y = if i % 2 == 0 { height - 6.0 } else { 12.0 };
        let _ = write!(
            svg,
            r##"<g class="reference"><line x1="{x:.1}" y1="4" x2="{x:.1}" y2="{:.1}" stroke="#c8302c" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" fill="#c8302c" font-size="10">{}</text></g>"##,
            height - 4.0,
            x + 3.0,
            label_y,
            escape(label),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Each sample as a dot on a time axis, one row per measurement, its median as a tick.
fn strips(rows: &[&Measurement]) -> String {
    let all = rows.iter().flat_map(|m| m.samples_ns.iter().copied().chain([m.median_ns]));
    let max = all.fold(0.0_f64, f64::max).max(1.0);
    let scale = (WIDTH - LABEL - 30.0) / (max * 1.05);
    let height = 34.0 + 24.0 * rows.len() as f64;
    let mut svg = format!(
        r#"<svg class="plot strips" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" font-size="11" font-family="sans-serif">"#
    );
    for (i, m) in rows.iter().enumerate() {
        let y = 16.0 + 24.0 * i as f64;
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">{}</text>"##,
            LABEL - 6.0,
            y + 4.0,
            escape(&format!("{} {}", m.subject, m.case))
        );
        for s in &m.samples_ns {
            let _ = write!(
                svg,
                r#"<circle class="sample" cx="{:.1}" cy="{y:.1}" r="2.5" fill="{}" fill-opacity="0.45"/>"#,
                LABEL + s * scale,
                colour(&m.subject)
            );
        }
        let x = LABEL + m.median_ns * scale;
        let _ = write!(
            svg,
            r##"<line class="median" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#111" stroke-width="2"><title>median {}</title></line>"##,
            y - 8.0,
            y + 8.0,
            human_time(m.median_ns)
        );
    }
    let axis = height - 12.0;
    let _ = write!(
        svg,
        r##"<line x1="{LABEL}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999"/><text x="{LABEL}" y="{:.1}" fill="#666">0</text><text x="{:.1}" y="{:.1}" fill="#666" text-anchor="end">{}</text></svg>"##,
        axis - 8.0,
        WIDTH - 30.0,
        axis - 8.0,
        axis + 4.0,
        WIDTH - 30.0,
        axis + 4.0,
        human_time(max * 1.05)
    );
    svg
}

fn groups(all: &[Measurement]) -> Vec<&str> {
    let mut groups: Vec<&str> = Vec::new();
    for m in all {
        if !groups.contains(&m.group.as_str()) {
            groups.push(&m.group);
        }
    }
    groups
}

/// The page (see the module doc).
pub fn render(inputs: &Inputs) -> String {
    let all = &inputs.measurements;
    let mut body = String::from("<h1>lambda-stream benchmark report</h1>");
    for note in &inputs.notes {
        let _ = write!(body, r#"<div class="muted">{}</div>"#, escape(note));
    }

    body.push_str(r#"<h2 id="targets">Targets</h2><table class="targets"><thead><tr><th>target</th><th>verdict</th><th>figures</th></tr></thead><tbody>"#);
    for (name, verdict) in verdicts(inputs) {
        let class = match verdict {
            Verdict::Met(_) => "met",
            Verdict::Missed(_) => "missed",
            Verdict::NotMeasured(_) => "not-measured",
        };
        let (word, text) = verdict.text();
        let _ = write!(
            body,
            r#"<tr class="{class}"><td>{}</td><td class="verdict">{}</td><td>{}</td></tr>"#,
            escape(&name),
            escape(&word.replace("**", "")),
            escape(&text)
        );
    }
    body.push_str("</tbody></table>");

    body.push_str(r#"<h2 id="concurrency">Concurrency</h2><table><thead><tr><th>subject</th><th>path</th><th>N</th><th>invocations</th><th>p50 TTFB</th><th>p99 TTFB</th><th>MB/s</th><th>emulator CPU s/GB</th></tr></thead><tbody>"#);
    for f in &inputs.concurrency {
        let cpu = f.emulator_cpu_s_per_gb.map_or("-".to_owned(), |c| format!("{c:.2}"));
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{cpu}</td></tr>",
            escape(&f.subject),
            escape(&f.path),
            f.concurrency,
            f.invocations,
            human_time(f.p50_ttfb_ns),
            human_time(f.p99_ttfb_ns),
            f.mb_per_s
        );
    }
    if inputs.concurrency.is_empty() {
        body.push_str(r#"<tr><td colspan="8">Not measured: no concurrency figures from this run.</td></tr>"#);
    }
    body.push_str("</tbody></table>");

    if let Some(baseline) = &inputs.baseline {
        let comparisons = compare(baseline, &baseline_ratios(inputs));
        let _ = write!(
            body,
            r#"<h2 id="baseline">Against the baseline</h2><p class="muted">{}. Positive change = worse; flagged when worse by more than 25%, and marked whether this run's spread (the ratio over the middle half of each side's samples) is apart from the baseline's or overlaps it (then rerun before looking for a cause).</p><table><thead><tr><th>ratio</th><th>baseline</th><th>now</th><th>spread now</th><th>change</th><th></th></tr></thead><tbody>"#,
            escape(&baseline.note)
        );
        for c in &comparisons {
            let class = if c.flagged() { "missed" } else { "met" };
            let _ = write!(
                body,
                r#"<tr class="{class}"><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{:+.0}%</td><td class="verdict">{}</td></tr>"#,
                escape(&c.key),
                c.before,
                c.now,
                c.spread_text(),
                c.worse_by * 100.0,
                escape(&c.mark().replace("**", ""))
            );
        }
        body.push_str("</tbody></table>");
    }

    body.push_str(r#"<h2 id="floor">Ratio to the floor, per figure</h2><p class="muted">Latency figures: time ÷ the floor's time (lower is better). Throughput: MB/s ÷ the floor's MB/s (higher is better). The floor is a plain hyper server and client doing the same work without Lambda in between.</p>"#);
    if all.is_empty() {
        body.push_str("<p>No criterion results from this run.</p>");
    }
    for group in groups(all) {
        let rows: Vec<(String, f64, &str, String)> = all
            .iter()
            .filter(|m| m.group == group && m.subject != FLOOR)
            .filter_map(|m| {
                let floor = floor_for(all, m)?;
                let r = ratio(m, floor);
                Some((format!("{} {}", m.subject, m.case), r, colour(&m.subject), format!("{r:.2}x")))
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let mut lines = vec![(1.0, "floor 1x")];
        if group.starts_with("ttfb") || group.starts_with("chunk_latency") {
            lines.push((TTFB_MAX_RATIO, "target 1.2x"));
        }
        let _ = write!(body, "<h3>{}</h3>{}", escape(group), bars(&rows, &lines));
    }

    body.push_str(r#"<h2 id="peers">Peers side by side</h2><p class="muted">Median per iteration, same figure and case: ours (blue), the official runtime under our emulator (violet), the same binary under cargo-lambda's emulator (orange).</p>"#);
    let mut any_peer = false;
    for m in all.iter().filter(|m| {
        m.subject.ends_with("-process") && !m.subject.starts_with("cargo-lambda") && !m.subject.contains("official")
    }) {
        let peers: Vec<&Measurement> = [official_subject(&m.subject), cargo_lambda_subject(&m.subject)]
            .into_iter()
            .flatten()
            .filter_map(|s| same_case(all, m, &s))
            .collect();
        if peers.is_empty() {
            continue;
        }
        any_peer = true;
        let rows: Vec<(String, f64, &str, String)> = std::iter::once(m)
            .chain(peers)
            .map(|p| (p.subject.clone(), p.median_ns, colour(&p.subject), human_time(p.median_ns)))
            .collect();
        let _ = write!(body, "<h3>{} {}</h3>{}", escape(&m.group), escape(&m.case), bars(&rows, &[]));
    }
    if !any_peer {
        body.push_str("<p>No peer was measured in this run (see Not measured).</p>");
    }

    body.push_str(r#"<h2 id="ttfb">TTFB distributions</h2><p class="muted">Each dot is one criterion sample (time per iteration); the black tick is the median.</p>"#);
    let ttfb: Vec<&Measurement> =
        all.iter().filter(|m| m.group.starts_with("ttfb") && !m.samples_ns.is_empty()).collect();
    if ttfb.is_empty() {
        body.push_str("<p>No TTFB samples in this run.</p>");
    }
    for group in groups(all).into_iter().filter(|g| g.starts_with("ttfb")) {
        let rows: Vec<&Measurement> = ttfb.iter().copied().filter(|m| m.group == group).collect();
        if !rows.is_empty() {
            let _ = write!(body, "<h3>{}</h3>{}", escape(group), strips(&rows));
        }
    }

    body.push_str(r#"<h2 id="throughput">Throughput</h2>"#);
    let rates: Vec<(String, f64, &str, String)> = all
        .iter()
        .filter_map(|m| {
            m.mb_per_s().map(|r| {
                (format!("{} {} {}", m.group, m.subject, m.case), r, colour(&m.subject), format!("{r:.0} MB/s"))
            })
        })
        .collect();
    body.push_str(&if rates.is_empty() {
        "<p>No throughput figure in this run.</p>".to_owned()
    } else {
        bars(&rates, &[])
    });

    body.push_str(r#"<h2 id="memory">Memory</h2><p class="muted">Peak RSS (VmHWM) of each process while a large response streamed through it.</p>"#);
    match &inputs.process {
        Some(p) if !p.memory.is_empty() => {
            let rows: Vec<(String, f64, &str, String)> = p
                .memory
                .iter()
                .map(|m| {
                    let mib = m.peak_kib as f64 / 1024.0;
                    (format!("{} ({})", m.process, m.setup), mib, "#2f6fd6", format!("{mib:.1} MiB"))
                })
                .collect();
            body.push_str(&bars(&rows, &[(MEMORY_TARGET_KIB as f64 / 1024.0, "target 32 MiB")]));
        }
        _ => body.push_str("<p>Not measured: no whole-process figures from this run.</p>"),
    }

    body.push_str(r#"<h2 id="skipped">Not measured</h2><ul>"#);
    if inputs.skipped.is_empty() {
        body.push_str("<li>Nothing was skipped.</li>");
    }
    for (case, reason) in &inputs.skipped {
        let _ = write!(body, "<li>{}: {}</li>", escape(case), escape(reason));
    }
    body.push_str("</ul>");
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lambda-stream benchmark report</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Baseline, BaselineRatio, MemoryFigure, ProcessFigures};

    fn m(group: &str, subject: &str, case: &str, median_ns: f64, samples: &[f64]) -> Measurement {
        Measurement {
            group: group.into(),
            subject: subject.into(),
            case: case.into(),
            median_ns,
            bytes: None,
            samples_ns: samples.to_vec(),
        }
    }

    #[test]
    fn every_figure_gets_its_plot() {
        let mut throughput = m("throughput_function_url", "lambda-stream", "64MiB", 1e8, &[]);
        throughput.bytes = Some(64 << 20);
        let mut floor_rate = m("throughput_function_url", FLOOR, "64MiB", 5e7, &[]);
        floor_rate.bytes = Some(64 << 20);
        let inputs = Inputs {
            measurements: vec![
                m("ttfb_function_url", FLOOR, "16B", 100_000.0, &[90_000.0, 100_000.0, 120_000.0]),
                m("ttfb_function_url", "lambda-stream-process", "16B", 180_000.0, &[170_000.0, 180_000.0]),
                m("ttfb_function_url", "official-process", "16B", 200_000.0, &[]),
                m("ttfb_function_url", "cargo-lambda+lambda-stream-process", "16B", 400_000.0, &[]),
                throughput,
                floor_rate,
            ],
            process: Some(ProcessFigures {
                memory: vec![MemoryFigure {
                    process: "emulate".into(),
                    runtime: "lambda-stream".into(),
                    setup: "<200 MB>".into(),
                    before_kib: 1000,
                    peak_kib: 9000,
                }],
                ..ProcessFigures::default()
            }),
            skipped: vec![("x".into(), "no <docker>".into())],
            notes: vec!["mode: short".into()],
            baseline: Some(Baseline {
                note: "then".into(),
                ratios: [(
                    "ttfb_function_url x floor: lambda-stream-process 16B".to_owned(),
                    BaselineRatio { value: 1.0, higher_is_better: false, spread: None },
                )]
                .into(),
            }),
            ..Inputs::default()
        };
        let html = render(&inputs);
        // The baseline row: 1.00x -> 1.80x the floor, flagged; three samples are too few for a
        // spread, so the flag says it cannot tell noise from change.
        assert!(
            html.contains(r#"<tr class="missed"><td>ttfb_function_url x floor: lambda-stream-process 16B</td><td>1.00</td><td>1.80</td><td>–</td><td>+80%</td><td class="verdict">WORSE, no samples to judge the noise</td></tr>"#),
            "{html}"
        );
        // Ratios: three non-floor TTFB rows and one throughput row, each one bar.
        let floor_section = html.split(r#"id="floor""#).nth(1).unwrap().split(r#"id="peers""#).next().unwrap();
        assert_eq!(floor_section.matches(r#"<g class="bar">"#).count(), 4, "{floor_section}");
        assert!(floor_section.contains("1.80x") && floor_section.contains("target 1.2x"));
        // Peers: ours, official, cargo-lambda side by side for the one case.
        let peers = html.split(r#"id="peers""#).nth(1).unwrap().split(r#"id="ttfb""#).next().unwrap();
        assert_eq!(peers.matches(r#"<g class="bar">"#).count(), 3, "{peers}");
        // Distributions: one dot per sample, one median tick per measured row with samples.
        assert_eq!(html.matches(r#"class="sample""#).count(), 5);
        assert_eq!(html.matches(r#"class="median""#).count(), 2);
        assert!(html.contains("MB/s") && html.contains("target 32 MiB") && html.contains("8.8 MiB"));
        assert!(html.contains("no &lt;docker&gt;") && html.contains("&lt;200 MB&gt;"), "escaped");
        assert!(!html.contains("<script") && !html.contains("NaN"));
    }

    #[test]
    fn an_empty_run_says_so() {
        let html = render(&Inputs::default());
        assert!(html.contains("No criterion results from this run."));
        assert!(html.contains("Not measured: no whole-process figures"));
    }
}
