//! Replays every committed corpus file, and every target's seeds, through the target's oracle
//! without libFuzzer, so a regression shows up under plain `cargo test` (ci/fuzz.sh runs it).

use std::path::Path;

use lambda_stream_fuzz::TARGETS;

#[test]
fn every_corpus_file_passes_its_oracle() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in TARGETS {
        let dir = corpus.join(target.name);
        let mut replayed = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| (target.check)(&bytes));
            assert!(result.is_ok(), "{} fails its oracle", path.display());
            replayed += 1;
        }
        assert!(replayed > 0, "{} has an empty corpus", target.name);
    }
}

#[test]
fn every_seed_passes_its_oracle() {
    for target in TARGETS {
        for (name, bytes) in (target.seeds)() {
            let result = std::panic::catch_unwind(|| (target.check)(&bytes));
            assert!(result.is_ok(), "seed {name} of {} fails its oracle", target.name);
        }
    }
}

#[test]
fn every_target_has_a_binary_and_every_binary_a_target() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz_targets");
    let mut binaries: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    binaries.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|t| t.name.to_owned()).collect();
    names.sort();
    assert_eq!(binaries, names);
}
