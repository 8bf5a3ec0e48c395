//! The remote API Gateway target against a REST API that signs like a deployed one: our emulator's
//! API Gateway listener with IAM auth (service `execute-api`) and AWS's bandwidth caps, serving
//! `conformance-bootstrap conditional-streaming`. Signed, the conditional-streaming scenarios pass;
//! unsigned, the same requests are refused, so the rules fail: the signature is what lets them in.

mod common;

use lambda_stream_conformance::check::Verdict;
use lambda_stream_conformance::run::{RunOptions, run};
use lambda_stream_conformance::sign::SigV4Keys;
use lambda_stream_conformance::{Catalogue, Target, scenario};
use lambda_stream_emulator::{
    ApiGatewayConfig, Auth, BootstrapCommand, Emulator, FunctionConfig, Supervisor, SupervisorConfig,
};

const KEY: &str = "AKIDCONFORMANCE";
const SECRET: &str = "conformance/secret";

fn report_for(signing: Option<SigV4Keys>) -> lambda_stream_conformance::Report {
    common::tokio().block_on(async {
        let emulator = Emulator::builder()
            .function(FunctionConfig::new("remote"))
            .aws_limits(true)
            .api_gateway(ApiGatewayConfig::new("prod").auth(Auth::iam(KEY, SECRET)))
            .build()
            .await
            .unwrap();
        let command = BootstrapCommand::new(env!("CARGO_BIN_EXE_conformance-bootstrap")).arg("conditional-streaming");
        let supervisor = Supervisor::start(&emulator, SupervisorConfig::new(command)).await.unwrap();
        let url = emulator.api_gateway_url().unwrap();
        let target = Target::ApiGateway { urls: [("conditional-streaming".to_owned(), url)].into(), signing };
        let mut options = RunOptions::new(target);
        options.scenario_globs = vec!["apigw-*".into(), "url-ok-streams".into()];
        let report = run(&Catalogue::embedded().unwrap(), scenario::embedded().unwrap(), &options).await.unwrap();
        supervisor.shutdown().await;
        emulator.shutdown().await;
        report
    })
}

#[test]
fn a_signed_remote_rest_api_passes_the_api_gateway_rules_it_can_run() {
    let keys =
        SigV4Keys { access_key_id: KEY.into(), secret_access_key: SECRET.into(), session_token: None, region: None };
    let report = report_for(Some(keys));
    let table = lambda_stream_conformance::report::table(&report);
    for rule in [
        "apigw.streams-as-written",
        "apigw.error-before-first-byte",
        "apigw.mid-stream-cut",
        "apigw.bandwidth",
        "apigw.request-ids",
    ] {
        assert_eq!(report.rule(rule).unwrap().verdict, Verdict::Pass, "{rule}\n{table}");
    }
    // Judged on conditional-streaming's answers, but its multi-value headers scenario needs the
    // probe, which has no URL here: partial, never pass.
    let headers = report.rule("apigw.prelude-status-headers").unwrap();
    assert_eq!(headers.verdict, Verdict::Partial, "{table}");
    // The idle timeout needs a setting only the local emulator applies; probe scenarios have no
    // URL here; function URL scenarios have no front end on this target.
    for rule in ["apigw.idle-timeout", "apigw.event-shape", "url.streams-as-written"] {
        assert_eq!(report.rule(rule).unwrap().verdict, Verdict::NotRun, "{rule}\n{table}");
    }
    assert!(report.rules_with(Verdict::Fail).is_empty(), "{table}");
}

#[test]
fn unsigned_requests_to_an_iam_rest_api_fail_the_rules() {
    let report = report_for(None);
    let table = lambda_stream_conformance::report::table(&report);
    for rule in ["apigw.prelude-status-headers", "apigw.streams-as-written", "apigw.error-before-first-byte"] {
        assert_eq!(report.rule(rule).unwrap().verdict, Verdict::Fail, "{rule}\n{table}");
    }
    let evidence: Vec<String> =
        report.rule("apigw.prelude-status-headers").unwrap().evidence.iter().map(ToString::to_string).collect();
    let evidence = evidence.join(" ");
    assert!(evidence.contains("status 403"), "{evidence}");
}
