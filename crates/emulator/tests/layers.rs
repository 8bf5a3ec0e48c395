//! The emulator's modules form layers: every module uses only modules below it, so there is no
//! import circle (docs/architecture.md draws the same stack). The scan is
//! `lambda_stream_test_support::layers`; it names the file and line of any `crate::module` path
//! that points up or sideways, and any module missing from the list.

use std::path::Path;

/// Lowest first. A module may use the modules of lower layers only; modules on one layer are
/// independent of each other. `frontends` is the directory (its files share the module).
#[rustfmt::skip]
const LAYERS: &[&[&str]] = &[
    &["error", "config", "time", "logs", "http"],
    &["auth", "payload", "shaping", "tls"],
    // The API Gateway REST event builder uses the function URL event builder's decoding.
    &["rest_event"],
    &["invocation"],
    &["recorder"],
    &["timeline", "platform"],
    &["runtime_api", "frontends", "dashboard"],
    &["server"],
    &["supervisor", "fuzzing"],
    &["emulate"],
];

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    match lambda_stream_test_support::layers::check(&src, LAYERS) {
        Ok(seen) => assert!(seen > 50, "only {seen} crate paths found: the scan is broken"),
        Err(wrong) => panic!("imports against the layers:\n{}", wrong.join("\n")),
    }
}
