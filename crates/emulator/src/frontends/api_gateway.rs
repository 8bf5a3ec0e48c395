//! The API Gateway front end: a REST API whose `{proxy+}` resource and root have an `ANY` method
//! with a Lambda proxy integration in `STREAM` mode, on a listener of its own at
//! `http://HOST:PORT/{stage}/{proxy+}` (the path a deployed REST API has below its host).
//!
//! Phases of one request (docs/protocol.md §6 has every fact and its source):
//! 1. **Route**: the first path segment must be the stage; the rest is the root (`/`) or a
//!    `{proxy+}` path. Anything else is API Gateway's 403 `{"message":"Missing Authentication
//!    Token"}` (gateway response `MISSING_AUTHENTICATION_TOKEN`, APIGW-RESPONSES).
//! 2. **Admission**: the body up to API Gateway's 10 MB (413 `REQUEST_TOO_LARGE`), SigV4 for
//!    service `execute-api` when IAM auth is on (403), the `x-api-key` when a key is required
//!    (403 `{"message":"Forbidden"}`, `INVALID_API_KEY`).
//! 3. **Event and invocation**: the payload format 1.0 event ([`crate::rest_event`]) through the
//!    same streaming path as InvokeWithResponseStream (API Gateway calls IWRS, APIGW). An event
//!    over Lambda's 6 MB request limit is refused by Lambda, which API Gateway answers with 500.
//! 4. **Head**: every answer must open with the prelude, read at any chunk split
//!    ([`super::relay`]); API Gateway streams once it has valid metadata and the delimiter. Before
//!    that, a function error (including a function timeout) is 502 `{"message": "Internal server
//!    error"}` (APIGW-ERRORS), an answer that is not in the prelude format is 500 (APIGW), and the
//!    idle or integration timeout is 504 `{"message": "Endpoint request timed out"}`.
//! 5. **Stream**: status and headers from the metadata (`headers` and `multiValueHeaders` merged,
//!    the latter winning, cookies as `set-cookie`; a `Content-Length` the function sets is kept
//!    and held to, otherwise the body is chunked), plus API Gateway's `x-amzn-RequestId` (the
//!    client's own if it sent one as a UUID) and `x-amz-apigw-id` (APIGW-LOGGING), and
//!    `X-Amzn-Trace-Id`. The body is relayed as it arrives, through
//!    Lambda's and then API Gateway's bandwidth caps when `--aws-limits` is on; an error, the
//!    idle timeout or the integration timeout after the head cuts the body (the client sees the
//!    chunked transfer end without its last chunk, curl's error 18, APIGW-TROUBLE).
//!
//! Every gateway error carries `x-amzn-ErrorType` and the two ids; the cause of a 5xx, which the
//! client never sees on AWS, is logged and kept in the recorder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use http::{HeaderValue, Method, StatusCode};
use hyper::body::Incoming;
use hyper::{Request, Response};
use lambda_stream_protocol::{limits, names};
use tokio::time::Instant;

use super::ClientGuard;
use super::relay::{self, Failure, HeadRule, MALFORMED_PRELUDE, PreludeHeaders, RelayRules, Timers};
use crate::auth::{self, Expected};
use crate::config::{ApiGatewayConfig, Auth};
use crate::http::{self as h, ResponseBody};
use crate::invocation::{FrontEnd, NewInvocation};
use crate::platform::Platform;
use crate::recorder::{ClientEnd, FaultKind};
use crate::rest_event::{Resource, RestRequestInfo, rest_proxy_event};
use crate::shaping::Shaper;

/// The body of API Gateway's 5xx answers for Lambda failures (APIGW-ERRORS).
const INTERNAL_SERVER_ERROR: &str = "Internal server error";
/// The body of a 504 when the integration timed out.
const TIMED_OUT: &str = "Endpoint request timed out";

