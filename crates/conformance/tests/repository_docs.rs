//! The repository explains itself: what a clone needs is in the clone.
//!
//! - No tracked file points at the background notes that lived beside the repository while it was
//!   written (their directory, its `spec`, `fixtures` and `DESIGN` entries): the facts are in
//!   `docs/`. The patterns are put together from pieces, so this file does not match itself.
//! - Every source key the rule catalogue cites is resolved in `docs/sources.md`.
//! - Every section of the spec a tracked file cites ("spec", the section sign, a number) is a
//!   section of `docs/protocol.md`.
//! - Every expected-deviations file (`ci/expected/*.toml`) parses and names only rules of the
//!   catalogue and scenarios that exist. Most of those columns (node, lwa, cargo-lambda) are run by
//!   hand, not in CI, so a renamed rule or scenario would otherwise go unnoticed until then.
//!
//! The files are those `git ls-files` lists at the workspace root, so a stray untracked file does
//! not count and a new tracked one cannot escape. Without git, or outside a checkout, the test
//! fails and says so: this crate is not published, it is only ever tested in a checkout.

use std::path::{Path, PathBuf};
use std::process::Command;

use lambda_stream_conformance::{Catalogue, Expected};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace root exists")
}

/// Tracked files with their text; files that are not UTF-8 (none today) are skipped.
fn tracked_files() -> Vec<(String, String)> {
    let root = workspace_root();
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .expect("git runs (this test lists the tracked files with `git ls-files`; install git)");
    assert!(
        output.status.success(),
        "`git ls-files` failed in {}: {} (run the tests from a git checkout)",
        root.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let names: Vec<String> = output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8(name.to_vec()).expect("file names are UTF-8"))
        .collect();
    assert!(names.len() > 100, "git listed only {} files: not the workspace checkout?", names.len());
    names
        .into_iter()
        // A tracked file deleted in the working tree (a change not yet committed) has no text.
        .filter_map(|name| std::fs::read(root.join(&name)).ok().map(|bytes| (name, bytes)))
        .filter_map(|(name, bytes)| String::from_utf8(bytes).ok().map(|text| (name, text)))
        .collect()
}

/// The patterns no tracked file may contain, built from pieces.
fn forbidden_patterns() -> Vec<String> {
    let dir = ["sha", "red"].concat();
    let mut patterns: Vec<String> =
        ["spec", "fixtures", "DESIGN"].iter().map(|entry| format!("{dir}/{entry}")).collect();
    patterns.push(format!("../{dir}"));
    patterns
}

