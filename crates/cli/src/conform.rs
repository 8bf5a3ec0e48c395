//! `lambda-stream conform`: runs the conformance scenarios against a target and reports per
//! scenario and per rule (`lambda_stream_conformance`). With no arguments it runs every scenario
//! on the local emulator with our runtime's example binaries next to this executable (the
//! `target/debug` they were built into) and builds nothing unless `--build` is given.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::ValueEnum;
use lambda_stream_aws::{AwsConfig, ConformanceEndpoints, Deployer, Trust};
use lambda_stream_conformance::html;
use lambda_stream_conformance::remote::{Remote, RemoteConfig};
use lambda_stream_conformance::report::{self, Format};
use lambda_stream_conformance::run::{self, RunOptions};
use lambda_stream_conformance::sign::SigV4Keys;
use lambda_stream_conformance::target::HANDLERS;
use lambda_stream_conformance::{Catalogue, Expected, Target, scenario};
use lambda_stream_emulator::BootstrapCommand;

/// The cargo command that builds the default bootstraps. It names this CLI's package too, though its
/// binary is already built: cargo unifies dependency features over the selected packages, and
/// without the CLI (its TLS listener, its file watcher) tokio's and the emulator's features differ
/// from those `cargo run -p lambda-stream-cli` built with, so the first `conform --build` on a
/// fresh checkout would compile tokio and everything above it a second time. With it, only the
/// bootstraps build.
const BUILD_COMMAND: &str = "cargo build -p lambda-stream-cli -p example-send-numbers -p example-conditional-streaming \
                             -p lambda-stream-conformance --bins";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TargetKind {
    /// The emulator on 127.0.0.1 with a bootstrap per handler (default: our example binaries).
    Local,
    /// A function URL per handler (`--url [HANDLER=]URL`); function-URL scenarios only.
    FunctionUrl,
    /// An InvokeWithResponseStream endpoint (`--endpoint`, `--function-name [HANDLER=]NAME`).
    Iwrs,
    /// Functions as AWS serves them: function URLs over HTTPS signed with SigV4 (`--url`), and
    /// InvokeWithResponseStream and Invoke through aws-sdk-lambda (`--function-name`), with the
    /// usual credential chain (`--region`, `--profile`, `--endpoint` for a stand-in, `--ca-cert`
    /// for a custom CA). `--stack` fills the URLs and names from a conformance stack. Wire checks
    /// are not run there.
    Remote,
    /// An API Gateway REST API stage per handler (`--url [HANDLER=]STAGE_URL`, `--sigv4` when its
    /// methods use IAM); api-gateway scenarios only.
    ApiGateway,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// A table per scenario (verdict, status, TTFB, chunk arrivals) and per rule (verdict, evidence).
    Table,
    /// The whole report as JSON.
    Json,
    /// JUnit XML (suites `scenarios` and `rules`).
    Junit,
    /// One self-contained HTML page (opens from file://): summary, rules, a timeline per scenario.
    Html,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ConformArgs {
    /// Where to run the scenarios.
    #[arg(long, value_enum, default_value_t = TargetKind::Local)]
    target: TargetKind,
    /// Local target: the bootstrap command for a handler (`send-numbers`, `conditional-streaming`,
    /// `probe`), e.g. `--bootstrap send-numbers=target/debug/official-send-numbers`. Without
    /// `HANDLER=` the command serves every handler. Repeatable; replaces the defaults.
    #[arg(long, value_name = "[HANDLER=]COMMAND")]
    bootstrap: Vec<String>,
    /// Function URL and API Gateway targets: the base URL of the function (or the REST API
    /// stage's invoke URL) serving a handler (default handler: conditional-streaming). Repeatable.
    #[arg(long, value_name = "[HANDLER=]URL")]
    url: Vec<String>,
    /// API Gateway target: sign requests with SigV4 for execute-api with this process's
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN; AWS_REGION when the URL
    /// names no region), for methods with AWS_IAM authorization.
    #[arg(long)]
    sigv4: bool,
    /// IWRS target: `http://HOST:PORT` of the Lambda API, for every handler or (`HANDLER=URL`,
    /// repeatable) per handler where each function has a server of its own (cargo-lambda).
    /// Remote target: the Lambda API endpoint instead of AWS's own (LocalStack, `lambda-stream
    /// emulate --tls`), one for all.
    #[arg(long, value_name = "[HANDLER=]URL")]
    endpoint: Vec<String>,
    /// Remote target: a stack deployed by `lambda-stream deploy --conformance`; its outputs name
    /// the function URL and function of each handler.
    #[arg(long, value_name = "NAME")]
    stack: Option<String>,
    /// Remote target: AWS region (default: AWS_REGION or the profile's; a function URL names its own).
    #[arg(long)]
    region: Option<String>,
    /// Remote target: AWS profile (default: AWS_PROFILE or `default`).
    #[arg(long)]
    profile: Option<String>,
    /// Remote target: trust only this CA certificate (PEM) for HTTPS, e.g. the one
    /// `lambda-stream emulate --tls` writes; default the system's roots.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// IWRS target: the function serving a handler (default handler: conditional-streaming). Repeatable.
    #[arg(long, value_name = "[HANDLER=]NAME")]
    function_name: Vec<String>,
    /// IWRS target: the API version in the operation's path when the endpoint serves it elsewhere
    /// than the documented 2021-11-15 (cargo-lambda: 2015-03-31); the scenario that checks the
    /// documented path still uses it.
    #[arg(long, value_name = "YYYY-MM-DD")]
    iwrs_api_version: Option<String>,
    /// Expected deviations of this target (`ci/expected/<target>.toml`).
    #[arg(long)]
    expected: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Write the report here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Also write the run's JSON report here (one run, two reports: e.g. `--format html` for
    /// people and this for `lambda-stream report` and the matrix).
    #[arg(long, value_name = "PATH")]
    json_output: Option<PathBuf>,
    /// Run only scenarios whose name matches this glob. Repeatable.
    #[arg(long, value_name = "GLOB")]
    scenario: Vec<String>,
    /// Read scenarios from this directory instead of the ones built in.
    #[arg(long)]
    scenarios_dir: Option<PathBuf>,
    /// Name of the run in reports (e.g. `official`); default the target kind.
    #[arg(long)]
    label: Option<String>,
    /// Local target: run `cargo build` for the default bootstraps first, so they are current
    /// (a no-op when they are); without it, missing ones are an error and present ones are used
    /// as they are.
    #[arg(long)]
    build: bool,
    /// Local target: where the default bootstraps live; default the directory of this executable.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Scenarios at once (local target only; remote targets run one at a time).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
}

/// `[HANDLER=]VALUE` into a map; a bare value applies to `bare_handlers`.
fn by_handler(values: &[String], bare_handlers: &[&str]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for value in values {
        match value.split_once('=') {
            Some((handler, rest)) if HANDLERS.contains(&handler) => {
                map.insert(handler.to_owned(), rest.to_owned());
            }
            Some((handler, _)) if !handler.contains(['/', ':', ' ']) => {
                bail!("unknown handler {handler:?} in {value:?}: use one of {HANDLERS:?}")
            }
            _ => {
                for handler in bare_handlers {
                    map.insert((*handler).to_owned(), value.clone());
                }
            }
        }
    }
    Ok(map)
}

fn command(line: &str) -> anyhow::Result<BootstrapCommand> {
    let mut words = line.split_whitespace();
    let program = words.next().with_context(|| format!("empty bootstrap command {line:?}"))?;
    Ok(words.fold(BootstrapCommand::new(program), BootstrapCommand::arg))
}

fn default_bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this executable")?;
    Ok(exe.parent().map(Path::to_owned).unwrap_or_default())
}

