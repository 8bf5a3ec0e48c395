//! Where scenarios run: the local emulator with a bootstrap per handler, a remote function URL,
//! a remote InvokeWithResponseStream endpoint, a remote API Gateway REST API stage, or the signed
//! remote target of [`crate::remote`]. Each scenario on the local target gets an emulator and
//! bootstrap process of its own (with an API Gateway listener for `api-gateway` scenarios), so
//! scenarios run in parallel without sharing a recorder, and per-scenario timeouts, size caps, idle
//! timeouts and bandwidth caps apply to that scenario only.
//!
//! The local target can also put a [`Front`] between the client and the emulator
//! ([`Target::LocalFront`]): something that serves the front ends in the emulator's place, with
//! the emulator and its recorder still behind it. The negative controls use it to stand a
//! deliberately broken platform there, for the rules only the service can break.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;

use lambda_stream_emulator::{
    ApiGatewayConfig, BootstrapCommand, Emulator, FunctionConfig, Limits, Supervisor, SupervisorConfig,
};
use lambda_stream_protocol::paths;

use crate::Error;
use crate::observe::{self, Observation, Outgoing};
use crate::remote::Remote;
use crate::scenario::{InvokePath, Scenario};
use crate::sign::{SigV4Keys, sign_execute_api};
use crate::wire::WireObservation;

/// The function name the local target gives its emulator.
pub const LOCAL_FUNCTION: &str = "conformance";
/// How long to wait for the recorder to see both legs end after the client is done, when a block
/// judges the function's side.
const RECORD_WAIT: Duration = Duration::from_secs(5);
/// The same wait when no block judges the function's side: the record is then only the report's
/// timeline, and an invocation the client saw cut (API Gateway's idle timeout) runs on to its
/// deadline, which the full wait would sit out for nothing. Past it, the record as it stands.
const TIMELINE_RECORD_WAIT: Duration = Duration::from_millis(500);
/// Function timeout when a scenario names none: Lambda's default for the examples' deployments.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// The stage of the local target's REST API.
pub const LOCAL_STAGE: &str = "conformance";

/// The handlers scenarios name, and the example binary that serves each by default.
pub const HANDLERS: [&str; 3] = ["send-numbers", "conditional-streaming", "probe"];

/// A place to run scenarios.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Target {
    /// The emulator library on 127.0.0.1 with a bootstrap per handler.
    Local {
        /// Handler name to the bootstrap that serves it; scenarios of other handlers are not run.
        bootstraps: BTreeMap<String, BootstrapCommand>,
    },
    /// As [`Target::Local`], with `front` between the client and the emulator: the client talks
    /// to what `front` serves; the recorder still shows the function's side.
    LocalFront {
        /// Handler name to the bootstrap that serves it.
        bootstraps: BTreeMap<String, BootstrapCommand>,
        /// What stands in front of each scenario's emulator.
        front: Arc<dyn Front>,
    },
    /// A deployed (or emulated) function URL per handler: the base URL.
    FunctionUrl {
        /// Handler name to base URL.
        urls: BTreeMap<String, String>,
    },
    /// An InvokeWithResponseStream endpoint (AWS, LocalStack, another emulator); also used for
    /// buffered Invoke scenarios.
    Iwrs {
        /// Handler name to the endpoint serving its function, `http://HOST:PORT` (one for all
        /// on AWS or LocalStack; one per handler where each function has a server of its own, as
        /// cargo-lambda runs one function per process).
        endpoints: BTreeMap<String, String>,
        /// Handler name to function name.
        functions: BTreeMap<String, String>,
        /// The API version in the InvokeWithResponseStream path when the endpoint serves it
        /// elsewhere than the documented `2021-11-15` (cargo-lambda: `2015-03-31`); scenarios
        /// with `documented_path` still use the documented one.
        api_version: Option<String>,
    },
    /// Function URLs over HTTPS with SigV4 and the Lambda API through aws-sdk-lambda: AWS (a
    /// deployed conformance stack), LocalStack, or a TLS emulator ([`crate::remote`]).
    Remote(Arc<Remote>),
    /// A deployed (or emulated) API Gateway REST API per handler: the stage's invoke URL
    /// (`https://ID.execute-api.REGION.amazonaws.com/STAGE`); `api-gateway` scenarios only.
    ApiGateway {
        /// Handler name to the stage's URL.
        urls: BTreeMap<String, String>,
        /// Sign requests with SigV4 for `execute-api` (methods with `AWS_IAM` authorization).
        signing: Option<SigV4Keys>,
    },
}

