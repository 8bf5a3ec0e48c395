//! `bench-report`: writes `target/bench-report.md` (and `target/bench-report.html`, the same with
//! plots) from this run's criterion results
//! (`target/criterion/**/new/estimates.json`, only those written since `ci/bench.sh` marked the
//! run's start), the whole-process figures (`target/bench-process.json`) and the skip notes
//! (`target/bench-notes/*.txt`), and prints it. The format lives in
//! [`lambda_stream_bench::report`], so it is code with tests rather than shell.

use lambda_stream_bench::peers::notes_dir;
use lambda_stream_bench::report::{Inputs, ProcessFigures, read_criterion, render};
use lambda_stream_bench::target_dir;

fn main() -> std::io::Result<()> {
    let target = target_dir();
    let notes = notes_dir();
    let since = std::fs::metadata(notes.join(".run-start")).and_then(|m| m.modified()).ok();
    let mut inputs = Inputs { measurements: read_criterion(&target.join("criterion"), since), ..Default::default() };
    inputs.process = std::fs::read_to_string(target.join("bench-process.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<ProcessFigures>(&text).ok());
    let mut files: Vec<_> =
        std::fs::read_dir(&notes).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        match file.extension().and_then(|e| e.to_str()) {
            // `case<TAB>reason` lines from `note_skip`.
            Some("txt") => inputs
                .skipped
                .extend(text.lines().filter_map(|l| l.split_once('\t')).map(|(c, r)| (c.to_owned(), r.to_owned()))),
            // Free-form lines about the run from ci/bench.sh (mode, build time, machine).
            Some("info") => inputs.notes.extend(text.lines().map(str::to_owned)),
            _ => {}
        }
    }
    if since.is_none() {
        inputs.notes.push("no run-start marker: every criterion result found is included, old ones too".into());
    }
    let markdown = render(&inputs);
    let out = target.join("bench-report.md");
    std::fs::write(&out, &markdown)?;
    let html = target.join("bench-report.html");
    std::fs::write(&html, lambda_stream_bench::html::render(&inputs))?;
    println!("{markdown}");
    println!("(written to {} and {})", out.display(), html.display());
    Ok(())
}
