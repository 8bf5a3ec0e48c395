//! The scenario model: one `scenarios/*.toml` file each (format in `scenarios/README.md`).
//!
//! A scenario is one request (which front end, method, path, query, headers, body, which handler
//! serves it) and a list of `[[expect]]` blocks. Each block names the rules it is evidence for and
//! holds checks on what the client sees and, where the emulator is in the loop, on the function's
//! side of the wire (`[expect.wire]`, read from the emulator's recorder). A block's verdict is
//! its rules' evidence, so a runtime that breaks one rule fails that rule's blocks only.

use std::collections::BTreeMap;
use std::path::Path;

use lambda_stream_emulator::{ErrorOrigin, FaultKind};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;
use crate::wire;

/// The scenarios shipped in `scenarios/`, embedded at build time: `(name, toml text)`.
pub const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_scenarios.rs"));

/// Which client-facing API the request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvokePath {
    /// A function URL (prelude decoded into status, headers, cookies).
    FunctionUrl,
    /// `InvokeWithResponseStream` (event-stream frames).
    InvokeWithResponseStream,
    /// The buffered `Invoke` API.
    Invoke,
    /// The Swift-style local `POST /invoke`.
    LocalInvoke,
    /// An API Gateway REST API with a streaming Lambda proxy integration (`/{stage}/{proxy+}`).
    ApiGateway,
}

impl InvokePath {
    /// Its name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Self::FunctionUrl => "function-url",
            Self::InvokeWithResponseStream => "invoke-with-response-stream",
            Self::Invoke => "invoke",
            Self::LocalInvoke => "local-invoke",
            Self::ApiGateway => "api-gateway",
        }
    }
}

fn post() -> String {
    "POST".into()
}

fn root() -> String {
    "/".into()
}

/// The request a scenario sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The front end.
    pub path: InvokePath,
    /// HTTP method. Default `POST`.
    #[serde(default = "post")]
    pub method: String,
    /// Path below the function URL's base, or below the REST API's stage (function URL and API
    /// Gateway only); it may carry a query (`/a?x=1&x=2`) to which `query` is added. Default `/`.
    #[serde(default = "root")]
    pub uri: String,
    /// Query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body (the event for IWRS and Invoke).
    #[serde(default)]
    pub body: Option<String>,
    /// Request body as standard base64, for binary bodies (instead of `body`).
    #[serde(default)]
    pub body_base64: Option<String>,
    /// Header lines sent as given after `headers`, a name may repeat: `[["x-a", "1"], ["x-a", "2"]]`.
    #[serde(default)]
    pub header_lines: Vec<(String, String)>,
    /// Function name to address (IWRS and Invoke) instead of the target's; for unknown-function cases.
    #[serde(default)]
    pub function: Option<String>,
    /// IWRS: send to the documented path (`/2021-11-15/...`) even when the target is told that its
    /// endpoint serves the operation under another API version (cargo-lambda's `/2015-03-31`):
    /// the evidence that the documented path works.
    #[serde(default)]
    pub documented_path: bool,
}

impl RequestSpec {
    /// The body's bytes: `body_base64` decoded, else `body`, else empty.
    pub fn body_bytes(&self) -> Result<Vec<u8>, String> {
        use base64::Engine as _;
        match (&self.body_base64, &self.body) {
            (Some(_), Some(_)) => Err("give body or body_base64, not both".into()),
            (Some(b64), None) => base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| format!("body_base64 is not standard base64: {e}")),
            (None, body) => Ok(body.clone().unwrap_or_default().into_bytes()),
        }
    }

    /// Every header line to send: `headers`, then `header_lines`.
    pub fn header_pairs(&self) -> Vec<(String, String)> {
        self.headers.iter().map(|(k, v)| (k.clone(), v.clone())).chain(self.header_lines.iter().cloned()).collect()
    }
}

/// Inclusive bounds in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Lower bound.
    #[serde(default)]
    pub min: Option<f64>,
    /// Upper bound.
    #[serde(default)]
    pub max: Option<f64>,
}

