//! Shared by the test files: the local target with this package's binaries, and the broken
//! runtime (`fixture-bootstrap` from lambda-stream-fixtures).

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file compiles this module on its own and uses only part of it"
)]

use std::collections::BTreeMap;

use lambda_stream_conformance::Target;
use lambda_stream_emulator::BootstrapCommand;

/// Our runtime: `conformance-bootstrap <handler>`, built with these tests.
pub fn ours() -> Target {
    let bin = env!("CARGO_BIN_EXE_conformance-bootstrap");
    let bootstraps = ["send-numbers", "conditional-streaming", "probe"]
        .into_iter()
        .map(|h| (h.to_owned(), BootstrapCommand::new(bin).arg(h)))
        .collect();
    Target::Local { bootstraps }
}

/// The broken runtime, `fixture-bootstrap --break DEFECTS` (comma-separated; empty for none),
/// for both example handlers and the probe.
pub fn broken(defects: &str) -> Target {
    let bin = lambda_stream_fixtures::bootstrap_path();
    let bootstraps: BTreeMap<String, BootstrapCommand> = ["send-numbers", "conditional-streaming", "probe"]
        .into_iter()
        .map(|h| {
            let mut command = BootstrapCommand::new(&bin).arg("--handler").arg(h);
            if !defects.is_empty() {
                command = command.arg("--break").arg(defects);
            }
            (h.to_owned(), command)
        })
        .collect();
    Target::Local { bootstraps }
}

/// A multi-threaded tokio runtime for one test.
pub fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}
