//! Keeps `docs/misbehaviours.md` and the tests in step, so the catalogue cannot go stale.
//!
//! The document's checked tables are those whose last column is headed `test`. Each row is one
//! case; its last cell names one or more tests in backticks: a bare name is a test of this binary
//! (`tests/misbehaviours/*.rs`), `FILE::name` a test of `tests/FILE.rs`, and `CRATE/FILE::name`
//! a test of another crate's `crates/CRATE/tests/FILE.rs` (the runtime crate's side). The check:
//! every named test exists in the file it points to; every test of this binary (but these checks)
//! and of the [`LISTED_FILES`] is named exactly once; every row says what the answer is; and the
//! totals the document states are the numbers of rows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The checks' own names: they are not misbehaviours.
const CHECKS: [&str; 2] =
    ["the_table_and_the_tests_name_the_same_cases", "the_check_reads_tables_and_test_names_as_documented"];

/// Test files whose tests the table must list in full, besides this binary's: the probe's
/// defects, and the runtime crate's fault injection against a broken Runtime API.
const LISTED_FILES: [&str; 2] = ["probe_defects", "runtime/faults"];

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The source file a `FILE` or `CRATE/FILE` reference points to.
fn test_file(reference: &str) -> PathBuf {
    match reference.split_once('/') {
        Some((krate, file)) => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate).join("tests").join(format!("{file}.rs"))
        }
        None => tests_dir().join(format!("{reference}.rs")),
    }
}

/// The names of the test functions in `source` (`#[test]`, `#[tokio::test]` or
/// `#[tokio::test(...)]` on the line before, attributes between allowed).
fn test_functions(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut armed = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
            armed = true;
            continue;
        }
        if armed && !line.starts_with("#[") {
            armed = false;
            let rest = line.strip_prefix("async fn ").or_else(|| line.strip_prefix("fn "));
            if let Some(name) = rest.and_then(|r| r.split('(').next()) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// Test functions by file stem, for this binary's files.
fn binary_tests() -> BTreeMap<String, Vec<String>> {
    let dir = tests_dir().join("misbehaviours");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("tests/misbehaviours") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.insert(stem, test_functions(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

/// A checked row: its line number, its cells, and the tests its last cell names.
struct Row {
    line: usize,
    cells: Vec<String>,
    tests: Vec<String>,
}

/// The rows of every table whose last column is `test`.
fn checked_rows(doc: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_checked = false;
    let mut header_seen = false;
    for (i, line) in doc.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') {
            in_checked = false;
            header_seen = false;
            continue;
        }
        let cells: Vec<String> =
            line.trim_matches('|').split(" | ").map(|c| c.trim().trim_matches('|').trim().to_owned()).collect();
        if !header_seen {
            header_seen = true;
            in_checked = cells.last().is_some_and(|c| c == "test");
            continue;
        }
        if !in_checked || cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ' ' || ch == ':')) {
            continue;
        }
        let last = cells.last().cloned().unwrap_or_default();
        let tests = last.split('`').skip(1).step_by(2).map(str::to_owned).collect();
        rows.push(Row { line: i + 1, cells, tests });
    }
    rows
}

/// `Cases: N (clients C, runtimes R, probe defects D, runtime crate K)` as the document states
/// them.
fn stated_totals(doc: &str) -> Option<[usize; 5]> {
    let line = doc.lines().find(|l| l.starts_with("Cases: "))?;
    let numbers: Vec<usize> =
        line.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect();
    numbers.try_into().ok()
}

