//! `invoke`: call a streaming function the ways AWS offers, reading the answer as it arrives.
//!
//! - [`FunctionUrlClient`]: an HTTP request to the function URL signed with SigV4 for service
//!   `lambda` (AuthType `AWS_IAM`; Lambda developer guide, "Controlling access to function
//!   URLs"), sent with `x-amz-content-sha256` (required for POST/PUT behind CloudFront OAC, and
//!   accepted by Lambda directly), body read chunk by chunk: what
//!   `curl --aws-sigv4 "aws:amz:REGION:lambda" --no-buffer` does. The same client calls an API
//!   Gateway REST API ([`FunctionUrlClient::api_gateway`]): SigV4 for service `execute-api` when
//!   its methods use `AWS_IAM` authorization, no signature when they use `NONE` (APIGW, docs/
//!   protocol.md §6).
//! - [`invoke_with_response_stream`]: the `InvokeWithResponseStream` API through aws-sdk-lambda,
//!   one `PayloadChunk` event per chunk, then `InvokeComplete`.
//!
//! - [`invoke_buffered`]: the buffered `Invoke` API, the whole answer at once.
//!
//! Both report the time to the response head and to the first body byte (TTFB) measured from
//! just before the request was sent, and each chunk's arrival time. The SDK calls take
//! [`InvokeOptions`] (qualifier, log tail, client context, dry run) and keep the answer's raw HTTP
//! status and headers as the SDK received them (an interceptor reads them before deserializing),
//! so a caller can check the wire head, not only the fields the SDK maps. A service error keeps
//! its status, code, headers and body ([`Error::Service`]); [`Error::is_throttling`] and
//! [`Error::is_auth_failure`] tell the caller's problems apart from the function's.

use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_sdk_lambda::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_lambda::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_lambda::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::invoke_with_response_stream::InvokeWithResponseStreamOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    InvocationType, InvokeWithResponseStreamResponseEvent, LogType, ResponseStreamingInvocationType,
};
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use http::{HeaderMap, Method};
use http_body_util::{BodyDataStream, Full};

use crate::config::Trust;
use crate::{Error, error::Rejection};

/// One piece of the body, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The bytes.
    pub bytes: Bytes,
    /// When it arrived, from just before the request was sent.
    pub at: Duration,
}

/// A request to a function URL.
#[derive(Debug, Clone)]
pub struct UrlRequest {
    /// The full URL (`https://ID.lambda-url.REGION.on.aws/path?query`).
    pub url: String,
    /// Method; POST by default.
    pub method: Method,
    /// Extra headers (signed too).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl UrlRequest {
    /// `POST url` with a JSON body.
    pub fn post_json(url: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            url: url.into(),
            method: Method::POST,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }
}

type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, hyper::Error>> + Send>>;
type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// A function URL's answer: status and headers are known, the body is still arriving.
pub struct UrlResponse {
    /// HTTP status.
    pub status: http::StatusCode,
    /// Response headers (from the function's prelude, plus Lambda's own).
    pub headers: HeaderMap,
    /// Time to the response head.
    pub head_after: Duration,
    started: Instant,
    first_byte: Option<Duration>,
    body: BodyStream,
}

impl std::fmt::Debug for UrlResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("head_after", &self.head_after)
            .field("first_byte", &self.first_byte)
            .finish_non_exhaustive()
    }
}

impl UrlResponse {
    /// The next body chunk as the network delivered it; `None` at the end of the body. A body
    /// cut short (a mid-stream function error ends the transfer without its last chunk) is an
    /// error here.
    pub async fn next_chunk(&mut self) -> Option<Result<Chunk, Error>> {
        loop {
            return match self.body.next().await? {
                Ok(bytes) if bytes.is_empty() => continue,
                Ok(bytes) => {
                    let at = self.started.elapsed();
                    self.first_byte.get_or_insert(at);
                    Some(Ok(Chunk { bytes, at }))
                }
                Err(err) => Some(Err(Error::Http(format!("the function URL's body broke off: {err}")))),
            };
        }
    }

    /// Time to the first body byte, once it arrived.
    pub fn ttfb(&self) -> Option<Duration> {
        self.first_byte
    }

    /// Time since just before the request was sent.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Reads the rest of the body into chunks (for tests and summaries).
    pub async fn collect(mut self) -> Result<Vec<Chunk>, Error> {
        let mut chunks = Vec::new();
        while let Some(chunk) = self.next_chunk().await {
            chunks.push(chunk?);
        }
        Ok(chunks)
    }
}

