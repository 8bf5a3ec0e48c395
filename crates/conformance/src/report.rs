//! Reports of a [`Report`]: a terminal table, JSON, JUnit XML (written with `quick-junit`, so CI
//! systems read it without surprises), and a self-contained HTML page with timelines
//! ([`crate::html`]).

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::Error;
use crate::check::Verdict;
use crate::run::Report;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The terminal table.
    Table,
    /// JSON of the whole report.
    Json,
    /// JUnit XML: one suite of scenarios, one of rules.
    Junit,
    /// One self-contained HTML page: summary, rule table, a timeline per scenario.
    Html,
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format) -> Result<String, Error> {
    match format {
        Format::Table => Ok(table(report)),
        Format::Json => serde_json::to_string_pretty(report).map_err(|e| Error::Report(e.to_string())),
        Format::Junit => junit(report),
        Format::Html => Ok(crate::html::report(report)),
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"))
}

/// The terminal table: per scenario (verdict, status, TTFB, chunk arrivals), per rule (verdict,
/// evidence), then stale deviations and a summary line.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "conformance: {} (target {})\n", report.label, report.target);
    let _ = writeln!(out, "{:<44} {:<13} {:>6} {:>8}  chunks at (ms)", "scenario", "verdict", "status", "ttfb ms");
    for s in &report.scenarios {
        let chunks: Vec<String> = s.chunk_ms.iter().take(8).map(|t| format!("{t:.0}")).collect();
        let more = if s.chunk_ms.len() > 8 { format!(" ...{} in all", s.chunk_ms.len()) } else { String::new() };
        let status = s.status.map_or_else(|| "-".to_owned(), |st| st.to_string());
        let _ = writeln!(
            out,
            "{:<44} {:<13} {:>6} {:>8}  [{}{more}]",
            s.name,
            s.verdict.label(),
            status,
            ms(s.ttfb_ms),
            chunks.join(", ")
        );
        if let Some(note) = &s.note {
            let _ = writeln!(out, "    note: {note}");
        }
        if s.verdict == Verdict::Fail || s.verdict == Verdict::ExpectedFail {
            for b in s.blocks.iter().filter(|b| b.verdict == Verdict::Fail) {
                for c in b.checks.iter().filter(|c| !c.ok) {
                    let _ = writeln!(out, "    {}: {c}", b.rules.join(", "));
                }
            }
        }
    }
    let _ = writeln!(out, "\n{:<36} {:<13} evidence", "rule", "verdict");
    for r in &report.rules {
        let first = r.evidence.first().map(ToString::to_string).unwrap_or_default();
        let _ = writeln!(out, "{:<36} {:<13} {first}", r.id, r.verdict.label());
        // The checks that carry a passing rule, what a partial one lacks, what failed.
        let more = if r.verdict == Verdict::Partial { 8 } else { 3 };
        for e in r.evidence.iter().skip(1).take(more) {
            let _ = writeln!(out, "{:<50} {e}", "");
        }
        if let Some(d) = &r.deviation {
            let _ = writeln!(out, "{:<50} expected deviation: {}", "", d.reason);
        }
    }
    for d in &report.stale {
        let _ = writeln!(out, "\nSTALE expected deviation: {} no longer fails ({})", d.subject(), d.reason);
    }
    for (scenario, error) in report.target_errors() {
        let _ = writeln!(out, "\nTARGET ERROR in {scenario}: {error}");
    }
    let count = |v: Verdict| report.rules.iter().filter(|r| r.verdict == v).count();
    for r in report.incomplete() {
        let _ = writeln!(
            out,
            "\nINCOMPLETE: {} is {} on a target whose expected file wants every rule judged in full",
            r.id,
            r.verdict.label()
        );
    }
    let _ = writeln!(
        out,
        "\nrules: {} pass, {} partial, {} FAIL, {} expected-fail, {} not run; scenarios: {}; stale deviations: {}",
        count(Verdict::Pass),
        count(Verdict::Partial),
        count(Verdict::Fail),
        count(Verdict::ExpectedFail),
        count(Verdict::NotRun),
        report.scenarios.len(),
        report.stale.len()
    );
    out
}

fn case(name: &str, verdict: Verdict, message: &str, detail: &str) -> TestCase {
    let status = match verdict {
        Verdict::Pass | Verdict::ExpectedFail => TestCaseStatus::success(),
        // Partial is not a pass: reported as skipped, with what was not checked.
        Verdict::NotRun | Verdict::Partial => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(message.to_owned());
            if verdict == Verdict::Partial {
                s.set_description(detail.to_owned());
            }
            s
        }
        Verdict::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(message.to_owned());
            s.set_description(detail.to_owned());
            s
        }
    };
    let mut case = TestCase::new(name.to_owned(), status);
    if verdict == Verdict::ExpectedFail {
        case.set_system_out(format!("expected deviation: {message}"));
    }
    case
}

/// JUnit XML: suite `scenarios` (one case per scenario) and suite `rules` (one case per rule);
/// not-run cases are skipped, expected failures pass with the reason in system-out.
pub fn junit(report: &Report) -> Result<String, Error> {
    let mut junit = quick_junit::Report::new(format!("lambda-stream conform: {}", report.label));
    let mut scenarios = TestSuite::new("scenarios");
    for s in &report.scenarios {
        let failed: Vec<String> = s
            .blocks
            .iter()
            .flat_map(|b| b.checks.iter().filter(|c| !c.ok).map(move |c| format!("{}: {c}", b.rules.join(", "))))
            .collect();
        let message = match s.verdict {
            Verdict::ExpectedFail => {
                s.deviation.as_ref().map_or("failing rules are expected deviations".to_owned(), |d| d.reason.clone())
            }
            _ => s.note.clone().or_else(|| failed.first().cloned()).unwrap_or_default(),
        };
        scenarios.add_test_case(case(&s.name, s.verdict, &message, &failed.join("\n")));
    }
    let mut rules = TestSuite::new("rules");
    for r in &report.rules {
        let first_unchecked = r.evidence.iter().find(|e| matches!(e, crate::run::Evidence::Unchecked { .. }));
        let message = match (&r.deviation, r.evidence.first()) {
            (Some(d), _) if r.verdict == Verdict::ExpectedFail => d.reason.clone(),
            _ if r.verdict == Verdict::Partial => {
                format!("partial: {}", first_unchecked.map(ToString::to_string).unwrap_or_default())
            }
            (_, Some(e)) => e.to_string(),
            _ => String::new(),
        };
        let detail: Vec<String> = r.evidence.iter().map(ToString::to_string).collect();
        rules.add_test_case(case(&r.id, r.verdict, &message, &detail.join("\n")));
    }
    for d in &report.stale {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(format!("stale expected deviation: {} no longer fails", d.subject()));
        rules.add_test_case(TestCase::new(format!("stale: {}", d.subject()), status));
    }
    for r in report.incomplete() {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(format!("{} is {}: this target must judge every rule in full", r.id, r.verdict.label()));
        rules.add_test_case(TestCase::new(format!("incomplete: {}", r.id), status));
    }
    // A target error is the run's failure, not a rule's: one error case per scenario it hit.
    for (scenario, error) in report.target_errors() {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(format!("target error: {error}"));
        scenarios.add_test_case(TestCase::new(format!("target error: {scenario}"), status));
    }
    junit.add_test_suite(scenarios);
    junit.add_test_suite(rules);
    junit.to_string().map_err(|e| Error::Report(e.to_string()))
}