/// The remote target: URLs and function names from `--stack`'s outputs or from `--url` and
/// `--function-name`; credentials from the usual chain.
async fn remote_target(args: &ConformArgs) -> anyhow::Result<Target> {
    let endpoint_url = match args.endpoint.as_slice() {
        [] => None,
        [one] if !one.split_once('=').is_some_and(|(handler, _)| HANDLERS.contains(&handler)) => Some(one.clone()),
        _ => bail!("--target remote takes one --endpoint URL for every handler, got {:?}", args.endpoint),
    };
    let mut aws =
        AwsConfig { region: args.region.clone(), endpoint_url, profile: args.profile.clone(), ..AwsConfig::default() };
    if let Some(ca) = &args.ca_cert {
        aws.trust = Trust::pem_file(ca).with_context(|| format!("--ca-cert {}", ca.display()))?;
    }
    let mut config = RemoteConfig { aws, ..RemoteConfig::default() };
    if let Some(stack) = &args.stack {
        let clients = config.aws.connect().await.context("cannot reach AWS")?;
        let found = Deployer::new(clients).describe_stack(stack).await?.with_context(|| {
            format!("stack {stack} does not exist: deploy it with `lambda-stream deploy --conformance --stack {stack}`")
        })?;
        let outputs = found
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect();
        let endpoints = ConformanceEndpoints::from_outputs(stack, &outputs)?;
        config.urls = endpoints.urls;
        config.functions = endpoints.functions;
    }
    config.urls.extend(by_handler(&args.url, &["conditional-streaming"])?);
    config.functions.extend(by_handler(&args.function_name, &["conditional-streaming"])?);
    if config.urls.is_empty() && config.functions.is_empty() {
        bail!("--target remote needs --stack NAME, or --url [HANDLER=]URL and/or --function-name [HANDLER=]NAME");
    }
    Ok(Target::Remote(Arc::new(Remote::connect(config).await?)))
}

