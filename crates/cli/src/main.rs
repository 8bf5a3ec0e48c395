//! # lambda-stream (the command)
//!
//! The command-line front door of the workspace. Each subcommand is a thin layer over a library
//! crate, so everything it does can also be driven from Rust tests.
//!
//! ## Subcommands
//! - `emulate [--host] [--port] [--function-name] [--timeout] [--auth] [--aws-limits]
//!   [--tls | --tls-cert PEM --tls-key PEM] [--concurrency N] -- <bootstrap> [args]`: plays the
//!   Lambda service on one port (Runtime API, function URL, InvokeWithResponseStream, Invoke,
//!   `/invoke`) and supervises the bootstrap (`lambda_stream_emulator::emulate`). When ready it
//!   prints exactly one line to stdout, `listening on http://HOST:PORT` (`https://` with TLS), so
//!   scripts can wait for it; logs go to stderr. Ctrl-C (or
//!   SIGTERM) stops the bootstrap processes, then the emulator. `--dashboard [PORT]` also serves
//!   the live dashboard on a loopback port of its own (its address goes to stderr).
//!   `--api-gateway [--api-gateway-port N] [--stage S] [--endpoint-type T] [--api-gateway-auth
//!   none|iam] [--api-key K]` also serves an API Gateway REST API whose Lambda proxy integration
//!   streams, on a listener of its own at `/STAGE/{proxy+}`, and prints a second stdout line,
//!   `api gateway on http://HOST:PORT/STAGE`.
//! - `dev [-p PACKAGE] [--bin BIN] [emulate options] [-- args]` (module `dev`): builds a bin of
//!   the workspace, serves it like `emulate`, watches its sources and swaps in each good rebuild
//!   without dropping the port or an invocation.
//!
//! - `conform` and `report` (module `conform`): the conformance suite, its reports (table, JSON,
//!   JUnit, HTML with timelines), and several JSON reports as one HTML matrix.
//! - `package`, `deploy`, `invoke`, `teardown` (module `aws_cmds`, over `lambda_stream_aws`): zip a
//!   bin as `bootstrap`, deploy it behind an IAM function URL (and, with `--front api-gateway`, a
//!   streaming REST API) with CloudFormation, call it through the signed URL, InvokeWithResponseStream
//!   or the REST API printing chunks as they arrive, and remove it all.
//!
//! ## Why `anyhow` here
//! Library crates have typed errors; this binary only reports them, with context saying what to do.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;

mod aws_cmds;
mod conform;
mod dev;
mod serve;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lambda_stream_emulator::emulate;
use serve::{announce_dashboard, shutdown_signal};

