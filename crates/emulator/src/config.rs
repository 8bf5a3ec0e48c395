//! What the emulator plays: one function, its limits, who may call it, and the API Gateway REST
//! API in front of it when there is one.

use std::time::Duration;

use lambda_stream_protocol::limits;

/// The function the emulator serves. Lambda's defaults where AWS has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// The function's name; clients may address it by name, partial ARN or full ARN.
    pub name: String,
    /// Invocation timeout: at the deadline the stream is cut with `Sandbox.Timeout`. Default 15 s,
    /// as the Swift runtime's streaming example deploys with.
    pub timeout: Duration,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB. Default 128 (Lambda's default).
    pub memory_size_mb: u32,
    /// Region in ARNs and `AWS_REGION`. Default `us-east-1`.
    pub region: String,
    /// Account id in ARNs. Default `000000000000`, as local AWS emulators use.
    pub account_id: String,
    /// `_HANDLER` for the bootstrap. Default empty, as for `provided.al2023` functions.
    pub handler: String,
    /// Published versions that exist besides `$LATEST` (e.g. `"1"`); a client may name them as
    /// `Qualifier`. Default none.
    pub versions: Vec<String>,
    /// Aliases and the version each points to (e.g. `("live", "1")`). Default none.
    pub aliases: Vec<(String, String)>,
}

/// A qualifier the function does not have (Lambda answers 404 `ResourceNotFoundException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QualifierError {
    /// No such function, version or alias; the ARN to name in the answer.
    NotFound(String),
    /// `NAME:Q1` with `?Qualifier=Q2` where Q1 and Q2 differ.
    Conflict,
}

impl FunctionConfig {
    /// A function with Lambda's defaults and this name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            timeout: Duration::from_secs(15),
            memory_size_mb: 128,
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            handler: String::new(),
            versions: Vec::new(),
            aliases: Vec::new(),
        }
    }

    /// Adds a published version that clients may name (builder style).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.versions.push(version.into());
        self
    }

    /// Adds an alias pointing at `version` (builder style).
    pub fn alias(mut self, alias: impl Into<String>, version: impl Into<String>) -> Self {
        self.aliases.push((alias.into(), version.into()));
        self
    }

    /// The version a qualifier runs: `$LATEST` and published versions run themselves, an alias
    /// its version; `None` for a qualifier the function does not have.
    pub fn executed_version<'a>(&'a self, qualifier: &'a str) -> Option<&'a str> {
        if qualifier == "$LATEST" || self.versions.iter().any(|v| v == qualifier) {
            return Some(qualifier);
        }
        self.aliases.iter().find(|(alias, _)| alias == qualifier).map(|(_, version)| version.as_str())
    }

    /// Resolves a client's function identifier and optional `Qualifier` parameter to the
    /// qualifier invoked (`None`: unqualified, i.e. `$LATEST`), as Lambda's Invoke APIs do
    /// (Invoke API reference, "FunctionName" and "Qualifier").
    pub(crate) fn resolve(&self, identifier: &str, qualifier: Option<&str>) -> Result<Option<String>, QualifierError> {
        let not_found = |q: Option<&str>| {
            let arn = match q {
                Some(q) => format!("{}:{q}", self.arn()),
                None if identifier.starts_with("arn:") => identifier.to_owned(),
                None => format!("arn:aws:lambda:{}:{}:function:{identifier}", self.region, self.account_id),
            };
            QualifierError::NotFound(arn)
        };
        let Some(in_name) = self.name_qualifier(identifier) else {
            return Err(not_found(None));
        };
        let chosen = match (in_name, qualifier) {
            (Some(a), Some(b)) if a != b => return Err(QualifierError::Conflict),
            (Some(q), _) | (None, Some(q)) => Some(q),
            (None, None) => None,
        };
        match chosen {
            Some(q) if self.executed_version(q).is_none() => Err(not_found(Some(q))),
            q => Ok(q.map(str::to_owned)),
        }
    }

    /// Sets the timeout (builder style).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
    pub fn arn(&self) -> String {
        format!("arn:aws:lambda:{}:{}:function:{}", self.region, self.account_id, self.name)
    }

    /// Whether a client's function identifier names this function: the name, `NAME:QUALIFIER`,
    /// a partial ARN `ACCOUNT:function:NAME[:QUALIFIER]`, or a full ARN (Invoke API reference,
    /// "FunctionName" formats).
    pub fn matches(&self, identifier: &str) -> bool {
        self.name_qualifier(identifier).is_some()
    }

    /// `Some(qualifier in the identifier)` when the identifier names this function.
    fn name_qualifier<'a>(&self, identifier: &'a str) -> Option<Option<&'a str>> {
        let rest = identifier.strip_prefix("arn:aws:lambda:").map_or(identifier, |r| {
            // REGION:ACCOUNT:function:NAME... -> ACCOUNT:function:NAME...
            r.split_once(':').map_or(r, |(_, after_region)| after_region)
        });
        let rest = match rest.split_once(":function:") {
            Some((account, name)) if account == self.account_id || account.chars().all(|c| c.is_ascii_digit()) => name,
            Some(_) => return None,
            None => rest,
        };
        let (name, qualifier) = match rest.split_once(':') {
            Some((name, qualifier)) => (name, Some(qualifier)),
            None => (rest, None),
        };
        (name == self.name).then_some(qualifier)
    }
}

