//! HTML renderings: one run as a page ([`report`]) and several runs side by side ([`matrix`]).
//!
//! Each page is one self-contained file: inline style, no script, no font, image or link to
//! anything but the rule sources' own documentation, so it opens from `file://` and can be kept
//! as a CI artefact.
//!
//! - **One run**: a summary (rules pass / fail / expected fail / not run, scenarios, stale
//!   deviations), the rule table (verdict, evidence, section, source links, the scenarios that
//!   give evidence; a failing rule is highlighted), then per scenario its checks and a timeline
//!   drawn with the emulator's [`Timeline`]: the request sent, the response head, each chunk as a
//!   bar sized by its bytes, the time to first byte, the long gaps, the end or the abort, and on
//!   the local target the function's side of the wire on a second lane, so relay delay shows.
//! - **Matrix**: runs (runtimes × emulators) as columns, rules as rows, a verdict per cell and the
//!   cell's evidence on hover (the same view as `ci/expected/MATRIX.md`).
//!
//! Elements carry classes and `data-` attributes (`data-verdict`, `data-rule`, `data-scenario`)
//! so tests and readers can find them. All text is escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use lambda_stream_emulator::timeline::{Lane, Mark, MarkKind, Timeline, escape};
use serde::Deserialize;

use crate::catalogue::Catalogue;
use crate::check::Verdict;
use crate::run::{Report, ScenarioResult, ScenarioTimeline};

/// docs/sources.md: the short source keys and their URLs, for links.
const SOURCES_MD: &str = include_str!("../../../docs/sources.md");

