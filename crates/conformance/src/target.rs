//! Where scenarios run: the local emulator with a bootstrap per handler, a remote function URL,
//! or a remote InvokeWithResponseStream endpoint. Each scenario on the local target gets an
//! emulator and bootstrap process of its own, so scenarios run in parallel without sharing a
//! recorder, and per-scenario timeouts and size caps apply to that scenario only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use lambda_stream_emulator::{
    BootstrapCommand, Emulator, ErrorOrigin, FunctionConfig, InvocationRecord, Limits, Supervisor, SupervisorConfig,
};
use lambda_stream_protocol::paths;
use serde::Serialize;

use crate::Error;
use crate::observe::{self, Observation, Outgoing};
use crate::scenario::{InvokePath, Scenario};

/// The function name the local target gives its emulator.
pub const LOCAL_FUNCTION: &str = "conformance";
/// How long to wait for the recorder to see both legs end after the client is done.
const RECORD_WAIT: Duration = Duration::from_secs(5);
/// Function timeout when a scenario names none: Lambda's default for the examples' deployments.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// A deployed (or emulated) function URL per handler: the base URL.
    FunctionUrl {
        /// Handler name to base URL.
        urls: BTreeMap<String, String>,
    },
    /// An InvokeWithResponseStream endpoint (AWS, LocalStack, another emulator); also used for
    /// buffered Invoke scenarios.
    Iwrs {
        /// `http://HOST:PORT`.
        endpoint: String,
        /// Handler name to function name.
        functions: BTreeMap<String, String>,
    },
}

/// What the emulator's recorder saw of the function's side of one invocation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WireObservation {
    /// The answer's head arrived (`/response` or `/error`).
    pub answered: bool,
    /// The answer's headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Declared the streaming mode.
    pub streaming: bool,
    /// Body chunks as they arrived: ms after the runtime took the invocation, and size.
    pub chunks: Vec<(f64, usize)>,
    /// Body bytes.
    pub bytes: u64,
    /// Trailers, if the body ended with some.
    pub trailers: Option<Vec<(String, String)>>,
    /// Error type, origin (`trailers`, `error-endpoint`, `platform`) and details, if it failed.
    pub error: Option<(String, String, String)>,
    /// Fault kinds recorded for the invocation.
    pub faults: Vec<String>,
    /// Bootstrap exits during the scenario.
    pub process_exits: u64,
}

impl WireObservation {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every field line of a header joined with ", ": HTTP treats repeated field lines as one
    /// comma-separated list (RFC 9110 section 5.3), so `Trailer: A` + `Trailer: B` declares both.
    pub fn header_list(&self, name: &str) -> Option<String> {
        let values: Vec<&str> =
            self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    fn from_record(record: &InvocationRecord, process_exits: u64) -> Self {
        let taken = record.runtime.taken_at.unwrap_or_default();
        let ms = |d: Duration| d.saturating_sub(taken).as_secs_f64() * 1000.0;
        let error = record.error().map(|e| {
            let origin = match e.origin {
                ErrorOrigin::Trailers => "trailers",
                ErrorOrigin::ErrorEndpoint => "error-endpoint",
                _ => "platform",
            };
            (e.error_type.clone(), origin.to_owned(), e.details.clone())
        });
        Self {
            answered: record.runtime.head_at.is_some(),
            headers: record.runtime.headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect(),
            streaming: record.runtime.streaming,
            chunks: record.runtime.chunks.iter().map(|c| (ms(c.at), c.len)).collect(),
            bytes: record.runtime.bytes,
            trailers: record.runtime.trailers.clone(),
            error,
            faults: record.faults.iter().map(|f| format!("{:?}", f.kind)).collect(),
            process_exits,
        }
    }
}

/// The outcome of sending one scenario's request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Attempt {
    /// The request was answered (perhaps with a cut body).
    Observed {
        /// The client side.
        client: Box<Observation>,
        /// The function side, when the emulator was in the loop and recorded an invocation.
        wire: Option<WireObservation>,
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
}

impl Target {
    /// Short name for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Local { .. } => "local",
            Target::FunctionUrl { .. } => "function-url",
            Target::Iwrs { .. } => "iwrs",
        }
    }

    /// Whether scenarios may run at once (local: each has its own emulator and process; remote
    /// functions may serve one request at a time, which would distort timings).
    pub fn parallel(&self) -> bool {
        matches!(self, Target::Local { .. })
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
        let Target::Local { bootstraps } = self else { return Ok(()) };
        let missing: Vec<PathBuf> = bootstraps
            .values()
            .map(|b| b.program.clone())
            .filter(|p| !p.exists() && p.components().count() > 1)
            .collect();
        if missing.is_empty() { Ok(()) } else { Err(missing) }
    }

    /// Runs one scenario's request.
    pub async fn attempt(&self, client: &reqwest::Client, scenario: &Scenario) -> Result<Attempt, Error> {
        let remote_settings = "needs a per-scenario timeout or size cap, which only the local emulator sets";
        let (base, function) = match self {
            Target::Local { bootstraps } => {
                let Some(command) = bootstraps.get(&scenario.handler) else {
                    return Ok(not_run(format!("no bootstrap serves handler {:?} on this target", scenario.handler)));
                };
                return attempt_local(client, scenario, command.clone()).await;
            }
            Target::FunctionUrl { urls } => {
                if !matches!(scenario.request.path, InvokePath::FunctionUrl) {
                    let path = scenario.request.path.name();
                    return Ok(not_run(format!("a function URL target has no {path} front end")));
                }
                if scenario.needs_emulator_settings() {
                    return Ok(not_run(remote_settings.into()));
                }
                let Some(base) = urls.get(&scenario.handler) else {
                    return Ok(not_run(format!("no function URL given for handler {:?}", scenario.handler)));
                };
                (base.as_str(), "")
            }
            Target::Iwrs { endpoint, functions } => {
                if !matches!(scenario.request.path, InvokePath::InvokeWithResponseStream | InvokePath::Invoke) {
                    let path = scenario.request.path.name();
                    return Ok(not_run(format!("an IWRS target has no {path} front end")));
                }
                if scenario.needs_emulator_settings() {
                    return Ok(not_run(remote_settings.into()));
                }
                let Some(function) = functions.get(&scenario.handler) else {
                    return Ok(not_run(format!("no function name given for handler {:?}", scenario.handler)));
                };
                (endpoint.as_str(), function.as_str())
            }
        };
        let outgoing = outgoing(scenario, base, function)?;
        Ok(match observe::send(client, outgoing).await {
            Ok(client) => Attempt::Observed { client: Box::new(client), wire: None, wire_visible: false },
            Err(error) => Attempt::Failed { error },
        })
    }
}

