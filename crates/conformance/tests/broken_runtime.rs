//! The deliberately broken runtime (`src/bin/broken_runtime.rs`) fails the rules each of its
//! defects breaks, and only those; without defects it fails nothing. This is what keeps the
//! suite honest: it can tell a broken runtime from a good one, rule by rule.

mod common;

use std::collections::BTreeSet;

use lambda_stream_conformance::check::Verdict;
use lambda_stream_conformance::run::{Report, RunOptions, run};
use lambda_stream_conformance::{Catalogue, scenario};

fn run_broken(defects: &str) -> Report {
    let mut options = RunOptions::new(common::broken(defects));
    options.label = format!("broken-runtime --break {defects}");
    let catalogue = Catalogue::embedded().unwrap();
    common::tokio().block_on(run(&catalogue, scenario::embedded().unwrap(), &options)).unwrap()
}

fn failing(report: &Report) -> BTreeSet<&str> {
    report.rules_with(Verdict::Fail).into_iter().collect()
}

/// `unjudged`: rules whose evidence the defect removes rather than contradicts (no trailers at all
/// leaves their encoding unjudged); they must come out "not run", never "pass".
fn assert_fails_exactly(defect: &str, expected: &[&str], unjudged: &[&str]) {
    let report = run_broken(defect);
    let expected: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(
        failing(&report),
        expected,
        "defect {defect}: the failing rules differ from the rules it breaks\n{}",
        lambda_stream_conformance::report::table(&report)
    );
    // Everything it does not break still passes: the defect did not knock out unrelated evidence.
    let control = run_broken("");
    for rule in control.rules_with(Verdict::Pass) {
        let verdict = report.rule(rule).unwrap().verdict;
        if unjudged.contains(&rule) {
            assert_eq!(verdict, Verdict::NotRun, "defect {defect}: {rule}");
        } else if !expected.contains(rule) {
            assert_eq!(verdict, Verdict::Pass, "defect {defect} changed {rule}");
        }
    }
}

#[test]
fn without_defects_it_fails_nothing_and_passes_what_it_can_run() {
    let report = run_broken("");
    let table = lambda_stream_conformance::report::table(&report);
    assert!(failing(&report).is_empty(), "{table}");
    // The probe's rules cannot run (no probe on this runtime); every other rule must pass.
    let not_run: BTreeSet<&str> = report.rules_with(Verdict::NotRun).into_iter().collect();
    let probe_only: BTreeSet<&str> = [
        "url.prelude-any-split",
        "url.remapped-content-length",
        "url.no-prelude-content-type",
        "writer.finish-twice",
        "writer.write-after-finish",
        "writer.headers-after-body",
        "writer.return-without-finish",
    ]
    .into();
    assert_eq!(not_run, probe_only, "{table}");
    assert!(report.scenarios.iter().filter(|s| s.handler == "probe").all(|s| s.verdict == Verdict::NotRun));
    assert!(report.ok(), "{table}");
}

#[test]
fn error_text_in_the_body_fails_the_trailer_rules() {
    assert_fails_exactly(
        "error-in-body",
        &[
            "runtime.trailers-are-trailers",
            "url.mid-stream-abort",
            "iwrs.error-in-invoke-complete",
            "iwrs.error-details",
        ],
        &["runtime.trailer-base64"],
    );
}

#[test]
fn a_raw_json_error_body_fails_the_base64_rules() {
    assert_fails_exactly("trailer-not-base64", &["runtime.trailer-base64", "iwrs.error-details"], &[]);
}

#[test]
fn buffering_every_write_fails_the_streaming_rules() {
    assert_fails_exactly(
        "one-chunk",
        &[
            "runtime.chunk-per-write",
            "url.streams-as-written",
            "iwrs.chunk-per-write",
            "local.invoke-streams",
            "limits.timeout",
        ],
        &[],
    );
}

#[test]
fn an_undeclared_trailer_fails_the_declaration_rule() {
    assert_fails_exactly("no-trailer-declared", &["runtime.trailer-declared"], &[]);
}
