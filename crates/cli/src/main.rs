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
//!   scripts can wait for it; logs go to stderr. Ctrl-C (or SIGTERM) stops the bootstrap
//!   processes, then the emulator.
//!
//! - `package`, `deploy`, `invoke`, `teardown` (module `aws_cmds`, over `lambda_stream_aws`): zip a
//!   bin as `bootstrap`, deploy it behind an IAM function URL with CloudFormation, call it through
//!   the signed URL or InvokeWithResponseStream printing chunks as they arrive, and remove it all.
//!
//! ## Why `anyhow` here
//! Library crates have typed errors; this binary only reports them, with context saying what to do.

use std::ffi::OsString;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

mod aws_cmds;
mod conform;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};
use lambda_stream_emulator::{Auth, EmulateOptions, TlsConfig, emulate};

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
    /// `listening on http://HOST:PORT` when ready.
    ///
    /// Example: lambda-stream emulate --port 9000 -- target/debug/send-numbers
    Emulate(EmulateArgs),
    /// Check a runtime (or an endpoint) against the documented streaming rules, scenario by scenario.
    ///
    /// With no arguments: every scenario on the local emulator with lambda-stream's example
    /// binaries from the directory of this executable; exits non-zero on unexpected failures.
    ///
    /// Example: lambda-stream conform --bootstrap conditional-streaming=target/debug/official-conditional-streaming
    Conform(conform::ConformArgs),
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
    /// stack's outputs: FunctionUrl, FunctionName, FunctionArn, InvokePolicyArn. Everything is
    /// tagged lambda-stream:stack. A failed creation is torn down unless --keep-failed.
    ///
    /// Example: lambda-stream deploy --stack send-numbers --bin send-numbers
    Deploy(aws_cmds::DeployArgs),
    /// Call a deployed function and print its body as it streams in, with status, headers and TTFB.
    ///
    /// Through the function URL signed with SigV4 (what curl --aws-sigv4 --no-buffer does) and/or
    /// through InvokeWithResponseStream. The body goes to stdout; everything else to stderr.
    ///
    /// Example: lambda-stream invoke --stack send-numbers --data '{"count":3}'
    Invoke(aws_cmds::InvokeArgs),
    /// Delete a stack and what deploy created for it (its zips; the bucket if deploy made it and it is empty).
    ///
    /// --all-tagged --yes sweeps every stack tagged lambda-stream:* and every bucket tagged
    /// lambda-stream:managed in the account and region.
    ///
    /// Example: lambda-stream teardown --stack send-numbers
    Teardown(aws_cmds::TeardownArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuthMode {
    /// Anyone may call the function URL (AuthType NONE).
    None,
    /// Function URL requests must be SigV4-signed (service `lambda`) with this process's
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (AuthType AWS_IAM).
    Iam,
}

#[derive(Debug, clap::Args)]
struct EmulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free port (the chosen one is printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Function name clients use; defaults to the bootstrap's file name.
    #[arg(long)]
    function_name: Option<String>,
    /// Invocation timeout in seconds (at most 900, as on Lambda); at the deadline the stream is
    /// cut with Sandbox.Timeout and the bootstrap restarted.
    #[arg(long, default_value_t = 15.0, value_parser = parse_timeout)]
    timeout: f64,
    /// Client authentication of the function URL.
    #[arg(long, value_enum, default_value_t = AuthMode::None)]
    auth: AuthMode,
    /// Shape bandwidth like Lambda: the first 6 MiB at full speed, then 2 MiB/s.
    #[arg(long)]
    aws_limits: bool,
    /// A fixed Runtime API address (HOST:PORT) for runtimes you start by hand, besides the
    /// bootstraps this command starts; default a free loopback port, logged at start.
    #[arg(long, value_name = "HOST:PORT")]
    runtime_api: Option<SocketAddr>,
    /// Finished invocations the emulator remembers (sizes and times, never payloads).
    #[arg(long, default_value_t = lambda_stream_emulator::DEFAULT_HISTORY)]
    history: usize,
    /// Serve the client port over HTTPS with a self-signed certificate for localhost, 127.0.0.1
    /// and ::1, made at start-up. Its PEM is written to --tls-cert-out (default a file in the
    /// temporary directory, logged at start) for clients to trust, e.g. `curl --cacert FILE`.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls: bool,
    /// Serve the client port over HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// With --tls: where to write the self-signed certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "tls")]
    tls_cert_out: Option<PathBuf>,
    /// Number of bootstrap processes serving invocations at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// The bootstrap program (any runtime speaking the Lambda Runtime API), then its arguments.
    #[arg(required = true, last = true, num_args = 1..)]
    bootstrap: Vec<OsString>,
}

fn parse_timeout(raw: &str) -> Result<f64, String> {
    let secs: f64 = raw.parse().map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 900.0) {
        return Err(format!("{secs} s is outside Lambda's range: give more than 0 and at most 900 seconds"));
    }
    Ok(secs)
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
        Command::Conform(args) => runtime.block_on(conform::run(args)),
        Command::Package(args) => runtime.block_on(aws_cmds::package(args)),
        Command::Deploy(args) => runtime.block_on(aws_cmds::deploy(args)),
        Command::Invoke(args) => runtime.block_on(aws_cmds::invoke(args)),
        Command::Teardown(args) => runtime.block_on(aws_cmds::teardown(args)),
    }
}