impl Default for FunctionConfig {
    fn default() -> Self {
        Self::new("function")
    }
}

/// Who may call the client front ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// Anyone (a function URL with AuthType `NONE`). The default.
    #[default]
    None,
    /// Requests must carry a valid SigV4 signature made with this key pair: service `lambda` on
    /// the function URL (AuthType `AWS_IAM`), service `execute-api` on API Gateway (a method with
    /// `AWS_IAM` authorization).
    Iam {
        /// The only access key id accepted.
        access_key_id: String,
        /// Its secret, to recompute signatures.
        secret_access_key: String,
    },
}

impl Auth {
    /// `Auth::Iam` with the given keys.
    pub fn iam(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Auth::Iam { access_key_id: access_key_id.into(), secret_access_key: secret_access_key.into() }
    }

    /// `Auth::Iam` with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` from this process's
    /// environment (what `lambda-stream emulate --auth iam` uses); `None` when either is unset.
    pub fn iam_from_env() -> Option<Self> {
        let id = std::env::var("AWS_ACCESS_KEY_ID").ok()?;
        let secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok()?;
        Some(Self::iam(id, secret))
    }
}

/// Bandwidth shaping of what is relayed to clients: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bytes that may go out at full speed (the bucket's size).
    pub burst_bytes: u64,
    /// Refill rate once the burst is spent.
    pub bytes_per_second: u64,
}

impl Bandwidth {
    /// Lambda's: a 6 MiB burst, then 2 MiB/s (RIE's token bucket; RS-CONF).
    pub const AWS: Bandwidth =
        Bandwidth { burst_bytes: limits::BANDWIDTH_BURST_BYTES, bytes_per_second: limits::BANDWIDTH_BYTES_PER_SECOND };
}

impl Bandwidth {
    /// API Gateway's for a streamed REST API response: the first 10 MB unrestricted, then 2 MB/s
    /// (APIGW "Stream the integration response"; MB read as MiB, docs/protocol.md §6).
    pub const API_GATEWAY: Bandwidth = Bandwidth {
        burst_bytes: limits::APIGW_BANDWIDTH_BURST_BYTES,
        bytes_per_second: limits::APIGW_BANDWIDTH_BYTES_PER_SECOND,
    };
}

