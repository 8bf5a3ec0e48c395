//! `lambda-stream conform`: runs the conformance scenarios against a target and reports per
//! scenario and per rule (`lambda_stream_conformance`). With no arguments it runs every scenario
//! on the local emulator with our runtime's example binaries next to this executable (the
//! `target/debug` they were built into) and builds nothing unless `--build` is given.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::ValueEnum;
use lambda_stream_conformance::html;
use lambda_stream_conformance::report::{self, Format};
use lambda_stream_conformance::run::{self, RunOptions};
use lambda_stream_conformance::sign::SigV4Keys;
use lambda_stream_conformance::target::HANDLERS;
use lambda_stream_conformance::{Catalogue, Expected, Target, scenario};
use lambda_stream_emulator::BootstrapCommand;

/// The cargo command that builds the default bootstraps.
const BUILD_COMMAND: &str =
    "cargo build -p example-send-numbers -p example-conditional-streaming -p lambda-stream-conformance --bins";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TargetKind {
    /// The emulator on 127.0.0.1 with a bootstrap per handler (default: our example binaries).
    Local,
    /// A function URL per handler (`--url [HANDLER=]URL`); function-URL scenarios only.
    FunctionUrl,
    /// An InvokeWithResponseStream endpoint (`--endpoint`, `--function-name [HANDLER=]NAME`).
    Iwrs,
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
    /// IWRS target: `http://HOST:PORT` of the Lambda API.
    #[arg(long)]
    endpoint: Option<String>,
    /// IWRS target: the function serving a handler (default handler: conditional-streaming). Repeatable.
    #[arg(long, value_name = "[HANDLER=]NAME")]
    function_name: Vec<String>,
    /// Expected deviations of this target (`ci/expected/<target>.toml`).
    #[arg(long)]
    expected: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Write the report here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Run only scenarios whose name matches this glob. Repeatable.
    #[arg(long, value_name = "GLOB")]
    scenario: Vec<String>,
    /// Read scenarios from this directory instead of the ones built in.
    #[arg(long)]
    scenarios_dir: Option<PathBuf>,
    /// Name of the run in reports (e.g. `official`); default the target kind.
    #[arg(long)]
    label: Option<String>,
    /// Local target: run `cargo build` for missing default bootstraps instead of failing.
    #[arg(long)]
    build: bool,
    /// Local target: where the default bootstraps live; default the directory of this executable.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Scenarios at once (local target only; remote targets run one at a time).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
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

fn target(args: &ConformArgs) -> anyhow::Result<Target> {
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
            if let Err(missing) = target.check_bootstraps() {
                let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
                if !args.build {
                    bail!(
                        "the default bootstraps are not built: missing {}.\nBuild them with:\n    {BUILD_COMMAND}\n\
                         (or pass --build to let conform run that, or --bootstrap HANDLER=COMMAND for others)",
                        list.join(", ")
                    );
                }
                eprintln!("building the default bootstraps: {BUILD_COMMAND}");
                let mut words = BUILD_COMMAND.split_whitespace();
                let status = std::process::Command::new(words.next().unwrap_or("cargo"))
                    .args(words)
                    .status()
                    .context("running cargo build")?;
                if !status.success() {
                    bail!("`{BUILD_COMMAND}` failed ({status})");
                }
                if let Err(still) = target.check_bootstraps() {
                    bail!(
                        "still missing after the build: {still:?}; is {} the cargo target directory?",
                        bin_dir.display()
                    );
                }
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
            let endpoint = args.endpoint.clone().context("--target iwrs needs --endpoint http://HOST:PORT")?;
            if args.function_name.is_empty() {
                bail!("--target iwrs needs --function-name [HANDLER=]NAME");
            }
            Target::Iwrs { endpoint, functions: by_handler(&args.function_name, &["conditional-streaming"])? }
        }
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
    let target = target(&args)?;
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
    let failures: Vec<&str> = report.unexpected_failures().iter().map(|r| r.id.as_str()).collect();
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
