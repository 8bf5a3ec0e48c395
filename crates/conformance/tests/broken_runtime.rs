//! The suite's negative controls: every rule of the catalogue fails on something deliberately
//! broken, and each broken thing fails exactly the rules it breaks.
//!
//! Two kinds of broken peer, from lambda-stream-fixtures:
//! - a broken runtime, `fixture-bootstrap --break DEFECT` (the rules a runtime can break);
//! - a broken platform, a proxy in front of the emulator with `PlatformDefect`s (the rules only
//!   the service can break: its response head and frames, dry runs, unknown functions, the
//!   buffered Invoke, the local endpoint's methods).
//!
//! Without defects the fixture fails nothing. With one, the rules it names fail; the rules whose
//! evidence it removes rather than contradicts (no trailers at all leaves their encoding unjudged)
//! are "not run" or "partial", never "pass"; every other rule still passes. A check that cannot
//! fail shows up here as a rule without a control.
//!
//! With `LAMBDA_STREAM_CONFORM_OUT=DIR` each run also writes its JSON report to
//! `DIR/broken-<defect>.json`; `ci/conform-matrix.sh` builds the matrix's `broken` column from them.

mod common;

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock, PoisonError};

use lambda_stream_conformance::check::Verdict;
use lambda_stream_conformance::run::{Report, RunOptions, run};
use lambda_stream_conformance::{Catalogue, Target, scenario};
use lambda_stream_fixtures::bootstrap::Defect;
use lambda_stream_fixtures::platform::PlatformDefect;

/// Which side a control breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Runtime,
    Platform,
}

/// One negative control: a defect, and how the rules it touches come out.
struct Control {
    side: Side,
    defect: &'static str,
    /// The rules it fails.
    fails: &'static [&'static str],
    /// Rules whose every piece of evidence it removes ("not run").
    not_run: &'static [&'static str],
    /// Rules whose evidence it removes in part ("partial").
    partial: &'static [&'static str],
}