async fn target(args: &ConformArgs) -> anyhow::Result<Target> {
    if args.stack.is_some() {
        return remote_target(args).await;
    }
    if args.target != TargetKind::Remote && (args.ca_cert.is_some() || args.region.is_some() || args.profile.is_some())
    {
        bail!("--ca-cert, --region and --profile are for --target remote (or --stack)");
    }
    Ok(match args.target {
        TargetKind::Local if !args.bootstrap.is_empty() => {
            let bootstraps = by_handler(&args.bootstrap, &HANDLERS)?
                .into_iter()
                .map(|(h, line)| Ok((h, command(&line)?)))
                .collect::<anyhow::Result<_>>()?;
            Target::Local { bootstraps }
        }
        TargetKind::Local => {
            let bin_dir = match &args.bin_dir {
                Some(dir) => dir.clone(),
                None => default_bin_dir()?,
            };
            let target = Target::Local { bootstraps: Target::local_defaults(&bin_dir) };
            if args.build {
                // Always, not only when a binary is missing: a bootstrap left from older sources
                // would be judged in place of the code in the tree (cargo is quick when nothing
                // changed).
                eprintln!("building the default bootstraps: {BUILD_COMMAND}");
                let mut words = BUILD_COMMAND.split_whitespace();
                let status = std::process::Command::new(words.next().unwrap_or("cargo"))
                    .args(words)
                    .status()
                    .context("running cargo build")?;
                if !status.success() {
                    bail!("`{BUILD_COMMAND}` failed ({status})");
                }
            }
            if let Err(missing) = target.check_bootstraps() {
                let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
                if args.build {
                    bail!(
                        "still missing after the build: {}; is {} the cargo target directory?",
                        list.join(", "),
                        bin_dir.display()
                    );
                }
                bail!(
                    "the default bootstraps are not built: missing {}.\nBuild them with:\n    {BUILD_COMMAND}\n\
                     (or pass --build to let conform run that, or --bootstrap HANDLER=COMMAND for others)",
                    list.join(", ")
                );
            }
            target
        }
        TargetKind::FunctionUrl => {
            if args.url.is_empty() {
                bail!("--target function-url needs --url [HANDLER=]URL");
            }
            Target::FunctionUrl { urls: by_handler(&args.url, &["conditional-streaming"])? }
        }
        TargetKind::Iwrs => {
            if args.endpoint.is_empty() {
                bail!("--target iwrs needs --endpoint [HANDLER=]http://HOST:PORT");
            }
            if args.function_name.is_empty() {
                bail!("--target iwrs needs --function-name [HANDLER=]NAME");
            }
            Target::Iwrs {
                endpoints: by_handler(&args.endpoint, &HANDLERS)?,
                functions: by_handler(&args.function_name, &["conditional-streaming"])?,
                api_version: args.iwrs_api_version.clone(),
            }
        }
        TargetKind::Remote => remote_target(args).await?,
        TargetKind::ApiGateway => {
            if args.url.is_empty() {
                bail!("--target api-gateway needs --url [HANDLER=]STAGE_URL (the REST API stage's invoke URL)");
            }
            let signing = match args.sigv4 {
                false => None,
                true => Some(SigV4Keys::from_env().context(
                    "--sigv4 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment \
                     (and AWS_SESSION_TOKEN for temporary credentials)",
                )?),
            };
            Target::ApiGateway { urls: by_handler(&args.url, &["conditional-streaming"])?, signing }
        }
    })
}

