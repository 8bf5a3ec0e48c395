//! A check that a crate's modules form layers: every module uses only modules of lower layers, so
//! no import circle can exist and a newcomer can draw the crate as a stack. It reads the crate's
//! sources (`crate::module` paths, outside comments) rather than compiling anything, so each crate
//! keeps its list of layers in a test of its own and the failure names the file and line.

use std::path::{Path, PathBuf};

/// The modules a source uses through `crate::name` paths, with their line numbers. Comment lines
/// (documentation links) are not uses; in a `crate::{a, b::C}` group each item counts by its first
/// segment. Names that are items re-exported at the crate root (`crate::Error`) come back as they
/// are and are ignored by [`check`] when no layer lists them.
pub fn uses(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    let module = item.trim().split("::").next().unwrap_or("").to_owned();
                    if !module.is_empty() {
                        found.push((number + 1, module));
                    }
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                found.push((number + 1, name));
            }
        }
    }
    found
}

/// Every `.rs` file under `dir`, in a stable order.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(read) => read.flatten().map(|entry| entry.path()).collect(),
        Err(error) => panic!("cannot read {}: {error}", dir.display()),
    };
    entries.sort();
    let mut files = Vec::new();
    for path in entries {
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// Checks the crate whose sources are in `src` against `layers` (lowest first; modules on one
/// layer must not use each other). A module is the first component of a file's path under `src`
/// (`src/frontends/iwrs.rs` belongs to `frontends`); `lib.rs` is the root and exempt. Returns the
/// number of `crate::` paths seen, or every violation as "file:line uses `m`, ..." lines. A source
/// file whose module is in no layer is a violation too, so a new module cannot slip past.
pub fn check(src: &Path, layers: &[&[&str]]) -> Result<usize, Vec<String>> {
    let layer_of = |module: &str| layers.iter().position(|layer| layer.contains(&module));
    let mut seen = 0;
    let mut wrong = Vec::new();
    for path in sources(src) {
        let relative = path.strip_prefix(src).unwrap_or(&path);
        let first = relative.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
        let module = first.unwrap_or_default().trim_end_matches(".rs").to_owned();
        if module == "lib" {
            continue;
        }
        let Some(own) = layer_of(&module) else {
            wrong.push(format!("src/{}: module `{module}` is in no layer: add it to the list", relative.display()));
            continue;
        };
        let source =
            std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        for (line, used) in uses(&source) {
            seen += 1;
            if let Some(theirs) = layer_of(&used)
                && used != module
                && theirs >= own
            {
                wrong.push(format!("src/{}:{line} uses `{used}`, which is not below `{module}`", relative.display()));
            }
        }
    }
    if wrong.is_empty() { Ok(seen) } else { Err(wrong) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_sees_uses_and_ignores_comments() {
        let source = "//! [`x`](crate::runtime)\nuse crate::writer::{A, B};\nuse crate::{client::C, error};\nfn f() { crate::state::g() }\n";
        let found: Vec<String> = uses(source).into_iter().map(|(_, m)| m).collect();
        assert_eq!(found, ["writer", "client", "error", "state"]);
    }

    #[test]
    fn a_use_of_the_same_or_a_higher_layer_is_reported_with_its_line() {
        let dir = std::env::temp_dir().join(format!("layers-check-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("upper")).unwrap();
        std::fs::write(dir.join("lib.rs"), "use crate::upper::X;\n").unwrap();
        std::fs::write(dir.join("low.rs"), "fn f() {}\nuse crate::upper::Y;\n").unwrap();
        std::fs::write(dir.join("side.rs"), "use crate::low::Z;\n").unwrap();
        std::fs::write(dir.join("upper/mod.rs"), "use crate::{low, side::W, Error};\n").unwrap();
        std::fs::write(dir.join("stray.rs"), "").unwrap();
        let result = check(&dir, &[&["low", "side"], &["upper"]]);
        std::fs::remove_dir_all(&dir).unwrap();
        let wrong = result.expect_err("low uses upper and side uses low on its own layer");
        assert_eq!(
            wrong,
            [
                "src/low.rs:2 uses `upper`, which is not below `low`",
                "src/side.rs:1 uses `low`, which is not below `side`",
                "src/stray.rs: module `stray` is in no layer: add it to the list",
            ]
        );
    }

    #[test]
    fn layers_that_hold_count_every_path() {
        let dir = std::env::temp_dir().join(format!("layers-ok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("low.rs"), "").unwrap();
        std::fs::write(dir.join("upper.rs"), "use crate::{low::A, Error};\nfn f() { crate::low::g() }\n").unwrap();
        let result = check(&dir, &[&["low"], &["upper"]]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(result, Ok(3));
    }
}