/// How a [`FunctionUrlClient`] signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// SigV4 for service `lambda`: a function URL with AuthType `AWS_IAM`.
    Lambda,
    /// SigV4 for service `execute-api`: an API Gateway REST API with `AWS_IAM` authorization.
    ExecuteApi,
    /// No signature: an API Gateway REST API with `NONE` authorization.
    Unsigned,
}

impl Signing {
    /// The SigV4 service name, `None` when unsigned.
    pub fn service(self) -> Option<&'static str> {
        match self {
            Signing::Lambda => Some("lambda"),
            Signing::ExecuteApi => Some("execute-api"),
            Signing::Unsigned => None,
        }
    }
}

/// Sends SigV4-signed requests to function URLs (and to API Gateway REST APIs).
#[derive(Debug, Clone)]
pub struct FunctionUrlClient {
    http: HttpsClient,
    credentials: Credentials,
    region: String,
    signing: Signing,
}

impl FunctionUrlClient {
    /// A client for an API Gateway REST API: SigV4 for `execute-api` with `credentials` when
    /// `iam`, else no signature. The region of an `ID.execute-api.REGION.amazonaws.com` URL wins
    /// over `region`.
    pub fn api_gateway(credentials: Credentials, region: impl Into<String>, iam: bool) -> Result<Self, Error> {
        let mut client = Self::new(credentials, region)?;
        client.signing = if iam { Signing::ExecuteApi } else { Signing::Unsigned };
        Ok(client)
    }

    /// How this client signs.
    pub fn signing(&self) -> Signing {
        self.signing
    }

    /// A client signing with `credentials` for `region`. When the URL names a region
    /// (`ID.lambda-url.REGION.on.aws`) that one is used instead, as the signature must match
    /// the function's region.
    pub fn new(credentials: Credentials, region: impl Into<String>) -> Result<Self, Error> {
        Self::with_trust(credentials, region, &Trust::System)
    }

    /// [`FunctionUrlClient::new`] trusting `trust` for HTTPS: [`Trust::Pem`] for a custom CA (a
    /// TLS emulator, a proxy); a server whose chain leads elsewhere fails the handshake.
    pub fn with_trust(credentials: Credentials, region: impl Into<String>, trust: &Trust) -> Result<Self, Error> {
        // ring, the provider the SDK clients use too, so the binary carries a single TLS stack.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = match trust {
            // The system's root certificates, as the SDK clients use them.
            Trust::System => hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(provider)
                .map_err(|e| Error::Http(format!("cannot set up TLS (root certificates): {e}")))?,
            Trust::Pem(pem) => {
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| Error::Http(format!("cannot set up TLS: {e}")))?
                    .with_root_certificates(Trust::pem_roots(pem)?)
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let connector = builder.https_or_http().enable_http1().build();
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(Self { http, credentials, region: region.into(), signing: Signing::Lambda })
    }

    /// The region a request to `url` is signed for.
    pub fn signing_region(&self, url: &str) -> String {
        region_of_function_url(url).or_else(|| region_of_rest_api_url(url)).unwrap_or_else(|| self.region.clone())
    }

    /// Signs and sends `request`; returns once the response head arrived.
    pub async fn send(&self, request: &UrlRequest) -> Result<UrlResponse, Error> {
        let signed = self.sign(request, SystemTime::now())?;
        let (parts, ()) = signed.into_parts();
        let outgoing = http::Request::from_parts(parts, Full::new(request.body.clone()));
        let started = Instant::now();
        let response =
            self.http.request(outgoing).await.map_err(|e| {
                Error::Http(format!("{} {}: {}", request.method, request.url, crate::error::describe(&e)))
            })?;
        let head_after = started.elapsed();
        let (head, body) = response.into_parts();
        Ok(UrlResponse {
            status: head.status,
            headers: head.headers,
            head_after,
            started,
            first_byte: None,
            body: Box::pin(BodyDataStream::new(body)),
        })
    }