fn not_run(reason: String) -> Attempt {
    Attempt::NotRun { reason }
}

/// The request for `scenario` against `base` (`http://HOST:PORT` or a function URL), addressing
/// `function` for IWRS and Invoke.
pub fn outgoing(scenario: &Scenario, base: &str, function: &str) -> Result<Outgoing, Error> {
    let request = &scenario.request;
    let base = base.trim_end_matches('/');
    let function = request.function.as_deref().unwrap_or(function);
    let path = match request.path {
        InvokePath::FunctionUrl => request.uri.clone(),
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
    Ok(Outgoing {
        method,
        url: url.to_string(),
        headers: request.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        body: request.body.clone().unwrap_or_default().into_bytes(),
        event_stream: matches!(request.path, InvokePath::InvokeWithResponseStream),
    })
}

async fn attempt_local(
    client: &reqwest::Client,
    scenario: &Scenario,
    command: BootstrapCommand,
) -> Result<Attempt, Error> {
    let timeout = scenario.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    let mut limits = Limits::default();
    if let Some(cap) = scenario.max_streamed_bytes {
        limits.max_streamed_response_bytes = cap;
    }
    let emulator = Emulator::builder()
        .function(FunctionConfig::new(LOCAL_FUNCTION).timeout(timeout))
        .limits(limits)
        .build()
        .await?;
    let supervisor = match Supervisor::start(&emulator, SupervisorConfig::new(command.clone())).await {
        Ok(s) => s,
        Err(e) => {
            emulator.shutdown().await;
            return Err(Error::Target(format!("cannot start bootstrap {}: {e}", command.program.display())));
        }
    };
    let outgoing = outgoing(scenario, &emulator.url(), LOCAL_FUNCTION)?;
    let attempt = match observe::send(client, outgoing).await {
        Err(error) => Attempt::Failed { error },
        Ok(observation) => {
            let recorder = emulator.recorder();
            let record = match &observation.request_id {
                Some(id) if recorder.invocation(id).is_some() => recorder.wait_for(id, RECORD_WAIT).await.ok(),
                _ => None,
            };
            let wire = record.as_ref().map(|r| WireObservation::from_record(r, supervisor.exits()));
            Attempt::Observed { client: Box::new(observation), wire, wire_visible: true }
        }
    };
    supervisor.shutdown().await;
    emulator.shutdown().await;
    Ok(attempt)
}
