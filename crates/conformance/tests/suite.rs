//! The suite itself: the catalogue and the scenarios agree, expected deviations excuse only what
//! they name and go stale when the failure stops, and the reports carry the verdicts.

mod common;

use lambda_stream_conformance::check::Verdict;
use lambda_stream_conformance::report::{Format, render};
use lambda_stream_conformance::run::{RunOptions, run, validate};
use lambda_stream_conformance::{Catalogue, Expected, Scenario, scenario};

#[test]
fn catalogue_and_scenarios_agree() {
    let catalogue = Catalogue::embedded().unwrap();
    let scenarios = scenario::embedded().unwrap();
    validate(&catalogue, &scenarios).unwrap();
    assert!(catalogue.rules.len() >= 40, "{} rules", catalogue.rules.len());
    assert_eq!(scenarios.len(), scenario::EMBEDDED.len());
    // The embedded copies are the files on disk (build.rs embeds them all).
    let on_disk =
        scenario::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")).unwrap();
    assert_eq!(on_disk, scenarios);
}

#[test]
fn validation_rejects_unknown_rules_and_rules_without_scenarios() {
    let catalogue = Catalogue::embedded().unwrap();
    let mut scenarios = scenario::embedded().unwrap();
    scenarios[0].expect[0].rules.push("runtime.no-such-rule".into());
    let err = validate(&catalogue, &scenarios).unwrap_err().to_string();
    assert!(err.contains("unknown rule runtime.no-such-rule"), "{err}");
    let scenarios: Vec<Scenario> =
        scenario::embedded().unwrap().into_iter().filter(|s| !s.rules().contains(&"iwrs.dry-run")).collect();
    let err = validate(&catalogue, &scenarios).unwrap_err().to_string();
    assert!(err.contains("rule iwrs.dry-run has no scenario"), "{err}");
    assert!(
        Scenario::parse("x", "description = \"d\"\nhandler = \"h\"\nexpect = []\n[request]\npath = \"invoke\"\n")
            .is_err()
    );
    assert!(
        Catalogue::parse(
            "[[rule]]\nid='a'\nsection='1'\nsource='s'\ntext='t'\n[[rule]]\nid='a'\nsection='1'\nsource='s'\ntext='t'\n"
        )
        .is_err()
    );
}

fn broken_trailer_run(expected: &str) -> lambda_stream_conformance::Report {
    let mut options = RunOptions::new(common::broken("trailer-not-base64"));
    options.scenario_globs = vec!["*fail-mid-stream".into(), "url-ok-streams".into()];
    options.expected = Expected::parse("test", expected).unwrap();
    common::tokio().block_on(run(&Catalogue::embedded().unwrap(), scenario::embedded().unwrap(), &options)).unwrap()
}

#[test]
fn expected_deviations_excuse_what_they_name_and_go_stale_when_fixed() {
    // Without deviations the defect is an unexpected failure.
    let report = broken_trailer_run("");
    assert_eq!(
        report.rules_with(Verdict::Fail),
        ["runtime.trailer-base64", "iwrs.error-details"],
        "{}",
        render(&report, Format::Table).unwrap()
    );
    assert!(!report.ok());

    // Naming both rules excuses them; naming a passing rule is stale.
    let report = broken_trailer_run(
        r#"
        [[deviation]]
        rule = "runtime.trailer-base64"
        reason = "sends raw JSON"
        [[deviation]]
        scenario = "iwrs-fail-mid-stream"
        reason = "details lost with the raw JSON"
        [[deviation]]
        rule = "runtime.mode-header"
        reason = "was broken once"
        "#,
    );
    assert!(report.rules_with(Verdict::Fail).is_empty(), "{}", render(&report, Format::Table).unwrap());
    assert_eq!(report.rules_with(Verdict::ExpectedFail), ["runtime.trailer-base64", "iwrs.error-details"]);
    assert_eq!(report.rule("runtime.trailer-base64").unwrap().deviation.as_ref().unwrap().reason, "sends raw JSON");
    assert_eq!(report.scenario("iwrs-fail-mid-stream").unwrap().verdict, Verdict::ExpectedFail);
    assert_eq!(report.stale.len(), 1);
    assert_eq!(report.stale[0].rule.as_deref(), Some("runtime.mode-header"));
    assert!(!report.ok(), "a stale deviation fails the run");
    assert!(render(&report, Format::Table).unwrap().contains("STALE expected deviation: rule runtime.mode-header"));

    // An intermittent deviation that passes this time is not stale.
    let report = broken_trailer_run(
        r#"
        [[deviation]]
        rule = "runtime.trailer-base64"
        reason = "sends raw JSON"
        [[deviation]]
        rule = "iwrs.error-details"
        reason = "details lost with the raw JSON"
        [[deviation]]
        rule = "runtime.mode-header"
        intermittent = true
        reason = "a race on its side"
        "#,
    );
    assert!(report.stale.is_empty(), "{:?}", report.stale);
    assert!(report.ok(), "{}", render(&report, Format::Table).unwrap());

    // A deviation must name exactly one rule or scenario.
    assert!(Expected::parse("bad", "[[deviation]]\nreason = \"why\"\n").is_err());
}