impl Bounds {
    /// Whether `value` lies within.
    pub fn contains(&self, value: f64) -> bool {
        self.min.is_none_or(|m| value >= m) && self.max.is_none_or(|m| value <= m)
    }
}

/// Expectations on the final `InvokeComplete` frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvokeCompleteExpect {
    /// `ErrorCode`; the empty string means "no error".
    #[serde(default)]
    pub error_code: Option<String>,
    /// Whether an `ErrorCode` (any) is present.
    #[serde(default)]
    pub error: Option<bool>,
    /// `ErrorDetails` contains this text.
    #[serde(default)]
    pub error_details_contains: Option<String>,
    /// The decoded `LogResult` tail contains this text.
    #[serde(default)]
    pub log_contains: Option<String>,
}

/// A check on one value of the body read as JSON (`[[expect.json]]`), found by a JSON Pointer
/// (RFC 6901, e.g. `/headers/x-a`). At least one of the checks must be given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonExpect {
    /// Where: a JSON Pointer into the body.
    pub pointer: String,
    /// The value, exactly (strings, numbers, booleans, arrays, tables).
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    /// The value is a string (or number) matching this regex.
    #[serde(default)]
    pub matches: Option<String>,
    /// `true`: nothing is at the pointer; `false`: something is.
    #[serde(default)]
    pub absent: Option<bool>,
    /// The value is a Unix time in milliseconds (number or numeric string) after the request was
    /// sent (5 s of clock skew allowed) and at most 16 minutes after it: a deadline in the future
    /// within Lambda's 15-minute maximum.
    #[serde(default)]
    pub epoch_ms_in_future: Option<bool>,
    /// The value equals this response header's value (e.g. `x-amzn-requestid`).
    #[serde(default)]
    pub equals_header: Option<String>,
    /// Every key of the object at the pointer is lower case.
    #[serde(default)]
    pub keys_lowercase: Option<bool>,
}

/// Expectations on the invocation's log tail: `InvokeComplete.LogResult` (IWRS) or the
/// `X-Amz-Log-Result` header (Invoke), base64-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogExpect {
    /// The tail contains this text.
    #[serde(default)]
    pub contains: Option<String>,
    /// The tail does not contain this text (it was cut off).
    #[serde(default)]
    pub not_contains: Option<String>,
    /// The decoded tail is at most this many bytes.
    #[serde(default)]
    pub size_at_most: Option<u64>,
}

/// The bandwidth shape of the body's arrival: a burst, then a capped rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandwidthExpect {
    /// Bytes of the burst (Lambda: 6 MB).
    pub burst_bytes: u64,
    /// The burst's bytes arrived within this many ms of the first byte (faster than the cap
    /// would allow; a generous bound).
    pub burst_within_ms: f64,
    /// The bytes beyond the burst, divided by the time from the first byte to the end, are at most
    /// this many per second (a lower bound on time, so a busy machine cannot make it fail).
    pub max_bytes_per_s_after: f64,
}

/// Where a scenario expects the invocation's error to come from (`error_origin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OriginExpect {
    /// The runtime's error trailers after body bytes.
    Trailers,
    /// The runtime's `POST /error`.
    ErrorEndpoint,
    /// The emulator itself (timeout, size limit, truncated response, process exit).
    Platform,
    /// The invocation did not fail.
    #[serde(rename = "none")]
    NoError,
}

impl OriginExpect {
    /// Every value, in the order the scenario format lists them.
    pub const ALL: [Self; 4] = [Self::Trailers, Self::ErrorEndpoint, Self::Platform, Self::NoError];

    /// The recorder's origin this names; `None` for [`OriginExpect::NoError`].
    pub fn origin(self) -> Option<ErrorOrigin> {
        match self {
            Self::Trailers => Some(ErrorOrigin::Trailers),
            Self::ErrorEndpoint => Some(ErrorOrigin::ErrorEndpoint),
            Self::Platform => Some(ErrorOrigin::Platform),
            Self::NoError => None,
        }
    }

