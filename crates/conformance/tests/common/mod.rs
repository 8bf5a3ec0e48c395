//! Shared by the test files: the local target with this package's binaries, and the broken
//! runtime (`fixture-bootstrap` from lambda-stream-fixtures).

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file compiles this module on its own and uses only part of it"
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use lambda_stream_conformance::Target;
use lambda_stream_conformance::target::{Front, FrontGuard};
use lambda_stream_emulator::BootstrapCommand;
use lambda_stream_fixtures::platform::{BrokenPlatform, PlatformDefect};

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

/// The broken platform (`lambda_stream_fixtures::platform`) with `defects` in front of the
/// emulator, the fixture runtime without defects behind it.
#[derive(Debug)]
struct BrokenFront(Vec<PlatformDefect>);

impl Front for BrokenFront {
    fn start(&self, upstream: String, function: String) -> BoxFuture<'static, Result<FrontGuard, String>> {
        let defects = self.0.clone();
        Box::pin(async move {
            let platform = BrokenPlatform::start(&upstream, &function, &defects).await.map_err(|e| e.to_string())?;
            Ok(FrontGuard { url: platform.url().to_owned(), guard: Box::new(platform) })
        })
    }
}

/// The fixture runtime without defects behind a platform with `defects` (comma-separated names of
/// `PlatformDefect`).
pub fn broken_platform(defects: &str) -> Target {
    let defects = defects
        .split(',')
        .filter(|d| !d.is_empty())
        .map(|d| PlatformDefect::from_name(d).unwrap_or_else(|| panic!("unknown platform defect {d:?}")))
        .collect();
    let Target::Local { bootstraps } = broken("") else { unreachable!("broken() is a local target") };
    Target::LocalFront { bootstraps, front: Arc::new(BrokenFront(defects)) }
}

/// A multi-threaded tokio runtime for one test.
pub fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}
