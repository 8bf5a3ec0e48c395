//! The remote target — HTTPS, SigV4, the real aws-sdk-lambda client, a custom trust root — proven
//! offline against the emulator serving TLS with `Auth::Iam` (what `lambda-stream emulate --auth
//! iam --tls` runs): every scenario that can run remotely passes, wire checks are "not run" (never
//! passed), and a wrong secret or a wrong trust root is a target error that judges no rule.
//!
//! Everything listens on 127.0.0.1 port 0; the SDK's endpoint is the emulator, its credentials
//! fixed, its region given, so nothing else is contacted.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_credential_types::Credentials;
use lambda_stream_aws::{AwsConfig, Trust};
use lambda_stream_conformance::check::Verdict;
use lambda_stream_conformance::remote::{Remote, RemoteConfig};
use lambda_stream_conformance::run::{Report, RunOptions, run};
use lambda_stream_conformance::{Catalogue, Target, scenario};
use lambda_stream_emulator::{
    Auth, BootstrapCommand, Emulator, FunctionConfig, Supervisor, SupervisorConfig, TlsConfig,
};

const KEY: &str = "AKIDREMOTETEST";
const SECRET: &str = "remote-test-secret";

/// One TLS emulator with IAM auth per handler, each supervising `conformance-bootstrap HANDLER`.
struct Stand {
    served: Vec<(Emulator, Supervisor)>,
    urls: BTreeMap<String, String>,
    functions: BTreeMap<String, String>,
    endpoints: BTreeMap<String, String>,
    certificate: Vec<String>,
}

impl Stand {
    async fn start() -> Self {
        let bin = env!("CARGO_BIN_EXE_conformance-bootstrap");
        let mut stand = Stand {
            served: Vec::new(),
            urls: BTreeMap::new(),
            functions: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            certificate: Vec::new(),
        };
        for handler in ["send-numbers", "conditional-streaming", "probe"] {
            let tls = TlsConfig::self_signed().expect("a certificate");
            let name = format!("remote-{handler}");
            let emulator = Emulator::builder()
                .function(FunctionConfig::new(&name))
                .auth(Auth::iam(KEY, SECRET))
                .tls(tls.clone())
                .build()
                .await
                .expect("the emulator starts");
            let supervisor =
                Supervisor::start(&emulator, SupervisorConfig::new(BootstrapCommand::new(bin).arg(handler)))
                    .await
                    .expect("the bootstrap starts");
            assert!(emulator.url().starts_with("https://127.0.0.1:"), "{}", emulator.url());
            stand.urls.insert(handler.into(), format!("{}/", emulator.url()));
            stand.functions.insert(handler.into(), name);
            stand.endpoints.insert(handler.into(), emulator.url());
            stand.certificate.push(tls.certificate_pem().to_owned());
            stand.served.push((emulator, supervisor));
        }
        stand
    }

    /// A remote target signing with `secret` and trusting `roots`.
    async fn target(&self, secret: &str, roots: String) -> Target {
        let aws = AwsConfig {
            region: Some("eu-west-1".into()),
            credentials: Some(Credentials::new(KEY, secret, None, None, "remote-test")),
            trust: Trust::Pem(roots.into_bytes()),
            ..AwsConfig::default()
        };
        let config = RemoteConfig {
            urls: self.urls.clone(),
            functions: self.functions.clone(),
            endpoints: self.endpoints.clone(),
            aws,
        };
        Target::Remote(Arc::new(Remote::connect(config).await.expect("the remote target connects")))
    }

    fn trusted(&self) -> String {
        self.certificate.concat()
    }

    async fn stop(self) {
        for (emulator, supervisor) in self.served {
            supervisor.shutdown().await;
            emulator.shutdown().await;
        }
    }
}

async fn suite(target: Target, globs: &[&str]) -> Report {
    let mut options = RunOptions::new(target);
    options.scenario_globs = globs.iter().map(|g| (*g).to_owned()).collect();
    run(&Catalogue::embedded().unwrap(), scenario::embedded().unwrap(), &options).await.unwrap()
}