    /// The request with its SigV4 headers (`authorization`, `x-amz-date`, `x-amz-content-sha256`,
    /// `x-amz-security-token` for temporary credentials) as signed at `time`; only the request's
    /// own headers when the client does not sign.
    pub fn sign(&self, request: &UrlRequest, time: SystemTime) -> Result<http::Request<()>, Error> {
        let mut http_request = http::Request::builder()
            .method(request.method.clone())
            .uri(&request.url)
            .body(())
            .map_err(|e| Error::Invalid(format!("invalid function URL {:?}: {e}", request.url)))?;
        for (name, value) in &request.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::Invalid(format!("invalid header name {name:?}: {e}")))?;
            let value = http::HeaderValue::from_str(value)
                .map_err(|e| Error::Invalid(format!("invalid value for header {name}: {e}")))?;
            http_request.headers_mut().append(name, value);
        }
        let Some(service) = self.signing.service() else { return Ok(http_request) };
        let mut settings = SigningSettings::default();
        // Sends and signs x-amz-content-sha256: CloudFront OAC requires it for PUT/POST, and it
        // lets the service check the body against the signature.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let region = self.signing_region(&request.url);
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| Error::Signing(e.to_string()))?
            .into();
        let header_pairs: Vec<(&str, &str)> =
            http_request.headers().iter().filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?))).collect();
        let signable = SignableRequest::new(
            request.method.as_str(),
            request.url.as_str(),
            header_pairs.into_iter(),
            SignableBody::Bytes(&request.body),
        )
        .map_err(|e| Error::Signing(e.to_string()))?;
        let (instructions, _signature) =
            sign(signable, &params).map_err(|e| Error::Signing(e.to_string()))?.into_parts();
        instructions.apply_to_request_http1x(&mut http_request);
        Ok(http_request)
    }
}

/// `REGION` of `https://ID.lambda-url.REGION.on.aws/...`.
pub fn region_of_function_url(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':', '?']).next()?;
    let rest = host.split_once(".lambda-url.")?.1;
    let region = rest.strip_suffix(".on.aws")?;
    (!region.is_empty()).then(|| region.to_owned())
}

/// `REGION` of `https://ID.execute-api.REGION.amazonaws.com/STAGE/...` (an API Gateway REST API's
/// default endpoint).
pub fn region_of_rest_api_url(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':', '?']).next()?;
    let rest = host.split_once(".execute-api.")?.1;
    let region = rest.strip_suffix(".amazonaws.com").or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_owned())
}

/// An `InvokeWithResponseStream` answer whose events are still arriving.
#[derive(Debug)]
pub struct IwrsResponse {
    /// HTTP status (200; 204 for DryRun).
    pub status: u16,
    /// `X-Amz-Executed-Version`.
    pub executed_version: Option<String>,
    /// The `ResponseStreamContentType` member.
    pub content_type: Option<String>,
    /// Time to the response head.
    pub head_after: Duration,
    /// The HTTP response headers as the SDK received them (lower-case names).
    pub headers: Vec<(String, String)>,
    started: Instant,
    first_byte: Option<Duration>,
    output: InvokeWithResponseStreamOutput,
    completed: bool,
}

/// An event of an `InvokeWithResponseStream` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IwrsEvent {
    /// A `PayloadChunk`'s bytes.
    Chunk(Chunk),
    /// `InvokeComplete`: the function finished; error fields are set when it failed.
    Complete {
        /// `ErrorCode` (e.g. `Function.UnhandledError`).
        error_code: Option<String>,
        /// `ErrorDetails`.
        error_details: Option<String>,
        /// `LogResult` (base64 log tail, with `LogType: Tail`).
        log_result: Option<String>,
    },
}

impl IwrsResponse {
    /// The next event; `None` after `InvokeComplete` or when the stream ends.
    pub async fn next_event(&mut self) -> Option<Result<IwrsEvent, Error>> {
        if self.completed {
            return None;
        }
        loop {
            let event = match self.output.event_stream.recv().await {
                Ok(Some(event)) => event,
                Ok(None) => return None,
                Err(err) => return Some(Err(Error::EventStream(crate::error::describe_sdk(&err)))),
            };
            return Some(Ok(match event {
                InvokeWithResponseStreamResponseEvent::PayloadChunk(update) => {
                    let bytes = update.payload.map(|b| Bytes::from(b.into_inner())).unwrap_or_default();
                    let at = self.started.elapsed();
                    self.first_byte.get_or_insert(at);
                    IwrsEvent::Chunk(Chunk { bytes, at })
                }
                InvokeWithResponseStreamResponseEvent::InvokeComplete(done) => {
                    self.completed = true;
                    IwrsEvent::Complete {
                        error_code: done.error_code,
                        error_details: done.error_details,
                        log_result: done.log_result,
                    }
                }
                // Events added to the API after this SDK version: skip them.
                _ => continue,
            }));
        }
    }