const STYLE: &str = r#"
:root { --pass: #1f8a4c; --fail: #c8302c; --xfail: #b86e00; --notrun: #6b7280; --partial: #7a8b2e; --line: #dde; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; background: #f7f8fa; }
header, main { padding: 14px 24px; }
header { background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
h3 { font-size: 14px; margin: 0 0 4px; font-family: ui-monospace, monospace; }
.muted { color: #667; font-size: 12px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin-top: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card b { display: block; font-size: 22px; }
.verdict { display: inline-block; padding: 0 8px; border-radius: 9px; color: #fff; font-size: 12px; white-space: nowrap; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); }
.verdict.expected-fail { background: var(--xfail); } .verdict.not-run { background: var(--notrun); }
.verdict.partial { background: var(--partial); }
.overall.ok { color: var(--pass); } .overall.not-ok { color: var(--fail); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; overflow-wrap: anywhere; }
table.rules { table-layout: fixed; }
table.rules col.c-rule { width: 16%; } table.rules col.c-verdict { width: 8%; } table.rules col.c-evidence { width: 44%; }
table.rules col.c-section { width: 6%; } table.rules col.c-sources { width: 14%; } table.rules col.c-scenarios { width: 12%; }
th { background: #eef0f4; font-size: 12px; color: #445; }
td code, td.id { font-family: ui-monospace, monospace; font-size: 12px; }
tr.rule.fail, article.scenario.fail { background: #fdecec; border-left: 4px solid var(--fail); }
tr.rule.expected-fail { background: #fff6e6; }
ul.evidence { margin: 0; padding-left: 16px; }
ul.evidence li.failed { color: var(--fail); }
article.scenario { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; margin: 10px 0; }
article.scenario .timeline { margin-top: 6px; border: 1px solid var(--line); }
.legend span { margin-right: 14px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
td.cell { font-size: 12px; cursor: help; }
a { color: #2f5fb3; }
"#;

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Partial => "partial",
        Verdict::Fail => "fail",
        Verdict::ExpectedFail => "expected-fail",
        Verdict::NotRun => "not-run",
    }
}

fn badge(class: &str, label: &str) -> String {
    format!(r#"<span class="verdict {class}">{}</span>"#, escape(label))
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

/// Short source key → URL, read from docs/sources.md's tables (the first URL of each row).
fn source_urls() -> BTreeMap<String, String> {
    let mut urls = BTreeMap::new();
    for line in SOURCES_MD.lines().filter(|l| l.starts_with("| `")) {
        let Some(key) = line.split('`').nth(1) else { continue };
        let Some(url) = line.split('<').skip(1).find_map(|part| part.split_once('>').map(|(u, _)| u)) else {
            continue;
        };
        if url.starts_with("https://") {
            urls.insert(key.to_owned(), url.to_owned());
        }
    }
    urls
}

/// A rule's `source` (`RT-CUSTOM, RIE rapi/handler/x.go`) with each known key linked.
fn source_links(source: &str, urls: &BTreeMap<String, String>) -> String {
    source
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|part| {
            let (key, rest) = part.split_once(' ').unwrap_or((part, ""));
            match urls.get(key) {
                Some(url) => {
                    let rest = if rest.is_empty() { String::new() } else { format!(" {}", escape(rest)) };
                    format!(r#"<a href="{}">{}</a>{rest}"#, escape(url), escape(key))
                }
                None => escape(part),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn ms(at: f64) -> Duration {
    Duration::from_secs_f64(at.max(0.0) / 1000.0)
}

/// The two lanes of a scenario's timeline.
pub fn scenario_timeline(t: &ScenarioTimeline, status: Option<u16>) -> Timeline {
    let mut client = Lane::new("client")
        .mark(Mark::noted(Duration::ZERO, MarkKind::Request, "request sent"))
        .mark(Mark::noted(ms(t.head_ms), MarkKind::Head, status.map(|s| s.to_string()).unwrap_or_default()));
    client.marks.extend(t.chunks.iter().map(|c| Mark::new(ms(c.at_ms), MarkKind::Chunk { bytes: c.len as u64 })));
    client.marks.push(match &t.aborted {
        Some(reason) => Mark::noted(ms(t.end_ms), MarkKind::Abort, format!("cut: {reason}")),
        None => Mark::noted(ms(t.end_ms), MarkKind::End, "end"),
    });
    let mut lanes = vec![client];
    if let Some(r) = &t.runtime {
        let mut runtime = Lane::new("runtime").mark(Mark::noted(ms(r.taken_ms), MarkKind::Taken, "/next"));
        if let Some(head) = r.head_ms {
            runtime.marks.push(Mark::noted(ms(head), MarkKind::Head, "answer"));
        }
        runtime.marks.extend(r.chunks.iter().map(|c| Mark::new(ms(c.at_ms), MarkKind::Chunk { bytes: c.len as u64 })));
        if let Some(end) = r.end_ms {
            runtime.marks.push(match &r.error {
                Some(error) => Mark::noted(ms(end), MarkKind::Error, error),
                None => Mark::noted(ms(end), MarkKind::End, "end"),
            });
        }
        lanes.push(runtime);
    }
    Timeline::new(lanes)
}

/// Counts per verdict, in a fixed order.
fn counts(verdicts: impl Iterator<Item = Verdict>) -> [(Verdict, usize); 5] {
    let mut counts = [
        (Verdict::Pass, 0),
        (Verdict::Partial, 0),
        (Verdict::Fail, 0),
        (Verdict::ExpectedFail, 0),
        (Verdict::NotRun, 0),
    ];
    for v in verdicts {
        if let Some(entry) = counts.iter_mut().find(|(k, _)| *k == v) {
            entry.1 += 1;
        }
    }
    counts
}

fn cards(title: &str, counts: &[(Verdict, usize); 5]) -> String {
    let mut out = format!(r#"<div class="card"><span class="muted">{}</span>"#, escape(title));
    for (verdict, n) in counts {
        let _ = write!(
            out,
            r#"<div data-count="{}">{} {}</div>"#,
            verdict_class(*verdict),
            badge(verdict_class(*verdict), verdict.label()),
            n
        );
    }
    out.push_str("</div>");
    out
}

/// One run as a page (see the module doc).
pub fn report(report: &Report) -> String {
    let urls = source_urls();
    let texts: BTreeMap<String, String> =
        Catalogue::embedded().map(|c| c.rules.into_iter().map(|r| (r.id, r.text)).collect()).unwrap_or_default();
    let mut body = String::new();
    let rule_counts = counts(report.rules.iter().map(|r| r.verdict));
    let scenario_counts = counts(report.scenarios.iter().map(|s| s.verdict));
    let (overall, overall_class) = if report.ok() { ("OK", "ok") } else { ("NOT OK", "not-ok") };
    let _ = write!(
        body,
        r#"<header><h1>Conformance: {label}</h1><div class="muted">target {target} · {rules} rules, {scenarios} scenarios · generated by <code>lambda-stream conform --format html</code></div>
<section id="summary" class="cards"><div class="card"><span class="muted">run</span><b class="overall {overall_class}">{overall}</b><span class="muted">{unexpected} unexpected failure(s), {stale} stale deviation(s)</span></div>{rule_cards}{scenario_cards}</section></header>
<main>"#,
        label = escape(&report.label),
        target = escape(&report.target),
        rules = report.rules.len(),
        scenarios = report.scenarios.len(),
        unexpected = report.unexpected_failures().len(),
        stale = report.stale.len(),
        rule_cards = cards("rules", &rule_counts),
        scenario_cards = cards("scenarios", &scenario_counts),
    );

    body.push_str(r#"<h2 id="rules">Rules</h2><table class="rules"><colgroup><col class="c-rule"><col class="c-verdict"><col class="c-evidence"><col class="c-section"><col class="c-sources"><col class="c-scenarios"></colgroup><thead><tr><th>rule</th><th>verdict</th><th>evidence</th><th>section</th><th>sources</th><th>scenarios</th></tr></thead><tbody>"#);
    for rule in &report.rules {
        let class = verdict_class(rule.verdict);
        let evidence: String = rule
            .evidence
            .iter()
            .map(|e| {
                format!(
                    r#"<li class="{}">{}</li>"#,
                    if e.is_failure() { "failed" } else { "held" },
                    escape(&e.to_string())
                )
            })
            .collect();
        let deviation = rule
            .deviation
            .as_ref()
            .map(|d| format!(r#"<div class="muted">expected: {}</div>"#, escape(&d.reason)))
            .unwrap_or_default();
        let scenarios: Vec<String> =
            rule.scenarios.iter().map(|s| format!(r##"<a href="#scenario-{0}">{0}</a>"##, escape(s))).collect();
        let _ = write!(
            body,
            r#"<tr class="rule {class}" id="rule-{id}" data-rule="{id}" data-verdict="{class}"><td class="id" title="{text}">{id}</td><td>{verdict}</td><td><ul class="evidence">{evidence}</ul>{deviation}</td><td>{section}</td><td>{sources}</td><td>{scenarios}</td></tr>"#,
            id = escape(&rule.id),
            text = escape(texts.get(&rule.id).map_or("", String::as_str)),
            verdict = badge(class, rule.verdict.label()),
            section = escape(&rule.section),
            sources = source_links(&rule.source, &urls),
            scenarios = scenarios.join(", "),
        );
    }
    body.push_str("</tbody></table>");

    if !report.stale.is_empty() {
        body.push_str(r#"<h2 id="stale">Stale deviations</h2><p class="muted">Listed as expected to fail, but they passed: remove them from the expected file.</p><ul>"#);
        for d in &report.stale {
            let _ = write!(body, "<li>{}: {}</li>", escape(&d.subject()), escape(&d.reason));
        }
        body.push_str("</ul>");
    }

    body.push_str(r##"<h2 id="scenarios">Scenarios</h2><p class="legend muted"><span><i class="swatch" style="background:#5b6b7f"></i>request sent / taken by the runtime</span><span><i class="swatch" style="background:#7a4fbf"></i>response head</span><span><i class="swatch" style="background:#2f6fd6"></i>chunk (height grows with its bytes)</span><span><i class="swatch" style="background:#1f8a4c"></i>end</span><span><i class="swatch" style="background:#c8302c"></i>abort or error</span> Times are ms after the request was sent; the runtime lane is aligned on the emulator's receipt of the request.</p>"##);
    for s in &report.scenarios {
        scenario_html(&mut body, s);
    }
    body.push_str("</main>");
    page(&format!("conformance: {}", report.label), &body)
}

fn scenario_html(body: &mut String, s: &ScenarioResult) {
    let class = verdict_class(s.verdict);
    let status = s.status.map_or_else(|| "-".to_owned(), |st| st.to_string());
    let ttfb = s.ttfb_ms.map_or_else(|| "-".to_owned(), |t| format!("{t:.1} ms"));
    let _ = write!(
        body,
        r#"<article class="scenario {class}" id="scenario-{name}" data-scenario="{name}" data-verdict="{class}"><h3>{name} {verdict}</h3><div class="muted">{description} · handler {handler} · {path} · status {status} · TTFB {ttfb} · {chunks} chunk(s)</div>"#,
        name = escape(&s.name),
        verdict = badge(class, s.verdict.label()),
        description = escape(&s.description),
        handler = escape(&s.handler),
        path = escape(&s.path),
        chunks = s.chunk_ms.len(),
    );
    if let Some(note) = &s.note {
        let _ = write!(body, r#"<div class="muted">note: {}</div>"#, escape(note));
    }
    let failed: Vec<String> = s
        .blocks
        .iter()
        .flat_map(|b| b.checks.iter().filter(|c| !c.ok).map(move |c| (b, c)))
        .map(|(b, c)| format!("<li class=\"failed\">[{}] {}</li>", escape(&b.rules.join(", ")), escape(&c.to_string())))
        .collect();
    if !failed.is_empty() {
        let _ = write!(body, r#"<ul class="evidence">{}</ul>"#, failed.join(""));
    }
    if let Some(t) = &s.timeline {
        body.push_str(&scenario_timeline(t, s.status).to_svg());
    }
    body.push_str("</article>");
}

/// One column of the matrix: a run's JSON report (`conform --format json`), the parts shown.
#[derive(Debug, Clone, Deserialize)]
pub struct MatrixRun {
    /// The run's label (the column's name).
    pub label: String,
    /// Target kind.
    pub target: String,
    /// Per rule.
    pub rules: Vec<MatrixRule>,
    /// Stale deviations.
    #[serde(default)]
    pub stale: Vec<serde_json::Value>,
}

/// One rule of one run.
#[derive(Debug, Clone, Deserialize)]
pub struct MatrixRule {
    /// Rule id.
    pub id: String,
    /// `pass`, `partial`, `fail`, `expected-fail` or `not-run`.
    pub verdict: String,
    /// The evidence, as text.
    #[serde(default)]
    pub evidence: Vec<String>,
}

impl MatrixRun {
    /// Reads a JSON report.
    pub fn parse(json: &str) -> Result<Self, crate::Error> {
        serde_json::from_str(json).map_err(|e| crate::Error::Report(format!("not a conform JSON report: {e}")))
    }
}

fn verdict_label(verdict: &str) -> &str {
    match verdict {
        "fail" => "FAIL",
        "expected-fail" => "expected-fail",
        "not-run" => "not run",
        other => other,
    }
}

/// Several runs side by side: rules as rows, runs as columns, evidence on hover.
pub fn matrix(runs: &[MatrixRun]) -> String {
    let mut ids: Vec<&str> = Vec::new();
    for run in runs {
        for rule in &run.rules {
            if !ids.contains(&rule.id.as_str()) {
                ids.push(&rule.id);
            }
        }
    }
    let mut body = format!(
        r#"<header><h1>Conformance matrix</h1><div class="muted">{} run(s) × {} rule(s) · hover a cell for its evidence · generated by <code>lambda-stream report</code></div></header><main><table class="matrix"><thead><tr><th>rule</th>"#,
        runs.len(),
        ids.len()
    );
    for run in runs {
        let failing = run.rules.iter().filter(|r| r.verdict == "fail").count();
        let _ = write!(
            body,
            r#"<th data-run="{label}">{label}<div class="muted">{target}; {failing} unexpected failure(s), {stale} stale</div></th>"#,
            label = escape(&run.label),
            target = escape(&run.target),
            stale = run.stale.len(),
        );
    }
    body.push_str("</tr></thead><tbody>");
    for id in &ids {
        let _ = write!(body, r#"<tr data-rule="{0}"><td class="id">{0}</td>"#, escape(id));
        for run in runs {
            match run.rules.iter().find(|r| r.id == *id) {
                Some(rule) => {
                    let evidence = rule.evidence.join("\n");
                    let class =
                        if matches!(rule.verdict.as_str(), "pass" | "partial" | "fail" | "expected-fail" | "not-run") {
                            rule.verdict.as_str()
                        } else {
                            "not-run"
                        };
                    let _ = write!(
                        body,
                        r#"<td class="cell" data-verdict="{class}" title="{}">{}</td>"#,
                        escape(&evidence),
                        badge(class, verdict_label(&rule.verdict))
                    );
                }
                None => {
                    body.push_str(r#"<td class="cell" data-verdict="absent" title="this run has no such rule">–</td>"#)
                }
            }
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></main>");
    page("conformance matrix", &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{RuntimeTimeline, TimedChunk};

    #[test]
    fn source_keys_link_to_their_documents() {
        let urls = source_urls();
        assert!(urls.get("RT-API").is_some_and(|u| u.starts_with("https://docs.aws.amazon.com/")), "{urls:?}");
        let links = source_links("RT-API, RIE rapi/handler/x.go, PROJECT", &urls);
        assert!(links.contains(r#"<a href="https://docs.aws.amazon.com/"#), "{links}");
        assert!(links.contains("rapi/handler/x.go") && links.contains("PROJECT"), "{links}");
    }

    #[test]
    fn a_scenario_timeline_has_the_client_lane_and_the_runtime_lane() {
        let t = ScenarioTimeline {
            head_ms: 3.0,
            chunks: vec![TimedChunk { at_ms: 4.0, len: 10 }, TimedChunk { at_ms: 504.0, len: 10 }],
            end_ms: 505.0,
            aborted: Some("Oops".into()),
            runtime: Some(RuntimeTimeline {
                taken_ms: 0.5,
                head_ms: Some(1.0),
                chunks: vec![TimedChunk { at_ms: 2.0, len: 80 }, TimedChunk { at_ms: 503.0, len: 10 }],
                end_ms: Some(504.0),
                error: Some("Function.Oops".into()),
            }),
        };
        let svg = scenario_timeline(&t, Some(200)).to_svg();
        assert_eq!(svg.matches(r#"class="mark chunk""#).count(), 4);
        assert!(svg.contains(r#"data-lane="runtime""#) && svg.contains(r#"class="mark abort""#));
        assert!(svg.contains("Function.Oops"));
    }

    #[test]
    fn the_matrix_shows_every_rule_of_every_run_with_its_evidence_on_hover() {
        let a = MatrixRun::parse(r#"{"label":"ours","target":"local","rules":[{"id":"r1","verdict":"pass","evidence":["ok"]},{"id":"r2","verdict":"fail","evidence":["s: expected <x>; saw y"]}],"stale":[]}"#).unwrap();
        let b = MatrixRun::parse(r#"{"label":"official","target":"local","rules":[{"id":"r1","verdict":"expected-fail","evidence":["why"]}]}"#).unwrap();
        let html = matrix(&[a, b]);
        assert_eq!(html.matches(r#"<tr data-rule="#).count(), 2);
        assert_eq!(html.matches(r#"class="cell""#).count(), 4);
        assert!(html.contains(r#"title="s: expected &lt;x&gt;; saw y""#), "evidence escaped, on hover");
        assert!(html.contains(r#"data-verdict="absent""#), "official has no r2");
        assert!(!html.contains("<script"));
        assert!(MatrixRun::parse("{}").is_err());
    }
}