/// Size and speed limits. [`Limits::default`] has Lambda's sizes and no shaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A streamed response larger than this is cut with `Function.ResponseSizeTooLarge`.
    /// Default [`limits::MAX_STREAMED_RESPONSE_BYTES`] (200 MB).
    pub max_streamed_response_bytes: u64,
    /// A buffered response (runtime side without the streaming mode, or any response collected
    /// for the buffered Invoke API) larger than this fails with `Function.ResponseSizeTooLarge`.
    /// Default [`limits::RIE_BUFFERED_RESPONSE_BYTES`] (6 MiB + 100 B): the value Lambda itself
    /// enforces and names in its error message, slightly above the documented "6 MB".
    pub max_buffered_response_bytes: u64,
    /// Largest request payload a client may send; above it the front end answers 413.
    /// Default 6 MiB (Lambda's synchronous invocation payload limit).
    pub max_request_bytes: u64,
    /// Bandwidth shaping of relayed responses; `None` (the default) relays at full speed.
    pub bandwidth: Option<Bandwidth>,
    /// API Gateway's own shaping, applied on the API Gateway front end after Lambda's
    /// [`bandwidth`](Self::bandwidth) (API Gateway reads the function through
    /// InvokeWithResponseStream, so both caps are in the path); `None` (the default) adds none.
    pub api_gateway_bandwidth: Option<Bandwidth>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_streamed_response_bytes: limits::MAX_STREAMED_RESPONSE_BYTES,
            max_buffered_response_bytes: limits::RIE_BUFFERED_RESPONSE_BYTES,
            max_request_bytes: 6 * 1024 * 1024,
            bandwidth: None,
            api_gateway_bandwidth: None,
        }
    }
}

/// Which kind of API Gateway endpoint is played; it decides the idle timeout (APIGW).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EndpointType {
    /// A Regional endpoint: a stream idle for 5 minutes is closed. The default.
    #[default]
    Regional,
    /// An edge-optimized endpoint (behind CloudFront): idle for 30 seconds is closed.
    Edge,
    /// A private endpoint: 5 minutes, as Regional.
    Private,
}

impl EndpointType {
    /// The idle timeout API Gateway applies to a stream on this endpoint type.
    pub fn idle_timeout(self) -> Duration {
        match self {
            EndpointType::Regional | EndpointType::Private => limits::APIGW_IDLE_TIMEOUT_REGIONAL,
            EndpointType::Edge => limits::APIGW_IDLE_TIMEOUT_EDGE,
        }
    }
}

/// An API Gateway REST API in front of the function: one stage, a `{proxy+}` resource and the
/// root, both `ANY` with a Lambda proxy integration in `STREAM` mode (what `templates/` deploy).
/// See the `api_gateway` front end for what it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiGatewayConfig {
    /// The stage: the first path segment (`/{stage}/{proxy+}`). Default `prod`.
    pub stage: String,
    /// The API id in `requestContext.apiId` and the domain name. Default `local`.
    pub api_id: String,
    /// Endpoint type; [`idle_timeout`](Self::idle_timeout) follows it unless set. Default Regional.
    pub endpoint_type: EndpointType,
    /// A stream without data for this long is closed: before the head, a 504; after it, the body
    /// is cut. Default: the endpoint type's (5 minutes Regional, 30 seconds edge).
    pub idle_timeout: Duration,
    /// The integration timeout: at most this long from the call to the end of the stream.
    /// Before the head, a 504; after it, the body is cut. Default 15 minutes, the largest a
    /// streaming integration may have (the deployed templates set the same).
    pub integration_timeout: Duration,
    /// Who may call: [`Auth::Iam`] checks SigV4 for service `execute-api`. Default none.
    pub auth: Auth,
    /// When set, requests must carry this value in `x-api-key` (a method with `ApiKeyRequired`).
    pub api_key: Option<String>,
    /// Stage variables passed in the event's `stageVariables`.
    pub stage_variables: Vec<(String, String)>,
}

impl ApiGatewayConfig {
    /// A Regional REST API with stage `stage`, no auth, no API key.
    pub fn new(stage: impl Into<String>) -> Self {
        Self {
            stage: stage.into(),
            api_id: "local".into(),
            endpoint_type: EndpointType::Regional,
            idle_timeout: EndpointType::Regional.idle_timeout(),
            integration_timeout: limits::APIGW_MAX_STREAM_DURATION,
            auth: Auth::None,
            api_key: None,
            stage_variables: Vec::new(),
        }
    }