/// What serves the client in front of a local emulator ([`Target::LocalFront`]).
pub trait Front: Send + Sync + std::fmt::Debug {
    /// Starts serving in front of the emulator at `upstream` (`http://127.0.0.1:PORT`) whose
    /// function is `function`; the guard's URL is where the client goes instead.
    fn start(&self, upstream: String, function: String) -> BoxFuture<'static, Result<FrontGuard, String>>;
}

/// A running [`Front`]: its base URL, and whatever keeps it running (dropped at the scenario's end).
pub struct FrontGuard {
    /// The base URL the client uses instead of the emulator's.
    pub url: String,
    /// Stops the front when dropped.
    pub guard: Box<dyn Send>,
}

impl std::fmt::Debug for FrontGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontGuard").field("url", &self.url).finish_non_exhaustive()
    }
}

/// The outcome of sending one scenario's request.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// The request was answered (perhaps with a cut body).
    Observed {
        /// The client side.
        client: Box<Observation>,
        /// The function side, when the emulator was in the loop (with `recorded: false` when the
        /// request never became an invocation it knows).
        wire: Option<Box<WireObservation>>,
        /// Whether the target can see the function's side at all.
        wire_visible: bool,
    },
    /// The target cannot run this scenario; why.
    NotRun {
        /// Why.
        reason: String,
    },
    /// The request failed before an answer (connection refused, timeout, ...).
    Failed {
        /// What went wrong.
        error: String,
    },
    /// The target could not be asked: throttled, credentials or signature refused, TLS or the
    /// connection failed. Not evidence about any rule: the scenario is not run and the run fails
    /// as a whole, naming the error.
    TargetError {
        /// What went wrong, with what to do.
        error: String,
    },
}

impl Target {
    /// Short name for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Local { .. } | Target::LocalFront { .. } => "local",
            Target::FunctionUrl { .. } => "function-url",
            Target::Iwrs { .. } => "iwrs",
            Target::Remote(_) => "remote",
            Target::ApiGateway { .. } => "api-gateway",
        }
    }

    /// Whether scenarios may run at once (local: each has its own emulator and process; remote
    /// functions may serve one request at a time, which would distort timings).
    pub fn parallel(&self) -> bool {
        matches!(self, Target::Local { .. } | Target::LocalFront { .. })
    }

    /// The example binaries next to `bin_dir` (e.g. `target/debug`) for the three handlers: our
    /// runtime's `send-numbers` and `conditional-streaming`, and the probe in
    /// `conformance-bootstrap probe`.
    pub fn local_defaults(bin_dir: &std::path::Path) -> BTreeMap<String, BootstrapCommand> {
        let exe = |name: &str| bin_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        BTreeMap::from([
            ("send-numbers".to_owned(), BootstrapCommand::new(exe("send-numbers"))),
            ("conditional-streaming".to_owned(), BootstrapCommand::new(exe("conditional-streaming"))),
            ("probe".to_owned(), BootstrapCommand::new(exe("conformance-bootstrap")).arg("probe")),
        ])
    }

    /// Checks that every local bootstrap program exists; the error names the missing ones.
    pub fn check_bootstraps(&self) -> Result<(), Vec<PathBuf>> {
        let (Target::Local { bootstraps } | Target::LocalFront { bootstraps, .. }) = self else { return Ok(()) };
        let missing: Vec<PathBuf> = bootstraps
            .values()
            .map(|b| b.program.clone())
            .filter(|p| !p.exists() && p.components().count() > 1)
            .collect();
        if missing.is_empty() { Ok(()) } else { Err(missing) }
    }

    /// Runs one scenario's request.
    pub async fn attempt(&self, client: &reqwest::Client, scenario: &Scenario) -> Result<Attempt, Error> {
        let remote_settings = "needs a per-scenario timeout, size cap, idle timeout or bandwidth shaping, which only the local \
             emulator sets";
        let mut api_version = None;
        let (base, function) = match self {
            Target::Remote(remote) => return remote.attempt(scenario).await,
            Target::Local { bootstraps } | Target::LocalFront { bootstraps, .. } => {
                let Some(command) = bootstraps.get(&scenario.handler) else {
                    return Ok(not_run(format!("no bootstrap serves handler {:?} on this target", scenario.handler)));
                };
                let front = match self {
                    Target::LocalFront { front, .. } => Some(front.as_ref()),
                    _ => None,
                };
                return attempt_local(client, scenario, command.clone(), front).await;
            }
            Target::FunctionUrl { urls } => {
                if !matches!(scenario.request.path, InvokePath::FunctionUrl) {
                    let path = scenario.request.path.name();
                    return Ok(not_run(format!("a function URL target has no {path} front end")));
                }
                if scenario.needs_local_emulator() {
                    return Ok(not_run(remote_settings.into()));
                }
                let Some(base) = urls.get(&scenario.handler) else {
                    return Ok(not_run(format!("no function URL given for handler {:?}", scenario.handler)));
                };
                (base.as_str(), "")
            }
            Target::Iwrs { endpoints, functions, api_version: version } => {
                api_version = version.as_deref().filter(|_| {
                    matches!(scenario.request.path, InvokePath::InvokeWithResponseStream)
                        && !scenario.request.documented_path
                });
                if !matches!(scenario.request.path, InvokePath::InvokeWithResponseStream | InvokePath::Invoke) {
                    let path = scenario.request.path.name();
                    return Ok(not_run(format!("an IWRS target has no {path} front end")));
                }
                if scenario.needs_local_emulator() {
                    return Ok(not_run(remote_settings.into()));
                }
                let Some(function) = functions.get(&scenario.handler) else {
                    return Ok(not_run(format!("no function name given for handler {:?}", scenario.handler)));
                };
                let Some(endpoint) = endpoints.get(&scenario.handler) else {
                    return Ok(not_run(format!("no endpoint given for handler {:?}", scenario.handler)));
                };
                (endpoint.as_str(), function.as_str())
            }
            Target::ApiGateway { urls, signing } => {
                if scenario.request.path != InvokePath::ApiGateway {
                    let path = scenario.request.path.name();
                    return Ok(not_run(format!("an API Gateway target has no {path} front end")));
                }
                if scenario.needs_emulator_settings() {
                    let reason =
                        "needs a per-scenario timeout, size cap or idle timeout, which only the local emulator sets";
                    return Ok(not_run(reason.into()));
                }
                let Some(base) = urls.get(&scenario.handler) else {
                    return Ok(not_run(format!("no REST API URL given for handler {:?}", scenario.handler)));
                };
                let mut outgoing = outgoing(scenario, base, "")?;
                if let Some(keys) = signing {
                    sign_execute_api(&mut outgoing, keys, SystemTime::now())?;
                }
                return Ok(match observe::send(client, outgoing).await {
                    Ok(client) => Attempt::Observed { client: Box::new(client), wire: None, wire_visible: false },
                    Err(error) => Attempt::Failed { error },
                });
            }
        };
        let mut outgoing = outgoing(scenario, base, function)?;
        if let Some(version) = api_version {
            outgoing.url = outgoing.url.replacen(&format!("/{}/", paths::IWRS_API_VERSION), &format!("/{version}/"), 1);
        }
        Ok(match send_all(client, outgoing, scenario.sends.unwrap_or(1)).await {
            Ok(client) => Attempt::Observed { client: Box::new(client), wire: None, wire_visible: false },
            Err(error) => Attempt::Failed { error },
        })
    }
}

