//! Embeds `scenarios/*.toml` and generates one `#[test]` per scenario file (as h2's hpack
//! fixtures do), so `cargo test` names the scenario that failed.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../../scenarios");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    let mut embedded = String::from("&[\n");
    let mut tests = String::new();
    for path in &files {
        println!("cargo::rerun-if-changed={}", path.display());
        let name = path.file_stem().and_then(|s| s.to_str()).expect("scenario file names are UTF-8");
        let path = path.canonicalize().expect("scenario file exists");
        writeln!(embedded, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
        let ident: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        writeln!(tests, "#[test]\nfn scenario_{ident}() {{\n    run_scenario_test({name:?});\n}}\n").unwrap();
    }
    embedded.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("embedded_scenarios.rs"), embedded).expect("write OUT_DIR");
    std::fs::write(out.join("scenario_tests.rs"), tests).expect("write OUT_DIR");
}
