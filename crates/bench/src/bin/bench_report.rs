//! `bench-report`: writes `target/bench-report.md` (and `target/bench-report.html`, the same with
//! plots) from this run's criterion results
//! (`target/criterion/**/new/estimates.json`, only those written since `ci/bench.sh` marked the
//! run's start), the whole-process figures (`target/bench-process.json`) and the skip notes
//! (`target/bench-notes/*.txt`), and prints it. The format lives in
//! [`lambda_stream_bench::report`], so it is code with tests rather than shell.
//!
//! Also reads the concurrency figures (`target/bench-concurrency.json`). `--baseline PATH`
//! compares this run's ratios with a committed baseline (`ci/bench-baseline.json`) and flags
//! those worse by more than 25%, each marked beyond or within the two runs' sample spreads;
//! `--write-baseline PATH` writes this run's ratios there instead
//! (what `ci/bench.sh ... --update-baseline` asks for).

use lambda_stream_bench::concurrency::{ConcurrencyFigure, FILE as CONCURRENCY_FILE};
use lambda_stream_bench::peers::notes_dir;
use lambda_stream_bench::report::{Baseline, Inputs, ProcessFigures, baseline_ratios, read_criterion, render};
use lambda_stream_bench::target_dir;

/// The value after `flag` on the command line.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter().position(|a| a == flag).and_then(|at| args.get(at + 1)).cloned()
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    inputs.concurrency = std::fs::read_to_string(target.join(CONCURRENCY_FILE))
        .ok()
        .and_then(|text| serde_json::from_str::<Vec<ConcurrencyFigure>>(&text).ok())
        .unwrap_or_default();
    if let Some(path) = flag_value(&args, "--write-baseline") {
        let note = inputs.notes.iter().take(2).cloned().collect::<Vec<_>>().join("; ");
        let baseline = Baseline { note, ratios: baseline_ratios(&inputs) };
        std::fs::write(&path, serde_json::to_string_pretty(&baseline).map_err(std::io::Error::other)? + "\n")?;
        println!("baseline of {} ratios written to {path}", baseline.ratios.len());
    } else if let Some(path) = flag_value(&args, "--baseline") {
        match std::fs::read_to_string(&path).map(|t| serde_json::from_str::<Baseline>(&t)) {
            Ok(Ok(baseline)) => inputs.baseline = Some(baseline),
            Ok(Err(e)) => inputs.notes.push(format!("the baseline {path} is unreadable ({e}); not compared")),
            Err(e) => inputs.notes.push(format!("no baseline at {path} ({e}); not compared")),
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
