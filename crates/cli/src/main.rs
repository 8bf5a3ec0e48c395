//! # lambda-stream (the command)
//!
//! The command-line front door of the workspace. Each subcommand is a thin layer over a library
//! crate, so everything it does can also be driven from Rust tests.
//!
//! ## Subcommands
//! - `emulate [--host] [--port] [--function-name] [--timeout] [--auth] [--aws-limits]
//!   [--concurrency N] [--api-gateway [--api-gateway-port N] [--stage S] [--endpoint-type T]
//!   [--api-gateway-auth none|iam] [--api-key K]] -- <bootstrap> [args]`: plays the Lambda service
//!   on one port (function URL, InvokeWithResponseStream, Invoke, `/invoke`; the Runtime API on
//!   loopback ports of its own) and supervises the bootstrap (`lambda_stream_emulator::emulate`).
//!   When ready it prints one line to stdout, `listening on http://HOST:PORT`, so scripts can wait
//!   for it, and with `--api-gateway` a second, `api gateway on http://HOST:PORT/STAGE` (the REST
//!   API's own listener); logs go to stderr. Ctrl-C (or SIGTERM) stops the bootstrap processes,
//!   then the emulator.
//!
//! - `package`, `deploy`, `invoke`, `teardown` (module `aws_cmds`, over `lambda_stream_aws`): zip a
//!   bin as `bootstrap`, deploy it behind an IAM function URL (and, with `--front api-gateway`, a
//!   streaming REST API) with CloudFormation, call it through the signed URL, InvokeWithResponseStream
//!   or the REST API printing chunks as they arrive, and remove it all.
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
use lambda_stream_emulator::{ApiGatewayConfig, Auth, EmulateOptions, EndpointType, emulate};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuthMode {
    /// Anyone may call the function URL (AuthType NONE).
    None,
    /// Function URL requests must be SigV4-signed (service `lambda`) with this process's
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (AuthType AWS_IAM).
    Iam,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EndpointKind {
    /// Idle timeout 5 minutes.
    Regional,
    /// Edge-optimized: idle timeout 30 seconds.
    Edge,
    /// Private: idle timeout 5 minutes.
    Private,
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
    /// Shape bandwidth like Lambda: the first 6 MiB at full speed, then 2 MiB/s (and through
    /// API Gateway also API Gateway's 10 MiB, then 2 MiB/s).
    #[arg(long)]
    aws_limits: bool,
    /// Also serve an API Gateway REST API with a streaming Lambda proxy integration at
    /// http://HOST:PORT/STAGE/{proxy+}, on a port of its own (printed as a second line).
    #[arg(long)]
    api_gateway: bool,
    /// Port of the API Gateway listener; 0 picks a free one.
    #[arg(long, default_value_t = 0, requires = "api_gateway")]
    api_gateway_port: u16,
    /// The REST API's stage (the first path segment).
    #[arg(long, default_value = "prod", requires = "api_gateway")]
    stage: String,
    /// The REST API's endpoint type, which sets its idle timeout.
    #[arg(long, value_enum, default_value_t = EndpointKind::Regional, requires = "api_gateway")]
    endpoint_type: EndpointKind,
    /// Client authentication of the REST API: iam checks SigV4 for service execute-api with this
    /// process's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    #[arg(long, value_enum, default_value_t = AuthMode::None, requires = "api_gateway")]
    api_gateway_auth: AuthMode,
    /// Require this value in the x-api-key header of REST API requests.
    #[arg(long, requires = "api_gateway")]
    api_key: Option<String>,
    /// A fixed Runtime API address (HOST:PORT) for runtimes you start by hand, besides the
    /// bootstraps this command starts; default a free loopback port, logged at start.
    #[arg(long, value_name = "HOST:PORT")]
    runtime_api: Option<SocketAddr>,
    /// Finished invocations the emulator remembers (sizes and times, never payloads).
    #[arg(long, default_value_t = lambda_stream_emulator::DEFAULT_HISTORY)]
    history: usize,
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
    let auth = auth_from(args.auth, "--auth")?;
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
    if args.api_gateway {
        let endpoint_type = match args.endpoint_type {
            EndpointKind::Regional => EndpointType::Regional,
            EndpointKind::Edge => EndpointType::Edge,
            EndpointKind::Private => EndpointType::Private,
        };
        let mut config = ApiGatewayConfig::new(args.stage)
            .endpoint_type(endpoint_type)
            .auth(auth_from(args.api_gateway_auth, "--api-gateway-auth")?);
        if let Some(key) = args.api_key {
            config = config.api_key(key);
        }
        options.api_gateway = Some(config);
        options.api_gateway_port = args.api_gateway_port;
    }

    let emulation =
        emulate(options).await.with_context(|| format!("could not start the emulator for {}", bootstrap.display()))?;
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

/// The auth a flag asks for; `iam` takes this process's key pair.
fn auth_from(mode: AuthMode, flag: &str) -> anyhow::Result<Auth> {
    Ok(match mode {
        AuthMode::None => Auth::None,
        AuthMode::Iam => match Auth::iam_from_env() {
            Some(auth) => auth,
            None => bail!(
                "{flag} iam needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment: \
                 requests are checked against that key pair"
            ),
        },
    })
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
