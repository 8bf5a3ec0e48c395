//! Writes each target's seeds to `corpus/<target>/seed-<name>` (run from anywhere:
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`). Existing files are overwritten,
//! other corpus files are left alone.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in lambda_stream_fuzz::TARGETS {
        let dir = corpus.join(target.name);
        std::fs::create_dir_all(&dir)?;
        let seeds = (target.seeds)();
        for (name, bytes) in &seeds {
            (target.check)(bytes);
            std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        }
        println!("{}: {} seeds in {}", target.name, seeds.len(), dir.display());
    }
    Ok(())
}