/// Sends `request` `sends` times, one after another, and returns the last observation; an
/// earlier answer that fails, or comes with another status than the last, is an error (the
/// function did not serve every request alike).
async fn send_all(client: &reqwest::Client, request: Outgoing, sends: u32) -> Result<Observation, String> {
    let mut earlier = Vec::new();
    for _ in 1..sends {
        let seen = observe::send(client, request.clone()).await?;
        earlier.push(seen.status);
    }
    let last = observe::send(client, request).await?;
    if let Some((i, status)) = earlier.iter().enumerate().find(|(_, s)| **s != last.status) {
        return Err(format!("answer {} of {sends} had status {status}, the last {}", i + 1, last.status));
    }
    Ok(last)
}

fn not_run(reason: String) -> Attempt {
    Attempt::NotRun { reason }
}

/// The request for `scenario` against `base` (`http://HOST:PORT`, a function URL, or a REST API
/// stage's URL), addressing `function` for IWRS and Invoke.
pub fn outgoing(scenario: &Scenario, base: &str, function: &str) -> Result<Outgoing, Error> {
    let request = &scenario.request;
    let base = base.trim_end_matches('/');
    let function = request.function.as_deref().unwrap_or(function);
    let path = match request.path {
        InvokePath::FunctionUrl | InvokePath::ApiGateway => request.uri.clone(),
        InvokePath::LocalInvoke => "/invoke".to_owned(),
        InvokePath::InvokeWithResponseStream => paths::invoke_with_response_stream(function),
        InvokePath::Invoke => paths::invoke(function),
    };
    let mut url = reqwest::Url::parse(&format!("{base}{path}"))
        .map_err(|e| Error::Target(format!("bad URL {base}{path}: {e}")))?;
    if !request.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &request.query {
            pairs.append_pair(k, v);
        }
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|e| Error::Invalid(format!("scenario {}: method {:?}: {e}", scenario.name, request.method)))?;
    let body = request.body_bytes().map_err(|e| Error::Invalid(format!("scenario {}: {e}", scenario.name)))?;
    Ok(Outgoing {
        method,
        url: url.to_string(),
        headers: request.header_pairs(),
        body,
        event_stream: matches!(request.path, InvokePath::InvokeWithResponseStream),
    })
}