    /// Time to the first `PayloadChunk`, once it arrived.
    pub fn ttfb(&self) -> Option<Duration> {
        self.first_byte
    }

    /// Time since just before the call was sent.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// What to ask of `InvokeWithResponseStream` or `Invoke` beyond the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvokeOptions {
    /// A version or alias (`Qualifier`).
    pub qualifier: Option<String>,
    /// `X-Amz-Log-Type: Tail`: the last 4 KB of the invocation's log come back (`LogResult`).
    pub log_tail: bool,
    /// `X-Amz-Client-Context`: base64 of a JSON object, passed to the function.
    pub client_context: Option<String>,
    /// `X-Amz-Invocation-Type: DryRun`: check the call without running the function.
    pub dry_run: bool,
}

/// An answer's HTTP status and headers, as they came.
type RawHead = (u16, Vec<(String, String)>);

/// Reads the raw HTTP status and headers of the answer before the SDK deserializes it.
#[derive(Debug, Clone, Default)]
struct HeadCapture(Arc<Mutex<Option<RawHead>>>);

impl HeadCapture {
    fn take(&self) -> Option<RawHead> {
        self.0.lock().ok()?.take()
    }
}

impl Intercept for HeadCapture {
    fn name(&self) -> &'static str {
        "lambda-stream raw response head"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let headers =
            response.headers().iter().map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned())).collect();
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((response.status().as_u16(), headers));
        }
        Ok(())
    }
}

/// Calls `InvokeWithResponseStream` on `function` (name or ARN) with `payload`.
pub async fn invoke_with_response_stream(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    payload: impl Into<Bytes>,
) -> Result<IwrsResponse, Error> {
    invoke_with_response_stream_with(lambda, function, payload, &InvokeOptions::default()).await
}

/// [`invoke_with_response_stream`] with [`InvokeOptions`].
pub async fn invoke_with_response_stream_with(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    payload: impl Into<Bytes>,
    options: &InvokeOptions,
) -> Result<IwrsResponse, Error> {
    const OPERATION: &str = "InvokeWithResponseStream";
    let capture = HeadCapture::default();
    let mut call = lambda.invoke_with_response_stream().function_name(function).payload(Blob::new(payload.into()));
    if let Some(qualifier) = &options.qualifier {
        call = call.qualifier(qualifier);
    }
    if options.log_tail {
        call = call.log_type(LogType::Tail);
    }
    if let Some(context) = &options.client_context {
        call = call.client_context(context);
    }
    if options.dry_run {
        call = call.invocation_type(ResponseStreamingInvocationType::DryRun);
    }
    let started = Instant::now();
    let output = call
        .customize()
        .interceptor(capture.clone())
        .send()
        .await
        .map_err(|e| service_error(OPERATION, e, &capture))?;
    let head_after = started.elapsed();
    let status = u16::try_from(output.status_code).unwrap_or(0);
    let headers = capture.take().map(|(_, h)| h).unwrap_or_default();
    Ok(IwrsResponse {
        status,
        executed_version: output.executed_version.clone(),
        content_type: output.response_stream_content_type.clone(),
        head_after,
        headers,
        started,
        first_byte: None,
        output,
        completed: false,
    })
}

/// A buffered `Invoke` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferedResponse {
    /// HTTP status (200; 204 for DryRun).
    pub status: u16,
    /// The HTTP response headers as the SDK received them (lower-case names).
    pub headers: Vec<(String, String)>,
    /// `X-Amz-Function-Error` (`Unhandled`) when the function failed.
    pub function_error: Option<String>,
    /// `X-Amz-Log-Result`: the base64 log tail, with `log_tail`.
    pub log_result: Option<String>,
    /// `X-Amz-Executed-Version`.
    pub executed_version: Option<String>,
    /// The function's answer, whole (or its error document).
    pub payload: Bytes,
    /// Time until the whole answer had arrived.
    pub elapsed: Duration,
}