/// The two ids API Gateway puts on every answer.
struct Ids {
    /// `x-amzn-RequestId`, also `requestContext.requestId`.
    request_id: String,
    /// `x-amz-apigw-id`, also `requestContext.extendedRequestId`.
    extended: String,
}

impl Ids {
    fn new() -> Self {
        let random = uuid::Uuid::new_v4();
        let extended = base64::engine::general_purpose::STANDARD.encode(&random.as_bytes()[..11]);
        Self { request_id: uuid::Uuid::new_v4().to_string(), extended }
    }

    /// The ids of one request. A client may set the request id with an `x-amzn-RequestId` header
    /// in UUID format; the extended id is always API Gateway's own (APIGW-LOGGING). What API
    /// Gateway answers for a value that is not a UUID is not documented (its access log shows a
    /// replacement): here it is ignored and a fresh id used.
    fn for_request(headers: &http::HeaderMap) -> Self {
        let mut ids = Self::new();
        let given = headers.get(names::AMZN_REQUEST_ID).and_then(|v| v.to_str().ok());
        if let Some(id) = given.and_then(|v| uuid::Uuid::try_parse(v.trim()).ok()) {
            ids.request_id = id.hyphenated().to_string();
        }
        ids
    }

    fn stamp(&self, response: &mut Response<ResponseBody>) {
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            headers.insert(names::AMZN_REQUEST_ID, v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.extended) {
            headers.insert(names::AMZ_APIGW_ID, v);
        }
    }
}

/// A gateway error: `{"message": ...}` with the error type and the ids.
fn gateway_error(ids: &Ids, status: StatusCode, error_type: &str, message: &str) -> Response<ResponseBody> {
    let mut response = h::json_response(status, &serde_json::json!({ "message": message }));
    if let Ok(v) = HeaderValue::from_str(error_type) {
        response.headers_mut().insert(names::AMZN_ERROR_TYPE, v);
    }
    ids.stamp(&mut response);
    response
}

/// Whether `method` is one of the methods `ANY` covers in a REST API.
fn is_rest_api_method(method: &Method) -> bool {
    [Method::DELETE, Method::GET, Method::HEAD, Method::OPTIONS, Method::PATCH, Method::POST, Method::PUT]
        .contains(method)
}

/// Where a request path lands: the resource and the path below the stage.
fn route<'a>(path: &'a str, stage: &str) -> Option<(Resource, &'a str)> {
    let below = path.strip_prefix('/')?.strip_prefix(stage)?;
    match below {
        "" | "/" => Some((Resource::Root, "/")),
        rest if rest.starts_with('/') => Some((Resource::Proxy, rest)),
        _ => None,
    }
}