#[test]
fn the_table_and_the_tests_name_the_same_cases() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/misbehaviours.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/misbehaviours.md");
    let rows = checked_rows(&doc);
    let mut problems = Vec::new();

    let binary = binary_tests();
    let ours: BTreeSet<String> = binary.values().flatten().filter(|n| !CHECKS.contains(&n.as_str())).cloned().collect();
    let mut listed_elsewhere: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for file in LISTED_FILES {
        let source = std::fs::read_to_string(test_file(file)).expect(file);
        listed_elsewhere.insert(file, test_functions(&source).into_iter().collect());
    }

    let mut named: BTreeMap<String, usize> = BTreeMap::new();
    let (mut clients, mut runtimes, mut defects, mut runtime_crate) = (0, 0, 0, 0);
    for row in &rows {
        if row.tests.is_empty() {
            problems.push(format!("line {}: the row names no test", row.line));
        }
        if row.cells.len() < 4 || row.cells[1].is_empty() || row.cells[0].is_empty() {
            problems
                .push(format!("line {}: a row needs the misbehaviour, the answer, a source and the test", row.line));
        }
        let first = row.tests.first().map(String::as_str).unwrap_or_default();
        if first.starts_with("client_") {
            clients += 1;
        } else if first.starts_with("runtime_") {
            runtimes += 1;
        } else if first.starts_with("probe_defects::") {
            defects += 1;
        } else if first.starts_with("runtime/") {
            runtime_crate += 1;
        } else {
            problems.push(format!(
                "line {}: {first:?} is neither a client_, runtime_, probe_defects:: nor runtime/ test",
                row.line
            ));
        }
        for test in &row.tests {
            *named.entry(test.clone()).or_default() += 1;
            let exists = match test.split_once("::") {
                Some((file, name)) => match listed_elsewhere.get(file) {
                    Some(names) => names.contains(name),
                    None => std::fs::read_to_string(test_file(file))
                        .is_ok_and(|s| test_functions(&s).iter().any(|n| n == name)),
                },
                None => ours.contains(test),
            };
            if !exists {
                problems.push(format!("line {}: no test `{test}` where the table says", row.line));
            }
        }
    }
    for (test, count) in &named {
        if *count > 1 {
            problems.push(format!("`{test}` is named {count} times"));
        }
    }
    for test in &ours {
        if !named.contains_key(test) {
            problems.push(format!("test `{test}` has no row in docs/misbehaviours.md"));
        }
    }
    for (file, names) in &listed_elsewhere {
        for name in names {
            if !named.contains_key(&format!("{file}::{name}")) {
                problems.push(format!("test `{file}::{name}` has no row in docs/misbehaviours.md"));
            }
        }
    }
    let counted = [rows.len(), clients, runtimes, defects, runtime_crate];
    match stated_totals(&doc) {
        Some(stated) if stated == counted => {}
        stated => problems.push(format!(
            "the document states {stated:?} (cases, clients, runtimes, defects, runtime crate) but its tables have \
             {counted:?}"
        )),
    }
    if rows.len() < 60 {
        problems.push(format!("the catalogue has {} cases; the issue asks for at least 60", rows.len()));
    }
    assert!(problems.is_empty(), "docs/misbehaviours.md and the tests disagree:\n{}", problems.join("\n"));
}

#[test]
fn the_check_reads_tables_and_test_names_as_documented() {
    let source = "#[tokio::test]\nasync fn a() {}\n#[tokio::test(start_paused = true)]\nasync fn b() {}\n\
                  fn helper() {}\n#[test]\n#[ignore = \"x\"]\nfn c() {}\n";
    assert_eq!(test_functions(source), ["a", "b", "c"]);
    let doc = "Cases: 2 (clients 1, runtimes 1, probe defects 0, runtime crate 0)\n\n| misbehaviour | answer | source | test |\n\
               | --- | --- | --- | --- |\n| x | 400 | `RT-API` | `client_x` |\n| y | 409 | PROJECT | `runtime_y`, `f::z` |\n\n\
               | other | column |\n| --- | --- |\n| not | `checked` |\n";
    let rows = checked_rows(doc);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].tests, ["client_x"]);
    assert_eq!(rows[1].tests, ["runtime_y", "f::z"]);
    assert_eq!(stated_totals(doc), Some([2, 1, 1, 0, 0]));
    assert!(test_file("runtime/faults").ends_with("runtime/tests/faults.rs"));
    assert!(test_file("runtime/faults").exists(), "the runtime crate's fault tests are where the table says");
    assert_eq!(test_file("probe_defects"), tests_dir().join("probe_defects.rs"));
}