/// Calls the buffered `Invoke` on `function` with `payload`.
pub async fn invoke_buffered(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    payload: impl Into<Bytes>,
    options: &InvokeOptions,
) -> Result<BufferedResponse, Error> {
    const OPERATION: &str = "Invoke";
    let capture = HeadCapture::default();
    let mut call = lambda.invoke().function_name(function).payload(Blob::new(payload.into()));
    if let Some(qualifier) = &options.qualifier {
        call = call.qualifier(qualifier);
    }
    if options.log_tail {
        call = call.log_type(LogType::Tail);
    }
    if let Some(context) = &options.client_context {
        call = call.client_context(context);
    }
    if options.dry_run {
        call = call.invocation_type(InvocationType::DryRun);
    }
    let started = Instant::now();
    let output = call
        .customize()
        .interceptor(capture.clone())
        .send()
        .await
        .map_err(|e| service_error(OPERATION, e, &capture))?;
    Ok(BufferedResponse {
        status: u16::try_from(output.status_code).unwrap_or(0),
        headers: capture.take().map(|(_, h)| h).unwrap_or_default(),
        function_error: output.function_error,
        log_result: output.log_result,
        executed_version: output.executed_version,
        payload: output.payload.map(|b| Bytes::from(b.into_inner())).unwrap_or_default(),
        elapsed: started.elapsed(),
    })
}

/// An SDK error as [`Error::Service`] when the service answered (its status, code, message, raw
/// headers and body kept), else as [`Error::Aws`] (the call never got an answer: transport, TLS,
/// timeout, credentials).
fn service_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>, capture: &HeadCapture) -> Error
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let headers = capture.take().map(|(_, h)| h).unwrap_or_default();
    match &err {
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            let meta = service.err();
            Error::Service(Box::new(Rejection {
                operation,
                status: raw.status().as_u16(),
                code: meta.code().unwrap_or_default().to_owned(),
                message: meta.message().unwrap_or_default().to_owned(),
                headers: if headers.is_empty() {
                    raw.headers().iter().map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned())).collect()
                } else {
                    headers
                },
                body: raw.body().bytes().map(<[u8]>::to_vec).unwrap_or_default(),
            }))
        }
        _ => crate::error::aws(operation)(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_the_function_url() {
        assert_eq!(
            region_of_function_url("https://abc123.lambda-url.eu-west-1.on.aws/path?x=1").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of_function_url("http://127.0.0.1:9000/"), None);
    }

    #[test]
    fn signed_requests_carry_the_payload_hash_and_a_lambda_scope() {
        let client = FunctionUrlClient::new(
            Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test"),
            "us-east-1",
        )
        .unwrap();
        let request = UrlRequest::post_json("https://abc.lambda-url.eu-west-1.on.aws/", "{}");
        let signed = client.sign(&request, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)).unwrap();
        let header = |n: &str| signed.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
        // SHA-256 of "{}".
        assert_eq!(
            header("x-amz-content-sha256").as_deref(),
            Some("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        );
        assert_eq!(header("x-amz-date").as_deref(), Some("20231114T221320Z"));
        assert_eq!(header("x-amz-security-token").as_deref(), Some("token"));
        let auth = header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/lambda/aws4_request"),
            "{auth}"
        );
        assert!(auth.contains("x-amz-content-sha256"), "the payload hash is signed: {auth}");
    }

    #[test]
    fn rest_api_requests_sign_for_execute_api_or_not_at_all() {
        assert_eq!(
            region_of_rest_api_url("https://a1b2c3.execute-api.ap-south-1.amazonaws.com/prod/x").as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(region_of_rest_api_url("http://127.0.0.1:9001/prod"), None);
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let request = UrlRequest::post_json("https://a1b2c3.execute-api.ap-south-1.amazonaws.com/prod/x", "{}");
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let iam = FunctionUrlClient::api_gateway(credentials.clone(), "us-east-1", true).unwrap();
        assert_eq!(iam.signing(), Signing::ExecuteApi);
        let signed = iam.sign(&request, at).unwrap();
        let auth = signed.headers()["authorization"].to_str().unwrap();
        assert!(auth.contains("/20231114/ap-south-1/execute-api/aws4_request"), "{auth}");
        let open = FunctionUrlClient::api_gateway(credentials, "us-east-1", false).unwrap();
        let plain = open.sign(&request, at).unwrap();
        assert!(plain.headers().get("authorization").is_none());
        assert_eq!(plain.headers()["content-type"], "application/json");
    }
}