    /// Sets the endpoint type and its idle timeout (builder style).
    pub fn endpoint_type(mut self, endpoint_type: EndpointType) -> Self {
        self.endpoint_type = endpoint_type;
        self.idle_timeout = endpoint_type.idle_timeout();
        self
    }

    /// Sets the idle timeout (builder style; tests use a short one).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets the integration timeout (builder style).
    pub fn integration_timeout(mut self, timeout: Duration) -> Self {
        self.integration_timeout = timeout;
        self
    }

    /// Sets who may call (builder style).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Requires `x-api-key: key` (builder style).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds a stage variable (builder style).
    pub fn stage_variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.stage_variables.push((name.into(), value.into()));
        self
    }

    /// Whether `stage` is a name API Gateway accepts: letters, digits, `-` and `_`, 1 to 128
    /// characters (API Gateway developer guide, "Important notes" for REST APIs).
    pub fn stage_is_valid(&self) -> bool {
        (1..=128).contains(&self.stage.len())
            && self.stage.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

impl Default for ApiGatewayConfig {
    fn default() -> Self {
        Self::new("prod")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_1_to_128_letters_digits_hyphens_and_underscores() {
        for ok in ["prod", "v1", "my-stage_2", "A", &"s".repeat(128)] {
            assert!(ApiGatewayConfig::new(ok).stage_is_valid(), "{ok}");
        }
        // Each allowed kind of character alone, so that no one rule covers for another.
        for ok in ["-", "_", "9", "z"] {
            assert!(ApiGatewayConfig::new(ok).stage_is_valid(), "{ok}");
        }
        for bad in ["", &"s".repeat(129), "pro d", "prod/x", "st.age", "stagé", "$default"] {
            assert!(!ApiGatewayConfig::new(bad).stage_is_valid(), "{bad:?}");
        }
    }

    #[test]
    fn identifiers_that_name_the_function() {
        let f = FunctionConfig::new("hello");
        for ok in [
            "hello",
            "hello:$LATEST",
            "000000000000:function:hello",
            "123456789012:function:hello:prod",
            "arn:aws:lambda:us-east-1:000000000000:function:hello",
            "arn:aws:lambda:eu-west-1:000000000000:function:hello:$LATEST",
        ] {
            assert!(f.matches(ok), "{ok}");
        }
        for bad in ["hell", "hello2", "x:function:hello", "arn:aws:lambda:us-east-1:000000000000:function:other"] {
            assert!(!f.matches(bad), "{bad}");
        }
        assert_eq!(f.arn(), "arn:aws:lambda:us-east-1:000000000000:function:hello");
    }

    #[test]
    fn qualifiers_resolve_to_what_exists() {
        let f = FunctionConfig::new("hello").version("1").alias("live", "1");
        assert_eq!(f.resolve("hello", None), Ok(None));
        assert_eq!(f.resolve("hello", Some("$LATEST")), Ok(Some("$LATEST".into())));
        assert_eq!(f.resolve("hello:live", None), Ok(Some("live".into())));
        assert_eq!(f.resolve("hello:1", Some("1")), Ok(Some("1".into())));
        assert_eq!(f.executed_version("live"), Some("1"));
        assert_eq!(f.executed_version("1"), Some("1"));
        assert_eq!(f.executed_version("$LATEST"), Some("$LATEST"));
        assert_eq!(
            f.resolve("hello", Some("bogus")),
            Err(QualifierError::NotFound("arn:aws:lambda:us-east-1:000000000000:function:hello:bogus".into()))
        );
        assert_eq!(f.resolve("hello:live", Some("1")), Err(QualifierError::Conflict));
        assert_eq!(
            f.resolve("other", None),
            Err(QualifierError::NotFound("arn:aws:lambda:us-east-1:000000000000:function:other".into()))
        );
    }
}
