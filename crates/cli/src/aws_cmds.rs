//! `package`, `deploy`, `invoke`, `teardown`: thin layers over `lambda_stream_aws`, adding what a
//! terminal needs (a progress bar, chunks written to stdout as they arrive, errors that say what
//! to do). Response bodies go to stdout untouched; status, headers, TTFB and progress go to stderr,
//! so `lambda-stream invoke ... > out` captures exactly the body.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use lambda_stream_aws::template;
use lambda_stream_aws::{
    Arch, AwsConfig, Builder, Cleanup, DeployOptions, Deployer, FunctionUrlClient, IwrsEvent, PackageOptions, Progress,
    RestApiOptions, StackAction, Template, UrlRequest, invoke_with_response_stream,
};

/// Where to reach AWS; shared by deploy, invoke and teardown.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct AwsArgs {
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long)]
    region: Option<String>,
    /// AWS profile (default: AWS_PROFILE or `default`).
    #[arg(long)]
    profile: Option<String>,
    /// Send every AWS API call to this endpoint instead (moto, LocalStack, `lambda-stream emulate`).
    #[arg(long)]
    endpoint_url: Option<String>,
}

impl AwsArgs {
    fn config(&self) -> AwsConfig {
        AwsConfig {
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            profile: self.profile.clone(),
            ..AwsConfig::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ArchArg {
    /// x86_64 (Lambda's default).
    #[value(name = "x86_64")]
    X86_64,
    /// arm64 (Graviton); needs the aarch64-unknown-linux-gnu Rust target and cargo-zigbuild or cargo-lambda.
    Arm64,
}

impl From<ArchArg> for Arch {
    fn from(arch: ArchArg) -> Self {
        match arch {
            ArchArg::X86_64 => Arch::X86_64,
            ArchArg::Arm64 => Arch::Arm64,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BuilderArg {
    /// cargo-zigbuild, else cargo-lambda, else plain cargo (with a warning).
    Auto,
    /// cargo zigbuild --target TRIPLE.2.34 (PyPI: cargo-zigbuild + ziglang).
    Zigbuild,
    /// cargo lambda build (PyPI: cargo-lambda).
    CargoLambda,
    /// Plain cargo build: links against this machine's glibc.
    Cargo,
}

impl From<BuilderArg> for Builder {
    fn from(builder: BuilderArg) -> Self {
        match builder {
            BuilderArg::Auto => Builder::Auto,
            BuilderArg::Zigbuild => Builder::Zigbuild,
            BuilderArg::CargoLambda => Builder::CargoLambda,
            BuilderArg::Cargo => Builder::Cargo,
        }
    }
}

/// What to build and how; shared by package and deploy.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BuildArgs {
    /// Package containing the bin, when names are ambiguous.
    #[arg(long, short = 'p')]
    package: Option<String>,
    /// Cargo.toml of the workspace (default: found from the current directory).
    #[arg(long)]
    manifest_path: Option<PathBuf>,
    /// Architecture to build for.
    #[arg(long, value_enum, default_value_t = ArchArg::X86_64)]
    arch: ArchArg,
    /// How to build.
    #[arg(long, value_enum, default_value_t = BuilderArg::Auto)]
    builder: BuilderArg,
    /// Build with the debug profile instead of release.
    #[arg(long)]
    debug: bool,
}

/// `lambda-stream package`.
#[derive(Debug, clap::Args)]
pub(crate) struct PackageArgs {
    /// The binary target (a `[[bin]]` name) to package, e.g. send-numbers.
    #[arg(long)]
    bin: String,
    #[command(flatten)]
    build: BuildArgs,
    /// Where to write the zip (default: target/lambda/BIN.zip).
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
}

fn package_options(bin: &str, build: &BuildArgs, out: Option<PathBuf>) -> PackageOptions {
    let mut options = PackageOptions::new(bin);
    options.package = build.package.clone();
    options.manifest_path = build.manifest_path.clone();
    options.arch = build.arch.into();
    options.builder = build.builder.into();
    options.release = !build.debug;
    if let Some(out) = out {
        options.output = out;
    }
    options
}

fn run_package_blocking(options: &PackageOptions) -> anyhow::Result<lambda_stream_aws::Package> {
    let made =
        lambda_stream_aws::package::package(options).with_context(|| format!("could not package {}", options.bin))?;
    for warning in &made.warnings {
        eprintln!("warning: {warning}");
    }
    eprintln!(
        "packaged {} ({:?} build, {}) -> {} (sha256 {})",
        made.binary.display(),
        made.builder,
        options.arch.lambda_name(),
        made.zip.display(),
        made.sha256
    );
    Ok(made)
}

pub(crate) async fn package(args: PackageArgs) -> anyhow::Result<()> {
    let options = package_options(&args.bin, &args.build, args.out);
    let made = tokio::task::spawn_blocking(move || run_package_blocking(&options)).await??;
    println!("{}", made.zip.display());
    Ok(())
}

/// `lambda-stream deploy`.
#[derive(Debug, clap::Args)]
pub(crate) struct DeployArgs {
    /// CloudFormation stack name (also names the S3 objects); letters, digits and hyphens.
    #[arg(long)]
    stack: String,
    /// A bootstrap zip made by `lambda-stream package`.
    #[arg(long, conflicts_with = "bin", required_unless_present_any = ["bin", "conformance"])]
    zip: Option<PathBuf>,
    /// Package this binary target (a `[[bin]]` name) first, as `lambda-stream package --bin BIN` does.
    #[arg(long)]
    bin: Option<String>,
    /// Deploy the conformance stack (templates/conformance.json): send-numbers,
    /// conditional-streaming and the probe, three functions on one conformance-bootstrap zip
    /// (packaged first unless --zip gives one), each behind a function URL with AuthType AWS_IAM
    /// and InvokeMode RESPONSE_STREAM. `lambda-stream conform --stack NAME` runs the scenarios on it.
    #[arg(long, conflicts_with_all = ["bin", "no_function_url"])]
    conformance: bool,
    #[command(flatten)]
    build: BuildArgs,
    /// Memory in MB (128 to 10240).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(128..=10240))]
    memory: u32,
    /// Timeout in seconds (1 to 900).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=900))]
    timeout: u32,
    /// Upload to this existing bucket instead of lambda-stream-artifacts-ACCOUNT-REGION.
    #[arg(long)]
    bucket: Option<String>,
    /// Attach the invoke policy (lambda:InvokeFunctionUrl + lambda:InvokeFunction) to this IAM role.
    #[arg(long)]
    caller_role: Option<String>,
    /// Deploy the template without the function URL (for AWS stand-ins that lack AWS::Lambda::Url, like moto).
    #[arg(long)]
    no_function_url: bool,
    /// Front ends besides the function URL: `api-gateway` adds a REST API whose Lambda proxy
    /// integration streams (ResponseTransferMode STREAM; its URL is the ApiUrl output). Repeatable.
    #[arg(long, value_enum)]
    front: Vec<Front>,
    /// The REST API's stage name.
    #[arg(long, default_value = "prod")]
    stage: String,
    /// The REST API's authorization: iam (callers sign for execute-api; the RestApiInvokePolicyArn
    /// output grants execute-api:Invoke) or none (anyone with the URL).
    #[arg(long, value_enum, default_value_t = RestApiAuth::Iam)]
    api_auth: RestApiAuth,
    /// When creating the stack fails, keep what was created (for inspection) instead of tearing it down.
    #[arg(long)]
    keep_failed: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Front {
    /// The function URL (always deployed unless --no-function-url).
    FunctionUrl,
    /// An API Gateway REST API in front of the function, streaming.
    ApiGateway,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RestApiAuth {
    /// AWS_IAM authorization: SigV4 for execute-api.
    Iam,
    /// No authorization.
    None,
}

/// A progress bar over the template's resources, one step per resource that completes.
fn progress_bar(resources: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(resources);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_message(what.to_owned());
    bar
}

fn on_progress(bar: &ProgressBar) -> impl FnMut(Progress) + Send + '_ {
    move |event| match event {
        Progress::Step(text) => bar.println(format!("  {text}")),
        Progress::Resource { ref logical_id, ref resource_type, ref status, ref reason } => {
            let reason = reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
            bar.println(format!("  {:<22} {logical_id} [{resource_type}]{reason}", status.as_str()));
            if event.finishes_a_resource() {
                bar.inc(1);
            }
            bar.set_message(format!("{logical_id} {status}"));
        }
    }
}

pub(crate) async fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    if args.conformance && args.front.contains(&Front::ApiGateway) {
        bail!("--front api-gateway is for the standard stack; the conformance stack (--conformance) has no REST API");
    }
    let bin = args.bin.clone().or_else(|| args.conformance.then(|| template::CONFORMANCE_BIN.to_owned()));
    let zip = match (&args.zip, &bin) {
        (Some(zip), _) => zip.clone(),
        (None, Some(bin)) => {
            let options = package_options(bin, &args.build, None);
            tokio::task::spawn_blocking(move || run_package_blocking(&options)).await??.zip
        }
        (None, None) => bail!("give --zip (from lambda-stream package), --bin to package one, or --conformance"),
    };
    let clients = args.aws.config().connect().await.context("cannot reach AWS")?;
    let mut options = DeployOptions::new(&args.stack, zip);
    options.arch = args.build.arch.into();
    options.memory_mb = args.memory;
    options.timeout_secs = args.timeout;
    options.bucket = args.bucket.clone();
    options.caller_role = args.caller_role.clone();
    if args.no_function_url {
        options.template = Template::standard().without_function_url();
    }
    if args.conformance {
        options.template = Template::conformance();
    }
    if args.front.contains(&Front::ApiGateway) {
        options.api_gateway =
            Some(RestApiOptions { stage: args.stage.clone(), iam: args.api_auth == RestApiAuth::Iam });
    }
    let resources = options.template.document()["Resources"].as_object().map_or(1, |r| r.len() as u64);
    let deployer = Deployer::new(clients);
    let bar = progress_bar(resources, &format!("deploying {}", args.stack));
    let result = deployer.deploy(&options, &mut on_progress(&bar)).await;
    bar.finish_and_clear();
    match result {
        Ok(deployment) => {
            let verb = match deployment.action {
                StackAction::Created => "created",
                StackAction::Updated => "updated",
                StackAction::Unchanged => "unchanged (same zip and settings)",
            };
            eprintln!("stack {} {verb}", deployment.stack);
            for (key, value) in &deployment.outputs {
                println!("{key}: {value}");
            }
            if let Ok(url) = deployment.function_url() {
                eprintln!("try: lambda-stream invoke --url {url} --data '{{}}'");
            }
            if deployment.api_url().is_ok() {
                eprintln!("try: lambda-stream invoke --stack {} --via api-gateway --data '{{}}'", deployment.stack);
            }
            if args.conformance {
                eprintln!("try: lambda-stream conform --stack {} --expected ci/expected/aws.toml", deployment.stack);
            }
            Ok(())
        }
        Err(failed) => {
            if let Some(cleanup) = failed.cleanup.as_ref().filter(|_| failed.stack_created_now && !args.keep_failed) {
                eprintln!("deploy failed: {}; tearing down what it created (--keep-failed keeps it)", failed.error);
                let bar = progress_bar(resources, &format!("tearing down {}", cleanup.stack));
                let torn = deployer.teardown(cleanup, &mut on_progress(&bar)).await;
                bar.finish_and_clear();
                if let Err(e) = torn {
                    eprintln!(
                        "teardown after the failure failed too: {e}; run `lambda-stream teardown --stack {}`",
                        cleanup.stack
                    );
                }
            }
            Err(failed.error).context(format!("deploying stack {}", args.stack))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Via {
    /// The function URL, SigV4-signed (like curl --aws-sigv4 --no-buffer).
    Url,
    /// InvokeWithResponseStream through aws-sdk-lambda.
    Iwrs,
    /// Both, one after the other.
    Both,
    /// The stack's API Gateway REST API (the ApiUrl output, or --api-url), signed for
    /// execute-api unless --api-auth none.
    ApiGateway,
}

/// `lambda-stream invoke`.
#[derive(Debug, clap::Args)]
pub(crate) struct InvokeArgs {
    /// A function URL to call (signed with SigV4, service lambda).
    #[arg(long, conflicts_with_all = ["function", "stack"])]
    url: Option<String>,
    /// A function name or ARN to call with InvokeWithResponseStream.
    #[arg(long, conflicts_with = "stack")]
    function: Option<String>,
    /// A stack deployed by `lambda-stream deploy`: its URL and function name are read from its outputs.
    #[arg(long)]
    stack: Option<String>,
    /// A REST API stage URL to call (`https://ID.execute-api.REGION.amazonaws.com/STAGE`); with
    /// --path below it.
    #[arg(long, conflicts_with_all = ["url", "function", "stack"])]
    api_url: Option<String>,
    /// The path below the REST API's stage (with --via api-gateway).
    #[arg(long, default_value = "/")]
    path: String,
    /// How the REST API is called: iam signs for execute-api, none sends no signature.
    #[arg(long, value_enum, default_value_t = RestApiAuth::Iam)]
    api_auth: RestApiAuth,
    /// Which way to call (default: what the target allows; both for --stack).
    #[arg(long, value_enum)]
    via: Option<Via>,
    /// Request body (URL) or payload (IWRS).
    #[arg(long, short = 'd', default_value = "{}")]
    data: String,
    #[command(flatten)]
    aws: AwsArgs,
}

pub(crate) async fn invoke(args: InvokeArgs) -> anyhow::Result<()> {
    let clients = args.aws.config().connect().await.context("cannot reach AWS")?;
    let mut api_url = args.api_url.clone();
    let (url, function) = match (&args.url, &args.function, &args.stack) {
        (Some(url), _, _) => (Some(url.clone()), None),
        (None, Some(function), _) => (None, Some(function.clone())),
        (None, None, Some(stack)) => {
            let deployer = Deployer::new(clients.clone());
            let found = deployer
                .describe_stack(stack)
                .await?
                .with_context(|| format!("stack {stack} does not exist: deploy it first"))?;
            let output = |key: &str| {
                found
                    .outputs()
                    .iter()
                    .find(|o| o.output_key() == Some(key))
                    .and_then(|o| o.output_value())
                    .map(str::to_owned)
            };
            api_url = output("ApiUrl");
            (output("FunctionUrl"), output("FunctionName"))
        }
        (None, None, None) if api_url.is_some() => (None, None),
        (None, None, None) => bail!("give --url, --function, --api-url or --stack"),
    };
    let via = args.via.unwrap_or(match (&url, &function, &api_url) {
        (None, None, Some(_)) => Via::ApiGateway,
        (Some(_), Some(_), _) => Via::Both,
        (Some(_), None, _) => Via::Url,
        _ => Via::Iwrs,
    });
    if via == Via::ApiGateway {
        let base = api_url.as_deref().context(
            "no REST API to call: give --api-url, or a stack deployed with --front api-gateway (its ApiUrl output)",
        )?;
        let url = format!("{}/{}", base.trim_end_matches('/'), args.path.trim_start_matches('/'));
        return invoke_rest_api(&clients, &url, args.api_auth == RestApiAuth::Iam, &args.data).await;
    }
    if matches!(via, Via::Url | Via::Both) {
        let url =
            url.as_deref().context("no function URL to call: give --url, or a stack with a FunctionUrl output")?;
        invoke_url(&clients, url, &args.data).await?;
    }
    if matches!(via, Via::Iwrs | Via::Both) {
        let function = function.as_deref().context("no function to call: give --function or --stack")?;
        invoke_iwrs(&clients, function, &args.data).await?;
    }
    Ok(())
}

async fn invoke_url(clients: &lambda_stream_aws::Clients, url: &str, data: &str) -> anyhow::Result<()> {
    let client = FunctionUrlClient::new(clients.credentials().await?, clients.region())?;
    eprintln!("> POST {url} (SigV4, service lambda, region {})", client.signing_region(url));
    let status = stream_http(&client, url, data, "function URL").await?;
    if status == 403 {
        bail!(
            "403 from the function URL: the caller needs lambda:InvokeFunctionUrl and lambda:InvokeFunction (the stack's InvokePolicyArn output)"
        );
    }
    Ok(())
}

/// Calls a REST API stage (path included) and prints its body as it streams in.
async fn invoke_rest_api(clients: &lambda_stream_aws::Clients, url: &str, iam: bool, data: &str) -> anyhow::Result<()> {
    let client = FunctionUrlClient::api_gateway(clients.credentials().await?, clients.region(), iam)?;
    match iam {
        true => eprintln!("> POST {url} (SigV4, service execute-api, region {})", client.signing_region(url)),
        false => eprintln!("> POST {url} (unsigned)"),
    }
    let status = stream_http(&client, url, data, "REST API").await?;
    if status == 403 {
        bail!(
            "403 from the REST API: with IAM auth the caller needs execute-api:Invoke (the stack's RestApiInvokePolicyArn output); \
             with --api-auth none deploy with --api-auth none too"
        );
    }
    if matches!(status, 500 | 502 | 504) {
        bail!("{status} from API Gateway: the function failed or timed out before its first byte (see its logs)");
    }
    Ok(())
}

/// POSTs `data` to `url`, prints the head to stderr and the body to stdout as it arrives, then
/// the size and TTFB; returns the status.
async fn stream_http(client: &FunctionUrlClient, url: &str, data: &str, what: &str) -> anyhow::Result<u16> {
    let request = UrlRequest::post_json(url, data.to_owned());
    let mut response = client.send(&request).await?;
    eprintln!("< {} (head after {:?})", response.status, response.head_after);
    for (name, value) in &response.headers {
        eprintln!("< {name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    let mut stdout = std::io::stdout();
    let (mut total, mut chunks) = (0usize, 0usize);
    while let Some(chunk) = response.next_chunk().await {
        let chunk = chunk?;
        total += chunk.bytes.len();
        chunks += 1;
        eprintln!("* chunk {chunks}: {} bytes at {:?}", chunk.bytes.len(), chunk.at);
        stdout.write_all(&chunk.bytes)?;
        stdout.flush()?;
    }
    eprintln!(
        "\n* {what}: {total} bytes in {chunks} chunks, TTFB {}",
        response.ttfb().map_or_else(|| "n/a (empty body)".into(), |t| format!("{t:?}"))
    );
    Ok(response.status.as_u16())
}

async fn invoke_iwrs(clients: &lambda_stream_aws::Clients, function: &str, data: &str) -> anyhow::Result<()> {
    eprintln!("> InvokeWithResponseStream {function}");
    let mut response = invoke_with_response_stream(&clients.lambda, function, data.to_owned()).await?;
    eprintln!("< {} (head after {:?})", response.status, response.head_after);
    eprintln!("< executed-version: {}", response.executed_version.as_deref().unwrap_or("-"));
    eprintln!("< response-stream-content-type: {}", response.content_type.as_deref().unwrap_or("-"));
    let mut stdout = std::io::stdout();
    let mut total = 0usize;
    let mut failure = None;
    while let Some(event) = response.next_event().await {
        match event? {
            IwrsEvent::Chunk(chunk) => {
                total += chunk.bytes.len();
                stdout.write_all(&chunk.bytes)?;
                stdout.flush()?;
            }
            IwrsEvent::Complete { error_code, error_details, .. } => {
                failure = error_code.map(|code| format!("{code}: {}", error_details.unwrap_or_default()));
            }
        }
    }
    eprintln!(
        "\n* InvokeWithResponseStream: {total} bytes, TTFB {}",
        response.ttfb().map_or_else(|| "n/a (no PayloadChunk)".into(), |t| format!("{t:?}"))
    );
    if let Some(failure) = failure {
        bail!("the function failed mid-stream: {failure}");
    }
    Ok(())
}

/// `lambda-stream teardown`.
#[derive(Debug, clap::Args)]
pub(crate) struct TeardownArgs {
    /// The stack to delete, with the zip deploy uploaded (and the bucket, if deploy created it and it is now empty).
    #[arg(long, required_unless_present = "all_tagged", conflicts_with = "all_tagged")]
    stack: Option<String>,
    /// Delete every stack tagged lambda-stream:* in this account and region, and every bucket tagged lambda-stream:managed.
    #[arg(long, requires = "yes")]
    all_tagged: bool,
    /// With --all-tagged: only stacks whose name starts with this (buckets are then left to the stacks' own teardowns).
    #[arg(long, requires = "all_tagged")]
    name_prefix: Option<String>,
    /// Confirm --all-tagged.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

pub(crate) async fn teardown(args: TeardownArgs) -> anyhow::Result<()> {
    let clients = args.aws.config().connect().await.context("cannot reach AWS")?;
    let deployer = Deployer::new(clients);
    let bar = progress_bar(
        Template::standard().document()["Resources"].as_object().map_or(1, |r| r.len() as u64),
        "tearing down",
    );
    let reports = if args.all_tagged {
        deployer.sweep(args.name_prefix.as_deref(), &mut on_progress(&bar)).await
    } else {
        let stack = args.stack.clone().unwrap_or_default();
        deployer.teardown(&Cleanup { stack, artifact: None }, &mut on_progress(&bar)).await.map(|r| vec![r])
    };
    bar.finish_and_clear();
    let reports = reports.context("teardown failed; run it again, or look at the stack's events in the console")?;
    if reports.iter().all(|r| r.stack_deleted.is_none() && r.objects_deleted.is_empty() && r.bucket_deleted.is_none()) {
        eprintln!("nothing to tear down");
    }
    for report in reports {
        if let Some(stack) = report.stack_deleted {
            println!("deleted stack {stack}");
        }
        for object in report.objects_deleted {
            println!("deleted {object}");
        }
        if let Some(bucket) = report.bucket_deleted {
            println!("deleted bucket {bucket}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser};

    use super::*;

    /// The four subcommands as `main` registers them, for parsing tests.
    #[derive(Debug, Parser)]
    enum Cmd {
        Package(PackageArgs),
        Deploy(DeployArgs),
        Invoke(InvokeArgs),
        Teardown(TeardownArgs),
    }

    fn parse(args: &[&str]) -> Result<Cmd, clap::Error> {
        Cmd::try_parse_from(std::iter::once("lambda-stream").chain(args.iter().copied()))
    }

    #[test]
    fn deploy_needs_a_zip_or_a_bin() {
        assert!(parse(&["deploy", "--stack", "s"]).is_err());
        assert!(parse(&["deploy", "--stack", "s", "--zip", "a.zip", "--bin", "b"]).is_err());
        let Cmd::Deploy(args) = parse(&["deploy", "--stack", "s", "--bin", "send-numbers", "--arch", "arm64"]).unwrap()
        else {
            panic!("deploy")
        };
        assert_eq!(Arch::from(args.build.arch), Arch::Arm64);
        assert_eq!((args.memory, args.timeout), (128, 15), "Lambda-like defaults");
        assert!(parse(&["deploy", "--stack", "s", "--zip", "a.zip", "--timeout", "901"]).is_err(), "at most 900 s");
    }

    #[test]
    fn deploy_conformance_packages_the_conformance_bootstrap_unless_given_a_zip() {
        let Cmd::Deploy(args) = parse(&["deploy", "--stack", "c", "--conformance"]).unwrap() else { panic!("deploy") };
        assert!(args.conformance && args.zip.is_none() && args.bin.is_none());
        assert!(parse(&["deploy", "--stack", "c", "--conformance", "--zip", "c.zip"]).is_ok());
        assert!(parse(&["deploy", "--stack", "c", "--conformance", "--bin", "send-numbers"]).is_err());
        assert!(parse(&["deploy", "--stack", "c", "--conformance", "--no-function-url"]).is_err());
    }

    #[test]
    fn sweeping_everything_must_be_confirmed() {
        assert!(parse(&["teardown", "--all-tagged"]).is_err(), "--all-tagged requires --yes");
        assert!(parse(&["teardown", "--all-tagged", "--yes"]).is_ok());
        assert!(parse(&["teardown"]).is_err(), "a stack or --all-tagged");
        assert!(parse(&["teardown", "--stack", "s", "--name-prefix", "x"]).is_err(), "a prefix only with --all-tagged");
    }

    #[test]
    fn invoke_takes_one_target() {
        assert!(parse(&["invoke", "--url", "https://x", "--stack", "s"]).is_err());
        let Cmd::Invoke(args) =
            parse(&["invoke", "--function", "f", "--endpoint-url", "http://127.0.0.1:9000"]).unwrap()
        else {
            panic!("invoke")
        };
        assert_eq!(args.aws.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(args.data, "{}");
        assert!(parse(&["invoke", "--api-url", "https://x", "--stack", "s"]).is_err());
        let Cmd::Invoke(args) =
            parse(&["invoke", "--stack", "s", "--via", "api-gateway", "--path", "/a", "--api-auth", "none"]).unwrap()
        else {
            panic!("invoke")
        };
        assert_eq!((args.via, args.path.as_str(), args.api_auth), (Some(Via::ApiGateway), "/a", RestApiAuth::None));
    }

    #[test]
    fn deploy_adds_the_rest_api_alongside_the_url() {
        let Cmd::Deploy(args) =
            parse(&["deploy", "--stack", "s", "--zip", "a.zip", "--front", "api-gateway", "--stage", "v1"]).unwrap()
        else {
            panic!("deploy")
        };
        assert_eq!(args.front, [Front::ApiGateway]);
        assert_eq!((args.stage.as_str(), args.api_auth), ("v1", RestApiAuth::Iam));
        assert!(!args.no_function_url, "the function URL stays");
    }

    #[test]
    fn help_explains_the_options() {
        let mut cmd = Cmd::command();
        let help =
            |name: &str, cmd: &mut clap::Command| cmd.find_subcommand_mut(name).unwrap().render_long_help().to_string();
        let package = help("package", &mut cmd);
        assert!(package.contains("cargo-zigbuild") && package.contains("--arch"), "{package}");
        let deploy = help("deploy", &mut cmd);
        assert!(deploy.contains("--keep-failed") && deploy.contains("--endpoint-url"), "{deploy}");
        let teardown = help("teardown", &mut cmd);
        assert!(teardown.contains("lambda-stream:managed"), "{teardown}");
    }
}