/// Runs `conform`; fails (exit status 1) on unexpected failures, stale deviations, or (where the
/// expected file says `every_rule_judged = true`) rules left not run or partial.
pub(crate) async fn run(args: ConformArgs) -> anyhow::Result<()> {
    let catalogue = Catalogue::embedded()?;
    let scenarios = match &args.scenarios_dir {
        Some(dir) => scenario::load_dir(dir)?,
        None => scenario::embedded()?,
    };
    run::validate(&catalogue, &scenarios)?;
    let target = target(&args).await?;
    let expected = match &args.expected {
        Some(path) => Expected::load(path)?,
        None => Expected::default(),
    };
    let mut options = RunOptions::new(target);
    options.label = args.label.clone().unwrap_or_else(|| options.target.kind().to_owned());
    options.expected = expected;
    options.scenario_globs = args.scenario.clone();
    options.jobs = usize::from(args.jobs);
    options.progress = std::io::stderr().is_terminal();
    let report = run::run(&catalogue, scenarios, &options).await?;
    let format = match args.format {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Junit => Format::Junit,
        FormatArg::Html => Format::Html,
    };
    let rendered = report::render(&report, format)?;
    match &args.output {
        Some(path) => std::fs::write(path, &rendered).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().write_all(rendered.as_bytes()).context("writing the report")?,
    }
    if let Some(path) = &args.json_output {
        let json = report::render(&report, Format::Json)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    let failures: Vec<&str> = report.unexpected_failures().iter().map(|r| r.id.as_str()).collect();
    let target_errors = report.target_errors();
    if !target_errors.is_empty() {
        let (scenario, first) = target_errors[0];
        bail!(
            "the target could not be asked in {} scenario(s) (no rule was judged there): first, in {scenario}: {first}",
            target_errors.len()
        );
    }
    if !report.ok() {
        let stale: Vec<String> = report.stale.iter().map(|d| d.subject()).collect();
        let incomplete: Vec<&str> = report.incomplete().iter().map(|r| r.id.as_str()).collect();
        bail!(
            "conformance failed: unexpected failures {failures:?}, stale deviations {stale:?}, rules not judged in \
             full where the expected file requires it {incomplete:?}"
        );
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// JSON reports of `conform --format json`, one column each, in this order.
    #[arg(required = true, value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Write the page here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

/// `report`: several runs' JSON reports as one HTML matrix.
pub(crate) fn run_report(args: ReportArgs) -> anyhow::Result<()> {
    let runs = args
        .reports
        .iter()
        .map(|path| {
            let json = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            html::MatrixRun::parse(&json).with_context(|| format!("reading {}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let page = html::matrix(&runs);
    match &args.output {
        Some(path) => std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().write_all(page.as_bytes()).context("writing the page")?,
    }
    Ok(())
}