/// Serves one request to the REST API. `local_port` is the port the client connected to.
pub(crate) async fn serve(
    platform: Arc<Platform>,
    peer: SocketAddr,
    local_port: u16,
    req: Request<Incoming>,
) -> Response<ResponseBody> {
    let ids = Ids::for_request(req.headers());
    let Some(config) = platform.api_gateway.as_ref() else {
        // The listener exists only with a configuration; answer rather than panic if not.
        return gateway_error(
            &ids,
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerErrorException",
            INTERNAL_SERVER_ERROR,
        );
    };
    // `ANY` stands for the seven methods API Gateway supports (APIGW-METHODS); CONNECT or
    // TRACE match no method, like a path matching no resource. Refused here, CONNECT also never
    // reaches the function, whose 2xx would tell hyper a tunnel is open and leave the client with
    // nothing.
    let routed = if is_rest_api_method(req.method()) { route(req.uri().path(), &config.stage) } else { None };
    let Some((resource, path)) = routed.map(|(r, p)| (r, p.to_owned())) else {
        tracing::info!(path = %req.uri().path(), stage = %config.stage, "no resource of the REST API matches");
        h::drain(req.into_body()).await;
        return gateway_error(
            &ids,
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        );
    };
    let (parts, body) = req.into_parts();
    let max = usize::try_from(limits::APIGW_MAX_REQUEST_BYTES).unwrap_or(usize::MAX);
    let body = match h::read_limited(body, max).await {
        Ok(body) => body,
        Err(e @ h::ReadError::TooLarge { .. }) => {
            tracing::info!(path = %parts.uri.path(), "refused: {e}");
            return gateway_error(&ids, StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException", "Request Too Long");
        }
        Err(e) => {
            tracing::info!(path = %parts.uri.path(), "refused: {e}");
            return gateway_error(&ids, StatusCode::BAD_REQUEST, "BadRequestException", &e.to_string());
        }
    };
    let caller = match admit(config, &parts, &body) {
        Ok(caller) => caller,
        Err(refusal) => return refusal(&ids),
    };
    let api_key = config.api_key.as_ref().and_then(|_| parts.headers.get(names::API_KEY)?.to_str().ok());
    let info = RestRequestInfo {
        request_id: &ids.request_id,
        extended_request_id: &ids.extended,
        peer,
        local_port,
        account_id: &platform.function.account_id,
        api_id: &config.api_id,
        stage: &config.stage,
        stage_variables: &config.stage_variables,
        resource,
        path: &path,
        iam_access_key: caller.as_deref(),
        api_key,
        now: SystemTime::now(),
    };
    let event = rest_proxy_event(&parts, &body, &info);
    drop(body);
    if event.len() as u64 > platform.limits.max_request_bytes {
        tracing::warn!(
            request_id = %ids.request_id,
            "the event is {} bytes, over Lambda's {}-byte request limit: Lambda refuses the call, API Gateway answers 500",
            event.len(),
            platform.limits.max_request_bytes
        );
        return gateway_error(
            &ids,
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerErrorException",
            INTERNAL_SERVER_ERROR,
        );
    }
    let mut new = NewInvocation::new(event.into(), FrontEnd::ApiGateway);
    new.client_request_id = Some(ids.request_id.clone());
    let (invocation, stream) = platform.submit(new);
    let trace_id = invocation.context.trace_id.clone();
    let id = invocation.id.clone();
    drop(invocation);
    respond(platform.clone(), config, &ids, id, trace_id, stream, parts.method == Method::HEAD).await
}

/// Why a request was refused at admission: its answer, once the ids are known.
type Refusal = Box<dyn FnOnce(&Ids) -> Response<ResponseBody> + Send>;

/// SigV4 (`execute-api`) and the API key, in that order. On success, the IAM caller's key.
fn admit(config: &ApiGatewayConfig, parts: &http::request::Parts, body: &[u8]) -> Result<Option<String>, Refusal> {
    let caller = match &config.auth {
        Auth::None => None,
        Auth::Iam { access_key_id, secret_access_key } => {
            let expected = Expected { access_key_id, secret_access_key, service: auth::EXECUTE_API };
            match auth::verify(parts, body, expected, SystemTime::now()) {
                Ok(key) => Some(key),
                Err(refusal) => {
                    tracing::info!(path = %parts.uri.path(), "refused: {}", refusal.message);
                    // API Gateway answers an unsigned request as it answers an unknown route.
                    let message = if refusal.error_type == "MissingAuthenticationTokenException" {
                        "Missing Authentication Token".to_owned()
                    } else {
                        refusal.message
                    };
                    let error_type = refusal.error_type;
                    return Err(Box::new(move |ids: &Ids| {
                        gateway_error(ids, StatusCode::FORBIDDEN, error_type, &message)
                    }));
                }
            }
        }
    };
    if let Some(key) = &config.api_key {
        let given = parts.headers.get(names::API_KEY).and_then(|v| v.to_str().ok());
        if given != Some(key.as_str()) {
            tracing::info!(path = %parts.uri.path(), "refused: missing or wrong x-api-key");
            return Err(Box::new(|ids: &Ids| {
                gateway_error(ids, StatusCode::FORBIDDEN, "ForbiddenException", "Forbidden")
            }));
        }
    }
    Ok(caller)
}

/// Waits for the head and answers: an error before it, or the streamed answer.
async fn respond(
    platform: Arc<Platform>,
    config: &ApiGatewayConfig,
    ids: &Ids,
    id: String,
    trace_id: String,
    mut stream: crate::invocation::InvocationStream,
    is_head: bool,
) -> Response<ResponseBody> {
    let guard = ClientGuard::new(&platform.recorder, &id);
    let timers = Timers {
        idle: Some(config.idle_timeout),
        deadline: Some((Instant::now() + config.integration_timeout, config.integration_timeout)),
    };
    let head = match relay::await_head(&mut stream, timers, HeadRule::PreludeAlways, PreludeHeaders::AsWritten).await {
        Ok(head) => head,
        Err(failure) => {
            guard.disarm();
            let response = failed(&platform, &id, ids, failure);
            record_whole(&platform, &id, &response);
            return response;
        }
    };
    let bodiless = is_head || matches!(head.status.as_u16(), 204 | 304);
    let (mut headers, declared) = content_length(head.headers, &id);
    if bodiless {
        // The head alone is the answer; a declared length describes a body never sent.
        headers.extend(declared.map(|n| ("content-length".to_owned(), n.to_string())));
    }
    let owed = if bodiless { None } else { declared };
    if let Some(n) = owed {
        headers.push(("content-length".to_owned(), n.to_string()));
    }
    // `head.finished` is never set here (API Gateway always decodes a prelude, and the end of the
    // answer comes after it), so a body shorter than a declared length, even an empty one, is cut
    // by the relay's Content-Length rule.
    let streaming = !head.finished && !bodiless;
    let (response_body, unsent) = if streaming {
        let shapers: Vec<Shaper> = [platform.limits.bandwidth, platform.limits.api_gateway_bandwidth]
            .into_iter()
            .flatten()
            .map(Shaper::new)
            .collect();
        let rules = RelayRules { shapers, timers, remaining: owed };
        (relay::body(platform.clone(), id.clone(), stream, head.first, rules), None)
    } else {
        (h::empty(), Some(stream))
    };
    let mut response = Response::new(response_body);
    *response.status_mut() = head.status;
    relay::set_headers(
        &mut response,
        headers,
        &[names::AMZN_REQUEST_ID, names::AMZ_APIGW_ID, names::AMZN_TRACE_ID],
        &id,
    );
    ids.stamp(&mut response);
    if let Ok(v) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert(names::AMZN_TRACE_ID, v);
    }
    platform.recorder.client_head(&id, head.status.as_u16(), h::header_list(response.headers()));
    guard.disarm();
    if let Some(stream) = unsent {
        relay::end_without_body(&platform, &id, stream);
    }
    response
}