    /// Its name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trailers => "trailers",
            Self::ErrorEndpoint => "error-endpoint",
            Self::Platform => "platform",
            Self::NoError => "none",
        }
    }

    /// The scenario-file name of what the recorder saw (the `Debug` form for an origin newer
    /// than this enum), for evidence.
    pub fn describe(seen: Option<ErrorOrigin>) -> String {
        Self::ALL.iter().find(|o| o.origin() == seen).map_or_else(|| format!("{seen:?}"), |o| o.name().to_owned())
    }
}

/// `faults = [...]` in scenario files: [`FaultKind`]s by their names in [`wire::FAULT_NAMES`].
mod fault_names {
    use super::*;

    pub(super) fn serialize<S: Serializer>(kinds: &Option<Vec<FaultKind>>, s: S) -> Result<S::Ok, S::Error> {
        let names = kinds
            .as_ref()
            .map(|kinds| {
                kinds
                    .iter()
                    .map(|k| {
                        wire::fault_name(*k)
                            .ok_or_else(|| serde::ser::Error::custom(format!("fault kind {k:?} has no scenario name")))
                    })
                    .collect::<Result<Vec<&str>, S::Error>>()
            })
            .transpose()?;
        names.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<FaultKind>>, D::Error> {
        let Some(names) = Option::<Vec<String>>::deserialize(d)? else { return Ok(None) };
        let known = || wire::FAULT_NAMES.map(|(_, n)| n).join(", ");
        names
            .iter()
            .map(|name| {
                wire::fault_kind(name).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown fault kind {name:?}; the kinds are {}", known()))
                })
            })
            .collect::<Result<Vec<FaultKind>, D::Error>>()
            .map(Some)
    }
}

/// Expectations on the function's side of the wire, from the emulator's recorder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireExpect {
    /// `Lambda-Runtime-Function-Response-Mode` value.
    #[serde(default)]
    pub mode_header: Option<String>,
    /// `Transfer-Encoding: chunked` on the answer.
    #[serde(default)]
    pub chunked: Option<bool>,
    /// The head declares both error trailers in `Trailer`.
    #[serde(default)]
    pub trailer_declared: Option<bool>,
    /// The answer's `Content-Type`.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Exact number of body chunks the runtime sent.
    #[serde(default)]
    pub chunk_count: Option<usize>,
    /// At least this many body chunks.
    #[serde(default)]
    pub min_chunks: Option<usize>,
    /// Every gap between consecutive runtime chunks lies within these bounds (ms); with
    /// `min_chunks`, only the gaps between the last `min_chunks` chunks (the writes; a runtime may
    /// send the prelude in chunks of its own before them).
    #[serde(default)]
    pub chunk_gap_ms: Option<Bounds>,
    /// Whether the body ended with error trailers.
    #[serde(default)]
    pub error_trailers: Option<bool>,
    /// The `Lambda-Runtime-Function-Error-Type` trailer's value (judged only when error trailers
    /// were sent; whether they should be is `error_trailers`).
    #[serde(default)]
    pub trailer_error_type: Option<String>,
    /// The `Lambda-Runtime-Function-Error-Body` trailer is standard base64 of a JSON object with
    /// `errorType` and `errorMessage` (judged only when error trailers were sent).
    #[serde(default)]
    pub trailer_body_base64_json: Option<bool>,
    /// Where the invocation's error came from: `trailers`, `error-endpoint`, `platform`, or `none`.
    #[serde(default)]
    pub error_origin: Option<OriginExpect>,
    /// The invocation's error type as the emulator reports it.
    #[serde(default)]
    pub error_type: Option<String>,
    /// Exactly these runtime fault kinds were recorded, in order (`[]`: none); names as in
    /// [`wire::FAULT_NAMES`].
    #[serde(default, with = "fault_names")]
    pub faults: Option<Vec<FaultKind>>,
    /// The bootstrap process exited (crashed or was killed) this many times during the scenario.
    #[serde(default)]
    pub process_exits: Option<u64>,
    /// Total body bytes the runtime sent.
    #[serde(default)]
    pub body_bytes: Option<u64>,
    /// The runtime took this many invocations (`GET /next` answered) during the whole scenario;
    /// `0` shows the function did not run at all.
    #[serde(default)]
    pub invocations: Option<u64>,
    /// The handler returned (the runtime asked for its next invocation) this many ms after the
    /// emulator handed the client the end of its body: work after `finish` (the local target
    /// waits for the runtime to ask).
    #[serde(default)]
    pub returned_after_end_ms: Option<Bounds>,
}