#[test]
fn a_scenario_listed_as_not_run_is_not_sent_and_its_rules_are_not_run_never_passed() {
    // The broken trailer fails iwrs.error-details in iwrs-fail-mid-stream; listed as not run, that
    // scenario is not sent: its rules read "not run" with the reason, and the rule that only it
    // judges is neither failed nor passed.
    let report = broken_trailer_run(
        r#"
        [[deviation]]
        rule = "runtime.trailer-base64"
        reason = "sends raw JSON"
        [[not_run]]
        scenario = "iwrs-fail-mid-stream"
        reason = "this runtime has no such call"
        "#,
    );
    let scenario = report.scenario("iwrs-fail-mid-stream").unwrap();
    assert_eq!(scenario.verdict, Verdict::NotRun);
    assert!(scenario.status.is_none() && scenario.timeline.is_none(), "nothing was sent");
    assert_eq!(scenario.note.as_deref(), Some("not expressible on this target: this runtime has no such call"));
    let details = report.rule("iwrs.error-details").unwrap();
    assert_eq!(details.verdict, Verdict::NotRun, "{details:?}");
    assert!(details.evidence[0].to_string().contains("this runtime has no such call"), "{details:?}");
    // The URL scenario still ran and still fails the base64 rule (excused by its deviation).
    assert_eq!(report.rule("runtime.trailer-base64").unwrap().verdict, Verdict::ExpectedFail);
    assert!(report.ok(), "{}", render(&report, Format::Table).unwrap());

    // An unknown scenario, or one listed both ways, is refused.
    let mut options = RunOptions::new(common::broken(""));
    options.expected = Expected::parse("t", "[[not_run]]\nscenario = \"no-such\"\nreason = \"r\"\n").unwrap();
    let err = common::tokio()
        .block_on(run(&Catalogue::embedded().unwrap(), scenario::embedded().unwrap(), &options))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown scenario \"no-such\""), "{err}");
    let both = "[[deviation]]\nscenario = \"url-empty\"\nreason = \"r\"\n[[not_run]]\nscenario = \"url-empty\"\nreason = \"r\"\n";
    assert!(Expected::parse("t", both).is_err());
}

#[test]
fn reports_carry_the_verdicts_in_every_format() {
    let report = broken_trailer_run("");
    let json: serde_json::Value = serde_json::from_str(&render(&report, Format::Json).unwrap()).unwrap();
    let rule = json["rules"].as_array().unwrap().iter().find(|r| r["id"] == "runtime.trailer-base64").unwrap();
    assert_eq!(rule["verdict"], "fail");
    assert!(rule["evidence"][0].as_str().unwrap().contains("base64"), "{rule}");
    let ok = json["rules"].as_array().unwrap().iter().find(|r| r["id"] == "runtime.mode-header").unwrap();
    assert_eq!(ok["verdict"], "pass");
    let scenario = json["scenarios"].as_array().unwrap().iter().find(|s| s["name"] == "url-ok-streams").unwrap();
    assert_eq!(scenario["chunk_ms"].as_array().unwrap().len(), 5);
    assert!(scenario["ttfb_ms"].as_f64().is_some());

    let xml = render(&report, Format::Junit).unwrap();
    assert!(xml.contains(r#"<testsuite name="scenarios""#) && xml.contains(r#"<testsuite name="rules""#), "{xml}");
    assert!(xml.contains(r#"<testcase name="runtime.trailer-base64""#));
    assert!(xml.contains("<failure"));
    // Scenarios outside the selection are absent, and rules without evidence are skipped, not passed.
    assert!(xml.contains("<skipped"));

    let table = render(&report, Format::Table).unwrap();
    assert!(table.contains("runtime.trailer-base64") && table.contains("FAIL"));
    assert!(table.contains("url-ok-streams"));
}

/// A stream the client saw cut while the function runs on (API Gateway's 2 s idle timeout on a
/// handler that outlives any deadline): the function's side still reaches the report's timeline,
/// as it stood, and the run does not sit out the recorder's 5 s wait for an invocation that cannot
/// end. No block of that scenario judges the wire, so nothing else needs the full record.
#[test]
fn a_cut_stream_keeps_the_functions_side_of_its_timeline_without_waiting_for_its_end() {
    use lambda_stream_conformance::run::{http_client, run_scenario};
    let scenario = scenario::embedded().unwrap().into_iter().find(|s| s.name == "apigw-idle-timeout").unwrap();
    assert!(scenario.expect.iter().all(|e| e.wire.is_none()), "the scenario now judges the wire");
    let started = std::time::Instant::now();
    let result = common::tokio().block_on(run_scenario(&http_client().unwrap(), &common::ours(), &scenario)).unwrap();
    let took = started.elapsed();
    assert_eq!(result.verdict, Verdict::Pass);
    let timeline = result.timeline.expect("a timeline");
    let runtime = timeline.runtime.expect("the function's side of the timeline");
    assert!(!runtime.chunks.is_empty(), "the function's first chunk");
    assert_eq!(runtime.end_ms, None, "the function was still running when the record was taken");
    // 2 s to the cut, then at most half a second for the record; the full wait would make it 7 s.
    assert!(took < std::time::Duration::from_secs(6), "{took:?}");
}
