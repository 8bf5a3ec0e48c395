//! The deliberately broken runtime (`fixture-bootstrap --break DEFECT`, from
//! lambda-stream-fixtures) fails the rules each of its defects breaks, and only those; without
//! defects it fails nothing. These are the suite's negative controls: it can tell a broken runtime
//! from a good one, rule by rule, and a check that cannot fail shows up here.

mod common;

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock, PoisonError};

use lambda_stream_conformance::check::Verdict;
use lambda_stream_conformance::run::{Report, RunOptions, run};
use lambda_stream_conformance::{Catalogue, scenario};

/// Each defect, the rules it must fail, and the rules whose evidence it removes rather than
/// contradicts (no trailers at all leaves their encoding unjudged: "not run", never "pass").
const DEFECTS: [(&str, &[&str], &[&str]); 11] = [
    (
        "error-in-body",
        &[
            "runtime.trailers-are-trailers",
            "url.mid-stream-abort",
            "iwrs.error-in-invoke-complete",
            "iwrs.error-details",
            "apigw.mid-stream-cut",
        ],
        &["runtime.trailer-base64"],
    ),
    ("trailer-not-base64", &["runtime.trailer-base64", "iwrs.error-details"], &[]),
    (
        "one-chunk",
        &[
            "runtime.chunk-per-write",
            "url.streams-as-written",
            "iwrs.chunk-per-write",
            "local.invoke-streams",
            "limits.timeout",
            "runtime.small-write-flushed",
            "iwrs.small-write-flushed",
            // One chunk at the end: nothing streams, and `slow` never sends its head, so API
            // Gateway's idle timeout answers 504 instead of cutting a started stream.
            "apigw.streams-as-written",
            "apigw.idle-timeout",
        ],
        &[],
    ),
    ("no-trailer-declared", &["runtime.trailer-declared"], &[]),
    // The broken writers: each `writer.*` rule fails on the misuse it names.
    ("finish-twice-wrong-error", &["writer.finish-twice"], &[]),
    ("write-after-finish-accepted", &["writer.write-after-finish"], &[]),
    ("headers-after-body-accepted", &["writer.headers-after-body"], &[]),
    ("return-without-finish-crashes", &["writer.return-without-finish"], &[]),
    ("empty-body-drops-status", &["writer.empty-body-keeps-status"], &[]),
    // A runtime that hands on a re-encoded event instead of the caller's bytes.
    ("event-reencoded", &["local.invoke-raw-event"], &[]),
    // A runtime that ends the response only when the handler returns.
    ("finish-at-return", &["runtime.background-after-finish"], &[]),
];

fn run_broken(defects: &str) -> Report {
    // One run at a time, two scenarios at once: the emulator and the client share this process,
    // and more at once on a busy 2-core machine delays chunks enough to fail the pacing checks of
    // rules the defect leaves alone.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let mut options = RunOptions::new(common::broken(defects));
    options.jobs = 2;
    options.label = format!("fixture-bootstrap --break {defects}");
    let catalogue = Catalogue::embedded().unwrap();
    common::tokio().block_on(run(&catalogue, scenario::embedded().unwrap(), &options)).unwrap()
}

/// The run without defects, shared by every test here.
fn control() -> &'static Report {
    static CONTROL: OnceLock<Report> = OnceLock::new();
    CONTROL.get_or_init(|| run_broken(""))
}

fn failing(report: &Report) -> BTreeSet<&str> {
    report.rules_with(Verdict::Fail).into_iter().collect()
}

fn assert_fails_exactly(defect: &str) {
    let (_, expected, unjudged) = DEFECTS.iter().find(|(d, _, _)| *d == defect).expect("a defect of the table");
    let report = run_broken(defect);
    let expected: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(
        failing(&report),
        expected,
        "defect {defect}: the failing rules differ from the rules it breaks\n{}",
        lambda_stream_conformance::report::table(&report)
    );
    // Everything it does not break still passes: the defect did not knock out unrelated evidence.
    for rule in control().rules_with(Verdict::Pass) {
        let verdict = report.rule(rule).unwrap().verdict;
        if unjudged.contains(&rule) {
            assert_eq!(verdict, Verdict::NotRun, "defect {defect}: {rule}");
        } else if !expected.contains(rule) {
            assert_eq!(verdict, Verdict::Pass, "defect {defect} changed {rule}");
        }
    }
}

#[test]
fn without_defects_it_fails_nothing_and_passes_every_rule() {
    let report = control();
    let table = lambda_stream_conformance::report::table(report);
    assert!(failing(report).is_empty(), "{table}");
    // It serves the probe too, so every rule runs: none is left "not run".
    let not_run = report.rules_with(Verdict::NotRun);
    assert!(not_run.is_empty(), "not run: {not_run:?}\n{table}");
    let catalogue = Catalogue::embedded().unwrap();
    assert_eq!(report.rules_with(Verdict::Pass).len(), catalogue.rules.len(), "{table}");
    assert!(report.ok(), "{table}");
}

#[test]
fn every_defect_the_fixture_offers_is_pinned_here() {
    let pinned: BTreeSet<String> = DEFECTS.iter().map(|(d, _, _)| (*d).to_owned()).collect();
    let offered: BTreeSet<String> = lambda_stream_fixtures::bootstrap::Defect::names().into_iter().collect();
    assert_eq!(pinned, offered);
}

#[test]
fn every_writer_rule_has_a_defect_that_fails_it() {
    let controlled: BTreeSet<&str> = DEFECTS.iter().flat_map(|(_, rules, _)| rules.iter().copied()).collect();
    let catalogue = Catalogue::embedded().unwrap();
    let writer_rules: Vec<&str> =
        catalogue.rules.iter().map(|r| r.id.as_str()).filter(|id| id.starts_with("writer.")).collect();
    assert!(writer_rules.len() >= 5, "{writer_rules:?}");
    for rule in writer_rules {
        assert!(controlled.contains(rule), "{rule} has no negative control in DEFECTS");
    }
}

#[test]
fn error_text_in_the_body_fails_the_trailer_rules() {
    assert_fails_exactly("error-in-body");
}

#[test]
fn a_raw_json_error_body_fails_the_base64_rules() {
    assert_fails_exactly("trailer-not-base64");
}

#[test]
fn buffering_every_write_fails_the_streaming_rules() {
    assert_fails_exactly("one-chunk");
}

#[test]
fn an_undeclared_trailer_fails_the_declaration_rule() {
    assert_fails_exactly("no-trailer-declared");
}

#[test]
fn a_second_finish_answered_with_the_wrong_variant_fails_finish_twice() {
    assert_fails_exactly("finish-twice-wrong-error");
}

#[test]
fn a_write_after_finish_accepted_fails_write_after_finish() {
    assert_fails_exactly("write-after-finish-accepted");
}

#[test]
fn headers_after_the_body_accepted_fail_headers_after_body() {
    assert_fails_exactly("headers-after-body-accepted");
}

#[test]
fn crashing_when_the_handler_returns_without_finishing_fails_return_without_finish() {
    assert_fails_exactly("return-without-finish-crashes");
}

#[test]
fn losing_the_status_of_an_empty_body_fails_empty_body_keeps_status() {
    assert_fails_exactly("empty-body-drops-status");
}

#[test]
fn a_reencoded_event_fails_the_raw_event_rule() {
    assert_fails_exactly("event-reencoded");
}

#[test]
fn ending_the_response_at_return_fails_the_background_rule() {
    assert_fails_exactly("finish-at-return");
}