/// Takes the function's `Content-Length` out of the header list: its value when there is exactly
/// one and it is a number, else `None` (an unusable one is dropped and the body is chunked).
fn content_length(headers: Vec<(String, String)>, id: &str) -> (Vec<(String, String)>, Option<u64>) {
    let (lengths, rest): (Vec<_>, Vec<_>) = headers.into_iter().partition(|(name, _)| name == "content-length");
    let declared = match lengths.as_slice() {
        [] => None,
        [(_, value)] => match value.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                tracing::warn!(request_id = %id, "dropped Content-Length {value:?}: not a number; the body is chunked");
                None
            }
        },
        more => {
            tracing::warn!(request_id = %id, "dropped {} Content-Length headers: one is allowed; the body is chunked", more.len());
            None
        }
    };
    (rest, declared)
}

/// The answer for a failure before the head.
fn failed(platform: &Platform, id: &str, ids: &Ids, failure: Failure) -> Response<ResponseBody> {
    match failure {
        Failure::Error(error) => {
            tracing::warn!(
                request_id = %id,
                error_type = %error.error_type,
                "the function failed before its first byte ({}); API Gateway answers 502",
                error.error_message
            );
            gateway_error(ids, StatusCode::BAD_GATEWAY, "InternalServerErrorException", INTERNAL_SERVER_ERROR)
        }
        Failure::Prelude(problem) => {
            let message = format!("malformed HTTP-integration prelude: {problem}; API Gateway answers 500");
            tracing::warn!(request_id = %id, "{message}");
            platform.recorder.fault(Some(id), FaultKind::MalformedPrelude, format!("{MALFORMED_PRELUDE}: {message}"));
            gateway_error(ids, StatusCode::INTERNAL_SERVER_ERROR, "InternalServerErrorException", INTERNAL_SERVER_ERROR)
        }
        Failure::Expired(expiry) => {
            tracing::warn!(request_id = %id, "no head from the function: {expiry}; API Gateway answers 504");
            gateway_error(ids, StatusCode::GATEWAY_TIMEOUT, "InternalServerErrorException", TIMED_OUT)
        }
    }
}