#[test]
fn every_remote_scenario_passes_over_https_with_sigv4_and_wire_checks_are_not_run() {
    common::tokio().block_on(async {
        let stand = Stand::start().await;
        let report = suite(stand.target(SECRET, stand.trusted()).await, &[]).await;
        let table = lambda_stream_conformance::report::table(&report);
        eprintln!("{table}");
        assert!(report.target_errors().is_empty(), "{table}");
        assert!(report.rules_with(Verdict::Fail).is_empty(), "{table}");
        // Rules judged only on the function's side of the wire: never passed from afar.
        for rule in ["runtime.mode-header", "runtime.chunked", "runtime.trailer-declared", "runtime.trailer-base64"] {
            assert_eq!(report.rule(rule).unwrap().verdict, Verdict::NotRun, "{rule}\n{table}");
        }
        let wire_reason = report.rule("runtime.mode-header").unwrap().evidence[0].to_string();
        assert!(wire_reason.contains("wire checks need the emulator"), "{wire_reason}");
        // Scenarios that need emulator settings, and the local /invoke, are not run either.
        for rule in ["limits.timeout", "limits.size", "limits.bandwidth", "local.invoke-post-only"] {
            assert_eq!(report.rule(rule).unwrap().verdict, Verdict::NotRun, "{rule}\n{table}");
        }
        // Rules with a client part and a wire part: the client's checks held, the wire's were not
        // made (the function ran, or did not, out of sight): partial, never passed.
        for rule in ["runtime.small-write-flushed", "invoke.dry-run", "writer.finish-twice"] {
            assert_eq!(report.rule(rule).unwrap().verdict, Verdict::Partial, "{rule}\n{table}");
        }
        // What a client can see passes through HTTPS, SigV4 and the SDK: URL, IWRS and Invoke.
        for rule in [
            "url.prelude-status-headers",
            "url.streams-as-written",
            "url.mid-stream-abort",
            "url.event-query",
            "url.binary-round-trip",
            "runtime-api.deadline-epoch-ms",
            "iwrs.response-head",
            "iwrs.chunk-per-write",
            "iwrs.error-in-invoke-complete",
            "iwrs.unknown-function",
            "iwrs.log-tail",
            "iwrs.small-write-flushed",
            "runtime-api.client-context",
            "runtime-api.request-id",
            "invoke.buffered",
            "invoke.function-error",
            "invoke.log-tail",
            "invoke.unknown-function",
        ] {
            assert_eq!(report.rule(rule).unwrap().verdict, Verdict::Pass, "{rule}\n{table}");
        }
        assert!(report.ok(), "{table}");
        stand.stop().await;
    });
}

#[test]
fn a_wrong_signature_is_a_target_error_not_a_rule_failure() {
    common::tokio().block_on(async {
        let stand = Stand::start().await;
        let report =
            suite(stand.target("not-the-secret", stand.trusted()).await, &["url-ok-streams", "iwrs-ok-frames"]).await;
        let errors = report.target_errors();
        assert_eq!(errors.len(), 2, "{errors:?}");
        for (scenario, error) in &errors {
            assert!(error.contains("InvalidSignatureException"), "{scenario}: {error}");
        }
        assert!(report.rules_with(Verdict::Fail).is_empty(), "a refused caller judges no rule");
        assert_eq!(report.rule("url.streams-as-written").unwrap().verdict, Verdict::NotRun);
        assert!(!report.ok(), "a run with target errors is not a success");
        let junit =
            lambda_stream_conformance::report::render(&report, lambda_stream_conformance::report::Format::Junit)
                .unwrap();
        assert!(junit.contains("target error: url-ok-streams"), "{junit}");
        assert!(stand.served.iter().all(|(e, _)| e.recorder().invocations().is_empty()), "nothing was invoked");
        stand.stop().await;
    });
}

#[test]
fn a_wrong_trust_root_is_a_target_error_before_any_request() {
    common::tokio().block_on(async {
        let stand = Stand::start().await;
        let stranger = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap().cert.pem();
        let report = suite(stand.target(SECRET, stranger).await, &["url-ok-streams", "iwrs-ok-frames"]).await;
        let errors = report.target_errors();
        assert_eq!(errors.len(), 2, "{errors:?}");
        for (scenario, error) in &errors {
            let lower = error.to_ascii_lowercase();
            assert!(lower.contains("certificate") || lower.contains("unknownissuer"), "{scenario}: {error}");
        }
        assert!(report.rules_with(Verdict::Fail).is_empty());
        assert!(stand.served.iter().all(|(e, _)| e.recorder().invocations().is_empty()), "nothing was invoked");
        stand.stop().await;
    });
}
