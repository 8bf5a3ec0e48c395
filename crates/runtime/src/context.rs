//! What Lambda tells a handler: the invocation ([`LambdaContext`], from the `/next` headers) and
//! the function ([`Config`], from the environment, read only by main-level code).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use lambda_stream_protocol::{env, names};
use tracing::level_filters::LevelFilter;

/// The function's configuration, as Lambda sets it in the environment.
///
/// The library never reads the environment by itself: `main`-level code calls
/// [`Config::from_env`] (as [`run`](crate::run) does), tests build a `Config` by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// `AWS_LAMBDA_RUNTIME_API`: where the Runtime API listens (`host:port` on AWS).
    pub runtime_api: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_VERSION` (`$LATEST` when unset).
    pub function_version: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` in MB; `None` when unset or not a number (the official
    /// Rust runtime panics then, docs/protocol.md §7; this one does not).
    pub memory_size_mb: Option<u32>,
    /// `AWS_LAMBDA_LOG_GROUP_NAME`.
    pub log_group_name: Option<String>,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream_name: Option<String>,
    /// The level to log at: `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls, LOG-CTL),
    /// else `RUST_LOG` when it is a plain level (`debug`, `WARN`, ...), else `INFO`. Lambda's
    /// `FATAL` has no `tracing` level and becomes `ERROR`. Hand it to a subscriber, e.g.
    /// `tracing_subscriber::fmt().with_max_level(config.log_level)` (a `RUST_LOG` with per-target
    /// directives needs `tracing_subscriber`'s `EnvFilter` instead, and is read as `INFO` here).
    pub log_level: LevelFilter,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            runtime_api: None,
            function_name: String::new(),
            function_version: String::new(),
            memory_size_mb: None,
            log_group_name: None,
            log_stream_name: None,
            log_level: LevelFilter::INFO,
        }
    }
}

/// The level named by Lambda's `AWS_LAMBDA_LOG_LEVEL`, else by a `RUST_LOG` that is one plain
/// level, else `INFO`. Case does not matter; a value that names no level is passed over.
fn log_level(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    let level = |value: &str| match value.trim() {
        v if v.eq_ignore_ascii_case("fatal") => Some(LevelFilter::ERROR),
        v => v.parse::<LevelFilter>().ok(),
    };
    aws_lambda_log_level.and_then(level).or_else(|| rust_log.and_then(level)).unwrap_or(LevelFilter::INFO)
}

impl Config {
    /// A configuration for a function named `function_name`, version `$LATEST`, nothing else set.
    pub fn new(function_name: impl Into<String>) -> Self {
        Self { function_name: function_name.into(), function_version: "$LATEST".into(), ..Self::default() }
    }

    /// Reads the variables Lambda sets (RT-CUSTOM). Missing ones become defaults, never a panic.
    /// Call it from `main`; everything else takes the result as a value.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            runtime_api: var(env::RUNTIME_API),
            function_name: var(env::FUNCTION_NAME).unwrap_or_default(),
            function_version: var(env::FUNCTION_VERSION).unwrap_or_else(|| "$LATEST".into()),
            memory_size_mb: var(env::FUNCTION_MEMORY_SIZE).and_then(|v| v.parse().ok()),
            log_group_name: var(env::LOG_GROUP_NAME),
            log_stream_name: var(env::LOG_STREAM_NAME),
            log_level: log_level(var(env::LOG_LEVEL).as_deref(), var("RUST_LOG").as_deref()),
        }
    }
}