async fn run_emulate(args: EmulateArgs) -> anyhow::Result<()> {
    let mut rest = args.bootstrap.into_iter();
    let bootstrap = PathBuf::from(rest.next().context("give the bootstrap after `--`")?);
    let auth = match args.auth {
        AuthMode::None => Auth::None,
        AuthMode::Iam => match Auth::iam_from_env() {
            Some(auth) => auth,
            None => bail!(
                "--auth iam needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment: \
                 requests are checked against that key pair"
            ),
        },
    };
    let mut options = EmulateOptions::new(&bootstrap);
    options.host = args.host;
    options.port = args.port;
    options.function_name = args.function_name;
    options.timeout = Duration::from_secs_f64(args.timeout);
    options.auth = auth;
    options.aws_limits = args.aws_limits;
    options.concurrency = usize::from(args.concurrency);
    options.runtime_api = args.runtime_api;
    options.history = args.history;
    options.args = rest.collect();
    options.tls = tls_config(args.tls, args.tls_cert.as_deref(), args.tls_key.as_deref(), args.tls_cert_out)?;

    let emulation =
        emulate(options).await.with_context(|| format!("could not start the emulator for {}", bootstrap.display()))?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", emulation.listening_line())?;
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

/// The TLS configuration `--tls` or `--tls-cert/--tls-key` ask for; a self-signed certificate is
/// written where clients can read it, and its path logged.
fn tls_config(
    self_signed: bool,
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
    cert_out: Option<PathBuf>,
) -> anyhow::Result<Option<TlsConfig>> {
    if let (Some(cert), Some(key)) = (cert, key) {
        let tls = TlsConfig::from_pem_files(cert, key).context("--tls-cert/--tls-key")?;
        return Ok(Some(tls));
    }
    if !self_signed {
        return Ok(None);
    }
    let tls = TlsConfig::self_signed()?;
    let path = cert_out
        .unwrap_or_else(|| std::env::temp_dir().join(format!("lambda-stream-emulate-{}-cert.pem", std::process::id())));
    std::fs::write(&path, tls.certificate_pem())
        .with_context(|| format!("writing the self-signed certificate to {}", path.display()))?;
    tracing::info!(
        "TLS: self-signed certificate for localhost, 127.0.0.1 and ::1 in {}; trust it with `curl --cacert {0}` \
         or `lambda-stream conform --ca-cert {0}`",
        path.display()
    );
    Ok(Some(tls))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