const fn runtime(defect: &'static str, fails: &'static [&'static str]) -> Control {
    Control { side: Side::Runtime, defect, fails, not_run: &[], partial: &[] }
}

const fn platform(defect: &'static str, fails: &'static [&'static str]) -> Control {
    Control { side: Side::Platform, defect, fails, not_run: &[], partial: &[] }
}

/// Every control, pinned.
const CONTROLS: &[Control] = &[
    Control {
        not_run: &["runtime.trailer-base64"],
        partial: &["runtime.error-type-format"],
        ..runtime(
            "error-in-body",
            &[
                "runtime.trailers-are-trailers",
                "url.mid-stream-abort",
                "iwrs.error-in-invoke-complete",
                "iwrs.error-details",
                "apigw.mid-stream-cut",
            ],
        )
    },
    runtime("trailer-not-base64", &["runtime.trailer-base64", "iwrs.error-details"]),
    runtime(
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
    ),
    runtime("no-trailer-declared", &["runtime.trailer-declared"]),
    // The broken writers: each `writer.*` rule fails on the misuse it names.
    runtime("finish-twice-wrong-error", &["writer.finish-twice"]),
    runtime("write-after-finish-accepted", &["writer.write-after-finish"]),
    runtime("headers-after-body-accepted", &["writer.headers-after-body"]),
    runtime("return-without-finish-crashes", &["writer.return-without-finish"]),
    runtime("empty-body-drops-status", &["writer.empty-body-keeps-status"]),
    // Only the 302 shows it: a 204's caller reads no body, so `url-empty` ends at the head.
    runtime("empty-body-unterminated", &["url.empty-body-terminated"]),
    runtime("stalls-after-unfinished", &["writer.return-without-finish"]),
    runtime(
        "no-mode-header",
        // Through API Gateway too the unmarked answer is buffered, capped at 6 MB: the 12 MB
        // answer of the bandwidth scenario is cut after about 6 MB.
        &[
            "runtime.mode-header",
            "runtime.chunk-per-write",
            "limits.size",
            "limits.large-stream",
            "apigw.bandwidth",
            "limits.bandwidth",
        ],
    ),
    Control {
        not_run: &["runtime.trailer-base64"],
        partial: &["runtime.error-type-format"],
        ..runtime(
            "content-length-body",
            &[
                "runtime.chunked",
                "runtime.trailer-declared",
                "runtime.small-write-flushed",
                "iwrs.small-write-flushed",
                "runtime.chunk-per-write",
                "runtime.trailers-are-trailers",
                "url.streams-as-written",
                "url.mid-stream-abort",
                "iwrs.chunk-per-write",
                "iwrs.error-in-invoke-complete",
                "limits.timeout",
                "local.invoke-streams",
                "apigw.idle-timeout",
                "apigw.mid-stream-cut",
                "apigw.streams-as-written",
            ],
        )
    },
    runtime(
        "prelude-wrong-content-type",
        &[
            "runtime.prelude-content-type",
            "runtime.trailers-are-trailers",
            "limits.large-stream",
            "url.prelude-status-headers",
            "url.cookies",
            "url.remapped-content-length",
            "url.streams-as-written",
            "url.mid-stream-abort",
            "url.error-statuses",
            "limits.size",
            "limits.timeout",
            "writer.empty-body-keeps-status",
            "local.invoke-streams",
            "runtime.background-after-finish",
            // The 10 MB answer is taken as one buffered answer: no burst, no pacing.
            "limits.bandwidth",
            // The empty answer's prelude is not read: the probe's status never reaches the client.
            "url.empty-body-terminated",
            // The probe's echo-context answer sits behind a prelude the function URL no longer
            // reads, so its body is not the JSON (IWRS callers get the prelude either way).
            "runtime-api.deadline-epoch-ms",
            "runtime-api.invoked-function-arn",
            "runtime-api.trace-id",
            "runtime-api.environment",
        ],
    ),
    runtime(
        "error-as-response",
        &[
            "runtime.error-before-first-byte",
            "runtime.error-type-format",
            "url.error-before-first-byte-502",
            "iwrs.error-details",
            "iwrs.error-before-first-byte",
            "invoke.function-error",
            "apigw.error-before-first-byte",
        ],
    ),
    runtime("unqualified-error-type", &["runtime.error-type-format", "iwrs.error-in-invoke-complete"]),
    runtime(
        "status-and-headers-ignored",
        &[
            "runtime.prelude-content-type",
            "url.prelude-status-headers",
            "url.cookies",
            "url.remapped-content-length",
            "url.error-statuses",
            "iwrs.prelude-unstripped",
            "limits.size",
            "limits.large-stream",
            "writer.empty-body-keeps-status",
            "local.invoke-streams",
            "apigw.bandwidth",
            "apigw.event-shape",
            "apigw.idle-timeout",
            "apigw.mid-stream-cut",
            "apigw.prelude-status-headers",
            "apigw.streams-as-written",
        ],
    ),
    runtime(
        "content-type-ignored",
        &["url.prelude-any-split", "url.no-prelude-content-type", "url.prelude-keys-optional"],
    ),
    runtime("corrupts-a-large-write", &["limits.large-stream"]),
    platform("no-executed-version", &["iwrs.response-head", "invoke.executed-version"]),
    platform(
        "event-after-complete",
        &[
            "iwrs.frame-headers",
            "iwrs.invoke-complete-last",
            "iwrs.error-before-first-byte",
            "limits.size",
            "writer.return-without-finish",
            // The documented path's scenario reads the whole stream, whose last frame is wrong.
            "iwrs.path",
        ],
    ),
    platform("dry-run-runs", &["iwrs.dry-run", "invoke.dry-run"]),
    platform("any-function-name", &["iwrs.unknown-function", "invoke.unknown-function"]),
    // The IWRS answer has no `X-Amz-Log-Result` header for the proxy to copy.
    platform("invoke-from-first-chunk", &["invoke.buffered", "invoke.buffered-limit", "invoke.log-tail"]),
    platform("local-invoke-any-method", &["local.invoke-post-only"]),
    // API Gateway's own answers, through the proxy in front of the REST API listener.
    platform("apigw-no-request-ids", &["apigw.request-ids"]),
    platform("apigw-invalid-metadata-as-502", &["apigw.invalid-metadata-500"]),
    // A runtime that hands on a re-encoded event instead of the caller's bytes.
    runtime("event-reencoded", &["local.invoke-raw-event"]),
    // A runtime that ends the response only when the handler returns.
    runtime("finish-at-return", &["runtime.background-after-finish"]),
    // The writer rules read the probe's misuse results from the log tail.
    platform(
        "no-log-tail",
        &[
            "iwrs.log-tail",
            "invoke.log-tail",
            "writer.finish-twice",
            "writer.headers-after-body",
            "writer.write-after-finish",
        ],
    ),
    // What reaches the function: the probe echoes what its runtime handed it.
    runtime(
        "context-misread",
        &[
            "runtime-api.deadline-epoch-ms",
            "runtime-api.invoked-function-arn",
            "runtime-api.trace-id",
            "runtime-api.environment",
            "runtime-api.client-context",
            "runtime-api.request-id",
        ],
    ),
    runtime(
        "event-distorted",
        &[
            "url.event-shape",
            "url.event-headers-lowercase",
            "url.event-repeated-headers-joined",
            "url.event-query",
            "url.event-cookies",
            "url.event-raw-path",
            "url.event-text-body",
            "url.event-request-context",
        ],
    ),
    runtime("binary-body-as-text", &["url.event-base64-body", "url.binary-round-trip"]),
    runtime("writes-as-text", &["url.binary-round-trip", "iwrs.binary-round-trip"]),
    runtime("default-content-type-text", &["runtime.default-content-type"]),
    // The split prelude garbled by the runtime: the answer the split must give is not given.
    // (A broken API Gateway that misreads a valid split is not built; see scenarios/README.md.)
    runtime("garbles-a-split-prelude", &["url.prelude-any-split", "apigw.prelude-any-split"]),
];

fn control(defect: &str) -> &'static Control {
    CONTROLS.iter().find(|c| c.defect == defect).unwrap_or_else(|| panic!("{defect} is not in CONTROLS"))
}

/// One run at a time, eight scenarios at once (the default): the emulators and the client share this process,
/// and the scenarios pace what they time at 300 ms, which leaves room for a busy machine, but not
/// for several runs at once.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

fn run_target(target: Target, label: String, globs: &[&str]) -> Report {
    let _turn = one_at_a_time();
    let mut options = RunOptions::new(target);
    options.label = label;
    options.scenario_globs = globs.iter().map(|g| (*g).to_owned()).collect();
    let catalogue = Catalogue::embedded().unwrap();
    let report = common::tokio().block_on(run(&catalogue, scenario::embedded().unwrap(), &options)).unwrap();
    if let Some(dir) = std::env::var_os("LAMBDA_STREAM_CONFORM_OUT") {
        let name = report.label.rsplit(' ').next().unwrap_or("none").replace(',', "+");
        let json = lambda_stream_conformance::report::render(&report, lambda_stream_conformance::report::Format::Json)
            .unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("broken-{name}.json")), json).unwrap();
    }
    report
}

