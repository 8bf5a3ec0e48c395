//! The crate's modules form layers: every module uses only modules below it, so there is no
//! import circle (the order is the one `lib.rs` documents under "Layers" and docs/architecture.md
//! draws). The scan is `lambda_stream_test_support::layers`; it names the file and line of any
//! `crate::module` path that points up or sideways, and any module missing from the list.

use std::path::Path;

/// Lowest first. A module may use the modules of lower layers only; modules on one layer are
/// independent of each other.
#[rustfmt::skip]
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["endpoint", "context"],
    &["client", "state"],
    &["writer"],
    &["handler"],
    &["event", "runtime"],
    &["local"],
];

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    match lambda_stream_test_support::layers::check(&src, LAYERS) {
        Ok(seen) => assert!(seen > 10, "only {seen} crate paths found: the scan is broken"),
        Err(wrong) => panic!("imports against the layers:\n{}", wrong.join("\n")),
    }
}