/// Where a [`Front`] forwards to: the REST API listener (`http://HOST:PORT`, without the stage)
/// for an API Gateway scenario, the client listener otherwise.
fn front_upstream(emulator: &Emulator, api_gateway: bool) -> String {
    match emulator.api_gateway_url() {
        Some(stage) if api_gateway => stage.trim_end_matches(&format!("/{LOCAL_STAGE}")).to_owned(),
        _ => emulator.url(),
    }
}

async fn attempt_local(
    client: &reqwest::Client,
    scenario: &Scenario,
    command: BootstrapCommand,
    front: Option<&dyn Front>,
) -> Result<Attempt, Error> {
    let timeout = scenario.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    let mut limits = Limits::default();
    if let Some(cap) = scenario.max_streamed_bytes {
        limits.max_streamed_response_bytes = cap;
    }
    let mut builder = Emulator::builder()
        .function(FunctionConfig::new(LOCAL_FUNCTION).timeout(timeout))
        .limits(limits)
        .aws_limits(scenario.aws_limits);
    let api_gateway = scenario.request.path == InvokePath::ApiGateway;
    if api_gateway {
        let mut config = ApiGatewayConfig::new(LOCAL_STAGE);
        if let Some(idle) = scenario.idle_timeout_ms {
            config = config.idle_timeout(Duration::from_millis(idle));
        }
        builder = builder.api_gateway(config);
    }
    let emulator = builder.build().await?;
    let supervisor = match Supervisor::start(&emulator, SupervisorConfig::new(command.clone())).await {
        Ok(s) => s,
        Err(e) => {
            emulator.shutdown().await;
            return Err(Error::Target(format!("cannot start bootstrap {}: {e}", command.program.display())));
        }
    };
    let front = match front {
        None => None,
        // Before the REST API listener for the API Gateway scenarios, the client listener otherwise.
        Some(front) => match front.start(front_upstream(&emulator, api_gateway), LOCAL_FUNCTION.to_owned()).await {
            Ok(running) => Some(running),
            Err(e) => {
                supervisor.shutdown().await;
                emulator.shutdown().await;
                return Err(Error::Target(format!("cannot start the front: {e}")));
            }
        },
    };
    let base = match (emulator.api_gateway_url(), &front) {
        (Some(_), Some(f)) if api_gateway => format!("{}/{LOCAL_STAGE}", f.url),
        (Some(stage), None) if api_gateway => stage,
        (_, Some(f)) => f.url.clone(),
        _ => emulator.url(),
    };
    let outgoing = outgoing(scenario, &base, LOCAL_FUNCTION)?;
    let attempt = match send_all(client, outgoing, scenario.sends.unwrap_or(1)).await {
        Err(error) => Attempt::Failed { error },
        Ok(observation) => {
            let recorder = emulator.recorder();
            let judged = scenario.expect.iter().any(|e| e.wire.is_some());
            let mut record = match &observation.request_id {
                Some(id) if recorder.invocation(id).is_some() => {
                    let wait = if judged { RECORD_WAIT } else { TIMELINE_RECORD_WAIT };
                    let complete = recorder.wait_for(id, wait).await.ok();
                    if judged { complete } else { complete.or_else(|| recorder.invocation(id)) }
                }
                _ => None,
            };
            // Work after the response: the handler returns when the runtime asks for more.
            let wants_return =
                scenario.expect.iter().any(|e| e.wire.as_ref().is_some_and(|w| w.returned_after_end_ms.is_some()));
            if let (true, Some(id)) = (wants_return, &observation.request_id) {
                let returned = |r: &lambda_stream_emulator::Recorder| {
                    r.invocation(id).filter(|record| record.runtime.returned_at.is_some())
                };
                if let Ok(found) = recorder.wait_until(timeout + RECORD_WAIT, "the handler to return", returned).await {
                    record = Some(found);
                }
            }
            let taken = recorder.invocations().iter().filter(|r| r.runtime.taken_at.is_some()).count() as u64;
            let wire = Some(Box::new(match &record {
                Some(r) => WireObservation::from_record(r, supervisor.exits(), taken),
                None => WireObservation::unrecorded(supervisor.exits(), taken),
            }));
            Attempt::Observed { client: Box::new(observation), wire, wire_visible: true }
        }
    };
    drop(front);
    supervisor.shutdown().await;
    emulator.shutdown().await;
    Ok(attempt)
}
