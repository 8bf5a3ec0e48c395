//! The crate's modules form layers: every module uses only modules below it, so there is no
//! import circle (the order is the one `lib.rs` documents under "Layers"). This reads the sources
//! and fails on any `crate::module` path that points up or sideways, naming the file and line.

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
    &["runtime"],
    &["local"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The modules a source uses through `crate::name` paths, with their line numbers. Comment lines
/// (documentation links) are not uses.
fn uses(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            // `crate::{a, b}` groups and re-exported items (`crate::Error`) are checked by name.
            if rest.starts_with('{') {
                let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
                for item in group.split(',') {
                    let module = item.trim().split("::").next().unwrap_or("").to_owned();
                    found.push((number + 1, module));
                }
            } else {
                found.push((number + 1, name));
            }
        }
    }
    found
}

/// Every `.rs` file under `dir`, in a stable order.
fn sources(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for path in sources(&src) {
        // `src/state/tests.rs` belongs to `state`: the module is the first part of the path.
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" {
            continue;
        }
        let own = layer_of(&module).unwrap_or_else(|| panic!("src/{module}.rs is in no layer: add it to LAYERS"));
        let source = std::fs::read_to_string(&path).unwrap();
        for (line, used) in uses(&source) {
            if let Some(theirs) = layer_of(&used)
                && used != module
                && theirs >= own
            {
                wrong.push(format!("src/{}:{line} uses `{used}`, which is not below it", relative.display()));
            }
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} crate paths found: the scan is broken");
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_uses_and_ignores_comments() {
    let source = "//! [`x`](crate::runtime)\nuse crate::writer::{A, B};\nuse crate::{client::C, error};\nfn f() { crate::state::g() }\n";
    let found: Vec<String> = uses(source).into_iter().map(|(_, m)| m).collect();
    assert_eq!(found, ["writer", "client", "error", "state"]);
}