/// One invocation, as the Runtime API's `GET /next` described it (RT-API).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LambdaContext {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`, as a point in time.
    pub deadline: SystemTime,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_function_arn: String,
    /// `Lambda-Runtime-Trace-Id`, when sent.
    pub trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context` (JSON), when the caller gave one.
    pub client_context: Option<serde_json::Value>,
    /// `Lambda-Runtime-Cognito-Identity` (JSON), when the caller had one.
    pub cognito_identity: Option<serde_json::Value>,
    /// `Lambda-Runtime-Aws-Tenant-Id`, on tenant-isolated functions (RIE `rapi/rendering/rendering.go`).
    pub tenant_id: Option<String>,
    /// The function's configuration, shared by all invocations.
    pub config: Arc<Config>,
}

impl LambdaContext {
    /// The deadline in epoch milliseconds, as the header carried it.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    /// Time left until the deadline; zero once it has passed.
    pub fn remaining_time(&self) -> Duration {
        self.deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
    }

    /// A context for unit tests of handlers: request id `request_id`, deadline one minute from now.
    pub fn for_tests(request_id: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            deadline: SystemTime::now() + Duration::from_secs(60),
            invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:test".into(),
            trace_id: None,
            client_context: None,
            cognito_identity: None,
            tenant_id: None,
            config: Arc::new(Config::new("test")),
        }
    }
}

/// Why a `/next` answer could not become a [`LambdaContext`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidInvocation {
    /// The request id, when it was present and usable in a path; without it nothing can be reported.
    pub(crate) request_id: Option<String>,
    /// What was wrong, naming the header.
    pub(crate) reason: String,
}

/// Reads the `/next` headers. Never panics: every missing or malformed header is a reason.
pub(crate) fn parse_invocation(headers: &HeaderMap, config: &Arc<Config>) -> Result<LambdaContext, InvalidInvocation> {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().map(str::trim));
    let request_id = match text(names::REQUEST_ID) {
        Some(Ok(id)) if is_path_safe(id) => id.to_owned(),
        Some(Ok(id)) => {
            return Err(InvalidInvocation {
                request_id: None,
                reason: format!("header {} is not usable in a URL path: {id:?}", names::REQUEST_ID),
            });
        }
        Some(Err(_)) => {
            return Err(InvalidInvocation {
                request_id: None,
                reason: format!("header {} is not visible ASCII", names::REQUEST_ID),
            });
        }
        None => {
            return Err(InvalidInvocation {
                request_id: None,
                reason: format!("header {} is missing", names::REQUEST_ID),
            });
        }
    };
    let invalid = |reason: String| InvalidInvocation { request_id: Some(request_id.clone()), reason };
    let required = |name: &str| match text(name) {
        Some(Ok(v)) if !v.is_empty() => Ok(v.to_owned()),
        Some(Ok(_)) => Err(invalid(format!("header {name} is empty"))),
        Some(Err(_)) => Err(invalid(format!("header {name} is not visible ASCII"))),
        None => Err(invalid(format!("header {name} is missing"))),
    };
    let optional = |name: &str| match text(name) {
        Some(Ok(v)) if !v.is_empty() => Ok(Some(v.to_owned())),
        Some(Ok(_)) | None => Ok(None),
        Some(Err(_)) => Err(invalid(format!("header {name} is not visible ASCII"))),
    };
    let json = |name: &str| -> Result<Option<serde_json::Value>, InvalidInvocation> {
        optional(name)?
            .map(|raw| serde_json::from_str(&raw).map_err(|e| invalid(format!("header {name} is not JSON: {e}"))))
            .transpose()
    };

    let deadline_raw = required(names::DEADLINE_MS)?;
    let deadline_ms: u64 = deadline_raw.parse().map_err(|_| {
        invalid(format!("header {} must be epoch milliseconds, got {deadline_raw:?}", names::DEADLINE_MS))
    })?;
    Ok(LambdaContext {
        deadline: UNIX_EPOCH + Duration::from_millis(deadline_ms),
        invoked_function_arn: required(names::INVOKED_FUNCTION_ARN)?,
        trace_id: optional(names::TRACE_ID)?,
        client_context: json(names::CLIENT_CONTEXT)?,
        cognito_identity: json(names::COGNITO_IDENTITY)?,
        tenant_id: optional(names::TENANT_ID)?,
        config: Arc::clone(config),
        request_id,
    })
}

/// A request id goes into `/invocation/{id}/...`; anything that could change the path is refused.
fn is_path_safe(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        map
    }

    const FULL: &[(&str, &str)] = &[
        ("lambda-runtime-aws-request-id", "req-1"),
        ("lambda-runtime-deadline-ms", "1700000000123"),
        ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-west-1:1:function:f"),
        ("lambda-runtime-trace-id", "Root=1-abc"),
        ("lambda-runtime-client-context", r#"{"custom":{"a":1}}"#),
        ("lambda-runtime-aws-tenant-id", "tenant-7"),
    ];

    #[test]
    fn the_log_level_follows_lambda_then_rust_log_then_info() {
        assert_eq!(log_level(None, None), LevelFilter::INFO);
        assert_eq!(log_level(Some("DEBUG"), Some("error")), LevelFilter::DEBUG, "Lambda's setting wins");
        assert_eq!(log_level(Some("FATAL"), None), LevelFilter::ERROR, "Lambda's FATAL has no tracing level");
        assert_eq!(log_level(Some("TRACE"), None), LevelFilter::TRACE);
        assert_eq!(log_level(Some(" warn "), None), LevelFilter::WARN);
        assert_eq!(log_level(None, Some("warn")), LevelFilter::WARN);
        assert_eq!(log_level(Some("LOUD"), Some("error")), LevelFilter::ERROR, "an unknown level is passed over");
        assert_eq!(log_level(None, Some("lambda_stream=debug")), LevelFilter::INFO, "directives are EnvFilter's");
        assert_eq!(Config::new("f").log_level, LevelFilter::INFO);
    }

    #[test]
    fn full_headers_parse() {
        let ctx = parse_invocation(&headers(FULL), &Arc::new(Config::new("f"))).unwrap();
        assert_eq!(ctx.request_id, "req-1");
        assert_eq!(ctx.deadline_ms(), 1_700_000_000_123);
        assert_eq!(ctx.remaining_time(), Duration::ZERO, "a deadline in the past leaves no time");
        assert_eq!(ctx.trace_id.as_deref(), Some("Root=1-abc"));
        assert_eq!(ctx.client_context, Some(serde_json::json!({"custom": {"a": 1}})));
        assert_eq!(ctx.cognito_identity, None);
        assert_eq!(ctx.tenant_id.as_deref(), Some("tenant-7"));
        assert_eq!(ctx.config.function_name, "f");
    }

    #[test]
    fn each_required_header_is_named_when_missing_or_bad() {
        for missing in ["lambda-runtime-deadline-ms", "lambda-runtime-invoked-function-arn"] {
            let pairs: Vec<_> = FULL.iter().copied().filter(|(k, _)| *k != missing).collect();
            let err = parse_invocation(&headers(&pairs), &Arc::default()).unwrap_err();
            assert_eq!(err.request_id.as_deref(), Some("req-1"));
            assert_eq!(err.reason, format!("header {missing} is missing"));
        }
        let mut pairs = FULL.to_vec();
        pairs[1] = ("lambda-runtime-deadline-ms", "soon");
        let err = parse_invocation(&headers(&pairs), &Arc::default()).unwrap_err();
        assert!(err.reason.contains("epoch milliseconds, got \"soon\""), "{}", err.reason);
        pairs[1] = ("lambda-runtime-deadline-ms", "1");
        pairs[4] = ("lambda-runtime-client-context", "{oops");
        let err = parse_invocation(&headers(&pairs), &Arc::default()).unwrap_err();
        assert!(err.reason.starts_with("header lambda-runtime-client-context is not JSON"), "{}", err.reason);
    }

    #[test]
    fn remaining_time_counts_down_to_the_deadline() {
        let mut ctx = LambdaContext::for_tests("r");
        ctx.deadline = SystemTime::now() + Duration::from_secs(90);
        let left = ctx.remaining_time();
        assert!(left > Duration::from_secs(80) && left <= Duration::from_secs(90), "{left:?}");
        let in_a_minute = LambdaContext::for_tests("r").remaining_time();
        assert!(in_a_minute > Duration::from_secs(50) && in_a_minute <= Duration::from_secs(60), "{in_a_minute:?}");
    }

    #[test]
    fn empty_header_values_are_absent_for_optional_headers_and_errors_for_required_ones() {
        let mut pairs = FULL.to_vec();
        pairs[3] = ("lambda-runtime-trace-id", "");
        pairs[4] = ("lambda-runtime-client-context", "");
        pairs[5] = ("lambda-runtime-aws-tenant-id", "");
        let ctx = parse_invocation(&headers(&pairs), &Arc::default()).unwrap();
        assert_eq!((ctx.trace_id, ctx.client_context, ctx.tenant_id), (None, None, None));
        pairs[2] = ("lambda-runtime-invoked-function-arn", "");
        let err = parse_invocation(&headers(&pairs), &Arc::default()).unwrap_err();
        assert_eq!(err.reason, "header lambda-runtime-invoked-function-arn is empty");
        let mut pairs = FULL.to_vec();
        pairs[0] = ("lambda-runtime-aws-request-id", "");
        let err = parse_invocation(&headers(&pairs), &Arc::default()).unwrap_err();
        assert_eq!(err.request_id, None, "an empty request id cannot be reported to");
        assert!(err.reason.contains("not usable in a URL path"), "{}", err.reason);
    }

    #[test]
    fn request_ids_keep_to_path_safe_characters() {
        for id in ["8476a536-e9f4-11e8-9739-2dfe598c3fcd", "a_b.c:d~e", "Z9"] {
            assert!(is_path_safe(id), "{id}");
        }
        for id in ["", "a/b", "a?b", "a b", "a%2F", "..\\x", "a#b"] {
            assert!(!is_path_safe(id), "{id}");
        }
    }

    #[test]
    fn a_missing_or_unsafe_request_id_leaves_nothing_to_report_to() {
        let err = parse_invocation(&headers(&FULL[1..]), &Arc::default()).unwrap_err();
        assert_eq!(
            err,
            InvalidInvocation { request_id: None, reason: "header lambda-runtime-aws-request-id is missing".into() }
        );
        let mut pairs = FULL.to_vec();
        pairs[0] = ("lambda-runtime-aws-request-id", "../../init/error");
        let err = parse_invocation(&headers(&pairs), &Arc::default()).unwrap_err();
        assert_eq!(err.request_id, None);
    }
}
