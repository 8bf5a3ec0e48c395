//! `bench-emulate [--concurrency N] -- <bootstrap> [args]`: what `lambda-stream emulate -- <bootstrap>` does (crates/cli
//! is a thin layer over [`lambda_stream_emulator::emulate`]), with the defaults and nothing else,
//! for the whole-process memory figure of `benches/process.rs`.
//!
//! It exists so the benchmark does not need a release build of the CLI, which also links the AWS
//! SDKs for `deploy`/`invoke` (minutes on two cores) that `emulate` never touches. Prints
//! `listening on http://HOST:PORT` when ready, like the CLI, and stops on SIGTERM or Ctrl-C,
//! taking the bootstrap down with it.

use std::io::Write as _;

use lambda_stream_emulator::{EmulateOptions, emulate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let all: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let split =
        all.iter().position(|a| a == "--").ok_or("usage: bench-emulate [--concurrency N] -- <bootstrap> [args]")?;
    let mut args = all[split + 1..].iter().cloned();
    let bootstrap = args.next().ok_or("usage: bench-emulate [--concurrency N] -- <bootstrap> [args]")?;
    let mut options = EmulateOptions::new(bootstrap);
    // `--concurrency N` as the CLI takes it: N copies of the bootstrap (benches/concurrency.rs).
    if let Some(at) = all[..split].iter().position(|a| a == "--concurrency") {
        let n = all.get(at + 1).and_then(|n| n.to_str()?.parse().ok()).ok_or("--concurrency needs a number")?;
        options.concurrency = n;
    }
    options.function_name = Some("bench".into());
    options.args = args.collect();
    // The CLI's runtime: tokio's multi-threaded default.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let emulation = emulate(options).await?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", emulation.listening_line())?;
        stdout.flush()?;
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        emulation.shutdown().await;
        Ok(())
    })
}