/// Records a whole (non-streamed) answer on the client leg.
fn record_whole(platform: &Platform, id: &str, response: &Response<ResponseBody>) {
    use http_body::Body as _;
    platform.recorder.client_head(id, response.status().as_u16(), h::header_list(response.headers()));
    let len = response.body().size_hint().exact().unwrap_or(0);
    platform.recorder.client_chunk(id, usize::try_from(len).unwrap_or(usize::MAX));
    platform.recorder.client_end(id, ClientEnd::Completed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_below_the_stage_only() {
        assert_eq!(route("/prod", "prod"), Some((Resource::Root, "/")));
        assert_eq!(route("/prod/", "prod"), Some((Resource::Root, "/")));
        assert_eq!(route("/prod/a/b", "prod"), Some((Resource::Proxy, "/a/b")));
        assert_eq!(route("/production/a", "prod"), None);
        assert_eq!(route("/dev/a", "prod"), None);
        assert_eq!(route("/", "prod"), None);
        assert_eq!(route("", "prod"), None);
    }

    #[test]
    fn one_numeric_content_length_is_kept_others_dropped() {
        let h = |v: &[&str]| v.iter().map(|v| ("content-length".to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        assert_eq!(content_length(h(&["12"]), "id").1, Some(12));
        assert_eq!(content_length(h(&["x"]), "id").1, None);
        assert_eq!(content_length(h(&["1", "2"]), "id"), (Vec::new(), None));
        let mut other = h(&[]);
        other.push(("x-a".into(), "1".into()));
        assert_eq!(content_length(other.clone(), "id"), (other, None));
    }

    #[test]
    fn extended_ids_look_like_api_gateways() {
        let ids = Ids::new();
        assert_eq!(ids.extended.len(), 16);
        assert!(ids.extended.ends_with('='));
        assert_ne!(ids.request_id, Ids::new().request_id);
    }

    #[test]
    fn a_client_may_set_the_request_id_as_a_uuid_only() {
        let mut headers = http::HeaderMap::new();
        headers.insert(names::AMZN_REQUEST_ID, HeaderValue::from_static("2B7C8D5E-0F3A-4B6C-9D1E-2F3A4B5C6D7E"));
        let ids = Ids::for_request(&headers);
        assert_eq!(ids.request_id, "2b7c8d5e-0f3a-4b6c-9d1e-2f3a4b5c6d7e");
        headers.insert(names::AMZN_REQUEST_ID, HeaderValue::from_static("not-a-uuid"));
        let fresh = Ids::for_request(&headers);
        assert!(uuid::Uuid::try_parse(&fresh.request_id).is_ok(), "{}", fresh.request_id);
        assert_ne!(fresh.request_id, "not-a-uuid");
        assert_ne!(Ids::for_request(&http::HeaderMap::new()).request_id, ids.request_id);
    }
}