#[derive(Debug, Parser)]
#[command(name = "lambda-stream", version, about = "AWS Lambda response streaming, locally and for real")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Play the Lambda service locally for a bootstrap binary and stream like Lambda does.
    ///
    /// Serves clients on one port: InvokeWithResponseStream (`/2021-11-15/functions/NAME/response-streaming-invocations`),
    /// buffered Invoke (`/2015-03-31/functions/NAME/invocations`), the Swift-style `POST /invoke`,
    /// and a function URL on every other path. The Runtime API (`/2018-06-01/...`) is not on that
    /// port: it listens on loopback ports of its own, one handed to each bootstrap as
    /// AWS_LAMBDA_RUNTIME_API, as on Lambda where only the function reaches it. Prints
    /// `listening on http://HOST:PORT` when ready. With --api-gateway, an API Gateway REST API with
    /// a streaming Lambda proxy integration also listens on a port of its own, at
    /// /STAGE/{proxy+}, and a second line says where: `api gateway on http://HOST:PORT/STAGE`.
    ///
    /// Example: lambda-stream emulate --port 9000 -- target/debug/send-numbers
    /// Example: lambda-stream emulate --api-gateway --stage prod -- target/debug/send-numbers
    Emulate(EmulateArgs),
    /// Build a bin of the workspace, serve it like `emulate`, and rebuild and swap it on every save.
    ///
    /// Watches the package's sources (and those of the workspace crates it depends on). After a
    /// change it runs `cargo build` (compiler output on stderr) and, when the build succeeds,
    /// starts the new binary: invocations in flight finish on the old process, new ones go to the
    /// new one, and the port stays open. A failed build leaves the last good binary serving. One
    /// status line per rebuild on stdout, after `listening on http://HOST:PORT`.
    ///
    /// Example: lambda-stream dev --bin send-numbers --dashboard
    Dev(dev::DevArgs),
    /// Check a runtime (or an endpoint) against the documented streaming rules, scenario by scenario.
    ///
    /// With no arguments: every scenario on the local emulator with lambda-stream's example
    /// binaries from the directory of this executable; exits non-zero on unexpected failures.
    ///
    /// Example: lambda-stream conform --bootstrap conditional-streaming=target/debug/official-conditional-streaming
    Conform(conform::ConformArgs),
    /// Render several `conform --format json` reports side by side as one HTML matrix.
    ///
    /// Rules as rows, runs (runtimes × emulators) as columns, each cell's evidence on hover; one
    /// self-contained file that opens from file://.
    ///
    /// Example: lambda-stream report ours.json official.json --output matrix.html
    Report(conform::ReportArgs),
    /// Build a bin of the workspace for Lambda and zip it as an executable `bootstrap`.
    ///
    /// Uses cargo-zigbuild (or cargo-lambda) to link against provided.al2023's glibc 2.34 when
    /// installed (pip install cargo-zigbuild ziglang), else plain cargo with a warning. Prints the
    /// zip's path.
    ///
    /// Example: lambda-stream package --bin send-numbers
    Package(aws_cmds::PackageArgs),
    /// Deploy a bootstrap zip as a streaming function behind an IAM-authenticated function URL.
    ///
    /// Uploads the zip to an artifacts bucket (created when missing), creates or updates a
    /// CloudFormation stack (templates/lambda-stream.json) with a progress bar, and prints the
    /// stack's outputs: FunctionUrl, FunctionName, FunctionArn, InvokePolicyArn (and ApiUrl,
    /// RestApiId with --front api-gateway, which adds a REST API whose Lambda proxy integration
    /// streams). Everything is tagged lambda-stream:stack. A failed creation is torn down unless
    /// --keep-failed.
    ///
    /// Example: lambda-stream deploy --stack send-numbers --bin send-numbers --front api-gateway
    Deploy(aws_cmds::DeployArgs),
    /// Call a deployed function and print its body as it streams in, with status, headers and TTFB.
    ///
    /// Through the function URL signed with SigV4 (what curl --aws-sigv4 --no-buffer does) and/or
    /// through InvokeWithResponseStream, or through the stack's REST API (--via api-gateway,
    /// signed for execute-api). The body goes to stdout; status, headers, each chunk's arrival and
    /// the TTFB to stderr.
    ///
    /// Example: lambda-stream invoke --stack send-numbers --data '{"count":3}'
    /// Example: lambda-stream invoke --stack send-numbers --via api-gateway --path /numbers
    Invoke(aws_cmds::InvokeArgs),
    /// Delete a stack and what deploy created for it (its zips; the bucket if deploy made it and it is empty).
    ///
    /// --all-tagged --yes sweeps every stack tagged lambda-stream:* and every bucket tagged
    /// lambda-stream:managed in the account and region.
    ///
    /// Example: lambda-stream teardown --stack send-numbers
    Teardown(aws_cmds::TeardownArgs),
}

#[derive(Debug, clap::Args)]
struct EmulateArgs {
    #[command(flatten)]
    serve: serve::ServeArgs,
    /// The bootstrap program (any runtime speaking the Lambda Runtime API), then its arguments.
    #[arg(required = true, last = true, num_args = 1..)]
    bootstrap: Vec<OsString>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `conform` runs dozens of emulators whose logs (including the failures its scenarios cause
    // on purpose) would bury the report; it logs nothing unless RUST_LOG asks. The other
    // subcommands log at info.
    let default_filter = if matches!(cli.command, Command::Conform(_)) { "off" } else { "info" };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    match cli.command {
        Command::Emulate(args) => runtime.block_on(run_emulate(args)),
        Command::Dev(args) => runtime.block_on(dev::run(args)),
        Command::Conform(args) => runtime.block_on(conform::run(args)),
        Command::Report(args) => conform::run_report(args),
        Command::Package(args) => runtime.block_on(aws_cmds::package(args)),
        Command::Deploy(args) => runtime.block_on(aws_cmds::deploy(args)),
        Command::Invoke(args) => runtime.block_on(aws_cmds::invoke(args)),
        Command::Teardown(args) => runtime.block_on(aws_cmds::teardown(args)),
    }
}

async fn run_emulate(args: EmulateArgs) -> anyhow::Result<()> {
    let mut rest = args.bootstrap.into_iter();
    let bootstrap = PathBuf::from(rest.next().context("give the bootstrap after `--`")?);
    let options = args.serve.options(bootstrap.clone(), rest.collect())?;

    let emulation =
        emulate(options).await.with_context(|| format!("could not start the emulator for {}", bootstrap.display()))?;
    announce_dashboard(&emulation.emulator);
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", emulation.listening_line())?;
        if let Some(line) = emulation.api_gateway_line() {
            writeln!(stdout, "{line}")?;
        }
        stdout.flush()?;
    }
    tracing::info!(
        "try: curl -N -X POST {url}/invoke -d '{{}}'   (function `{name}`; Ctrl-C stops)",
        url = emulation.emulator.url(),
        name = emulation.emulator.function().name
    );
    tracing::info!(
        "runtimes started by hand: AWS_LAMBDA_RUNTIME_API={} (loopback only; not the client port)",
        emulation.emulator.runtime_api()
    );
    shutdown_signal().await;
    tracing::info!("stopping the bootstrap and the emulator");
    emulation.shutdown().await;
    Ok(())
}