#[test]
fn no_tracked_file_points_outside_the_repository_for_its_docs() {
    let patterns = forbidden_patterns();
    let mut hits = Vec::new();
    for (name, text) in tracked_files() {
        for (number, line) in text.lines().enumerate() {
            for pattern in &patterns {
                if line.contains(pattern.as_str()) {
                    hits.push(format!("{name}:{}: mentions {pattern}", number + 1));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "these lines point at notes a clone does not have; point them at docs/protocol.md, \
         docs/architecture.md, docs/sources.md or a fixture inside the repository instead:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_patterns_are_the_ones_intended() {
    // Guards the check above against a typo that would make it match nothing.
    let dir = ["sha", "red"].concat();
    assert_eq!(
        forbidden_patterns(),
        [format!("{dir}/spec"), format!("{dir}/fixtures"), format!("{dir}/DESIGN"), format!("../{dir}")]
    );
    assert!(forbidden_patterns().iter().all(|p| p.len() > 8 && p.contains(&dir)));
}

/// The keys a `source` field names. Parenthesised remarks are dropped; the parts separated by
/// `;` and then by `,` each start with a key, and a `:` ends the list of keys in a part:
/// `RT-CUSTOM, RIE path; SWIFT (crash); PROJECT: a typed error` gives `RT-CUSTOM`, `RIE`,
/// `SWIFT`, `PROJECT`. A part that starts with anything else (a lower-case word) is reported, so
/// every source stays resolvable.
fn source_keys(source: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in source.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    plain
        .split(';')
        .flat_map(|part| part.split(':').next().unwrap_or(part).split(','))
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| part.split(' ').next().unwrap_or(part).to_owned())
        .collect()
}

#[test]
fn every_source_key_of_the_rule_catalogue_is_resolved_in_docs_sources() {
    let sources = std::fs::read_to_string(workspace_root().join("docs/sources.md")).expect("docs/sources.md exists");
    let catalogue = Catalogue::embedded().expect("the embedded catalogue parses");
    let mut unresolved = Vec::new();
    for rule in &catalogue.rules {
        for key in source_keys(&rule.source) {
            // `docs/sources.md` lists each key as `KEY` in the first column of a table.
            if !sources.contains(&format!("| `{key}`")) {
                unresolved.push(format!("{}: `{key}` (from {:?})", rule.id, rule.source));
            }
        }
    }
    assert!(unresolved.is_empty(), "source keys missing from docs/sources.md:\n{}", unresolved.join("\n"));
}

#[test]
fn source_keys_are_split_as_the_catalogue_writes_them() {
    assert_eq!(source_keys("RT-CUSTOM, RIE rapi/x.go; SWIFT sends 'x' (defect)"), ["RT-CUSTOM", "RIE", "SWIFT"]);
    assert_eq!(source_keys("PROJECT (CL assumes frame 1 = JSON, frame 2 = delimiter)"), ["PROJECT"]);
    assert_eq!(source_keys("SWIFT (fatalError); PROJECT: finished or reported, never a crash"), ["SWIFT", "PROJECT"]);
    assert_eq!(source_keys("IWRS (ResourceNotFoundException)"), ["IWRS"]);
    // A prose source is not a key: it is reported.
    assert_eq!(source_keys("the Invoke API reference"), ["the"]);
}

#[test]
fn every_cited_spec_section_exists_in_docs_protocol() {
    let protocol = std::fs::read_to_string(workspace_root().join("docs/protocol.md")).expect("docs/protocol.md exists");
    let sections: Vec<u32> = (1..=7).filter(|n| protocol.contains(&format!("\n## {n}. "))).collect();
    assert_eq!(sections, [1, 2, 3, 4, 5, 6, 7], "docs/protocol.md keeps its sections 1 to 7");
    // Built from pieces, so that this file's own text is not a citation.
    let cite = ["spec ", "\u{a7}"].concat();
    let mut bad = Vec::new();
    for (name, text) in tracked_files() {
        for (at, _) in text.match_indices(cite.as_str()) {
            let number: String = text[at + cite.len()..].chars().take_while(char::is_ascii_digit).collect();
            match number.parse::<u32>() {
                Ok(n) if sections.contains(&n) => {}
                _ => bad.push(format!("{name}: \"{cite}{number}\"")),
            }
        }
    }
    assert!(bad.is_empty(), "citations of sections docs/protocol.md does not have:\n{}", bad.join("\n"));
}

/// `ci/expected/localstack.toml` describes one LocalStack release: the one the container tests
/// pin. When the pin moves, the expectations must be looked at again, so they must name it.
#[test]
fn the_localstack_expectations_name_the_pinned_image() {
    let root = workspace_root();
    // Both container tests start LocalStack; they must pin the same image.
    let pins: Vec<String> = ["crates/conformance/tests/localstack.rs", "crates/aws/tests/localstack.rs"]
        .iter()
        .map(|path| {
            let test = std::fs::read_to_string(root.join(path)).expect("the LocalStack tests");
            test.lines()
                .find_map(|l| l.trim().strip_prefix("const LOCALSTACK_TAG: &str = \""))
                .and_then(|rest| rest.strip_suffix("\";"))
                .unwrap_or_else(|| panic!("{path} pins LOCALSTACK_TAG"))
                .to_owned()
        })
        .collect();
    assert_eq!(pins[0], pins[1], "the two LocalStack container tests pin different images");
    let pin = &pins[0];
    let expected =
        std::fs::read_to_string(root.join("ci/expected/localstack.toml")).expect("ci/expected/localstack.toml");
    let named: Vec<&str> = expected
        .match_indices("localstack/localstack:")
        .map(|(at, prefix)| {
            let tag = &expected[at + prefix.len()..];
            &tag[..tag.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')).unwrap_or(tag.len())]
        })
        .collect();
    assert!(!named.is_empty(), "ci/expected/localstack.toml names no localstack/localstack image");
    assert!(
        named.iter().all(|tag| *tag == pin),
        "the tests pin localstack/localstack:{pin}; the expectations name {named:?}"
    );
    let parsed = lambda_stream_conformance::Expected::parse("localstack.toml", &expected).expect("it parses");
    assert!(parsed.target.as_deref().is_some_and(|t| t.contains(&format!("localstack/localstack:{pin}"))));
}

#[test]
fn every_expected_file_names_catalogued_rules_and_existing_scenarios() {
    let root = workspace_root();
    let catalogue = Catalogue::embedded().expect("the embedded catalogue parses");
    let files: Vec<String> = tracked_files()
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| path.starts_with("ci/expected/") && path.ends_with(".toml"))
        .collect();
    assert!(files.iter().any(|f| f == "ci/expected/lwa.toml"), "the expected files were not found: {files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let expected = match Expected::load(&root.join(file)) {
            Ok(expected) => expected,
            Err(e) => {
                problems.push(format!("{file}: {e}"));
                continue;
            }
        };
        let scenarios = expected
            .deviation
            .iter()
            .filter_map(|d| d.scenario.as_deref())
            .chain(expected.not_run.iter().map(|n| n.scenario.as_str()));
        for scenario in scenarios {
            if !root.join("scenarios").join(format!("{scenario}.toml")).is_file() {
                problems.push(format!("{file}: no scenario {scenario} (scenarios/{scenario}.toml)"));
            }
        }
        for rule in expected.deviation.iter().filter_map(|d| d.rule.as_deref()) {
            if !catalogue.rules.iter().any(|r| r.id == rule) {
                problems.push(format!("{file}: rule {rule} is not in crates/conformance/rules.toml"));
            }
        }
    }
    assert!(problems.is_empty(), "expected-deviation files out of step:\n{}", problems.join("\n"));
}

/// The `#[tokio::main]` attributes of the tracked files that start the runtime loop
/// (`lambda_stream::run(`), as (file:line, attribute). Doc comments' code counts too: a snippet
/// is what a reader copies. Only lines that are the attribute count, not prose that names it.
fn loop_mains(files: &[(String, String)]) -> Vec<(String, String)> {
    let starts_loop = ["lambda_stream", "::run("].concat();
    let attribute = ["#[tokio", "::main"].concat();
    let mut mains = Vec::new();
    for (name, text) in files {
        if !(name.ends_with(".rs") || name.ends_with(".md")) || !text.contains(starts_loop.as_str()) {
            continue;
        }
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start().trim_start_matches("//!").trim_start_matches("///").trim_start();
            if code.starts_with(attribute.as_str()) {
                mains.push((format!("{name}:{}", number + 1), code.to_string()));
            }
        }
    }
    mains
}

/// Every function this repository ships or shows runs its loop on a current-thread runtime (the
/// runtime crate's docs, "Which tokio runtime"): on the default multi-thread runtime every chunk
/// crosses threads. The official runtime's peer keeps its own examples' default.
#[test]
fn every_loop_in_the_repository_runs_on_a_current_thread_runtime() {
    // This file is left out: its own texts about the attribute are not mains.
    let files: Vec<(String, String)> = tracked_files()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("crates/peers/official/") && !name.ends_with("tests/repository_docs.rs"))
        .collect();
    let mains = loop_mains(&files);
    // The examples, the README's snippets, the runtime's docs and the suite's bootstrap: if this
    // finds fewer, the search is broken, not the repository clean.
    assert!(mains.len() >= 8, "found only {} mains that start the loop: {mains:?}", mains.len());
    let wrong: Vec<String> = mains
        .iter()
        .filter(|(_, attribute)| !attribute.contains("flavor = \"current_thread\""))
        .map(|(at, attribute)| format!("{at}: {attribute}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "these mains run the loop on the default multi-thread runtime; use \
         #[tokio::main(flavor = \"current_thread\")]:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn loop_mains_are_found_in_code_and_doc_comments_but_not_in_prose() {
    let text = "//! #[tokio::main]\n//! async fn main() { lambda_stream::run(h).await }\n\
                /// Under the default `#[tokio::main]` ...\n#[tokio::main(flavor = \"current_thread\")]\n";
    let files = vec![("a.rs".to_string(), text.to_string()), ("b.toml".to_string(), text.to_string())];
    let found = loop_mains(&files);
    assert_eq!(
        found,
        [
            ("a.rs:1".to_string(), "#[tokio::main]".to_string()),
            ("a.rs:4".to_string(), "#[tokio::main(flavor = \"current_thread\")]".to_string())
        ]
    );
    // A file that does not start the loop is not a function's main.
    assert!(loop_mains(&[("c.rs".to_string(), "#[tokio::main]\n".to_string())]).is_empty());
}
