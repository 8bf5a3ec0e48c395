//! The official `lambda_runtime` peer (`crates/peers/official`) under our emulator: the suite must
//! report its known defects (spec section 1: RUST writes mid-stream error "trailers" into the
//! body), so it cannot pass everything by construction. The peer's binaries belong to another
//! package, so this test needs them built first (`cargo build -p peer-official`);
//! `ci/test-local.sh` (so CI) runs it with `--ignored` right after the workspace tests have built
//! them, and so does `ci/conform-matrix.sh`.

mod common;

use std::path::PathBuf;

use lambda_stream_conformance::check::Verdict;
use lambda_stream_conformance::run::{Evidence, RunOptions, run};
use lambda_stream_conformance::{Catalogue, Target, scenario};
use lambda_stream_emulator::BootstrapCommand;

fn peer_bin(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_BIN_EXE_conformance-bootstrap")).parent().unwrap().to_owned();
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: run `cargo build -p peer-official` first", path.display());
    path
}

#[test]
#[ignore = "needs the peer binaries: cargo build -p peer-official (ci/test-local.sh runs it)"]
fn the_official_runtime_is_caught_writing_trailers_into_the_body() {
    let bootstraps = [
        ("send-numbers".to_owned(), BootstrapCommand::new(peer_bin("official-send-numbers"))),
        ("conditional-streaming".to_owned(), BootstrapCommand::new(peer_bin("official-conditional-streaming"))),
    ]
    .into();
    let options = RunOptions::new(Target::Local { bootstraps });
    let report = common::tokio()
        .block_on(run(&Catalogue::embedded().unwrap(), scenario::embedded().unwrap(), &options))
        .unwrap();
    let table = lambda_stream_conformance::report::table(&report);
    for rule in ["runtime.trailers-are-trailers", "url.mid-stream-abort", "iwrs.error-in-invoke-complete"] {
        assert_eq!(report.rule(rule).unwrap().verdict, Verdict::Fail, "{rule}\n{table}");
    }
    let evidence = &report.rule("runtime.trailers-are-trailers").unwrap().evidence;
    assert!(evidence.iter().all(Evidence::is_failure), "{evidence:?}");
    let text: Vec<String> = evidence.iter().map(ToString::to_string).collect();
    assert!(text.join("\n").contains("Lambda-Runtime-Function-Error"), "{text:?}");
    // What it gets right is still reported as right. (Not its pacing: `url.streams-as-written`
    // is intermittent for this runtime, see ci/expected/official.toml.)
    for rule in ["runtime.mode-header", "url.prelude-status-headers", "iwrs.frame-headers", "iwrs.invoke-complete-last"]
    {
        assert_eq!(report.rule(rule).unwrap().verdict, Verdict::Pass, "{rule}\n{table}");
    }
}