impl WireExpect {
    /// The checks that hold for the whole scenario, whether or not the request became an
    /// invocation the recorder knows.
    pub const SCENARIO_WIDE: [&'static str; 2] = ["invocations", "process_exits"];

    /// The names of the checks asked for, in the order of the fields (for evidence of what was
    /// not checked).
    pub fn names(&self) -> Vec<&'static str> {
        [
            ("mode_header", self.mode_header.is_some()),
            ("chunked", self.chunked.is_some()),
            ("trailer_declared", self.trailer_declared.is_some()),
            ("content_type", self.content_type.is_some()),
            ("chunk_count", self.chunk_count.is_some()),
            ("min_chunks", self.min_chunks.is_some()),
            ("chunk_gap_ms", self.chunk_gap_ms.is_some()),
            ("error_trailers", self.error_trailers.is_some()),
            ("trailer_error_type", self.trailer_error_type.is_some()),
            ("trailer_body_base64_json", self.trailer_body_base64_json.is_some()),
            ("error_origin", self.error_origin.is_some()),
            ("error_type", self.error_type.is_some()),
            ("faults", self.faults.is_some()),
            ("process_exits", self.process_exits.is_some()),
            ("body_bytes", self.body_bytes.is_some()),
            ("invocations", self.invocations.is_some()),
            ("returned_after_end_ms", self.returned_after_end_ms.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// One block of expectations, evidence for its rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The rules this block is evidence for (at least one).
    pub rules: Vec<String>,
    /// HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// Headers with exact values (names case-insensitive).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers that must be absent.
    #[serde(default)]
    pub headers_absent: Vec<String>,
    /// Headers that must be present, whatever their value.
    #[serde(default)]
    pub headers_present: Vec<String>,
    /// `Set-Cookie` values, all present.
    #[serde(default)]
    pub cookies: Vec<String>,
    /// The body, exactly (for IWRS: the PayloadChunks joined).
    #[serde(default)]
    pub body: Option<String>,
    /// The body starts with this (`\u0000` escapes allowed).
    #[serde(default)]
    pub body_prefix: Option<String>,
    /// The body (lossy UTF-8) matches this regex.
    #[serde(default)]
    pub body_regex: Option<String>,
    /// The body (lossy UTF-8) does not match this regex.
    #[serde(default)]
    pub body_not_regex: Option<String>,
    /// Body size in bytes.
    #[serde(default)]
    pub body_size: Option<u64>,
    /// Body size at most this many bytes.
    #[serde(default)]
    pub body_size_at_most: Option<u64>,
    /// Body size at least this many bytes.
    #[serde(default)]
    pub body_size_at_least: Option<u64>,
    /// SHA-256 of the whole body (hex; for IWRS the PayloadChunks joined): byte for byte, however
    /// large (the client hashes as bytes arrive and keeps only [`crate::observe::MAX_KEPT_BODY`]).
    #[serde(default)]
    pub body_sha256: Option<String>,
    /// The chunks: for IWRS the PayloadChunk payloads; for HTTP the groups of bytes that arrived
    /// together (apart by more than the grouping window).
    #[serde(default)]
    pub chunks: Option<Vec<String>>,
    /// Number of chunks (as for `chunks`).
    #[serde(default)]
    pub chunk_count: Option<usize>,
    /// At least this many chunks.
    #[serde(default)]
    pub min_chunks: Option<usize>,
    /// The first body byte arrived within this many ms of sending the request.
    #[serde(default)]
    pub first_byte_before_ms: Option<f64>,
    /// The first body byte arrived at least this many ms before the body ended (it streamed).
    #[serde(default)]
    pub first_byte_lead_ms: Option<f64>,
    /// Gaps between consecutive chunks lie within these bounds (ms); with `min_chunks`, only the
    /// gaps between the last `min_chunks` chunks.
    #[serde(default)]
    pub gap_ms: Option<Bounds>,
    /// The body ended within this many ms of sending the request.
    #[serde(default)]
    pub end_before_ms: Option<f64>,
    /// The body ended no sooner than this many ms after sending the request.
    #[serde(default)]
    pub end_after_ms: Option<f64>,
    /// Whether the body was cut (ended without its terminating chunk).
    #[serde(default)]
    pub aborted: Option<bool>,
    /// IWRS: every frame had valid `:message-type`, `:event-type`, `:content-type` headers.
    #[serde(default)]
    pub frames_valid: Option<bool>,
    /// IWRS: the stream ended with exactly one `InvokeComplete`, nothing after it.
    #[serde(default)]
    pub complete_last: Option<bool>,
    /// IWRS: the final `InvokeComplete`.
    #[serde(default)]
    pub invoke_complete: Option<InvokeCompleteExpect>,
    /// The body, exactly, as standard base64 (binary bodies).
    #[serde(default)]
    pub body_base64: Option<String>,
    /// Checks on the body read as JSON.
    #[serde(default)]
    pub json: Vec<JsonExpect>,
    /// `true`: the `json` checks read the body after its prelude, up to and including the first
    /// eight NULs; a body without them is read whole. An InvokeWithResponseStream caller gets the
    /// prelude as the function wrote it (AWS passes it through); a peer that strips it sends the
    /// JSON alone. Whether the prelude is there is another rule's check (`iwrs.prelude-unstripped`).
    #[serde(default)]
    pub json_after_prelude: bool,
    /// The invocation's log tail.
    #[serde(default)]
    pub log: Option<LogExpect>,
    /// The bandwidth shape of the body's arrival.
    #[serde(default)]
    pub bandwidth: Option<BandwidthExpect>,
    /// The function's side of the wire (local target only).
    #[serde(default)]
    pub wire: Option<WireExpect>,
}

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The file's stem (set on load).
    #[serde(default, skip_deserializing)]
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Which handler serves it: `conditional-streaming`, `send-numbers` or `probe`.
    pub handler: String,
    /// Function timeout for this scenario, in ms (needs a target that can set it: local).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Streamed response size cap for this scenario (needs a target that can set it: local).
    #[serde(default)]
    pub max_streamed_bytes: Option<u64>,
    /// Send the request this many times, one after another, to the same function (on the local
    /// target one emulator and one bootstrap process serve them all). The blocks judge the last
    /// answer; every earlier one must have been answered with the same status, or the scenario
    /// fails. Default 1.
    #[serde(default)]
    pub sends: Option<u32>,
    /// API Gateway's idle timeout for this scenario, in ms (local target only; a deployed REST API
    /// has AWS's fixed 5 minutes or 30 seconds).
    #[serde(default)]
    pub idle_timeout_ms: Option<u64>,
    /// Lambda's (and API Gateway's) bandwidth caps on (`--aws-limits`: 6 MiB burst, then 2 MiB/s;
    /// API Gateway's 10 MiB, then 2 MiB/s). Function URL, IWRS and remote targets leave such a
    /// scenario not run (see [`Scenario::needs_local_emulator`]); an API Gateway stage target runs it
    /// as it is, since a deployed REST API has the caps anyway.
    #[serde(default)]
    pub aws_limits: bool,
    /// The request.
    pub request: RequestSpec,
    /// Expectation blocks.
    pub expect: Vec<Expect>,
}

impl Scenario {
    /// Parses a scenario; `name` is its file stem.
    pub fn parse(name: &str, text: &str) -> Result<Self, Error> {
        let mut scenario: Scenario = toml::from_str(text)
            .map_err(|e| Error::Parse { what: format!("scenario {name}"), message: e.to_string() })?;
        scenario.name = name.to_owned();
        if scenario.expect.is_empty() {
            return Err(Error::Invalid(format!("scenario {name} has no [[expect]] block")));
        }
        if scenario.sends == Some(0) {
            return Err(Error::Invalid(format!("scenario {name}: sends = 0 sends nothing; leave it out for one")));
        }
        for (i, block) in scenario.expect.iter().enumerate() {
            if block.rules.is_empty() {
                return Err(Error::Invalid(format!("scenario {name}: [[expect]] block {} names no rule", i + 1)));
            }
            let json_patterns = block.json.iter().filter_map(|j| j.matches.as_ref());
            for pattern in [&block.body_regex, &block.body_not_regex].into_iter().flatten().chain(json_patterns) {
                regex::Regex::new(pattern)
                    .map_err(|e| Error::Invalid(format!("scenario {name}: bad regex {pattern:?}: {e}")))?;
            }
            for json in &block.json {
                let checks = [
                    json.equals.is_some(),
                    json.matches.is_some(),
                    json.absent.is_some(),
                    json.epoch_ms_in_future.is_some(),
                    json.equals_header.is_some(),
                    json.keys_lowercase.is_some(),
                ];
                if !json.pointer.is_empty() && !json.pointer.starts_with('/') {
                    return Err(Error::Invalid(format!(
                        "scenario {name}: JSON pointer {:?} must be empty or start with '/'",
                        json.pointer
                    )));
                }
                if !checks.contains(&true) {
                    return Err(Error::Invalid(format!(
                        "scenario {name}: [[expect.json]] at {:?} makes no check",
                        json.pointer
                    )));
                }
            }
            if block.json_after_prelude && block.json.is_empty() {
                return Err(Error::Invalid(format!(
                    "scenario {name}: [[expect]] block {} sets json_after_prelude without json checks",
                    i + 1
                )));
            }
            if let Some(b64) = &block.body_base64 {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| Error::Invalid(format!("scenario {name}: expected body_base64 is not base64: {e}")))?;
            }
        }
        scenario.request.body_bytes().map_err(|e| Error::Invalid(format!("scenario {name}: {e}")))?;
        Ok(scenario)
    }

    /// Every rule id the scenario gives evidence for, in first-mention order.
    pub fn rules(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for id in self.expect.iter().flat_map(|b| b.rules.iter()) {
            if !out.contains(&id.as_str()) {
                out.push(id);
            }
        }
        out
    }

    /// Whether it needs per-scenario emulator settings only a local target can apply: a timeout, a
    /// size cap or API Gateway's idle timeout.
    pub fn needs_emulator_settings(&self) -> bool {
        self.timeout_ms.is_some() || self.max_streamed_bytes.is_some() || self.idle_timeout_ms.is_some()
    }

    /// Whether it needs those settings or bandwidth shaping (`aws_limits`), which only the local
    /// emulator switches on per scenario: a function URL or IWRS endpoint that does not shape
    /// (cargo-lambda, LocalStack, a plain emulator) would fail it for a reason of its own.
    pub fn needs_local_emulator(&self) -> bool {
        self.needs_emulator_settings() || self.aws_limits
    }
}

/// The embedded scenarios, parsed, in name order.
pub fn embedded() -> Result<Vec<Scenario>, Error> {
    EMBEDDED.iter().map(|(name, text)| Scenario::parse(name, text)).collect()
}

/// The scenarios in a directory (`*.toml`, README excluded), in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, Error> {
    let read = |source| Error::Read { path: dir.to_owned(), source };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(read)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.clone(), source })?;
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Scenario::parse(&name, &text)
        })
        .collect()
}