fn run_control(c: &Control) -> Report {
    match c.side {
        Side::Runtime => run_target(common::broken(c.defect), format!("fixture-bootstrap --break {}", c.defect), &[]),
        Side::Platform => run_target(common::broken_platform(c.defect), format!("broken platform {}", c.defect), &[]),
    }
}

/// The run without defects, shared by every test here.
fn clean() -> &'static Report {
    static CLEAN: OnceLock<Report> = OnceLock::new();
    CLEAN.get_or_init(|| {
        let clean = || run_target(common::broken(""), "fixture-bootstrap without defects: none".into(), &[]);
        let report = clean();
        if report.rules_with(Verdict::Pass).len() == Catalogue::embedded().unwrap().rules.len() {
            return report;
        }
        // Once more, as for the controls (see `assert_fails_exactly`): a stall can fail a timed
        // rule once; the test below judges the second run.
        eprintln!(
            "without defects: the first run did not pass every rule (run again)\n{}",
            lambda_stream_conformance::report::table(&report)
        );
        clean()
    })
}

fn with(report: &Report, verdict: Verdict) -> BTreeSet<&str> {
    report.rules_with(verdict).into_iter().collect()
}

/// How a control's run differs from what the control pins (empty: it matches).
fn differences(c: &Control, report: &Report) -> Vec<String> {
    let set = |rules: &[&'static str]| rules.iter().copied().collect::<BTreeSet<&str>>();
    let mut out = Vec::new();
    for (verdict, want) in [(Verdict::Fail, c.fails), (Verdict::NotRun, c.not_run), (Verdict::Partial, c.partial)] {
        let got = with(report, verdict);
        if got != set(want) {
            out.push(format!("rules {}: expected {:?}, saw {got:?}", verdict.label(), set(want)));
        }
    }
    // Everything else still passes: the defect did not knock out unrelated evidence.
    let touched: BTreeSet<&str> = set(c.fails).into_iter().chain(set(c.not_run)).chain(set(c.partial)).collect();
    for rule in clean().rules_with(Verdict::Pass) {
        if !touched.contains(rule) {
            let verdict = report.rule(rule).unwrap().verdict;
            if verdict != Verdict::Pass {
                out.push(format!("{rule} is {} (it passes without the defect)", verdict.label()));
            }
        }
    }
    out
}

/// Runs the control and checks it fails exactly what it pins. A run that differs is run once
/// more, and the second run must match: the timed rules (chunk boundaries, first-byte leads) can
/// fail once when the machine stalls this process for longer than the 300 ms the scenarios leave,
/// while a defect fails its rules on every run. The first run's differences are printed, so a
/// control that needs the second run shows in the test's output.
fn assert_fails_exactly(defect: &str) {
    let c = control(defect);
    let mut report = run_control(c);
    let first = differences(c, &report);
    if !first.is_empty() {
        eprintln!(
            "{defect}: the first run differed from the control (run again):\n  {}\n{}",
            first.join("\n  "),
            lambda_stream_conformance::report::table(&report)
        );
        report = run_control(c);
    }
    let table = lambda_stream_conformance::report::table(&report);
    let again = differences(c, &report);
    assert!(again.is_empty(), "{defect}: the run differs from the control:\n  {}\n{table}", again.join("\n  "));
}

#[test]
fn without_defects_it_fails_nothing_and_judges_every_rule_in_full() {
    let report = clean();
    let table = lambda_stream_conformance::report::table(report);
    let catalogue = Catalogue::embedded().unwrap();
    // It serves the probe too, so every rule runs in full: none is left not run or partial.
    assert_eq!(report.rules_with(Verdict::Pass).len(), catalogue.rules.len(), "{table}");
    assert!(report.ok(), "{table}");
}

#[test]
fn every_rule_has_a_negative_control() {
    let controlled: BTreeSet<&str> = CONTROLS.iter().flat_map(|c| c.fails.iter().copied()).collect();
    let catalogue = Catalogue::embedded().unwrap();
    let without: Vec<&str> =
        catalogue.rules.iter().map(|r| r.id.as_str()).filter(|id| !controlled.contains(id)).collect();
    assert!(without.is_empty(), "rules no control fails: {without:?}");
    for c in CONTROLS {
        for id in c.fails.iter().chain(c.not_run).chain(c.partial) {
            assert!(catalogue.get(id).is_some(), "{}: unknown rule {id}", c.defect);
        }
    }
}

#[test]
fn every_defect_the_fixtures_offer_is_pinned_here() {
    let pinned = |side: Side| -> BTreeSet<String> {
        CONTROLS.iter().filter(|c| c.side == side).map(|c| c.defect.to_owned()).collect()
    };
    assert_eq!(pinned(Side::Runtime), Defect::names().into_iter().collect());
    assert_eq!(pinned(Side::Platform), PlatformDefect::names().into_iter().collect());
}

/// Turns a scenario back into what it was before a check was added.
type OldScenario = fn(&mut scenario::Scenario);

/// The checks added to catch what the scenarios used to let through: on the defect each was
/// added for, the scenario fails, and the same scenario without that check passes (the old
/// scenario missed the defect).
#[test]
fn the_added_checks_catch_what_the_old_scenarios_let_through() {
    use lambda_stream_conformance::run::run_scenario;
    let cases: [(&str, Target, &str, OldScenario); 4] = [
        // Byte for byte: one changed byte keeps the size and the prefix.
        ("corrupts-a-large-write", common::broken("corrupts-a-large-write"), "url-large", |s| {
            s.expect[0].body_sha256 = None;
        }),
        // A second invocation: a runtime that answers once and stops serving.
        ("stalls-after-unfinished", common::broken("stalls-after-unfinished"), "iwrs-return-without-finish", |s| {
            s.sends = None;
            if let Some(w) = &mut s.expect[0].wire {
                w.invocations = None;
            }
        }),
        // The function did not run: a dry run that runs it and still answers 204.
        ("dry-run-runs", common::broken_platform("dry-run-runs"), "iwrs-dry-run", |s| s.expect[0].wire = None),
        // The same on the buffered Invoke.
        ("dry-run-runs", common::broken_platform("dry-run-runs"), "invoke-dry-run", |s| s.expect[0].wire = None),
    ];
    let client = lambda_stream_conformance::run::http_client().unwrap();
    let _turn = one_at_a_time();
    for (defect, target, name, old) in cases {
        let now = scenario::embedded().unwrap().into_iter().find(|s| s.name == name).unwrap();
        let mut before = now.clone();
        old(&mut before);
        let judged =
            |s: &scenario::Scenario| common::tokio().block_on(run_scenario(&client, &target, s)).unwrap().verdict;
        assert_eq!(judged(&now), Verdict::Fail, "{defect}: {name} as it is now");
        assert_eq!(judged(&before), Verdict::Pass, "{defect}: {name} without the added check");
    }
}

macro_rules! controls {
    ($($test:ident: $defect:literal,)*) => {
        $(
            #[test]
            fn $test() {
                assert_fails_exactly($defect);
            }
        )*

        #[test]
        fn every_control_has_its_test() {
            let tested: BTreeSet<&str> = [$($defect),*].into_iter().collect();
            let pinned: BTreeSet<&str> = CONTROLS.iter().map(|c| c.defect).collect();
            assert_eq!(tested, pinned);
        }
    };
}

controls! {
    error_text_in_the_body_fails_the_trailer_rules: "error-in-body",
    a_raw_json_error_body_fails_the_base64_rules: "trailer-not-base64",
    buffering_every_write_fails_the_streaming_rules: "one-chunk",
    an_undeclared_trailer_fails_the_declaration_rule: "no-trailer-declared",
    a_second_finish_answered_with_the_wrong_variant_fails_finish_twice: "finish-twice-wrong-error",
    a_write_after_finish_accepted_fails_write_after_finish: "write-after-finish-accepted",
    headers_after_the_body_accepted_fail_headers_after_body: "headers-after-body-accepted",
    crashing_when_the_handler_returns_without_finishing_fails_return_without_finish: "return-without-finish-crashes",
    losing_the_status_of_an_empty_body_fails_empty_body_keeps_status: "empty-body-drops-status",
    an_empty_body_never_ended_fails_empty_body_terminated: "empty-body-unterminated",
    serving_once_and_then_stalling_fails_return_without_finish: "stalls-after-unfinished",
    no_mode_header_fails_the_mode_rule_and_the_streamed_limits: "no-mode-header",
    a_content_length_body_fails_the_chunked_rules: "content-length-body",
    a_prelude_under_the_wrong_content_type_fails_the_prelude_rules: "prelude-wrong-content-type",
    an_early_error_answered_as_a_response_fails_the_error_rules: "error-as-response",
    an_error_type_without_category_fails_the_error_type_rules: "unqualified-error-type",
    dropped_status_and_headers_fail_the_prelude_rules: "status-and-headers-ignored",
    an_ignored_content_type_fails_the_no_prelude_and_split_rules: "content-type-ignored",
    a_corrupted_write_fails_byte_for_byte: "corrupts-a-large-write",
    no_executed_version_fails_the_response_head: "no-executed-version",
    an_event_after_invoke_complete_fails_the_frame_rules: "event-after-complete",
    a_dry_run_that_runs_fails_dry_run: "dry-run-runs",
    any_function_name_fails_unknown_function: "any-function-name",
    invoke_from_the_first_chunk_fails_the_buffered_invoke_rules: "invoke-from-first-chunk",
    any_method_on_local_invoke_fails_post_only: "local-invoke-any-method",
    no_request_ids_fail_the_apigw_request_ids_rule: "apigw-no-request-ids",
    invalid_metadata_answered_as_502_fails_the_apigw_500_rule: "apigw-invalid-metadata-as-502",
    a_reencoded_event_fails_the_raw_event_rule: "event-reencoded",
    ending_the_response_at_return_fails_the_background_rule: "finish-at-return",
    an_ignored_log_type_fails_the_log_tail_rules: "no-log-tail",
    a_misread_context_fails_the_runtime_api_rules: "context-misread",
    a_distorted_event_fails_the_event_rules: "event-distorted",
    a_binary_body_as_text_fails_the_base64_body_rules: "binary-body-as-text",
    writes_taken_as_text_fail_the_binary_round_trips: "writes-as-text",
    a_text_default_content_type_fails_the_default_rule: "default-content-type-text",
    a_garbled_split_prelude_fails_the_split_rules: "garbles-a-split-prelude",
}
